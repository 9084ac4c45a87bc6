"""What changed from one model to another, test by test: the ``comparisons`` of a report.

For a pair ``(old, new)`` every test both models ran is compared: expectations whose
outcome flipped (holds / fails / inconclusive), each statistic old -> new with its
difference, and per matrix with the same labels the difference matrix (new minus old),
Spearman's rank agreement over the pairs, the rows whose most similar column changed and
the largest moves: :class:`~embedsim.report.schema.Comparison`, as ``report.json`` carries it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from embedsim.matrix import SimilarityMatrix
from embedsim.report.entries import Tests
from embedsim.report.records import CheckRecord, Fragment, MatrixRecord
from embedsim.report.schema import (
    CellMove,
    CheckChange,
    CheckSide,
    Comparison,
    FlippedCheck,
    MatrixChange,
    SectionComparison,
    SectionStatisticChange,
    StatisticChange,
    Top1Change,
)
from embedsim.stats import average_ranks

#: An expectation's outcome -> whether it held; a flip is a change of this state.
STATES = {"passed": "holds", "xpassed": "holds", "failed": "fails", "xfailed": "fails",
          "inconclusive": "inconclusive"}
#: Group statistics compared per matrix and label key.
GROUP_STATISTICS = ("margin", "auc", "within_mean", "between_mean")
#: How many of the largest moves (cells) and statistic changes are listed.
LARGEST = 5


def default_pairs(models: Sequence[str]) -> list[tuple[str, str]]:
    """Each model against the one before it."""
    return list(itertools.pairwise(models))


def matrix_of(record: MatrixRecord) -> SimilarityMatrix:
    return SimilarityMatrix(record.values, tuple(record.row_labels), tuple(record.col_labels), record.all_pairs,
                            self_pairs=tuple((int(i), int(j)) for i, j in record.self_pairs))


def _ran(entry: Fragment | None) -> bool:
    return entry is not None and bool(entry.matrices or entry.checks)


def compare_models(old: str, new: str, tests: Tests) -> Comparison:
    """The comparison of ``new`` against ``old`` over the tests both ran (others are listed
    in ``not_compared``)."""
    sections, skipped = [], []
    for (module, test), per_model in tests:
        a, b = per_model.get(old), per_model.get(new)
        if a is not None and b is not None and _ran(a) and _ran(b):
            sections.append(compare_entries(a, b))
        elif a is not None or b is not None:
            skipped.append((module, test))
    flipped = [FlippedCheck(**vars(c), module=s.module, test=s.test) for s in sections for c in s.checks if c.flipped]
    changes = [SectionStatisticChange(**vars(c), module=s.module, test=s.test) for s in sections for c in s.statistics]
    changes.sort(key=lambda c: -abs(c.difference))
    rhos = [m.spearman for s in sections for m in s.matrices if m.spearman is not None]
    return Comparison(old, new, len(sections), skipped, flipped, changes[:LARGEST],
                      float(np.median(rhos)) if rhos else None, sections)


def compare_entries(a: Fragment, b: Fragment) -> SectionComparison:
    """One test's old and new entry: outcomes, expectations, statistics, matrices."""
    old_checks = {(c.matrix, c.name): c for c in a.checks}
    checks = [_check_change(old_checks.pop((c.matrix, c.name), None), c) for c in b.checks]
    checks += [_check_change(c, None) for c in old_checks.values()]
    old_matrices = {m.name: m for m in a.matrices}
    matrices, statistics = [], []
    for record in b.matrices:
        before = old_matrices.get(record.name)
        if before is None:
            continue
        matrices.append(matrix_change(before, record))
        for key, new_stats in record.stats.items():
            if (old_stats := before.stats.get(key)) is not None:
                statistics += [StatisticChange(f"{record.name} by {key}: {name}", getattr(old_stats, name),
                                               getattr(new_stats, name), getattr(new_stats, name) - getattr(old_stats, name))
                               for name in GROUP_STATISTICS]
    statistics += [StatisticChange(f"{c.name}: {c.kind}", c.old.statistic, c.new.statistic,
                                   c.new.statistic - c.old.statistic) for c in checks if c.old and c.new]
    return SectionComparison(b.module, b.test, a.outcome, b.outcome, checks, statistics, matrices)


def _side(check: CheckRecord | None) -> CheckSide | None:
    if check is None:
        return None
    return CheckSide(check.outcome, check.statistic, check.threshold, check.n, check.ci_low, check.ci_high,
                     check.confidence)


def _check_change(old: CheckRecord | None, new: CheckRecord | None) -> CheckChange:
    some = new or old
    assert some is not None
    flipped = bool(old and new and STATES.get(old.outcome) != STATES.get(new.outcome))
    difference = new.statistic - old.statistic if old and new else None
    return CheckChange(some.name, some.matrix, some.kind, some.unit, _side(old), _side(new), difference, flipped)


def _pairs(matrix: SimilarityMatrix) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the matrix's pairs: above the diagonal of an all-pairs one,
    never an item with itself."""
    valid = ~matrix.excluded
    if matrix.all_pairs:
        valid = np.triu(valid, k=1)
    rows, cols = np.nonzero(valid)
    return rows, cols


def spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman's rank correlation (ties share ranks); None with fewer than 2 pairs or a constant side."""
    if x.size < 2:
        return None
    rx, ry = average_ranks(x), average_ranks(y)
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])


def largest(values: np.ndarray, most: int) -> np.ndarray:
    """The indices of the ``most`` largest ``values``, largest first, ties in index order (what a
    stable sort of all of them gives), found without sorting them all."""
    if values.size > most:
        cut = np.partition(values, values.size - most)[values.size - most]
        candidates = np.flatnonzero(values >= cut)
    else:
        candidates = np.arange(values.size)
    return candidates[np.argsort(-values[candidates], kind="stable")][:most]


def matrix_change(old: MatrixRecord, new: MatrixRecord) -> MatrixChange:
    """One matrix's difference (new minus old) when both have the same labels, else why not."""
    if (old.row_labels, old.col_labels, old.all_pairs) != (new.row_labels, new.col_labels, new.all_pairs):
        return MatrixChange(new.name, "the two models' matrices have different rows or columns")
    a, b = matrix_of(old), matrix_of(new)
    difference = b.values - a.values
    rows, cols = _pairs(b)
    moved = difference[rows, cols]
    if moved.size == 0 or not np.all(np.isfinite(moved)):
        return MatrixChange(new.name, "no finite pairs to compare")
    order = largest(np.abs(moved), LARGEST)
    top1 = [Top1Change(label, x, y)
            for label, x, y in zip(b.row_labels, a.top1(), b.top1(), strict=True) if x != y] if b.shape[1] > 1 else []
    return MatrixChange(
        new.name, row_labels=list(new.row_labels), col_labels=list(new.col_labels), all_pairs=new.all_pairs,
        difference=difference, spearman=spearman(a.values[rows, cols], b.values[rows, cols]),
        n_pairs=int(moved.size), mean_abs=float(np.abs(moved).mean()), max_abs=float(np.abs(moved).max()),
        top1_changed=top1, rows=len(b.row_labels),
        largest_moves=[CellMove(b.row_labels[rows[k]], b.col_labels[cols[k]], float(a.values[rows[k], cols[k]]),
                                float(b.values[rows[k], cols[k]]), float(moved[k])) for k in order])
