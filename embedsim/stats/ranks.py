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
    """1-based ranks of ``scores`` (a 1-d array); tied scores share their mean rank."""
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(scores.size, dtype=np.float64)
    ranks[order] = np.arange(1, scores.size + 1)
    unique, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    if unique.size != scores.size:
        ranks = (np.bincount(inverse, weights=ranks) / counts)[inverse]
    return ranks
