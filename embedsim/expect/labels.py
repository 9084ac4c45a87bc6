"""Groups by the items' labels: a label key (``"person"``: each item's ``labels["person"]``)
or an explicit sequence of group names, turned into the per-row and per-column group names
(and the expected top-1 columns) the checks of :mod:`embedsim.expect` take."""

from __future__ import annotations

from collections.abc import Sequence

from embedsim.errors import InputError
from embedsim.inputs.items import Item
from embedsim.matrix import SimilarityMatrix

#: A group specification: a label key of the items (``"person"``) or one group per row.
Groups = str | Sequence[str]


def resolve(spec: Groups, items: Sequence[Item] | None, axis: str, size: int) -> list[str]:
    """One group name per ``axis`` entry (``size`` of them); a string is a label key of ``items``."""
    if not isinstance(spec, str):
        if len(spec) != size:
            raise InputError(f"{len(spec)} {axis} groups for {size} {axis}s")
        return [str(g) for g in spec]
    if items is None:
        raise InputError(f"groups by label key {spec!r} need the items: use experiment.similarity(...) "
                         "or add_matrix(..., rows=, cols=)")
    missing = [i.id for i in items if spec not in i.labels]
    if missing:
        raise InputError(f"items {missing[:5]} have no label {spec!r}; give explicit groups")
    return [str(i.labels[spec]) for i in items]


def row_and_column_groups(matrix: SimilarityMatrix, groups: Groups, col_groups: Groups | None,
                          rows: Sequence[Item] | None, cols: Sequence[Item] | None) -> tuple[list[str], list[str]]:
    """The groups of ``matrix``'s rows and columns (the row groups for the columns when the
    columns are the rows)."""
    row_groups = resolve(groups, rows, "row", matrix.shape[0])
    column_spec = groups if col_groups is None else col_groups
    if isinstance(column_spec, str) or col_groups is not None:
        return row_groups, resolve(column_spec, cols, "column", matrix.shape[1])
    if matrix.shape[0] != matrix.shape[1]:
        raise InputError("this matrix has different rows and columns: give col_groups too")
    return row_groups, row_groups


def expected_columns(matrix: SimilarityMatrix, rows: Sequence[str], cols: Sequence[str]) -> list[frozenset[str] | None]:
    """Per row, the columns of its own group (never the row's own item), or None.

    One set per group, shared by its rows; a row with an excluded cell in its group (its own
    item) gets that set less the labels only that cell has: no (rows x columns) loop."""
    members: dict[str, dict[str, int]] = {}  # group -> column label -> how many columns
    for label, group in zip(matrix.col_labels, cols, strict=True):
        counts = members.setdefault(group, {})
        counts[label] = counts.get(label, 0) + 1
    base = {group: frozenset(counts) for group, counts in members.items()}
    excluded: dict[int, list[int]] = {}
    if matrix.all_pairs:
        for i in range(min(matrix.shape)):
            excluded.setdefault(i, []).append(i)
    for i, j in matrix.self_pairs:
        if not (matrix.all_pairs and i == j):
            excluded.setdefault(i, []).append(j)
    out: list[frozenset[str] | None] = []
    for i, group in enumerate(rows):
        wanted = base.get(group, frozenset())
        left_out: dict[str, int] = {}
        for j in excluded.get(i, ()):
            if cols[j] == group:
                left_out[matrix.col_labels[j]] = left_out.get(matrix.col_labels[j], 0) + 1
        gone = {label for label, n in left_out.items() if n >= members[group][label]}
        wanted = wanted - gone if gone else wanted
        out.append(wanted or None)
    return out
