"""Tests of the heatmap: Japanese glyphs, determinism, layout, atomic save."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import warnings

import matplotlib
import numpy as np
import pytest
from matplotlib import font_manager, ft2font
from matplotlib.figure import Figure
from PIL import Image

from embedsim.errors import InputError
from embedsim.matrix import SimilarityMatrix, cosine_matrix
from embedsim.snapshot.heatmap import (
    ANNOTATE_MAX,
    DPI,
    JAPANESE_FONT_FAMILY,
    colour_range,
    default_title,
    heatmap_figure,
    relative_luminance,
    render_heatmap,
    save_heatmap,
)

EMOTIONS = ("怒", "哀", "楽")


def faces_by_emotions(n_rows: int = 16, seed: int = 3) -> SimilarityMatrix:
    values = np.random.default_rng(seed).uniform(0.2, 0.5, size=(n_rows, 3))
    rows = tuple(f"face_{i:02d}" for i in range(1, n_rows + 1))
    return SimilarityMatrix(values, rows, EMOTIONS, model_id="gemini-embedding-2-preview")


def all_pairs(n: int, label: str = "item") -> SimilarityMatrix:
    vectors = np.random.default_rng(n).normal(size=(n, 12))
    return cosine_matrix(vectors, [f"{label}{i}" for i in range(n)], model_id="pixels")


def png_text_chunks(png: bytes) -> list[bytes]:
    """Chunk types of a PNG that carry text or time metadata."""
    chunks, offset = [], 8
    while offset < len(png):
        length = int.from_bytes(png[offset : offset + 4], "big")
        kind = png[offset + 4 : offset + 8]
        if kind in (b"tEXt", b"zTXt", b"iTXt", b"tIME"):
            chunks.append(kind)
        offset += 12 + length
    return chunks


# --- Japanese glyphs -----------------------------------------------------------------


def test_japanese_labels_render_without_missing_glyph_warnings() -> None:
    matrix = faces_by_emotions(5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # a global font without CJK glyphs must not leak into the render
        with matplotlib.rc_context({"font.family": "DejaVu Sans"}):
            render_heatmap(matrix, title="怒 哀 楽 と顔")


def test_the_missing_glyph_check_can_fail() -> None:
    """Control: the same text in DejaVu Sans does warn, so the test above means something."""
    figure = Figure()
    figure.text(0.5, 0.5, "怒", family="DejaVu Sans")
    with pytest.warns(UserWarning, match="missing from font"):
        figure.savefig(io.BytesIO(), format="png")


def test_heatmap_font_covers_the_japanese_glyphs() -> None:
    figure = heatmap_figure(faces_by_emotions(3))
    label = figure.axes[0].get_xticklabels()[0]
    assert label.get_text() == "怒"
    path = font_manager.findfont(label.get_fontproperties(), fallback_to_default=False)
    assert path.endswith("ipaexg.ttf")
    assert ft2font.FT2Font(path).family_name == JAPANESE_FONT_FAMILY
    charmap = ft2font.FT2Font(path).get_charmap()
    assert all(ord(c) in charmap for c in "怒哀楽顔face_0123456789.-−")


def test_render_leaves_global_matplotlib_state_alone() -> None:
    before = dict(matplotlib.rcParams)
    render_heatmap(faces_by_emotions(3))
    assert dict(matplotlib.rcParams) == before


# --- determinism ---------------------------------------------------------------------

RENDER_SCRIPT = """
import hashlib, sys
import numpy as np
from embedsim.snapshot.heatmap import render_heatmap
from embedsim.matrix import SimilarityMatrix
values = np.random.default_rng(3).uniform(0.2, 0.5, size=(16, 3))
rows = tuple(f"face_{i:02d}" for i in range(1, 17))
png = render_heatmap(SimilarityMatrix(values, rows, ("怒", "哀", "楽"), model_id="gemini-embedding-2-preview"))
print(hashlib.sha256(png).hexdigest())
print("pyplot" if "matplotlib.pyplot" in sys.modules else "no pyplot")
print("fontja imported" if "matplotlib_fontja" in sys.modules else "fontja not imported")
"""


def test_same_matrix_gives_identical_png_bytes_here_and_in_a_fresh_interpreter() -> None:
    first = render_heatmap(faces_by_emotions())
    assert render_heatmap(faces_by_emotions()) == first
    result = subprocess.run([sys.executable, "-c", RENDER_SCRIPT], capture_output=True, text=True, check=True)
    digest, pyplot, fontja = result.stdout.split("\n")[:3]
    assert digest == hashlib.sha256(first).hexdigest()
    assert pyplot == "no pyplot"
    assert fontja == "fontja not imported"  # importing it would change the user's global font


def test_user_rc_settings_do_not_change_the_bytes() -> None:
    plain = render_heatmap(faces_by_emotions(4))
    odd = {"figure.facecolor": "red", "image.cmap": "gray", "font.size": 20, "savefig.bbox": "tight"}
    with matplotlib.rc_context(odd):
        assert render_heatmap(faces_by_emotions(4)) == plain


def test_png_has_no_metadata_chunks() -> None:
    png = render_heatmap(faces_by_emotions(4))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png_text_chunks(png) == []


def test_different_values_give_different_bytes() -> None:
    assert render_heatmap(faces_by_emotions(4, seed=1)) != render_heatmap(faces_by_emotions(4, seed=2))


# --- layout and content --------------------------------------------------------------


def test_default_title_names_the_model_and_shape() -> None:
    matrix = faces_by_emotions(16)
    assert default_title(matrix) == "gemini-embedding-2-preview\ncosine similarity, 16 x 3"
    assert heatmap_figure(matrix).get_suptitle() == default_title(matrix)
    assert heatmap_figure(matrix, title="実験2").get_suptitle() == "実験2"
    unnamed = SimilarityMatrix(np.eye(2), ("a", "b"), ("a", "b"), all_pairs=True)
    assert default_title(unnamed).startswith("unknown model\n")


def test_small_matrix_cells_are_annotated_with_readable_colours() -> None:
    matrix = all_pairs(8)
    figure = heatmap_figure(matrix)
    axes = figure.axes[0]
    texts = axes.texts
    assert [t.get_text() for t in texts] == [f"{v:.3f}" for v in matrix.values.ravel()]
    image = axes.images[0]
    for text in texts:
        row, col = round(text.get_position()[1]), round(text.get_position()[0])
        cell = relative_luminance(image.cmap(image.norm(matrix.values[row, col])))
        ink = relative_luminance(matplotlib.colors.to_rgba(text.get_color()))
        contrast = (max(cell, ink) + 0.05) / (min(cell, ink) + 0.05)
        assert contrast >= 4.5, (text.get_text(), text.get_color(), contrast)
    assert {t.get_color() for t in texts} == {"black", "white"}


def test_large_matrix_is_not_annotated_but_keeps_its_labels() -> None:
    assert len(heatmap_figure(faces_by_emotions(ANNOTATE_MAX)).axes[0].texts) == ANNOTATE_MAX * 3
    n = ANNOTATE_MAX + 1
    axes = heatmap_figure(all_pairs(n)).axes[0]
    assert len(axes.texts) == 0
    assert [t.get_text() for t in axes.get_yticklabels()] == [f"item{i}" for i in range(n)]


def test_all_pairs_colour_scale_ignores_the_unit_diagonal() -> None:
    matrix = all_pairs(6)
    low, high = heatmap_figure(matrix).axes[0].images[0].get_clim()
    off_diagonal = matrix.values[~np.eye(6, dtype=bool)]
    assert (low, high) == pytest.approx((off_diagonal.min(), off_diagonal.max()))
    assert high < 0.99


def test_a_given_colour_scale_replaces_the_data_range() -> None:
    matrix = faces_by_emotions(4)
    assert heatmap_figure(matrix, vmin=-1.0, vmax=1.0).axes[0].images[0].get_clim() == (-1.0, 1.0)
    assert heatmap_figure(matrix, vmin=-1.0).axes[0].images[0].get_clim() == (-1.0, colour_range(matrix)[1])
    assert render_heatmap(matrix, vmin=-1.0, vmax=1.0) != render_heatmap(matrix)


def test_long_column_labels_are_rotated_short_ones_are_not() -> None:
    short = heatmap_figure(faces_by_emotions(3)).axes[0].get_xticklabels()
    assert {t.get_rotation() for t in short} == {0.0}
    matrix = SimilarityMatrix(np.zeros((2, 2)) + [[0.1, 0.2], [0.3, 0.4]], ("a", "b"),
                              ("a long column label", "怒った顔の写真"))
    long = heatmap_figure(matrix).axes[0].get_xticklabels()
    assert {t.get_rotation() for t in long} == {45.0}


def test_figure_size_grows_with_the_matrix() -> None:
    def inches(matrix: SimilarityMatrix) -> tuple[float, float]:
        return tuple(heatmap_figure(matrix).get_size_inches())

    small, tall, square = inches(faces_by_emotions(5)), inches(faces_by_emotions(16)), inches(all_pairs(12))
    assert tall[1] > small[1] * 1.8
    assert square[0] > small[0] * 1.5
    assert max(inches(all_pairs(60))) < 15  # big matrices shrink their cells
    png = Image.open(io.BytesIO(render_heatmap(faces_by_emotions(5))))
    assert png.size == pytest.approx([x * DPI for x in small], abs=1)


@pytest.mark.parametrize(
    ("values", "message"),
    [(np.zeros((0, 3)), "empty 0 x 3"), (np.array([[0.1, np.nan]]), "NaN or infinite")],
)
def test_unusable_matrices_are_refused(values: np.ndarray, message: str) -> None:
    rows = tuple(f"r{i}" for i in range(values.shape[0]))
    cols = tuple(f"c{j}" for j in range(values.shape[1]))
    with pytest.raises(InputError, match=message):
        render_heatmap(SimilarityMatrix(values, rows, cols))


# --- save ----------------------------------------------------------------------------


def test_save_writes_the_rendered_bytes_and_creates_folders(tmp_path) -> None:
    matrix = faces_by_emotions(4)
    path = save_heatmap(matrix, tmp_path / "new" / "deeper" / "h.png", title="t")
    assert path == tmp_path / "new" / "deeper" / "h.png"
    assert path.read_bytes() == render_heatmap(matrix, title="t")
    assert sorted(p.name for p in path.parent.iterdir()) == ["h.png"]


def test_failed_save_leaves_no_temporary_file(tmp_path) -> None:
    target = tmp_path / "taken.png"
    target.mkdir()  # a folder in the way: the final rename fails
    with pytest.raises(OSError):
        save_heatmap(faces_by_emotions(3), target)
    assert [p.name for p in tmp_path.iterdir()] == ["taken.png"]
    assert target.is_dir()
