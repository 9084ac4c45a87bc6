"""Tests of the similarity matrix, group statistics and the pixel baseline."""

from __future__ import annotations

import io
import subprocess
import sys
from itertools import product

import numpy as np
import pytest
from PIL import Image

from embedsim.backends import get_embedder, is_local
from embedsim.backends.pixels import PixelEmbedder
from embedsim.errors import InputError
from embedsim.expect.groups import group_stats
from embedsim.inputs.items import item_from_bytes, text_item
from embedsim.matrix import SimilarityMatrix, cosine_matrix, similarity
from embedsim.stats import roc_auc


def brute_force_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.empty((len(a), len(b)))
    for i, j in product(range(len(a)), range(len(b))):
        out[i, j] = sum(x * y for x, y in zip(a[i], b[j])) / (
            sum(x * x for x in a[i]) ** 0.5 * sum(y * y for y in b[j]) ** 0.5
        )
    return out


def labels(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


def png_bytes(colour: tuple[int, int, int], size: tuple[int, int] = (32, 24), stripes: bool = False) -> bytes:
    image = Image.new("RGB", size, colour)
    if stripes:
        for x in range(0, size[0], 4):
            image.paste((255 - colour[0], 255 - colour[1], 255 - colour[2]), (x, 0, x + 2, size[1]))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# --- cosine matrix -------------------------------------------------------------------


def test_cosine_matrix_equals_brute_force_loop() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(6, 9)) * 3, rng.normal(size=(4, 9))
    matrix = cosine_matrix(a, labels("r", 6), b, labels("c", 4))
    np.testing.assert_allclose(matrix.values, brute_force_cosine(a, b), atol=1e-12)
    assert matrix.shape == (6, 4) and not matrix.all_pairs


def test_all_pairs_is_symmetric_with_unit_diagonal() -> None:
    rng = np.random.default_rng(8)
    vectors = rng.normal(size=(5, 16))
    matrix = cosine_matrix(vectors, labels("x", 5), model_id="m")
    assert matrix.all_pairs and matrix.model_id == "m"
    np.testing.assert_allclose(np.diag(matrix.values), 1.0, atol=1e-12)
    np.testing.assert_allclose(matrix.values, matrix.values.T, atol=1e-12)
    np.testing.assert_allclose(matrix.values, brute_force_cosine(vectors, vectors), atol=1e-12)


def test_labels_and_value_lookup() -> None:
    matrix = cosine_matrix(np.array([[1.0, 0.0], [1.0, 1.0]]), ["a", "b"], np.array([[0.0, 2.0]]), ["up"])
    assert matrix.row_labels == ("a", "b") and matrix.col_labels == ("up",)
    assert matrix.value("a", "up") == pytest.approx(0.0)
    assert matrix.value("b", "up") == pytest.approx(2**-0.5)


def test_labels_must_fit_the_values() -> None:
    with pytest.raises(InputError, match="does not fit 2 row and 3 column labels"):
        SimilarityMatrix(np.zeros((2, 2)), ("a", "b"), ("x", "y", "z"))


@pytest.mark.parametrize("bad", [0.0, np.nan, np.inf])
def test_zero_or_non_finite_vector_names_the_item(bad: float) -> None:
    vectors = np.array([[1.0, 2.0], [bad, 0.0 if bad == 0.0 else 1.0], [3.0, 1.0]])
    with pytest.raises(InputError, match="'broken'") as error:
        cosine_matrix(vectors, ["fine", "broken", "also fine"])
    assert "'fine'" not in str(error.value)


def test_similarity_embeds_duplicates_once_and_keeps_order() -> None:
    calls: list[int] = []

    class Counting(PixelEmbedder):
        def embed(self, items):
            calls.append(len(items))
            return super().embed(items)

    rows = [text_item("cat"), text_item("dog"), text_item("cat", id="cat again")]
    matrix = similarity(Counting(dimension=64), rows, [text_item("dog")])
    assert calls == [2]
    assert matrix.row_labels == ("cat", "dog", "cat again") and matrix.model_id == "pixels"
    assert matrix.value("dog", "dog") == pytest.approx(1.0)
    assert matrix.value("cat", "dog") == pytest.approx(matrix.value("cat again", "dog"))


# --- group statistics ----------------------------------------------------------------

# Items a0, a1 belong to group A, b0, b1 to group B; all pairs, symmetric.
HAND_MADE = SimilarityMatrix(
    np.array(
        [
            [1.0, 0.9, 0.2, 0.4],
            [0.9, 1.0, 0.3, 0.1],
            [0.2, 0.3, 1.0, 0.7],
            [0.4, 0.1, 0.7, 1.0],
        ]
    ),
    ("a0", "a1", "b0", "b1"),
    ("a0", "a1", "b0", "b1"),
    all_pairs=True,
)


def test_group_stats_on_a_hand_made_matrix() -> None:
    stats = group_stats(HAND_MADE, ["A", "A", "B", "B"])
    # within: (a0,a1)=0.9, (b0,b1)=0.7; between: 0.2, 0.4, 0.3, 0.1 (diagonal left out)
    assert (stats.n_within, stats.n_between) == (2, 4)
    assert stats.within_mean == pytest.approx(0.8)
    assert stats.between_mean == pytest.approx(0.25)
    assert stats.margin == pytest.approx(0.55)
    assert stats.auc == pytest.approx(1.0)


def test_group_stats_rectangular_uses_every_cell() -> None:
    matrix = SimilarityMatrix(np.array([[0.5, 0.1], [0.6, 0.2], [0.3, 0.4]]), ("r0", "r1", "r2"), ("A", "B"))
    stats = group_stats(matrix, ["A", "A", "B"], ["A", "B"])
    # within: 0.5, 0.6, 0.4; between: 0.1, 0.2, 0.3
    assert (stats.n_within, stats.n_between) == (3, 3)
    assert stats.margin == pytest.approx(0.5 - 0.2)
    assert stats.auc == pytest.approx(1.0)


def test_group_stats_needs_both_kinds_of_pair() -> None:
    with pytest.raises(InputError, match="at least one same-group and one different-group pair"):
        group_stats(HAND_MADE, ["A", "A", "A", "A"])
    with pytest.raises(InputError, match="3 row groups"):
        group_stats(HAND_MADE, ["A", "A", "B"])


def test_auc_known_values_and_ties() -> None:
    assert roc_auc(np.array([0.9, 0.8]), np.array([0.1, 0.2])) == 1.0
    assert roc_auc(np.array([0.1, 0.2]), np.array([0.9, 0.8])) == 0.0
    assert roc_auc(np.array([0.5, 0.5]), np.array([0.5, 0.5, 0.5])) == 0.5
    # one win (0.9 > 0.5), one tie (0.5 = 0.5): (1 + 0.5) / 2
    assert roc_auc(np.array([0.9, 0.5]), np.array([0.5])) == 0.75


def test_auc_matches_a_brute_force_pairwise_count() -> None:
    rng = np.random.default_rng(11)
    positives = rng.integers(0, 8, size=37) / 8  # coarse values, so there are many ties
    negatives = rng.integers(0, 8, size=23) / 8 - 0.1
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    assert roc_auc(positives, negatives) == pytest.approx(wins / (37 * 23))


def test_auc_refuses_empty_groups() -> None:
    with pytest.raises(InputError, match="positive and one negative"):
        roc_auc(np.array([]), np.array([0.1]))


# --- top1 and CSV --------------------------------------------------------------------


def test_top1_excludes_the_diagonal_for_all_pairs() -> None:
    assert HAND_MADE.top1() == ["a1", "a0", "b1", "b0"]


def test_top1_of_a_rectangular_matrix_keeps_every_column() -> None:
    matrix = SimilarityMatrix(np.array([[0.9, 0.1], [0.2, 0.3]]), ("x", "y"), ("x", "z"))
    assert matrix.top1() == ["x", "z"]


def test_to_csv_quotes_commas_quotes_and_line_breaks() -> None:
    matrix = SimilarityMatrix(np.array([[0.5, -0.25, 1.0]]), ('say "hi"',), ("a,b", "line\nbreak", "cr\r"))
    assert matrix.to_csv() == ',"a,b","line\nbreak","cr\r"\n"say ""hi""",0.500000,-0.250000,1.000000\n'


def test_to_csv_round_trips_through_the_csv_module() -> None:
    import csv

    matrix = SimilarityMatrix(np.array([[0.1], [0.2]]), ("怒", "x,y"), ('"q"',))
    rows = list(csv.reader(io.StringIO(matrix.to_csv())))
    assert rows == [["", '"q"'], ["怒", "0.100000"], ["x,y", "0.200000"]]


# --- pixel baseline ------------------------------------------------------------------

PIXEL_DIGITS_SCRIPT = """
import sys, hashlib
from embedsim.backends.pixels import PixelEmbedder
from embedsim.inputs.items import item_from_bytes, text_item
image = item_from_bytes(open(sys.argv[1], "rb").read(), "img")
vectors = PixelEmbedder(dimension=96).embed([image, text_item("怒った顔")])
print(hashlib.sha256(vectors.tobytes()).hexdigest())
"""


@pytest.fixture
def striped_image():
    return item_from_bytes(png_bytes((200, 30, 40), stripes=True), "striped")


def test_pixels_is_deterministic_in_process_and_in_a_fresh_interpreter(tmp_path, striped_image) -> None:
    import hashlib

    embedder = PixelEmbedder(dimension=96)
    first = embedder.embed([striped_image, text_item("怒った顔")])
    second = PixelEmbedder(dimension=96).embed([striped_image, text_item("怒った顔")])
    assert first.tobytes() == second.tobytes()

    path = tmp_path / "striped.png"
    path.write_bytes(striped_image.data)
    result = subprocess.run(
        [sys.executable, "-c", PIXEL_DIGITS_SCRIPT, str(path)], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == hashlib.sha256(first.tobytes()).hexdigest()


@pytest.mark.parametrize("dimension", [8, 768, 3072])
def test_pixels_gives_unit_float32_rows_of_the_requested_dimension(dimension: int, striped_image) -> None:
    embedder = get_embedder("pixels", dimension)
    vectors = embedder.embed([striped_image, text_item("hello"), item_from_bytes(b"%PDF-1.4 tiny", "doc")])
    assert vectors.shape == (3, dimension) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert is_local(embedder.model_id) and embedder.model_id == "pixels"


def test_pixels_text_and_image_live_in_one_space_without_alignment(striped_image) -> None:
    embedder = PixelEmbedder()
    matrix = similarity(embedder, [striped_image], [text_item("a striped red image"), text_item("怒")])
    assert np.all(np.abs(matrix.values) < 0.3)  # no cross-modal semantics: near zero
    texts = similarity(embedder, [text_item("happy face")], [text_item("happy faces"), text_item("zzz")])
    assert texts.value("happy face", "happy faces") > 0.5 > texts.value("happy face", "zzz")


def test_pixels_similar_images_score_higher_than_different_ones(striped_image) -> None:
    shifted = item_from_bytes(png_bytes((205, 35, 45), stripes=True), "shifted")
    plain = item_from_bytes(png_bytes((20, 90, 200)), "blue")
    matrix = similarity(PixelEmbedder(), [striped_image], [shifted, plain])
    assert matrix.value("striped", "shifted") > 0.95 > matrix.value("striped", "blue")


def test_pixels_single_colour_image_gives_a_finite_non_zero_vector() -> None:
    grey = item_from_bytes(png_bytes((128, 128, 128)), "grey")
    vector = PixelEmbedder(dimension=64).embed([grey])[0]
    assert np.all(np.isfinite(vector)) and np.linalg.norm(vector) == pytest.approx(1.0, rel=1e-5)


def test_pixels_flat_images_are_not_matched_by_their_file_headers() -> None:
    def flat_jpeg(colour: tuple[int, int, int]) -> bytes:
        buffer = io.BytesIO()
        Image.new("RGB", (64, 64), colour).save(buffer, format="JPEG")
        return buffer.getvalue()

    black, white = (item_from_bytes(flat_jpeg(c), n) for c, n in (((0, 0, 0), "black"), ((255, 255, 255), "white")))
    assert black.data[:64] == white.data[:64]  # same header: it must not decide the vector
    vectors = PixelEmbedder().embed([black, white])
    assert abs(float(vectors[0] @ vectors[1])) < 0.5


def test_pixels_hashes_media_bytes_fast_and_from_a_bounded_prefix() -> None:
    from embedsim.backends.pixels import MAX_HASHED_BYTES

    head = b"\x00\x00\x00\x18ftypmp42" + np.random.default_rng(1).integers(0, 256, MAX_HASHED_BYTES,
                                                                           dtype=np.uint8).tobytes()
    video, longer = item_from_bytes(head, "video"), item_from_bytes(head + b"more frames", "longer")
    other = item_from_bytes(head[:1000] + bytes(1000), "other")
    vectors = PixelEmbedder().embed([video, longer, other])
    assert video.kind == "video" and np.array_equal(vectors[0], vectors[1])  # only the first 8 MiB count
    assert float(vectors[0] @ vectors[2]) < 0.99


def test_pixels_of_nothing_is_an_empty_array() -> None:
    assert PixelEmbedder(dimension=16).embed([]).shape == (0, 16)


@pytest.mark.parametrize("scale", [1e200, 1e-200])
def test_finite_huge_or_tiny_vectors_have_a_direction(scale: float) -> None:
    vectors = np.array([[3.0, 4.0], [4.0, 3.0], [1.0, 0.0]])
    matrix = cosine_matrix(vectors * scale, ["a", "b", "c"])
    np.testing.assert_allclose(matrix.values, cosine_matrix(vectors, ["a", "b", "c"]).values, atol=1e-12)


def test_generators_of_items_are_read_once() -> None:
    rows = [text_item("cat"), text_item("dog")]
    matrix = similarity(PixelEmbedder(dimension=64), rows, (i for i in rows[:1]))
    assert matrix.row_labels == ("cat", "dog") and matrix.col_labels == ("cat",)
    assert similarity(PixelEmbedder(dimension=64), (i for i in rows)).shape == (2, 2)
