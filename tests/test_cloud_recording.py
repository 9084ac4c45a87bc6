"""Cloud backends through the plugin, one model family per case (Titan, Nova, Cohere on Bedrock;
Gemini on Vertex AI): recorded against its emulator with the SDK's own credential chain (SigV4
with a session token; a service account's OAuth token), replayed with no credentials and the
network blocked, a changed image named in the mismatch - and no SigV4 or OAuth header, no token
exchange, in any cassette."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from embedsim.recording import ALLOW_EMULATOR

pytest.importorskip("boto3")

import google.auth.transport.requests  # noqa: F401 - before any inner run: requests.packages aliases stay
from test_bedrock import AWS_VARIABLES, SECRET, TOKEN
from test_vendor_neutral import EXPERIMENT
from test_vertex import GOOGLE_VARIABLES, service_account

from embedsim.testing.bedrock import BedrockEmulator
from embedsim.testing.vertex import VertexEmulator

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
#: Headers that must never reach a cassette (SigV4's and OAuth's), lower case.
SIGNING_HEADERS = ("authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256",
                   "x-goog-api-key", "x-goog-user-project")


@dataclass(frozen=True)
class Family:
    model: str
    #: Starts the emulator and sets the environment that records through it; yields the emulator.
    record: Callable[[pytest.MonkeyPatch, Path], Iterator[object]]
    #: Secrets the recording environment held.
    secrets: Callable[[object, Path], list[str]]
    #: The variable the record command names.
    key_name: str
    #: The replay's configuration (another region / project / location, no credentials).
    replay_env: dict[str, str]


@contextmanager
def _bedrock(env: pytest.MonkeyPatch, _root: Path) -> Iterator[object]:
    with BedrockEmulator() as server:
        env.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", server.base_url)
        env.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        env.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        env.setenv("AWS_SESSION_TOKEN", TOKEN)
        env.setenv("AWS_REGION", "eu-west-1")  # region A
        yield server


@contextmanager
def _vertex(env: pytest.MonkeyPatch, root: Path) -> Iterator[object]:
    with VertexEmulator() as server:
        env.setenv("GOOGLE_VERTEX_BASE_URL", server.base_url)
        env.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(service_account(root / "sa.json", server.token_uri)))
        env.setenv("GOOGLE_CLOUD_PROJECT", "embedsim-recorder")
        env.setenv("GOOGLE_CLOUD_LOCATION", "europe-west4")
        yield server


def _aws_secrets(_server: object, _root: Path) -> list[str]:
    # the access key id is an identifier, not a secret (botocore's DEBUG logs show it)
    return [SECRET, TOKEN]


def _google_secrets(server: object, root: Path) -> list[str]:
    account = json.loads((root / "sa.json").read_text())
    key_body = account["private_key"].splitlines()[1]  # a line of the PEM body
    return [*server.tokens_issued, key_body, str(root / "sa.json"), "ya29."]  # type: ignore[attr-defined]


BEDROCK_REPLAY = {"AWS_REGION": "us-west-2"}  # region B
FAMILIES = {
    "titan": Family("amazon.titan-embed-image-v1", _bedrock, _aws_secrets, "AWS_BEARER_TOKEN_BEDROCK", BEDROCK_REPLAY),
    "nova": Family("amazon.nova-2-multimodal-embeddings-v1:0", _bedrock, _aws_secrets, "AWS_BEARER_TOKEN_BEDROCK",
                   BEDROCK_REPLAY),
    "cohere": Family("cohere.embed-v4:0", _bedrock, _aws_secrets, "AWS_BEARER_TOKEN_BEDROCK", BEDROCK_REPLAY),
    "vertex": Family("vertex:gemini-embedding-2", _vertex, _google_secrets, "GOOGLE_APPLICATION_CREDENTIALS",
                     {"GOOGLE_CLOUD_PROJECT": "another-project", "GOOGLE_CLOUD_LOCATION": "us-central1"}),
}


def cloud_environment(env: pytest.MonkeyPatch, root: Path) -> None:
    """No cloud setting from the machine: no AWS or Google variable, empty AWS and gcloud config."""
    for name in (*AWS_VARIABLES, *GOOGLE_VARIABLES, ALLOW_EMULATOR, "GEMINI_API_KEY", "GOOGLE_API_KEY",
                 "GOOGLE_GENAI_USE_VERTEXAI"):
        env.delenv(name, raising=False)
    env.setenv("AWS_CONFIG_FILE", str(root / "aws-config"))
    env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(root / "aws-credentials"))
    env.setenv("AWS_EC2_METADATA_DISABLED", "true")
    env.setenv("CLOUDSDK_CONFIG", str(root / "gcloud"))


@pytest.fixture
def cloud(pytester: pytest.Pytester, clean_env: pytest.MonkeyPatch, tmp_path: Path,
          outside_xdist: None) -> pytest.MonkeyPatch:
    """No cloud setting from the machine (:func:`cloud_environment`)."""
    cloud_environment(clean_env, tmp_path)
    return clean_env


def _files(root: Path, pattern: str) -> list[Path]:
    return sorted(p for p in root.rglob(pattern) if p.is_file())


def _leaks(root: Path, output: str, secrets: list[str]) -> list[str]:
    found = [f"output: {s[:12]}..." for s in secrets if s in output]
    for path in (*_files(root / "cassettes", "*"), *_files(root / "report", "*")):
        data = path.read_bytes()
        found += [f"{path.relative_to(root)}: {s[:12]}..." for s in secrets if s.encode() in data]
    return found


@pytest.mark.parametrize("family", list(FAMILIES))
def test_a_cloud_family_records_with_its_chain_and_replays_offline_without_credentials(
        family: str, pytester: pytest.Pytester, cloud: pytest.MonkeyPatch, tmp_path: Path) -> None:
    spec = FAMILIES[family]
    pytester.makeini(f"[pytest]\nembedsim_models = {spec.model}\nembedsim_report = report\n")
    pytester.makepyfile(test_cloud=EXPERIMENT)
    (pytester.path / "shades.json").write_text(json.dumps({"red": 200, "dark": 40}))

    with cloud.context() as env, spec.record(env, tmp_path) as server:
        env.setenv(ALLOW_EMULATOR, "1")
        result = pytester.runpytest("--record-mode=once", "--block-network")
        result.assert_outcomes(passed=1)
        assert server.embed_calls  # type: ignore[attr-defined]  # recorded from the emulator
        secrets = spec.secrets(server, tmp_path)
    recorded = (pytester.path / "vectors.json").read_text()
    (cassette,) = _files(pytester.path / "cassettes", "*.yaml")
    text = cassette.read_text(encoding="utf-8")
    lowered = text.lower()
    for header in SIGNING_HEADERS:
        assert f"{header}:" not in lowered, header  # SigV4 / OAuth headers filtered
    assert "bearer" not in lowered and "/token" not in text and "access_token" not in text  # no token exchange
    assert "sha256:" in text and "iVBOR" not in text
    assert _leaks(pytester.path, result.stdout.str() + result.stderr.str(), secrets) == []

    # CI: no credentials, no emulator, the network blocked, another region / project configured
    for name, value in spec.replay_env.items():
        cloud.setenv(name, value)
    (pytester.path / "vectors.json").unlink()
    replay = pytester.runpytest("--block-network")
    replay.assert_outcomes(passed=1)
    assert (pytester.path / "vectors.json").read_text() == recorded

    # a changed image: the mismatch names it and the record command names the credentials
    (pytester.path / "shades.json").write_text(json.dumps({"red": 201, "dark": 40}))
    changed = pytester.runpytest("--block-network")
    changed.assert_outcomes(failed=1)
    changed.stdout.fnmatch_lines([
        "E*CassetteMismatch: the cassette cassettes/*/test_cloud/test_swatches.yaml does not match this test's*",
        "E*items whose content changed:",
        "E*- image 'red': *sha256:* now, *sha256:* in the cassette",
        f"E*re-record it with: {spec.key_name}=... pytest 'test_cloud.py::test_swatches[[]*[]]' --record-mode=rewrite*",
    ])


@pytest.mark.parametrize("family", ["titan", "vertex"])
def test_a_cloud_model_records_with_its_chain_and_names_its_variables_when_there_is_none(
        family: str, pytester: pytest.Pytester, cloud: pytest.MonkeyPatch) -> None:
    """No API key and no chain: the test is skipped naming the key and the chain's variables."""
    spec = FAMILIES[family]
    pytester.makeini(f"[pytest]\nembedsim_models = {spec.model}\n")
    pytester.makepyfile(test_cloud=EXPERIMENT)
    (pytester.path / "shades.json").write_text(json.dumps({"red": 200, "dark": 40}))
    result = pytester.runpytest("--record-mode=once", "-rs", "-vv")  # -vv: each skip its whole reason
    result.assert_outcomes(skipped=1)
    from embedsim.recording import key_names

    names = " or ".join(key_names(spec.model))
    assert spec.key_name in names and ("AWS_PROFILE" in names or family == "vertex")
    result.stdout.fnmatch_lines([f"*no {names} to record it*"])


def test_recording_a_bedrock_model_from_the_emulator_is_refused_naming_its_endpoint_variables(
        pytester: pytest.Pytester, cloud: pytest.MonkeyPatch, tmp_path: Path) -> None:
    spec = FAMILIES["titan"]
    pytester.makeini(f"[pytest]\nembedsim_models = {spec.model}\n")
    pytester.makepyfile(test_cloud=EXPERIMENT)
    (pytester.path / "shades.json").write_text(json.dumps({"red": 200, "dark": 40}))
    with cloud.context() as env, spec.record(env, tmp_path):
        result = pytester.runpytest("--record-mode=once")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*EmulatorAnswer*unset AWS_ENDPOINT_URL_BEDROCK_RUNTIME or AWS_ENDPOINT_URL*"])
    assert _files(pytester.path / "cassettes", "*.yaml") == []


def test_disable_recording_calls_a_cloud_model_live_with_its_chain(pytester: pytest.Pytester,
                                                                   cloud: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``--disable-recording`` needs credentials, not an API key: boto3's chain will do."""
    spec = FAMILIES["titan"]
    pytester.makeini(f"[pytest]\nembedsim_models = {spec.model}\n")
    pytester.makepyfile(test_cloud=EXPERIMENT)
    (pytester.path / "shades.json").write_text(json.dumps({"red": 200, "dark": 40}))
    with cloud.context() as env, spec.record(env, tmp_path) as server:
        pytester.runpytest("--disable-recording").assert_outcomes(passed=1)
        assert len(server.embed_calls) == 4  # type: ignore[attr-defined]
    assert _files(pytester.path, "*.yaml") == []
