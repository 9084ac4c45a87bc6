"""Recording and replaying embedding API calls with vcrpy cassettes, reusable outside the plugin.

One job per module:

* :mod:`~embedsim.recording.bodies` - request bodies: media digests, body matcher, inputs;
* :mod:`~embedsim.recording.vcr_settings` - vcr settings (key filters, hooks) and the atomic persister;
* :mod:`~embedsim.recording.naming` - cassette paths, shown paths, record commands;
* :mod:`~embedsim.recording.mismatch` - explaining a cassette miss item by item;
* :mod:`~embedsim.recording.modes` - the record-mode rules (replay, record or refuse);
* :mod:`~embedsim.recording.embedders` - the recorded and the live embedder.

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

from embedsim.recording.bodies import BODY_MATCHER, body_matcher, digest_media, request_inputs
from embedsim.recording.embedders import PLACEHOLDER_KEY, LiveEmbedder, RecordedEmbedder, recorded_embedder
from embedsim.recording.mismatch import CassetteMismatch, describe_mismatch, item_names
from embedsim.recording.modes import RECORD_MODES, NotRecorded, api_key_from_env
from embedsim.recording.naming import cassette_path, record_command, safe_name, show_path
from embedsim.recording.vcr_settings import (
    KEY_HEADERS,
    KEY_QUERY_PARAMETERS,
    MATCH_ON,
    AtomicPersister,
    before_record_request,
    before_record_response,
    make_vcr,
    vcr_config,
)

__all__ = [
    "BODY_MATCHER", "KEY_HEADERS", "KEY_QUERY_PARAMETERS", "MATCH_ON", "PLACEHOLDER_KEY",
    "RECORD_MODES", "AtomicPersister", "CassetteMismatch", "LiveEmbedder", "NotRecorded", "RecordedEmbedder",
    "api_key_from_env", "before_record_request", "before_record_response", "body_matcher", "cassette_path",
    "describe_mismatch", "digest_media", "item_names", "make_vcr", "record_command", "recorded_embedder",
    "request_inputs", "safe_name", "show_path", "vcr_config",
]
