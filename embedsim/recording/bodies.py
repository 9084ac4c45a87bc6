"""Embedding request bodies as cassettes store and compare them.

Media in request bodies is stored as its digest: every ``inline_data.data`` (base64)
becomes ``sha256:<hex>`` of the decoded bytes - the same value as
:attr:`embedsim.inputs.items.Item.digest` - so cassettes stay small and a changed image no
longer matches (:func:`digest_media`). Bodies match as normalised JSON
(:func:`body_matcher`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

BODY_MATCHER = "embedsim_body"
MEDIA_KEYS = ("inline_data", "inlineData")


def _b64decode(data: str) -> bytes:
    padded = data + "=" * (-len(data) % 4)
    try:
        return base64.b64decode(padded, altchars=b"-_" if ("-" in data or "_" in data) else None, validate=True)
    except (binascii.Error, ValueError):
        return data.encode("utf-8")  # not base64: digest the text itself


def _digest_tree(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in MEDIA_KEYS and isinstance(value, dict) and isinstance(value.get("data"), str):
                value = dict(value)
                if not value["data"].startswith("sha256:"):
                    value["data"] = "sha256:" + hashlib.sha256(_b64decode(value["data"])).hexdigest()
                out[key] = value
            else:
                out[key] = _digest_tree(value)
        return out
    if isinstance(node, list):
        return [_digest_tree(v) for v in node]
    return node


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


def digest_media(body: bytes | str | None) -> bytes | str | None:
    """``body`` with every base64 ``inline_data.data`` replaced by ``sha256:<hex>``.

    Bodies that are not JSON are returned unchanged. Idempotent.
    """
    parsed = json_body(body)
    if parsed is None:
        return body
    return json.dumps(_digest_tree(parsed), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def body_matcher(r1: Any, r2: Any) -> None:
    """vcr matcher: equal JSON bodies after :func:`digest_media` (bytes otherwise)."""
    a, b = json_body(digest_media(r1.body)), json_body(digest_media(r2.body))
    if a is None or b is None:
        assert r1.body == r2.body, "bodies differ"
        return
    assert a == b, "JSON bodies differ (media compared by sha256 digest)"


def request_inputs(body: Any) -> tuple[list[str], dict[str, Any]]:
    """The inputs of an embedding request body (``text:...`` / ``<mime> sha256:...``) and
    its other fields (model, outputDimensionality, ...)."""
    parsed = json_body(digest_media(body))
    inputs: list[str] = []
    fields: dict[str, Any] = {}
    requests = parsed.get("requests", [parsed]) if isinstance(parsed, dict) else []
    for req in requests:
        if not isinstance(req, dict):
            continue
        for key, value in req.items():
            if key != "content":
                fields.setdefault(key, value)
        for part in (req.get("content") or {}).get("parts", []):
            if "text" in part:
                inputs.append(f"text {part['text']!r}")
            for key in MEDIA_KEYS:
                if key in part:
                    media = part[key]
                    inputs.append(f"{media.get('mime_type') or media.get('mimeType')} {media.get('data')}")
    return inputs, fields
