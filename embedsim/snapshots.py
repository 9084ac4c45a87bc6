"""syrupy extensions for similarity matrices and heatmaps, compared with a tolerance.

* :class:`MatrixSnapshotExtension` stores a matrix as a readable tab-separated table
  (``<test>.matrix.tsv``: labels and values) and matches when every cell is within an
  absolute tolerance; a mismatch lists the cells that moved as obtained / expected /
  difference (pytest-regressions style).
* :class:`HeatmapSnapshotExtension` stores a PNG (``<test>.heatmap.png``) and matches
  when the RMS pixel difference is within a tolerance (as pytest-mpl and
  ``matplotlib.testing.compare.calculate_rms``); on a mismatch it writes
  ``<snapshot>.actual.png`` and ``<snapshot>.diff.png`` beside the snapshot.

Use them through the ``matrix_snapshot`` / ``heatmap_snapshot`` fixtures, or
``snapshot.use_extension(matrix_extension(1e-3))``. ``--snapshot-update`` updates them.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from embedsim.config import DEFAULT_IMAGE_TOLERANCE, DEFAULT_TOLERANCE
from embedsim.matrix import SimilarityMatrix

#: Digits written per value; well below any sensible tolerance.
DIGITS = 6
MAX_LISTED_CELLS = 20
_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(label: str) -> str:
    return "".join(_ESCAPES.get(c, c) for c in label)


def _unescape(text: str) -> str:
    out, chars = [], iter(text)
    for c in chars:
        if c == "\\":
            nxt = next(chars, "")
            out.append({"t": "\t", "n": "\n", "r": "\r"}.get(nxt, nxt))
        else:
            out.append(c)
    return "".join(out)


def matrix_to_table(matrix: SimilarityMatrix) -> str:
    """The matrix as the text stored in a ``.matrix.tsv`` snapshot."""
    lines = [
        f"# embedsim similarity matrix: {matrix.shape[0]} rows x {matrix.shape[1]} columns"
        + (", all pairs" if matrix.all_pairs else ""),
        "\t".join(["", *map(_escape, matrix.col_labels)]),
    ]
    for label, row in zip(matrix.row_labels, matrix.values, strict=True):
        lines.append("\t".join([_escape(label), *(f"{float(v):.{DIGITS}f}" for v in row)]))
    return "\n".join(lines) + "\n"


def table_to_matrix(text: str) -> SimilarityMatrix:
    """Parse :func:`matrix_to_table` output: comment lines (starting with ``#``) up to the
    header row, which starts with a tab; after it every line is a row, whose label may
    start with ``#``."""
    lines = [line for line in text.splitlines() if line]
    while lines and lines[0].startswith("#"):
        del lines[0]
    if not lines:
        raise ValueError("empty matrix table")
    header = lines[0].split("\t")
    cols = tuple(_unescape(c) for c in header[1:])
    rows, values = [], []
    for line in lines[1:]:
        fields = line.split("\t")
        rows.append(_unescape(fields[0]))
        values.append([float(v) for v in fields[1:]])
    all_pairs = "all pairs" in text.split("\n", 1)[0]
    array = np.asarray(values, dtype=np.float64).reshape(len(rows), len(cols))
    return SimilarityMatrix(array, tuple(rows), cols, all_pairs)


def compare_matrices(obtained: SimilarityMatrix, expected: SimilarityMatrix, tolerance: float) -> list[str]:
    """Lines explaining why ``obtained`` differs from ``expected``; empty when they match."""
    if (obtained.row_labels, obtained.col_labels) != (expected.row_labels, expected.col_labels):
        lines = ["labels differ from the snapshot:"]
        for what, got, want in (("rows", obtained.row_labels, expected.row_labels),
                                ("columns", obtained.col_labels, expected.col_labels)):
            added = [x for x in got if x not in want]
            removed = [x for x in want if x not in got]
            if added or removed:
                lines.append(f"  {what}: new {added}, gone {removed}")
            elif got != want:
                lines.append(f"  {what} reordered: now {list(got)}, snapshot {list(want)}")
        return lines
    diff = obtained.values.astype(np.float64) - expected.values.astype(np.float64)
    moved = np.argwhere(~(np.abs(diff) <= tolerance))
    if not moved.size:
        return []
    order = sorted(map(tuple, moved), key=lambda ij: -abs(diff[ij]) if math.isfinite(diff[ij]) else -math.inf)
    width_r = max(len("row"), *(len(obtained.row_labels[i]) for i, _ in order[:MAX_LISTED_CELLS]))
    width_c = max(len("column"), *(len(obtained.col_labels[j]) for _, j in order[:MAX_LISTED_CELLS]))
    lines = [
        f"{len(order)} of {diff.size} cells moved by more than the tolerance {tolerance:g} "
        f"(largest |difference| {np.nanmax(np.abs(diff)):.6f}):",
        f"  {'row':<{width_r}}  {'column':<{width_c}}  {'obtained':>10}  {'expected':>10}  {'difference':>11}",
    ]
    for i, j in order[:MAX_LISTED_CELLS]:
        lines.append(f"  {obtained.row_labels[i]:<{width_r}}  {obtained.col_labels[j]:<{width_c}}  "
                     f"{obtained.values[i, j]:>10.6f}  {expected.values[i, j]:>10.6f}  {diff[i, j]:>+11.6f}")
    if len(order) > MAX_LISTED_CELLS:
        lines.append(f"  ... and {len(order) - MAX_LISTED_CELLS} more cells")
    return lines


class MatrixSnapshotExtension(SingleFileSnapshotExtension):
    """A :class:`SimilarityMatrix` as a ``.matrix.tsv`` table, equal within :attr:`tolerance`."""

    file_extension = "matrix.tsv"
    _write_mode = WriteMode.TEXT
    tolerance: float = DEFAULT_TOLERANCE

    def serialize(self, data: Any, **kwargs: Any) -> str:
        if isinstance(data, SimilarityMatrix):
            return matrix_to_table(data)
        if isinstance(data, str):
            return data
        raise TypeError(f"matrix snapshots take a SimilarityMatrix, not {type(data).__name__}")

    def matches(self, *, serialized_data: Any, snapshot_data: Any) -> bool:
        try:
            return not compare_matrices(table_to_matrix(serialized_data), table_to_matrix(snapshot_data),
                                        self.tolerance)
        except ValueError:
            return False

    def diff_lines(self, serialized_data: Any, snapshot_data: Any) -> Iterator[str]:
        try:
            yield from compare_matrices(table_to_matrix(serialized_data), table_to_matrix(snapshot_data),
                                        self.tolerance)
        except ValueError:
            yield from super().diff_lines(serialized_data, snapshot_data)


def calculate_rms(expected: np.ndarray, actual: np.ndarray) -> float:
    """Root mean square of the pixel differences (as ``matplotlib.testing.compare``)."""
    return float(np.sqrt(np.mean((expected.astype(np.float64) - actual.astype(np.float64)) ** 2)))


def _rgb(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


def _diff_image(expected: np.ndarray, actual: np.ndarray) -> bytes:
    """Absolute difference, amplified 10x (as matplotlib's ``save_diff_image``)."""
    diff = np.clip(np.abs(expected.astype(np.int16) - actual.astype(np.int16)) * 10, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(diff, "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


class HeatmapSnapshotExtension(SingleFileSnapshotExtension):
    """A PNG (bytes, or a :class:`SimilarityMatrix` rendered as a heatmap) equal within an
    RMS of :attr:`tolerance`; a mismatch writes ``.actual.png`` and ``.diff.png`` beside it."""

    file_extension = "heatmap.png"
    _write_mode = WriteMode.BINARY
    tolerance: float = DEFAULT_IMAGE_TOLERANCE
    _location: str | None = None
    _failure: str = ""

    def serialize(self, data: Any, **kwargs: Any) -> bytes:
        if isinstance(data, SimilarityMatrix):
            from embedsim.heatmap import render_heatmap

            return render_heatmap(data)
        return super().serialize(data, **kwargs)

    def read_snapshot_data_from_location(self, *, snapshot_location: str, snapshot_name: str,
                                         session_id: str) -> Any:
        self._location = snapshot_location  # where .actual.png and .diff.png go on a mismatch
        return super().read_snapshot_data_from_location(
            snapshot_location=snapshot_location, snapshot_name=snapshot_name, session_id=session_id)

    def side_files(self) -> tuple[Path, Path] | None:
        """Paths of the ``.actual.png`` and ``.diff.png`` of the last read snapshot."""
        if not self._location:
            return None
        stem = self._location[: -len(".png")]
        return Path(f"{stem}.actual.png"), Path(f"{stem}.diff.png")

    def matches(self, *, serialized_data: Any, snapshot_data: Any) -> bool:
        if serialized_data == snapshot_data:
            self._clean_side_files()
            return True
        try:
            actual, expected = _rgb(serialized_data), _rgb(snapshot_data)
        except OSError as exc:
            self._failure = f"cannot read the images: {exc}"
            return False
        if actual.shape != expected.shape:
            self._failure = (f"image size changed: {actual.shape[1]}x{actual.shape[0]} now, "
                             f"{expected.shape[1]}x{expected.shape[0]} in the snapshot")
            self._write_side_files(serialized_data, None)
            return False
        rms = calculate_rms(expected, actual)
        if rms <= self.tolerance:
            self._clean_side_files()
            return True
        self._failure = f"images differ: RMS {rms:.3f} > tolerance {self.tolerance:g}"
        self._write_side_files(serialized_data, _diff_image(expected, actual))
        return False

    def _write_side_files(self, actual: bytes, diff: bytes | None) -> None:
        files = self.side_files()
        if files is None:
            return
        files[0].write_bytes(actual)
        if diff is not None:
            files[1].write_bytes(diff)
        self._failure += f"\nactual image: {files[0]}" + (f"\ndiff image: {files[1]}" if diff else "")

    def _clean_side_files(self) -> None:
        for path in self.side_files() or ():
            path.unlink(missing_ok=True)

    def diff_lines(self, serialized_data: Any, snapshot_data: Any) -> Iterator[str]:
        if not snapshot_data:  # no snapshot yet (syrupy passes "" for None): nothing to compare
            return
        yield from (self._failure or "heatmap differs from the snapshot").splitlines()

    @classmethod
    def write_snapshot_collection(cls, *, snapshot_collection: Any, name_order: Any = None) -> None:
        super().write_snapshot_collection(snapshot_collection=snapshot_collection, name_order=name_order)
        stem = str(snapshot_collection.location)[: -len(".png")]
        for suffix in (".actual.png", ".diff.png"):  # an updated snapshot makes them stale
            Path(stem + suffix).unlink(missing_ok=True)


@cache
def matrix_extension(tolerance: float = DEFAULT_TOLERANCE) -> type[MatrixSnapshotExtension]:
    """A :class:`MatrixSnapshotExtension` with this absolute tolerance."""
    if tolerance == MatrixSnapshotExtension.tolerance:
        return MatrixSnapshotExtension
    return type("MatrixSnapshotExtension", (MatrixSnapshotExtension,), {"tolerance": float(tolerance)})


@cache
def heatmap_extension(tolerance: float = DEFAULT_IMAGE_TOLERANCE) -> type[HeatmapSnapshotExtension]:
    """A :class:`HeatmapSnapshotExtension` with this RMS tolerance."""
    if tolerance == HeatmapSnapshotExtension.tolerance:
        return HeatmapSnapshotExtension
    return type("HeatmapSnapshotExtension", (HeatmapSnapshotExtension,), {"tolerance": float(tolerance)})
