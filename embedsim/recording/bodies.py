"""Embedding request bodies as cassettes store and compare them.

Media in request bodies is stored as its digest: every value at one of the backend's media
paths (:attr:`embedsim.backends.base.Wire.media_paths`: base64, or a ``data:`` URI) becomes
``sha256:<hex>`` of the decoded bytes - the same value as
:attr:`embedsim.inputs.items.Item.digest` - so cassettes stay small and a changed image no
longer matches (:func:`digest_media`). Bodies match as normalised JSON (:func:`body_matcher`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_to_bytes

BODY_MATCHER = "embedsim_body"
DIGEST_PREFIX = "sha256:"


def _b64decode(data: str) -> bytes:
    padded = data + "=" * (-len(data) % 4)
    try:
        return base64.b64decode(padded, altchars=b"-_" if ("-" in data or "_" in data) else None, validate=True)
    except (binascii.Error, ValueError):
        return data.encode("utf-8")  # not base64: digest the text itself


def media_bytes(value: str) -> bytes:
    """The bytes a media value carries: a ``data:`` URI's payload, else base64 (or the text itself)."""
    if value.startswith("data:") and "," in value:
        header, _, payload = value.partition(",")
        return _b64decode(payload) if header.endswith(";base64") else unquote_to_bytes(payload)
    return _b64decode(value)


def digest(value: str) -> str:
    """``sha256:<hex>`` of a media value's bytes (unchanged when it is a digest already)."""
    return value if value.startswith(DIGEST_PREFIX) else DIGEST_PREFIX + hashlib.sha256(media_bytes(value)).hexdigest()


@lru_cache(maxsize=64)
def _compile(paths: tuple[str, ...]) -> re.Pattern[str] | None:
    """Media paths (``inputs[].content[].image_base64``, ``**.media.data``) as one pattern fully
    matching a leaf's path written ``key.key[].key.`` (``**``: any keys between); None for none."""
    if not paths:
        return None
    return re.compile("|".join(
        "".join(r"(?:[^.]*\.)*" if token == "**" else re.escape(token) + r"\." for token in path.split("."))
        for path in paths))


def _walk(node: Any, path: str, leaf: Callable[[str, Any], Any]) -> Any:
    if isinstance(node, dict):
        return {key: _walk(value, f"{path}{key}.", leaf) for key, value in node.items()}
    if isinstance(node, list):
        list_path = f"{path[:-1]}[]." if path else "[]."
        return [_walk(value, list_path, leaf) for value in node]
    return leaf(path, node)


def values_at(body: Any, paths: Sequence[str]) -> list[Any]:
    """The values at ``paths`` (dotted key paths, as a wire's ``media_paths``) of a parsed JSON body, in order."""
    pattern, found = _compile(tuple(paths)), []
    if pattern is not None:
        _walk(body, "", lambda path, value: found.append(value) if pattern.fullmatch(path) else None)
    return found


def _is_media(path: str, value: Any, pattern: re.Pattern[str] | None) -> bool:
    return isinstance(value, str) and pattern is not None and pattern.fullmatch(path) is not None


def _pattern(paths: Sequence[str] | None) -> re.Pattern[str] | None:
    """:func:`_compile` of ``paths``, default every installed backend's media paths."""
    if paths is None:
        from embedsim.recording.wire import media_paths, wires_of

        paths = media_paths(wires_of())
    return _compile(tuple(paths))


def json_body(body: Any) -> Any:
    """``body`` (bytes, text, an iterable or a file of bytes) parsed as JSON, or None."""
    if body is None:
        return None
    if not isinstance(body, (bytes, bytearray, str)):
        body = b"".join(body) if not hasattr(body, "read") else body.read()
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def digest_media(body: bytes | str | None, paths: Sequence[str] | None = None) -> bytes | str | None:
    """``body`` with every media value at ``paths`` (default: every installed backend's media
    paths) replaced by ``sha256:<hex>``. Bodies that are not JSON are returned unchanged. Idempotent."""
    parsed = json_body(body)
    if parsed is None:
        return body
    pattern = _pattern(paths)
    if pattern is None:
        return body
    digested = _walk(parsed, "", lambda path, value: digest(value) if _is_media(path, value, pattern) else value)
    return json.dumps(digested, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def body_matcher(r1: Any, r2: Any) -> None:
    """vcr matcher: equal JSON bodies after :func:`digest_media` (bytes otherwise)."""
    a, b = json_body(digest_media(r1.body)), json_body(digest_media(r2.body))
    if a is None or b is None:
        assert r1.body == r2.body, "bodies differ"
        return
    assert a == b, "JSON bodies differ (media compared by sha256 digest)"


@dataclass(frozen=True)
class Leaf:
    """One value of a request body: its path (``requests[].content.parts[].text``), the value,
    and for media its digest and MIME type (a ``data:`` URI's, or a sibling ``*mime*`` key's)."""

    path: str
    value: Any
    digest: str | None = None
    mime: str | None = None

    @property
    def entry(self) -> str:
        """What identifies it in a comparison: ``text 'Happy'``, or the media's ``sha256:<hex>``."""
        return self.digest if self.digest is not None else f"text {self.value!r}"


def request_leaves(body: Any, paths: Sequence[str] | None = None) -> list[Leaf]:
    """The values of a JSON request body in order, media (at ``paths``) as digests."""
    pattern = _pattern(paths)
    parsed = json_body(body)
    leaves: list[Leaf] = []

    def visit(node: Any, path: str, siblings: dict[str, Any]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                visit(value, f"{path}{key}.", node)
        elif isinstance(node, list):
            for value in node:
                visit(value, f"{path[:-1]}[]." if path else "[].", {})
        elif _is_media(path, node, pattern):
            mime = node[5:].partition(";")[0].partition(",")[0] if node.startswith("data:") else next(
                (v for k, v in siblings.items() if "mime" in k.lower() and isinstance(v, str)), None)
            leaves.append(Leaf(path.rstrip("."), None, digest(node), mime or None))
        else:
            leaves.append(Leaf(path.rstrip("."), node))

    visit(parsed, "", {})
    return leaves
