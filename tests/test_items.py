"""Items: bytes or text with MIME type, label and digest; type by content; clear errors."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import wave
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from embedsim.backends import check_items, get_embedder, resolve
from embedsim.errors import InputError
from embedsim.inputs.items import Item, item_from_bytes, load_item, text_item
from embedsim.inputs.sniff import IMAGE_BRANDS, sniff_media


def image_bytes(fmt: str, size: tuple[int, int] = (12, 8), **save: Any) -> bytes:
    """A small image with distinct pixels (a gradient), encoded as ``fmt``."""
    image = Image.new("RGB", size)
    gradient = [((x * 20) % 256, (y * 30) % 256, (x + y) % 256) for y in range(size[1]) for x in range(size[0])]
    image.putdata(gradient)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def noise_png(size: int = 64) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((size, size), 60).convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def wav_bytes() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(struct.pack("<100h", *range(100)))
    return buffer.getvalue()


def ftyp_box(brand: bytes) -> bytes:
    """A minimal ISO base media file: one ``ftyp`` box (plus an empty ``mdat``)."""
    body = brand + b"\x00\x00\x02\x00" + brand
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + struct.pack(">I", 8) + b"mdat"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def decoded_size(item: Item) -> tuple[int, int]:
    with Image.open(io.BytesIO(item.data)) as image:
        return image.size


# --- text ---------------------------------------------------------------------------

def test_text_item_holds_utf8_bytes_mime_label_and_digest() -> None:
    item = text_item("怒り", labels={"emotion": "angry"})
    assert (item.kind, item.mime_type, item.id) == ("text", "text/plain", "怒り")
    assert item.data == "怒り".encode()
    assert item.text == "怒り"
    assert item.labels == {"emotion": "angry"}
    assert item.digest == hashlib.sha256("怒り".encode()).hexdigest()


def test_text_item_label_can_differ_from_text() -> None:
    assert text_item("Happy", id="happy_en").id == "happy_en"


def test_txt_file_is_a_text_item_labelled_by_stem(tmp_path: Path) -> None:
    item = load_item(write(tmp_path, "sad.txt", "悲しい\n".encode()))
    assert (item.kind, item.id, item.text) == ("text", "sad", "悲しい\n")
    assert item.source == str(tmp_path / "sad.txt")


def test_equal_bytes_give_equal_digests_and_items() -> None:
    assert text_item("a").digest == text_item("a", id="other").digest
    assert text_item("a").digest != text_item("b").digest
    assert text_item("a") == text_item("a")


def test_text_of_a_non_text_item_is_refused() -> None:
    item = item_from_bytes(image_bytes("PNG"), "pic")
    with pytest.raises(InputError, match="'pic' is image, not text"):
        _ = item.text


def test_repr_leaves_out_the_bytes() -> None:
    assert "data" not in repr(item_from_bytes(image_bytes("PNG", (200, 200)), "big"))


# --- images -------------------------------------------------------------------------

@pytest.mark.parametrize(("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg")])
def test_png_and_jpeg_pass_through_byte_for_byte(tmp_path: Path, fmt: str, mime: str) -> None:
    data = image_bytes(fmt)
    item = load_item(write(tmp_path, f"face.{fmt.lower()}", data), labels={"person": "x"})
    assert (item.kind, item.mime_type, item.id, item.labels) == ("image", mime, "face", {"person": "x"})
    assert item.data == data


@pytest.mark.parametrize(
    ("fmt", "save"),
    [("WEBP", {"lossless": True}), ("BMP", {}), ("GIF", {}), ("TIFF", {})],
)
def test_other_images_become_deterministic_png(tmp_path: Path, fmt: str, save: dict[str, Any]) -> None:
    data = image_bytes(fmt, **save)
    path = write(tmp_path, f"face.{fmt.lower()}", data)
    first, second = load_item(path), load_item(path)
    assert (first.kind, first.mime_type) == ("image", "image/png")
    assert first.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert first.data == second.data
    assert first.digest == second.digest
    assert decoded_size(first) == (12, 8)
    if fmt != "GIF":  # GIF quantises to a palette; the others are lossless
        with Image.open(io.BytesIO(data)) as original, Image.open(io.BytesIO(first.data)) as png:
            assert png.convert("RGB").tobytes() == original.convert("RGB").tobytes()


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = image_bytes("JPEG", size=(40, 20), exif=exif.tobytes())
    item = item_from_bytes(data, "rotated")
    assert item.mime_type == "image/png"
    assert decoded_size(item) == (20, 40)


def test_exif_orientation_one_passes_through() -> None:
    exif = Image.Exif()
    exif[0x0112] = 1
    data = image_bytes("JPEG", size=(40, 20), exif=exif.tobytes())
    assert item_from_bytes(data, "upright").data == data


# --- audio, video, PDF by content ------------------------------------------------------

MEDIA = [
    ("voice.bin", wav_bytes(), "audio", "audio/wav"),
    ("song.dat", b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 32, "audio", "audio/mp3"),
    ("frame.raw", b"\xff\xfb\x90\x64" + b"\x00" * 64, "audio", "audio/mp3"),
    ("clip.bin", ftyp_box(b"isom"), "video", "video/mp4"),
    ("clip.mp4", ftyp_box(b"qt  "), "video", "video/quicktime"),
    ("doc.bin", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n", "pdf", "application/pdf"),
]


@pytest.mark.parametrize(("name", "data", "kind", "mime"), MEDIA, ids=[m[3] + "-" + m[0] for m in MEDIA])
def test_media_is_recognised_by_content_not_extension(
    tmp_path: Path, name: str, data: bytes, kind: str, mime: str
) -> None:
    item = load_item(write(tmp_path, name, data))
    assert (item.kind, item.mime_type, item.id) == (kind, mime, Path(name).stem)
    assert item.data == data


def test_utf16_text_is_not_mistaken_for_mp3(tmp_path: Path) -> None:
    path = write(tmp_path, "notes.txt", "hi".encode("utf-16"))
    with pytest.raises(InputError, match="not valid UTF-8"):
        load_item(path)


@pytest.mark.parametrize("name, text", [
    ("river.txt", "The wide river flows"),  # bytes 4-8 spell a QuickTime box type
    ("birds.txt", "Set free the birds."),
    ("tags.md", "ID3 tags are metadata"),  # starts like an MP3 tag
])
def test_text_files_that_start_like_media_stay_text(tmp_path: Path, name: str, text: str) -> None:
    item = load_item(write(tmp_path, name, text.encode()))
    assert (item.kind, item.mime_type, item.text) == ("text", "text/plain", text)


@pytest.mark.parametrize("data", [b"The wide river flows", b"ID3 tags are metadata"])
def test_text_bytes_are_not_sniffed_as_media(data: bytes) -> None:
    assert sniff_media(data) is None


# --- bad input: each names the file and says what to do -----------------------------

def assert_refused(path: Path, *phrases: str) -> None:
    with pytest.raises(InputError) as caught:
        load_item(path)
    message = str(caught.value)
    assert str(path) in message
    for phrase in phrases:
        assert phrase in message


def test_missing_file(tmp_path: Path) -> None:
    assert_refused(tmp_path / "nope.jpg", "no such file", "check the path")


def test_directory(tmp_path: Path) -> None:
    assert_refused(tmp_path, "is a directory", "give a file inside it")


def test_empty_file(tmp_path: Path) -> None:
    assert_refused(write(tmp_path, "empty.png", b""), "file is empty", "replace it")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_image(tmp_path: Path, fmt: str) -> None:
    data = noise_png() if fmt == "PNG" else image_bytes("JPEG", (64, 64))
    assert_refused(write(tmp_path, "cut.img", data[: len(data) // 2]), "truncated or corrupt", "re-export or replace")


def test_corrupt_image(tmp_path: Path) -> None:
    data = bytearray(noise_png())
    data[60:90] = bytes(b ^ 0x55 for b in data[60:90])  # inside the first IDAT chunk
    assert_refused(write(tmp_path, "broken.png", bytes(data)), "truncated or corrupt", "re-export or replace")


def test_image_header_without_a_readable_image(tmp_path: Path) -> None:
    assert_refused(write(tmp_path, "stub.jpg", b"\xff\xd8\xff\xe0garbage"), "truncated or corrupt")


def test_decompression_bomb(tmp_path: Path) -> None:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
    bomb = b"\x89PNG\r\n\x1a\n" + header + chunk(b"IEND", b"")
    assert_refused(write(tmp_path, "bomb.png", bomb), "too large", "downscale")


def test_unsupported_type(tmp_path: Path) -> None:
    assert_refused(write(tmp_path, "archive.zip", b"PK\x03\x04" + b"\x00" * 40), "unsupported file type", "PNG, JPEG")


def test_text_outside_a_txt_file_is_unsupported(tmp_path: Path) -> None:
    assert_refused(write(tmp_path, "table.csv", b"a,b\n1,2\n"), "unsupported file type", "UTF-8 .txt")


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_or_whitespace_text(text: str) -> None:
    with pytest.raises(InputError, match="empty or whitespace only: give it some text"):
        text_item(text)


def test_whitespace_only_txt_file(tmp_path: Path) -> None:
    assert_refused(write(tmp_path, "blank.txt", b" \n\n"), "empty or whitespace only", "give it some text")


def test_non_utf8_txt_file(tmp_path: Path) -> None:
    path = write(tmp_path, "latin1.txt", "café".encode("latin-1"))
    assert_refused(path, "not valid UTF-8", "offset 3", "save it as UTF-8")


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "a.png").symlink_to(tmp_path / "b.png")
    (tmp_path / "b.png").symlink_to(tmp_path / "a.png")
    assert_refused(tmp_path / "a.png", "cannot be read", "check the file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_not_read_forever(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.png")
    assert_refused(tmp_path / "pipe.png", "not a regular file", "give a file")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_device_is_refused_not_read_into_memory() -> None:
    with pytest.raises(InputError, match="/dev/zero: is not a regular file"):
        load_item("/dev/zero")


@pytest.mark.parametrize("text", ["\udcff", "a\ud800b"])
def test_text_with_a_lone_surrogate_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="lone surrogate.*give valid UTF-8 text"):
        text_item(text)


def test_a_label_with_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(InputError, match="lone surrogate"):
        text_item("fine", id="bad\udce9")


@pytest.mark.skipif(os.fsencode("\udce9") != b"\xe9", reason="needs a bytes file system encoding")
def test_a_file_name_that_is_not_utf8_gives_a_printable_label(tmp_path: Path) -> None:
    path = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9.png"))
    path.write_bytes(image_bytes("PNG"))
    item = load_item(path)
    assert item.id == "caf\\xe9"
    assert item.source.encode("utf-8").endswith(b"caf\\xe9.png")


# --- text size: each model's own limit (BackendSpec.text_limits), checked before any call ----------

def test_a_text_over_its_models_limit_is_refused_before_any_call() -> None:
    essay = text_item("word " * 9000, id="essay")  # an item like any other
    with pytest.raises(InputError, match="'essay'.*over the 8192-token input limit of gemini-embedding-2.*shorten or split"):
        check_items("gemini-embedding-2", [essay])
    with pytest.raises(InputError, match="over the 2048-token input limit of gemini-embedding-001"):
        check_items("gemini-embedding-001", [text_item("word " * 2100)])
    check_items("gemini-embedding-2", [text_item("word " * 6000)])  # within the limit
    check_items("pixels", [essay])  # the baseline declares no limit
    assert resolve("pixels").text_limit("pixels") is None


def test_a_huge_txt_file_is_refused_by_a_model_with_a_limit(tmp_path: Path) -> None:
    path = write(tmp_path, "huge.txt", b"lorem ipsum " * 100_000)
    item = load_item(path)
    with pytest.raises(InputError, match=r"'huge' \(.*huge.txt\) is about \d+ tokens.*shorten or split"):
        check_items("gemini-embedding-2", [item])


# --- high bit depth, HEIF/AVIF, transparency ---------------------------------------------

def encoded_array(values: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(values).save(buffer, format=fmt)
    return buffer.getvalue()


def grey_levels(item: Item) -> np.ndarray:
    with Image.open(io.BytesIO(item.data)) as image:
        assert image.mode == "I;16", image.mode
        return np.asarray(image).astype(np.int64)


GRADIENT_16 = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)  # 4096 levels over 0..65520


def test_16_bit_tiff_keeps_every_grey_level() -> None:
    item = item_from_bytes(encoded_array(GRADIENT_16, "TIFF"), "deep")
    assert item.mime_type == "image/png"
    assert np.array_equal(grey_levels(item), GRADIENT_16)


def test_32_bit_float_tiff_is_stretched_over_its_own_range() -> None:
    values = np.linspace(0.0, 1.0, 4096, dtype=np.float32).reshape(64, 64)
    levels = grey_levels(item_from_bytes(encoded_array(values, "TIFF"), "float"))
    assert (levels.min(), levels.max(), np.unique(levels).size) == (0, 65535, 4096)
    assert np.array_equal(np.argsort(levels, axis=None, kind="stable"), np.argsort(values, axis=None, kind="stable"))


def test_32_bit_integer_tiff_keeps_16_bit_values_and_stretches_larger_ones() -> None:
    small = GRADIENT_16.astype(np.int32)
    assert np.array_equal(grey_levels(item_from_bytes(encoded_array(small, "TIFF"), "small")), small)
    large = grey_levels(item_from_bytes(encoded_array(small * 100_000, "TIFF"), "large"))
    assert (large.min(), large.max(), np.unique(large).size) == (0, 65535, 4096)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
def test_a_float_image_with_nan_or_infinite_pixels_is_refused(tmp_path: Path, bad: float) -> None:
    values = np.zeros((4, 4), dtype=np.float32)
    values[1, 2] = bad
    assert_refused(write(tmp_path, "bad.tif", encoded_array(values, "TIFF")), "NaN or infinite", "replace them")


@pytest.mark.parametrize("values", [np.full((4, 4), 0.7, dtype=np.float32), np.full((4, 4), -5, dtype=np.int32),
                                    np.full((4, 4), 100_000, dtype=np.int32)], ids=["float", "negative", "large"])
def test_a_flat_image_that_is_stretched_becomes_0(values: np.ndarray) -> None:
    assert np.array_equal(grey_levels(item_from_bytes(encoded_array(values, "TIFF"), "flat")), np.zeros((4, 4)))


def test_the_pixel_baseline_sees_a_16_bit_image_at_full_range() -> None:
    deep = item_from_bytes(encoded_array(GRADIENT_16, "PNG"), "deep")
    assert deep.data == encoded_array(GRADIENT_16, "PNG")  # a 16-bit PNG passes through
    eight = item_from_bytes(encoded_array((GRADIENT_16 >> 8).astype(np.uint8), "PNG"), "eight")
    vectors = get_embedder("pixels", 256).embed([deep, eight])
    assert float(vectors[0] @ vectors[1]) > 0.999


@pytest.mark.parametrize("brand", sorted(IMAGE_BRANDS))
def test_heif_and_avif_brands_are_images_not_video(brand: bytes) -> None:
    assert sniff_media(ftyp_box(brand)) is None
    with pytest.raises(InputError, match=f"HEIF/AVIF image \\(brand '{brand.decode()}'\\).*convert it to PNG or JPEG"):
        item_from_bytes(ftyp_box(brand), "photo")


@pytest.mark.parametrize("brand", [b"isom", b"mp41", b"mp42", b"M4V ", b"3gp4", b"qt  "])
def test_video_brands_stay_video(brand: bytes) -> None:
    assert sniff_media(ftyp_box(brand)) is not None and sniff_media(ftyp_box(brand))[0] == "video"


def test_an_avif_image_is_converted_to_png() -> None:
    pytest.importorskip("PIL.AvifImagePlugin")
    data = image_bytes("AVIF", size=(16, 8), quality=100)
    assert data[4:12] == b"ftypavif"
    item = item_from_bytes(data, "photo")
    assert (item.kind, item.mime_type, decoded_size(item)) == ("image", "image/png", (16, 8))


def fixed_noise_png() -> bytes:
    rng = np.random.default_rng(7)
    return encoded_array(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), "PNG")


def half_transparent(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        rgba = image.convert("RGBA")
    alpha = Image.new("L", rgba.size, 255)
    alpha.paste(0, (0, 0, rgba.width // 2, rgba.height))
    rgba.putalpha(alpha)
    buffer = io.BytesIO()
    rgba.save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_pixel_baseline_composites_transparency_on_white() -> None:
    opaque = item_from_bytes(fixed_noise_png(), "opaque")
    holed = item_from_bytes(half_transparent(fixed_noise_png()), "holed")
    assert holed.data == half_transparent(fixed_noise_png())  # the model gets the PNG as it is
    with Image.open(io.BytesIO(fixed_noise_png())) as image:
        white_left = image.convert("RGB")
    white_left.paste((255, 255, 255), (0, 0, 32, 64))
    buffer = io.BytesIO()
    white_left.save(buffer, format="PNG")
    vectors = get_embedder("pixels", 256).embed([opaque, holed, item_from_bytes(buffer.getvalue(), "white")])
    assert float(vectors[0] @ vectors[1]) < 0.9
    assert float(vectors[1] @ vectors[2]) > 0.9999


def test_an_opaque_alpha_channel_changes_nothing_for_the_pixel_baseline() -> None:
    with Image.open(io.BytesIO(fixed_noise_png())) as image:
        buffer = io.BytesIO()
        image.convert("RGBA").save(buffer, format="PNG")
    vectors = get_embedder("pixels", 256).embed([item_from_bytes(fixed_noise_png(), "rgb"),
                                                 item_from_bytes(buffer.getvalue(), "rgba")])
    assert float(vectors[0] @ vectors[1]) == pytest.approx(1.0, abs=1e-12)


def test_a_utf8_bom_is_not_part_of_the_text(tmp_path: Path) -> None:
    item = load_item(write(tmp_path, "happy.txt", b"\xef\xbb\xbfHappy"))
    assert (item.kind, item.text, item.data) == ("text", "Happy", b"Happy")
    assert item.digest == text_item("Happy").digest  # embedded as the text typed


def test_a_bom_only_txt_file_is_empty(tmp_path: Path) -> None:
    assert_refused(write(tmp_path, "bom.txt", b"\xef\xbb\xbf"), "empty or whitespace only", "give it some text")
    assert_refused(write(tmp_path, "bom_space.txt", b"\xef\xbb\xbf \n"), "empty or whitespace only")


def test_an_eps_image_is_refused_as_needing_ghostscript(tmp_path: Path) -> None:
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n%%EndComments\nshowpage\n"
    assert_refused(write(tmp_path, "figure.eps", eps), "PostScript", "convert it to PNG")


def test_an_item_is_named_by_its_id_and_label_is_a_deprecated_spelling(tmp_path: Path) -> None:
    item = text_item("Happy", id="happy_en")
    assert item.id == "happy_en"
    with pytest.warns(DeprecationWarning, match=r"Item.label is deprecated: use Item.id"):
        assert item.label == "happy_en"
    with pytest.warns(DeprecationWarning, match=r"text_item\(\.\.\., label=\) is deprecated"):
        assert text_item("Happy", label="old").id == "old"
    path = tmp_path / "note.txt"
    path.write_text("hello", encoding="utf-8")
    with pytest.warns(DeprecationWarning, match=r"load_item\(\.\.\., label=\) is deprecated"):
        assert load_item(path, label="old").id == "old"
    with pytest.raises(InputError, match="give id= only"):
        text_item("Happy", id="a", label="b")
