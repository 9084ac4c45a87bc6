"""Embedders whose calls are recorded to / replayed from a cassette, or made live."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from embedsim.backends.base import Embedder
from embedsim.files import atomic_write
from embedsim.items import Item
from embedsim.recording.mismatch import CassetteMismatch, cassette_error, describe_mismatch
from embedsim.recording.modes import api_key_from_env, replays
from embedsim.recording.vcr_settings import make_vcr

if TYPE_CHECKING:
    import numpy as np

#: The key the SDK gets while replaying (it insists on having one).
PLACEHOLDER_KEY = "embedsim-replay-placeholder"


@contextmanager
def _network_allowed() -> Iterator[None]:
    """Lift pytest-recording's ``--block-network`` while recording (as its ``vcr`` mark does)."""
    from pytest_recording import network

    saved = socket.socket.connect, socket.socket.connect_ex
    socket.socket.connect, socket.socket.connect_ex = (  # type: ignore[method-assign]
        network._original_connect, network._original_connect_ex)
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex = saved  # type: ignore[method-assign]


class LiveEmbedder:
    """A remote embedder called live (``--disable-recording``): like recording, its calls are
    exempt from ``--block-network``; nothing else in the test is."""

    local = False

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dimension = inner.dimension

    def embed(self, items: Sequence[Item]) -> np.ndarray:
        with _network_allowed():
            return self.inner.embed(items)


class RecordedEmbedder:
    """Wraps a remote embedder whose HTTP calls go through a cassette, turning a
    cassette miss into a :class:`CassetteMismatch` that names the changed items."""

    local = False

    def __init__(self, inner: Embedder, path: Path, nodeid: str, recording: bool) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dimension = inner.dimension
        self.cassette_path = path
        self.nodeid = nodeid
        self.recording = recording
        #: True once a call failed: what was recorded is incomplete.
        self.failed = False

    def embed(self, items: Sequence[Item]) -> np.ndarray:
        __tracebackhide__ = True
        try:
            if not self.recording:
                return self.inner.embed(items)
            with _network_allowed():
                return self.inner.embed(items)
        except BaseException as exc:
            self.failed = True
            error = cassette_error(exc)
            if error is None:
                raise
            raise CassetteMismatch(describe_mismatch(error, items, self.cassette_path, self.nodeid,
                                                     self.model_id)) from None

    def __repr__(self) -> str:
        mode = "recording" if self.recording else "replaying"
        return f"<{self.model_id} {mode} {self.cassette_path}>"


@contextmanager
def recorded_embedder(
    model_id: str,
    dimension: int,
    path: Path,
    record_mode: str,
    nodeid: str,
    factory: Callable[..., Embedder] | None = None,
    environ: Mapping[str, str] | None = None,
    **options: Any,
) -> Iterator[RecordedEmbedder]:
    """An embedder for ``model_id`` whose calls are recorded to / replayed from ``path``.

    Raises :class:`~embedsim.recording.modes.NotRecorded` (before any call) when the mode
    needs a recording that cannot be made (:func:`~embedsim.recording.modes.replays`).
    A failed ``rewrite`` puts the previous cassette back.
    Replays hand the SDK :data:`PLACEHOLDER_KEY`, never the real key.
    """
    if factory is None:
        from embedsim.backends import get_embedder

        factory = get_embedder
    key = api_key_from_env(model_id, environ)  # environ None: os.environ, never a local a traceback could show
    replay = replays(record_mode, path, key, model_id, nodeid)
    previous: bytes | None = None  # restored if re-recording ends without a complete new cassette
    if record_mode == "rewrite" and path.is_file():
        previous = path.read_bytes()
        path.unlink()
    inner = factory(model_id, dimension, api_key=PLACEHOLDER_KEY if replay else key, **options)
    vcr = make_vcr(path.parent, record_mode)
    embedder = RecordedEmbedder(inner, path, nodeid, recording=not replay)
    try:
        with vcr.use_cassette(path.name):
            yield embedder
    finally:
        if previous is not None and (embedder.failed or not path.is_file()):
            atomic_write(path, previous)
        close = getattr(inner, "close", None)
        if callable(close):
            close()
