"""Cosine similarity matrices with labels, and the same / different group masks over them (the group
statistics are :func:`embedsim.expect.groups.group_stats`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from embedsim.backends import check_items
from embedsim.backends.base import Embedder
from embedsim.backends.vectors import distinct, unit_rows
from embedsim.errors import InputError
from embedsim.inputs.items import Item
from embedsim.stats import large


@dataclass(frozen=True)
class SimilarityMatrix:
    """``values[i, j]`` = cosine similarity of row ``i`` and column ``j``.

    ``all_pairs`` is True when rows and columns are the same items (the diagonal is
    self-similarity). ``self_pairs`` lists the other cells ``(i, j)`` where row ``i`` and
    column ``j`` are one item (an item on both sides of a rows x cols matrix). An item
    paired with itself is never evidence: :attr:`excluded` cells are left out of every
    expectation and statistic.
    """

    values: np.ndarray
    row_labels: tuple[str, ...]
    col_labels: tuple[str, ...]
    all_pairs: bool = False
    model_id: str = ""
    self_pairs: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        if self.values.shape != (len(self.row_labels), len(self.col_labels)):
            raise InputError(
                f"matrix of shape {self.values.shape} does not fit "
                f"{len(self.row_labels)} row and {len(self.col_labels)} column labels"
            )
        n_rows, n_cols = self.values.shape
        if any(not (0 <= i < n_rows and 0 <= j < n_cols) for i, j in self.self_pairs):
            raise InputError(f"self_pairs {list(self.self_pairs)} are not cells of a {n_rows} x {n_cols} matrix")

    @property
    def excluded(self) -> np.ndarray:
        """Boolean mask of the cells that pair an item with itself: the diagonal of an all-pairs
        matrix and the :attr:`self_pairs`."""
        mask = np.eye(*self.values.shape, dtype=np.bool_) if self.all_pairs else np.zeros(self.values.shape, dtype=bool)
        for i, j in self.self_pairs:
            mask[i, j] = True
        return mask

    def excluded_per_row(self) -> np.ndarray:
        """How many cells of each row :attr:`excluded` holds (without building the mask)."""
        n_rows, n_cols = self.values.shape
        count = np.zeros(n_rows, dtype=np.int64)
        cells = set(self.self_pairs)
        if self.all_pairs:
            count[: min(n_rows, n_cols)] += 1
            cells = {(i, j) for i, j in cells if i != j}
        np.add.at(count, np.array([i for i, _j in cells], dtype=np.intp), 1)
        return count

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape

    def value(self, row: str, col: str) -> float:
        """The similarity of the row and column with these labels."""
        return float(self.values[self.row_labels.index(row), self.col_labels.index(col)])

    def top1(self) -> list[str]:
        """For each row, the label of its most similar column (never the row's own item)."""
        values = self._off_diagonal(-np.inf)
        return [self.col_labels[j] for j in np.argmax(values, axis=1)]

    def _off_diagonal(self, fill: float) -> np.ndarray:
        values = self.values.astype(np.float64, copy=True)
        if self.all_pairs:
            np.fill_diagonal(values, fill)
        for i, j in self.self_pairs:
            values[i, j] = fill
        return values

    def to_csv(self) -> str:
        """The matrix as CSV text with a header row and a label column."""
        lines = [",".join(["", *map(_csv_field, self.col_labels)])]
        for label, row in zip(self.row_labels, self.values, strict=True):
            lines.append(",".join([_csv_field(label), *(f"{v:.6f}" for v in row)]))
        return "\n".join(lines) + "\n"


def _csv_field(text: str) -> str:
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\r\n') else text


def cosine_matrix(
    rows: np.ndarray,
    row_labels: Sequence[str],
    cols: np.ndarray | None = None,
    col_labels: Sequence[str] | None = None,
    model_id: str = "",
) -> SimilarityMatrix:
    """Cosine similarity of ``rows`` against ``cols`` (all pairs of ``rows`` if omitted),
    as one normalised matrix product."""
    a = unit_rows(rows, [repr(label) for label in row_labels])
    if cols is None:
        return SimilarityMatrix(a @ a.T, tuple(row_labels), tuple(row_labels), True, model_id)
    b = unit_rows(cols, [repr(label) for label in col_labels or ()])
    return SimilarityMatrix(a @ b.T, tuple(row_labels), tuple(col_labels or ()), False, model_id)


def similarity(
    embedder: Embedder, rows: Sequence[Item], cols: Sequence[Item] | None = None
) -> SimilarityMatrix:
    """Embed ``rows`` (and ``cols``) in one backend call and return their similarity matrix
    (any iterables of items: each is read once).

    Columns that are the rows (equal items in the same order) give the all-pairs matrix; an
    item among both the rows and the columns has its cell marked as a self-pair
    (:attr:`SimilarityMatrix.self_pairs`), left out of every statistic."""
    rows, cols = list(rows), None if cols is None else list(cols)
    if cols is not None and cols == rows:
        cols = None
    unique, index = distinct([*rows, *(cols or ())])
    check_items(embedder.model_id, unique)
    vectors = embedder.embed(unique)
    picked = np.asarray(vectors)[np.asarray(index, dtype=np.intp)]
    row_labels = [i.id for i in rows]
    if cols is None:
        return cosine_matrix(picked[: len(rows)], row_labels, model_id=embedder.model_id)
    matrix = cosine_matrix(picked[: len(rows)], row_labels, picked[len(rows):], [i.id for i in cols],
                           embedder.model_id)
    return replace(matrix, self_pairs=self_pairs(rows, cols))


def self_pairs(rows: Sequence[Item], cols: Sequence[Item]) -> tuple[tuple[int, int], ...]:
    """The cells ``(i, j)`` where row ``i`` and column ``j`` are one item (equal items)."""
    at: dict[Item, list[int]] = {}
    for i, item in enumerate(rows):
        at.setdefault(item, []).append(i)
    return tuple(sorted((i, j) for j, item in enumerate(cols) for i in at.get(item, ())))


def group_mask(matrix: SimilarityMatrix, row_groups: Sequence[str], col_groups: Sequence[str] | None = None,
               *, unordered: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks ``(same_group, different_group)`` over the matrix cells.

    Self-pairs (:attr:`SimilarityMatrix.excluded`: an item with itself) are in neither. ``unordered=True``
    counts each unordered pair of an all-pairs matrix once (upper triangle); ``False``
    keeps both triangles (per-row statistics)."""
    col_groups = row_groups if col_groups is None else col_groups
    if len(row_groups) != matrix.shape[0] or len(col_groups) != matrix.shape[1]:
        raise InputError(
            f"{len(row_groups)} row groups and {len(col_groups)} column groups "
            f"do not fit a {matrix.shape[0]} x {matrix.shape[1]} matrix"
        )
    same = np.asarray(row_groups, dtype=object)[:, None] == np.asarray(col_groups, dtype=object)[None, :]
    valid = ~matrix.excluded
    if matrix.all_pairs and unordered:
        valid = np.triu(valid, k=1)
    return same & valid, ~same & valid


def is_large(matrix: SimilarityMatrix) -> bool:
    """More scored cells than :data:`embedsim.stats.large.LARGE_CELLS`: group statistics in blocks."""
    return large.scored_cells(matrix.shape, matrix.all_pairs) > large.LARGE_CELLS


def group_cells(matrix: SimilarityMatrix, row_groups: Sequence[str], col_groups: Sequence[str]) -> large.GroupCells:
    """The :class:`~embedsim.stats.large.GroupCells` of a large matrix under this grouping
    (checked: same-group and different-group pairs both present)."""
    cells = large.group_cells(matrix, matrix.values, row_groups, col_groups, matrix.all_pairs, matrix.self_pairs)
    _w, _b, n_within, n_between = cells.means()
    if n_within == 0 or n_between == 0:
        raise InputError(
            "group statistics need at least one same-group and one different-group pair; "
            f"got {n_within} and {n_between} - check the group labels"
        )
    return cells
