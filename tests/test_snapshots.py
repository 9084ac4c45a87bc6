"""Tolerant syrupy snapshots of matrices (readable table) and heatmaps (PNG with RMS)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import record_then_change

from embedsim.matrix import SimilarityMatrix
from embedsim.snapshot.extensions import compare_matrices, matrix_to_table, table_to_matrix

pytestmark = pytest.mark.usefixtures("outside_xdist")

MATRIX_TEST = """
import numpy as np
from pathlib import Path
from embedsim.matrix import SimilarityMatrix

def test_m(matrix_snapshot):
    offset = float(Path("offset.txt").read_text())
    values = np.array([[0.5, 0.25, 0.125], [0.1, 0.2, 0.3]]) + np.array([[0, offset, 0], [0, 0, 0]])
    assert matrix_snapshot == SimilarityMatrix(values, ("face1", "face2"), ("怒", "哀", "楽"))
"""

HEATMAP_TEST = """
import io
from pathlib import Path
import numpy as np
from PIL import Image

def test_h(heatmap_snapshot):
    pixels = np.full((40, 60, 3), 128, dtype=np.uint8)
    changed = int(Path("changed.txt").read_text())   # how many rows turn white
    pixels[:changed] = 255
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    assert heatmap_snapshot == buffer.getvalue()
"""


def test_table_round_trip_keeps_labels_and_values() -> None:
    m = SimilarityMatrix(np.array([[1.0, 0.123456789], [0.5, -0.25]]), ("a\tb", "怒"), ("x", "y\\z"), all_pairs=False)
    text = matrix_to_table(m)
    assert "0.123457" in text and "怒" in text
    back = table_to_matrix(text)
    assert back.row_labels == m.row_labels and back.col_labels == m.col_labels
    assert np.allclose(back.values, m.values, atol=1e-6)


def test_rows_labelled_with_a_hash_are_compared() -> None:
    from embedsim.snapshot.extensions import MatrixSnapshotExtension

    stored = SimilarityMatrix(np.array([[1.0, 0.5], [0.5, 1.0]]), ("#1", "b"), ("#1", "b"), all_pairs=True)
    back = table_to_matrix(matrix_to_table(stored))
    assert back.row_labels == ("#1", "b") and back.col_labels == ("#1", "b") and back.all_pairs
    assert np.allclose(back.values, stored.values)

    ext = MatrixSnapshotExtension()
    changed = SimilarityMatrix(np.array([[1.0, 0.6], [0.5, 1.0]]), ("#1", "b"), ("#1", "b"), all_pairs=True)
    snapshot = matrix_to_table(stored)
    assert ext.matches(serialized_data=matrix_to_table(stored), snapshot_data=snapshot)
    assert not ext.matches(serialized_data=matrix_to_table(changed), snapshot_data=snapshot)
    assert "#1" in "\n".join(ext.diff_lines(matrix_to_table(changed), snapshot))
    # comment lines come only before the header
    assert table_to_matrix("# a comment\n# another\n\tx\n#r\t0.5\n").row_labels == ("#r",)


def test_compare_matrices_lists_moved_cells() -> None:
    a = SimilarityMatrix(np.array([[0.5, 0.2], [0.1, 0.9]]), ("r1", "r2"), ("c1", "c2"))
    b = SimilarityMatrix(np.array([[0.5, 0.25], [0.1, 0.90005]]), ("r1", "r2"), ("c1", "c2"))
    assert compare_matrices(a, b, 1e-4)[0].startswith("1 of 4 cells moved")
    assert "r1   c2        0.200000    0.250000    -0.050000" in "\n".join(compare_matrices(a, b, 1e-4))
    assert compare_matrices(a, b, 0.1) == []
    c = SimilarityMatrix(np.array([[0.5, 0.2], [0.1, 0.9]]), ("r1", "r3"), ("c1", "c2"))
    assert "rows: new ['r2'], gone ['r3']" in "\n".join(compare_matrices(a, c, 1e-4))


def test_matrix_snapshot_tolerates_drift_and_reports_moves(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_m=MATRIX_TEST)
    pytester.path.joinpath("offset.txt").write_text("0")
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=1)
    stored = pytester.path / "__snapshots__" / "test_m" / "test_m.matrix.tsv"
    assert "face1\t0.500000\t0.250000\t0.125000" in stored.read_text(encoding="utf-8")

    pytester.path.joinpath("offset.txt").write_text("0.00005")  # below the 1e-4 default
    pytester.runpytest().assert_outcomes(passed=1)

    pytester.path.joinpath("offset.txt").write_text("0.01")
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*1 of 6 cells moved by more than the tolerance 0.0001 (largest |difference| 0.010000):*",
        "*row*column*obtained*expected*difference*",
        "*face1*哀*0.260000*0.250000*+0.010000*",
    ])

    pytester.makeini("[pytest]\nembedsim_tolerance = 0.05\n")
    pytester.runpytest().assert_outcomes(passed=1)


def test_heatmap_snapshot_rms_tolerance_and_side_files(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_h=HEATMAP_TEST)
    result = record_then_change(pytester, pytester.path / "changed.txt", "0", "1")  # one row of 40: RMS ~ 20 > 2
    folder = pytester.path / "__snapshots__" / "test_h"
    result.stdout.fnmatch_lines(["*images differ: RMS 20.08? > tolerance 2*", "*actual image:*test_h.heatmap.actual.png*"])
    assert sorted(p.name for p in folder.iterdir()) == [
        "test_h.heatmap.actual.png", "test_h.heatmap.diff.png", "test_h.heatmap.png"]

    # the side files are not snapshots: nothing is reported unused, and a pass removes them
    pytester.makeini("[pytest]\nembedsim_image_tolerance = 25\n")
    result = pytester.runpytest("--snapshot-details")
    result.assert_outcomes(passed=1)
    assert "unused" not in result.stdout.str()
    assert sorted(p.name for p in folder.iterdir()) == ["test_h.heatmap.png"]


def test_update_removes_side_files(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_h=HEATMAP_TEST)
    record_then_change(pytester, pytester.path / "changed.txt", "0", "20")
    result = pytester.runpytest("--snapshot-update")
    result.assert_outcomes(passed=1)
    assert "1 snapshot updated" in result.stdout.str() and "deleted" not in result.stdout.str()
    assert sorted(p.name for p in (pytester.path / "__snapshots__" / "test_h").iterdir()) == ["test_h.heatmap.png"]


def test_experiment_snapshot_writes_table_and_heatmap(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_e="""
        from embedsim.inputs.items import text_item
        ITEMS = [text_item(w) for w in ("apple", "apples", "car")]

        def test_words(experiment):
            experiment.snapshot(experiment.similarity(ITEMS))
            experiment.snapshot(experiment.similarity(ITEMS[:2], ITEMS, name="pairs"), heatmap=False)
    """)
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=1)
    names = sorted(p.name for p in (pytester.path / "__snapshots__" / "test_e").iterdir())
    assert names == ["test_words[pixels].heatmap.png", "test_words[pixels].matrix.tsv",
                     "test_words[pixels][pairs].matrix.tsv"]
    result = pytester.runpytest("--embedsim-model", "pixels")
    result.assert_outcomes(passed=1)
    # another "model" (dimension) changes every value: the table says which cells moved
    result = pytester.runpytest("--embedsim-dimension", "128")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*SnapshotMismatch: matrix table of 'matrix' does not match its snapshot "
                                 "(update with --snapshot-update):*",
                                 "*cells moved by more than the tolerance 0.0001*"])


def test_snapshot_mismatch_names_the_matrix_and_what_differs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_e="""
        import numpy as np
        from pathlib import Path
        from embedsim.matrix import SimilarityMatrix

        def test_two(experiment):
            offset = float(Path("offset.txt").read_text())
            values = np.array([[1.0, 0.5], [0.5, 1.0]])
            first = SimilarityMatrix(values, ("a", "b"), ("a", "b"), all_pairs=True)
            second = SimilarityMatrix(values + [[0, offset], [0, 0]], ("#1", "b"), ("a", "b"))
            experiment.snapshot(experiment.add_matrix(first, name="first"))
            experiment.snapshot(experiment.add_matrix(second, name="second"))
    """)
    offset = pytester.path / "offset.txt"
    result = record_then_change(pytester, offset, "0", "0.4")  # the "#1" row of the second matrix
    result.stdout.fnmatch_lines(["*SnapshotMismatch: matrix table of 'second' does not match its snapshot*",
                                 "*#1*b*0.900000*0.500000*+0.400000*",
                                 "*heatmap of 'second' does not match its snapshot*",
                                 "*images differ: RMS*"])
    assert "'first'" not in result.stdout.str() and "snapshot snapshot" not in result.stdout.str()

    # no snapshot yet: syrupy says so, and the heatmap claims no difference
    offset.write_text("0")
    folder = pytester.path / "__snapshots__" / "test_e"
    for path in folder.glob("*[[]first[]]*"):
        path.unlink()
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*matrix table of 'first' does not match its snapshot*",
                                 "*Snapshot 'test_two[[]pixels[]][[]first[]]' does not exist!",
                                 "*heatmap of 'first' does not match its snapshot*",
                                 "*Snapshot 'test_two[[]pixels[]][[]first[]]' does not exist!"])
    assert "heatmap differs" not in result.stdout.str() and "'second'" not in result.stdout.str()


def test_snapshot_side_files_are_skipped_by_discovery(tmp_path: Path) -> None:
    from embedsim.snapshot.extensions import HeatmapSnapshotExtension

    ext = HeatmapSnapshotExtension()
    assert ext.is_snapshot_location(location=str(tmp_path / "t.heatmap.png"))
    assert not ext.is_snapshot_location(location=str(tmp_path / "t.heatmap.actual.png"))
    assert not ext.is_snapshot_location(location=str(tmp_path / "t.heatmap.diff.png"))


# --- stateless, atomic, any label --------------------------------------------------

from hypothesis import given, settings
from hypothesis import strategies as st

#: The characters str.splitlines splits on besides \n and \r, and other troublemakers.
LINE_BREAKERS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\t\n\r\\\ud800"


def _stored_table(tmp_path: Path, matrix: SimilarityMatrix) -> SimilarityMatrix:
    """``matrix`` written as a snapshot file and read back, both the way syrupy does."""
    from syrupy.data import Snapshot, SnapshotCollection

    from embedsim.snapshot.extensions import MatrixSnapshotExtension

    location = str(tmp_path / "t.matrix.tsv")
    collection = SnapshotCollection(location=location)
    collection.add(Snapshot(name="t", data=MatrixSnapshotExtension().serialize(matrix)))
    MatrixSnapshotExtension.write_snapshot_collection(snapshot_collection=collection)
    text = MatrixSnapshotExtension().read_snapshot_data_from_location(
        snapshot_location=location, snapshot_name="t", session_id="s")
    assert MatrixSnapshotExtension().matches(serialized_data=matrix_to_table(matrix), snapshot_data=text)
    return table_to_matrix(text)


@pytest.mark.parametrize("char", list(LINE_BREAKERS))
def test_labels_with_line_breaking_characters_round_trip(tmp_path: Path, char: str) -> None:
    labels = (f"a{char}b", f"{char}", "#c")
    m = SimilarityMatrix(np.eye(3), labels, labels, all_pairs=True)
    back = _stored_table(tmp_path, m)
    assert back.row_labels == labels and back.col_labels == labels


@settings(max_examples=60, deadline=None)
@given(labels=st.lists(st.text(alphabet=st.characters(codec=None), max_size=8) | st.sampled_from(LINE_BREAKERS),
                       min_size=1, max_size=4))
def test_any_string_label_round_trips_through_the_table(labels: list[str]) -> None:
    import tempfile

    m = SimilarityMatrix(np.full((len(labels), 1), 0.5), tuple(labels), ("col",))
    with tempfile.TemporaryDirectory() as folder:
        back = _stored_table(Path(folder), m)
    assert back.row_labels == tuple(labels) and back.col_labels == ("col",)


def test_heatmap_labels_and_titles_are_text_not_mathtext() -> None:
    from embedsim.snapshot.heatmap import render_heatmap

    labels = ("$x_$", "$\\alpha$", "a$b")
    png = render_heatmap(SimilarityMatrix(np.eye(3), labels, labels, all_pairs=True), "$x_$ title")
    assert png.startswith(b"\x89PNG")


def _png(value: int, size: int = 8) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (value, value, value)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_heatmap_extension_keeps_no_state_between_comparisons(tmp_path: Path) -> None:
    from embedsim.snapshot.extensions import HeatmapSnapshotExtension

    ext = HeatmapSnapshotExtension()
    first, second = tmp_path / "a.heatmap.png", tmp_path / "b.heatmap.png"
    first.write_bytes(_png(0))
    second.write_bytes(_png(0))
    stored_first = ext.read_snapshot_data_from_location(snapshot_location=str(first), snapshot_name="a",
                                                        session_id="s")
    ext.read_snapshot_data_from_location(snapshot_location=str(second), snapshot_name="b", session_id="s")
    # the first snapshot's comparison writes beside the first snapshot, whatever was read since
    assert not ext.matches(serialized_data=_png(255), snapshot_data=stored_first)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.heatmap.actual.png", "a.heatmap.diff.png",
                                                          "a.heatmap.png", "b.heatmap.png"]
    assert "actual image: " + str(tmp_path / "a.heatmap.actual.png") in list(
        ext.diff_lines(_png(255), stored_first))
    assert vars(ext) == {}


def test_snapshots_and_side_files_are_replaced_by_a_rename(tmp_path: Path) -> None:
    """Written through embedsim.files.atomic_write: a new inode replaces the old file, so a
    full disk or a kill leaves the previous file whole (syrupy's writer truncates in place)."""
    from syrupy.data import Snapshot, SnapshotCollection

    from embedsim.snapshot.extensions import HeatmapSnapshotExtension

    location = tmp_path / "t.heatmap.png"
    location.write_bytes(_png(0))
    before = location.stat().st_ino
    collection = SnapshotCollection(location=str(location))
    collection.add(Snapshot(name="t", data=_png(10)))
    HeatmapSnapshotExtension.write_snapshot_collection(snapshot_collection=collection)
    assert location.read_bytes() == _png(10) and location.stat().st_ino != before

    ext = HeatmapSnapshotExtension()
    stored = ext.read_snapshot_data_from_location(snapshot_location=str(location), snapshot_name="t", session_id="s")
    ext.matches(serialized_data=_png(200), snapshot_data=stored)
    actual = tmp_path / "t.heatmap.actual.png"
    inode = actual.stat().st_ino
    ext.matches(serialized_data=_png(100), snapshot_data=stored)
    assert actual.read_bytes() == _png(100) and actual.stat().st_ino != inode


def test_snapshot_module_takes_no_defaults_from_the_plugin_config() -> None:
    import ast

    import embedsim.snapshot.extensions

    tree = ast.parse(Path(embedsim.snapshot.extensions.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "embedsim.plugin.settings" not in imported


def test_a_matrix_snapshot_that_is_not_utf8_is_named_not_a_traceback(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_words="""
        from embedsim.inputs.items import text_item

        def test_words(experiment):
            experiment.snapshot(experiment.similarity([text_item("Happy"), text_item("Sad")]), heatmap=False)
    """)
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=1)
    stored = next(pytester.path.rglob("*.matrix.tsv"))
    stored.write_bytes(stored.read_bytes().replace(b"Happy", "Häppy".encode("latin-1")))
    result = pytester.runpytest("--color=no")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "is not UTF-8 text (bad byte at offset" in output and "--snapshot-update" in output
    assert "Traceback" not in output and "UnicodeDecodeError" not in output
