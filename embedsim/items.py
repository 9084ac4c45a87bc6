"""Input items: the bytes (or text) sent to a model, with MIME type, label and digest.

PNG and JPEG pass through byte-for-byte. Other images Pillow reads (WebP, BMP, GIF,
TIFF, AVIF, ...) are converted to PNG deterministically, and an EXIF orientation tag is
applied (the result is then PNG too). High bit depth survives: a 16-bit greyscale image
stays 16-bit, a 32-bit integer image whose values fit 0..65535 keeps them, and any other
32-bit integer or float image is stretched linearly from its own minimum to maximum over
0..65535 (see :func:`high_depth`). Audio (MP3, WAV), video (MP4, MOV) and PDF are
recognised by their content (an ISO ``ftyp`` box with an image brand such as ``avif``
or ``heic`` is an image, not video). Anything else raises :class:`InputError`, as does
a file that is not a regular file (a FIFO or device would hang or never end).
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

from PIL import Image, ImageOps, UnidentifiedImageError

from embedsim.errors import InputError
from embedsim.tokens import BYTES_PER_TOKEN, estimate_tokens

Kind = Literal["text", "image", "audio", "video", "pdf"]
KINDS: tuple[Kind, ...] = ("text", "image", "audio", "video", "pdf")

#: Formats the Gemini API takes as images; everything else is converted to PNG.
PASS_THROUGH_IMAGES = {"PNG": "image/png", "JPEG": "image/jpeg"}
_EXIF_ORIENTATION = 0x0112
#: File suffixes read as UTF-8 text (when they decode as UTF-8).
TEXT_SUFFIXES = (".txt", ".md")
#: The largest text input of any supported model (Gemini embedding-2), estimated with
#: :func:`estimate_tokens`; longer texts are refused for every model, ``pixels`` too.
MAX_TEXT_TOKENS = 8192
#: ``ftyp`` major brands of HEIF/AVIF still images and image sequences (ISO/IEC 23008-12, AV1 image format).
IMAGE_BRANDS = frozenset(
    b"avif avis avio heic heix heim heis hevc hevx hevm hevs mif1 mif2 msf1 jpeg jpgs avci avcs vvic vvis".split()
)


@dataclass(frozen=True)
class Item:
    """One input for an embedding model.

    ``data`` holds the bytes sent to the model (UTF-8 for text). ``label`` names the
    item in matrices and messages; ``labels`` carries metadata such as
    ``{"person": "barack_obama", "expression": "happy"}`` for grouping.
    """

    kind: Kind
    data: bytes = field(repr=False)
    mime_type: str
    label: str
    labels: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    source: str = field(default="", compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.label, str):
            raise InputError(f"item label {self.label!r} ({self.source or self.kind}): give a string")
        if not _is_encodable(self.label):
            raise InputError(f"item label {self.label!r} ({self.source or self.kind}) holds a lone surrogate "
                             "(a broken UTF-16 pair or an undecodable file name); give a valid Unicode label")

    @property
    def text(self) -> str:
        """The text of a text item."""
        if self.kind != "text":
            raise InputError(f"item {self.label!r} is {self.kind}, not text")
        return self.data.decode("utf-8")

    @cached_property
    def digest(self) -> str:
        """``sha256`` hex digest of :attr:`data` (equal bytes, equal digest)."""
        return hashlib.sha256(self.data).hexdigest()

    def describe(self) -> str:
        """A short human description: label plus source file when there is one."""
        return f"{self.label!r} ({self.source})" if self.source else repr(self.label)


def text_item(text: str, label: str | None = None, labels: Mapping[str, str] | None = None) -> Item:
    """An item for ``text``; empty or whitespace-only text is refused."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(
            f"text item {label or text!r} is empty or whitespace only: give it some text"
        )
    where = f"text item {_shorten(label or text)!r}"
    if not _is_encodable(text):
        raise InputError(f"{where} holds a lone surrogate (not valid Unicode, e.g. an argument that is not "
                         "UTF-8); give valid UTF-8 text")
    _check_text_length(text, where)
    return Item("text", text.encode("utf-8"), "text/plain", label or text, dict(labels or {}))


def _check_text_length(text: str, where: str) -> None:
    """Refuse a text over :data:`MAX_TEXT_TOKENS` (a longer text always is, so it is not scanned)."""
    tokens = estimate_tokens(text) if len(text) <= MAX_TEXT_TOKENS * BYTES_PER_TOKEN else None
    if tokens is None or tokens > MAX_TEXT_TOKENS:
        size = f"{len(text)} characters" if tokens is None else f"about {tokens} tokens"
        raise InputError(
            f"{where} is {size}, over the {MAX_TEXT_TOKENS}-token input limit of the largest supported "
            f"model (estimated at {BYTES_PER_TOKEN} bytes per token); shorten or split it"
        )


def _is_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def file_label(path: Path) -> str:
    """The default label of a file: its stem, with bytes of a non-UTF-8 name shown as ``\\xNN``."""
    return os.fsencode(path.stem).decode("utf-8", "backslashreplace")


def load_item(
    path: str | Path, label: str | None = None, labels: Mapping[str, str] | None = None
) -> Item:
    """Read ``path`` into an :class:`Item`, recognising its type by content.

    ``label`` defaults to the file's stem. Raises :class:`InputError` naming the file
    for a missing file, a directory, an empty, corrupt or unsupported file.
    """
    path = Path(path)
    data = read_regular_file(path)
    return item_from_bytes(data, label or file_label(path), labels, source=_printable(path))


def read_regular_file(path: Path) -> bytes:
    """The bytes of ``path``; a missing or unreadable path, a directory, a FIFO, a device or
    a socket (which would block or never end) raises :class:`InputError`."""
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise InputError(f"{_printable(path)}: is a directory; give a file inside it")
        if not stat.S_ISREG(mode):
            raise InputError(f"{_printable(path)}: is not a regular file (a FIFO, device or socket); "
                             "give a file with the content")
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{_printable(path)}: no such file; check the path") from None
    except IsADirectoryError:
        raise InputError(f"{_printable(path)}: is a directory; give a file inside it") from None
    except MemoryError:
        raise InputError(f"{_printable(path)}: is too large to read into memory; give a smaller file") from None
    except OSError as exc:  # permission, symlink loop, ...
        raise InputError(f"{_printable(path)}: cannot be read ({exc.strerror or exc}); check the file") from None


def _printable(path: Path) -> str:
    """``str(path)`` with the bytes of a non-UTF-8 name shown as ``\\xNN`` (printable, encodable)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def item_from_bytes(
    data: bytes,
    label: str,
    labels: Mapping[str, str] | None = None,
    source: str = "",
) -> Item:
    """Build an item from raw file bytes, sniffing the type from the content."""
    where = source or f"item {label!r}"
    if not data:
        raise InputError(f"{where}: file is empty; replace it with a real image, audio, video, PDF or text file")
    labels = dict(labels or {})
    text_file = source.lower().endswith(TEXT_SUFFIXES)
    if text_file and _is_utf8(data):  # text first: "ID3 tags ..." or "The wide river" are not media
        return _text_file_item(data, label, labels, source)
    sniffed = sniff_media(data)
    if sniffed is not None:
        kind, mime = sniffed
        return Item(kind, data, mime, label, labels, source)
    brand = _image_brand(data)
    if brand and not _looks_like_image(data):
        raise InputError(f"{where}: a HEIF/AVIF image (brand {brand!r}) this Pillow cannot decode; "
                         "convert it to PNG or JPEG")
    if brand or _looks_like_image(data):
        image_bytes, mime = normalise_image(data, where)
        return Item("image", image_bytes, mime, label, labels, source)
    if text_file:
        return _text_file_item(data, label, labels, source)
    raise InputError(
        f"{where}: unsupported file type; use an image (PNG, JPEG, WebP, BMP, GIF, TIFF), "
        "audio (MP3, WAV), video (MP4, MOV), PDF or UTF-8 .txt"
    )


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _text_file_item(data: bytes, label: str, labels: dict[str, str], source: str) -> Item:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{source}: is not valid UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8"
        ) from None
    if not text.strip():
        raise InputError(f"{source}: text file is empty or whitespace only; give it some text")
    _check_text_length(text, source)
    return Item("text", data, "text/plain", label, labels, source)


def sniff_media(data: bytes) -> tuple[Kind, str] | None:
    """Recognise PDF, WAV, MP3, MP4 and MOV by their leading bytes."""
    if data.startswith(b"%PDF-"):
        return "pdf", "application/pdf"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio", "audio/wav"
    if (data.startswith(b"ID3") and len(data) > 4 and data[3] in (2, 3, 4)) or _is_mpeg_audio_frame(data):
        return "audio", "audio/mp3"
    if not _plausible_box(data):
        return None
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in IMAGE_BRANDS:
            return None
        return "video", "video/quicktime" if brand == b"qt  " else "video/mp4"
    if data[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return "video", "video/quicktime"
    return None


def _image_brand(data: bytes) -> str:
    """The brand of a HEIF/AVIF still image or image sequence, or ``""``."""
    is_image = _plausible_box(data) and data[4:8] == b"ftyp" and data[8:12] in IMAGE_BRANDS
    return data[8:12].decode("ascii") if is_image else ""


def _plausible_box(data: bytes) -> bool:
    """An ISO/QuickTime box header: a big-endian size of 0 (to the end), 1 (64-bit size
    follows) or 8 .. len(data), so text that happens to spell ``wide`` or ``free`` is not video."""
    size = int.from_bytes(data[:4], "big")
    return len(data) >= 8 and (size in (0, 1) or 8 <= size <= len(data))


def _is_mpeg_audio_frame(data: bytes) -> bool:
    """An MP3 frame header: 11 sync bits, a valid version, layer III, a valid bitrate and rate.

    (Requiring layer III keeps a UTF-16 byte order mark ``FF FE`` from passing as audio.)
    """
    if len(data) < 4 or data[0] != 0xFF or data[1] & 0xE0 != 0xE0:
        return False
    version, layer = (data[1] >> 3) & 0b11, (data[1] >> 1) & 0b11
    bitrate, sample_rate = data[2] >> 4, (data[2] >> 2) & 0b11
    return version != 0b01 and layer == 0b01 and bitrate != 0b1111 and sample_rate != 0b11


#: Leading bytes of PNG, JPEG, GIF and TIFF: such a file Pillow cannot open is a broken image.
_IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")


def _looks_like_image(data: bytes) -> bool:
    if data.startswith(_IMAGE_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return True
    try:
        with Image.open(io.BytesIO(data)):
            return True
    except Image.DecompressionBombError:
        return True  # an image, refused with a clear message by normalise_image
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return False


def normalise_image(data: bytes, where: str) -> tuple[bytes, str]:
    """Return ``(bytes, mime)``: PNG/JPEG unchanged, anything else as deterministic PNG.

    The whole image is decoded, so truncated or corrupt files are caught here.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt = image.format or ""
                orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
                image.load()
                if fmt in PASS_THROUGH_IMAGES and orientation in (1, None):
                    return data, PASS_THROUGH_IMAGES[fmt]
                return encode_png(ImageOps.exif_transpose(image)), "image/png"
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(f"{where}: image is too large ({exc}); downscale it") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise InputError(
            f"{where}: image is truncated or corrupt ({exc}); re-export or replace the file"
        ) from None


def encode_png(image: Image.Image) -> bytes:
    """Encode ``image`` as PNG with no metadata, so equal pixels give equal bytes.

    A high-bit-depth image becomes 16-bit greyscale (:func:`high_depth`), not 8-bit."""
    if image.mode in HIGH_DEPTH_MODES:
        image = high_depth(image)
    elif image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


#: Pillow modes of greyscale images with more than 8 bits per pixel.
HIGH_DEPTH_MODES = frozenset({"I", "F", "I;16", "I;16L", "I;16B", "I;16N"})


def high_depth(image: Image.Image) -> Image.Image:
    """A 16-bit greyscale (``I;16``) copy of a high-bit-depth greyscale ``image``.

    16-bit values and 32-bit integers within 0..65535 are kept as they are; other 32-bit
    integer and all float images are stretched linearly from their minimum (0) to their
    maximum (65535), a flat one becomes 0. NaN or infinite pixels raise :class:`InputError`."""
    import numpy as np

    values = np.asarray(image)
    if image.mode.startswith("I;16"):
        return Image.fromarray(values.astype(np.uint16))
    values = values.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise InputError("image has NaN or infinite pixel values; replace them before embedding")
    low, high = float(values.min()), float(values.max())
    if image.mode == "F" or low < 0 or high > 65535:
        values = (values - low) * (65535 / (high - low)) if high > low else np.zeros_like(values)
    return Image.fromarray(np.rint(values).astype(np.uint16))
