"""Ordering assertions over a :class:`~embedsim.matrix.SimilarityMatrix`.

Each ``check_*`` function returns a :class:`Check` (statistic, threshold, offending
pairs, message); each ``expect_*`` function runs the check and raises its
:class:`ExpectationFailed` subclass when it does not hold::

    expect_groups(m, persons, margin=0.05)       # same person > different persons
    expect_top1(m, ["happy", "sad", ...], at_least=0.6)
    expect_order(m, "face1", ["Happy", "Sad", "Angry"])
    expect_auc(m, persons, at_least=0.9)

A failure message states the statistic against its threshold, the number of pairs,
and lists the pairs that broke the expectation with their similarities.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from embedsim.errors import ExpectationFailed, InputError
from embedsim.matrix import SimilarityMatrix, group_mask, roc_auc

#: At most this many offending pairs are listed in a message.
MAX_LISTED = 12


class GroupSeparationError(ExpectationFailed):
    """Same-group pairs were not more similar than different-group pairs by the margin."""


class Top1Error(ExpectationFailed):
    """Too few rows had the expected column as their most similar one."""


class OrderError(ExpectationFailed):
    """A row's columns were not in the expected order of similarity."""


class AucError(ExpectationFailed):
    """The within- vs between-group ROC-AUC was below the threshold."""


@dataclass(frozen=True)
class Pair:
    """One offending pair: ``value`` = similarity of ``row`` and ``col``; ``note`` says why."""

    row: str
    col: str
    value: float
    note: str = ""

    def __str__(self) -> str:
        return f"{self.row!r} x {self.col!r} = {self.value:.4f}" + (f"  {self.note}" if self.note else "")


@dataclass(frozen=True)
class Check:
    """The outcome of one expectation (``passed``) with everything a report needs."""

    kind: str
    description: str
    passed: bool
    statistic: float
    threshold: float
    n: int
    pairs: tuple[Pair, ...] = ()
    error: type[ExpectationFailed] = field(default=ExpectationFailed, repr=False, compare=False)
    #: What :attr:`n` counts: ``pairs`` of cells, or ``rows`` (top-1), or anything a custom check scores.
    unit: str = "pairs"

    @property
    def summary(self) -> str:
        """One line: description, statistic vs threshold and how many pairs (or rows) it covers."""
        verdict = "holds" if self.passed else "FAILED"
        return (f"{self.description}: {verdict} ({self.kind} {self.statistic:.4f}, "
                f"threshold {self.threshold:.4f}, {self.n} {self.unit})")

    @property
    def message(self) -> str:
        """The summary plus the offending pairs (at most :data:`MAX_LISTED`)."""
        lines = [self.summary]
        if self.pairs:
            lines.append("offending pairs:")
            lines += [f"  {pair}" for pair in self.pairs[:MAX_LISTED]]
            if len(self.pairs) > MAX_LISTED:
                lines.append(f"  ... and {len(self.pairs) - MAX_LISTED} more")
        return "\n".join(lines)

    def raise_if_failed(self) -> Check:
        """Raise :attr:`error` when the check failed; return ``self`` otherwise."""
        if not self.passed:
            raise self.error(self)
        return self


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
) -> Check:
    """Same-group pairs are more similar than different-group pairs, by ``margin``.

    ``groups`` gives each row's group (``col_groups`` each column's; the row groups
    when omitted). By default the *mean* same-group similarity must exceed the mean
    different-group similarity by ``margin``; with ``per_row=True`` every row's least
    similar same-group column must beat its most similar different-group column by
    ``margin``. Self-pairs on the diagonal of an all-pairs matrix are left out.
    """
    rows, cols = _groups(matrix, groups, col_groups)
    same, different = group_mask(matrix, rows, cols)
    values = matrix.values.astype(np.float64)
    if per_row:
        same_full, diff_full = _full_masks(matrix, rows, cols)
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
        statistic = float(min(gaps))
        description = f"every row's same-group columns beat its different-group columns by {margin:g}"
        return Check("smallest per-row gap", description, not pairs, statistic, margin,
                     int(same.sum() + different.sum()), tuple(sorted(pairs, key=lambda p: p.value, reverse=True)),
                     GroupSeparationError)
    within, between = values[same], values[different]
    if within.size == 0 or between.size == 0:
        raise InputError(f"need same-group and different-group pairs; got {within.size} and {between.size} "
                         "- check the groups")
    statistic = float(within.mean() - between.mean())
    passed = statistic >= margin
    pairs = [] if passed else _crossing_pairs(matrix, same, different, within.mean() - margin,
                                              between.mean() + margin)
    description = (f"same group more similar than different groups by {margin:g} "
                   f"(means {within.mean():.4f} vs {between.mean():.4f})")
    return Check("mean margin", description, passed, statistic, margin, int(within.size + between.size),
                 tuple(pairs), GroupSeparationError)


def _full_masks(matrix: SimilarityMatrix, rows: Sequence[str], cols: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    same = np.asarray(rows, dtype=object)[:, None] == np.asarray(cols, dtype=object)[None, :]
    valid = np.ones(matrix.shape, dtype=bool)
    if matrix.all_pairs:
        np.fill_diagonal(valid, False)
    return same & valid, ~same & valid


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


def check_top1(matrix: SimilarityMatrix, expected: Expected, *, at_least: float = 1.0) -> Check:
    """Each row's most similar column is an expected one, for at least ``at_least`` of the rows.

    ``expected`` gives per row the expected column label (or a set of acceptable
    labels, or ``None`` to leave the row out), as a sequence aligned with the rows
    or a mapping from row label. For all-pairs matrices the row itself is excluded.
    """
    sets = _expected_sets(matrix, expected)
    values = matrix._off_diagonal(-np.inf)
    top = matrix.top1()
    pairs: list[Pair] = []
    scored = 0
    hits = 0
    for i, wanted in enumerate(sets):
        if wanted is None:
            continue
        scored += 1
        if top[i] in wanted:
            hits += 1
            continue
        best_wanted = max(wanted, key=lambda c: values[i, matrix.col_labels.index(c)])
        wanted_value = values[i, matrix.col_labels.index(best_wanted)]
        got_value = values[i, matrix.col_labels.index(top[i])]
        pairs.append(Pair(matrix.row_labels[i], top[i], float(got_value),
                          f"top-1 instead of {best_wanted!r} = {wanted_value:.4f} (short by {got_value - wanted_value:.4f})"))
    if not scored:
        raise InputError("no row has an expected top-1 label")
    share = hits / scored
    description = f"top-1 column is the expected one for at least {at_least:.0%} of rows ({hits}/{scored})"
    return Check("top-1 share", description, share >= at_least, share, at_least, scored, tuple(pairs), Top1Error, "rows")


def check_order(matrix: SimilarityMatrix, row: str, order: Sequence[str], *, margin: float = 0.0) -> Check:
    """Row ``row`` is more similar to ``order[0]`` than to ``order[1]`` (by ``margin``), and so on."""
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
    return Check("smallest gap", description, not pairs, float(min(gaps)), margin, len(gaps), pairs, OrderError)


def check_auc(matrix: SimilarityMatrix, groups: Sequence[str], col_groups: Sequence[str] | None = None,
              *, at_least: float) -> Check:
    """The ROC-AUC of same-group against different-group similarities is at least ``at_least``.

    AUC = probability that a random same-group pair scores above a random
    different-group pair (ties count half): 1.0 separates perfectly, 0.5 is chance.
    """
    rows, cols = _groups(matrix, groups, col_groups)
    same, different = group_mask(matrix, rows, cols)
    within, between = matrix.values[same], matrix.values[different]
    if within.size == 0 or between.size == 0:
        raise InputError(f"need same-group and different-group pairs; got {within.size} and {between.size}")
    auc = roc_auc(within, between)
    pairs = () if auc >= at_least else tuple(_crossing_pairs(matrix, same, different, float(np.median(within)),
                                                             float(np.median(between)), "median"))
    description = f"same-group vs different-group ROC-AUC at least {at_least:g}"
    return Check("AUC", description, auc >= at_least, auc, at_least, int(within.size + between.size), pairs, AucError)


def expect_groups(matrix: SimilarityMatrix, groups: Sequence[str], col_groups: Sequence[str] | None = None,
                  *, margin: float = 0.0, per_row: bool = False) -> Check:
    """Raise :class:`GroupSeparationError` unless :func:`check_groups` holds."""
    return check_groups(matrix, groups, col_groups, margin=margin, per_row=per_row).raise_if_failed()


def expect_top1(matrix: SimilarityMatrix, expected: Expected, *, at_least: float = 1.0) -> Check:
    """Raise :class:`Top1Error` unless :func:`check_top1` holds."""
    return check_top1(matrix, expected, at_least=at_least).raise_if_failed()


def expect_order(matrix: SimilarityMatrix, row: str, order: Sequence[str], *, margin: float = 0.0) -> Check:
    """Raise :class:`OrderError` unless :func:`check_order` holds."""
    return check_order(matrix, row, order, margin=margin).raise_if_failed()


def expect_auc(matrix: SimilarityMatrix, groups: Sequence[str], col_groups: Sequence[str] | None = None,
               *, at_least: float) -> Check:
    """Raise :class:`AucError` unless :func:`check_auc` holds."""
    return check_auc(matrix, groups, col_groups, at_least=at_least).raise_if_failed()
