"""A similarity matrix as an aligned text table (wide CJK characters count as two columns)."""

from __future__ import annotations

import unicodedata

from embedsim.matrix import SimilarityMatrix


def format_table(matrix: SimilarityMatrix, digits: int = 3) -> str:
    """The matrix as an aligned text table; wide (CJK) characters count as two columns."""
    cells = [[f"{v:.{digits}f}" for v in row] for row in matrix.values]
    label_width = max(_display_width(label) for label in matrix.row_labels)
    widths = [
        max(_display_width(label), *(len(row[j]) for row in cells))
        for j, label in enumerate(matrix.col_labels)
    ]
    header = [_pad("", label_width, left=True), *(_pad(col, w) for col, w in zip(matrix.col_labels, widths, strict=True))]
    lines = ["  ".join(header).rstrip()]
    for label, row in zip(matrix.row_labels, cells, strict=True):
        lines.append("  ".join([_pad(label, label_width, left=True), *(_pad(c, w) for c, w in zip(row, widths, strict=True))]))
    return "\n".join(lines)


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, left: bool = False) -> str:
    """Pad to ``width`` display columns: labels left-aligned, numbers right-aligned."""
    space = " " * (width - _display_width(text))
    return text + space if left else space + text
