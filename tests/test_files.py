"""Atomic writes keep ordinary file permissions (not mkstemp's 0600)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from embedsim import files
from embedsim.files import atomic_write

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


_UMASK_AFTER_IMPORT = """
import os, stat, sys
umask, os.umask = os.umask, None  # importing embedsim.files must neither set nor read the umask
import embedsim.files
os.umask = umask
os.umask(int(sys.argv[2], 0))  # set after the import: the write must follow it
path = embedsim.files.atomic_write(sys.argv[1], b"<html>")
print(oct(stat.S_IMODE(path.stat().st_mode)))
"""


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_file_gets_0666_less_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    """Regression: the umask was set (to read it) when embedsim.files was imported, so
    a process that changed its umask later got files with the old one. (A subprocess: the umask
    is the process's.)"""
    import subprocess
    import sys

    path = tmp_path / "sub" / "index.html"
    out = subprocess.run([sys.executable, "-c", _UMASK_AFTER_IMPORT, str(path), oct(umask)], capture_output=True,
                         text=True, check=True).stdout
    assert path.read_bytes() == b"<html>" and int(out, 8) == _mode(path) == mode
    assert [p.name for p in path.parent.iterdir()] == ["index.html"]  # no temporary file left


def test_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "cassette.json"
    path.write_bytes(b"old")
    path.chmod(0o640)
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new" and _mode(path) == 0o640


# --- every writer of the project goes through atomic_write (docs/guarantees.md: "Nothing lost on interruption") ---

def _png(value: int) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (value, value, value)).save(buffer, format="PNG")
    return buffer.getvalue()


def _matrix():
    import numpy as np

    from embedsim.matrix import SimilarityMatrix

    return SimilarityMatrix(np.array([[1.0, 0.5], [0.5, 1.0]], dtype=np.float32), ["a", "b"], ["a", "b"])


def _cassette(tmp: Path) -> tuple[Path, object]:
    from vcr.request import Request
    from vcr.serializers import yamlserializer

    from embedsim.recording import AtomicPersister

    path = tmp / "cassettes" / "m" / "test_x" / "test_y.yaml"
    cassette = {"requests": [Request("POST", "https://x/", b"{}", {})],
                "responses": [{"status": {"code": 200}, "body": {"string": ""}}]}
    return path, lambda: AtomicPersister.save_cassette(path, cassette, yamlserializer)


def _snapshot(kind: str) -> object:
    def case(tmp: Path) -> tuple[Path, object]:
        from syrupy.data import Snapshot, SnapshotCollection

        from embedsim.snapshot.extensions import HeatmapSnapshotExtension, MatrixSnapshotExtension, matrix_to_table

        extension, data = ((MatrixSnapshotExtension, matrix_to_table(_matrix())) if kind == "matrix"
                           else (HeatmapSnapshotExtension, _png(10)))
        path = tmp / f"test_y[m].{extension.file_extension}"
        collection = SnapshotCollection(location=str(path))
        collection.add(Snapshot(name="test_y[m]", data=data))
        return path, lambda: extension.write_snapshot_collection(snapshot_collection=collection)
    return case


def _side_file(which: int) -> object:
    def case(tmp: Path) -> tuple[Path, object]:
        from embedsim.snapshot.extensions import HeatmapSnapshotExtension, StoredImage, side_files

        location = tmp / "test_y[m].heatmap.png"
        location.write_bytes(_png(0))
        stored = StoredImage(_png(0), str(location))
        return side_files(str(location))[which], lambda: HeatmapSnapshotExtension().matches(
            serialized_data=_png(255), snapshot_data=stored)
    return case


def _report(name: str) -> object:
    def case(tmp: Path) -> tuple[Path, object]:
        from embedsim import report

        folder = tmp / "report"
        report.prepare(folder)

        def entry(values: list[list[float]], outcome: str = "passed") -> report.Fragment:
            return report.Fragment("tests/test_a.py", "test_x", "pixels", outcome, matrices=[
                report.MatrixRecord("matrix", ["a", "b"], ["x", "y"], np.array(values), False)])

        fragment = report.write_fragment(folder, entry([[0.1, 0.2], [0.3, 0.4]]), None)
        report.build_index(folder, ["pixels"])
        if name == "fragment":
            return fragment, lambda: report.write_fragment(folder, entry([[0.1, 0.2], [0.3, 0.4]], "failed"), None)
        target = folder / name if name != "heatmap" else next((folder / "heatmaps").rglob("*.png"))
        if name == "heatmap":  # rendered again only when its matrix changed
            report.write_fragment(folder, entry([[0.9, 0.8], [0.7, 0.6]]), None)
        return target, lambda: report.build_index(folder, ["pixels"])
    return case


def _tiles(tmp: Path) -> tuple[Path, object]:
    from embedsim.inputs.grid import write_tiles
    from embedsim.inputs.items import item_from_bytes

    tile = item_from_bytes(_png(200), "grid_01")
    return tmp / "tiles" / "grid_01.png", lambda: write_tiles([tile], tmp / "tiles")


def _csv(tmp: Path) -> tuple[Path, object]:
    from embedsim.cli import main

    path = tmp / "m.csv"
    return path, lambda: main(["matrix", "--rows", "text:a", "text:b", "--dimension", "128", "--csv", str(path)])


def _heatmap(tmp: Path) -> tuple[Path, object]:
    from embedsim.snapshot.heatmap import save_heatmap

    path = tmp / "h.png"
    return path, lambda: save_heatmap(_matrix(), path)


def _cache(tmp: Path) -> tuple[Path, object]:
    import numpy as np

    from embedsim.backends.cache import EmbeddingCache
    from embedsim.inputs.items import text_item

    cache = EmbeddingCache(tmp / "cache")
    key = EmbeddingCache.key("m", 4, None, text_item("x"))
    return cache.path(key), lambda: cache.put(key, np.ones(4, dtype=np.float32))


WRITERS = {"cassette": _cassette, "matrix snapshot": _snapshot("matrix"), "heatmap snapshot": _snapshot("heatmap"),
           "snapshot .actual.png": _side_file(0), "snapshot .diff.png": _side_file(1),
           "report index.html": _report("index.html"), "report index.md": _report("index.md"),
           "report report.json": _report("report.json"), "report fragment": _report("fragment"),
           "report heatmap": _report("heatmap"), "tile": _tiles, "CLI csv": _csv, "heatmap": _heatmap,
           "cache entry": _cache}


@pytest.mark.parametrize("writer", WRITERS)
def test_every_writer_keeps_the_previous_file_when_interrupted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               writer: str) -> None:
    """Interrupted at the rename (a kill, a full disk), a writer leaves the file it replaces whole
    and no temporary file: it wrote a temporary file first. A writer that wrote in place would
    have changed the file without reaching the rename."""
    target, write = WRITERS[writer](tmp_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"previous")
    real, renamed = os.replace, []

    def interrupted(source: str, destination: str) -> None:
        if Path(destination) == target:
            renamed.append(destination)
            raise KeyboardInterrupt
        real(source, destination)

    monkeypatch.setattr(files.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write()
    assert renamed and target.read_bytes() == b"previous"
    assert not [p.name for p in target.parent.iterdir() if p.name.endswith(".tmp")]
