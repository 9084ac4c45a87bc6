"""Items grouped into calls: in order, as many per call as the vendor's limits allow."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence


def pack(indices: Iterable[int], most: int, costs: Callable[[int], Sequence[float]],
         limits: Sequence[float | None]) -> list[list[int]]:
    """``indices`` grouped greedily, in order, into calls of at most ``most`` items whose summed
    ``costs(i)`` stay within ``limits`` (one budget per cost; ``None``: no limit). An item over a
    budget on its own still gets a call of its own (it was checked against the limits before)."""
    out: list[list[int]] = []
    current: list[int] = []
    spent = [0.0] * len(limits)
    for i in indices:
        cost = costs(i)
        full = len(current) >= most or any(
            limit is not None and used + c > limit for used, c, limit in zip(spent, cost, limits, strict=True))
        if current and full:
            out.append(current)
            current, spent = [], [0.0] * len(limits)
        current.append(i)
        spent = [used + c for used, c in zip(spent, cost, strict=True)]
    if current:
        out.append(current)
    return out
