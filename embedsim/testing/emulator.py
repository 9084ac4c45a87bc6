"""The loopback emulator base the vendor emulators share (:mod:`~embedsim.testing.voyage`,
:mod:`~embedsim.testing.cohere`, :mod:`~embedsim.testing.jina`, :mod:`~embedsim.testing.openai`) -
TEST TOOLS, like moto for AWS.

:class:`Emulator` is a threaded loopback HTTP server with a request log, a concurrency high-water
mark and faults on demand; a vendor's subclass says which paths it serves, how the key is sent, how
its request bodies name their inputs and output size, and how it answers (vectors and errors in
the vendor's shape).

**Its vectors are NOT any vendor's.** They come from the local ``pixels`` baseline
(:class:`embedsim.backends.pixels.PixelEmbedder`), so they carry no semantics; every answer carries
the header :data:`EMULATOR_HEADER` (``X-Embedsim-Emulator: not-<vendor>``) and the recording layer
refuses such answers under a vendor's model id.

Faults (:meth:`Emulator.inject`): an HTTP status (``"429"``, ``"500"``, any ``"4xx"``/``"5xx"``,
with ``message=``; 429 and 5xx answers carry ``retry-after-ms`` (:attr:`Emulator.retry_after_ms`),
which the cohere and openai SDKs honour), ``"delay"`` (``seconds=``), ``"malformed"`` (not JSON),
``"truncated"`` (JSON cut short), ``"wrong_count"`` (a short answer: ``delta=-1``), ``"empty"``
(empty vectors), ``"nan"`` (a non-finite value). Every fault takes ``after=N`` (let N embedding
calls pass first) and ``times=`` (``None``: forever).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import urlsplit

import numpy as np

from embedsim.backends.base import EMULATOR_HEADER
from embedsim.backends.pixels import PixelEmbedder
from embedsim.inputs.items import Item

FAULTS = ("delay", "malformed", "truncated", "wrong_count", "empty", "nan")
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
    """An error answer: HTTP status and message (the subclass gives it the vendor's shape)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class Emulator:
    """A threaded loopback server speaking one vendor's embedding protocol (a test tool).

    Subclasses set :attr:`VENDOR`, :attr:`PREFIX` (the path the SDK's base URL ends with, e.g.
    ``/v1``) and :attr:`ROUTE` (a regular expression of the embedding path below it) and implement
    :meth:`embed` (a parsed body -> vectors), :meth:`render` (vectors -> the answer) and
    :meth:`error_body`; :meth:`key_of` reads ``Authorization: Bearer`` unless overridden.
    """

    VENDOR: ClassVar[str] = "vendor"
    PREFIX: ClassVar[str] = ""
    ROUTE: ClassVar[str] = r"/embeddings"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, api_key: str | None = None,
                 latency: float = 0.0, retry_after_ms: float | None = 10.0) -> None:
        self.host, self.port = host, port
        self.api_key = api_key
        self.latency = latency
        #: ``retry-after-ms`` on 429 / 5xx answers (``None``: not sent).
        self.retry_after_ms = retry_after_ms
        self.requests: list[EmulatorRequest] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The base URL an SDK is given (with :attr:`PREFIX`)."""
        if self._server is None:
            raise RuntimeError("emulator not started; call start() or use it as a context manager")
        return f"http://{self.host}:{self._server.server_port}{self.PREFIX}"

    def start(self) -> Emulator:
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

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test controls ---------------------------------------------------------------------------
    def inject(self, fault: str, times: int | None = 1, **params: Any) -> None:
        """Queue ``fault`` for the next ``times`` embedding calls (``None``: forever); ``after=N``
        lets N embedding calls pass first."""
        if not (fault in FAULTS or re.fullmatch(r"[345]\d\d", fault)):
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
        """The logged embedding calls."""
        with self._lock:
            return [r for r in self.requests if self._route(r.path)]

    # -- what a vendor implements ----------------------------------------------------------------
    def key_of(self, headers: dict[str, str]) -> str:
        """The API key a request carries (``Authorization: Bearer <key>``)."""
        value = headers.get("authorization", "")
        return value[7:].strip() if value.lower().startswith("bearer ") else ""

    def embed(self, body: dict[str, Any]) -> list[np.ndarray]:
        """The vectors for a parsed request body (raise :class:`ApiError` to refuse it)."""
        raise NotImplementedError

    def render(self, body: dict[str, Any], vectors: list[list[float] | str]) -> dict[str, Any]:
        """The answer for ``vectors`` (lists of floats, or base64 strings when :meth:`wants_base64`)."""
        raise NotImplementedError

    def wants_base64(self, body: dict[str, Any]) -> bool:
        return False

    def error_body(self, code: int, message: str) -> dict[str, Any]:
        return {"error": {"code": code, "message": message}}

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

    # -- request handling (server threads) -------------------------------------------------------
    def _route(self, target: str) -> bool:
        path = urlsplit(target).path
        return path.startswith(self.PREFIX) and re.fullmatch(self.ROUTE, path[len(self.PREFIX):]) is not None

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

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> tuple[int, bytes, dict[str, str]]:
        """Answer one request: ``(status, body bytes, extra headers)``."""
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
            extra = {}
            if self.retry_after_ms is not None and (exc.code == 429 or exc.code >= 500):
                extra["retry-after-ms"] = f"{self.retry_after_ms:g}"
            if 300 <= exc.code < 400:
                extra["location"] = f"http://{self.host}:9{self.PREFIX}/elsewhere"
            return exc.code, json.dumps(self.error_body(exc.code, exc.message)).encode(), extra
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer(self, request: EmulatorRequest, raw: bytes) -> tuple[int, bytes, dict[str, str]]:
        if not self._route(request.path) or request.method != "POST":
            raise ApiError(404, f"Not found: {request.method} {urlsplit(request.path).path}")
        key = self.key_of(request.headers)
        if not key:
            raise ApiError(401, "No API key provided.")
        if self.api_key is not None and key != self.api_key:
            raise ApiError(401, "Invalid API key provided.")
        fault = self._next_fault()
        kind = fault.kind if fault else ""
        if kind[:1].isdigit():
            raise ApiError(int(kind), str(fault.params.get("message") or _MESSAGES.get(int(kind), "Error.")))  # type: ignore[union-attr]
        if kind == "delay":
            time.sleep(float(fault.params.get("seconds", 1.0)))  # type: ignore[union-attr]
        if not isinstance(request.body, dict):
            raise ApiError(400, f"Invalid JSON body: {raw[:40]!r}")
        vectors: list[Any] = [np.asarray(v, dtype=np.float32) for v in self.embed(request.body)]
        if kind == "wrong_count":
            delta = int(fault.params.get("delta", -1))  # type: ignore[union-attr]
            vectors = vectors[:delta] if delta < 0 else vectors + vectors[:1] * delta
        elif kind == "empty":
            vectors = [v[:0] for v in vectors]
        elif kind == "nan" and vectors:
            vectors[0] = vectors[0].copy()
            vectors[0][0] = np.nan
        encoded: list[list[float] | str] = (
            [base64.b64encode(v.astype("<f4").tobytes()).decode("ascii") for v in vectors]
            if self.wants_base64(request.body) else [_decimals(v) for v in vectors])
        text = json.dumps(self.render(request.body, encoded)).encode()
        if kind == "malformed":
            return 200, b"<html><body>Bad Gateway</body></html>", {}
        if kind == "truncated":
            return 200, text[: max(len(text) // 2, 1)], {}
        return 200, text, {}


_MESSAGES = {400: "Bad request.", 401: "Invalid API key provided.", 403: "Forbidden.", 404: "Not found.",
             429: "Rate limit exceeded.", 500: "Internal server error.", 502: "Bad gateway.",
             503: "Service unavailable.", 504: "Gateway timeout."}
_COMPUTE = threading.Lock()


def _decimals(vector: np.ndarray) -> list[float]:
    """float32 values, each printed (by ``json.dumps``) as its shortest round-trip decimal."""
    return [float(str(value)) for value in vector.astype(np.float32)]


@lru_cache(maxsize=16)
def _pixels(dimension: int) -> PixelEmbedder:
    return PixelEmbedder(dimension=dimension, model_id="emulator")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def _handler_for(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"embedsim-{emulator.VENDOR}-emulator"
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length_header = self.headers.get("Content-Length") or "0"
            extra: dict[str, str] = {}
            if not (length_header.isascii() and length_header.strip().isdigit()):
                status, body = 400, json.dumps(emulator.error_body(400, "Invalid Content-Length")).encode()
                self.close_connection = True
            elif int(length_header) > MAX_BODY_BYTES:
                status, body = 413, json.dumps(emulator.error_body(413, "Request too large")).encode()
                self.close_connection = True
            else:
                raw = self.rfile.read(int(length_header)) if int(length_header) else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, body, extra = emulator.handle(self.command, self.path, headers, raw)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header(EMULATOR_HEADER, f"not-{emulator.VENDOR}")
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                self.close_connection = True

        do_POST = do_GET = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    return Handler


def serve(emulator: Emulator, base_url_env: str, argv: list[str] | None = None) -> None:
    """``python -m embedsim.testing.<vendor>``: serve until Ctrl-C."""
    import argparse

    parser = argparse.ArgumentParser(description=f"A loopback {emulator.VENDOR} embedding emulator (a test tool)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--api-key", default=None, help="require this key (default: any non-empty key)")
    args = parser.parse_args(argv)
    emulator.host, emulator.port, emulator.api_key = args.host, args.port, args.api_key
    try:
        with emulator:
            print(f"{emulator.VENDOR} embedding emulator (a test tool; vectors are NOT {emulator.VENDOR}'s) at "
                  f"{emulator.base_url}\n  export {base_url_env}={emulator.base_url}", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
