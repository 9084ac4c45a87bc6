"""embedsim.recording.cassette_format: compact, lossless cassettes."""

from __future__ import annotations

import importlib.util
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from embedsim.recording import cassette_format

BENCHMARK_CASE = Path(__file__).resolve().parent.parent / "benchmarks" / "cases" / "cassette_vectors.py"
DIMENSION = 3072
#: The issue's bound for float32 answers (float32 itself is 12 KB).
BOUND = 17 * 1024


def float32_vectors(count: int, dimension: int = DIMENSION, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((count, dimension)).astype(np.float32) / 50


def answer(values: list[list[Any]], indent: int | None = 2) -> dict[str, Any]:
    """A vcr response dict with a batchEmbedContents-shaped body (synthetic values)."""
    text = json.dumps({"embeddings": [{"values": v} for v in values]}, indent=indent)
    return {"status": {"code": 200, "message": "OK"}, "body": {"string": text},
            "headers": {"Content-Type": ["application/json"], "Content-Length": [str(len(text))]}}


def cassette_text(*responses: dict[str, Any]) -> str:
    request = {"method": "POST", "uri": "http://127.0.0.1/v1/models/m:batchEmbedContents", "body": '{"requests": []}',
               "headers": {}}
    return cassette_format.serialize({"version": 1, "interactions": [
        {"request": request, "response": response} for response in responses]})


def loaded_values(text: str) -> list[Any]:
    body = cassette_format.deserialize(text)["interactions"][0]["response"]["body"]["string"]
    return [e["values"] for e in json.loads(body)["embeddings"]]


def bits(values: list[float]) -> list[bytes]:
    return [struct.pack("<d", v) for v in values]


@pytest.mark.parametrize("spelling", ["exact", "shortest decimal"])
def test_float32_answers_load_bit_identical_in_at_most_17_kb_per_vector(spelling: str) -> None:
    vectors = float32_vectors(4)
    values = [[float(v) for v in row] if spelling == "exact" else [float(str(v)) for v in row] for row in vectors]
    text = cassette_text(answer(values))
    assert len(text.encode()) / len(values) <= BOUND
    assert [bits(v) for v in loaded_values(text)] == [bits(v) for v in values]


def test_the_stored_answer_is_readable_and_the_request_untouched() -> None:
    text = cassette_text(answer([[float(v) for v in float32_vectors(1)[0]]]))
    stored = yaml.safe_load(text)["interactions"][0]
    assert stored["request"]["body"] == '{"requests": []}'
    (marker,) = stored["response"]["body"]["json"]["embeddings"][0]["values"]
    assert marker == "float32"


@pytest.mark.parametrize("values", [
    np.random.default_rng(1).standard_normal(64).tolist(),                  # float64 values
    [float(v) for v in float32_vectors(1, 64)[0]][:-1] + [0.1],             # one value not float32
    list(range(64)),                                                         # integers stay integers
    [float(v) for v in float32_vectors(1, 64)[0]][:-1] + [1e39],             # beyond float32's range
    [float(v) for v in float32_vectors(1, 8)[0]],                            # too short to matter
], ids=["float64", "one-double", "integers", "huge", "short"])
def test_anything_else_is_stored_losslessly_as_it_came(values: list[Any]) -> None:
    response = answer([values])
    text = cassette_text(response)
    loaded = cassette_format.deserialize(text)["interactions"][0]["response"]["body"]["string"]
    assert loaded == response["body"]["string"]


def test_a_body_with_a_marker_of_its_own_is_stored_as_it_came() -> None:
    body = json.dumps({"values": {"float32": "AAAA"}, "more": [0.5] * 32})
    response = {"status": {"code": 200, "message": "OK"}, "body": {"string": body}, "headers": {}}
    assert cassette_format.deserialize(cassette_text(response))["interactions"][0]["response"]["body"]["string"] == body


def test_nan_and_signed_zero_survive() -> None:
    values = [float(v) for v in float32_vectors(1, 64)[0]][:-2] + [float("nan"), -0.0]
    loaded = loaded_values(cassette_text(answer([values])))[0]
    assert bits(loaded) == bits(values)


def test_content_length_follows_the_loaded_body() -> None:
    text = cassette_text(answer([[float(v) for v in float32_vectors(1)[0]]]))
    response = cassette_format.deserialize(text)["interactions"][0]["response"]
    assert response["headers"]["Content-Length"] == [str(len(response["body"]["string"].encode()))]


def test_a_cassette_in_plain_vcrpy_yaml_loads_unchanged() -> None:
    from vcr.serializers import yamlserializer

    plain = {"version": 1, "interactions": [{"request": {"method": "GET"}, "response": answer([[0.25] * 32])}]}
    assert cassette_format.deserialize(yamlserializer.serialize(plain)) == plain


def test_the_sdk_replays_bit_identical_values_in_a_third_of_the_bytes() -> None:
    """Recorded through the real google-genai client against the emulator (answers printed as a
    float32 service prints them), replayed offline: benchmarks/cases/cassette_vectors.py."""
    spec = importlib.util.spec_from_file_location("cassette_vectors", BENCHMARK_CASE)
    case = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(case)
    result = case.run(quick=True)
    assert result["bit_identical_replay"] is True
    plain_vcrpy, embedsim_yaml, compact = (row["bytes_per_vector"] for row in result["rows"])
    assert compact <= BOUND < embedsim_yaml and compact * 2.5 < plain_vcrpy


def test_an_emulator_recording_is_stored_compactly_and_replays_bit_identical(tmp_path: Path) -> None:
    """The emulator answers as a float32 service does, so its recordings take the compact path."""
    from embedsim.backends.gemini.embedder import GeminiEmbedder
    from embedsim.inputs.items import text_item
    from embedsim.recording.vcr_settings import make_vcr
    from embedsim.testing.gemini import GeminiEmulator

    items = [text_item(word) for word in ("cat", "dog")]

    def embed(base_url: str, mode: str) -> np.ndarray:
        with make_vcr(tmp_path, mode).use_cassette("call.yaml"):
            return GeminiEmbedder("gemini-embedding-2-preview", dimension=256, api_key="not-a-key",
                                  base_url=base_url).embed(items)

    with GeminiEmulator() as emulator:
        base_url = emulator.base_url
        live = embed(base_url, "once")
    replayed = embed(base_url, "none")  # emulator stopped
    (interaction,) = yaml.safe_load((tmp_path / "call.yaml").read_text(encoding="utf-8"))["interactions"]
    markers = [set(e["values"]) for e in interaction["response"]["body"]["json"]["embeddings"]]
    assert markers == [{"float32_text"}] * 2
    assert replayed.tobytes() == live.tobytes()
