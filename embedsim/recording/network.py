"""pytest-recording's network blocking around a model's calls, through its public
``pytest_recording.network.block`` / ``unblock``.

pytest-recording blocks a test's connections under ``--block-network`` (or the
``block_network`` mark) unless the test records through its ``vcr`` mark. embedsim's
recorded and live calls are exempt the same way, but only while the model is called:
the rest of the test stays blocked. A replay is the opposite: nothing may connect,
not even to an allowed host, so a replay can never reach a server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class NetworkPolicy:
    """Whether pytest-recording blocks the test's network, and which hosts it allows."""

    blocked: bool = False
    allowed_hosts: tuple[str, ...] | None = None

    @contextmanager
    def open(self) -> Iterator[None]:
        """Connections allowed inside (a recording or a live call); the test's block after."""
        from pytest_recording import network

        if not self.blocked:
            yield
            return
        network.unblock()
        try:
            yield
        finally:
            network.block(allowed_hosts=self._allowed())

    @contextmanager
    def closed(self) -> Iterator[None]:
        """No connection at all inside (a replay); the test's own state after."""
        from pytest_recording import network

        network.block(allowed_hosts=None)
        try:
            yield
        finally:
            network.unblock()
            if self.blocked:
                network.block(allowed_hosts=self._allowed())

    def _allowed(self) -> list[str] | None:
        return list(self.allowed_hosts) if self.allowed_hosts is not None else None
