"""Permutation p-values: group labels shuffled over a matrix's pairs, or row labels under a top-1 answer."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from embedsim.stats.bootstrap import BLOCK, DEFAULT_RESAMPLES, DEFAULT_SEED, Statistic, dot
from embedsim.stats.pairs import Pairs
from embedsim.stats.ranks import average_ranks
from embedsim.stats.rows import one_hot


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
    rows = pairs.n
    cols = rows if pairs.all_pairs else int(pairs.j.max()) + 1
    complete = pairs.values.size == (rows * (rows - 1) // 2 if pairs.all_pairs else rows * len(np.unique(pairs.j)))
    if not complete:  # some cells left out (an item paired with itself): the general, slower path
        return _incomplete_p_value(pairs, statistic, resamples, seed)
    scores = pairs.values if statistic == "margin" else average_ranks(pairs.values)
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


def _incomplete_p_value(pairs: Pairs, statistic: str, resamples: int, seed: int) -> float:
    """:func:`permutation_p_value` when some cells are not scored: the rows (all pairs: the
    items) are shuffled with their values, unscored cells included, under fixed group masks;
    a cell that lands on an unscored one is left out of that shuffle. The AUC is recounted
    for each shuffle (ties half), undefined shuffles count as at least the observed."""
    rows = pairs.n
    cols = rows if pairs.all_pairs else int(pairs.j.max()) + 1
    codes = np.unique(pairs.values, return_inverse=True)[1].astype(np.int64)  # dense ranks: ties equal
    levels = int(codes.max()) + 1
    grid = np.full((rows, cols), np.nan)
    code_grid = np.full((rows, cols), levels, dtype=np.int64)  # `levels`: not scored
    grid[pairs.i, pairs.j], code_grid[pairs.i, pairs.j] = pairs.values, codes
    if pairs.all_pairs:
        grid[pairs.j, pairs.i], code_grid[pairs.j, pairs.i] = pairs.values, codes
    same_i, same_j = pairs.i[pairs.same], pairs.j[pairs.same]
    diff_i, diff_j = pairs.i[~pairs.same], pairs.j[~pairs.same]

    def read(table: np.ndarray, perms: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return table[perms[:, i], perms[:, j] if pairs.all_pairs else j[None, :]]

    def scores(perms: np.ndarray) -> np.ndarray:
        if statistic == "margin":
            s, d = read(grid, perms, same_i, same_j), read(grid, perms, diff_i, diff_j)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.nanmean(s, axis=1) - np.nanmean(d, axis=1) if s.size and d.size else np.full(len(perms), np.nan)
        s = np.sort(read(code_grid, perms, same_i, same_j), axis=1)  # unscored sort last, never below a value
        d = read(code_grid, perms, diff_i, diff_j)
        n_s, n_d = (s < levels).sum(axis=1), (d < levels).sum(axis=1)
        offset = (np.arange(len(perms)) * (levels + 1))[:, None]
        flat = (s + offset).ravel()  # rows in order, each sorted: sorted as a whole
        start = (np.arange(len(perms)) * s.shape[1])[:, None]
        below = np.searchsorted(flat, (d + offset).ravel(), "left").reshape(d.shape) - start
        upto = np.searchsorted(flat, (d + offset).ravel(), "right").reshape(d.shape) - start
        wins = np.where(d < levels, (n_s[:, None] - upto) + 0.5 * (upto - below), 0.0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return wins / (n_s * n_d)

    observed = float(scores(np.arange(rows, dtype=np.intp)[None, :])[0])
    rng = np.random.default_rng(seed)
    perms = rng.permuted(np.tile(np.arange(rows, dtype=np.intp), (resamples, 1)), axis=1)
    values = np.concatenate([scores(perms[k:k + BLOCK]) for k in range(0, resamples, BLOCK)])
    tolerance = 1e-9 if statistic == "margin" else 1e-12
    return float((1.0 + (~(values < observed - tolerance)).sum()) / (1.0 + resamples))


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
    codes, onehot = one_hot(classes)
    counts = onehot.sum(axis=0)
    k = len(counts)

    def statistic(perms: np.ndarray) -> np.ndarray:
        # right[b, c]: rows whose shuffled label is of class c and whose answer is right (integer counts)
        flat = (codes[perms] + k * np.arange(len(perms))[:, None])[hit[rows[None, :], perms]]
        right = np.bincount(flat, minlength=k * len(perms)).reshape(len(perms), k)
        return (right / counts).mean(axis=1)

    return statistic


def shuffled_one_vs_rest(positive: Sequence[bool] | np.ndarray, predicted: Sequence[bool] | np.ndarray) -> Statistic:
    """:func:`one_vs_rest` (recall + specificity) / 2 with the rows' labels shuffled."""
    pos = np.asarray(positive, dtype=np.float64)
    pred = np.asarray(predicted, dtype=np.float64)
    n_pos, n_neg = pos.sum(), (1 - pos).sum()

    def statistic(perms: np.ndarray) -> np.ndarray:
        shuffled = pos[perms]
        return (dot(shuffled, pred) / n_pos + dot(1 - shuffled, 1 - pred) / n_neg) / 2

    return statistic
