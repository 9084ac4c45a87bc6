"""Recording and replaying embedding API calls with vcrpy cassettes, reusable outside the plugin.

One job per module:

* :mod:`~embedsim.recording.wire` - the vendor facts read from each backend's ``Wire``;
* :mod:`~embedsim.recording.bodies` - request bodies: media digests, body matcher, inputs;
* :mod:`~embedsim.recording.vcr_settings` - vcr settings (key filters, hooks) and the atomic persister;
* :mod:`~embedsim.recording.naming` - cassette paths, shown paths, record commands;
* :mod:`~embedsim.recording.mismatch` - explaining a cassette miss item by item;
* :mod:`~embedsim.recording.modes` - the record-mode rules (replay, record or refuse);
* :mod:`~embedsim.recording.network` - pytest-recording's network block around the calls;
* :mod:`~embedsim.recording.provenance` - where each recording came from (``provenance.json``);
* :mod:`~embedsim.recording.embedders` - the recorded and the live embedder.

The plugin's ``embedder`` fixture uses all this itself, with pytest-recording's
``vcr_config``, ``vcr_cassette_dir``, ``default_cassette_name`` fixtures and its
``pytest_recording_configure`` hook. For pytest-recording's own ``@pytest.mark.vcr``
tests, in a ``conftest.py`` (the embedsim plugin registers the matchers)::

    from embedsim.recording import vcr_config as embedsim_vcr_config

    @pytest.fixture(scope="module")
    def vcr_config():
        return embedsim_vcr_config()  # or embedsim_vcr_config("my-model-id"): that backend's facts only

or in plain code: ``with make_vcr(directory, "none").use_cassette("name.yaml"): ...``.
"""

from embedsim.recording.bodies import BODY_MATCHER, body_matcher, digest_media, request_leaves
from embedsim.recording.embedders import (
    ALLOW_EMULATOR,
    PLACEHOLDER_KEY,
    EmulatorAnswer,
    LiveEmbedder,
    RecordedEmbedder,
    recorded_embedder,
)
from embedsim.recording.mismatch import CassetteMismatch, describe_mismatch, item_names
from embedsim.recording.modes import (
    RECORD_MODES,
    MissingRecording,
    NotRecorded,
    has_recordings,
    key_names,
)
from embedsim.recording.naming import (
    cassette_path,
    model_cassette_path,
    record_command,
    safe_name,
    short_name,
    show_path,
)
from embedsim.recording.network import NetworkPolicy
from embedsim.recording.provenance import PROVENANCE_FILE, read_provenance
from embedsim.recording.vcr_settings import (
    MATCH_ON,
    PATH_MATCHER,
    AtomicPersister,
    CassetteUnreadable,
    StagedPersister,
    before_record_request,
    before_record_response,
    call_matcher,
    make_vcr,
    merged_config,
    path_matcher,
    register,
    request_filter,
    vcr_config,
)
from embedsim.recording.wire import HTTP_CREDENTIAL_HEADERS, wires_of

__all__ = [
    "ALLOW_EMULATOR", "BODY_MATCHER", "HTTP_CREDENTIAL_HEADERS", "MATCH_ON",
    "PATH_MATCHER", "PLACEHOLDER_KEY", "PROVENANCE_FILE", "RECORD_MODES", "AtomicPersister", "CassetteMismatch",
    "CassetteUnreadable", "EmulatorAnswer", "LiveEmbedder", "MissingRecording", "NetworkPolicy", "NotRecorded",
    "RecordedEmbedder", "StagedPersister", "before_record_request", "before_record_response",
    "body_matcher", "call_matcher", "cassette_path", "describe_mismatch", "digest_media", "has_recordings", "item_names", "key_names",
    "make_vcr", "merged_config", "model_cassette_path", "path_matcher", "read_provenance", "record_command",
    "recorded_embedder", "register", "request_filter", "request_leaves", "safe_name", "short_name", "show_path",
    "vcr_config", "wires_of",
]
