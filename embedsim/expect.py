"""Ordering assertions over a :class:`~embedsim.matrix.SimilarityMatrix`.

Each ``check_*`` function returns a :class:`~embedsim.check.Check` (statistic, threshold,
interval, chance levels, offending pairs, message); each ``expect_*`` function runs the
check and raises its :class:`ExpectationFailed` subclass when it does not hold::

    expect_groups(m, persons, margin=0.05)       # same person > different persons
    expect_top1(m, ["happy", "sad", ...], at_least=0.6, measure="balanced")
    expect_class(m, expected, "Happy", at_least=0.75)  # Happy on top for happy rows only
    expect_order(m, "face1", ["Happy", "Sad", "Angry"])
    expect_auc(m, persons, at_least=0.9, confidence=0.95)

A failure message states the statistic against its threshold, the number of pairs,
and lists the pairs that broke the expectation with their similarities.

Every check carries a seeded bootstrap interval of its statistic (items resampled - the
rows, or the items of an all-pairs matrix - never pairs; see :mod:`embedsim.stats`), its
``chance`` level (answers that ignore the items) and its ``majority`` level (the best
single constant answer), and for group separation a permutation p-value. With
``confidence=0.95`` the whole interval must clear the threshold; a point estimate that
passes while the interval does not is *inconclusive* (raises :class:`Inconclusive`).

A constant answer - every row closest to the same column - reaches a top-1 *share*
equal to the share of the commonest label; ``measure="balanced"`` (mean recall per
class) and :func:`check_class` (one column's recall and specificity) score it at their
``majority`` level, so a threshold above that level rules it out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from itertools import permutations

import numpy as np

from embedsim import stats
from embedsim.check import (  # re-exported (__all__): the public names of expectations
    MAX_LISTED,
    AucError,
    Check,
    ClassError,
    ExpectationFailed,
    GroupSeparationError,
    Inconclusive,
    OrderError,
    Pair,
    Top1Error,
    check_statistic,
)
from embedsim.errors import InputError
from embedsim.matrix import SimilarityMatrix, group_mask
from embedsim.stats import roc_auc

#: Column-only ("constant answer") AUC levels are computed for at most this many columns.
MAX_ORDERED_COLUMNS = 7


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
    """Same-group pairs are more similar than different-group pairs, by ``margin``.

    ``groups`` gives each row's group (``col_groups`` each column's; the row groups
    when omitted). By default the *mean* same-group similarity must exceed the mean
    different-group similarity by ``margin``; with ``per_row=True`` every row's least
    similar same-group column must beat its most similar different-group column by
    ``margin``. Self-pairs on the diagonal of an all-pairs matrix are left out.
    ``confidence``: the bootstrap interval must clear ``margin`` too.
    """
    rows, cols = _groups(matrix, groups, col_groups)
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
            if gap < margin:
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
                                unit="pairs", majority=constant, confidence=confidence)
        return check
    within, between = values[same], values[different]
    if within.size == 0 or between.size == 0:
        raise InputError(f"need same-group and different-group pairs; got {within.size} and {between.size} "
                         "- check the groups")
    statistic = float(within.mean() - between.mean())
    pairs = [] if statistic >= margin else _crossing_pairs(matrix, same, different, within.mean() - margin,
                                                           between.mean() + margin)
    description = (f"same group more similar than different groups by {margin:g} "
                   f"(means {within.mean():.4f} vs {between.mean():.4f})")
    scored = stats.Pairs.from_masks(values, same, different, matrix.all_pairs)
    p_margin = stats.permutation_p_value(scored, "margin")
    return check_statistic("mean margin", description, stats.mean_margin(scored), n_items, at_least=margin,
                           n=int(within.size + between.size), pairs=pairs, error=GroupSeparationError, unit="pairs",
                           chance=0.0, majority=constant, p_value=p_margin, confidence=confidence,
                           value=statistic)


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


Expected = Sequence[str | Collection[str] | None] | Mapping[str, str | Collection[str]]


def _expected_sets(matrix: SimilarityMatrix, expected: Expected) -> list[frozenset[str] | None]:
    if isinstance(expected, Mapping):
        unknown = set(expected) - set(matrix.row_labels)
        if unknown:
            raise InputError(f"expected top-1 labels for unknown rows: {sorted(unknown)}")
        raw = [expected.get(label) for label in matrix.row_labels]
    else:
        raw = list(expected)
        if len(raw) != matrix.shape[0]:
            raise InputError(f"{len(raw)} expected labels for {matrix.shape[0]} rows")
    sets: list[frozenset[str] | None] = []
    for value in raw:
        if value is None:
            sets.append(None)
            continue
        labels = frozenset([value] if isinstance(value, str) else value)
        missing = labels - set(matrix.col_labels)
        if missing:
            raise InputError(f"expected top-1 label(s) {sorted(missing)} are not columns of the matrix "
                             f"{list(matrix.col_labels)}")
        sets.append(labels)
    return sets


class _Top1:
    """The scored rows of a top-1 expectation: hit or miss, class, what a guess would get."""

    def __init__(self, matrix: SimilarityMatrix, expected: Expected, classes: Sequence[str] | None) -> None:
        sets = _expected_sets(matrix, expected)
        if classes is not None and len(classes) != matrix.shape[0]:
            raise InputError(f"{len(classes)} classes for {matrix.shape[0]} rows")
        self.values = matrix._off_diagonal(-np.inf)
        self.top = matrix.top1()
        self.rows = [i for i, wanted in enumerate(sets) if wanted is not None]
        if not self.rows:
            raise InputError("no row has an expected top-1 label")
        self.sets = [sets[i] or frozenset() for i in self.rows]
        self.hits = np.array([self.top[i] in wanted for i, wanted in zip(self.rows, self.sets)])
        # shuffled[i, k]: would row i's answer be right with row k's expected labels
        self.shuffled = np.array([[self.top[i] in wanted for wanted in self.sets] for i in self.rows])
        self.classes = [str(classes[i]) if classes is not None else " / ".join(sorted(wanted))
                        for i, wanted in zip(self.rows, self.sets)]
        candidates = matrix.shape[1] - (1 if matrix.all_pairs else 0)
        self.guess = np.array([len(wanted) / candidates for wanted in self.sets])  # P(hit) of a uniform guess
        # hit[r, c]: would the constant answer "column c" be right for scored row r
        self.constant = np.array([[c in wanted for c in matrix.col_labels] for wanted in self.sets], dtype=float)

    def per_class(self, per_row: np.ndarray) -> np.ndarray:
        """Mean over classes of the mean over their rows (``per_row``: rows x anything)."""
        names = list(dict.fromkeys(self.classes))
        return np.mean([per_row[[k for k, c in enumerate(self.classes) if c == name]].mean(axis=0)
                        for name in names], axis=0)


def check_top1(matrix: SimilarityMatrix, expected: Expected, *, at_least: float = 1.0, measure: str = "share",
               classes: Sequence[str] | None = None, confidence: float | None = None) -> Check:
    """Each row's most similar column is an expected one, for at least ``at_least`` of the rows.

    ``expected`` gives per row the expected column label (or a set of acceptable
    labels, or ``None`` to leave the row out), as a sequence aligned with the rows
    or a mapping from row label. For all-pairs matrices the row itself is excluded.

    ``measure="share"``: the share of scored rows that are hits (a constant answer gets
    the share of its label). ``measure="balanced"``: balanced accuracy, the mean over
    classes of the share of their rows that are hits (a constant answer gets 1 / the
    number of classes). ``classes`` names each row's class (default: its expected set).
    """
    if measure not in ("share", "balanced"):
        raise InputError(f"measure must be 'share' or 'balanced', got {measure!r}")
    t = _Top1(matrix, expected, classes)
    pairs: list[Pair] = []
    for k, i in enumerate(t.rows):
        if t.hits[k]:
            continue
        best_wanted = max(t.sets[k], key=lambda c: t.values[i, matrix.col_labels.index(c)])
        wanted_value = t.values[i, matrix.col_labels.index(best_wanted)]
        got_value = t.values[i, matrix.col_labels.index(t.top[i])]
        pairs.append(Pair(matrix.row_labels[i], t.top[i], float(got_value),
                          f"top-1 instead of {best_wanted!r} = {wanted_value:.4f} (short by {got_value - wanted_value:.4f})"))
    hits, scored = int(t.hits.sum()), len(t.rows)
    point = hits / scored if measure == "share" else stats.point(stats.balanced_accuracy(t.hits, t.classes), scored)
    p_value = stats.label_permutation_p(
        stats.shuffled_hits(t.shuffled, None if measure == "share" else t.classes), scored, point)
    n_classes = len(set(t.classes))
    if measure == "share":
        statistic = stats.weighted_mean(t.hits)
        value: float | None = hits / scored
        kind = "top-1 share"
        chance, majority = float(t.guess.mean()), float(t.constant.mean(axis=0).max())
        description = f"top-1 column is the expected one for at least {at_least:.0%} of rows ({hits}/{scored})"
    else:
        statistic = stats.balanced_accuracy(t.hits, t.classes)
        value = None
        kind = "balanced accuracy"
        chance, majority = float(t.per_class(t.guess)), float(t.per_class(t.constant).max())
        recalls = ", ".join(f"{name} {int(t.hits[[c == name for c in t.classes]].sum())}/"
                            f"{sum(c == name for c in t.classes)}" for name in dict.fromkeys(t.classes))
        description = (f"top-1 column is the expected one, mean recall over {n_classes} classes at least "
                       f"{at_least:.0%} ({recalls}; all rows {hits}/{scored})")
    return check_statistic(kind, description, statistic, scored, at_least=at_least, pairs=pairs, error=Top1Error,
                           unit="rows", chance=chance, majority=majority, p_value=p_value, confidence=confidence,
                           value=value)


def check_class(matrix: SimilarityMatrix, expected: Expected, column: str, *, at_least: float,
                confidence: float | None = None) -> Check:
    """Column ``column`` is the top-1 of the rows that expect it, and not of the other scored rows.

    The statistic is the balanced accuracy of "``column`` on top" as a detector of the
    rows expecting it: (recall + specificity) / 2, where recall = share of those rows
    with ``column`` on top and specificity = share of the other scored rows without.
    Answering ``column`` for every row (or for none), or at random, scores 0.5.
    ``expected`` as in :func:`check_top1` (``None`` rows are left out)."""
    if column not in matrix.col_labels:
        raise InputError(f"no column {column!r} in the matrix; columns are {list(matrix.col_labels)}")
    t = _Top1(matrix, expected, None)
    positive = np.array([column in wanted for wanted in t.sets])
    predicted = np.array([t.top[i] == column for i in t.rows])
    if positive.all() or not positive.any():
        raise InputError(f"check_class needs scored rows that expect {column!r} and rows that do not")
    pairs = [Pair(matrix.row_labels[i], t.top[i], float(t.values[i, matrix.col_labels.index(t.top[i])]),
                  f"top-1 instead of {column!r} = {t.values[i, matrix.col_labels.index(column)]:.4f}")
             for k, i in enumerate(t.rows) if positive[k] and not predicted[k]]
    pairs += [Pair(matrix.row_labels[i], column, float(t.values[i, matrix.col_labels.index(column)]),
                   f"top-1 although the row expects {' / '.join(sorted(t.sets[k]))}")
              for k, i in enumerate(t.rows) if predicted[k] and not positive[k]]
    true_pos = int((positive & predicted).sum())
    description = (f"{column!r} on top for the rows expecting it and not for the others at least {at_least:.0%}: "
                   f"recall {true_pos}/{int(positive.sum())}, precision {true_pos}/{int(predicted.sum())}, "
                   f"specificity {int((~positive & ~predicted).sum())}/{int((~positive).sum())}")
    return check_statistic(f"{column} balanced accuracy", description, stats.one_vs_rest(positive, predicted),
                           len(t.rows), at_least=at_least, pairs=pairs, error=ClassError, unit="rows",
                           chance=0.5, majority=0.5, confidence=confidence,
                           p_value=stats.label_permutation_p(stats.shuffled_one_vs_rest(positive, predicted),
                                                             len(t.rows),
                                                             stats.point(stats.one_vs_rest(positive, predicted),
                                                                         len(t.rows))))


def check_order(matrix: SimilarityMatrix, row: str, order: Sequence[str], *, margin: float = 0.0) -> Check:
    """Row ``row`` is more similar to ``order[0]`` than to ``order[1]`` (by ``margin``), and so on.

    One row: there is nothing to resample, so the check has no interval."""
    if row not in matrix.row_labels:
        raise InputError(f"no row {row!r} in the matrix; rows are {list(matrix.row_labels)}")
    unknown = [c for c in order if c not in matrix.col_labels]
    if unknown or len(order) < 2:
        raise InputError(f"order needs at least two column labels of {list(matrix.col_labels)}; unknown: {unknown}")
    values = [matrix.value(row, c) for c in order]
    gaps = [a - b for a, b in zip(values, values[1:])]
    pairs = tuple(
        Pair(row, order[k + 1], values[k + 1], f"not below {order[k]!r} = {values[k]:.4f} by {margin:g} (gap {gaps[k]:+.4f})")
        for k in range(len(gaps)) if gaps[k] < margin
    )
    description = f"row {row!r} in the order {' > '.join(map(repr, order))}"
    return Check("smallest gap", description, not pairs, float(min(gaps)), margin, len(gaps), pairs, OrderError,
                 n_items=1)


def check_auc(matrix: SimilarityMatrix, groups: Sequence[str], col_groups: Sequence[str] | None = None,
              *, at_least: float, confidence: float | None = None) -> Check:
    """The ROC-AUC of same-group against different-group similarities is at least ``at_least``.

    AUC = probability that a random same-group pair scores above a random
    different-group pair (ties count half): 1.0 separates perfectly, 0.5 is chance.
    ``majority`` is the best AUC of scores that depend on the column only (a model that
    sees no row: a constant answer); for rows x a few words it can be well above 0.5.
    """
    rows, cols = _groups(matrix, groups, col_groups)
    same, different = group_mask(matrix, rows, cols)
    within, between = matrix.values[same], matrix.values[different]
    if within.size == 0 or between.size == 0:
        raise InputError(f"need same-group and different-group pairs; got {within.size} and {between.size}")
    auc = roc_auc(within, between)
    pairs = () if auc >= at_least else tuple(_crossing_pairs(matrix, same, different, float(np.median(within)),
                                                             float(np.median(between)), "median"))
    scored = stats.Pairs.from_masks(matrix.values, same, different, matrix.all_pairs)
    p_auc = stats.permutation_p_value(scored, "auc")
    description = f"same-group vs different-group ROC-AUC at least {at_least:g}"
    return check_statistic("AUC", description, stats.auc(scored), matrix.shape[0], at_least=at_least,
                           n=int(within.size + between.size), pairs=pairs, error=AucError, unit="pairs",
                           chance=0.5, majority=_column_only_auc(matrix, same, different), p_value=p_auc,
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


def expect_groups(matrix: SimilarityMatrix, groups: Sequence[str], col_groups: Sequence[str] | None = None,
                  *, margin: float = 0.0, per_row: bool = False, confidence: float | None = None) -> Check:
    """Raise :class:`GroupSeparationError` unless :func:`check_groups` holds."""
    return check_groups(matrix, groups, col_groups, margin=margin, per_row=per_row,
                        confidence=confidence).raise_if_failed()


def expect_top1(matrix: SimilarityMatrix, expected: Expected, *, at_least: float = 1.0, measure: str = "share",
                classes: Sequence[str] | None = None, confidence: float | None = None) -> Check:
    """Raise :class:`Top1Error` unless :func:`check_top1` holds."""
    return check_top1(matrix, expected, at_least=at_least, measure=measure, classes=classes,
                      confidence=confidence).raise_if_failed()


def expect_class(matrix: SimilarityMatrix, expected: Expected, column: str, *, at_least: float,
                 confidence: float | None = None) -> Check:
    """Raise :class:`ClassError` unless :func:`check_class` holds."""
    return check_class(matrix, expected, column, at_least=at_least, confidence=confidence).raise_if_failed()


def expect_order(matrix: SimilarityMatrix, row: str, order: Sequence[str], *, margin: float = 0.0) -> Check:
    """Raise :class:`OrderError` unless :func:`check_order` holds."""
    return check_order(matrix, row, order, margin=margin).raise_if_failed()


def expect_auc(matrix: SimilarityMatrix, groups: Sequence[str], col_groups: Sequence[str] | None = None,
               *, at_least: float, confidence: float | None = None) -> Check:
    """Raise :class:`AucError` unless :func:`check_auc` holds."""
    return check_auc(matrix, groups, col_groups, at_least=at_least, confidence=confidence).raise_if_failed()


__all__ = ["MAX_LISTED", "AucError", "Check", "ClassError", "ExpectationFailed", "Expected", "GroupSeparationError",
           "Inconclusive", "OrderError", "Pair", "Top1Error", "check_auc", "check_class", "check_groups",
           "check_order", "check_statistic", "check_top1", "expect_auc", "expect_class", "expect_groups",
           "expect_order", "expect_top1"]
