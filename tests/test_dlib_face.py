"""The dlib-face backend: dlib's ResNet face descriptor on the largest face of each image."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

import dlib
import numpy as np
import pytest
from PIL import Image

from embedsim.backends import dlib_face, is_local
from embedsim.backends.dlib_face import DIMENSION, DlibFaceEmbedder
from embedsim.errors import InputError, NotApplicable
from embedsim.inputs.datasets import Dataset
from embedsim.inputs.image_bytes import encode_png
from embedsim.inputs.items import Item, text_item

FACES = Path(__file__).resolve().parents[1] / "fixtures" / "faces"


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset.load(FACES)


@pytest.fixture
def fresh_models() -> Iterator[None]:
    """Load the weights again in this test (and drop what it loaded afterwards)."""
    dlib_face._models.cache_clear()
    yield
    dlib_face._models.cache_clear()


def test_unit_vectors_of_128_dimensions_the_same_every_time(dataset: Dataset) -> None:
    items = [dataset["obama_1"], dataset["face16_01"], dataset["jesper_3"]]
    first = DlibFaceEmbedder().embed(items)
    assert first.shape == (3, DIMENSION) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-6)
    dlib_face._models.cache_clear()
    np.testing.assert_array_equal(DlibFaceEmbedder().embed(items), first)
    assert DlibFaceEmbedder().embed([]).shape == (0, DIMENSION)


def test_it_recognises_a_person_across_photos(dataset: Dataset) -> None:
    obama_1, obama_2, biden = DlibFaceEmbedder().embed([dataset["obama_1"], dataset["obama_2"], dataset["biden"]])
    assert obama_1 @ obama_2 > obama_1 @ biden


@pytest.mark.parametrize("item", [
    text_item("Happy"),
    Item("audio", b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav", "beep"),
    Item("video", b"\x00\x00\x00\x18ftypmp42", "video/mp4", "clip"),
    Item("pdf", b"%PDF-1.4", "application/pdf", "paper"),
], ids=lambda item: item.kind)
def test_anything_but_an_image_is_not_applicable_before_any_work(
        dataset: Dataset, item: Item, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_work() -> None:
        raise AssertionError("weights loaded before the items were checked")

    monkeypatch.setattr(dlib_face, "_models", no_work)
    with pytest.raises(NotApplicable, match=f"dlib-face: item '{item.id}' is {item.kind}, but dlib-face embeds image only"):
        DlibFaceEmbedder().embed([dataset["obama_1"], item])
    assert issubclass(NotApplicable, InputError)


def test_an_image_without_a_face_is_an_error_naming_it(dataset: Dataset) -> None:
    wall = Item("image", encode_png(Image.new("RGB", (160, 160), (90, 90, 90))), "image/png", "wall")
    with pytest.raises(InputError, match="item 'wall': no face found"):
        DlibFaceEmbedder().embed([dataset["obama_1"], wall])


@pytest.mark.parametrize("dimension", [768, 127, 0])
def test_the_dimension_is_fixed_at_128(dimension: int) -> None:
    with pytest.raises(InputError, match=f"128 dimensions, not {dimension}"):
        DlibFaceEmbedder(dimension=dimension)


def test_only_the_5_point_landmarks_and_the_resnet_are_loaded(
        dataset: Dataset, monkeypatch: pytest.MonkeyPatch, fresh_models: None) -> None:
    """The 68-point landmark model shipped beside them was trained on non-commercial data."""
    loaded: list[str] = []

    def recording(real):  # type: ignore[no-untyped-def]
        def load(path: str):  # type: ignore[no-untyped-def]
            loaded.append(Path(path).name)
            return real(path)
        return load

    monkeypatch.setattr(dlib, "shape_predictor", recording(dlib.shape_predictor))
    monkeypatch.setattr(dlib, "face_recognition_model_v1", recording(dlib.face_recognition_model_v1))
    DlibFaceEmbedder().embed([dataset["collins"]])
    assert loaded == ["shape_predictor_5_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat"]


def test_missing_weights_say_how_to_install_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(InputError, match=r"weights of face-recognition-models are not installed.*embedsim\[faces\]"):
        dlib_face.weights_folder()


def test_registered_as_a_local_image_only_backend_of_128_dimensions() -> None:
    from importlib.metadata import entry_points

    from embedsim.backends import get_embedder, resolve

    assert "dlib-face" in {point.name for point in entry_points(group="embedsim.backends")}
    assert resolve("dlib-face") is dlib_face.SPEC
    assert dlib_face.SPEC.local and dlib_face.SPEC.modalities == {"image"} and dlib_face.SPEC.key_env == ()
    embedder = get_embedder("dlib-face")
    assert isinstance(embedder, DlibFaceEmbedder) and embedder.dimension == 128 and is_local(embedder.model_id)
    with pytest.raises(InputError, match="dlib-face: output dimension 768 is out of range; use an integer from 128 to 128"):
        get_embedder("dlib-face", 768)


def test_an_experiment_with_words_is_not_applicable_not_failed(pytester: pytest.Pytester, outside_xdist: None) -> None:
    pytester.makepyfile(test_words='''
        from embedsim.inputs.items import text_item

        def test_words(experiment):
            experiment.similarity([text_item("Happy")])
    ''')
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs", "--embedsim-model", "dlib-face",
                                "--embedsim-report", "report")
    result.assert_outcomes(skipped=2)  # pixels: not selected; dlib-face: not applicable
    result.stdout.fnmatch_lines(["SKIPPED [[]1[]] test_words.py:4: not applicable: dlib-face: item 'Happy' is text, "
                                 "but dlib-face embeds image only"])
    entries = json.loads((pytester.path / "report" / "report.json").read_text(encoding="utf-8"))["entries"]
    assert [(e["model"], e["outcome"]) for e in entries] == [("dlib-face", "not applicable")]
    assert "| n/a |" in (pytester.path / "report" / "index.md").read_text(encoding="utf-8")
