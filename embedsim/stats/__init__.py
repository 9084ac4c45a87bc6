"""Uncertainty of expectation statistics: seeded bootstrap over items, permutation tests.

Every statistic is written as a function of **item weights**: ``statistic(w)`` takes a
``(B, n)`` array - how often each of the ``n`` items (rows of a matrix; for an all-pairs
matrix, its items) was drawn in each of ``B`` resamples - and returns ``B`` values. The
point estimate is ``statistic(ones((1, n)))``. A bootstrap draws items with replacement
(never pairs: pairs that share an item are not independent); a pair of items weighs
``w_i * w_j`` (all pairs; two copies of one item never form a pair) or ``w_i`` (rows x
fixed columns, e.g. images x the three emotion words).

Deterministic: the resamples come from numpy's PCG64 with a fixed seed, and the
statistics sum integers (counts, ranks) or float64 values in a fixed order, so the same
seed gives the same interval on any machine.
"""

from embedsim.stats import large
from embedsim.stats.bootstrap import (
    BLOCK,
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    Interval,
    Statistic,
    bootstrap,
    check_confidence,
    interval,
    item_weights,
    point,
)
from embedsim.stats.pairs import Pairs, auc, mean_margin, smallest_row_gap
from embedsim.stats.permutation import label_permutation_p, permutation_p_value, shuffled_hits, shuffled_one_vs_rest
from embedsim.stats.ranks import average_ranks, roc_auc
from embedsim.stats.rows import balanced_accuracy, one_vs_rest, weighted_mean

__all__ = ["BLOCK", "DEFAULT_CONFIDENCE", "DEFAULT_RESAMPLES", "DEFAULT_SEED", "Interval", "Pairs", "Statistic", "auc",
           "average_ranks", "balanced_accuracy", "bootstrap", "check_confidence", "interval", "item_weights",
           "label_permutation_p", "large", "mean_margin", "one_vs_rest", "permutation_p_value", "point", "roc_auc",
           "shuffled_hits", "shuffled_one_vs_rest", "smallest_row_gap", "weighted_mean"]
