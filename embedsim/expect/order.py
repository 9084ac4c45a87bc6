"""Order of one row: its columns in the expected order of similarity."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from embedsim.errors import InputError
from embedsim.expect.check import Check, OrderError, Pair, clears
from embedsim.matrix import SimilarityMatrix


def check_order(matrix: SimilarityMatrix, row: str, order: Sequence[str], *, margin: float = 0.0) -> Check:
    """Row ``row`` is more similar to ``order[0]`` than to ``order[1]`` (by more than ``margin``:
    a tie is not an order), and so on.

    One row: there is nothing to resample, so the check has no interval."""
    if row not in matrix.row_labels:
        raise InputError(f"no row {row!r} in the matrix; rows are {list(matrix.row_labels)}")
    unknown = [c for c in order if c not in matrix.col_labels]
    if unknown or len(order) < 2:
        raise InputError(f"order needs at least two column labels of {list(matrix.col_labels)}; unknown: {unknown}")
    i = matrix.row_labels.index(row)
    own = [c for c in order if matrix.excluded[i, matrix.col_labels.index(c)]]
    if own:
        raise InputError(f"order of row {row!r}: column {own[0]!r} is the row's own item - an item paired with "
                         "itself is no evidence; leave it out of the order")
    values = [matrix.value(row, c) for c in order]
    gaps = [a - b for a, b in itertools.pairwise(values)]
    pairs = tuple(
        Pair(row, order[k + 1], values[k + 1], f"not below {order[k]!r} = {values[k]:.4f} by {margin:g} (gap {gaps[k]:+.4f})")
        for k in range(len(gaps)) if not clears(gaps[k], margin, strict=True)
    )
    description = f"row {row!r} in the order {' > '.join(map(repr, order))}"
    return Check("smallest gap", description, not pairs, float(min(gaps)), margin, len(gaps), pairs, OrderError,
                 n_items=1, strict=True)
