"""Rank statistics of plain score arrays: ranks with ties averaged, the Mann-Whitney ROC-AUC."""

from __future__ import annotations

import numpy as np

from embedsim.errors import InputError


def roc_auc(positives: np.ndarray, negatives: np.ndarray) -> float:
    """Mann-Whitney ROC-AUC of ``positives`` scoring above ``negatives`` (ties = 0.5)."""
    if positives.size == 0 or negatives.size == 0:
        raise InputError(
            f"ROC-AUC needs at least one positive and one negative score; "
            f"got {positives.size} and {negatives.size}"
        )
    ranks = average_ranks(np.concatenate([positives, negatives]))
    n_pos, n_neg = positives.size, negatives.size
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_ranks(scores: np.ndarray) -> np.ndarray:
    """1-based ranks of ``scores`` (a 1-d array); tied scores (NaNs with each other) share their mean rank.
    One stable sort: a tie group is a run of equal values in sorted order."""
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(scores, kind="stable")
    ordered = scores[order]
    starts = np.ones(scores.size, dtype=bool)
    starts[1:] = (ordered[1:] != ordered[:-1]) & ~(np.isnan(ordered[1:]) & np.isnan(ordered[:-1]))
    ranks = np.empty(scores.size, dtype=np.float64)
    if starts.all():
        ranks[order] = np.arange(1, scores.size + 1)
        return ranks
    first = np.flatnonzero(starts)  # 0-based position of each run's first value
    last = np.append(first[1:], scores.size)  # 1-based rank of each run's last value
    ranks[order] = ((first + 1 + last) / 2)[np.cumsum(starts) - 1]
    return ranks
