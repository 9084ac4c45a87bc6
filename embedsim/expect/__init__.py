"""Ordering assertions over a :class:`~embedsim.matrix.SimilarityMatrix`.

Each ``check_*`` function returns a :class:`~embedsim.expect.check.Check` (statistic, threshold,
interval, chance levels, offending pairs, message); :meth:`Check.raise_if_failed` raises its
:class:`ExpectationFailed` subclass when it does not hold (the soft ``experiment.expect_*``
record it instead)::

    check_groups(m, persons, margin=0.05)        # same person > different persons
    check_top1(m, ["happy", "sad", ...], at_least=0.6, measure="balanced")
    check_class(m, expected, "Happy", at_least=0.75)  # Happy on top for happy rows only
    check_order(m, "face1", ["Happy", "Sad", "Angry"]).raise_if_failed()
    check_auc(m, persons, at_least=0.9, confidence=0.95)

A failure message states the statistic against its threshold, the number of pairs,
and lists the pairs that broke the expectation with their similarities.

Every check carries a seeded bootstrap interval of its statistic (items resampled - the
rows, or the items of an all-pairs matrix - never pairs; see :mod:`embedsim.stats`), its
``chance`` level (answers that ignore the items) and its ``constant_answer`` level (the
best single constant answer), and for group separation a permutation p-value. With
``confidence=0.95`` the whole interval must clear the threshold; a point estimate that
passes while the interval does not is *inconclusive* (raises :class:`Inconclusive`).

A constant answer - every row closest to the same column - reaches a top-1 *share*
equal to the share of the commonest label; ``measure="balanced"`` (mean recall per
class) and :func:`check_class` (one column's recall and specificity) score it at their
``constant_answer`` level, so a threshold above that level rules it out.
"""

from __future__ import annotations

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

__all__ = ["MAX_LISTED", "AucError", "Check", "ClassError", "ExpectationFailed", "Expected", "GroupSeparationError",
           "Inconclusive", "OrderError", "Pair", "Top1Error", "check_auc", "check_class", "check_groups",
           "check_order", "check_statistic", "check_top1"]
