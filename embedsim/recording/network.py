"""The network block around a model's calls: pytest-recording's, switched through a
:class:`NetworkSwitch` the pytest plugin hands in (:data:`embedsim.plugin.upstream.NETWORK`).

pytest-recording blocks a test's connections under ``--block-network`` (or the
``block_network`` mark) unless the test records through its ``vcr`` mark. embedsim's
recorded and live calls are exempt the same way, but only while the model is called:
the rest of the test stays blocked, as pytest-recording set it (allowed hosts, private IPs).
A replay is the opposite: nothing may connect, not even to an allowed host, so a replay can
never reach a server. Without a switch (outside pytest) nothing is switched: a replay's
requests are then held back by vcrpy alone (record mode ``none`` sends none).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol


class NetworkSwitch(Protocol):
    """Blocks connections except to ``allowed_hosts`` (regular expressions; ``None``: none) and,
    with ``allow_private_ips``, private addresses; ``unblock`` lifts any block."""

    def block(self, allowed_hosts: list[str] | None, allow_private_ips: bool = False) -> None: ...

    def unblock(self) -> None: ...


@dataclass(frozen=True)
class NetworkPolicy:
    """Whether the test's network is blocked, what the block allows, and the switch."""

    blocked: bool = False
    allowed_hosts: tuple[str, ...] | None = None
    allow_private_ips: bool = False
    switch: NetworkSwitch | None = None

    @contextmanager
    def open(self) -> Iterator[None]:
        """Connections allowed inside (a recording or a live call); the test's block after."""
        if not self.blocked or self.switch is None:
            yield
            return
        self.switch.unblock()
        try:
            yield
        finally:
            self._block_as_the_test()

    @contextmanager
    def closed(self) -> Iterator[None]:
        """No connection at all inside (a replay); the test's own state after."""
        if self.switch is None:
            yield
            return
        self.switch.block(None)
        try:
            yield
        finally:
            self.switch.unblock()
            if self.blocked:
                self._block_as_the_test()

    def _block_as_the_test(self) -> None:
        assert self.switch is not None
        allowed = list(self.allowed_hosts) if self.allowed_hosts is not None else None
        self.switch.block(allowed, self.allow_private_ips)
