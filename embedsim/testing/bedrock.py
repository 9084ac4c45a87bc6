"""A loopback emulator of Amazon Bedrock's ``InvokeModel`` for the embedding models - a TEST TOOL,
like moto for AWS.

It answers ``POST /model/{modelId}/invoke`` (what botocore 1.44 sends: ``bedrock-runtime``'s
``InvokeModel``, ``botocore/data/bedrock-runtime/2023-09-30/service-2.json``) for Titan
Multimodal Embeddings G1, Nova Multimodal Embeddings and Cohere Embed v4, checks what the service
checks (a SigV4 or bearer ``Authorization`` header, the body's shape, one input per Titan / Nova
call, the offered output sizes, at most 96 Cohere inputs) and answers errors as botocore parses
them (``x-amzn-ErrorType`` header, ``{"message": ...}`` body). Error messages are modelled on
the real ones, not guaranteed identical.

**Its vectors are NOT Amazon's or Cohere's**: they come from the local ``pixels`` baseline and
every answer carries ``X-Embedsim-Emulator: not-bedrock``, so a recorder refuses them under a
vendor's model id. Like Titan, a body with text and an image gets ONE (averaged) vector.

Faults (:meth:`BedrockEmulator.inject`): ``"throttling"`` (429 ThrottlingException), ``"expired"``
(403 ExpiredTokenException), ``"500"`` / ``"503"`` (InternalServerException /
ServiceUnavailableException), ``"malformed"`` (not JSON); ``after=N`` lets N calls pass first,
``times=None`` means forever. Point boto3 at it with ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``.

Command line: ``python -m embedsim.testing.bedrock --port 8766``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import re
import threading
import time
from typing import Any
from urllib.parse import unquote, urlsplit

import numpy as np

from embedsim.inputs.items import Item
from embedsim.testing.gemini import (
    EMULATOR_HEADER,
    _COMPUTE,
    EmulatorRequest,
    _content_length,
    _Fault,
    _pixels,
    _Server,
    float32_decimals,
)

_ROUTE = re.compile(r"^/model/([^/]+)/invoke$")
FAULTS = ("throttling", "expired", "malformed", "500", "503")
_ERRORS = {
    "throttling": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "expired": (403, "ExpiredTokenException", "The security token included in the request is expired"),
    "500": (500, "InternalServerException", "The server encountered an internal error while processing the request."),
    "503": (503, "ServiceUnavailableException", "The service is temporarily unable to handle the request."),
}
TITAN_SIZES, NOVA_SIZES, COHERE_SIZES = (256, 384, 1024), (256, 384, 1024, 3072), (256, 512, 1024, 1536)
MIME = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}


class BedrockError(Exception):
    """An error answer: HTTP status, the error name botocore reads, a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _invalid(message: str) -> BedrockError:
    return BedrockError(400, "ValidationException", message)


class BedrockEmulator:
    """Threaded loopback server speaking Bedrock's ``InvokeModel`` for embedding models (a test tool)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, latency: float = 0.0) -> None:
        self.host, self.port, self.latency = host, port, latency
        self.requests: list[EmulatorRequest] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("emulator not started; call start() or use it as a context manager")
        return f"http://{self.host}:{self._server.server_port}"

    def start(self) -> BedrockEmulator:
        if self._server is None:
            self._server = _Server((self.host, self.port), _handler_for(self))
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name="bedrock-emulator", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> BedrockEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def inject(self, fault: str, times: int | None = 1, **params: Any) -> None:
        """Queue ``fault`` (one of :data:`FAULTS`) for the next ``times`` calls; ``after=N`` first lets N pass."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}: use one of {FAULTS}")
        after = int(params.pop("after", 0))
        with self._lock:
            self._faults.append(_Fault(fault, times, after, params))

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._faults.clear()
            self.max_in_flight = 0

    @property
    def embed_calls(self) -> list[EmulatorRequest]:
        with self._lock:
            return [r for r in self.requests if _ROUTE.match(urlsplit(r.path).path)]

    def _next_fault(self) -> _Fault | None:
        with self._lock:
            chosen = None
            for fault in self._faults:
                if fault.after > 0:
                    fault.after -= 1
                elif chosen is None:
                    chosen = fault
                    if fault.times is not None:
                        fault.times -= 1
            self._faults = [f for f in self._faults if f.times is None or f.times > 0]
        return chosen

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, str], bytes]:
        """Answer one request: ``(status, extra headers, body)``."""
        body: Any = None
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        request = EmulatorRequest(method, target, headers, body, time.monotonic())
        with self._lock:
            self.requests.append(request)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if self.latency:
                time.sleep(self.latency)
            return 200, {}, self._answer(request, raw)
        except BedrockError as exc:
            return exc.status, {"x-amzn-ErrorType": f"{exc.code}:http://internal.amazon.com/coral/com.amazon.bedrock/"}, \
                json.dumps({"message": exc.message}).encode()
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer(self, request: EmulatorRequest, raw: bytes) -> bytes:
        match = _ROUTE.match(urlsplit(request.path).path)
        if match is None or request.method != "POST":
            raise BedrockError(404, "UnknownOperationException", f"Unknown operation {request.method} {request.path}")
        auth = request.headers.get("authorization", "")
        if not (auth.startswith("AWS4-HMAC-SHA256 Credential=") or auth.startswith("Bearer ")):
            raise BedrockError(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        fault = self._next_fault()
        if fault is not None and fault.kind in _ERRORS:
            raise BedrockError(*_ERRORS[fault.kind])
        if fault is not None and fault.kind == "malformed":
            return b"<html><body>Bad Gateway</body></html>"
        if not isinstance(request.body, dict):
            raise _invalid(f"Malformed input request: expected a JSON object, got {raw[:40]!r}")
        model = unquote(match.group(1))  # an inference profile's geography prefix (us., eu.) included
        if "titan-embed-image" in model:
            answer = self._titan(request.body)
        elif "multimodal-embeddings" in model:
            answer = self._nova(request.body)
        elif "cohere.embed-v4" in model:
            answer = self._cohere(request.body)
        else:
            raise BedrockError(404, "ResourceNotFoundException", f"Could not resolve the foundation model from the "
                                                                  f"provided model identifier {model}.")
        return json.dumps(answer).encode()

    # -- model families ----------------------------------------------------------------------
    def _titan(self, body: dict[str, Any]) -> dict[str, Any]:
        size = (body.get("embeddingConfig") or {}).get("outputEmbeddingLength", 1024)
        if size not in TITAN_SIZES:
            raise _invalid(f"Malformed input request: #/embeddingConfig/outputEmbeddingLength: {size} is not a valid "
                           f"enum value")
        parts = []
        if "inputText" in body:
            parts.append(self._text(body["inputText"], "#/inputText"))
        if "inputImage" in body:
            parts.append(self._media(body["inputImage"], "image/png", "#/inputImage", sniff=True))
        if not parts:
            raise _invalid("Malformed input request: At least one of inputText or inputImage must be provided")
        return {"embedding": self._vector(parts, size), "inputTextTokenCount": 1, "message": None}

    def _nova(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("taskType") != "SINGLE_EMBEDDING":
            raise _invalid("Malformed input request: taskType must be SINGLE_EMBEDDING for InvokeModel")
        params = body.get("singleEmbeddingParams") or {}
        size = params.get("embeddingDimension")
        if size not in NOVA_SIZES:
            raise _invalid(f"Malformed input request: embeddingDimension {size} is not one of {NOVA_SIZES}")
        if not params.get("embeddingPurpose"):
            raise _invalid("Malformed input request: embeddingPurpose is required")
        given = [k for k in ("text", "image", "audio", "video") if k in params]
        if len(given) != 1:
            raise _invalid(f"Malformed input request: exactly one of text, image, audio, video is required, got {given}")
        kind = given[0]
        if kind == "text":
            part = self._text((params["text"] or {}).get("value"), "#/singleEmbeddingParams/text/value")
        else:
            source = (params[kind] or {}).get("source") or {}
            mime = MIME.get(str(params[kind].get("format")), f"{kind}/{params[kind].get('format')}")
            part = self._media(source.get("bytes"), mime, f"#/singleEmbeddingParams/{kind}/source/bytes",
                               sniff=kind == "image")
        return {"embeddings": [{"embeddingType": kind.upper(), "embedding": self._vector([part], size)}]}

    def _cohere(self, body: dict[str, Any]) -> dict[str, Any]:
        size = body.get("output_dimension", 1536)
        if size not in COHERE_SIZES:
            raise _invalid(f"Malformed input request: output_dimension {size} is not one of {COHERE_SIZES}")
        if body.get("input_type") not in ("search_document", "search_query", "classification", "clustering"):
            raise _invalid("Malformed input request: input_type is required")
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise _invalid("Malformed input request: inputs must be a non-empty list")
        if len(inputs) > 96:
            raise _invalid(f"Malformed input request: at most 96 inputs per call, got {len(inputs)}")
        vectors = []
        for n, entry in enumerate(inputs):
            parts = []
            for m, part in enumerate((entry or {}).get("content") or []):
                where = f"#/inputs/{n}/content/{m}"
                if part.get("type") == "text":
                    parts.append(self._text(part.get("text"), where))
                elif part.get("type") == "image_url":
                    url = part.get("image_url")
                    if not isinstance(url, str):  # Cohere's own API takes {"url": ...}; Bedrock a plain string
                        raise _invalid(f"Malformed input request: {where}/image_url: expected type: String")
                    head, _, data = url.partition(";base64,")
                    if not head.startswith("data:") or not data:
                        raise _invalid(f"Malformed input request: {where}/image_url must be a data URI")
                    parts.append(self._media(data, head[5:], where))
                else:
                    raise _invalid(f"Malformed input request: {where}/type must be text or image_url")
            if not parts:
                raise _invalid(f"Malformed input request: #/inputs/{n}/content must not be empty")
            vectors.append(self._vector(parts, size))
        return {"id": "emulator", "embeddings": {"float": vectors}, "response_type": "embeddings_by_type",
                "texts": [], "images": []}

    # -- pieces ---------------------------------------------------------------------------
    @staticmethod
    def _text(text: Any, where: str) -> Item:
        if not isinstance(text, str) or not text.strip():
            raise _invalid(f"Malformed input request: {where}: text must not be empty")
        return Item("text", text.encode("utf-8"), "text/plain", "text")

    @staticmethod
    def _media(data: Any, mime: str, where: str, sniff: bool = False) -> Item:
        try:
            raw = base64.b64decode(str(data), validate=True)
        except (binascii.Error, ValueError):
            raise _invalid(f"Malformed input request: {where}: invalid base64") from None
        if not raw:
            raise _invalid(f"Malformed input request: {where}: empty")
        if sniff:
            mime = "image/jpeg" if raw[:3] == b"\xff\xd8\xff" else "image/png"
        kind = mime.split("/", 1)[0]
        return Item(kind if kind in ("image", "audio", "video") else "image", raw, mime, "part")  # type: ignore[arg-type]

    @staticmethod
    def _vector(parts: list[Item], size: int) -> list[float]:
        try:
            with _COMPUTE:
                vectors = [_pixels(size).embed_one(p) for p in parts]
        except Exception:  # an undecodable image and the like
            raise _invalid("Unable to process the input (is it a valid image?)") from None
        mean = np.mean([v / (np.linalg.norm(v) or 1.0) for v in vectors], axis=0)
        return float32_decimals(mean / (np.linalg.norm(mean) or 1.0))


def _handler_for(emulator: BedrockEmulator) -> type:
    from http.server import BaseHTTPRequestHandler

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "embedsim-bedrock-emulator"
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            extra: dict[str, str] = {}
            try:
                length = _content_length(self.headers.get("Content-Length"))
            except Exception as exc:  # noqa: BLE001 - the emulator's own 400 / 413
                status, body = getattr(exc, "code", 400), json.dumps({"message": str(exc)}).encode()
                self.close_connection = True
            else:
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, extra, body = emulator.handle(self.command, self.path, headers, raw)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header(EMULATOR_HEADER, "not-bedrock")
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        do_POST = do_GET = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    return Handler


def main(argv: list[str] | None = None) -> None:
    """``python -m embedsim.testing.bedrock``: serve until Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args(argv)
    try:
        with BedrockEmulator(args.host, args.port) as emulator:
            print(f"Bedrock InvokeModel emulator (a test tool; vectors are NOT Amazon's) at {emulator.base_url}",
                  flush=True)
            print(f"  export AWS_ENDPOINT_URL_BEDROCK_RUNTIME={emulator.base_url}", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
