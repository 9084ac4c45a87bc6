"""Statistics over the scored pairs of a matrix: mean margin, ROC-AUC, smallest per-row gap."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from embedsim.stats.bootstrap import Statistic, dot


@dataclass(frozen=True)
class Pairs:
    """The scored cells of a matrix: row ``i[k]``, column ``j[k]``, value, same group or not.

    ``all_pairs``: rows and columns are the same ``n`` items (a pair weighs ``w_i * w_j``);
    otherwise the rows are the items (a cell weighs ``w_i``; the columns are fixed)."""

    i: np.ndarray
    j: np.ndarray
    values: np.ndarray
    same: np.ndarray
    n: int
    all_pairs: bool

    @classmethod
    def from_masks(cls, values: np.ndarray, same: np.ndarray, different: np.ndarray, all_pairs: bool) -> Pairs:
        """The cells of ``same | different``, sorted by value (ties keep a fixed order)."""
        i, j = np.nonzero(same | different)
        v = np.asarray(values, dtype=np.float64)[i, j]
        order = np.argsort(v, kind="stable")
        return cls(i[order], j[order], v[order], same[i, j][order], values.shape[0], all_pairs)

    def weights(self, w: np.ndarray) -> np.ndarray:
        """``(B, pairs)`` weight of each pair in each resample."""
        return w[:, self.i] * w[:, self.j] if self.all_pairs else w[:, self.i]


def mean_margin(pairs: Pairs) -> Statistic:
    """Weighted mean of same-group values minus weighted mean of different-group values."""
    s = pairs.same.astype(np.float64)
    parts = np.stack([s * pairs.values, s, (1 - s) * pairs.values, 1 - s])  # (4, pairs)
    if pairs.all_pairs:  # sum_{i<j} a_ij w_i w_j as a quadratic form of the item weights
        upper = np.zeros((4, pairs.n, pairs.n))
        upper[:, pairs.i, pairs.j] = parts
        forms = (upper + upper.transpose(0, 2, 1)).transpose(1, 0, 2).reshape(pairs.n, -1)  # (n, 4n)

        def sums(w: np.ndarray) -> np.ndarray:
            return 0.5 * np.einsum("bci,bi->bc", dot(w, forms).reshape(len(w), 4, pairs.n), w)
    else:
        per_row = np.zeros((pairs.n, 4))
        np.add.at(per_row, pairs.i, parts.T)

        def sums(w: np.ndarray) -> np.ndarray:
            return dot(w, per_row)

    def statistic(w: np.ndarray) -> np.ndarray:
        within, n_within, between, n_between = sums(w).T
        with np.errstate(invalid="ignore", divide="ignore"):
            return within / n_within - between / n_between

    return statistic


def auc(pairs: Pairs) -> Statistic:
    """Weighted Mann-Whitney ROC-AUC of same-group over different-group values (ties half).

    The pair weights of the smaller side are summed cumulatively in value order and read
    at the positions of the other side's values: O(resamples x pairs). Weights are
    integer counts, summed exactly in float32 (below 2**24)."""
    small, large = (pairs.same, ~pairs.same) if pairs.same.sum() <= (~pairs.same).sum() else (~pairs.same, pairs.same)
    small_is_same = small is pairs.same
    vs, vl = pairs.values[small], pairs.values[large]  # both sorted
    lo = np.searchsorted(vs, vl, side="left")  # small-side values strictly below each large-side value
    hi = np.searchsorted(vs, vl, side="right")
    index = [(pairs.i[m], pairs.j[m] if pairs.all_pairs else None) for m in (small, large)]
    dtype = np.float32 if pairs.n < 4096 else np.float64

    def weights(w: np.ndarray, k: int) -> np.ndarray:
        i, j = index[k]
        return w[i] * w[j] if j is not None else w[i]

    ties = not np.array_equal(lo, hi)

    def statistic(w: np.ndarray) -> np.ndarray:
        wt = np.ascontiguousarray(w.T, dtype=dtype)  # (items, B): pairs along axis 0
        ws, wl = weights(wt, 0), weights(wt, 1)
        cum = np.zeros((ws.shape[0] + 1, wt.shape[1]), dtype=dtype)
        np.cumsum(ws, axis=0, out=cum[1:])
        below = cum[lo]  # weight of the small side below each large-side pair (ties: half)
        if ties:
            below += cum[hi]
            below *= 0.5
        below *= wl
        crossed = below.sum(axis=0, dtype=np.float64)
        total_small = cum[-1].astype(np.float64)
        total_large = wl.sum(axis=0, dtype=np.float64)
        # same-group small side: pairs (different, same) ranked wrongly = crossed
        numerator = total_small * total_large - crossed if small_is_same else crossed
        with np.errstate(invalid="ignore", divide="ignore"):
            return numerator / (total_small * total_large)

    return statistic


#: Each row keeps this many of its ranked columns (same group: least similar first; different group:
#: most similar first); a resample that draws none of them is computed from the whole row instead.
RANKED_COLUMNS = 32


def smallest_row_gap(values: np.ndarray, same: np.ndarray, different: np.ndarray, all_pairs: bool) -> Statistic:
    """Over the rows drawn: least similar same-group column minus most similar
    different-group column, the smallest such gap (columns drawn too for all pairs).

    Each row's columns are ranked once (same group: least similar first; different
    group: most similar first), so a resample only looks up the first drawn one. Only the first
    :data:`RANKED_COLUMNS` are kept (memory ``rows x 32``, not ``rows x columns``); the rare resample
    that draws none of them (about 0.37^32 per row) reads that row whole, so the result is exact. A
    resample that leaves out a row's worst pair can only raise this minimum: its
    interval is optimistic, descriptive rather than a test."""
    n, m = values.shape
    rows = np.arange(n)
    width = RANKED_COLUMNS if all_pairs else 1  # rows x columns: every column is in every resample

    def ranked(mask: np.ndarray, descending: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per row its first ``width`` ranked columns (column ``m``: none) and their values, and
        whether the row has more columns than that."""
        index = np.full((n, width), m, dtype=np.intp)
        value = np.full((n, width), np.nan)
        more = np.zeros(n, dtype=bool)
        for i in range(n):
            cols = np.flatnonzero(mask[i])
            row = np.asarray(values[i, cols], dtype=np.float64)
            key = -row if descending else row
            if cols.size > width:
                keep = np.argpartition(key, width - 1)[:width]
                keep = keep[np.argsort(key[keep], kind="stable")]
                more[i] = True
            else:
                keep = np.argsort(key, kind="stable")
            index[i, :keep.size], value[i, :keep.size] = cols[keep], row[keep]
        return index, value, more

    lowest = ranked(same, descending=False)
    highest = ranked(different, descending=True)

    def statistic(w: np.ndarray) -> np.ndarray:
        present = w > 0
        columns = present if all_pairs else np.ones((len(w), m), dtype=bool)
        drawn = np.concatenate([columns, np.zeros((len(w), 1), dtype=bool)], axis=1)
        b = np.arange(len(w))[:, None]

        def first(index: np.ndarray, value: np.ndarray, more: np.ndarray, mask: np.ndarray,
                  pick: Callable[[np.ndarray], float]) -> np.ndarray:
            hit = drawn[:, index]  # (B, rows, width): is the k-th ranked column drawn
            k = hit.argmax(axis=2)
            out = np.where(hit[b, rows[None, :], k], value[rows[None, :], k], np.nan)
            for r, i in zip(*np.nonzero(~hit.any(axis=2) & more[None, :] & present), strict=True):
                row = values[i, mask[i] & columns[r]]  # none of the kept columns drawn: the whole row
                out[r, i] = pick(np.asarray(row, dtype=np.float64)) if row.size else np.nan
            return out

        low, high = first(*lowest, same, np.min), first(*highest, different, np.max)
        valid = present & ~np.isnan(low) & ~np.isnan(high)
        gaps = np.where(valid, low - high, np.inf).min(axis=1)
        return np.where(valid.any(axis=1), gaps, np.nan)

    return statistic
