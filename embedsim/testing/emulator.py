"""The loopback emulator base every vendor emulator is built on (:mod:`~embedsim.testing.gemini`,
:mod:`~embedsim.testing.vertex`, :mod:`~embedsim.testing.bedrock`, :mod:`~embedsim.testing.voyage`,
:mod:`~embedsim.testing.cohere`, :mod:`~embedsim.testing.jina`, :mod:`~embedsim.testing.openai`) -
TEST TOOLS, like moto for AWS.

:class:`Emulator` is a threaded loopback HTTP server with a request log, a concurrency high-water
mark and faults on demand; a vendor's subclass says which paths it serves, how a caller
authenticates, how its request bodies name their inputs and output size, and how it answers
(vectors and errors in the vendor's shape). An emulator may be served below a gateway's path
prefix (``path_prefix="/gateway/google"``, part of :attr:`Emulator.base_url`).

**Its vectors are NOT any vendor's.** They come from the local ``pixels`` baseline
(:class:`embedsim.backends.pixels.PixelEmbedder`), so they carry no semantics; every answer carries
the header :data:`EMULATOR_HEADER` (``X-Embedsim-Emulator: not-<vendor>``) and the recording layer
refuses such answers under a vendor's model id.

Faults (:meth:`Emulator.inject`): an HTTP status (``"429"``, ``"500"``, any ``"4xx"``/``"5xx"``,
with ``message=``; 429 and 5xx answers carry ``retry-after-ms`` (:attr:`Emulator.retry_after_ms`),
which the cohere and openai SDKs honour), ``"delay"`` (``seconds=``), ``"malformed"`` (not JSON),
``"truncated"`` (JSON cut short), ``"wrong_count"`` (a short answer: ``delta=-1``), ``"empty"``
(empty vectors), ``"nan"`` (a non-finite value), ``"slow_body"`` (the answer sent in ``chunks=``
pieces, ``seconds=`` apart; :attr:`Emulator.chunks_sent` counts the pieces that went out), and any
name a vendor adds (:attr:`Emulator.NAMED_FAULTS`). Every fault takes ``after=N`` (let N embedding
calls pass first) and ``times=`` (``None``: forever).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

import numpy as np

from embedsim.backends.base import EMULATOR_HEADER
from embedsim.backends.pixels import PixelEmbedder
from embedsim.inputs.items import Item

FAULTS = ("delay", "malformed", "truncated", "wrong_count", "empty", "nan", "slow_body")
#: A request body over this many bytes is answered 413 without being read.
MAX_BODY_BYTES = 64 * 1024 * 1024
_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)$", re.S)


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
    """An error answer: HTTP status, message and, where a vendor names its errors, ``reason`` (the
    subclass gives it the vendor's shape)."""

    def __init__(self, code: int, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.reason = code, message, reason


@dataclass
class Answer:
    """What the server sends: status, body, extra headers; a ``slow_body`` answer goes out in
    ``chunks`` pieces ``pause`` seconds apart."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    chunks: int = 1
    pause: float = 0.0


class Emulator:
    """A threaded loopback server speaking one vendor's embedding protocol (a test tool).

    Subclasses set :attr:`VENDOR`, :attr:`PREFIX` (the path the SDK's base URL ends with, e.g.
    ``/v1``) and :attr:`ROUTE` (a regular expression of the embedding path below it; its named
    groups reach :meth:`embed` and :meth:`render`) and implement :meth:`embed` (a parsed body ->
    vectors), :meth:`render` (vectors -> the answer) and :meth:`error_body`; :meth:`authenticate`
    checks the key :meth:`key_of` reads (``Authorization: Bearer``) unless overridden.
    """

    VENDOR: ClassVar[str] = "vendor"
    #: Whose vectors these are NOT, as the command line says it (default: :attr:`VENDOR`).
    OWNER: ClassVar[str] = ""
    PREFIX: ClassVar[str] = ""
    ROUTE: ClassVar[str] = r"/embeddings"
    #: The faults :meth:`inject` takes besides HTTP statuses.
    FAULTS: ClassVar[tuple[str, ...]] = FAULTS
    #: Faults a vendor names: ``name -> (status, message, reason)``.
    NAMED_FAULTS: ClassVar[dict[str, tuple[int, str, str]]] = {}
    #: The default message of an HTTP status fault.
    MESSAGES: ClassVar[dict[int, str]] = {
        400: "Bad request.", 401: "Invalid API key provided.", 403: "Forbidden.", 404: "Not found.",
        429: "Rate limit exceeded.", 500: "Internal server error.", 502: "Bad gateway.",
        503: "Service unavailable.", 504: "Gateway timeout."}
    #: Headers on every answer.
    ANSWER_HEADERS: ClassVar[dict[str, str]] = {"Content-Type": "application/json"}

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, api_key: str | None = None,
                 latency: float = 0.0, retry_after_ms: float | None = 10.0, path_prefix: str = "") -> None:
        self.host, self.port = host, port
        self.api_key = api_key
        self.latency = latency
        #: ``retry-after-ms`` on 429 / 5xx answers (``None``: not sent).
        self.retry_after_ms = retry_after_ms
        #: Served below this path, as a gateway would (``/gateway/google``): part of :attr:`base_url`.
        self.path_prefix = path_prefix.rstrip("/")
        self.requests: list[EmulatorRequest] = []
        self.max_in_flight = 0
        #: Pieces of ``slow_body`` answers that went out (a client that gave up stops them).
        self.chunks_sent = 0
        self._in_flight = 0
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The base URL an SDK is given (with :attr:`path_prefix` and :attr:`PREFIX`)."""
        if self._server is None:
            raise RuntimeError("emulator not started; call start() or use it as a context manager")
        return f"http://{self.host}:{self._server.server_port}{self.path_prefix}{self.PREFIX}"

    def start(self) -> Self:
        if self._server is None:
            self._server = _Server((self.host, self.port), _handler_for(self))
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"{self.VENDOR}-emulator", daemon=True)
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

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test controls ---------------------------------------------------------------------------
    def inject(self, fault: str, times: int | None = 1, **params: Any) -> None:
        """Queue ``fault`` for the next ``times`` embedding calls (``None``: forever); ``after=N``
        lets N embedding calls pass first. ``delay`` takes ``seconds``, ``slow_body`` ``chunks``
        and ``seconds``, ``wrong_count`` ``delta`` (default -1), an HTTP status ``message``."""
        if not (fault in self.FAULTS or fault in self.NAMED_FAULTS or re.fullmatch(r"[345]\d\d", fault)):
            raise ValueError(f"unknown fault {fault!r}: use an HTTP status like '429' or one of "
                             f"{(*self.FAULTS, *self.NAMED_FAULTS)}")
        after = int(params.pop("after", 0))
        with self._lock:
            self._faults.append(_Fault(fault, times, after, params))

    def reset(self) -> None:
        """Forget the request log, the concurrency high-water mark, the chunk count and all faults."""
        with self._lock:
            self.requests.clear()
            self._faults.clear()
            self.max_in_flight = 0
            self.chunks_sent = 0

    @property
    def embed_calls(self) -> list[EmulatorRequest]:
        """The logged embedding calls."""
        with self._lock:
            return [r for r in self.requests if self._route(r.path)]

    # -- what a vendor implements ----------------------------------------------------------------
    def key_of(self, request: EmulatorRequest) -> str:
        """The API key a request carries (``Authorization: Bearer <key>``)."""
        value = request.headers.get("authorization", "")
        return value[7:].strip() if value.lower().startswith("bearer ") else ""

    def authenticate(self, request: EmulatorRequest) -> None:
        """Refuse a request without the key (:attr:`api_key`, or any when it is ``None``)."""
        key = self.key_of(request)
        if not key:
            raise ApiError(401, "No API key provided.")
        if self.api_key is not None and key != self.api_key:
            raise ApiError(401, "Invalid API key provided.")

    def embed(self, body: dict[str, Any], route: dict[str, str]) -> list[np.ndarray]:
        """The vectors for a parsed request body (raise :class:`ApiError` to refuse it); ``route``
        holds the named groups of :attr:`ROUTE`."""
        raise NotImplementedError

    def render(self, body: dict[str, Any], vectors: list[Any], route: dict[str, str]) -> dict[str, Any]:
        """The answer for ``vectors`` (lists of floats, or base64 strings when :meth:`wants_base64`)."""
        raise NotImplementedError

    def wants_base64(self, body: dict[str, Any]) -> bool:
        return False

    def error_body(self, error: ApiError) -> dict[str, Any]:
        return {"error": {"code": error.code, "message": error.message}}

    def error_headers(self, error: ApiError) -> dict[str, str]:
        """Extra headers of an error answer: ``retry-after-ms`` on 429 / 5xx (unless
        :attr:`retry_after_ms` is ``None``), a ``location`` on 3xx."""
        extra = {}
        if self.retry_after_ms is not None and (error.code == 429 or error.code >= 500):
            extra["retry-after-ms"] = f"{self.retry_after_ms:g}"
        if 300 <= error.code < 400:
            extra["location"] = f"http://{self.host}:9{self.PREFIX}/elsewhere"
        return extra

    # -- shared helpers for the vendors ----------------------------------------------------------
    @staticmethod
    def vector(item: Item, dimension: int) -> np.ndarray:
        """The emulator's unit vector for ``item`` (the pixels baseline - not a vendor's)."""
        with _COMPUTE:  # one at a time: parallel BLAS calls from request threads thrash 2 cores
            vector = _pixels(dimension).embed_one(item)
        return vector / (np.linalg.norm(vector) or 1.0)

    @staticmethod
    def text(value: Any, where: str) -> Item:
        if not isinstance(value, str) or not value.strip():
            raise ApiError(400, f"{where}: text must be a non-empty string")
        return Item("text", value.encode("utf-8"), "text/plain", "text")

    @staticmethod
    def image(value: Any, where: str, *, bare: bool = False) -> Item:
        """An image from a ``data:`` URI (or, with ``bare``, plain base64 too)."""
        match = _DATA_URI.match(value) if isinstance(value, str) else None
        if match is None and not (bare and isinstance(value, str) and value):
            raise ApiError(400, f"{where}: expected a base64 data URI (data:image/...;base64,...)")
        mime, encoded = (match.group("mime"), match.group("data")) if match else ("image/png", value)
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, f"{where}: invalid base64 image data") from None
        if not data:
            raise ApiError(400, f"{where}: empty image")
        return Item("image", data, mime, "image")

    def mean_per_input(self, inputs: list[Any], dimension: int, part_item: Callable[[Any, str], Item],
                       *, status: int = 400) -> list[np.ndarray]:
        """One vector per ``inputs[i].content`` (the mean of its parts, each made an item by
        ``part_item(part, where)``): the shape Voyage and Cohere share."""
        vectors = []
        for i, entry in enumerate(inputs):
            content = entry.get("content") if isinstance(entry, dict) else None
            if not isinstance(content, list) or not content:
                raise ApiError(status, f"inputs[{i}].content must be a non-empty list")
            vectors.append(np.mean([self.vector(part_item(part, f"inputs[{i}].content[{j}]"), dimension)
                                    for j, part in enumerate(content)], axis=0))
        return vectors

    # -- request handling (server threads) -------------------------------------------------------
    def _route(self, target: str) -> re.Match[str] | None:
        path = urlsplit(target).path
        prefix = self.path_prefix + self.PREFIX
        return re.fullmatch(self.ROUTE, path[len(prefix):]) if path.startswith(prefix) else None

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

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Answer:
        """Answer one request."""
        try:
            body: Any = json.loads(raw) if raw else None
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
            return self._answer(request, raw)
        except ApiError as exc:
            return self.error_answer(exc)
        finally:
            with self._lock:
                self._in_flight -= 1

    def error_answer(self, error: ApiError) -> Answer:
        return Answer(error.code, json.dumps(self.error_body(error)).encode(), self.error_headers(error))

    def _answer(self, request: EmulatorRequest, raw: bytes) -> Answer:
        match = self._route(request.path)
        if match is None or request.method != "POST":
            raise ApiError(404, f"Method not found: {request.method} {urlsplit(request.path).path}")
        self.authenticate(request)
        fault = self._next_fault()
        kind, params = (fault.kind, fault.params) if fault else ("", {})
        if kind in self.NAMED_FAULTS:
            raise ApiError(*self.NAMED_FAULTS[kind])
        if kind[:1].isdigit():
            raise ApiError(int(kind), str(params.get("message") or self.MESSAGES.get(int(kind), "Error.")))
        if kind == "delay":
            time.sleep(float(params.get("seconds", 1.0)))
        if not isinstance(request.body, dict):
            raise ApiError(400, f"Invalid JSON body: {raw[:40]!r}")
        route = match.groupdict()
        vectors: list[Any] = [np.asarray(v, dtype=np.float32) for v in self.embed(request.body, route)]
        if kind == "wrong_count":
            delta = int(params.get("delta", -1))
            vectors = vectors[:delta] if delta < 0 else vectors + vectors[:1] * delta
        elif kind == "empty":
            vectors = [v[:0] for v in vectors]
        elif kind == "nan" and vectors:
            vectors[0] = vectors[0].copy()
            vectors[0][0] = np.nan
        encoded: list[list[float] | str] = (
            [base64.b64encode(v.astype("<f4").tobytes()).decode("ascii") for v in vectors]
            if self.wants_base64(request.body) else [float32_decimals(v) for v in vectors])
        text = json.dumps(self.render(request.body, encoded, route)).encode()
        if kind == "malformed":
            return Answer(200, b"<html><body>Bad Gateway</body></html>")
        if kind == "truncated":
            return Answer(200, text[: max(len(text) // 2, 1)])
        if kind == "slow_body":
            return Answer(200, text, chunks=int(params.get("chunks", 30)), pause=float(params.get("seconds", 1.0)))
        return Answer(200, text)

    def _count_chunk(self) -> None:
        with self._lock:
            self.chunks_sent += 1


_COMPUTE = threading.Lock()


def float32_decimals(vector: np.ndarray) -> list[float]:
    """``vector`` as the services answer it: float32 values, each printed (by ``json.dumps``) as
    its shortest round-trip decimal (``-0.0070545054``)."""
    return [float(str(value)) for value in vector.astype(np.float32)]


@lru_cache(maxsize=16)
def _pixels(dimension: int) -> PixelEmbedder:
    return PixelEmbedder(dimension=dimension, model_id="emulator")


class _Server(ThreadingHTTPServer):
    """A threaded server whose listen backlog holds a burst of parallel clients (the default of 5
    drops connections, which clients then retry after seconds)."""

    daemon_threads = True
    request_queue_size = 128


def _content_length(value: str | None) -> int:
    """The body size a ``Content-Length`` header announces; :class:`ApiError` 400 for one that is
    not a non-negative whole number, 413 for one over :data:`MAX_BODY_BYTES`."""
    if value is None:
        return 0
    if not (value.isascii() and value.strip().isdigit()):
        raise ApiError(400, f"Invalid Content-Length header: {value[:40]!r}")
    if int(value) > MAX_BODY_BYTES:
        raise ApiError(413, f"Request payload size exceeds the limit: {MAX_BODY_BYTES} bytes.")
    return int(value)


def _pieces(body: bytes, chunks: int) -> list[bytes]:
    size = max(-(-len(body) // max(chunks, 1)), 1)
    return [body[i:i + size] for i in range(0, len(body), size)] or [b""]


def _handler_for(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"embedsim-{emulator.VENDOR}-emulator"
        disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls on keep-alive connections

        def _serve(self) -> None:
            try:
                length = _content_length(self.headers.get("Content-Length"))
            except ApiError as exc:  # the body cannot be read: answer, then close the connection
                answer = emulator.error_answer(exc)
                self.close_connection = True
            else:
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                answer = emulator.handle(self.command, self.path, headers, raw)
            try:
                self.send_response(answer.status)
                for name, value in {**emulator.ANSWER_HEADERS, "Content-Length": str(len(answer.body)),
                                    EMULATOR_HEADER: f"not-{emulator.VENDOR}", **answer.headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                if answer.chunks <= 1:
                    self.wfile.write(answer.body)
                    return
                for n, piece in enumerate(_pieces(answer.body, answer.chunks)):
                    if n:
                        time.sleep(answer.pause)
                    self.wfile.write(piece)
                    self.wfile.flush()
                    emulator._count_chunk()
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                self.close_connection = True

        do_POST = do_GET = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    return Handler


def serve(emulator: Emulator, base_url_env: str, argv: list[str] | None = None, *, port: int = 8766) -> None:
    """``python -m embedsim.testing.<vendor>``: serve until Ctrl-C."""
    import argparse

    parser = argparse.ArgumentParser(description=f"A loopback {emulator.VENDOR} embedding emulator (a test tool)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument("--api-key", default=None, help="require this key (default: any non-empty key)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    args = parser.parse_args(argv)
    # Ctrl-C stops it even when started with SIGINT ignored (a background job of a script inherits
    # that, and Python then installs no KeyboardInterrupt handler of its own).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    emulator.host, emulator.port, emulator.api_key, emulator.latency = args.host, args.port, args.api_key, args.latency
    try:  # around everything: Ctrl-C may come while the banner is still being printed
        with emulator:
            print(f"{emulator.VENDOR} embedding emulator (a test tool; vectors are NOT {emulator.OWNER or emulator.VENDOR}'s) at "
                  f"{emulator.base_url}\n  export {base_url_env}={emulator.base_url}", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
