"""Heatmap snapshot comparison that holds across matplotlib versions.

Two renderings of one matrix by different matplotlib releases draw the same cells in the same
colours, but text layout (font hinting, label and colour-bar placement) moves by a few pixels:
a plain pixel RMS then reports about 41 for pictures that mean the same. This comparison lets
every pixel match any pixel of the other image within :data:`SHIFT_PIXELS` (per channel, in both
directions) and takes the RMS of what is left: a shift of up to that many pixels costs nothing,
while a cell whose colour changed still counts over its whole area (a cell is tens of pixels
wide). ``SHIFT_PIXELS`` comes from measured differences between the supported matplotlib
releases: the spec's 11 heatmaps rendered by matplotlib 3.9.0 against snapshots made with 3.11.2
give a plain RMS of 40-49 and, with shifts of 1, 2, 4 and 6 pixels allowed, at most 34, 26, 7.0
and 0.81 (the tolerance is 2). Sizes may differ by up to ``SHIFT_PIXELS`` too.

An RMS over the whole picture dilutes one changed cell of a large matrix below the tolerance
(a 60 x 60 heatmap: 1.9 for a cell pair turned from 0.605 to -0.15), so the worst
:data:`WINDOW_PIXELS`-square area is held to :data:`LOCAL_FACTOR` x the tolerance as well:
between matplotlib 3.9.0 and 3.11.2 the spec's heatmaps reach at most 23 there, one cell pair
changed as above 95 (60 x 60), 87 (100 x 100), 61 (150 x 150); 0.605 -> 0.3 gives 58 and 42
(60, 100). A smaller change, or a cell of a larger matrix, can stay within the tolerance: the
matrix table (``.matrix.tsv``) is the authority on values, the heatmap on the picture.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

#: How far (pixels, at the snapshot's 100 dpi) a pixel may move between two renderings.
SHIFT_PIXELS = 6
#: Side of the square areas whose RMS is held to :data:`LOCAL_FACTOR` x the tolerance.
WINDOW_PIXELS = 8
#: The worst area's RMS may be this many times the (whole-picture) tolerance: 40 for the default 2.
LOCAL_FACTOR = 20.0


def rgb(png: bytes) -> np.ndarray:
    """A PNG's pixels as an ``H x W x 3`` array of 0-255 integers (``OSError`` if unreadable)."""
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB")).astype(np.int16)


def _envelope(image: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """Per channel, the lowest and highest value within ``shift`` pixels (a square window)."""
    low, high = image.copy(), image.copy()
    for axis in (0, 1):
        padded_low = np.concatenate([low.take([0] * shift, axis), low, low.take([-1] * shift, axis)], axis)
        padded_high = np.concatenate([high.take([0] * shift, axis), high, high.take([-1] * shift, axis)], axis)
        size = image.shape[axis]
        windows = [np.take(padded_low, range(offset, offset + size), axis) for offset in range(2 * shift + 1)]
        low = np.minimum.reduce(windows)
        windows = [np.take(padded_high, range(offset, offset + size), axis) for offset in range(2 * shift + 1)]
        high = np.maximum.reduce(windows)
    return low, high


def _excess(image: np.ndarray, other: np.ndarray, shift: int) -> np.ndarray:
    """How far each value of ``image`` lies outside the range ``other`` has near that pixel."""
    low, high = _envelope(other, shift)
    return np.maximum(low - image, 0) + np.maximum(image - high, 0)


def shifted_excess(expected: np.ndarray, actual: np.ndarray, shift: int = SHIFT_PIXELS) -> np.ndarray:
    """Per pixel and channel, what differs between two same-size images once every pixel may
    match any pixel within ``shift`` of it in the other image; symmetric; 0 for a shifted copy."""
    return np.maximum(_excess(actual, expected, shift), _excess(expected, actual, shift)).astype(np.float64)


def shifted_rms(expected: np.ndarray, actual: np.ndarray, shift: int = SHIFT_PIXELS) -> float:
    """RMS (0-255 units) of :func:`shifted_excess` over the whole picture."""
    return float(np.sqrt(np.mean(shifted_excess(expected, actual, shift) ** 2)))


def worst_area_rms(excess: np.ndarray, window: int = WINDOW_PIXELS) -> float:
    """The largest RMS of ``excess`` over any ``window`` x ``window`` square of the picture."""
    squares = (excess ** 2).mean(axis=2)
    window = min(window, *squares.shape)
    sums = np.pad(squares.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    boxes = sums[window:, window:] - sums[:-window, window:] - sums[window:, :-window] + sums[:-window, :-window]
    return float(np.sqrt(max(float(boxes.max()), 0.0) / (window * window)))


def difference_image(expected: np.ndarray, actual: np.ndarray) -> bytes:
    """Absolute pixel difference, amplified 10x (as matplotlib's ``save_diff_image``), as PNG."""
    diff = np.clip(np.abs(expected - actual) * 10, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(diff, "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def same_size(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both images grown to the larger height and width by repeating their last row / column
    (a release may round the figure's pixel size the other way: 554 vs 555 px)."""
    height, width = max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1])

    def grow(image: np.ndarray) -> np.ndarray:
        return np.pad(image, ((0, height - image.shape[0]), (0, width - image.shape[1]), (0, 0)), mode="edge")

    return grow(a), grow(b)


def compare_images(actual_png: bytes, expected_png: bytes, tolerance: float) -> tuple[str, bytes | None]:
    """Why ``actual_png`` differs from ``expected_png`` (empty when :func:`shifted_rms` is within
    ``tolerance``) and the amplified difference image when the sizes agree."""
    if actual_png == expected_png:
        return "", None
    try:
        actual, expected = rgb(actual_png), rgb(expected_png)
    except OSError as exc:
        return f"cannot read the images: {exc}", None
    if any(abs(a - e) > SHIFT_PIXELS for a, e in zip(actual.shape, expected.shape)):
        return (f"image size changed: {actual.shape[1]}x{actual.shape[0]} now, "
                f"{expected.shape[1]}x{expected.shape[0]} in the snapshot"), None
    actual, expected = same_size(actual, expected)
    excess = shifted_excess(expected, actual)
    rms = float(np.sqrt(np.mean(excess ** 2)))
    if rms > tolerance:
        return (f"images differ: RMS {rms:.3f} > tolerance {tolerance:g} "
                f"(pixels may move up to {SHIFT_PIXELS} px)"), difference_image(expected, actual)
    local = worst_area_rms(excess)
    if local > LOCAL_FACTOR * tolerance:
        return (f"images differ in one area: RMS {local:.3f} over {WINDOW_PIXELS} x {WINDOW_PIXELS} px > "
                f"{LOCAL_FACTOR:g} x tolerance {tolerance:g} (a changed cell; the whole picture: RMS {rms:.3f}; "
                f"pixels may move up to {SHIFT_PIXELS} px)"), difference_image(expected, actual)
    return "", None
