"""Expectations over similarity matrices: statistics, thresholds and failure messages."""

from __future__ import annotations

import numpy as np
import pytest

from embedsim.errors import InputError
from embedsim.expect import (
    AucError,
    ExpectationFailed,
    GroupSeparationError,
    OrderError,
    Top1Error,
    check_groups,
    expect_auc,
    expect_groups,
    expect_order,
    expect_top1,
)
from embedsim.matrix import SimilarityMatrix

LABELS = ("a1", "a2", "b1", "b2")
GROUPS = ["a", "a", "b", "b"]


def all_pairs(values: list[list[float]]) -> SimilarityMatrix:
    return SimilarityMatrix(np.asarray(values), LABELS, LABELS, all_pairs=True)


GOOD = all_pairs([[1, 0.9, 0.2, 0.1], [0.9, 1, 0.3, 0.2], [0.2, 0.3, 1, 0.8], [0.1, 0.2, 0.8, 1]])
# b1 looks more like a1 than like b2
BAD = all_pairs([[1, 0.5, 0.7, 0.1], [0.5, 1, 0.3, 0.2], [0.7, 0.3, 1, 0.4], [0.1, 0.2, 0.4, 1]])
WORDS = SimilarityMatrix(np.asarray([[0.30, 0.20, 0.10], [0.10, 0.25, 0.20], [0.30, 0.10, 0.05]]),
                         ("happy.jpg", "sad.jpg", "angry.jpg"), ("Happy", "Sad", "Angry"))


def test_every_failure_is_an_assertion_error() -> None:
    for cls in (GroupSeparationError, Top1Error, OrderError, AucError):
        assert issubclass(cls, ExpectationFailed) and issubclass(cls, AssertionError)


def test_groups_pass_with_statistic_and_pairs() -> None:
    check = expect_groups(GOOD, GROUPS, margin=0.5)
    assert check.passed and check.statistic == pytest.approx(0.85 - 0.2)
    assert check.n == 6  # unordered pairs without the diagonal


def test_groups_failure_lists_offending_pairs_with_values() -> None:
    with pytest.raises(GroupSeparationError) as info:
        expect_groups(BAD, GROUPS, margin=0.2)
    message = str(info.value)
    assert "mean margin 0.1250, threshold 0.2000, 6 pairs" in message
    assert "'a1' x 'b1' = 0.7000  different groups, above the same-group mean" in message
    assert info.value.check.statistic == pytest.approx((0.5 + 0.4) / 2 - (0.7 + 0.1 + 0.3 + 0.2) / 4)


def test_groups_per_row_names_the_row_and_the_gap() -> None:
    assert check_groups(GOOD, GROUPS, per_row=True, margin=0.4).passed
    with pytest.raises(GroupSeparationError) as info:
        expect_groups(BAD, GROUPS, per_row=True)
    message = str(info.value)
    assert "'a1' x 'b1' = 0.7000" in message and "(gap -0.2000)" in message
    assert "'b1' x 'a1' = 0.7000" in message


def test_groups_need_both_kinds_of_pairs() -> None:
    with pytest.raises(InputError, match="same-group and different-group"):
        check_groups(GOOD, ["a"] * 4)


def test_top1_share_and_misses() -> None:
    assert expect_top1(WORDS, ["Happy", "Sad", "Angry"], at_least=0.6).statistic == pytest.approx(2 / 3)
    with pytest.raises(Top1Error) as info:
        expect_top1(WORDS, {"happy.jpg": "Happy", "sad.jpg": "Sad", "angry.jpg": "Angry"})
    message = str(info.value)
    assert "(2/3)" in message and "top-1 share 0.6667, threshold 1.0000, 3 rows" in message
    assert "'angry.jpg' x 'Happy' = 0.3000  top-1 instead of 'Angry' = 0.0500 (short by 0.2500)" in message


def test_top1_accepts_sets_and_skips_none() -> None:
    assert expect_top1(WORDS, [{"Happy", "Sad"}, "Sad", None]).statistic == 1.0
    with pytest.raises(InputError, match="not columns"):
        expect_top1(WORDS, ["Joy", "Sad", "Angry"])


def test_top1_excludes_self_on_all_pairs() -> None:
    assert expect_top1(GOOD, ["a2", "a1", "b2", "b1"]).passed


def test_order_reports_the_broken_step() -> None:
    assert expect_order(WORDS, "happy.jpg", ["Happy", "Sad", "Angry"], margin=0.05).passed
    with pytest.raises(OrderError) as info:
        expect_order(WORDS, "sad.jpg", ["Sad", "Happy", "Angry"])
    assert "'sad.jpg' x 'Angry' = 0.2000  not below 'Happy' = 0.1000" in str(info.value)
    with pytest.raises(InputError, match="no row"):
        expect_order(WORDS, "joy.jpg", ["Sad", "Happy"])


def test_auc_threshold() -> None:
    assert expect_auc(GOOD, GROUPS, at_least=1.0).statistic == 1.0
    with pytest.raises(AucError) as info:
        expect_auc(BAD, GROUPS, at_least=0.9)
    assert "AUC 0.7500, threshold 0.9000, 6 pairs" in str(info.value)
