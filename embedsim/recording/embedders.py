"""Embedders whose calls are recorded to / replayed from a cassette, or made live.

A recording is all or nothing: what vcr records stays in memory
(:class:`~embedsim.recording.vcr_settings.StagedPersister`) and replaces the cassette
by one atomic rename only when every call of the test succeeded; until then - also
when the process is killed - the previous cassette stays as it was.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedsim.backends.base import Embedder
from embedsim.errors import RecordingError
from embedsim.inputs.items import Item
from embedsim.recording.mismatch import CassetteMismatch, cassette_error, describe_mismatch
from embedsim.recording.modes import key_names, replays
from embedsim.recording.naming import record_command
from embedsim.recording.network import NetworkPolicy
from embedsim.recording.provenance import answered_by_emulator, describe, write_provenance
from embedsim.recording.vcr_settings import CassetteUnreadable, StagedPersister, make_vcr
from embedsim.recording.wire import foreign_hosts, wires_of

if TYPE_CHECKING:
    import numpy as np
    from vcr import VCR

#: The key the SDK gets while replaying (it insists on having one).
PLACEHOLDER_KEY = "embedsim-replay-placeholder"
#: Set to 1 to keep answers of the embedsim emulator under a vendor's model id (embedsim's
#: own tests do, in temporary folders); otherwise such a recording is refused.
ALLOW_EMULATOR = "EMBEDSIM_ALLOW_EMULATOR_RECORDINGS"


class EmulatorAnswer(RecordingError):
    """A recording under a vendor's model id was answered by the embedsim emulator."""


class LiveEmbedder:
    """A remote embedder called live (``--disable-recording``): like recording, its calls are
    exempt from ``--block-network``; nothing else in the test is."""

    def __init__(self, inner: Embedder, network: NetworkPolicy = NetworkPolicy()) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dimension = inner.dimension
        self.network = network

    def embed(self, items: Sequence[Item]) -> np.ndarray:
        with self.network.open():
            return self.inner.embed(items)


class RecordedEmbedder:
    """Wraps a remote embedder whose HTTP calls go through a cassette, turning a
    cassette miss into a :class:`CassetteMismatch` that names the changed items."""

    def __init__(self, inner: Embedder, path: Path, nodeid: str, recording: bool, *,
                 network: NetworkPolicy = NetworkPolicy(), options: Sequence[str] = (),
                 key_name: str | None = None, vendor: bool = True,
                 environ: Mapping[str, str] | None = None, base_url_env: Sequence[str] = ()) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dimension = inner.dimension
        self.cassette_path = path
        self.nodeid = nodeid
        self.recording = recording
        self.network = network
        self.options = tuple(options)
        self.key_name = key_name
        self.base_url_env = tuple(base_url_env)
        self.refuse_emulator = vendor and (os.environ if environ is None else environ).get(ALLOW_EMULATOR, "") != "1"
        self.cassette: Any = None
        self._checked = 0
        #: True once a call failed: what was recorded is incomplete and is not kept.
        self.failed = False
        #: Once a recording is written: the hosts in it that are not the vendor's official ones.
        self.foreign_hosts: tuple[str, ...] = ()

    def embed(self, items: Sequence[Item]) -> np.ndarray:
        __tracebackhide__ = True
        try:
            with self.network.open() if self.recording else self.network.closed():
                vectors = self.inner.embed(items)
            self._check_answers()
            return vectors
        except BaseException as exc:
            self.failed = True
            error = cassette_error(exc)
            if error is None:
                raise
            raise CassetteMismatch(describe_mismatch(error, items, self.cassette_path, self.nodeid, self.options,
                                                     self.key_name, wires_of(self.model_id))) from None

    def _check_answers(self) -> None:
        """Refuse answers of the embedsim emulator recorded under a vendor's model id."""
        if not self.recording or self.cassette is None:
            return
        responses = self.cassette.responses
        new, self._checked = responses[self._checked:], len(responses)
        if self.refuse_emulator and any(answered_by_emulator(r) for r in new):
            unset = " or ".join(self.base_url_env) or "the base URL"
            raise EmulatorAnswer(
                f"refused to record {self.cassette_path}: the answer came from the embedsim emulator (a test tool), "
                f"not from the service of {self.model_id}; unset {unset} (or the base URL you "
                f"set) to record from the real service, or set {ALLOW_EMULATOR}=1 for a throwaway recording")

    def __repr__(self) -> str:
        mode = "recording" if self.recording else "replaying"
        return f"<{self.model_id} {mode} {self.cassette_path}>"


def _credentials(spec: Any, environ: Mapping[str, str] | None) -> tuple[str | None, str | None]:
    """``(API key or None, where credentials were found or None)``. Credentials an SDK finds itself
    (a cloud chain: AWS profiles and roles, Google ADC) can record too; the factory then gets
    ``api_key=None`` and uses its chain. A function of its own: no frame of the recorder holds the
    environment (``-l`` would print it)."""
    if spec is None:
        return None, None
    env = os.environ if environ is None else environ
    return spec.api_key(env), spec.credentials_found(env)


@contextmanager
def recorded_embedder(
    model_id: str,
    dimension: int | None,
    path: Path,
    record_mode: str,
    nodeid: str,
    factory: Callable[..., Embedder] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    model_dir: Path | None = None,
    vcr_config: Mapping[str, Any] | None = None,
    configure: Callable[[VCR], None] | None = None,
    network: NetworkPolicy = NetworkPolicy(),
    options: Sequence[str] = (),
    **backend_options: Any,
) -> Iterator[RecordedEmbedder]:
    """An embedder for ``model_id`` whose calls are recorded to / replayed from ``path``.

    Refuses (:func:`~embedsim.recording.modes.replays`, before any call) a mode that needs
    a recording that cannot be made, and a cassette that cannot be read
    (:class:`~embedsim.recording.vcr_settings.CassetteUnreadable`). ``model_dir`` is the
    model's cassette folder, if known: a missing cassette of a model with recordings there
    is :class:`~embedsim.recording.modes.MissingRecording`, and it holds the recordings'
    provenance. ``vcr_config`` / ``configure`` are the user's
    vcr settings and pytest-recording's configure hook; ``network`` what pytest-recording
    blocks; ``options`` the run's options for printed record commands. A replay hands the
    SDK :data:`PLACEHOLDER_KEY` and may not connect anywhere; a recording hands it the API key, or
    ``None`` when the credentials come from the SDK's own chain (``BackendSpec.credentials``).
    """
    from embedsim.backends import find, get_embedder

    factory = get_embedder if factory is None else factory
    spec = find(model_id)
    wire = spec.wire if spec is not None else None
    vendor = wire is not None and bool(wire.official_hosts)
    names = key_names(model_id)
    key_name = names[0] if names else None
    key, found = _credentials(spec, environ)
    replay = replays(record_mode, path, found, model_id, nodeid, model_dir=model_dir, options=options)
    persister = StagedPersister(fresh=record_mode == "rewrite")
    vcr = make_vcr(path.parent, record_mode, user_config=vcr_config, persister=persister, configure=configure,
                   model_id=model_id)
    inner: Embedder | None = None

    def close_inner() -> None:
        close = getattr(inner, "close", None)
        if callable(close):
            close()

    with ExitStack() as stack:
        stack.callback(close_inner)  # last: after the cassette is closed
        try:
            cassette = stack.enter_context(vcr.use_cassette(path.name))
        except CassetteUnreadable as exc:
            raise CassetteUnreadable(
                f"{exc}: restore it from version control (git checkout -- {path}) or delete it and record it again "
                f"with: {record_command(nodeid, 'rewrite', options, key_name)}") from None
        inner = factory(model_id, dimension, api_key=PLACEHOLDER_KEY if replay else key, **backend_options)
        if isinstance(getattr(inner, "max_concurrency", None), int):
            # one call at a time under a cassette: vcrpy is not thread-safe - while one thread opens a
            # connection it unpatches the HTTP classes process-wide (force_reset), so a connection another
            # thread opens then is neither recorded nor replayed
            inner.max_concurrency = 1  # type: ignore[attr-defined]
        if replay and getattr(inner, "batch", None) is not None:
            # a batch job's polls replay their recorded answers in order, each once: no wait between them
            inner.batch.poll_interval = 0.0  # type: ignore[attr-defined]
        embedder = RecordedEmbedder(inner, path, nodeid, recording=not replay, network=network, options=options,
                                    key_name=key_name, vendor=vendor, environ=environ,
                                    base_url_env=wire.base_url_env if wire is not None else ())
        embedder.cassette = cassette
        yield embedder
    if not embedder.failed and (written := persister.commit()) is not None:
        embedder.foreign_hosts = foreign_hosts([r.uri for r in persister.saved[0]], wire.official_hosts if wire is not None else ())
        if model_dir is not None:  # what the written file holds, not every request the cassette saw
            write_provenance(model_dir, written, describe(*persister.saved, wires_of(model_id)))
