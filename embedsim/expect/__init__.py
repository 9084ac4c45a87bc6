"""Ordering assertions over a :class:`~embedsim.matrix.SimilarityMatrix`.

Each ``check_*`` function returns a :class:`~embedsim.expect.check.Check` (statistic, threshold,
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

from collections.abc import Sequence

from embedsim.expect.check import (
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
from embedsim.expect.groups import check_auc, check_groups
from embedsim.expect.order import check_order
from embedsim.expect.top1 import Expected, check_class, check_top1
from embedsim.matrix import SimilarityMatrix


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
