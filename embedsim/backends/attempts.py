"""What every remote call notes about itself, whichever SDK sends it: how many HTTP requests
(attempts) it made - counted by an HTTP client's request hook or an SDK's retry loop, per thread
and asyncio task (:func:`counting`) - and how a message names its items (:func:`labels`)."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embedsim.inputs.items import Item

_SENT: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("embedsim_attempts", default=None)


def count_request(*_args: Any, **_kwargs: Any) -> None:
    """Count one HTTP request of the current call (an httpx ``event_hooks`` request hook, or called
    by an SDK's retry loop before each attempt)."""
    counter = _SENT.get()
    if counter is not None:
        counter[0] += 1


async def acount_request(*args: Any, **kwargs: Any) -> None:
    """:func:`count_request` as an async httpx hook."""
    count_request(*args, **kwargs)


@contextmanager
def counting() -> Iterator[list[int]]:
    """Count the HTTP requests of the calls made inside (per thread / asyncio task)."""
    counter = [0]
    token = _SENT.set(counter)
    try:
        yield counter
    finally:
        _SENT.reset(token)


def labels(batch: Sequence[Item], limit: int = 8) -> str:
    """The items of a call as messages name them (the first ``limit``, then how many more)."""
    shown = ", ".join(repr(i.id) for i in batch[:limit])
    return shown + (f" and {len(batch) - limit} more" if len(batch) > limit else "")
