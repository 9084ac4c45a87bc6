"""Heatmap PNGs of similarity matrices: headless, Japanese-capable, byte-for-byte deterministic.

Rendering uses a private :class:`~matplotlib.figure.Figure` on the Agg canvas (no
pyplot, no global backend switch) under matplotlib's default style, set for the
duration of the render only, with IPAexGothic from ``matplotlib-fontja`` as the font,
so labels such as 怒 哀 楽 are real glyphs. The package is located without importing
it, because importing it changes the user's global font settings.
"""

from __future__ import annotations

import importlib.util
import io
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import numpy as np
from matplotlib import font_manager, rc_context, style
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from embedsim.errors import InputError
from embedsim.files import atomic_write
from embedsim.matrix import SimilarityMatrix

#: The family used for every text in the heatmap; covers kana, kanji and Latin.
JAPANESE_FONT_FAMILY = "IPAexGothic"
#: Cells are annotated with their value when the matrix has at most this many rows and columns.
ANNOTATE_MAX = 20
#: Above this many rows or columns a heatmap is an image without per-row labels or cell grid, its
#: matrix averaged over blocks of cells to at most :data:`DISPLAY_MAX` x :data:`DISPLAY_MAX` (for
#: display only: the matrix table compares every cell).
IMAGE_ABOVE = 200
DISPLAY_MAX = 600
COLORMAP = "viridis"
COLORBAR_LABEL = "cosine similarity"
DPI = 100

_CELL_INCHES = 0.62  # side of an annotated cell of an all-pairs (square) matrix
_COLORBAR_INCHES = 1.1
_MAX_GRID_INCHES = 12.0  # large matrices shrink their cells to stay within this
_LABEL_POINTS = 10.0


@cache
def japanese_font_path() -> Path:
    """Path of ``ipaexg.ttf`` shipped by matplotlib-fontja, registered with matplotlib."""
    spec = importlib.util.find_spec("matplotlib_fontja")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / "fonts" / "ipaexg.ttf"
        if path.is_file():
            font_manager.fontManager.addfont(str(path))
            return path
    raise InputError(
        "the Japanese font of matplotlib-fontja was not found; install it with "
        "'pip install matplotlib-fontja'"
    )


def render_heatmap(matrix: SimilarityMatrix, title: str | None = None, *, vmin: float | None = None,
                   vmax: float | None = None, cmap: str = COLORMAP, label: str = COLORBAR_LABEL) -> bytes:
    """The heatmap of ``matrix`` as PNG bytes; equal inputs give equal bytes. ``cmap`` and
    ``label`` (the colour bar's) default to the cosine-similarity ones.

    The user's matplotlib settings do not leak in: drawing and saving run under
    matplotlib's default style, and the PNG carries no metadata.
    """
    with _heatmap_style():
        figure = heatmap_figure(matrix, title, vmin=vmin, vmax=vmax, cmap=cmap, label=label)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def heatmap_figure(matrix: SimilarityMatrix, title: str | None = None, *, vmin: float | None = None,
                   vmax: float | None = None, cmap: str = COLORMAP, label: str = COLORBAR_LABEL) -> Figure:
    """The heatmap of ``matrix`` as a matplotlib :class:`Figure` on an Agg canvas.

    ``title`` defaults to :func:`default_title`. Cells carry their value when the
    matrix is at most :data:`ANNOTATE_MAX` x :data:`ANNOTATE_MAX`. The colour scale
    runs from ``vmin`` to ``vmax``, by default :func:`colour_range` of the matrix
    (pass a common range to compare several heatmaps by colour).
    """
    n_rows, n_cols = matrix.shape
    if n_rows == 0 or n_cols == 0:
        raise InputError(f"cannot draw a heatmap of an empty {n_rows} x {n_cols} matrix")
    if max(n_rows, n_cols) > IMAGE_ABOVE:
        values = downsampled(matrix.values, DISPLAY_MAX)
    else:
        values = np.asarray(matrix.values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise InputError("cannot draw a heatmap of a matrix with NaN or infinite values")
    with _heatmap_style():
        low, high = colour_range(matrix) if vmin is None or vmax is None else (vmin, vmax)
        title = title if title is not None else default_title(matrix)
        if max(n_rows, n_cols) > IMAGE_ABOVE:
            return _draw_image(matrix, values, title, low if vmin is None else vmin, high if vmax is None else vmax,
                               cmap, label)
        return _draw(matrix, values, title, low if vmin is None else vmin, high if vmax is None else vmax, cmap, label)


def downsampled(values: np.ndarray, most: int) -> np.ndarray:
    """``values`` averaged over blocks of rows and columns to at most ``most`` x ``most`` (float64;
    NaN or infinite cells stay visible as such)."""
    array = np.asarray(values)
    for axis in (1, 0):  # along the rows first: contiguous memory, and the second pass is small
        size = array.shape[axis]
        if size > most:
            edges = np.linspace(0, size, most + 1).astype(np.intp)[:-1]
            counts = np.diff(np.r_[edges, size]).astype(np.float64)
            sums = np.add.reduceat(array, edges, axis=axis, dtype=np.float64)
            array = sums / (counts[:, None] if axis == 0 else counts[None, :])
    return np.asarray(array, dtype=np.float64)


def _draw_image(matrix: SimilarityMatrix, values: np.ndarray, title: str, low: float, high: float, cmap: str,
                bar_label: str) -> Figure:
    """A large matrix as an image: axes in row and column numbers, no per-cell text or grid."""
    n_rows, n_cols = matrix.shape
    title_lines = title.split("\n")
    aspect = n_rows / n_cols
    grid_width = 8.0 if aspect <= 1 else 8.0 / aspect
    grid_height = grid_width * aspect
    width = max(grid_width + 1.2 + _COLORBAR_INCHES, _text_inches(title_lines, 12) + 0.4)
    height = grid_height + 1.0 + 0.25 * len(title_lines)
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(values, cmap=cmap, vmin=low, vmax=high, aspect="auto", interpolation="nearest",
                        extent=(0, n_cols, n_rows, 0))
    axes.set_xlabel(f"column (1 - {n_cols:,})")
    axes.set_ylabel(f"row (1 - {n_rows:,})")
    if values.shape != (n_rows, n_cols):
        axes.set_title(f"averaged over blocks of ~{n_rows / values.shape[0]:.3g} x {n_cols / values.shape[1]:.3g} "
                       "cells for display", fontsize=9)
    figure.suptitle(title, fontsize=12)
    colorbar = figure.colorbar(image, ax=axes, fraction=0.9 / width, pad=0.1 / width)
    colorbar.set_label(bar_label)
    colorbar.outline.set_visible(False)
    return figure


def save_heatmap(matrix: SimilarityMatrix, path: str | Path, title: str | None = None) -> Path:
    """Write the heatmap PNG to ``path`` atomically (temp file + rename); return the path."""
    return atomic_write(path, render_heatmap(matrix, title))


def default_title(matrix: SimilarityMatrix) -> str:
    """Two lines: the model id (``unknown model`` when empty), then ``cosine similarity, R x C``."""
    n_rows, n_cols = matrix.shape
    return f"{matrix.model_id or 'unknown model'}\ncosine similarity, {n_rows} x {n_cols}"


@contextmanager
def _heatmap_style() -> Iterator[None]:
    """matplotlib's default style plus the Japanese font, for this block only; labels and
    titles are drawn as they are (no mathtext: ``$x_$`` is text, not a formula)."""
    japanese_font_path()
    with style.context("default"), rc_context({"font.family": [JAPANESE_FONT_FAMILY, "DejaVu Sans"],
                                               "text.parse_math": False}):
        yield


def _draw(matrix: SimilarityMatrix, values: np.ndarray, title: str, low: float, high: float, cmap: str,
          bar_label: str) -> Figure:
    n_rows, n_cols = values.shape
    cell_width, cell_height = _cell_inches(n_rows, n_cols, square=matrix.all_pairs)
    label_points = min(_LABEL_POINTS, max(5.0, cell_height * 72 * 0.6))
    row_width = _text_inches(matrix.row_labels, label_points)
    col_width = _text_inches(matrix.col_labels, label_points)
    rotate = col_width > cell_width * 0.95
    col_height = col_width * 0.75 + 0.25 if rotate else label_points / 72 + 0.25
    title_lines = title.split("\n")

    grid_width, grid_height = n_cols * cell_width, n_rows * cell_height
    width = max(row_width + 0.3 + grid_width + _COLORBAR_INCHES, _text_inches(title_lines, 12) + 0.4, 3.5)
    height = max(grid_height + col_height + 0.3 + 0.25 * len(title_lines), 2.5)

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(values, cmap=cmap, vmin=low, vmax=high, aspect="auto", interpolation="nearest")

    axes.set_xticks(range(n_cols), matrix.col_labels, fontsize=label_points)
    axes.set_yticks(range(n_rows), matrix.row_labels, fontsize=label_points)
    if rotate:
        axes.tick_params(axis="x", labelrotation=45)
        for label in axes.get_xticklabels():
            label.set_horizontalalignment("right")
            label.set_rotation_mode("anchor")
    axes.set_xticks(np.arange(n_cols + 1) - 0.5, minor=True)
    axes.set_yticks(np.arange(n_rows + 1) - 0.5, minor=True)
    axes.tick_params(which="both", length=0)
    axes.grid(which="minor", color="white", linewidth=min(1.0, cell_height * 72 * 0.035))
    axes.spines[:].set_visible(False)
    figure.suptitle(title, fontsize=12)

    if n_rows <= ANNOTATE_MAX and n_cols <= ANNOTATE_MAX:
        _annotate(axes, image, values, label_points)
    colorbar = figure.colorbar(image, ax=axes, fraction=0.9 / width, pad=0.1 / width, aspect=max(12.0, grid_height / 0.2))
    colorbar.set_label(bar_label)
    colorbar.outline.set_visible(False)
    return figure


def _cell_inches(n_rows: int, n_cols: int, square: bool) -> tuple[float, float]:
    """Cell width and height: room for a value when annotated, smaller for big matrices."""
    width, height = (_CELL_INCHES, _CELL_INCHES) if square else (0.8, 0.42)
    scale = min(1.0, _MAX_GRID_INCHES / (n_cols * width), _MAX_GRID_INCHES / (n_rows * height))
    return width * scale, height * scale


def _annotate(axes: Axes, image: AxesImage, values: np.ndarray, points: float) -> None:
    """Write each value on its cell, in black or white, whichever contrasts more."""
    colours = image.cmap(image.norm(values))
    for (i, j), value in np.ndenumerate(values):
        colour = "black" if relative_luminance(colours[i, j]) > _BLACK_OR_WHITE else "white"  # type: ignore[call-overload,arg-type]
        axes.text(j, i, f"{value:.3f}", ha="center", va="center", fontsize=points * 0.9, color=colour)


def relative_luminance(rgba: Sequence[float]) -> float:
    """WCAG 2 relative luminance of an sRGB colour with channels in 0..1."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgba[:3]]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


# Above this luminance black text contrasts more than white: (L + 0.05) / 0.05 = 1.05 / (L + 0.05).
_BLACK_OR_WHITE = (1.05 * 0.05) ** 0.5 - 0.05


def colour_range(matrix: SimilarityMatrix) -> tuple[float, float]:
    """The default colour scale: the data range without the diagonal of an all-pairs
    matrix (always 1), so the off-diagonal differences stay visible (read in blocks of rows)."""
    values = np.asarray(matrix.values)
    n = values.shape[0]
    if matrix.all_pairs and n > 1:
        low, high = np.inf, -np.inf
        step = max(1, (1 << 22) // max(1, values.shape[1]))
        for r0 in range(0, n, step):
            block = np.array(values[r0:r0 + step], dtype=np.float64)
            rows = np.arange(block.shape[0])
            inside = rows + r0 < values.shape[1]
            block[rows[inside], rows[inside] + r0] = np.nan
            low, high = min(low, float(np.nanmin(block))), max(high, float(np.nanmax(block)))
    else:
        low, high = float(values.min()), float(values.max())
    if high - low < 1e-6:
        low, high = low - 0.05, high + 0.05
    return low, high


def _text_inches(texts: Sequence[str], points: float) -> float:
    """Rough width of the widest text: wide (CJK) characters count as 1 em, others 0.6 em."""
    def ems(text: str) -> float:
        return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6 for c in text)

    return max((ems(t) for t in texts), default=0.0) * points / 72
