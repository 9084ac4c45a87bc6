"""The loopback Gemini emulator: protocol, the service's checks and error shapes, faults, log, CLI."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from typing import Any

import numpy as np
import pytest
from PIL import Image

from embedsim.testing.gemini import GeminiEmulator

MODEL = "gemini-embedding-2-preview"


def post(emulator: GeminiEmulator, path: str, body: Any, key: str | None = "test-key", raw: bytes | None = None) -> tuple[int, Any]:
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(emulator.base_url + path, data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    if key is not None:
        request.add_header("x-goog-api-key", key)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def text_request(text: str, model: str = MODEL, **extra: Any) -> dict[str, Any]:
    return {"model": f"models/{model}", "content": {"parts": [{"text": text}]}, **extra}


def png(color: tuple[int, int, int]) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buffer, format="PNG")
    return base64.urlsafe_b64encode(buffer.getvalue()).decode()


def image_part(color: tuple[int, int, int] = (200, 10, 10), mime: str = "image/png") -> dict[str, Any]:
    return {"inline_data": {"data": png(color), "mime_type": mime}}


BATCH = f"/v1/models/{MODEL}:batchEmbedContents"


def test_batch_gives_one_vector_per_request_in_order(emulator: GeminiEmulator) -> None:
    texts = ["alpha", "beta", "gamma"]
    status, body = post(emulator, BATCH, {"requests": [text_request(t) for t in texts]})
    assert status == 200
    vectors = np.array([e["values"] for e in body["embeddings"]])
    assert vectors.shape == (3, 3072)  # default output size
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    _, single = post(emulator, BATCH, {"requests": [text_request("beta")]})
    assert np.allclose(single["embeddings"][0]["values"], vectors[1])


def test_values_are_float32_printed_as_their_shortest_decimals(emulator: GeminiEmulator) -> None:
    """As the service answers (and what embedsim.recording.cassette_format stores compactly)."""
    for path, body in ((BATCH, {"requests": [text_request("alpha"), text_request("beta", outputDimensionality=128)]}),
                       (f"/v1/models/{MODEL}:embedContent", {"content": {"parts": [{"text": "gamma"}]}})):
        request = urllib.request.Request(emulator.base_url + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"x-goog-api-key": "test-key"})
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
        numbers = re.findall(r"-?\d[\d.e+-]*", text.split('"values"', 1)[1])
        assert len(numbers) >= 128
        assert all(number == str(np.float32(number)) for number in numbers), numbers[:5]


def test_several_parts_in_one_content_give_one_vector(emulator: GeminiEmulator) -> None:
    """The grouping trap is observable: one content with three parts -> one vector."""
    grouped = {"model": f"models/{MODEL}", "content": {"parts": [{"text": t} for t in ("a", "b", "c")]}}
    status, body = post(emulator, BATCH, {"requests": [grouped]})
    assert status == 200 and len(body["embeddings"]) == 1


def test_truncated_vectors_are_not_unit_length(emulator: GeminiEmulator) -> None:
    status, body = post(emulator, BATCH, {"requests": [text_request("x", outputDimensionality=768)]})
    assert status == 200
    values = np.array(body["embeddings"][0]["values"])
    assert values.shape == (768,) and not np.isclose(np.linalg.norm(values), 1.0)


def test_v1beta_and_embed_content_routes(emulator: GeminiEmulator) -> None:
    status, body = post(emulator, f"/v1beta/models/{MODEL}:batchEmbedContents", {"requests": [text_request("x")]})
    assert status == 200 and len(body["embeddings"]) == 1
    status, body = post(emulator, f"/v1/models/{MODEL}:embedContent", {"content": {"parts": [{"text": "x"}]}})
    assert status == 200 and len(body["embedding"]["values"]) == 3072


def test_images_and_media_parts_are_embedded(emulator: GeminiEmulator) -> None:
    media = [
        image_part(),
        image_part((0, 0, 250), "image/jpeg"),  # PNG bytes labelled JPEG still decode
        {"inline_data": {"data": base64.b64encode(b"RIFF\0\0\0\0WAVEfmt data").decode(), "mime_type": "audio/wav"}},
        {"inline_data": {"data": base64.b64encode(b"%PDF-1.4 hello").decode(), "mime_type": "application/pdf"}},
    ]
    requests = [{"model": f"models/{MODEL}", "content": {"parts": [p]}} for p in media]
    status, body = post(emulator, BATCH, {"requests": requests})
    assert status == 200 and len(body["embeddings"]) == 4


def test_api_key_in_query_parameter_is_accepted(emulator: GeminiEmulator) -> None:
    status, _ = post(emulator, BATCH + "?key=abc", {"requests": [text_request("x")]}, key=None)
    assert status == 200


def too_many_images() -> dict[str, Any]:
    return {"model": f"models/{MODEL}", "content": {"parts": [image_part((i * 30, 0, 0)) for i in range(7)]}}


ERRORS = {
    "missing key": (None, BATCH, {"requests": [text_request("x")]}, 403, "PERMISSION_DENIED", "unregistered callers"),
    "over 100 requests": ("k", BATCH, {"requests": [text_request(str(i)) for i in range(101)]}, 400, "INVALID_ARGUMENT", "at most 100 requests"),
    "over 6 images": ("k", BATCH, {"requests": [too_many_images()]}, 400, "INVALID_ARGUMENT", "at most 6 images"),
    "bad MIME": ("k", BATCH, {"requests": [{"model": f"models/{MODEL}", "content": {"parts": [image_part(mime="image/gif")]}}]}, 400, "INVALID_ARGUMENT", "Unsupported MIME type: image/gif"),
    "empty text": ("k", BATCH, {"requests": [text_request("  ")]}, 400, "INVALID_ARGUMENT", "must not be empty"),
    "empty parts": ("k", BATCH, {"requests": [{"model": f"models/{MODEL}", "content": {"parts": []}}]}, 400, "INVALID_ARGUMENT", "must not be empty"),
    "no requests": ("k", BATCH, {"requests": []}, 400, "INVALID_ARGUMENT", "at least one request"),
    "dimension 127": ("k", BATCH, {"requests": [text_request("x", outputDimensionality=127)]}, 400, "INVALID_ARGUMENT", "between 128 and 3072"),
    "dimension 3073": ("k", BATCH, {"requests": [text_request("x", outputDimensionality=3073)]}, 400, "INVALID_ARGUMENT", "between 128 and 3072"),
    "model mismatch": ("k", BATCH, {"requests": [text_request("x", model="gemini-embedding-001")]}, 400, "INVALID_ARGUMENT", "does not match"),
    "text-only model, image": ("k", "/v1/models/gemini-embedding-001:batchEmbedContents", {"requests": [{"model": "models/gemini-embedding-001", "content": {"parts": [image_part()]}}]}, 400, "INVALID_ARGUMENT", "only supports text"),
    "unknown method": ("k", f"/v1/models/{MODEL}:generateContent", {}, 404, "NOT_FOUND", "not found"),
}


@pytest.mark.parametrize("case", list(ERRORS), ids=list(ERRORS))
def test_errors_have_the_service_shape(emulator: GeminiEmulator, case: str) -> None:
    key, path, body, code, status_name, fragment = ERRORS[case]
    status, answer = post(emulator, path, body, key=key)
    assert status == code
    assert set(answer) == {"error"} and set(answer["error"]) == {"code", "message", "status"}
    assert answer["error"]["code"] == code and answer["error"]["status"] == status_name
    assert fragment in answer["error"]["message"]


def test_invalid_json_is_a_400(emulator: GeminiEmulator) -> None:
    status, answer = post(emulator, BATCH, None, raw=b"{not json")
    assert status == 400 and answer["error"]["status"] == "INVALID_ARGUMENT"


def test_a_fixed_key_must_match() -> None:
    with GeminiEmulator(api_key="right") as emulator:
        assert post(emulator, BATCH, {"requests": [text_request("x")]}, key="right")[0] == 200
        status, answer = post(emulator, BATCH, {"requests": [text_request("x")]}, key="wrong")
        assert status == 400 and "API key not valid" in answer["error"]["message"]


def test_request_log_records_method_path_headers_and_body(emulator: GeminiEmulator) -> None:
    post(emulator, BATCH, {"requests": [text_request("x")]}, key="abc")
    (logged,) = emulator.requests
    assert logged.method == "POST" and logged.path == BATCH
    assert logged.headers["x-goog-api-key"] == "abc"
    assert logged.body["requests"][0]["content"]["parts"] == [{"text": "x"}]
    emulator.reset()
    assert emulator.requests == [] and emulator.max_in_flight == 0


def test_faults_times_after_forever_and_reset(emulator: GeminiEmulator) -> None:
    body = {"requests": [text_request("x")]}
    emulator.inject("503", times=2, after=1)
    codes = [post(emulator, BATCH, body)[0] for _ in range(4)]
    assert codes == [200, 503, 503, 200]
    emulator.inject("429", times=None)
    assert [post(emulator, BATCH, body)[0] for _ in range(3)] == [429, 429, 429]
    _, answer = post(emulator, BATCH, body)
    assert answer["error"]["status"] == "RESOURCE_EXHAUSTED"
    emulator.reset()
    assert post(emulator, BATCH, body)[0] == 200
    with pytest.raises(ValueError, match="unknown fault"):
        emulator.inject("boom")


@pytest.mark.parametrize("fault", ["malformed", "truncated"])
def test_broken_bodies(emulator: GeminiEmulator, fault: str) -> None:
    emulator.inject(fault)
    request = urllib.request.Request(
        emulator.base_url + BATCH, data=json.dumps({"requests": [text_request("x")]}).encode(),
        headers={"x-goog-api-key": "k"}, method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["X-Embedsim-Emulator"] == "not-gemini"
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.read())


def test_wrong_count_empty_and_nan_faults(emulator: GeminiEmulator) -> None:
    body = {"requests": [text_request("a"), text_request("b")]}
    emulator.inject("wrong_count")
    assert len(post(emulator, BATCH, body)[1]["embeddings"]) == 1
    emulator.inject("wrong_count", delta=1)
    assert len(post(emulator, BATCH, body)[1]["embeddings"]) == 3
    emulator.inject("empty")
    assert post(emulator, BATCH, body)[1]["embeddings"][0]["values"] == []
    emulator.inject("nan")
    assert np.isnan(post(emulator, BATCH, body)[1]["embeddings"][0]["values"][0])


def test_delay_and_max_in_flight_are_thread_safe() -> None:
    with GeminiEmulator(latency=0.2) as emulator:
        threads = [threading.Thread(target=post, args=(emulator, BATCH, {"requests": [text_request("x")]})) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(emulator.requests) == 5
        assert emulator.max_in_flight == 5
    with GeminiEmulator() as emulator:
        emulator.inject("delay", seconds=0.3)
        assert post(emulator, BATCH, {"requests": [text_request("x")]})[0] == 200


def test_command_line_prints_base_url_and_stops_on_ctrl_c() -> None:
    """Started with SIGINT ignored (as a script's background job is), Ctrl-C still stops it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "embedsim.testing.gemini", "--port", "0"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        assert "NOT Gemini" in line
        base_url = line.rsplit(" ", 1)[-1].strip()
        assert base_url.startswith("http://127.0.0.1:")
        request = urllib.request.Request(
            base_url + BATCH, data=json.dumps({"requests": [text_request("x")]}).encode(),
            headers={"x-goog-api-key": "k"}, method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize(("length", "status"), [("abc", 400), ("-5", 400), ("1e3", 400), (str(2**70), 413)])
def test_a_bad_content_length_is_answered_not_dropped(emulator: GeminiEmulator, length: str, status: int) -> None:
    host, port = emulator.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(f"POST /v1/models/{MODEL}:batchEmbedContents HTTP/1.1\r\nHost: x\r\n"
                           f"x-goog-api-key: k\r\nContent-Length: {length}\r\n\r\n{{}}".encode())
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode())
    assert json.loads(body)["error"]["code"] == status
