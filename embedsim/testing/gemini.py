"""A loopback emulator of the Gemini embedding REST API - a TEST TOOL, like moto for AWS.

It speaks the Gemini Developer API embedding protocol as the google-genai SDK uses it
(``POST /{v1,v1beta}/models/{model}:batchEmbedContents`` and ``:embedContent``), checks
what the real service checks (API key, at most 100 requests, at most 6 images per
content, MIME types, empty content, ``outputDimensionality`` in 128..3072, the request
``model`` matching the URL) and answers errors in the service's shape
``{"error": {"code", "message", "status"}}``. Error messages are modelled on the real
ones, not guaranteed identical.

**Its vectors are NOT Gemini's.** They come from the local ``pixels`` baseline
(:class:`embedsim.backends.pixels.PixelEmbedder`), so they carry no semantics. Never
store anything it returns under ``cassettes/gemini*``; every answer carries the header
``X-Embedsim-Emulator: not-gemini`` so a recorder can tell.

Like the real service, a content with several parts gets ONE vector (the mean of its
parts), so the "grouping trap" (many inputs sent as one content) is observable, a
truncated vector (``outputDimensionality`` < 3072) is not unit length, and values are
float32, printed as their shortest decimals (what :mod:`embedsim.recording.cassette_format` stores
compactly).

Faults on demand (:meth:`GeminiEmulator.inject`): an HTTP status (``"429"``,
``"500"``, ``"503"``, any ``"4xx"``/``"5xx"``), ``"delay"`` (``seconds=``), ``"malformed"``
(not JSON), ``"truncated"`` (JSON cut short), ``"wrong_count"`` (``delta=-1``),
``"empty"`` (empty vectors), ``"nan"`` (non-finite values). Every fault takes
``after=N`` to let N embedding calls pass first; ``times=None`` means forever.

Command line: ``python -m embedsim.testing.gemini --port 8765`` prints the base URL and
serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import re
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from embedsim.backends.base import EMULATOR_HEADER
from embedsim.backends.gemini import MAX_BATCH_REQUESTS as MAX_REQUESTS_PER_BATCH
from embedsim.backends.gemini import MAX_DIMENSION, MAX_IMAGES_PER_CONTENT, MIME_TYPES, MIN_DIMENSION, is_multimodal
from embedsim.backends.pixels import PixelEmbedder
from embedsim.inputs.items import Item

#: A request body over this many bytes is answered 413 without being read.
MAX_BODY_BYTES = 64 * 1024 * 1024
DEFAULT_DIMENSION = MAX_DIMENSION
SUPPORTED_MIME_TYPES = MIME_TYPES
FAULTS = ("delay", "malformed", "truncated", "wrong_count", "empty", "nan")

_ROUTE = re.compile(r"^/(v1|v1beta)/models/([^/:]+):(batchEmbedContents|embedContent)$")
_STATUS = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "Request had invalid authentication credentials."),
    403: ("PERMISSION_DENIED", "The caller does not have permission"),
    404: ("NOT_FOUND", "Requested entity was not found."),
    408: ("DEADLINE_EXCEEDED", "Request timed out."),
    413: ("INVALID_ARGUMENT", "Request payload size exceeds the limit."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    500: ("INTERNAL", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"),
    502: ("UNAVAILABLE", "Bad gateway."),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "The service is currently unavailable."),
}
_NO_KEY = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)


@dataclass
class EmulatorRequest:
    """One request the emulator received; ``headers`` keys are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    started: float = 0.0


@dataclass
class _Fault:
    kind: str
    times: int | None
    after: int
    params: dict[str, Any] = field(default_factory=dict)


class ApiError(Exception):
    """An error answer: HTTP code plus the service's message."""

    def __init__(self, code: int, message: str | None = None) -> None:
        status, default = _STATUS.get(code, ("UNKNOWN", "Error."))
        super().__init__(message or default)
        self.code, self.status, self.message = code, status, message or default

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "status": self.status}}


class GeminiEmulator:
    """Threaded loopback server speaking the Gemini embedding protocol (a test tool)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str | None = None,
        latency: float = 0.0,
        path_prefix: str = "",
    ) -> None:
        self.host, self.port = host, port
        #: Served below this path, as a gateway would (``/gateway/google``): part of :attr:`base_url`.
        self.path_prefix = path_prefix.rstrip("/")
        self.api_key = api_key
        self.latency = latency
        self.requests: list[EmulatorRequest] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("emulator not started; call start() or use it as a context manager")
        return f"http://{self.host}:{self._server.server_port}{self.path_prefix}"

    def start(self) -> GeminiEmulator:
        if self._server is not None:
            return self
        self._server = _Server((self.host, self.port), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="gemini-emulator", daemon=True
        )
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

    def __enter__(self) -> GeminiEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test controls -----------------------------------------------------------------
    def inject(self, fault: str, times: int | None = 1, **params: Any) -> None:
        """Queue ``fault`` for the next ``times`` embedding calls (``None``: forever).

        ``after=N`` lets N embedding calls pass first. ``delay`` takes ``seconds``,
        ``wrong_count`` takes ``delta`` (default -1), an HTTP status takes ``message``.
        """
        if not (fault in FAULTS or re.fullmatch(r"[45]\d\d", fault)):
            raise ValueError(f"unknown fault {fault!r}: use an HTTP status like '429' or one of {FAULTS}")
        after = int(params.pop("after", 0))
        with self._lock:
            self._faults.append(_Fault(fault, times, after, params))

    def reset(self) -> None:
        """Forget the request log, the concurrency high-water mark and all faults."""
        with self._lock:
            self.requests.clear()
            self._faults.clear()
            self.max_in_flight = 0

    @property
    def embed_calls(self) -> list[EmulatorRequest]:
        """The logged embedding calls (``:batchEmbedContents`` / ``:embedContent``)."""
        with self._lock:
            return [r for r in self.requests if self._route(r.path)]

    def _route(self, path: str) -> re.Match[str] | None:
        """The embedding call ``path`` names, below :attr:`path_prefix`."""
        path = urlsplit(path).path
        if not path.startswith(self.path_prefix + "/"):
            return None
        return _ROUTE.match(path[len(self.path_prefix):])

    # -- request handling (called from server threads) -------------------------------------
    def _enter(self, request: EmulatorRequest) -> None:
        with self._lock:
            self.requests.append(request)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

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

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> tuple[int, bytes]:
        """Answer one request: ``(status, body bytes)``."""
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        request = EmulatorRequest(method, target, headers, body, time.monotonic())
        self._enter(request)
        try:
            if self.latency:
                time.sleep(self.latency)
            return self._answer(request, raw)
        except ApiError as exc:
            return exc.code, json.dumps(exc.body()).encode()
        finally:
            self._leave()

    def _answer(self, request: EmulatorRequest, raw: bytes) -> tuple[int, bytes]:
        url = urlsplit(request.path)
        match = self._route(request.path)
        if match is None:
            raise ApiError(404, f"Method not found: {request.method} {url.path}")
        if request.method != "POST":
            raise ApiError(404, f"Method not found: {request.method} {url.path}")
        key = request.headers.get("x-goog-api-key") or parse_qs(url.query).get("key", [""])[0]
        if not key:
            raise ApiError(403, _NO_KEY)
        if self.api_key is not None and key != self.api_key:
            raise ApiError(400, "API key not valid. Please pass a valid API key.")
        fault = self._next_fault()
        if fault is not None and fault.kind[0].isdigit():
            raise ApiError(int(fault.kind), fault.params.get("message"))
        if fault is not None and fault.kind == "delay":
            time.sleep(float(fault.params.get("seconds", 1.0)))
        if request.body is None or not isinstance(request.body, dict):
            raise ApiError(400, f"Invalid JSON payload received. {raw[:40]!r}")
        model, method = match.group(2), match.group(3)
        answer: dict[str, Any]
        if method == "batchEmbedContents":
            answer = {"embeddings": self._batch(model, request.body)}
        else:
            vector = self._one(model, request.body, "EmbedContentRequest", check_model=False)
            answer = {"embedding": vector}
        return 200, self._apply_fault(fault, answer)

    def _batch(self, model: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            raise ApiError(400, "* BatchEmbedContentsRequest.requests: at least one request is required\n")
        if len(requests) > MAX_REQUESTS_PER_BATCH:
            raise ApiError(
                400,
                f"* BatchEmbedContentsRequest.requests: at most {MAX_REQUESTS_PER_BATCH} requests can be in one batch\n",
            )
        return [
            self._one(model, r, f"BatchEmbedContentsRequest.requests[{i}]", check_model=True)
            for i, r in enumerate(requests)
        ]

    def _one(self, model: str, request: Any, where: str, *, check_model: bool) -> dict[str, Any]:
        if not isinstance(request, dict):
            raise ApiError(400, f"* {where}: must be an object\n")
        named = request.get("model")
        if (check_model or named) and named not in (f"models/{model}", model):
            raise ApiError(
                400,
                f"* {where}.model: model in request ({named!r}) does not match the model in the URL (models/{model})\n",
            )
        config = request.get("embedContentConfig") or {}
        dimension = request.get("outputDimensionality", config.get("outputDimensionality", DEFAULT_DIMENSION))
        if not isinstance(dimension, int) or not MIN_DIMENSION <= dimension <= MAX_DIMENSION:
            raise ApiError(
                400,
                f"* {where}.output_dimensionality: must be between {MIN_DIMENSION} and {MAX_DIMENSION}, got {dimension}\n",
            )
        parts = (request.get("content") or {}).get("parts") or []
        if not parts:
            raise ApiError(400, f"* {where}.content.parts: contents must not be empty\n")
        vectors = [self._part_vector(part, f"{where}.content.parts[{j}]", dimension) for j, part in enumerate(parts)]
        images = sum(1 for p in parts if _mime(p).startswith("image/"))
        if images > MAX_IMAGES_PER_CONTENT:
            raise ApiError(
                400, f"* {where}.content: at most {MAX_IMAGES_PER_CONTENT} images are allowed per request, got {images}\n"
            )
        if not is_multimodal(model) and any("text" not in p for p in parts):
            raise ApiError(400, f"* {where}.content: model models/{model} only supports text input\n")
        # One vector per content (the mean of its parts), unit length at full size and,
        # like a truncated Matryoshka vector, shorter than 1 below it.
        mean = np.mean([v / (np.linalg.norm(v) or 1.0) for v in vectors], axis=0)
        mean *= np.sqrt(dimension / MAX_DIMENSION) / (np.linalg.norm(mean) or 1.0)
        return {"values": float32_decimals(mean)}

    def _part_vector(self, part: Any, where: str, dimension: int) -> np.ndarray:
        if not isinstance(part, dict):
            raise ApiError(400, f"* {where}: must be an object\n")
        if "text" in part:
            text = part["text"]
            if not isinstance(text, str) or not text.strip():
                raise ApiError(400, f"* {where}.text: text content must not be empty\n")
            item = Item("text", text.encode("utf-8"), "text/plain", "text")
        else:
            inline = part.get("inlineData") or part.get("inline_data")
            if not isinstance(inline, dict):
                raise ApiError(400, f"* {where}.data: required oneof field 'data' must have one initialized field\n")
            mime = _mime(part)
            if mime not in SUPPORTED_MIME_TYPES:
                raise ApiError(400, f"Unsupported MIME type: {mime}")
            try:
                data = base64.urlsafe_b64decode(str(inline.get("data", "")).replace("+", "-").replace("/", "_"))
            except (binascii.Error, ValueError):
                raise ApiError(400, f"* {where}.inline_data.data: invalid base64 data\n") from None
            if not data:
                raise ApiError(400, f"* {where}.inline_data.data: data must not be empty\n")
            item = Item(SUPPORTED_MIME_TYPES[mime], data, mime, "part")  # type: ignore[arg-type]
        try:
            with _COMPUTE:  # one vector at a time: parallel BLAS calls from request threads thrash 2 cores
                return _pixels(dimension).embed_one(item)
        except Exception:  # undecodable image and the like
            raise ApiError(400, f"Unable to process input {item.kind} ({item.mime_type}) in {where}") from None

    def _apply_fault(self, fault: _Fault | None, answer: dict[str, Any]) -> bytes:
        kind = fault.kind if fault else ""
        vectors = answer.get("embeddings") or [answer.get("embedding")]
        if kind == "wrong_count" and "embeddings" in answer:
            delta = int(fault.params.get("delta", -1))  # type: ignore[union-attr]
            answer["embeddings"] = vectors[:delta] if delta < 0 else vectors + vectors[:1] * delta
        elif kind == "empty":
            for v in vectors:
                v["values"] = []
        elif kind == "nan":
            vectors[0]["values"][0] = float("nan")
        text = json.dumps(answer).encode()
        if kind == "malformed":
            return b"<html><body>Bad Gateway</body></html>"
        if kind == "truncated":
            return text[: max(len(text) // 2, 1)]
        return text


_COMPUTE = threading.Lock()


class _Server(ThreadingHTTPServer):
    """A threaded server whose listen backlog holds a burst of parallel clients (the
    default of 5 drops connections, which clients then retry after seconds)."""

    daemon_threads = True
    request_queue_size = 128


@lru_cache(maxsize=16)
def _pixels(dimension: int) -> PixelEmbedder:
    return PixelEmbedder(dimension=dimension, model_id="emulator")


def float32_decimals(vector: np.ndarray) -> list[float]:
    """``vector`` as the service answers it: float32 values, each printed (by ``json.dumps``) as
    its shortest round-trip decimal (``-0.0070545054``)."""
    return [float(str(value)) for value in vector.astype(np.float32)]


def _mime(part: Any) -> str:
    if not isinstance(part, dict):
        return ""
    inline = part.get("inlineData") or part.get("inline_data") or {}
    return str(inline.get("mimeType") or inline.get("mime_type") or "")


def _content_length(value: str | None) -> int:
    """The body size a ``Content-Length`` header announces; :class:`ApiError` 400 for one that is
    not a non-negative whole number, 413 for one over :data:`MAX_BODY_BYTES`."""
    if value is None:
        return 0
    if not (value.isascii() and value.strip().isdigit()):
        raise ApiError(400, f"Invalid Content-Length header: {value[:40]!r}")
    length = int(value)
    if length > MAX_BODY_BYTES:
        raise ApiError(413, f"Request payload size exceeds the limit: {MAX_BODY_BYTES} bytes.")
    return length


def _handler_for(emulator: GeminiEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "embedsim-gemini-emulator"
        disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls on keep-alive connections

        def _serve(self) -> None:
            try:
                length = _content_length(self.headers.get("Content-Length"))
            except ApiError as exc:  # the body cannot be read: answer, then close the connection
                status, body = exc.code, json.dumps(exc.body()).encode()
                self.close_connection = True
            else:
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, body = emulator.handle(self.command, self.path, headers, raw)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header(EMULATOR_HEADER, "not-gemini")
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                self.close_connection = True

        do_POST = do_GET = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    return Handler


def main(argv: list[str] | None = None) -> None:
    """``python -m embedsim.testing.gemini``: serve until Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--api-key", default=None, help="require this key (default: any non-empty key)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    args = parser.parse_args(argv)
    try:  # around everything: Ctrl-C may come while the banner is still being printed
        with GeminiEmulator(args.host, args.port, api_key=args.api_key, latency=args.latency) as emulator:
            print(f"Gemini embedding emulator (a test tool; vectors are NOT Gemini's) at {emulator.base_url}",
                  flush=True)
            print(f"  export GOOGLE_GEMINI_BASE_URL={emulator.base_url}", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
