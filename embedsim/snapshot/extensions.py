"""syrupy extensions for similarity matrices and heatmaps, compared with a tolerance.

* :class:`MatrixSnapshotExtension` stores a matrix as a readable tab-separated table
  (``<test>.matrix.tsv``: labels and values) and matches when every cell is within an
  absolute tolerance; a mismatch lists the cells that moved as obtained / expected /
  difference (pytest-regressions style).
* :class:`HeatmapSnapshotExtension` stores a PNG (``<test>.heatmap.png``) and matches
  when the RMS pixel difference, with pixels free to move a few pixels, is within a
  tolerance (:mod:`embedsim.snapshot.image_compare`: holds across matplotlib releases); on a mismatch it writes
  ``<snapshot>.actual.png`` and ``<snapshot>.diff.png`` beside the snapshot.

Both are stateless (one instance may compare any number of snapshots) and write every
file through :func:`embedsim.files.atomic_write`.

Use them through the ``matrix_snapshot`` / ``heatmap_snapshot`` fixtures, or
``snapshot.use_extension(matrix_extension(1e-3))``. ``--snapshot-update`` updates them.
"""

from __future__ import annotations

import base64
import binascii
import unicodedata
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from embedsim.files import atomic_write
from embedsim.matrix import SimilarityMatrix
from embedsim.snapshot import DEFAULT_IMAGE_TOLERANCE, DEFAULT_TOLERANCE
from embedsim.snapshot.image_compare import compare_images

#: Digits written per value; well below any sensible tolerance.
DIGITS = 6
MAX_LISTED_CELLS = 20
_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_UNESCAPES = {"t": "\t", "n": "\n", "r": "\r"}


def _escape(label: str) -> str:
    """``label`` on one table cell: backslash, tab and line ends as ``\\t`` ``\\n`` ``\\r``, other
    control, line / paragraph separator and surrogate characters as ``\\xHH`` / ``\\uHHHH``."""
    out = []
    for c in label:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif unicodedata.category(c) in ("Cc", "Zl", "Zp", "Cs"):
            out.append(f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return "".join(out)


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            width = {"x": 2, "u": 4}.get(nxt, 0)
            if width and len(text) >= i + 2 + width:
                out.append(chr(int(text[i + 2:i + 2 + width], 16)))
                i += 2 + width
                continue
            out.append(_UNESCAPES.get(nxt, nxt))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


#: Above this many cells a table stores each row's values as base64 float32 (compact and fast; still
#: compared cell by cell with the tolerance): ``float32 base64`` in its first line says so.
TABLE_TEXT_MAX_CELLS = 10_000
_COMPACT = "float32 base64 per row"


def matrix_to_table(matrix: SimilarityMatrix) -> str:
    """The matrix as the text stored in a ``.matrix.tsv`` snapshot: decimals, or above
    :data:`TABLE_TEXT_MAX_CELLS` cells each row's float32 values as base64 (labels stay readable)."""
    compact = matrix.values.size > TABLE_TEXT_MAX_CELLS
    lines = [
        f"# embedsim similarity matrix: {matrix.shape[0]} rows x {matrix.shape[1]} columns"
        + (", all pairs" if matrix.all_pairs else "") + (f", {_COMPACT}" if compact else ""),
        "\t".join(["", *map(_escape, matrix.col_labels)]),
    ]
    if compact:
        data = np.ascontiguousarray(matrix.values, dtype="<f4")
        lines += [f"{_escape(label)}\t{base64.b64encode(row.tobytes()).decode('ascii')}"
                  for label, row in zip(matrix.row_labels, data, strict=True)]
        return "\n".join([*lines, ""])  # the last line's end without another copy of the whole text
    for label, row in zip(matrix.row_labels, matrix.values, strict=True):
        lines.append("\t".join([_escape(label), *(f"{float(v):.{DIGITS}f}" for v in row)]))
    return "\n".join(lines) + "\n"


class ObtainedTable(str):
    """A compact table :meth:`MatrixSnapshotExtension.serialize` made, with the float32 matrix it
    holds: comparing it to the stored table needs no parse of it (syrupy hands it on as it is)."""

    matrix: SimilarityMatrix


def obtained_table(matrix: SimilarityMatrix) -> str:
    """:func:`matrix_to_table`; a compact one carries what :func:`table_to_matrix` would read back."""
    table = matrix_to_table(matrix)
    if matrix.values.size <= TABLE_TEXT_MAX_CELLS:
        return table
    obtained = ObtainedTable(table)
    obtained.matrix = SimilarityMatrix(np.asarray(matrix.values, dtype="<f4"), tuple(matrix.row_labels),
                                       tuple(matrix.col_labels), matrix.all_pairs)
    return obtained


def _read(table: str) -> SimilarityMatrix:
    return table.matrix if isinstance(table, ObtainedTable) else table_to_matrix(table)


def table_to_matrix(text: str) -> SimilarityMatrix:
    """Parse :func:`matrix_to_table` output: comment lines (starting with ``#``) up to the
    header row, which starts with a tab; after it every line is a row, whose label may
    start with ``#``. Lines end at ``\\n`` only (labels hold no other line end unescaped)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        del lines[-1]
    first = lines[0] if lines else ""
    while lines and lines[0].startswith("#"):
        del lines[0]
    if not lines:
        raise ValueError("empty matrix table")
    header = lines[0].split("\t")
    cols = tuple(_unescape(c) for c in header[1:])
    rows, values = [], []
    all_pairs = "all pairs" in first
    if _COMPACT in first:  # float32 rows, filled in place (no float64 copy of a large matrix)
        array = np.empty((len(lines) - 1, len(cols)), dtype=np.float32)
        for k, line in enumerate(lines[1:]):
            label, _tab, data = line.partition("\t")
            rows.append(_unescape(label))
            try:
                row = np.frombuffer(binascii.a2b_base64(data, strict_mode=True), dtype="<f4")
            except binascii.Error as exc:
                raise ValueError(f"row {label!r} is not base64 float32") from exc
            if row.size != len(cols):
                raise ValueError(f"row {label!r} has {row.size} values for {len(cols)} columns")
            array[k] = row
        return SimilarityMatrix(array, tuple(rows), cols, all_pairs)
    for line in lines[1:]:
        fields = line.split("\t")
        rows.append(_unescape(fields[0]))
        values.append([float(v) for v in fields[1:]])
    return SimilarityMatrix(np.asarray(values, dtype=np.float64).reshape(len(rows), len(cols)), tuple(rows), cols, all_pairs)


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
    moved_count, flat, key, largest = 0, [], [], float("nan")
    step = max(1, (1 << 22) // max(1, obtained.shape[1]))
    for r0 in range(0, obtained.shape[0], step):  # in blocks of rows: no full float64 copies
        diff = (obtained.values[r0:r0 + step].astype(np.float64) - expected.values[r0:r0 + step].astype(np.float64))
        cells = np.flatnonzero(~(np.abs(diff) <= tolerance))
        moved_count += cells.size
        if cells.size and not np.all(np.isnan(diff)):
            block_largest = float(np.nanmax(np.abs(diff)))
            largest = block_largest if not largest >= block_largest else largest
        size = np.abs(diff.ravel()[cells])
        flat.append(cells + r0 * obtained.shape[1])
        key.append(np.where(np.isfinite(size), -size, -np.inf))  # the largest moves first, NaN before all
        if sum(k.size for k in key) > 4 * MAX_LISTED_CELLS:  # only the listed ones need an order
            f, k = np.concatenate(flat), np.concatenate(key)
            keep = np.sort(np.argpartition(k, MAX_LISTED_CELLS)[:MAX_LISTED_CELLS + 1])
            flat, key = [f[keep]], [k[keep]]
    if not moved_count:
        return []
    flat_all, key_all = np.concatenate(flat), np.concatenate(key)
    shape = obtained.shape
    order = [tuple(int(x) for x in np.unravel_index(f, shape)) for f in flat_all[np.argsort(key_all, kind="stable")]]

    def moved_by(i: int, j: int) -> float:
        return float(obtained.values[i, j]) - float(expected.values[i, j])

    width_r = max(len("row"), *(len(obtained.row_labels[i]) for i, _ in order[:MAX_LISTED_CELLS]))
    width_c = max(len("column"), *(len(obtained.col_labels[j]) for _, j in order[:MAX_LISTED_CELLS]))
    lines = [
        f"{moved_count} of {obtained.values.size} cells moved by more than the tolerance {tolerance:g} "
        f"(largest |difference| {largest:.6f}):",
        f"  {'row':<{width_r}}  {'column':<{width_c}}  {'obtained':>10}  {'expected':>10}  {'difference':>11}",
    ]
    for i, j in order[:MAX_LISTED_CELLS]:
        lines.append(f"  {obtained.row_labels[i]:<{width_r}}  {obtained.col_labels[j]:<{width_c}}  "
                     f"{obtained.values[i, j]:>10.6f}  {expected.values[i, j]:>10.6f}  {moved_by(i, j):>+11.6f}")
    if moved_count > MAX_LISTED_CELLS:
        lines.append(f"  ... and {moved_count - MAX_LISTED_CELLS} more cells")
    return lines


class AtomicSingleFileExtension(SingleFileSnapshotExtension):
    """A single-file snapshot written through :func:`embedsim.files.atomic_write`: a full disk
    or a kill during ``--snapshot-update`` leaves the previous snapshot, never a truncated one."""

    @classmethod
    def write_snapshot_collection(cls, *, snapshot_collection: Any, **kwargs: Any) -> None:
        data = next(iter(snapshot_collection)).data
        if not isinstance(data, cls.get_supported_dataclass()):
            raise TypeError(f"cannot write a {type(data).__name__} snapshot: expected "
                            f"{cls.get_supported_dataclass().__name__}")
        atomic_write(snapshot_collection.location, data.encode(cls.get_write_encoding() or "utf-8")
                     if isinstance(data, str) else bytes(data))


class UnreadableTable(str):
    """A ``.matrix.tsv`` snapshot that could not be read as text: ``reason`` says why (it
    never matches, and its diff is that reason, not a traceback)."""

    reason: str

    def __new__(cls, reason: str) -> UnreadableTable:
        table = super().__new__(cls, "")
        table.reason = reason
        return table


class MatrixSnapshotExtension(AtomicSingleFileExtension):
    """A :class:`SimilarityMatrix` as a ``.matrix.tsv`` table, equal within :attr:`tolerance`."""

    file_extension = "matrix.tsv"
    _write_mode = WriteMode.TEXT
    tolerance: float = DEFAULT_TOLERANCE

    def serialize(self, data: Any, **kwargs: Any) -> str:
        if isinstance(data, SimilarityMatrix):
            return obtained_table(data)
        if isinstance(data, str):
            return data
        raise TypeError(f"matrix snapshots take a SimilarityMatrix, not {type(data).__name__}")

    def read_snapshot_data_from_location(self, *, snapshot_location: str, snapshot_name: str,
                                         session_id: str) -> Any:
        try:
            return super().read_snapshot_data_from_location(
                snapshot_location=snapshot_location, snapshot_name=snapshot_name, session_id=session_id)
        except UnicodeDecodeError:
            try:
                Path(snapshot_location).read_bytes().decode("utf-8")
                offset = "?"
            except UnicodeDecodeError as exc:
                offset = str(exc.start)
            return UnreadableTable(f"the snapshot {snapshot_location} is not UTF-8 text (bad byte at offset "
                                   f"{offset}): not a matrix table embedsim wrote; check it, or replace it "
                                   "with --snapshot-update")

    def matches(self, *, serialized_data: Any, snapshot_data: Any) -> bool:
        if isinstance(snapshot_data, UnreadableTable):
            return False
        if serialized_data == snapshot_data:  # the same text holds the same matrix: nothing to parse
            return True
        try:
            return not compare_matrices(_read(serialized_data), table_to_matrix(snapshot_data), self.tolerance)
        except ValueError:
            return False

    def diff_lines(self, serialized_data: Any, snapshot_data: Any) -> Iterator[str]:
        if isinstance(snapshot_data, UnreadableTable):
            yield snapshot_data.reason
            return
        try:
            yield from compare_matrices(_read(serialized_data), table_to_matrix(snapshot_data), self.tolerance)
        except ValueError:
            yield from super().diff_lines(serialized_data, snapshot_data)


class StoredImage(bytes):
    """A heatmap snapshot's bytes and the file they were read from: comparing it needs no
    state in the extension (syrupy hands the stored data to ``matches`` and ``diff_lines``)."""

    location: str

    def __new__(cls, data: bytes, location: str) -> StoredImage:
        image = super().__new__(cls, data)
        image.location = location
        return image


def side_files(location: str) -> tuple[Path, Path]:
    """The ``.actual.png`` and ``.diff.png`` beside the heatmap snapshot at ``location``."""
    stem = location[: -len(".png")]
    return Path(f"{stem}.actual.png"), Path(f"{stem}.diff.png")


class HeatmapSnapshotExtension(AtomicSingleFileExtension):
    """A PNG (bytes, or a :class:`SimilarityMatrix` rendered as a heatmap) equal within an
    RMS of :attr:`tolerance`; a mismatch writes ``.actual.png`` and ``.diff.png`` beside it
    (atomically), a match or an update removes them. Stateless: the stored image carries
    its location (:class:`StoredImage`)."""

    file_extension = "heatmap.png"
    _write_mode = WriteMode.BINARY
    tolerance: float = DEFAULT_IMAGE_TOLERANCE

    def serialize(self, data: Any, **kwargs: Any) -> bytes:
        if isinstance(data, SimilarityMatrix):
            from embedsim.snapshot.heatmap import render_heatmap

            return render_heatmap(data)
        serialized = super().serialize(data, **kwargs)
        return serialized.encode() if isinstance(serialized, str) else serialized

    def read_snapshot_data_from_location(self, *, snapshot_location: str, snapshot_name: str,
                                         session_id: str) -> Any:
        data = super().read_snapshot_data_from_location(
            snapshot_location=snapshot_location, snapshot_name=snapshot_name, session_id=session_id)
        return StoredImage(data, snapshot_location) if data is not None else None

    def matches(self, *, serialized_data: Any, snapshot_data: Any) -> bool:
        failure, diff = compare_images(serialized_data, snapshot_data, self.tolerance)
        location = getattr(snapshot_data, "location", None)
        if location is not None:
            actual_file, diff_file = side_files(location)
            if failure:
                atomic_write(actual_file, serialized_data)
            else:
                actual_file.unlink(missing_ok=True)
            if diff is not None:
                atomic_write(diff_file, diff)
            else:
                diff_file.unlink(missing_ok=True)
        return not failure

    def diff_lines(self, serialized_data: Any, snapshot_data: Any) -> Iterator[str]:
        if not snapshot_data:  # no snapshot yet (syrupy passes "" for None): nothing to compare
            return
        failure, diff = compare_images(serialized_data, snapshot_data, self.tolerance)
        yield from (failure or "heatmap differs from the snapshot").splitlines()
        location = getattr(snapshot_data, "location", None)
        if failure and location is not None:
            actual_file, diff_file = side_files(location)
            yield f"actual image: {actual_file}"
            if diff is not None:
                yield f"diff image: {diff_file}"

    @classmethod
    def write_snapshot_collection(cls, *, snapshot_collection: Any, **kwargs: Any) -> None:
        super().write_snapshot_collection(snapshot_collection=snapshot_collection, **kwargs)
        for path in side_files(str(snapshot_collection.location)):  # an updated snapshot makes them stale
            path.unlink(missing_ok=True)


@cache
class WeightsSnapshotExtension(AtomicSingleFileExtension):
    """The weights a local model ran with (``<test>.weights.json``: model id and revision), beside
    the test's matrix snapshots: a changed checkpoint does not match, so it shows as a new
    version to review (``--snapshot-update`` takes it)."""

    file_extension = "weights.json"
    _write_mode = WriteMode.TEXT

    def serialize(self, data: Any, **kwargs: Any) -> str:
        import json

        return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


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
