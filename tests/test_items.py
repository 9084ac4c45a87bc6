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

import pytest
from PIL import Image

from embedsim.errors import InputError
from embedsim.items import Item, item_from_bytes, load_item, sniff_media, text_item


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
    assert (item.kind, item.mime_type, item.label) == ("text", "text/plain", "怒り")
    assert item.data == "怒り".encode()
    assert item.text == "怒り"
    assert item.labels == {"emotion": "angry"}
    assert item.digest == hashlib.sha256("怒り".encode()).hexdigest()


def test_text_item_label_can_differ_from_text() -> None:
    assert text_item("Happy", label="happy_en").label == "happy_en"


def test_txt_file_is_a_text_item_labelled_by_stem(tmp_path: Path) -> None:
    item = load_item(write(tmp_path, "sad.txt", "悲しい\n".encode()))
    assert (item.kind, item.label, item.text) == ("text", "sad", "悲しい\n")
    assert item.source == str(tmp_path / "sad.txt")


def test_equal_bytes_give_equal_digests_and_items() -> None:
    assert text_item("a").digest == text_item("a", label="other").digest
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
    assert (item.kind, item.mime_type, item.label, item.labels) == ("image", mime, "face", {"person": "x"})
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
    assert (item.kind, item.mime_type, item.label) == (kind, mime, Path(name).stem)
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
