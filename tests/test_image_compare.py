"""embedsim.snapshot.image_compare: heatmap snapshots mean the same across matplotlib releases."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from embedsim.snapshot import DEFAULT_IMAGE_TOLERANCE
from embedsim.snapshot.image_compare import SHIFT_PIXELS, compare_images, shifted_rms

CELL = 40


def grid_image(colours: np.ndarray, offset: tuple[int, int] = (0, 0), margin: int = 30) -> np.ndarray:
    """A white picture with a grid of coloured cells (a heatmap without its text) at ``offset``."""
    rows, cols = colours.shape[:2]
    image = np.full((rows * CELL + 2 * margin, cols * CELL + 2 * margin, 3), 255, dtype=np.int16)
    top, left = margin + offset[0], margin + offset[1]
    image[top:top + rows * CELL, left:left + cols * CELL] = np.repeat(np.repeat(colours, CELL, 0), CELL, 1)
    return image


def png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image.astype(np.uint8), "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


COLOURS = np.random.default_rng(0).integers(0, 256, (4, 4, 3))


@pytest.mark.parametrize("offset", [(0, SHIFT_PIXELS), (SHIFT_PIXELS, -2), (1, 1)])
def test_a_layout_shift_of_a_few_pixels_matches(offset: tuple[int, int]) -> None:
    expected, actual = grid_image(COLOURS), grid_image(COLOURS, offset)
    assert shifted_rms(expected, actual, 0) > DEFAULT_IMAGE_TOLERANCE  # a plain pixel RMS would fail
    assert compare_images(png(actual), png(expected), DEFAULT_IMAGE_TOLERANCE) == ("", None)


def test_one_cell_of_another_colour_does_not_match() -> None:
    changed = COLOURS.copy()
    changed[2, 1] = 255 - changed[2, 1]
    failure, diff = compare_images(png(grid_image(changed, (0, 2))), png(grid_image(COLOURS)), DEFAULT_IMAGE_TOLERANCE)
    assert failure.startswith("images differ: RMS") and diff is not None


def test_a_pixel_more_or_less_in_size_matches_a_bigger_change_does_not() -> None:
    expected = grid_image(COLOURS)
    assert compare_images(png(expected[:, :-1]), png(expected), DEFAULT_IMAGE_TOLERANCE) == ("", None)
    failure, diff = compare_images(png(expected[:, : -SHIFT_PIXELS - 1]), png(expected), DEFAULT_IMAGE_TOLERANCE)
    assert failure.startswith("image size changed") and diff is None


@pytest.mark.parametrize("n", [60, 100])
def test_one_changed_cell_of_a_large_heatmap_does_not_match(n: int) -> None:
    """A 60 x 60 heatmap with one cell pair changed from 0.605 to -0.15 matched its
    snapshot (whole-picture RMS 1.9 < 2; 1.0 at 100 x 100): the worst area counts too."""
    from embedsim.matrix import SimilarityMatrix
    from embedsim.snapshot.heatmap import render_heatmap

    rng = np.random.default_rng(1)
    values = rng.uniform(0.2, 0.9, (n, n))
    values = (values + values.T) / 2
    np.fill_diagonal(values, 1.0)
    values[0, 1] = values[1, 0] = -0.3  # the colour scale does not move with the changed cell
    values[n // 2, n // 3] = values[n // 3, n // 2] = 0.605
    changed = values.copy()
    changed[n // 2, n // 3] = changed[n // 3, n // 2] = -0.15
    labels = tuple(f"x{i}" for i in range(n))
    before, after = (render_heatmap(SimilarityMatrix(v, labels, labels, all_pairs=True)) for v in (values, changed))
    failure, diff = compare_images(after, before, DEFAULT_IMAGE_TOLERANCE)
    assert failure.startswith("images differ in one area") and diff is not None
    assert compare_images(before, before, DEFAULT_IMAGE_TOLERANCE) == ("", None)


def test_a_layout_shift_of_a_few_pixels_still_matches_in_every_area() -> None:
    from embedsim.snapshot.image_compare import shifted_excess, worst_area_rms

    expected, actual = grid_image(COLOURS), grid_image(COLOURS, (SHIFT_PIXELS, -SHIFT_PIXELS))
    assert worst_area_rms(shifted_excess(expected, actual)) == 0.0
