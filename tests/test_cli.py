"""Tests of the ``embedsim`` command line, called in-process through ``main``."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from embedsim import __version__
from embedsim.backends import get_embedder
from embedsim.cli import main
from embedsim.cli.table import format_table
from embedsim.inputs.items import load_item
from embedsim.matrix import SimilarityMatrix, similarity
from embedsim.snapshot.heatmap import render_heatmap

FACES = Path(__file__).resolve().parent.parent / "fixtures" / "faces"


def write_grid(path: Path, rows: int = 4, cols: int = 4, tile: int = 12) -> Path:
    """A grid image whose tiles each have their own colour and a stripe."""
    image = Image.new("RGB", (cols * tile, rows * tile))
    for r in range(rows):
        for c in range(cols):
            box = (c * tile, r * tile, (c + 1) * tile, (r + 1) * tile)
            image.paste((r * 60, c * 60, 120), box)
            image.paste((255, 255, 255), (box[0], box[1], box[0] + 2 + r + c, box[3]))
    image.save(path)
    return path


@pytest.fixture
def tiles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "tiles"
    assert main(["split", str(write_grid(tmp_path / "grid.png")), "--rows", "4", "--cols", "4", "-o", str(folder)]) == 0
    capsys.readouterr()
    return folder


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- split ---------------------------------------------------------------------------


def test_split_writes_16_tiles_with_stable_names_and_prints_them(tmp_path, capsys) -> None:
    grid = write_grid(tmp_path / "grid.png")
    code, out, err = run(capsys, "split", str(grid), "--rows", "4", "--cols", "4", "-o", str(tmp_path / "t"))
    names = [f"grid_{i:02d}.png" for i in range(1, 17)]
    assert (code, err) == (0, "")
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == names
    assert out.splitlines() == [str(tmp_path / "t" / n) for n in names]
    with Image.open(tmp_path / "t" / "grid_06.png") as tile:  # row 2, column 2
        assert tile.size == (12, 12)
        assert tile.getpixel((11, 11)) == (60, 60, 120)


def test_split_uneven_grid_needs_trim(tmp_path, capsys) -> None:
    grid = tmp_path / "odd.png"
    Image.new("RGB", (50, 48), (10, 20, 30)).save(grid)
    code, _, err = run(capsys, "split", str(grid), "--rows", "4", "--cols", "4", "-o", str(tmp_path / "t"))
    assert code == 2 and err.startswith("embedsim: error: ") and "odd.png" in err and "trim" in err
    assert not (tmp_path / "t").exists()
    code, out, _ = run(capsys, "split", str(grid), "--rows", "4", "--cols", "4", "-o", str(tmp_path / "t"), "--trim")
    assert code == 0 and len(out.splitlines()) == 16


def test_split_missing_grid_names_the_file(tmp_path, capsys) -> None:
    code, out, err = run(capsys, "split", str(tmp_path / "nope.jpg"), "--rows", "2", "--cols", "2", "-o", str(tmp_path))
    assert (code, out) == (2, "")
    assert err == f"embedsim: error: {tmp_path / 'nope.jpg'}: no such file; check the path\n"


def test_split_rejects_a_zero_count(tmp_path, capsys) -> None:
    code, _, err = run(capsys, "split", "g.png", "--rows", "0", "--cols", "2", "-o", str(tmp_path))
    assert code == 2 and "--rows: 0 must be at least 1" in err


# --- matrix --------------------------------------------------------------------------


def test_matrix_prints_the_table_and_writes_png_and_csv(tiles, tmp_path, capsys) -> None:
    out_dir = tmp_path / "out"
    code, out, err = run(capsys, "matrix", "--rows", str(tiles), "--cols", "text:怒", "text:哀", "text:楽", "-o", str(out_dir))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["怒", "哀", "楽"]
    assert [line.split()[0] for line in lines[1:]] == [f"grid_{i:02d}" for i in range(1, 17)]
    assert len({len(line.encode("utf-16-le")) for line in lines[1:]}) == 1  # aligned rows

    rows = list(csv.reader(io.StringIO((out_dir / "matrix.csv").read_text(encoding="utf-8"))))
    assert rows[0] == ["", "怒", "哀", "楽"] and len(rows) == 17
    printed = {line.split()[0]: [float(v) for v in line.split()[1:]] for line in lines[1:]}
    for label, *values in rows[1:]:
        assert printed[label] == pytest.approx([float(v) for v in values], abs=5e-4)

    png = (out_dir / "matrix.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert f"wrote {out_dir / 'matrix.png'}" in err and f"wrote {out_dir / 'matrix.csv'}" in err
    assert "without semantics" in err  # pixels across media: the note says the values are noise


#: A throwaway local backend that is a model, not a baseline: it embeds images and texts into one space.
OPEN_MODEL = '''
import hashlib

import numpy as np

from embedsim.backends.base import BackendSpec

SPEC = BackendSpec(
    name="open", model_ids=("open-clip-like",), id_pattern=None, modalities=frozenset({"text", "image"}),
    local=True, key_env=(), dimensions=(8, 8), default_dimension=8, grouping="local: all items at once",
    factory="open_model:Embedder", description="an open multimodal model",
)


class Embedder:
    def __init__(self, model_id, dimension):
        self.model_id, self.dimension = model_id, dimension

    def embed(self, items):
        seeds = [int(hashlib.sha256(item.data).hexdigest()[:8], 16) for item in items]
        rows = np.stack([np.random.default_rng(s).normal(size=self.dimension) for s in seeds]).astype(np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)
'''


def test_only_a_baseline_is_called_a_baseline_without_semantics(tiles, tmp_path, capsys, monkeypatch) -> None:
    """A local model across media is a model (hf:, st: open weights): no "baseline without semantics" note,
    which the pixel baseline gets (test_matrix_prints_the_table_and_writes_png_and_csv)."""
    from embedsim import backends as registry

    site = tmp_path / "site"
    site.mkdir()
    (site / "open_model.py").write_text(OPEN_MODEL, encoding="utf-8")
    info = site / "open_model-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: open-model\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[embedsim.backends]\nopen = open_model:SPEC\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    registry.invalidate()
    try:
        code, out, err = run(capsys, "matrix", "--model", "open-clip-like", "--rows", str(tiles),
                             "--cols", "text:red", "text:blue")
    finally:
        monkeypatch.undo()
        registry.invalidate()
    assert code == 0 and out.splitlines()[0].split() == ["red", "blue"]
    assert "without semantics" not in err and "baseline" not in err


def test_matrix_all_pairs_with_explicit_paths_and_title(tiles, tmp_path, capsys) -> None:
    files = [str(tiles / f"grid_0{i}.png") for i in (1, 2, 3)]
    png, table = tmp_path / "h.png", tmp_path / "m.csv"
    code, out, err = run(capsys, "matrix", "--rows", *files, "--png", str(png), "--csv", str(table), "--title", "三枚")
    assert code == 0 and "without semantics" not in err
    lines = out.splitlines()
    assert lines[0].split() == ["grid_01", "grid_02", "grid_03"]
    assert [line.split()[i + 1] for i, line in enumerate(lines[1:])] == ["1.000"] * 3
    expected = similarity(get_embedder("pixels", 768), [load_item(f) for f in files])
    assert table.read_text(encoding="utf-8") == expected.to_csv()
    assert png.read_bytes() == render_heatmap(expected, "三枚")


def test_matrix_without_outputs_only_prints(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "matrix", "--rows", "text:cat", "text:cats", "text:dog")
    assert (code, err) == (0, "")
    assert out.splitlines()[0].split() == ["cat", "cats", "dog"]
    assert list(tmp_path.iterdir()) == []


def test_matrix_dimension_and_model_are_passed_on(capsys) -> None:
    code, out, _ = run(capsys, "matrix", "--rows", "text:a b", "--model", "pixels", "--dimension", "8")
    assert code == 0 and out.splitlines()[1].split()[-1] == "1.000"
    code, _, err = run(capsys, "matrix", "--rows", "text:a", "--dimension", "-3")
    assert code == 2 and "--dimension: -3 must be at least 1" in err


def test_matrix_from_a_dataset_selection(capsys) -> None:
    code, out, _ = run(capsys, "matrix", "--dataset", str(FACES), "--select", "person=barack_obama",
                       "--select", "medium=photo", "--cols", "text:happy")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["obama_1", "obama_2", "obama_3"]


def test_matrix_of_a_grid_only_dataset_says_how_to_use_its_tiles(capsys, tmp_path) -> None:
    (tmp_path / "manifest.toml").write_text('[[grid]]\nid = "g"\nfile = "face16.jpg"\nrows = 4\ncols = 4\n')
    (tmp_path / "face16.jpg").write_bytes((FACES / "face16.jpg").read_bytes())
    code, _, err = run(capsys, "matrix", "--dataset", str(tmp_path))
    assert code == 2 and "lists no [[item]] (grids are not rows)" in err and "embedsim split" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dataset", str(FACES), "--select", "persn=x"], "no [[item]] has a label 'persn'"),
        (["--dataset", str(FACES), "--select", "person"], "--select 'person': write NAME=VALUE"),
        (["--rows", "text:a", "--select", "person=x"], "--select filters a --dataset"),
    ],
)
def test_matrix_bad_dataset_selections(capsys, argv, message) -> None:
    code, out, err = run(capsys, "matrix", *argv)
    assert (code, out) == (2, "") and message in err


# --- errors --------------------------------------------------------------------------


def test_missing_file_is_named_and_text_prefix_suggested(tiles, capsys) -> None:
    code, out, err = run(capsys, "matrix", "--rows", str(tiles / "grid_01.png"), "happy.jpg")
    assert (code, out) == (2, "")
    assert err == "embedsim: error: happy.jpg: no such file or folder; to embed it as text, write text:happy.jpg\n"


def test_corrupt_and_empty_files_are_named(tmp_path, capsys) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    code, _, err = run(capsys, "matrix", "--rows", str(broken))
    assert code == 2 and err.startswith("embedsim: error: ") and str(broken) in err
    empty = tmp_path / "folder"
    empty.mkdir()
    code, _, err = run(capsys, "matrix", "--rows", str(empty))
    assert code == 2 and f"{empty}: folder has no files" in err
    code, _, err = run(capsys, "matrix", "--rows", "text:   ")
    assert code == 2 and "empty or whitespace" in err


def test_unwritable_output_is_named(tmp_path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(capsys, "matrix", "--rows", "text:a", "--csv", str(blocker / "m.csv"))
    assert code == 2 and f"{blocker / 'm.csv'}: cannot write" in err


def test_unknown_model_id(capsys) -> None:
    code, out, err = run(capsys, "matrix", "--rows", "text:a", "--model", "clip-vit")
    assert (code, out) == (2, "")
    assert err.startswith("embedsim: error: unknown model id 'clip-vit'") and "pixels" in err


def test_missing_gemini_key_says_which_variable_to_set(capsys, clean_env) -> None:
    code, _, err = run(capsys, "matrix", "--rows", "text:a", "--model", "gemini-embedding-2-preview")
    assert code == 2 and "GEMINI_API_KEY" in err and "Traceback" not in err
    # the command line names the variables and how to set them, not the Python API's api_key=
    assert "api_key=" not in err and "set the environment variable GEMINI_API_KEY (or GOOGLE_API_KEY)" in err
    assert "GEMINI_API_KEY=... embedsim matrix --model gemini-embedding-2-preview" in err


def test_gemini_model_through_the_loopback_emulator(emulator, capsys, monkeypatch) -> None:
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.setenv("GEMINI_API_KEY", "test-key-not-real")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
    code, out, err = run(capsys, "matrix", "--rows", "text:怒", "text:楽", "--model", "gemini-embedding-2-preview",
                         "--dimension", "128")
    assert code == 0, err
    assert out.splitlines()[0].split() == ["怒", "楽"]
    assert len(emulator.embed_calls) == 1


def test_cache_option_requests_only_inputs_not_cached_yet(emulator, capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "test-key-not-real")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
    common = ("--model", "gemini-embedding-2-preview", "--dimension", "128", "--cache", str(tmp_path / "cache"))
    first = run(capsys, "matrix", "--rows", "text:怒", "text:楽", *common)
    assert first[0] == 0, first[2]
    second = run(capsys, "matrix", "--rows", "text:怒", "text:楽", "text:哀", *common)
    assert second[0] == 0, second[2]
    bodies = [call.body for call in emulator.embed_calls]
    assert [len(body["requests"]) for body in bodies] == [2, 1]  # only 哀 was new
    assert first[1].splitlines()[1] in second[1]  # cached vectors give the same row


def test_usage_errors_exit_2_without_traceback(capsys) -> None:
    code, _, err = run(capsys)
    assert code == 2 and "required: COMMAND" in err
    code, _, err = run(capsys, "matrix", "--rows", "text:a", "--bogus")
    assert code == 2 and "unrecognized arguments: --bogus" in err


# --- help, version, entry points -----------------------------------------------------


def test_version(capsys) -> None:
    assert run(capsys, "--version") == (0, f"embedsim {__version__}\n", "")


def test_version_is_the_installed_distributions() -> None:
    """Regression: ``__version__`` was a literal beside pyproject.toml's, free to drift."""
    code = ("import importlib.metadata as m; m.version = lambda name: {'pytest-embedsim': '9.8.7'}[name]; "
            "import embedsim; print(embedsim.__version__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "9.8.7"
    from importlib.metadata import version

    assert __version__ == version("pytest-embedsim")


def test_help_documents_both_commands_and_the_input_rule(capsys) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "split" in out and "matrix" in out and "embedsim split face16.jpg" in out
    code, out, _ = run(capsys, "matrix", "--help")
    assert code == 0 and "text:WORDS" in out and "baseline, no semantics" in out and "GEMINI_API_KEY" in out


def test_python_dash_m_and_console_script(tmp_path) -> None:
    module = subprocess.run([sys.executable, "-m", "embedsim", "--help"], capture_output=True, text=True)
    assert module.returncode == 0 and module.stdout.startswith("usage: embedsim")
    script = Path(sys.executable).with_name("embedsim")
    if script.exists():
        result = subprocess.run([str(script), "matrix", "--rows", str(tmp_path / "x.png")], capture_output=True, text=True)
        assert result.returncode == 2
        assert result.stderr == f"embedsim: error: {tmp_path / 'x.png'}: no such file or folder; to embed it as text, write text:{tmp_path / 'x.png'}\n"


def test_format_table_aligns_wide_characters() -> None:
    matrix = SimilarityMatrix(
        np.array([[0.5, -0.25], [1.0, 0.0]]), ("怒った", "x"), ("楽", "Happy")
    )
    assert format_table(matrix).splitlines() == [
        "           楽   Happy",
        "怒った  0.500  -0.250",
        "x       1.000   0.000",
    ]


# --- bad input of the long tail: labels, names, outputs, sizes --------------------------------


def test_split_of_an_uneven_grid_names_the_command_line_option(tmp_path, capsys) -> None:
    grid = tmp_path / "odd.png"
    Image.new("RGB", (50, 48), (10, 20, 30)).save(grid)
    code, _, err = run(capsys, "split", str(grid), "--rows", "3", "--cols", "3", "-o", str(tmp_path / "t"))
    assert code == 2 and "pass --trim to drop them" in err and "trim=True" not in err


def test_split_of_an_avif_grid_cuts_an_image(tmp_path, capsys) -> None:
    pytest.importorskip("PIL.AvifImagePlugin")
    grid = tmp_path / "grid.avif"
    Image.open(write_grid(tmp_path / "grid.png")).save(grid, quality=100)
    code, out, err = run(capsys, "split", str(grid), "--rows", "4", "--cols", "4", "-o", str(tmp_path / "t"))
    assert (code, err) == (0, "") and len(out.splitlines()) == 16


def test_files_sharing_a_stem_are_labelled_by_their_path(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for folder, suffix in (("a", "webp"), ("b", "gif")):
        (tmp_path / folder).mkdir()
        write_grid(tmp_path / folder / f"photo.{suffix}", 1, 1)
    code, out, err = run(capsys, "matrix", "--rows", "a/photo.webp", "b/photo.gif")
    assert code == 0, err
    assert out.splitlines()[0].split() == ["a/photo.webp", "b/photo.gif"]


@pytest.mark.parametrize("twice", [["text:a", "text:a"], ["IMG", "IMG"]])
def test_an_input_given_twice_is_refused(tmp_path, capsys, twice) -> None:
    image = str(write_grid(tmp_path / "p.png", 1, 1))
    code, out, err = run(capsys, "matrix", "--rows", *[image if a == "IMG" else a for a in twice])
    assert (code, out) == (2, "") and "given more than once" in err and "give each input once" in err


def test_a_text_argument_that_is_not_utf8_is_refused(capsys) -> None:
    code, out, err = run(capsys, "matrix", "--rows", "text:caf\udce9", "text:ok")
    assert (code, out) == (2, "") and "lone surrogate" in err and "give valid UTF-8 text" in err


@pytest.mark.skipif(os.fsencode("\udce9") != b"\xe9", reason="needs a bytes file system encoding")
def test_a_folder_with_a_non_utf8_file_name_draws_and_writes(tmp_path, capsys) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    write_grid(folder / "plain.png", 1, 1)
    write_grid(Path(os.fsdecode(bytes(folder) + b"/caf\xe9.png")), 2, 2)
    code, out, err = run(capsys, "matrix", "--rows", str(folder), "-o", str(tmp_path / "out"))
    assert code == 0, err
    assert out.splitlines()[0].split() == ["caf\\xe9", "plain"]
    assert (tmp_path / "out" / "matrix.csv").read_text(encoding="utf-8").splitlines()[0] == ",caf\\xe9,plain"
    assert (tmp_path / "out" / "matrix.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.skipif(not Path("/dev/zero").exists() or not hasattr(os, "mkfifo"), reason="needs /dev/zero and FIFOs")
def test_devices_and_fifos_are_refused(tmp_path, capsys) -> None:
    os.mkfifo(tmp_path / "pipe.png")
    for special in ("/dev/zero", str(tmp_path / "pipe.png")):
        code, out, err = run(capsys, "matrix", "--rows", special)
        assert (code, out) == (2, "") and f"{special}: is not a regular file" in err


def test_the_dimension_is_bounded(capsys) -> None:
    code, out, err = run(capsys, "matrix", "--rows", "text:a", "--dimension", "100000000")
    assert (code, out) == (2, "") and "dimension 100000000 is out of range; use an integer from 1 to" in err


def test_an_output_that_is_an_input_is_refused_and_the_input_kept(tiles, capsys) -> None:
    before = (tiles / "grid_01.png").read_bytes()
    code, out, err = run(capsys, "matrix", "--rows", str(tiles / "grid_01.png"), str(tiles / "grid_02.png"),
                         "--png", str(tiles / "grid_01.png"))
    assert (code, out) == (2, "") and f"--png {tiles / 'grid_01.png'}: is the input" in err
    assert (tiles / "grid_01.png").read_bytes() == before


def test_two_outputs_on_one_path_are_refused(tiles, tmp_path, capsys) -> None:
    same = tmp_path / "m.out"
    code, _, err = run(capsys, "matrix", "--rows", str(tiles), "--png", str(same), "--csv", str(same))
    assert code == 2 and f"--csv {same}: is also the --png output" in err and not same.exists()


def test_outputs_inside_an_input_folder_are_refused(tiles, capsys) -> None:
    code, _, err = run(capsys, "matrix", "--rows", str(tiles), "-o", str(tiles))
    assert code == 2 and "is inside the input folder" in err and not (tiles / "matrix.csv").exists()
    code, _, _ = run(capsys, "matrix", "--rows", str(tiles))  # the folder still works as rows
    assert code == 0


def test_an_unwritable_cache_warns_once_and_prints_the_matrix(emulator, capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "test-key-not-real")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
    (tmp_path / "cache").write_text("a file")
    code, out, err = run(capsys, "matrix", "--rows", "text:怒", "text:楽", "--model", "gemini-embedding-2-preview",
                         "--dimension", "128", "--cache", str(tmp_path / "cache"))
    assert code == 0 and out.splitlines()[0].split() == ["怒", "楽"]
    assert err.count("embedsim: warning: embedding cache") == 1 and "is a file, not a folder" in err


def test_a_timeout_too_long_for_the_clocks_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Regression: ``--timeout 1e10`` was accepted and the call raised OverflowError."""
    code, out, err = run(capsys, "matrix", "--rows", "text:a", "--model", "gemini-embedding-2", "--timeout", "1e10")
    assert code == 2 and out == ""
    assert "argument --timeout: expected at most 86400 seconds (a day; 0: no limit), got '1e10'" in err
    assert "Traceback" not in err
