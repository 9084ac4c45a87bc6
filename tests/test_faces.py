"""embedsim.inputs.faces: dlib's frontal face detector and the face crop transform."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from PIL import Image

from embedsim.errors import InputError
from embedsim.inputs import faces
from embedsim.inputs.datasets import Dataset
from embedsim.inputs.faces import Box, crop_face, crop_faces, face_box, largest_face, rgb_pixels
from embedsim.inputs.image_bytes import encode_png
from embedsim.inputs.items import Item, text_item

FACES = Path(__file__).resolve().parents[1] / "fixtures" / "faces"


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset.load(FACES)


def png_item(image: Image.Image, label: str) -> Item:
    return Item("image", encode_png(image), "image/png", label, {"person": "x"})


def size(item: Item) -> tuple[int, int]:
    with Image.open(io.BytesIO(item.data)) as image:
        return image.size


def test_box_grows_by_the_margin_and_stays_inside_the_image() -> None:
    box = Box(10, 20, 110, 120)
    assert box.area == 100 * 100
    assert box.grown(0.1, 200, 200) == Box(0, 10, 120, 130)
    assert box.grown(0.5, 130, 140) == Box(0, 0, 130, 140)
    assert Box(-5, -5, 50, 50).grown(0, 40, 40) == Box(0, 0, 40, 40)


def test_a_crop_is_the_face_with_its_margin_labelled_as_a_crop(dataset: Dataset) -> None:
    item = dataset["obama_1"]
    width, height = size(item)
    box = face_box(item).grown(faces.MARGIN, width, height)
    crop = crop_face(item)
    assert size(crop) == (box.right - box.left, box.bottom - box.top)
    assert size(crop)[0] < width and size(crop)[1] < height
    assert crop.id == "obama_1 (crop)" and crop.mime_type == "image/png" and crop.kind == "image"
    assert crop.labels == {**item.labels, "crop": "face"}
    assert crop.source == item.source
    assert largest_face(rgb_pixels(crop)) is not None  # the crop still shows a face a detector finds


def test_crops_are_deterministic_and_cached(dataset: Dataset) -> None:
    item = dataset["jesper_2"]
    first = crop_face(item)
    assert crop_face(item).data is first.data  # cached: cut once per run
    faces._crop.cache_clear()
    again = crop_face(item)
    assert again.data is not first.data and again.data == first.data and again.digest == first.digest
    assert crop_face(item, margin=0).data != first.data  # the margin is part of the key


def test_crop_faces_keeps_the_order(dataset: Dataset) -> None:
    items = [dataset["biden"], dataset["face16_03"], dataset["collins"]]
    assert [c.id for c in crop_faces(items)] == ["biden (crop)", "face16_03 (crop)", "collins (crop)"]


def test_the_largest_face_is_cropped(dataset: Dataset) -> None:
    with Image.open(io.BytesIO(dataset["obama_1"].data)) as photo:
        photo = photo.convert("RGB")
        small = photo.resize((photo.width // 2, photo.height // 2))
        canvas = Image.new("RGB", (photo.width + small.width, photo.height), "white")
        canvas.paste(small, (0, 0))
        canvas.paste(photo, (small.width, 0))
    both = png_item(canvas, "two_obamas")
    box = face_box(both)
    assert box.left >= small.width  # the big face, on the right
    assert len(faces.detector()(rgb_pixels(both), faces.UPSAMPLE)) == 2


def test_an_image_without_a_face_is_an_error_naming_it() -> None:
    flat = png_item(Image.new("RGB", (200, 200), (120, 130, 140)), "grey_wall")
    with pytest.raises(InputError, match="'grey_wall'.*no face found"):
        crop_face(flat)


def test_only_images_are_cropped() -> None:
    with pytest.raises(InputError, match="'Happy'.*is text, not an image"):
        crop_face(text_item("Happy"))


@pytest.mark.parametrize("margin", [-0.1, 11])
def test_a_margin_out_of_range_is_refused(dataset: Dataset, margin: float) -> None:
    with pytest.raises(InputError, match="crop margin"):
        crop_face(dataset["biden"], margin)


def test_without_dlib_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dlib", None)  # import dlib -> ImportError
    with pytest.raises(InputError, match=r"pip install 'pytest-embedsim\[faces\]'"):
        faces.require_dlib()


def test_a_16_bit_image_is_read_at_its_full_range(dataset: Dataset) -> None:
    """A 16-bit grey copy of a photo holds the same face: its levels are scaled to 8 bits
    (0..65535 as 0..255, as the pixels baseline reads them), not clipped at 255."""
    import numpy as np

    with Image.open(io.BytesIO(dataset["obama_1"].data)) as image:
        grey8 = np.asarray(image.convert("L"), dtype=np.uint16)
    grey16 = png_item(Image.fromarray(grey8 * 257), "obama_1 (16 bit)")  # I;16 PNG, levels 0..65535
    assert grey16.kind == "image"
    with Image.open(io.BytesIO(grey16.data)) as image:
        assert image.mode.startswith("I")
    pixels = rgb_pixels(grey16)
    assert pixels.dtype == np.uint8 and pixels.shape == (*grey8.shape, 3)
    assert (pixels == grey8.astype(np.uint8)[..., None]).all()
    assert face_box(grey16) == face_box(png_item(Image.fromarray(grey8.astype(np.uint8)), "obama_1 (8 bit)"))
    assert crop_face(grey16).kind == "image"
