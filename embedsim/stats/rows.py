"""Statistics over rows (one value per item): mean, balanced accuracy, one class against the rest."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from embedsim.stats.bootstrap import Statistic, dot


def weighted_mean(values: Sequence[float] | np.ndarray) -> Statistic:
    """Mean of one value per item (a top-1 hit as 0/1, a label margin, a gain)."""
    x = np.asarray(values, dtype=np.float64)

    def statistic(w: np.ndarray) -> np.ndarray:
        return dot(w, x) / w.sum(axis=1)

    return statistic


def balanced_accuracy(hits: Sequence[bool] | np.ndarray, classes: Sequence[object]) -> Statistic:
    """Mean over the classes present of the share of their items that are hits (mean recall)."""
    _, onehot = one_hot(classes)
    h = np.asarray(hits, dtype=np.float64)

    def statistic(w: np.ndarray) -> np.ndarray:
        counts = dot(w, onehot)
        right = dot(w * h, onehot)
        present = counts > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            recall = np.where(present, right / np.where(present, counts, 1), 0.0)
        return recall.sum(axis=1) / present.sum(axis=1)

    return statistic


def one_vs_rest(positive: Sequence[bool] | np.ndarray, predicted: Sequence[bool] | np.ndarray) -> Statistic:
    """Balanced accuracy of one class against the rest: (recall + specificity) / 2.

    A constant answer (always or never the class) and a guess independent of the items
    both score 0.5. Undefined (NaN) in a resample without positives or without negatives."""
    pos = np.asarray(positive, dtype=np.float64)
    neg = 1.0 - pos
    pred = np.asarray(predicted, dtype=np.float64)

    def statistic(w: np.ndarray) -> np.ndarray:
        n_pos, n_neg = dot(w, pos), dot(w, neg)
        with np.errstate(invalid="ignore", divide="ignore"):
            recall = dot(w, pos * pred) / n_pos
            specificity = dot(w, neg * (1 - pred)) / n_neg
        return np.where((n_pos > 0) & (n_neg > 0), (recall + specificity) / 2, np.nan)

    return statistic


def one_hot(labels: Sequence[object]) -> tuple[np.ndarray, np.ndarray]:
    """Each label's code (in order of first appearance) and the ``(n, classes)`` one-hot matrix."""
    names = list(dict.fromkeys(labels))
    codes = np.asarray([names.index(x) for x in labels], dtype=np.int64)
    onehot = np.zeros((len(labels), len(names)))
    onehot[np.arange(len(labels)), codes] = 1.0
    return codes, onehot
