"""Group separation: same-group pairs above different-group pairs, by mean margin, per row, or ROC-AUC,
and the within- vs between-group statistics (:func:`group_stats`) - both read one grouping's scored
pairs (:func:`group_scores`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import permutations

import numpy as np

from embedsim import stats
from embedsim.errors import InputError
from embedsim.expect.check import AucError, Check, GroupSeparationError, Pair, check_statistic, clears
from embedsim.expect.labels import row_and_column_groups
from embedsim.matrix import SimilarityMatrix, group_cells, group_mask, is_large

#: Column-only ("constant answer") AUC levels are computed for at most this many columns.
MAX_ORDERED_COLUMNS = 7
#: Above :data:`embedsim.stats.large.LARGE_CELLS` cells at most this many offending pairs are kept (the most offending).
MAX_KEPT_PAIRS = 1000


@dataclass(frozen=True)
class GroupStats:
    """Within-group vs between-group similarity of a matrix, with bootstrap intervals.

    The intervals resample items (rows; for all pairs, the items), see
    :mod:`embedsim.stats`; ``p_value_*`` are one-sided permutation p-values (group
    labels shuffled) of the margin and the AUC."""

    within_mean: float
    between_mean: float
    margin: float  # within_mean - between_mean
    auc: float  # P(random within pair > random between pair), ties count half
    n_within: int
    n_between: int
    n_items: int = 0
    confidence: float = 0.95
    margin_low: float = float("nan")
    margin_high: float = float("nan")
    auc_low: float = float("nan")
    auc_high: float = float("nan")
    p_value_margin: float = float("nan")
    p_value_auc: float = float("nan")
    #: What is not exact at this size (a linearised interval, fewer label shuffles): empty when all is.
    note: str = ""


@dataclass
class GroupScores:
    """One grouping's scored pairs, what :func:`group_stats` and the group checks read: per-pair
    arrays (``pairs``, the ``same`` / ``different`` masks over ``values``), or for a large matrix its
    blocks of rows and group sums (``cells``, :mod:`embedsim.stats.large`)."""

    within_mean: float
    between_mean: float
    n_within: int
    n_between: int
    n_items: int
    values: np.ndarray
    pairs: stats.Pairs | None = None
    same: np.ndarray | None = None
    different: np.ndarray | None = None
    cells: stats.large.GroupCells | None = None

    @cached_property
    def margin_statistic(self) -> stats.Statistic:
        """The mean margin as a statistic of item weights."""
        if self.cells is not None:
            return self.cells.margin_statistic()
        assert self.pairs is not None
        return stats.mean_margin(self.pairs)

    @cached_property
    def auc(self) -> tuple[float, stats.Statistic]:
        """The ROC-AUC and its statistic of item weights (computed when first asked)."""
        if self.cells is not None:
            value, statistic = self.cells.auc()
            return float(value), statistic
        assert self.pairs is not None and self.same is not None and self.different is not None
        return stats.roc_auc(self.values[self.same], self.values[self.different]), stats.auc(self.pairs)

    def p_value(self, statistic: str) -> float:
        """The one-sided permutation p-value of ``"margin"`` or ``"auc"``."""
        if self.cells is not None:
            return self.cells.permutation_p(statistic)
        assert self.pairs is not None
        return stats.permutation_p_value(self.pairs, statistic)


def group_scores(matrix: SimilarityMatrix, rows: Sequence[str], cols: Sequence[str]) -> GroupScores:
    """The scored pairs of ``matrix`` with these row and column groups (self-pairs left out;
    refused without both same-group and different-group pairs)."""
    if is_large(matrix):
        cells = group_cells(matrix, rows, cols)
        within_mean, between_mean, n_within, n_between = cells.means()
        return GroupScores(float(within_mean), float(between_mean), n_within, n_between, cells.n, matrix.values,
                           cells=cells)
    same, different = group_mask(matrix, rows, cols)
    within, between = matrix.values[same], matrix.values[different]
    if within.size == 0 or between.size == 0:
        raise InputError("group statistics need at least one same-group and one different-group pair; "
                         f"got {within.size} and {between.size} - check the group labels")
    pairs = stats.Pairs.from_masks(matrix.values, same, different, matrix.all_pairs)
    return GroupScores(float(within.astype(np.float64).mean()), float(between.astype(np.float64).mean()),
                       int(within.size), int(between.size), pairs.n, matrix.values, pairs=pairs, same=same,
                       different=different)


def group_stats(matrix: SimilarityMatrix, row_groups: Sequence[str], col_groups: Sequence[str] | None = None,
                *, confidence: float = 0.95) -> GroupStats:
    """Mean within- vs between-group similarity, their margin and the ROC-AUC, with
    ``confidence`` bootstrap intervals over the items and permutation p-values."""
    rows, cols = row_and_column_groups(matrix, row_groups, col_groups, None, None)
    scores = group_scores(matrix, rows, cols)
    margin = stats.interval(stats.bootstrap(scores.margin_statistic, scores.n_items), confidence)
    auc_value, auc_statistic = scores.auc
    auc = stats.interval(stats.bootstrap(auc_statistic, scores.n_items), confidence)
    p_margin, p_auc = scores.p_value("margin"), scores.p_value("auc")
    return GroupStats(scores.within_mean, scores.between_mean, scores.within_mean - scores.between_mean, auc_value,
                      scores.n_within, scores.n_between, scores.n_items, confidence, margin.low, margin.high,
                      auc.low, auc.high, p_margin, p_auc, scores.cells.notes if scores.cells is not None else "")


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
    rows, cols = row_and_column_groups(matrix, groups, col_groups, None, None)
    if per_row:
        return _per_row(matrix, rows, cols, margin, confidence)
    scores = group_scores(matrix, rows, cols)
    within, between = scores.within_mean, scores.between_mean
    statistic = within - between
    pairs: list[Pair] = []
    count = 0
    if clears(statistic, margin, strict=True):
        pass
    elif scores.cells is not None:
        pairs, count = _large_crossing_pairs(matrix, scores.cells, within - margin, between + margin, "mean")
    else:
        pairs = _crossing_pairs(matrix, scores.same, scores.different, within - margin, between + margin)  # type: ignore[arg-type]
    description = (f"same group more similar than different groups by {margin:g} "
                   f"(means {within:.4f} vs {between:.4f})")
    p_margin = scores.p_value("margin")
    note = "" if scores.cells is None else _large_note(scores.cells.margin_note, scores.cells, count)
    return check_statistic("mean margin", description, scores.margin_statistic, scores.n_items, at_least=margin,
                           n=scores.n_within + scores.n_between, pairs=pairs, error=GroupSeparationError,
                           unit="pairs", chance=0.0, constant_answer=0.0 if matrix.all_pairs else None,
                           p_value=p_margin, confidence=confidence, value=statistic, strict=True, note=note)


def _per_row(matrix: SimilarityMatrix, rows: list[str], cols: list[str], margin: float,
             confidence: float | None) -> Check:
    """:func:`check_groups` with ``per_row=True``: every row's smallest same-group vs different-group gap."""
    values = matrix.values  # row by row from the full masks: no float64 copy, no unordered masks
    same_full, diff_full = group_mask(matrix, rows, cols, unordered=False)
    pairs: list[Pair] = []
    gaps: list[float] = []
    scored = 0
    for i, label in enumerate(matrix.row_labels):
        start = i + 1 if matrix.all_pairs else 0  # each unordered pair counted once
        scored += int(same_full[i, start:].sum() + diff_full[i, start:].sum())
        if not same_full[i].any() or not diff_full[i].any():
            continue
        j_same = int(np.flatnonzero(same_full[i])[np.argmin(values[i, same_full[i]])])
        j_diff = int(np.flatnonzero(diff_full[i])[np.argmax(values[i, diff_full[i]])])
        gap = float(values[i, j_same]) - float(values[i, j_diff])
        gaps.append(gap)
        if not clears(gap, margin, strict=True):
            pairs.append(Pair(label, matrix.col_labels[j_diff], np.float64(values[i, j_diff]),
                              f"different group {cols[j_diff]!r}, above same-group "
                              f"{matrix.col_labels[j_same]!r} = {values[i, j_same]:.4f} (gap {gap:+.4f})"))
    if not gaps:
        raise InputError("no row has both a same-group and a different-group column; check the groups")
    description = f"every row's same-group columns beat its different-group columns by {margin:g}"
    return check_statistic("smallest per-row gap", description,
                           stats.smallest_row_gap(values, same_full, diff_full, matrix.all_pairs), matrix.shape[0],
                           at_least=margin, n=scored,
                           pairs=sorted(pairs, key=lambda p: p.value, reverse=True), error=GroupSeparationError,
                           unit="pairs", constant_answer=0.0 if matrix.all_pairs else None, confidence=confidence,
                           strict=True)


def _large_note(exactness: str, cells: stats.large.GroupCells, count: int) -> str:
    """What a large matrix's check gives up: ``exactness``, the permutations, the offending pairs kept."""
    kept = f"{count:,} offending pairs, the {MAX_KEPT_PAIRS} most offending kept" if count > MAX_KEPT_PAIRS else ""
    return "; ".join(filter(None, [exactness, cells.permutation_note, kept]))


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
    rows, cols = row_and_column_groups(matrix, groups, col_groups, None, None)
    scores = group_scores(matrix, rows, cols)
    auc, statistic = scores.auc
    pairs: list[Pair] = []
    count = 0
    if auc >= at_least:
        pass
    elif scores.cells is not None:
        ordered = scores.cells._sorted()
        pairs, count = _large_crossing_pairs(matrix, scores.cells, float(np.median(ordered["vs"])),
                                             float(np.median(ordered["vd"])), "median")
    else:
        within, between = matrix.values[scores.same], matrix.values[scores.different]
        pairs = _crossing_pairs(matrix, scores.same, scores.different, float(np.median(within)),  # type: ignore[arg-type]
                                float(np.median(between)), "median")
    p_auc = scores.p_value("auc")
    note = "" if scores.cells is None else _large_note(stats.large.AUC_NOTE, scores.cells, count)
    description = f"same-group vs different-group ROC-AUC at least {at_least:g}"
    return check_statistic("AUC", description, statistic, scores.n_items, at_least=at_least,
                           n=scores.n_within + scores.n_between, pairs=pairs, error=AucError, unit="pairs",
                           chance=0.5, constant_answer=_column_only_auc(matrix, rows, cols), p_value=p_auc,
                           confidence=confidence, value=auc, note=note)


def _column_only_auc(matrix: SimilarityMatrix, rows: list[str], cols: list[str]) -> float | None:
    """The best AUC of a score per column, the same for every row (ties count half)."""
    if matrix.all_pairs:
        return 0.5  # one vector for every item: every pair scores alike
    if matrix.shape[1] > MAX_ORDERED_COLUMNS:
        return None
    same, different = group_mask(matrix, rows, cols)
    a, b = same.sum(axis=0).astype(float), different.sum(axis=0).astype(float)
    ties = 0.5 * float(a @ b)
    best = max(sum(a[order[x]] * b[order[y]] for x in range(len(order)) for y in range(x + 1, len(order)))
               for order in permutations(range(matrix.shape[1])))
    return float((best + ties) / (a.sum() * b.sum()))


def _large_crossing_pairs(matrix: SimilarityMatrix, cells: stats.large.GroupCells, within_mean: float,
                          between_mean: float, average: str) -> tuple[list[Pair], int]:
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
