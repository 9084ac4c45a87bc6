"""Group separation: same-group pairs above different-group pairs, by mean margin, per row, or ROC-AUC."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import permutations

import numpy as np

from embedsim import stats
from embedsim.errors import InputError
from embedsim.expect.check import AucError, Check, GroupSeparationError, Pair, check_statistic, clears
from embedsim.matrix import SimilarityMatrix, group_cells, group_mask, is_large

#: Column-only ("constant answer") AUC levels are computed for at most this many columns.
MAX_ORDERED_COLUMNS = 7
#: Above :data:`embedsim.stats.large.LARGE_CELLS` cells at most this many offending pairs are kept (the most offending).
MAX_KEPT_PAIRS = 1000


def _groups(matrix: SimilarityMatrix, groups: Sequence[str], col_groups: Sequence[str] | None) -> tuple[list[str], list[str]]:
    rows = list(groups)
    cols = rows if col_groups is None else list(col_groups)
    if col_groups is None and not matrix.all_pairs and matrix.shape[0] != matrix.shape[1]:
        raise InputError("this matrix has different rows and columns: give col_groups too")
    return rows, cols


def check_groups(
    matrix: SimilarityMatrix,
    groups: Sequence[str],
    col_groups: Sequence[str] | None = None,
    *,
    margin: float = 0.0,
    per_row: bool = False,
    confidence: float | None = None,
) -> Check:
    """Same-group pairs are more similar than different-group pairs, by more than ``margin``
    (a tie is not evidence: a model that gives every pair one score fails ``margin=0``).

    ``groups`` gives each row's group (``col_groups`` each column's; the row groups
    when omitted). By default the *mean* same-group similarity must exceed the mean
    different-group similarity by ``margin``; with ``per_row=True`` every row's least
    similar same-group column must beat its most similar different-group column by
    ``margin``. Self-pairs on the diagonal of an all-pairs matrix are left out.
    ``confidence``: the bootstrap interval must clear ``margin`` too.
    """
    rows, cols = _groups(matrix, groups, col_groups)
    if not per_row and is_large(matrix):
        return _large_margin(matrix, rows, cols, margin, confidence)
    same, different = group_mask(matrix, rows, cols)
    values = matrix.values.astype(np.float64)
    n_items = matrix.shape[0]
    constant = 0.0 if matrix.all_pairs else None  # one vector for every item: every pair scores alike
    if per_row:
        same_full, diff_full = group_mask(matrix, rows, cols, unordered=False)
        pairs: list[Pair] = []
        gaps: list[float] = []
        for i, label in enumerate(matrix.row_labels):
            if not same_full[i].any() or not diff_full[i].any():
                continue
            j_same = int(np.flatnonzero(same_full[i])[np.argmin(values[i, same_full[i]])])
            j_diff = int(np.flatnonzero(diff_full[i])[np.argmax(values[i, diff_full[i]])])
            gap = values[i, j_same] - values[i, j_diff]
            gaps.append(gap)
            if not clears(gap, margin, strict=True):
                pairs.append(Pair(label, matrix.col_labels[j_diff], values[i, j_diff],
                                  f"different group {cols[j_diff]!r}, above same-group "
                                  f"{matrix.col_labels[j_same]!r} = {values[i, j_same]:.4f} (gap {gap:+.4f})"))
        if not gaps:
            raise InputError("no row has both a same-group and a different-group column; check the groups")
        description = f"every row's same-group columns beat its different-group columns by {margin:g}"
        check = check_statistic("smallest per-row gap", description,
                                stats.smallest_row_gap(values, same_full, diff_full, matrix.all_pairs), n_items,
                                at_least=margin, n=int(same.sum() + different.sum()),
                                pairs=sorted(pairs, key=lambda p: p.value, reverse=True), error=GroupSeparationError,
                                unit="pairs", constant_answer=constant, confidence=confidence, strict=True)
        return check
    within, between = values[same], values[different]
    if within.size == 0 or between.size == 0:
        raise InputError(f"need same-group and different-group pairs; got {within.size} and {between.size} "
                         "- check the groups")
    statistic = float(within.mean() - between.mean())
    pairs = [] if clears(statistic, margin, strict=True) else _crossing_pairs(
        matrix, same, different, within.mean() - margin, between.mean() + margin)
    description = (f"same group more similar than different groups by {margin:g} "
                   f"(means {within.mean():.4f} vs {between.mean():.4f})")
    scored = stats.Pairs.from_masks(values, same, different, matrix.all_pairs)
    p_margin = stats.permutation_p_value(scored, "margin")
    return check_statistic("mean margin", description, stats.mean_margin(scored), n_items, at_least=margin,
                           n=int(within.size + between.size), pairs=pairs, error=GroupSeparationError, unit="pairs",
                           chance=0.0, constant_answer=constant, p_value=p_margin, confidence=confidence,
                           value=statistic, strict=True)


def _crossing_pairs(matrix: SimilarityMatrix, same: np.ndarray, different: np.ndarray,
                    within_mean: float, between_mean: float, average: str = "mean") -> list[Pair]:
    """Different-group pairs above ``within_mean`` (the same-group ``average``, less the
    margin) and same-group pairs below ``between_mean``, the most offending first."""
    suffix = "" if average == "median" else " less the margin"
    within_note = f"different groups, above the same-group {average}{suffix}"
    between_note = f"same group, below the different-group {average}" + (" plus the margin" if suffix else "")
    values = matrix.values
    out: list[tuple[float, Pair]] = []
    for i, j in zip(*np.nonzero(different), strict=True):
        if values[i, j] >= within_mean:
            out.append((values[i, j] - within_mean, Pair(matrix.row_labels[i], matrix.col_labels[j], float(values[i, j]),
                                                          within_note)))
    for i, j in zip(*np.nonzero(same), strict=True):
        if values[i, j] <= between_mean:
            out.append((between_mean - values[i, j], Pair(matrix.row_labels[i], matrix.col_labels[j], float(values[i, j]),
                                                          between_note)))
    return [pair for _, pair in sorted(out, key=lambda t: t[0], reverse=True)]

def check_auc(matrix: SimilarityMatrix, groups: Sequence[str], col_groups: Sequence[str] | None = None,
              *, at_least: float, confidence: float | None = None) -> Check:
    """The ROC-AUC of same-group against different-group similarities is at least ``at_least``.

    AUC = probability that a random same-group pair scores above a random
    different-group pair (ties count half): 1.0 separates perfectly, 0.5 is chance.
    ``constant_answer`` is the best AUC of scores that depend on the column only (a model that
    sees no row: a constant answer); for rows x a few words it can be well above 0.5.
    """
    rows, cols = _groups(matrix, groups, col_groups)
    if is_large(matrix):
        return _large_auc(matrix, rows, cols, at_least, confidence)
    same, different = group_mask(matrix, rows, cols)
    within, between = matrix.values[same], matrix.values[different]
    if within.size == 0 or between.size == 0:
        raise InputError(f"need same-group and different-group pairs; got {within.size} and {between.size}")
    auc = stats.roc_auc(within, between)
    pairs = () if auc >= at_least else tuple(_crossing_pairs(matrix, same, different, float(np.median(within)),
                                                             float(np.median(between)), "median"))
    scored = stats.Pairs.from_masks(matrix.values, same, different, matrix.all_pairs)
    p_auc = stats.permutation_p_value(scored, "auc")
    description = f"same-group vs different-group ROC-AUC at least {at_least:g}"
    return check_statistic("AUC", description, stats.auc(scored), matrix.shape[0], at_least=at_least,
                           n=int(within.size + between.size), pairs=pairs, error=AucError, unit="pairs",
                           chance=0.5, constant_answer=_column_only_auc(matrix, same, different), p_value=p_auc,
                           confidence=confidence, value=auc)


def _column_only_auc(matrix: SimilarityMatrix, same: np.ndarray, different: np.ndarray) -> float | None:
    """The best AUC of a score per column, the same for every row (ties count half)."""
    if matrix.all_pairs:
        return 0.5  # one vector for every item: every pair scores alike
    if matrix.shape[1] > MAX_ORDERED_COLUMNS:
        return None
    a, b = same.sum(axis=0).astype(float), different.sum(axis=0).astype(float)
    ties = 0.5 * float(a @ b)
    best = max(sum(a[order[x]] * b[order[y]] for x in range(len(order)) for y in range(x + 1, len(order)))
               for order in permutations(range(matrix.shape[1])))
    return float((best + ties) / (a.sum() * b.sum()))


def _large_crossing_pairs(matrix: SimilarityMatrix, cells: stats.large.GroupCells, within_mean: float,
                          between_mean: float, average: str) -> list[Pair]:
    """:func:`_crossing_pairs` of a large matrix, read in blocks of rows: the
    :data:`MAX_KEPT_PAIRS` most offending (the message says how many there are)."""
    suffix = "" if average == "median" else " less the margin"
    notes = (f"different groups, above the same-group {average}{suffix}",
             f"same group, below the different-group {average}" + (" plus the margin" if suffix else ""))
    kept = [np.zeros(0)] * 4  # amount, row, column, kind
    count = 0
    for r0, block, same, valid in cells.blocks():
        b = block.astype(np.float64)
        for kind, mask in enumerate(((~same & valid & (b >= within_mean)), (same & valid & (b <= between_mean)))):
            r, c = np.nonzero(mask)
            count += r.size
            amount = b[r, c] - within_mean if kind == 0 else between_mean - b[r, c]
            kept = [np.concatenate([k, x]) for k, x in zip(kept, (amount, r + r0, c, np.full(r.size, kind)),
                                                            strict=True)]
            if kept[0].size > 4 * MAX_KEPT_PAIRS:
                top = np.argsort(-kept[0], kind="stable")[:MAX_KEPT_PAIRS]
                kept = [k[top] for k in kept]
    top = np.argsort(-kept[0], kind="stable")[:MAX_KEPT_PAIRS]
    values = matrix.values
    return [Pair(matrix.row_labels[int(i)], matrix.col_labels[int(j)], float(values[int(i), int(j)]), notes[int(kind)])
            for i, j, kind in zip(kept[1][top], kept[2][top], kept[3][top], strict=True)], count


def _large_margin(matrix: SimilarityMatrix, rows: list[str], cols: list[str], margin: float,
                  confidence: float | None) -> Check:
    """:func:`check_groups` (the mean margin) of a large matrix (:mod:`embedsim.stats.large`)."""
    cells = group_cells(matrix, rows, cols)
    within, between, n_within, n_between = cells.means()
    statistic = float(within - between)
    pairs, count = ([], 0) if clears(statistic, margin, strict=True) else _large_crossing_pairs(
        matrix, cells, within - margin, between + margin, "mean")
    description = (f"same group more similar than different groups by {margin:g} "
                   f"(means {within:.4f} vs {between:.4f})")
    p_margin = cells.permutation_p("margin")
    statistic_fn = cells.margin_statistic()
    note = "; ".join(filter(None, [cells.margin_note, cells.permutation_note, f"{count:,} offending pairs, the {MAX_KEPT_PAIRS} most "
                                   "offending kept" if count > MAX_KEPT_PAIRS else ""]))
    return check_statistic("mean margin", description, statistic_fn, cells.n, at_least=margin,
                           n=n_within + n_between, pairs=pairs, error=GroupSeparationError, unit="pairs",
                           chance=0.0, constant_answer=0.0 if matrix.all_pairs else None, p_value=p_margin,
                           confidence=confidence, value=statistic, strict=True, note=note)


def _large_auc(matrix: SimilarityMatrix, rows: list[str], cols: list[str], at_least: float,
               confidence: float | None) -> Check:
    """:func:`check_auc` of a large matrix (:mod:`embedsim.stats.large`)."""
    cells = group_cells(matrix, rows, cols)
    _w, _b, n_within, n_between = cells.means()
    auc, statistic = cells.auc()
    pairs, count = [], 0
    if auc < at_least:
        s = cells._sorted()
        pairs, count = _large_crossing_pairs(matrix, cells, float(np.median(s["vs"])), float(np.median(s["vd"])),
                                             "median")
    p_auc = cells.permutation_p("auc")
    constant_answer = 0.5 if matrix.all_pairs else None
    if not matrix.all_pairs and matrix.shape[1] <= MAX_ORDERED_COLUMNS:
        constant_answer = _column_only_auc(matrix, *group_mask(matrix, rows, cols))
    note = "; ".join(filter(None, [stats.large.AUC_NOTE, cells.permutation_note, f"{count:,} offending pairs, the "
                                   f"{MAX_KEPT_PAIRS} most offending kept" if count > MAX_KEPT_PAIRS else ""]))
    return check_statistic("AUC", f"same-group vs different-group ROC-AUC at least {at_least:g}", statistic, cells.n,
                           at_least=at_least, n=n_within + n_between, pairs=pairs, error=AucError, unit="pairs",
                           chance=0.5, constant_answer=constant_answer, p_value=p_auc, confidence=confidence, value=auc, note=note)
