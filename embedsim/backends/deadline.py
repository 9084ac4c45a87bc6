"""A call attempt's timeout as a deadline on the sync httpx paths (Gemini's google-genai, Cohere,
Jina, OpenAI): the whole attempt - connect, send, headers and body - ends within ``timeout``
seconds, however the server paces its answer.

httpx's timeouts bound each network operation, so a server sending its body in pieces, each
within the read timeout, holds a call for as long as it likes. :func:`deadline_transport` gives
the client a transport whose connections read and write against the attempt's deadline: every
operation waits at most what is left of it, and one that would start after it raises httpcore's
``ReadTimeout`` / ``WriteTimeout`` (httpx's, as the client sees it), which the SDKs treat as any
timeout.

It is built from public pieces only: httpcore's ``ConnectionPool`` with a ``network_backend``
(httpcore's documented extension point), answering through httpx's ``MockTransport`` (a transport
whose handler produces the response; vcrpy patches it like ``HTTPTransport``, so recording and
replay see every call). The deadline starts when the transport gets the request (one per attempt:
the SDKs' retries send each attempt anew) and is kept per thread (:mod:`contextvars`): the
response body is read in the thread that sent the request, inside vcrpy's recorder too.

Not covered: Voyage's SDK sends through ``requests`` (its timeout stays per read), and the async
paths bring their own (aiohttp's total timeout for google-genai).
"""

from __future__ import annotations

import contextvars
import importlib
import time
from typing import Any

#: The deadline (``time.monotonic()``) and the timeout of the attempt running in this thread.
_DEADLINE: contextvars.ContextVar[tuple[float, float] | None] = contextvars.ContextVar("embedsim_deadline",
                                                                                       default=None)
#: httpcore's errors, by name, as httpx raises them.
_ERRORS = ("ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout", "ConnectError", "ReadError",
           "WriteError", "CloseError", "RemoteProtocolError", "LocalProtocolError", "ProxyError",
           "UnsupportedProtocol", "NetworkError", "TimeoutException", "ProtocolError")


def _left(timeout: float | None, httpcore: Any, error: str) -> float | None:
    """Seconds the next operation may wait: the smaller of ``timeout`` and what is left of the
    attempt's deadline; ``error`` (an httpcore timeout) once the deadline has passed."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline[0] - time.monotonic()
    if left <= 0:
        raise getattr(httpcore, error)(f"the attempt's {deadline[1]:g} s deadline passed")
    return left if timeout is None else min(timeout, left)


def _stream_class(httpcore: Any) -> type:
    class DeadlineStream(httpcore.NetworkStream):  # type: ignore[misc,name-defined]
        """A connection whose operations end by the attempt's deadline."""

        def __init__(self, stream: Any) -> None:
            self._stream = stream

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            left = _left(timeout, httpcore, "ReadTimeout")
            try:
                return self._stream.read(max_bytes, left)  # type: ignore[no-any-return]
            except httpcore.ReadTimeout:
                _left(timeout, httpcore, "ReadTimeout")  # say it was the deadline, if it was
                raise

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            self._stream.write(buffer, _left(timeout, httpcore, "WriteTimeout"))

        def close(self) -> None:
            self._stream.close()

        def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                      timeout: float | None = None) -> Any:
            return DeadlineStream(self._stream.start_tls(ssl_context, server_hostname,
                                                         _left(timeout, httpcore, "ConnectTimeout")))

        def get_extra_info(self, info: str) -> Any:
            return self._stream.get_extra_info(info)

    return DeadlineStream


def _backend(httpcore: Any) -> Any:
    stream = _stream_class(httpcore)

    class DeadlineBackend(httpcore.SyncBackend):  # type: ignore[misc,name-defined]
        """httpcore's sync backend, its connections bound by the attempt's deadline."""

        def connect_tcp(self, host: str, port: int, timeout: float | None = None, **kwargs: Any) -> Any:
            return stream(super().connect_tcp(host, port, _left(timeout, httpcore, "ConnectTimeout"), **kwargs))

        def connect_unix_socket(self, path: str, timeout: float | None = None, **kwargs: Any) -> Any:
            return stream(super().connect_unix_socket(path, _left(timeout, httpcore, "ConnectTimeout"), **kwargs))

    return DeadlineBackend()


def deadline_transport(httpx_name: str, timeout: float | None) -> Any:
    """A transport for an ``httpx_name`` (``"httpx"`` or ``"httpx2"``) client whose every request
    is one attempt ending within ``timeout`` seconds (``None``: the client's timeouts only)."""
    httpx = importlib.import_module(httpx_name)
    httpcore = importlib.import_module(httpx_name.replace("httpx", "httpcore"))
    pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(), network_backend=_backend(httpcore))

    def mapped(exc: Exception, request: Any) -> Exception:
        for name in _ERRORS:
            if isinstance(exc, getattr(httpcore, name, ())):
                return getattr(httpx, name)(str(exc), request=request)  # type: ignore[no-any-return]
        return exc

    class Body(httpx.SyncByteStream):  # type: ignore[misc,name-defined]
        def __init__(self, stream: Any, request: Any) -> None:
            self._stream, self._request = stream, request

        def __iter__(self) -> Any:
            try:
                yield from self._stream
            except Exception as exc:
                error = mapped(exc, self._request)
                if error is exc:
                    raise
                raise error from None

        def close(self) -> None:
            self._stream.close()

    def send(request: Any) -> Any:
        _DEADLINE.set((time.monotonic() + timeout, timeout) if timeout else None)  # never an earlier one's
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host, port=request.url.port,
                             target=request.url.raw_path),
            headers=request.headers.raw, content=request.stream, extensions=request.extensions)
        try:
            answer = pool.handle_request(core)
        except Exception as exc:
            error = mapped(exc, request)
            if error is exc:
                raise
            failure = error
        else:
            return httpx.Response(status_code=answer.status, headers=answer.headers,
                                  stream=Body(answer.stream, request), extensions=answer.extensions)
        raise failure  # outside the except block: httpcore's exception is not kept as the context

    class DeadlineTransport(httpx.MockTransport):  # type: ignore[misc,name-defined]
        """httpx's handler transport, answering through the deadline-bound connection pool."""

        def close(self) -> None:
            pool.close()

    return DeadlineTransport(send)
