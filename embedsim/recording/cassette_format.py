"""A vcrpy serializer that stores embedding vectors compactly and losslessly.

A recorded answer holds each vector as JSON numbers, pretty-printed one per line: 39-75 KB of
YAML per 3072-d vector. This serializer stores the cassette as vcrpy's YAML does, except that in
a JSON response body every list of at least :data:`MIN_LENGTH` floats whose values are float32
values becomes the base64 of its float32 little-endian bytes (16 KB for 3072 values):

* ``{float32: <base64>}`` - each value was exactly a float32 (``json.dumps`` of a float32);
* ``{float32_text: <base64>}`` - each value was the shortest decimal of a float32, as services
  that compute in float32 print them (``-0.0070545054``): loading parses that decimal again.

The body is then stored parsed (``{json: ...}``, readable beside the request) and loaded back as
JSON text whose values are bit-identical to the recorded ones; ``Content-Length`` follows the
new length. Every body is checked when it is saved: one that would not load back identical
(values that are not float32, integers, NaN payloads, non-JSON, a marker key of its own) is
stored as it came (``{string: ...}``). Cassettes in vcrpy's plain format load unchanged, and
requests are never rewritten.

Use: ``vcr.register_serializer(NAME, embedsim.recording.cassette_format)`` and ``serializer=NAME``.
"""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import numpy as np

#: The name embedsim registers this serializer under.
NAME = "embedsim-yaml"
#: Shorter float lists stay JSON numbers (readable, and too small to matter).
MIN_LENGTH = 16
EXACT, TEXT = "float32", "float32_text"
MARKERS = (EXACT, TEXT)


def _bits(values: list[float] | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).view(np.uint64)


def _shortest(values: np.ndarray) -> list[float]:
    """Each float32 printed as its shortest round-trip decimal, parsed back as a double."""
    return [float(str(value)) for value in values]


def _pack(values: list[Any]) -> dict[str, str] | list[Any]:
    """``values`` as a float32 marker when that loads back bit-identical, else unchanged."""
    if len(values) < MIN_LENGTH or not all(type(v) is float for v in values):
        return values
    with np.errstate(over="ignore", invalid="ignore"):
        singles = np.asarray(values, dtype=np.float32)
    encoded = base64.b64encode(singles.astype("<f4").tobytes()).decode("ascii")
    original = _bits(values)
    if np.array_equal(_bits(singles.astype(np.float64)), original):
        return {EXACT: encoded}
    if np.array_equal(_bits(_shortest(singles)), original):
        return {TEXT: encoded}
    return values


def _unpack_marker(marker: dict[str, str]) -> list[float]:
    (kind, encoded), = marker.items()
    singles = np.frombuffer(base64.b64decode(encoded, validate=True), dtype="<f4")
    return singles.astype(np.float64).tolist() if kind == EXACT else _shortest(singles)


def _is_marker(node: Any) -> bool:
    return isinstance(node, dict) and len(node) == 1 and next(iter(node)) in MARKERS and isinstance(
        next(iter(node.values())), str)


def pack_json(node: Any) -> Any:
    """``node`` (parsed JSON) with each long float32 list replaced by its marker."""
    if isinstance(node, dict):
        return {key: pack_json(value) for key, value in node.items()}
    if isinstance(node, list):
        packed = _pack(node)
        return packed if isinstance(packed, dict) else [pack_json(v) for v in node]
    return node


def unpack_json(node: Any) -> Any:
    """Inverse of :func:`pack_json`."""
    if _is_marker(node):
        return _unpack_marker(node)
    if isinstance(node, dict):
        return {key: unpack_json(value) for key, value in node.items()}
    if isinstance(node, list):
        return [unpack_json(v) for v in node]
    return node


def identical(a: Any, b: Any) -> bool:
    """Equal JSON values of the same types, floats compared bit for bit."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(identical(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b))
    return a == b


def _has_marker(node: Any) -> bool:
    if _is_marker(node):
        return True
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    return any(_has_marker(child) for child in children)


def compact_body(body: dict[str, Any]) -> dict[str, Any]:
    """A response body ``{string: <json text>}`` as ``{json: <packed>}`` when that is lossless."""
    text = body.get("string")
    if set(body) != {"string"} or not isinstance(text, str):
        return body
    try:
        parsed = json.loads(text)
    except ValueError:
        return body
    if _has_marker(parsed):
        return body
    packed = pack_json(parsed)
    if packed == parsed or not identical(json.loads(json.dumps(unpack_json(packed))), parsed):
        return body
    return {"json": packed}


def expand_body(body: dict[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`compact_body`: ``{string: <json text>}`` (any other body unchanged)."""
    if set(body) != {"json"}:
        return body
    return {"string": json.dumps(unpack_json(body["json"]))}


def _set_length(headers: dict[str, Any], length: int) -> None:
    for name in headers:
        if name.lower() == "content-length":
            headers[name] = [str(length)]


def serialize(cassette_dict: dict[str, Any]) -> str:
    """vcrpy serializer interface: the cassette as YAML, vector lists packed."""
    from vcr.serializers import yamlserializer

    interactions = []
    for interaction in cassette_dict.get("interactions", []):
        response = interaction.get("response")
        if isinstance(response, dict) and isinstance(response.get("body"), dict):
            response = {**response, "body": compact_body(response["body"])}
        interactions.append({**interaction, "response": response})
    return yamlserializer.serialize({**cassette_dict, "interactions": interactions})


def deserialize(cassette_string: str) -> Any:
    """vcrpy serializer interface: a cassette in this format or in vcrpy's plain YAML."""
    from vcr.serializers import yamlserializer

    data = yamlserializer.deserialize(cassette_string)
    for interaction in data.get("interactions", []) if isinstance(data, dict) else ():
        response = interaction.get("response") if isinstance(interaction, dict) else None
        if isinstance(response, dict) and isinstance(response.get("body"), dict) and "json" in response["body"]:
            response["body"] = expand_body(response["body"])
            if isinstance(response.get("headers"), dict):
                _set_length(response["headers"], len(response["body"]["string"].encode("utf-8")))
    return data
