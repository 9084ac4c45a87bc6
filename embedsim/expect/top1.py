"""Top-1 expectations: each row's most similar column is an expected one (share or balanced
accuracy), or one column on top for its rows only (:func:`check_class`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np

from embedsim import stats
from embedsim.errors import InputError
from embedsim.expect.check import Check, ClassError, Pair, Top1Error, check_statistic
from embedsim.matrix import SimilarityMatrix

#: Per row: an expected column label, a set of acceptable ones or None (row left out); or a mapping from row label.
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
    columns = frozenset(matrix.col_labels)
    for value in raw:
        if value is None:
            sets.append(None)
            continue
        labels = frozenset([value] if isinstance(value, str) else value)
        missing = labels - columns
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
        n_rows, n_cols = matrix.shape
        #: Each column label's first column (what ``col_labels.index`` finds).
        self.first: dict[str, int] = {}
        for j, label in enumerate(matrix.col_labels):
            self.first.setdefault(label, j)
        best = self.values.max(axis=1)
        top_j = np.argmax(self.values, axis=1)
        self.top = [matrix.col_labels[j] for j in top_j]
        n_best = (self.values == best[:, None]).sum(axis=1)
        self.rows = [i for i, wanted in enumerate(sets) if wanted is not None]
        if not self.rows:
            raise InputError("no row has an expected top-1 label")
        self.sets = [sets[i] or frozenset() for i in self.rows]
        # per row, every column at its highest similarity: a hit needs all of them expected (a tie is no answer)
        self.tops = [frozenset((matrix.col_labels[top_j[i]],)) if n_best[i] == 1 else
                     frozenset(matrix.col_labels[j] for j in np.flatnonzero(self.values[i] == best[i]))
                     for i in range(n_rows)]
        self.hits = np.array([self.tops[i] <= wanted for i, wanted in zip(self.rows, self.sets)])
        # member[k, c]: label code c is in scored row k's expected set (labels coded once: no (rows, rows) loop)
        code = {label: c for c, label in enumerate(self.first)}
        member = np.zeros((len(self.rows), len(code)), dtype=bool)
        for k, wanted in enumerate(self.sets):
            member[k, np.fromiter((code[c] for c in wanted), dtype=np.intp, count=len(wanted))] = True
        # shuffled[i, k]: would row i's answer be right with row k's expected labels
        tops = [self.tops[i] for i in self.rows]
        single = np.array([len(t) == 1 for t in tops])
        top_codes = np.array([code[next(iter(t))] if len(t) == 1 else 0 for t in tops], dtype=np.intp)
        self.shuffled = member[:, top_codes].T.copy()
        for r in np.flatnonzero(~single):
            self.shuffled[r] = member[:, [code[c] for c in tops[r]]].all(axis=1)
        self.classes = [str(classes[i]) if classes is not None else " / ".join(sorted(wanted))
                        for i, wanted in zip(self.rows, self.sets)]
        candidates = n_cols - matrix.excluded_per_row()  # never the row's own item
        self.guess = np.array([len(wanted) / candidates[i] for i, wanted in zip(self.rows, self.sets)])  # P(hit)
        # hit[r, c]: would the constant answer "column c" be right for scored row r
        self.constant = member[:, np.fromiter((code[c] for c in matrix.col_labels), dtype=np.intp, count=n_cols)]

    def per_class(self, per_row: np.ndarray) -> np.ndarray:
        """Mean over classes of the mean over their rows (``per_row``: rows x anything)."""
        names = list(dict.fromkeys(self.classes))
        return np.mean([per_row[[k for k, c in enumerate(self.classes) if c == name]].mean(axis=0)
                        for name in names], axis=0)


def check_top1(matrix: SimilarityMatrix, expected: Expected, *, at_least: float, measure: str = "share",
               classes: Sequence[str] | None = None, confidence: float | None = None) -> Check:
    """Each row's most similar column is an expected one, for at least ``at_least`` of the rows.

    ``expected`` gives per row the expected column label (or a set of acceptable
    labels, or ``None`` to leave the row out), as a sequence aligned with the rows
    or a mapping from row label. A row's own item is never a candidate. A row whose highest
    similarity is shared by an unexpected column is a miss: a tie is no answer.

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
        wanted = list(t.sets[k])
        at = np.fromiter((t.first[c] for c in wanted), dtype=np.intp, count=len(wanted))
        best_wanted = wanted[int(np.argmax(t.values[i, at]))]  # the first of the highest, as max() finds it
        wanted_value = t.values[i, t.first[best_wanted]]
        wrong = min(t.tops[i] - t.sets[k], key=t.first.__getitem__)  # an unexpected column on top
        got_value = t.values[i, t.first[wrong]]
        short = "tied: a tie is no answer" if got_value == wanted_value else f"short by {got_value - wanted_value:.4f}"
        pairs.append(Pair(matrix.row_labels[i], wrong, float(got_value),
                          f"top-1 instead of {best_wanted!r} = {wanted_value:.4f} ({short})"))
    hits, scored = int(t.hits.sum()), len(t.rows)
    point = hits / scored if measure == "share" else stats.point(stats.balanced_accuracy(t.hits, t.classes), scored)
    p_value = stats.label_permutation_p(
        stats.shuffled_hits(t.shuffled, None if measure == "share" else t.classes), scored, point)
    n_classes = len(set(t.classes))
    if measure == "share":
        statistic = stats.weighted_mean(t.hits)
        value: float | None = hits / scored
        kind = "top-1 share"
        chance, constant_answer = float(t.guess.mean()), float(t.constant.mean(axis=0).max())
        description = f"top-1 column is the expected one for at least {at_least:.0%} of rows ({hits}/{scored})"
    else:
        statistic = stats.balanced_accuracy(t.hits, t.classes)
        value = None
        kind = "balanced accuracy"
        chance, constant_answer = float(t.per_class(t.guess)), float(t.per_class(t.constant).max())
        recalls = ", ".join(f"{name} {int(t.hits[[c == name for c in t.classes]].sum())}/"
                            f"{sum(c == name for c in t.classes)}" for name in dict.fromkeys(t.classes))
        description = (f"top-1 column is the expected one, mean recall over {n_classes} classes at least "
                       f"{at_least:.0%} ({recalls}; all rows {hits}/{scored})")
    return check_statistic(kind, description, statistic, scored, at_least=at_least, pairs=pairs, error=Top1Error,
                           unit="rows", chance=chance, constant_answer=constant_answer, p_value=p_value, confidence=confidence,
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
    predicted = np.array([t.tops[i] == {column} for i in t.rows])  # alone on top: a tie is no answer
    if positive.all() or not positive.any():
        raise InputError(f"check_class needs scored rows that expect {column!r} and rows that do not")
    pairs = [Pair(matrix.row_labels[i], t.top[i], float(t.values[i, t.first[t.top[i]]]),
                  f"top-1 instead of {column!r} = {t.values[i, t.first[column]]:.4f}")
             for k, i in enumerate(t.rows) if positive[k] and not predicted[k]]
    pairs += [Pair(matrix.row_labels[i], column, float(t.values[i, t.first[column]]),
                   f"top-1 although the row expects {' / '.join(sorted(t.sets[k]))}")
              for k, i in enumerate(t.rows) if predicted[k] and not positive[k]]
    true_pos = int((positive & predicted).sum())
    description = (f"{column!r} on top for the rows expecting it and not for the others at least {at_least:.0%}: "
                   f"recall {true_pos}/{int(positive.sum())}, precision {true_pos}/{int(predicted.sum())}, "
                   f"specificity {int((~positive & ~predicted).sum())}/{int((~positive).sum())}")
    return check_statistic(f"{column} balanced accuracy", description, stats.one_vs_rest(positive, predicted),
                           len(t.rows), at_least=at_least, pairs=pairs, error=ClassError, unit="rows",
                           chance=0.5, constant_answer=0.5, confidence=confidence,
                           p_value=stats.label_permutation_p(stats.shuffled_one_vs_rest(positive, predicted),
                                                             len(t.rows),
                                                             stats.point(stats.one_vs_rest(positive, predicted),
                                                                         len(t.rows))))
