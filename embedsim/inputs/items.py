"""Input items: the bytes (or text) sent to a model, with MIME type, id, labels and digest.

A file's kind is recognised by its content (:mod:`embedsim.inputs.sniff`); images pass through
or become deterministic PNG (:mod:`embedsim.inputs.image_bytes`). Anything else raises
:class:`InputError`, as does a file that is not a regular file (a FIFO or device would
hang or never end), or an empty text. How long a text may be is each model's own limit
(:meth:`embedsim.backends.base.BackendSpec.text_limit`, checked before any call).
"""

from __future__ import annotations

import hashlib
import math
import os
import stat
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

from embedsim.errors import InputError
from embedsim.inputs.image_bytes import looks_like_image, normalise_image
from embedsim.inputs.sniff import image_brand, sniff_media

Kind = Literal["text", "image", "audio", "video", "pdf"]
KINDS: tuple[Kind, ...] = ("text", "image", "audio", "video", "pdf")

#: Rule-of-thumb bytes of UTF-8 per token used by :func:`estimate_tokens`.
BYTES_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    """A rough token count: ASCII bytes / :data:`BYTES_PER_TOKEN` plus one token per
    non-ASCII character (CJK text is about one token per character), at least the word count."""
    non_ascii = sum(1 for char in text if char >= "\x80")
    return max(len(text.split()), math.ceil((len(text) - non_ascii) / BYTES_PER_TOKEN) + non_ascii)


#: File suffixes read as UTF-8 text (when they decode as UTF-8).
TEXT_SUFFIXES = (".txt", ".md")
#: The byte order mark some editors put at the start of a UTF-8 file: a marker, not text.
UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Item:
    """One input for an embedding model.

    ``data`` holds the bytes sent to the model (UTF-8 for text). ``id`` names the item (a
    dataset manifest's ``id``, :attr:`Dataset.ids <embedsim.inputs.datasets.Dataset.ids>`; the
    label of its row or column in a matrix, and in messages); ``labels`` carries metadata such as
    ``{"person": "barack_obama", "expression": "happy"}`` for grouping.
    """

    kind: Kind
    data: bytes = field(repr=False)
    mime_type: str
    id: str
    labels: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    source: str = field(default="", compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str):
            raise InputError(f"item id {self.id!r} ({self.source or self.kind}): give a string")
        if not is_encodable(self.id):
            raise InputError(f"item id {self.id!r} ({self.source or self.kind}) holds a lone surrogate "
                             "(a broken UTF-16 pair or an undecodable file name); give a valid Unicode id")

    @property
    def label(self) -> str:
        """Deprecated: :attr:`id`."""
        warnings.warn("Item.label is deprecated: use Item.id", DeprecationWarning, stacklevel=2)
        return self.id

    @property
    def text(self) -> str:
        """The text of a text item."""
        if self.kind != "text":
            raise InputError(f"item {self.id!r} is {self.kind}, not text")
        return self.data.decode("utf-8")

    @cached_property
    def digest(self) -> str:
        """``sha256`` hex digest of :attr:`data` (equal bytes, equal digest)."""
        return hashlib.sha256(self.data).hexdigest()

    def describe(self) -> str:
        """A short human description: id plus source file when there is one."""
        return f"{self.id!r} ({self.source})" if self.source else repr(self.id)


def text_item(text: str, id: str | None = None, labels: Mapping[str, str] | None = None, *,
              label: str | None = None) -> Item:
    """An item for ``text`` (``id`` defaults to the text); empty or whitespace-only text is refused.
    ``label=``: deprecated spelling of ``id=``."""
    label = _deprecated_label(id, label, "text_item")
    if not isinstance(text, str) or not text.strip():
        raise InputError(
            f"text item {label or text!r} is empty or whitespace only: give it some text"
        )
    where = f"text item {_shorten(label or text)!r}"
    if not is_encodable(text):
        raise InputError(f"{where} holds a lone surrogate (not valid Unicode, e.g. an argument that is not "
                         "UTF-8); give valid UTF-8 text")
    return Item("text", text.encode("utf-8"), "text/plain", label or text, dict(labels or {}))


def _deprecated_label(id: str | None, label: str | None, what: str) -> str | None:
    """``id``, or the deprecated ``label=`` (with a warning)."""
    if label is None:
        return id
    if id is not None:
        raise InputError(f"{what}: give id= only (label= is its deprecated spelling)")
    warnings.warn(f"{what}(..., label=) is deprecated: write {what}(..., id=)", DeprecationWarning, stacklevel=3)
    return label


def is_encodable(text: str) -> bool:
    """``text`` is valid Unicode: it holds no lone surrogate, so it encodes as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def file_label(path: Path) -> str:
    """The default id of a file: its stem, with bytes of a non-UTF-8 name shown as ``\\xNN``."""
    return os.fsencode(path.stem).decode("utf-8", "backslashreplace")


def load_item(
    path: str | Path, id: str | None = None, labels: Mapping[str, str] | None = None, *,
    label: str | None = None,
) -> Item:
    """Read ``path`` into an :class:`Item`, recognising its type by content.

    ``id`` defaults to the file's stem (``label=``: its deprecated spelling). Raises
    :class:`InputError` naming the file for a missing file, a directory, an empty, corrupt or
    unsupported file.
    """
    label = _deprecated_label(id, label, "load_item")
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
    id: str,
    labels: Mapping[str, str] | None = None,
    source: str = "",
) -> Item:
    """Build an item from raw file bytes, sniffing the type from the content."""
    label = id
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
    brand = image_brand(data)
    if brand and not looks_like_image(data):
        raise InputError(f"{where}: a HEIF/AVIF image (brand {brand!r}) this Pillow cannot decode; "
                         "convert it to PNG or JPEG")
    if brand or looks_like_image(data):
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
    """A text item of a ``.txt`` / ``.md`` file's bytes; a UTF-8 byte order mark is not text."""
    data = data.removeprefix(UTF8_BOM)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{source}: is not valid UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8"
        ) from None
    if not text.strip():
        raise InputError(f"{source}: text file is empty or whitespace only; give it some text")
    return Item("text", data, "text/plain", label, labels, source)
