"""vcrpy settings for embedding API calls: key filters, media digests, matching, persisters.

Every vendor fact comes from the model's backend (its :class:`~embedsim.backends.base.Wire`,
:mod:`embedsim.recording.wire`); with no model named, every installed backend's facts apply.

* Credentials never reach a cassette: the backend's credential headers and query parameters
  (and HTTP's ``Authorization`` / ``Proxy-Authorization``) are dropped, and so is a
  ``user:password@`` in the URL (:func:`vcr_config`).
* The SDK's own credential exchanges (``Wire.credential_urls``: an OAuth token endpoint, STS,
  a metadata server) are neither recorded nor matched: they go through live while recording,
  and a replay never makes one (the backend gets a placeholder key, so it skips its chain).
* Requests match on method, what identifies the call in the path (``Wire.call_path``: not
  the API version, not a gateway's path prefix), query and the normalised JSON body with
  media as digests; the host is not compared, so a cassette recorded through another base
  URL (a gateway, the emulator) or another API version replays against the default one.
* Cassettes are written atomically (:class:`AtomicPersister`: a temporary file in the
  same folder, then a rename), and a cassette that exists but cannot be read is an
  error (:class:`CassetteUnreadable`), never an empty cassette to record into.
* A user's own settings (pytest-recording's ``vcr_config`` fixture) are merged in
  (:func:`merged_config`): theirs win, except that embedsim's key filters always apply
  and embedsim's record hooks run before theirs.
* Vectors are stored compactly and losslessly (:mod:`embedsim.recording.cassette_format`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedsim.backends.base import Wire
from embedsim.errors import RecordingError
from embedsim.files import atomic_write
from embedsim.recording import cassette_format
from embedsim.recording.bodies import BODY_MATCHER, body_matcher, digest_media
from embedsim.recording.wire import (
    call_of,
    credential_headers,
    credential_params,
    credential_url,
    media_paths,
    wires_of,
    without_userinfo,
)

if TYPE_CHECKING:  # vcr is imported lazily: pytest-recording registers vcr.matchers for assert rewriting
    from vcr import VCR

PATH_MATCHER = "embedsim_path"
MATCH_ON = ("method", PATH_MATCHER, "query", BODY_MATCHER)
#: Settings of pytest-recording's ``vcr_config`` that are not vcrpy's.
_NOT_VCR = ("allowed_hosts", "record_mode")


class CassetteUnreadable(RecordingError):
    """A cassette file exists but is not a readable vcr cassette."""


def call_matcher(wires: Sequence[Wire] | None = None) -> Callable[[Any, Any], None]:
    """A vcr matcher: the same call (:func:`~embedsim.recording.wire.call_of`, default: by
    every installed backend's ``call_path``), whatever the API version or path prefix."""

    def match(r1: Any, r2: Any) -> None:
        found = wires_of() if wires is None else wires
        assert call_of(r1.path, found)[0] == call_of(r2.path, found)[0], "calls differ (API version and prefix ignored)"

    return match


#: The vcr matcher of :data:`PATH_MATCHER` for every installed backend.
path_matcher = call_matcher()


def request_filter(wires: Sequence[Wire] | None = None) -> Callable[[Any], Any]:
    """A vcr ``before_record_request`` hook: no ``user:password@`` in the URL, media in the body
    as digests (at the ``wires``' media paths, default every installed backend's), and the SDK's
    own credential exchanges (``Wire.credential_urls``: token endpoints, STS, metadata servers,
    whose answers carry secrets) dropped - ``None``, so vcr neither records nor matches them and
    lets them through live while recording."""

    def before_record_request(request: Any) -> Any:
        if credential_url(without_userinfo(request.uri), wires_of() if wires is None else wires):
            return None
        request.uri = without_userinfo(request.uri)
        request.body = digest_media(request.body, None if wires is None else media_paths(wires))
        return request

    return before_record_request


#: :func:`request_filter` for every installed backend.
before_record_request = request_filter()


def before_record_response(response: dict[str, Any]) -> dict[str, Any] | None:
    """vcr hook: keep only successful answers. An error (a 429 that the SDK retried, a
    400, a 500) or a redirect (refused by the backend) is not recorded, so a cassette never
    replays a failure."""
    return response if 200 <= response["status"]["code"] < 300 else None


def vcr_config(model_id: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``VCR(...)`` / ``use_cassette(...)`` / pytest-recording's
    ``vcr_config`` fixture, for ``model_id``'s backend (default: every installed backend).
    ``match_on`` names :data:`PATH_MATCHER` and :data:`BODY_MATCHER`, which :func:`register`
    adds to a ``VCR`` (the embedsim plugin does so in pytest-recording's
    ``pytest_recording_configure`` hook)."""
    wires = wires_of(model_id)
    return {
        "filter_headers": list(credential_headers(wires)),
        "filter_query_parameters": list(credential_params(wires)),
        "before_record_request": request_filter(wires),
        "before_record_response": before_record_response,
        "match_on": MATCH_ON,
        "decode_compressed_response": True,
        "serializer": cassette_format.NAME,  # registered by register(); plain vcrpy YAML still loads
    }


def _chain(first: Callable[[Any], Any], then: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    if then is None:
        return first

    def both(value: Any) -> Any:
        value = first(value)
        return None if value is None else then(value)

    return both


def merged_config(user: Mapping[str, Any] | None = None, model_id: str | None = None) -> dict[str, Any]:
    """:func:`vcr_config` (of ``model_id``) with a user's ``vcr_config`` on top: their keys win,
    except that the key filters are the union and embedsim's ``before_record_*`` hooks run
    first. pytest-recording's own keys (``allowed_hosts``, ``record_mode``) are left out."""
    config = vcr_config(model_id)
    for key, value in (user or {}).items():
        if key in _NOT_VCR:
            continue
        if key in ("filter_headers", "filter_query_parameters"):
            config[key] = [*config[key], *value]
        elif key in ("before_record_request", "before_record_response"):
            config[key] = _chain(config[key], value)
        else:
            config[key] = value
    return config


class AtomicPersister:
    """vcr persister: saves into a temporary file beside the cassette and renames it over
    the cassette (:func:`embedsim.files.atomic_write`), so a reader, a parallel recorder or
    an interrupt never sees a half-written cassette. Loading refuses a file that exists
    but is empty, not UTF-8 or not a cassette (:class:`CassetteUnreadable`) - vcrpy would
    treat it as missing and record over it."""

    @staticmethod
    def load_cassette(cassette_path: str | Path, serializer: Any) -> Any:
        from vcr.persisters.filesystem import CassetteNotFoundError
        from vcr.serialize import deserialize

        path = Path(cassette_path)
        if not path.is_file():
            raise CassetteNotFoundError()
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise CassetteUnreadable(f"the cassette {path} is not UTF-8 text") from None
        if not text.strip():
            raise CassetteUnreadable(f"the cassette {path} is empty")
        try:
            return deserialize(text, serializer)
        except Exception as exc:  # yaml errors, a missing 'interactions', a wrong shape
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise CassetteUnreadable(f"the cassette {path} is not a readable vcr cassette "
                                     f"({type(exc).__name__}{': ' + detail if detail else ''})") from None

    @staticmethod
    def save_cassette(cassette_path: str | Path, cassette_dict: dict[str, Any], serializer: Any) -> None:
        from vcr.serialize import serialize

        atomic_write(cassette_path, serialize(cassette_dict, serializer).encode("utf-8"))


class StagedPersister(AtomicPersister):
    """An :class:`AtomicPersister` for one recording that keeps what vcr saves in memory
    until :meth:`commit`: the previous cassette stays in place, untouched, until the new
    one is complete. ``fresh`` ignores the previous cassette (``--record-mode=rewrite``);
    ``hold=False`` writes on save, as :class:`AtomicPersister` does."""

    def __init__(self, fresh: bool = False, hold: bool = True) -> None:
        self.fresh, self.hold = fresh, hold
        self.staged: tuple[str, bytes] | None = None
        #: ``(requests, responses)`` of the cassette last saved: what the file holds, after vcr's
        #: ``drop_unused_requests``, ``all`` mode's replacements and a user's ``before_save_interaction``.
        self.saved: tuple[list[Any], list[Any]] = ([], [])

    def load_cassette(self, cassette_path: str | Path, serializer: Any) -> Any:  # type: ignore[override]
        if self.fresh:
            from vcr.persisters.filesystem import CassetteNotFoundError

            raise CassetteNotFoundError()
        return AtomicPersister.load_cassette(cassette_path, serializer)

    def save_cassette(self, cassette_path: str | Path, cassette_dict: dict[str, Any],  # type: ignore[override]
                      serializer: Any) -> None:
        from vcr.serialize import serialize

        self.staged = (str(cassette_path), serialize(cassette_dict, serializer).encode("utf-8"))
        self.saved = (list(cassette_dict["requests"]), list(cassette_dict["responses"]))
        if not self.hold:
            self.commit()

    def commit(self) -> Path | None:
        """Write the staged cassette by one atomic rename; the path written, or None."""
        if self.staged is None:
            return None
        path, data = self.staged
        self.staged = None
        return atomic_write(path, data)


def register(vcr: VCR, model_id: str | None = None) -> None:
    """Add embedsim's matchers (for ``model_id``'s backend, default every installed one) and its
    cassette serializer to ``vcr``."""
    vcr.register_matcher(BODY_MATCHER, body_matcher)
    vcr.register_matcher(PATH_MATCHER, path_matcher if model_id is None else call_matcher(wires_of(model_id)))
    vcr.register_serializer(cassette_format.NAME, cassette_format)


def make_vcr(cassette_dir: str | Path, record_mode: str = "none", *, user_config: Mapping[str, Any] | None = None,
             persister: Any = AtomicPersister, configure: Callable[[VCR], None] | None = None,
             model_id: str | None = None) -> VCR:
    """A ``VCR`` with embedsim's settings for ``model_id``'s backend (default: every installed
    one) and ``user_config`` (:func:`merged_config`), ``persister`` and matchers; ``configure``
    is called on it before embedsim's matchers are registered (the plugin passes
    pytest-recording's ``pytest_recording_configure`` hook). ``rewrite`` is ``new_episodes``
    on a cassette the persister does not load (:class:`StagedPersister` with ``fresh=True``)."""
    from vcr import VCR

    mode = "new_episodes" if record_mode == "rewrite" else record_mode
    if record_mode == "rewrite" and persister is AtomicPersister:
        persister = StagedPersister(fresh=True, hold=False)
    vcr = VCR(cassette_library_dir=str(cassette_dir), record_mode=mode, path_transformer=VCR.ensure_suffix(".yaml"),
              **merged_config(user_config, model_id))
    vcr.register_persister(persister)
    if configure is not None:
        configure(vcr)
    register(vcr, model_id)
    return vcr
