"""An experiment's soft snapshots: a matrix's table and heatmap compared with syrupy's
``snapshot`` (through :mod:`embedsim.snapshots`' extensions), a mismatch returned as text
instead of raised, so the test goes on and fails at its end."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from embedsim.matrix import SimilarityMatrix

#: A terminal colour/style escape sequence (SGR), as syrupy writes them.
_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


class MatrixSnapshots:
    """One test's matrix-table and heatmap snapshot assertions (made on first use from
    ``factory``, syrupy's ``snapshot.use_extension``)."""

    def __init__(self, factory: Callable[[type], Any], matrix_tolerance: float | None = None,
                 image_tolerance: float | None = None, colour: bool = True) -> None:
        self._factory = factory
        self._matrix_tolerance, self._image_tolerance = matrix_tolerance, image_tolerance
        self._colour = colour  # False: diffs without terminal escape sequences
        self._assertions: tuple[Any, Any] | None = None

    def compare(self, matrix: SimilarityMatrix, name: str, *, heatmap: bool = True) -> list[str]:
        """The mismatches of ``matrix`` (recorded as ``name``) with its table and, with
        ``heatmap=True``, its heatmap snapshot: one text each, empty when both match."""
        __tracebackhide__ = True
        from embedsim.snapshots import heatmap_extension, matrix_extension

        if self._assertions is None:
            self._assertions = (
                self._factory(matrix_extension() if self._matrix_tolerance is None
                              else matrix_extension(self._matrix_tolerance)),
                self._factory(heatmap_extension() if self._image_tolerance is None
                              else heatmap_extension(self._image_tolerance)))
        index = None if name == "matrix" else name
        mismatches = []
        for assertion, kind, wanted in zip(self._assertions, ("matrix table", "heatmap"), (True, heatmap)):
            if not wanted:
                continue
            target = assertion(name=index) if index else assertion
            if not target == matrix:  # syrupy resets the name afterwards: name the matrix ourselves
                mismatches.append("\n".join([f"{kind} of {name!r} does not match its snapshot "
                                             "(update with --snapshot-update):", *self._diff(assertion)]))
        return mismatches

    def _diff(self, assertion: Any) -> list[str]:
        """syrupy's diff lines, without escape sequences unless colours are on."""
        lines = assertion.get_assert_diff()
        return lines if self._colour else [_ESCAPE.sub("", line) for line in lines]
