"""vcrpy settings for embedding API calls: key filters, media digests, body matching and
an atomic persister.

* API keys never reach a cassette: the ``x-goog-api-key`` and ``authorization``
  headers and a ``key`` query parameter are dropped (:func:`vcr_config`).
* Requests match on method, path, query and the normalised JSON body
  (:data:`~embedsim.recording.bodies.BODY_MATCHER`); the host is not compared, so a
  cassette recorded through another ``base_url`` (a proxy, the emulator) replays
  against the default one.
* Cassettes are written atomically (:class:`AtomicPersister`: a temporary file in the
  same folder, then a rename), so an interrupted recording or parallel recorders
  (pytest-xdist, two runs at once) never leave a half-written cassette.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedsim.files import atomic_write
from embedsim.recording.bodies import BODY_MATCHER, body_matcher, digest_media

if TYPE_CHECKING:  # vcr is imported lazily: pytest-recording registers vcr.matchers for assert rewriting
    from vcr import VCR

KEY_HEADERS = ("x-goog-api-key", "authorization")
KEY_QUERY_PARAMETERS = ("key",)
MATCH_ON = ("method", "path", "query", BODY_MATCHER)


def before_record_request(request: Any) -> Any:
    """vcr hook: store (and match) request bodies with media digests instead of media."""
    request.body = digest_media(request.body)
    return request


def before_record_response(response: dict[str, Any]) -> dict[str, Any] | None:
    """vcr hook: keep only successful answers. An error (a 429 that the SDK retried, a
    400, a 500) or a redirect (refused by the backend) is not recorded, so a cassette never
    replays a failure and a failed recording leaves no cassette behind."""
    return response if 200 <= response["status"]["code"] < 300 else None


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
