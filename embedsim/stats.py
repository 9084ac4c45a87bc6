"""Uncertainty of expectation statistics: seeded bootstrap over items, permutation tests.

Every statistic is written as a function of **item weights**: ``statistic(w)`` takes a
``(B, n)`` array - how often each of the ``n`` items (rows of a matrix; for an all-pairs
matrix, its items) was drawn in each of ``B`` resamples - and returns ``B`` values. The
point estimate is ``statistic(ones((1, n)))``. A bootstrap draws items with replacement
(never pairs: pairs that share an item are not independent); a pair of items weighs
``w_i * w_j`` (all pairs; two copies of one item never form a pair) or ``w_i`` (rows x
fixed columns, e.g. images x the three emotion words).

Deterministic: the resamples come from numpy's PCG64 with a fixed seed, and the
statistics sum integers (counts, ranks) or float64 values in a fixed order, so the same
seed gives the same interval on any machine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_CONFIDENCE = 0.95
DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 20260301
#: Resamples per block: keeps the ``(block, pairs)`` arrays of an AUC small.
BLOCK = 128

Statistic = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Interval:
    """A two-sided percentile bootstrap interval at ``confidence`` (NaN when undefined)."""

    low: float
    high: float
    confidence: float


def check_confidence(confidence: float) -> float:
    """``confidence`` as a float in (0, 1), or a ValueError."""
    value = float(confidence)
    if not 0.0 < value < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence!r}")
    return value


def item_weights(n: int, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> np.ndarray:
    """``(resamples, n)`` counts: how often each item was drawn, ``n`` draws with replacement each."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(resamples, n), dtype=np.int64)
    flat = (draws + (np.arange(resamples, dtype=np.int64) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=resamples * n).reshape(resamples, n).astype(np.float64)


def bootstrap(statistic: Statistic, n: int, resamples: int = DEFAULT_RESAMPLES,
              seed: int = DEFAULT_SEED) -> np.ndarray:
    """The statistic over ``resamples`` bootstrap resamples of the ``n`` items (NaN where undefined)."""
    weights = item_weights(n, resamples, seed)
    return np.concatenate([np.asarray(statistic(weights[k:k + BLOCK]), dtype=np.float64)
                           for k in range(0, resamples, BLOCK)])


def interval(samples: np.ndarray, confidence: float = DEFAULT_CONFIDENCE) -> Interval:
    """The percentile interval of ``samples``; NaN when fewer than half of them are defined."""
    confidence = check_confidence(confidence)
    finite = samples[np.isfinite(samples)]
    if finite.size == 0 or finite.size < samples.size / 2:
        return Interval(float("nan"), float("nan"), confidence)
    alpha = 1.0 - confidence
    low, high = np.quantile(finite, [alpha / 2, 1 - alpha / 2])
    return Interval(float(low), float(high), confidence)


def point(statistic: Statistic, n: int) -> float:
    """The statistic with every item once."""
    return float(np.asarray(statistic(np.ones((1, n))))[0])


# --- statistics over rows --------------------------------------------------------------------------


def weighted_mean(values: Sequence[float] | np.ndarray) -> Statistic:
    """Mean of one value per item (a top-1 hit as 0/1, a label margin, a gain)."""
    x = np.asarray(values, dtype=np.float64)

    def statistic(w: np.ndarray) -> np.ndarray:
        return _dot(w, x) / w.sum(axis=1)

    return statistic


def balanced_accuracy(hits: Sequence[bool] | np.ndarray, classes: Sequence[object]) -> Statistic:
    """Mean over the classes present of the share of their items that are hits (mean recall)."""
    codes, onehot = _onehot(classes)
    h = np.asarray(hits, dtype=np.float64)

    def statistic(w: np.ndarray) -> np.ndarray:
        counts = _dot(w, onehot)
        right = _dot(w * h, onehot)
        present = counts > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            recall = np.where(present, right / np.where(present, counts, 1), 0.0)
        return recall.sum(axis=1) / present.sum(axis=1)

    return statistic


def one_vs_rest(positive: Sequence[bool] | np.ndarray, predicted: Sequence[bool] | np.ndarray) -> Statistic:
    """Balanced accuracy of one class against the rest: (recall + specificity) / 2.

    A constant answer (always or never the class) and a guess independent of the items
    both score 0.5. Undefined (NaN) in a resample without positives or without negatives."""
    pos = np.asarray(positive, dtype=np.float64)
    neg = 1.0 - pos
    pred = np.asarray(predicted, dtype=np.float64)

    def statistic(w: np.ndarray) -> np.ndarray:
        n_pos, n_neg = _dot(w, pos), _dot(w, neg)
        with np.errstate(invalid="ignore", divide="ignore"):
            recall = _dot(w, pos * pred) / n_pos
            specificity = _dot(w, neg * (1 - pred)) / n_neg
        return np.where((n_pos > 0) & (n_neg > 0), (recall + specificity) / 2, np.nan)

    return statistic


def difference(a: Statistic, b: Statistic) -> Statistic:
    """``a - b`` on the same resamples (e.g. English minus Japanese on the same images)."""
    return lambda w: a(w) - b(w)


def _dot(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``w @ x`` in numpy's own loops, not BLAS: these products are small, where a threaded
    BLAS on a busy machine spends most of its time synchronising threads (measured 0.15 ms
    single-threaded vs 44 ms with two threads under load for one 128 x 100 x 400 block)."""
    return np.einsum("bi,i...->b...", w, x)


def _onehot(labels: Sequence[object]) -> tuple[np.ndarray, np.ndarray]:
    names = list(dict.fromkeys(labels))
    codes = np.asarray([names.index(x) for x in labels], dtype=np.int64)
    onehot = np.zeros((len(labels), len(names)))
    onehot[np.arange(len(labels)), codes] = 1.0
    return codes, onehot


# --- statistics over pairs of a matrix -----------------------------------------------------------


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
            return 0.5 * np.einsum("bci,bi->bc", _dot(w, forms).reshape(len(w), 4, pairs.n), w)
    else:
        per_row = np.zeros((pairs.n, 4))
        np.add.at(per_row, pairs.i, parts.T)

        def sums(w: np.ndarray) -> np.ndarray:
            return _dot(w, per_row)

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


def permutation_p_value(pairs: Pairs, statistic: str, resamples: int = DEFAULT_RESAMPLES,
                        seed: int = DEFAULT_SEED) -> float:
    """One-sided permutation p-value of group separation by ``statistic`` (``margin`` or ``auc``).

    The rows' group labels are shuffled (all pairs: the items' labels) while the values
    stay: equivalently the same-group cells are read at shuffled rows (and columns).
    p = (1 + #shuffles scoring at least the observed) / (1 + shuffles). Group sizes are
    kept, so the margin and the AUC increase with the sum of the same-group values and
    ranks: those sums are compared (ranks are half-integers: exact)."""
    if statistic not in ("margin", "auc"):
        raise ValueError(f"statistic must be 'margin' or 'auc', got {statistic!r}")
    scores = pairs.values if statistic == "margin" else _ranks(pairs.values)
    rows = pairs.n
    cols = rows if pairs.all_pairs else int(pairs.j.max()) + 1
    complete = pairs.values.size == (rows * (rows - 1) // 2 if pairs.all_pairs else rows * len(np.unique(pairs.j)))
    if not complete:
        raise ValueError("a permutation test needs every cell (every pair of items) scored")
    grid = np.zeros((rows, cols))
    grid[pairs.i, pairs.j] = scores
    if pairs.all_pairs:
        grid = grid + grid.T
    use_same = pairs.same.sum() <= (~pairs.same).sum()  # read the smaller side; the total is fixed
    m = pairs.same if use_same else ~pairs.same
    rng = np.random.default_rng(seed)
    perms = rng.permuted(np.tile(np.arange(rows, dtype=np.intp), (resamples, 1)), axis=1)
    cells = perms[:, pairs.i[m]] * cols + (perms[:, pairs.j[m]] if pairs.all_pairs else pairs.j[m][None, :])
    sums = grid.ravel()[cells].sum(axis=1)
    observed = scores[m].sum()
    if not use_same:
        sums, observed = scores.sum() - sums, scores.sum() - observed
    tolerance = 1e-9 * max(1.0, float(np.abs(scores).sum())) if statistic == "margin" else 0.0
    return float((1.0 + (sums >= observed - tolerance).sum()) / (1.0 + resamples))


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..P of sorted ``values``, ties averaged (half-integers)."""
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    ends = np.r_[starts[1:], values.size]
    mid = (starts + 1 + ends) / 2.0
    return np.repeat(mid, ends - starts)


def smallest_row_gap(values: np.ndarray, same: np.ndarray, different: np.ndarray, all_pairs: bool) -> Statistic:
    """Over the rows drawn: least similar same-group column minus most similar
    different-group column, the smallest such gap (columns drawn too for all pairs).

    Each row's columns are sorted once (same group: least similar first; different
    group: most similar first), so a resample only looks up the first drawn one. A
    resample that leaves out a row's worst pair can only raise this minimum: its
    interval is optimistic, descriptive rather than a test."""
    v = np.asarray(values, dtype=np.float64)
    n, m = v.shape
    rows = np.arange(n)

    def ranked(mask: np.ndarray, descending: bool) -> tuple[np.ndarray, np.ndarray]:
        width = max(int(mask.sum(axis=1).max(initial=0)), 1)
        index = np.full((n, width), m, dtype=np.intp)  # column m: never drawn
        value = np.full((n, width), np.nan)
        for i in range(n):
            cols = np.flatnonzero(mask[i])
            cols = cols[np.argsort(-v[i, cols] if descending else v[i, cols], kind="stable")]
            index[i, :cols.size], value[i, :cols.size] = cols, v[i, cols]
        return index, value

    lowest = ranked(same, descending=False)
    highest = ranked(different, descending=True)

    def statistic(w: np.ndarray) -> np.ndarray:
        present = w > 0
        columns = present if all_pairs else np.ones((len(w), m), dtype=bool)
        drawn = np.concatenate([columns, np.zeros((len(w), 1), dtype=bool)], axis=1)
        b = np.arange(len(w))[:, None]

        def first(index: np.ndarray, value: np.ndarray) -> np.ndarray:
            hit = drawn[:, index]  # (B, rows, width): is the k-th ranked column drawn
            k = hit.argmax(axis=2)
            return np.where(hit[b, rows[None, :], k], value[rows[None, :], k], np.nan)

        low, high = first(*lowest), first(*highest)
        valid = present & ~np.isnan(low) & ~np.isnan(high)
        gaps = np.where(valid, low - high, np.inf).min(axis=1)
        return np.where(valid.any(axis=1), gaps, np.nan)

    return statistic


def label_permutation_p(statistic: Callable[[np.ndarray], np.ndarray], n: int, observed: float,
                        resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> float:
    """One-sided permutation p-value of a statistic of ``n`` rows under shuffled labels.

    ``statistic(perms)`` takes ``(B, n)`` permutations - row ``i`` gets the label of row
    ``perms[b, i]`` - and returns ``B`` values. p = (1 + #shuffles at least ``observed``) /
    (1 + shuffles). A model whose answers ignore the rows (a constant answer) scores the
    same under every shuffle: p = 1."""
    rng = np.random.default_rng(seed)
    perms = rng.permuted(np.tile(np.arange(n, dtype=np.intp), (resamples, 1)), axis=1)
    values = np.concatenate([np.asarray(statistic(perms[k:k + BLOCK * 4]), dtype=np.float64)
                             for k in range(0, resamples, BLOCK * 4)])
    return float((1.0 + (values >= observed - 1e-12).sum()) / (1.0 + resamples))


def shuffled_hits(hit: np.ndarray, classes: Sequence[object] | None = None) -> Statistic:
    """Top-1 share (or, with ``classes``, balanced accuracy) with the rows' labels shuffled.

    ``hit[i, k]``: would row ``i``'s answer be right if it had row ``k``'s label."""
    rows = np.arange(hit.shape[0])
    if classes is None:
        return lambda perms: hit[rows[None, :], perms].mean(axis=1)
    codes, onehot = _onehot(classes)
    counts = onehot.sum(axis=0)

    def statistic(perms: np.ndarray) -> np.ndarray:
        right = np.einsum("bi,bik->bk", hit[rows[None, :], perms].astype(np.float64), onehot[perms])
        return (right / counts).mean(axis=1)

    return statistic


def shuffled_one_vs_rest(positive: Sequence[bool] | np.ndarray, predicted: Sequence[bool] | np.ndarray) -> Statistic:
    """:func:`one_vs_rest` (recall + specificity) / 2 with the rows' labels shuffled."""
    pos = np.asarray(positive, dtype=np.float64)
    pred = np.asarray(predicted, dtype=np.float64)
    n_pos, n_neg = pos.sum(), (1 - pos).sum()

    def statistic(perms: np.ndarray) -> np.ndarray:
        shuffled = pos[perms]
        return (_dot(shuffled, pred) / n_pos + _dot(1 - shuffled, 1 - pred) / n_neg) / 2

    return statistic
