"""The one retry policy of a vendor whose SDK has none (Jina, called over httpx2): the rule
google-genai, cohere and openai follow, written once.

Retried: HTTP 408, 409, 429 and 5xx answers, connection errors and timeouts (each attempt has
its own deadline); the wait is the server's ``retry-after-ms`` / ``Retry-After`` (up to
``max_delay``), else ``initial_delay * 2**n`` with jitter, capped at ``max_delay``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
RETRIED_STATUS_CODES = frozenset({408, 409, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` in all (1: no retry) with exponential waits from ``initial_delay`` to ``max_delay``."""

    attempts: int = 5
    initial_delay: float = 1.0
    max_delay: float = 16.0

    def retried(self, status: int) -> bool:
        return status in RETRIED_STATUS_CODES or status >= 500

    def delay(self, retry: int, headers: Mapping[str, str] | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        told = server_delay(headers or {})
        if told is not None:
            return min(told, self.max_delay)
        backoff = min(self.initial_delay * 2.0 ** retry, self.max_delay)
        return backoff * (1 - 0.25 * random.random())

    def run(self, attempt: Callable[[], T], transient: Callable[[BaseException], Mapping[str, str] | None],
            sleep: Callable[[float], None] = time.sleep) -> T:
        """Call ``attempt`` until it returns or raises an exception ``transient`` does not accept
        (it returns ``None`` for a final error, else the answer's headers, possibly empty)."""
        for number in range(self.attempts):
            try:
                return attempt()
            except Exception as exc:
                headers = transient(exc)
                if headers is None or number + 1 >= self.attempts:
                    raise
                sleep(self.delay(number, headers))
        raise AssertionError("unreachable")  # pragma: no cover


def server_delay(headers: Mapping[str, str]) -> float | None:
    """The wait a server asked for (``retry-after-ms``, else ``Retry-After`` in seconds), or None."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            value = float(lowered[name]) / scale
        except (KeyError, ValueError):
            continue
        if 0 <= value < float("inf"):
            return value
    return None
