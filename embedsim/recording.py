"""vcrpy configuration for recording embedding API calls, reusable outside the plugin.

* API keys never reach a cassette: the ``x-goog-api-key`` and ``authorization``
  headers and a ``key`` query parameter are dropped (:func:`vcr_config`).
* Media in request bodies is stored as its digest: every ``inline_data.data``
  (base64) becomes ``sha256:<hex>`` of the decoded bytes - the same value as
  :attr:`embedsim.items.Item.digest` - so cassettes stay small and a changed image
  no longer matches (:func:`digest_media`).
* Requests match on method, path, query and the normalised JSON body
  (``embedsim_body``); the host is not compared, so a cassette recorded through
  another ``base_url`` (a proxy, the emulator) replays against the default one.
* One cassette per test and model: ``<dir>/<model id>/<test module>/<test name>.yaml``
  (:func:`cassette_path`).
* Cassettes are written atomically (:class:`AtomicPersister`: a temporary file in the
  same folder, then a rename), so an interrupted recording or parallel recorders
  (pytest-xdist, two runs at once) never leave a half-written cassette.

The plugin's ``embedder`` fixture uses all this itself. For pytest-recording's own
``@pytest.mark.vcr`` tests, in a ``conftest.py``::

    from embedsim.recording import BODY_MATCHER, body_matcher, vcr_config as embedsim_vcr_config

    @pytest.fixture(scope="module")
    def vcr_config():
        return embedsim_vcr_config()

    def pytest_recording_configure(config, vcr):
        vcr.register_matcher(BODY_MATCHER, body_matcher)
        vcr.register_persister(AtomicPersister)

or in plain code: ``with make_vcr(directory, "none").use_cassette("name.yaml"): ...``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import shlex
import socket
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from embedsim.backends.base import Embedder
from embedsim.errors import EmbedsimError, RecordingError
from embedsim.files import atomic_write
from embedsim.items import Item

if TYPE_CHECKING:  # vcr is imported lazily: pytest-recording registers vcr.matchers for assert rewriting
    from vcr import VCR
    from vcr.errors import CannotOverwriteExistingCassetteException

KEY_HEADERS = ("x-goog-api-key", "authorization")
KEY_QUERY_PARAMETERS = ("key",)
#: Environment variables the key is read from, first found wins.
KEY_ENVIRONMENT = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
#: The key the SDK gets while replaying (it insists on having one).
PLACEHOLDER_KEY = "embedsim-replay-placeholder"
BODY_MATCHER = "embedsim_body"
MATCH_ON = ("method", "path", "query", BODY_MATCHER)
RECORD_MODES = ("none", "once", "new_episodes", "all", "rewrite")
_MEDIA_KEYS = ("inline_data", "inlineData")


class CassetteMismatch(RecordingError):
    """A replayed test sent a request its cassette does not hold."""


# --- request bodies -----------------------------------------------------------------


def _b64decode(data: str) -> bytes:
    padded = data + "=" * (-len(data) % 4)
    try:
        return base64.b64decode(padded, altchars=b"-_" if ("-" in data or "_" in data) else None, validate=True)
    except (binascii.Error, ValueError):
        return data.encode("utf-8")  # not base64: digest the text itself


def _digest_tree(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in _MEDIA_KEYS and isinstance(value, dict) and isinstance(value.get("data"), str):
                value = dict(value)
                if not value["data"].startswith("sha256:"):
                    value["data"] = "sha256:" + hashlib.sha256(_b64decode(value["data"])).hexdigest()
                out[key] = value
            else:
                out[key] = _digest_tree(value)
        return out
    if isinstance(node, list):
        return [_digest_tree(v) for v in node]
    return node


def _json_body(body: Any) -> Any:
    if body is None:
        return None
    if not isinstance(body, (bytes, bytearray, str)):
        body = b"".join(body) if not hasattr(body, "read") else body.read()
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def digest_media(body: bytes | str | None) -> bytes | str | None:
    """``body`` with every base64 ``inline_data.data`` replaced by ``sha256:<hex>``.

    Bodies that are not JSON are returned unchanged. Idempotent.
    """
    parsed = _json_body(body)
    if parsed is None:
        return body
    return json.dumps(_digest_tree(parsed), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def before_record_request(request: Any) -> Any:
    """vcr hook: store (and match) request bodies with media digests instead of media."""
    request.body = digest_media(request.body)
    return request


def before_record_response(response: dict[str, Any]) -> dict[str, Any] | None:
    """vcr hook: keep only successful answers. An error (a 429 that the SDK retried, a
    400, a 500) is not recorded, so a cassette never replays a failure and a failed
    recording leaves no cassette behind."""
    return response if response["status"]["code"] < 400 else None


def body_matcher(r1: Any, r2: Any) -> None:
    """vcr matcher: equal JSON bodies after :func:`digest_media` (bytes otherwise)."""
    a, b = _json_body(digest_media(r1.body)), _json_body(digest_media(r2.body))
    if a is None or b is None:
        assert r1.body == r2.body, "bodies differ"
        return
    assert a == b, "JSON bodies differ (media compared by sha256 digest)"


def vcr_config() -> dict[str, Any]:
    """Keyword arguments for ``VCR(...)`` / ``use_cassette(...)`` / pytest-recording's
    ``vcr_config`` fixture. ``match_on`` names :data:`BODY_MATCHER`, which
    :func:`make_vcr` registers (with pytest-recording, register it in a
    ``pytest_recording_configure(config, vcr)`` hook: ``vcr.register_matcher(BODY_MATCHER, body_matcher)``)."""
    return {
        "filter_headers": list(KEY_HEADERS),
        "filter_query_parameters": list(KEY_QUERY_PARAMETERS),
        "before_record_request": before_record_request,
        "before_record_response": before_record_response,
        "match_on": MATCH_ON,
        "decode_compressed_response": True,
    }


class AtomicPersister:
    """vcr persister: loads like vcr's ``FilesystemPersister``; saves into a temporary file
    beside the cassette and renames it over the cassette (:func:`embedsim.files.atomic_write`),
    so a reader, a parallel recorder or an interrupt never sees a half-written cassette."""

    @staticmethod
    def load_cassette(cassette_path: str | Path, serializer: Any) -> Any:
        from vcr.persisters.filesystem import FilesystemPersister

        return FilesystemPersister.load_cassette(cassette_path, serializer)

    @staticmethod
    def save_cassette(cassette_path: str | Path, cassette_dict: dict[str, Any], serializer: Any) -> None:
        from vcr.serialize import serialize

        atomic_write(cassette_path, serialize(cassette_dict, serializer).encode("utf-8"))


def make_vcr(cassette_dir: str | Path, record_mode: str = "none") -> VCR:
    """A ``VCR`` with embedsim's filters, matcher and atomic persister (``rewrite`` =
    ``new_episodes`` on a cassette the caller deleted first)."""
    from vcr import VCR

    mode = "new_episodes" if record_mode == "rewrite" else record_mode
    vcr = VCR(cassette_library_dir=str(cassette_dir), record_mode=mode, path_transformer=VCR.ensure_suffix(".yaml"),
              **vcr_config())
    vcr.register_matcher(BODY_MATCHER, body_matcher)
    vcr.register_persister(AtomicPersister)
    return vcr


# --- paths and commands ---------------------------------------------------------------


def safe_name(name: str) -> str:
    """A file-name-safe version of ``name`` (as pytest-recording does)."""
    for ch in "<>?%*:|\"'/\\":
        name = name.replace(ch, "-")
    return name


def cassette_path(cassette_dir: str | Path, model_id: str, module: str, test_name: str) -> Path:
    """``<cassette_dir>/<model id>/<module>/<test name>.yaml``."""
    return Path(cassette_dir) / safe_name(model_id) / safe_name(module) / f"{safe_name(test_name)}.yaml"


def api_key_from_env(environ: Mapping[str, str] = os.environ) -> str | None:
    """The API key from :data:`KEY_ENVIRONMENT`, or None."""
    for name in KEY_ENVIRONMENT:
        if environ.get(name, "").strip():
            return environ[name].strip()
    return None


def show_path(path: Path) -> str:
    """``path`` relative to the working directory when it is below it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def record_command(nodeid: str, mode: str = "once") -> str:
    """The shell command that records (``once``) or re-records (``rewrite``) one test, and
    writes its snapshots for the new recording."""
    return f"GEMINI_API_KEY=... pytest {shlex.quote(nodeid)} --record-mode={mode} --snapshot-update"


# --- explaining a mismatch -------------------------------------------------------------


def request_inputs(body: Any) -> tuple[list[str], dict[str, Any]]:
    """The inputs of an embedding request body (``text:...`` / ``<mime> sha256:...``) and
    its other fields (model, outputDimensionality, ...)."""
    parsed = _json_body(digest_media(body))
    inputs: list[str] = []
    fields: dict[str, Any] = {}
    requests = parsed.get("requests", [parsed]) if isinstance(parsed, dict) else []
    for req in requests:
        if not isinstance(req, dict):
            continue
        for key, value in req.items():
            if key != "content":
                fields.setdefault(key, value)
        for part in (req.get("content") or {}).get("parts", []):
            if "text" in part:
                inputs.append(f"text {part['text']!r}")
            for key in _MEDIA_KEYS:
                if key in part:
                    media = part[key]
                    inputs.append(f"{media.get('mime_type') or media.get('mimeType')} {media.get('data')}")
    return inputs, fields


def item_names(items: Sequence[Item]) -> dict[str, str]:
    """``{"<mime> sha256:<hex>": "<kind> '<label>'"}`` for the media items of a request."""
    return {f"{i.mime_type} sha256:{i.digest}": f"{i.kind} {i.label!r}" for i in items if i.kind != "text"}


def _changed_in_place(live: list[str], recorded: list[list[str]]) -> list[tuple[str, str]]:
    """``(now, before)`` media inputs at the same position of the live request and the
    recorded request of the same length that shares most inputs with it."""
    same_length = [inputs for inputs in recorded if len(inputs) == len(live)]
    if not same_length:
        return []
    closest = max(same_length, key=lambda inputs: len(set(inputs) & set(live)))
    return [(now, before) for now, before in zip(live, closest, strict=True)
            if now != before and not now.startswith("text") and not before.startswith("text")]


def describe_mismatch(error: CannotOverwriteExistingCassetteException, items: Sequence[Item],
                      path: Path, nodeid: str) -> str:
    """Which items changed between this request and the cassette, and how to re-record."""
    names = item_names(items)
    live_inputs, live_fields = request_inputs(error.failed_request.body)
    recorded_inputs: list[str] = []
    recorded_requests: list[list[str]] = []
    recorded_fields: dict[str, Any] = {}
    recorded_paths = set()
    cassette = error.cassette
    unplayed = [r for n, r in enumerate(cassette.requests) if not cassette.play_counts[n]]  # not answered yet
    for request in unplayed or cassette.requests:
        inputs, fields = request_inputs(request.body)
        recorded_inputs += inputs
        recorded_requests.append(inputs)
        for key, value in fields.items():
            recorded_fields.setdefault(key, value)
        recorded_paths.add(request.path)

    def short(entry: str) -> str:
        mime, _, digest = entry.partition(" ")
        return f"{mime}, {digest[:19]}..."

    def show(entry: str) -> str:
        if entry.startswith("text"):
            return entry
        name = names.get(entry)
        return f"{name} ({short(entry)})" if name else f"media ({short(entry)})"

    new = [e for e in dict.fromkeys(live_inputs) if e not in recorded_inputs]
    gone = [e for e in dict.fromkeys(recorded_inputs) if e not in live_inputs]
    lines = [f"the cassette {show_path(path)} does not match this test's request "
             f"({len(error.cassette)} recorded interaction(s)):"]
    changed = [(e, old) for e, old in _changed_in_place(live_inputs, recorded_requests)
               if e in new and old in gone and e in names]
    if changed:
        lines.append("  items whose content changed:")
        lines += [f"    - {names[e]}: {short(e)} now, {short(old)} in the cassette" for e, old in changed]
        new = [e for e in new if e not in {c for c, _ in changed}]
        gone = [e for e in gone if e not in {old for _, old in changed}]
    if new:
        lines.append("  items sent now but not in the cassette (new or changed):")
        lines += [f"    - {show(e)}" for e in new[:20]]
    if gone:
        lines.append("  items in the cassette that are no longer sent:")
        lines += [f"    - {show(e)}" for e in gone[:20]]
    for key in sorted(set(live_fields) | set(recorded_fields)):
        if live_fields.get(key) != recorded_fields.get(key):
            lines.append(f"  {key}: {live_fields.get(key)!r} now, {recorded_fields.get(key)!r} in the cassette")
    if error.failed_request.path not in recorded_paths and recorded_paths:
        lines.append(f"  path: {error.failed_request.path} now, {', '.join(sorted(recorded_paths))} in the cassette "
                     "(model id or API version changed?)")
    if len(lines) == 1:
        reason = getattr(error, "reason", "")
        lines.append("  the same request was made more often than recorded" if reason == "already_played"
                     else "  the requests differ in order or count")
    lines.append(f"re-record it with: {record_command(nodeid, 'rewrite')}")
    return "\n".join(lines)


def _cassette_error(exc: BaseException) -> CannotOverwriteExistingCassetteException | None:
    from vcr.errors import CannotOverwriteExistingCassetteException

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, CannotOverwriteExistingCassetteException):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


# --- the recorded embedder --------------------------------------------------------------


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
            error = _cassette_error(exc)
            if error is None:
                raise
            raise CassetteMismatch(describe_mismatch(error, items, self.cassette_path, self.nodeid)) from None

    def __repr__(self) -> str:
        mode = "recording" if self.recording else "replaying"
        return f"<{self.model_id} {mode} {self.cassette_path}>"


class NotRecorded(RecordingError):
    """No cassette and no way to record one (the plugin turns this into a skip)."""


@contextmanager
def recorded_embedder(
    model_id: str,
    dimension: int,
    path: Path,
    record_mode: str,
    nodeid: str,
    factory: Callable[..., Embedder] | None = None,
    environ: Mapping[str, str] = os.environ,
    **options: Any,
) -> Iterator[RecordedEmbedder]:
    """An embedder for ``model_id`` whose calls are recorded to / replayed from ``path``.

    Raises :class:`NotRecorded` (before any call) when the mode needs a recording that
    cannot be made: no cassette in mode ``none``, or no API key in the environment for a
    mode that records (``once`` without a cassette, ``new_episodes``, ``all``, ``rewrite``).
    A failed ``rewrite`` puts the previous cassette back.
    Replays hand the SDK :data:`PLACEHOLDER_KEY`, never the real key.
    """
    if record_mode not in RECORD_MODES:
        raise EmbedsimError(f"unknown record mode {record_mode!r}; use one of {', '.join(RECORD_MODES)}")
    if factory is None:
        from embedsim.backends import get_embedder

        factory = get_embedder
    key = api_key_from_env(environ)
    exists = path.is_file()
    previous: bytes | None = None  # restored if re-recording ends without a complete new cassette
    if record_mode == "rewrite":
        if key is None:
            raise NotRecorded(f"--record-mode=rewrite needs GEMINI_API_KEY or GOOGLE_API_KEY to re-record "
                              f"{show_path(path)}: {record_command(nodeid, 'rewrite')}")
        if exists:
            previous = path.read_bytes()
            path.unlink()
        exists = False
    replay = exists and record_mode in ("none", "once")
    if not exists and record_mode == "none":
        raise NotRecorded(f"not recorded yet: no cassette {show_path(path)} for {model_id}; record it with: "
                          f"{record_command(nodeid)}")
    if not replay and key is None and not exists:
        raise NotRecorded(f"not recorded yet: no cassette {show_path(path)} for {model_id} and no GEMINI_API_KEY "
                          f"(or GOOGLE_API_KEY) to record it; record it with: {record_command(nodeid)}")
    if not replay and key is None:
        raise NotRecorded(f"--record-mode={record_mode} needs GEMINI_API_KEY (or GOOGLE_API_KEY) to add to "
                          f"{show_path(path)}; set the key, or replay it with --record-mode=none")
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
