"""The Vertex AI backend (``vertex:`` ids: the Gemini embedder with a google-genai ``vertexai=True``
client) against the loopback Vertex emulator (a test tool: its vectors are never Google's)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from embedsim.backends import get_embedder, resolve
from embedsim.backends.gemini import SPEC as GEMINI
from embedsim.backends.gemini import GeminiAPIError, MissingKeyError
from embedsim.backends.gemini.vertex import SPEC, credentials_found
from embedsim.inputs.items import item_from_bytes, text_item
from embedsim.testing.gemini import GeminiEmulator
from embedsim.testing.vertex import VertexEmulator

MODEL = "vertex:gemini-embedding-2"
GOOGLE_VARIABLES = ("GOOGLE_VERTEX_BASE_URL", "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION",
                    "GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG", "GCE_METADATA_HOST", "K_SERVICE")


def png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (30, 140, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


IMAGE = item_from_bytes(png(), "green")
WORD = text_item("a green square", "word")


def service_account(path: Path, token_uri: str) -> Path:
    """A service-account JSON with a fresh RSA key whose ``token_uri`` is the emulator's (loopback)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "embedsim-test", "private_key_id": "0123456789abcdef",
        "private_key": pem, "client_email": "embedsim@embedsim-test.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": token_uri}))
    return path


@pytest.fixture
def google(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in GOOGLE_VARIABLES:
        clean_env.delenv(name, raising=False)
    clean_env.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))  # no gcloud ADC of the machine
    return clean_env


@pytest.fixture
def vertex(google: pytest.MonkeyPatch) -> Iterator[VertexEmulator]:
    with VertexEmulator() as server:
        google.setenv("GOOGLE_VERTEX_BASE_URL", server.base_url)
        yield server


def test_vertex_ids_are_their_own_backend() -> None:
    assert resolve(MODEL) is SPEC and resolve("vertex:gemini-embedding-001") is SPEC
    assert resolve("gemini-embedding-2") is GEMINI  # the Developer API's ids never go to Vertex
    assert not SPEC.accepts("vertex:gemini-embedding-001", "image") and SPEC.accepts(MODEL, "video")
    assert SPEC.wire.default_api_version == "v1beta1" and SPEC.wire.base_url_env == ("GOOGLE_VERTEX_BASE_URL",)
    assert "authorization" in SPEC.wire.credential_headers


def test_use_vertexai_does_not_move_a_gemini_id_to_vertex(emulator: GeminiEmulator, google: pytest.MonkeyPatch) -> None:
    google.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    get_embedder("gemini-embedding-2", 128, api_key="k", base_url=emulator.base_url).embed([WORD])
    assert [c.path for c in emulator.embed_calls] == ["/v1beta/models/gemini-embedding-2:batchEmbedContents"]


def test_project_and_location_with_oauth_credentials(vertex: VertexEmulator, google: pytest.MonkeyPatch) -> None:
    from google.oauth2.credentials import Credentials

    google.setenv("GOOGLE_CLOUD_PROJECT", "my-project")
    google.setenv("GOOGLE_CLOUD_LOCATION", "europe-west4")
    token = Credentials(token="ya29.a0-test-token-0123456789")
    embedder = get_embedder(MODEL, 128, credentials=token)
    vectors = embedder.embed([WORD, IMAGE])
    (call,) = vertex.embed_calls
    assert call.path == ("/v1beta1/projects/my-project/locations/europe-west4/publishers/google/models/"
                         "gemini-embedding-2:batchEmbedContents")
    assert call.headers["authorization"] == "Bearer ya29.a0-test-token-0123456789"
    assert call.body["requests"][0] == {"content": {"parts": [{"text": "a green square"}]},
                                        "embedContentConfig": {"outputDimensionality": 128}}
    assert set(call.body["requests"][1]["content"]["parts"][0]) == {"inlineData"}  # camelCase, as the SDK sends
    assert vectors.shape == (2, 128) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert embedder.endpoint.endswith("/v1beta1/projects/my-project/locations/europe-west4")


def test_with_a_gemini_key_set_a_vertex_id_says_once_which_credentials_it_uses(
        vertex: VertexEmulator, google: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """For Vertex AI: with GEMINI_API_KEY and GOOGLE_API_KEY set beside a project's
    credentials, the SDK said "Using GOOGLE_API_KEY." while neither key is sent; embedsim says, once,
    that the Vertex AI credentials are used."""
    import warnings

    from google.oauth2.credentials import Credentials

    from embedsim.backends.gemini import embedder as module

    google.setattr(module, "_SAID", {}, raising=False)  # a fresh process
    google.setenv("GOOGLE_CLOUD_PROJECT", "my-project")
    google.setenv("GEMINI_API_KEY", "gemini-key-0123456789")
    google.setenv("GOOGLE_API_KEY", "google-key-0123456789")
    token = Credentials(token="ya29.a0-test-token-0123456789")
    with warnings.catch_warnings(record=True) as said, caplog.at_level(logging.INFO):
        warnings.simplefilter("always")
        get_embedder(MODEL, 128, credentials=token).embed([WORD])
        get_embedder(MODEL, 128, credentials=token).embed([WORD])
    assert [str(w.message) for w in said if "KEY" in str(w.message)] == [
        "GEMINI_API_KEY and GOOGLE_API_KEY are set: embedsim's vertex: ids use the Vertex AI credentials of "
        "project my-project, not that key (it is for the gemini-* ids)"]
    assert "Using GOOGLE_API_KEY" not in caplog.text  # the SDK's notice, wrong here, is not shown
    assert [c.headers.get("x-goog-api-key") for c in vertex.embed_calls] == [None, None]
    assert all(c.headers["authorization"].startswith("Bearer ya29.") for c in vertex.embed_calls)


def test_one_item_goes_to_embed_content_and_batch_size_one_sends_each_alone(vertex: VertexEmulator) -> None:
    get_embedder(MODEL, 128, api_key="express-key-0123456789", batch_size=1).embed([WORD, IMAGE])
    paths = [c.path for c in vertex.embed_calls]
    assert paths == ["/v1beta1/publishers/google/models/gemini-embedding-2:embedContent"] * 2  # express mode
    assert all(c.headers["x-goog-api-key"] == "express-key-0123456789" for c in vertex.embed_calls)


def test_a_service_account_file_gets_its_token_from_the_token_uri(vertex: VertexEmulator, google: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    path = service_account(tmp_path / "sa.json", vertex.token_uri)
    google.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    google.setenv("GOOGLE_CLOUD_PROJECT", "embedsim-test")
    assert credentials_found({"GOOGLE_APPLICATION_CREDENTIALS": str(path)}) is not None
    get_embedder(MODEL, 128).embed([WORD])
    (call,) = vertex.embed_calls
    assert vertex.tokens_issued and call.headers["authorization"] == f"Bearer {vertex.tokens_issued[0]}"
    assert "/projects/embedsim-test/locations/global/" in call.path


def test_expired_credentials_and_retried_errors(vertex: VertexEmulator) -> None:
    vertex.inject("429", times=1)
    get_embedder(MODEL, 128, api_key="express-key-0123456789", initial_delay=0.01, max_delay=0.02).embed([WORD])
    assert len(vertex.embed_calls) == 2
    vertex.reset()
    vertex.inject("expired", times=None)
    with pytest.raises(GeminiAPIError, match="HTTP 401 UNAUTHENTICATED.*OAuth 2 access token") as caught:
        get_embedder(MODEL, 128, api_key="express-key-0123456789", initial_delay=0.01).embed([WORD])
    assert "express-key-0123456789" not in str(caught.value) and len(vertex.embed_calls) == 1


def test_no_project_and_no_key_is_a_clear_error(vertex: VertexEmulator) -> None:
    with pytest.raises(MissingKeyError, match="GOOGLE_CLOUD_PROJECT.*Application Default Credentials"):
        get_embedder(MODEL, 128)
    assert vertex.requests == []


def test_credentials_are_found_without_the_network(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path), "CLOUDSDK_CONFIG": str(tmp_path / "gcloud")}
    assert credentials_found(home) is None and SPEC.credentials_found(home) is None
    assert credentials_found({**home, "GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "missing.json")}) is None
    (tmp_path / "gcloud").mkdir()
    (tmp_path / "gcloud" / "application_default_credentials.json").write_text("{}")
    assert credentials_found(home) == "gcloud application-default credentials"
    express = {"GOOGLE_GENAI_USE_VERTEXAI": "true", "GOOGLE_API_KEY": "AIzaSyExample"}
    assert "express" in str(credentials_found({"HOME": str(tmp_path / "none"), **express}))


def test_token_exchanges_are_declared_never_to_be_recorded(vertex: VertexEmulator) -> None:
    import re

    from embedsim.backends.bedrock import WIRE as BEDROCK

    for url in (vertex.token_uri, "https://oauth2.googleapis.com/token", "http://metadata.google.internal/x"):
        assert any(re.fullmatch(p, url) for p in SPEC.wire.credential_urls), url
    assert not any(re.fullmatch(p, f"{vertex.base_url}/v1beta1/publishers/google/models/m:embedContent")
                   for p in SPEC.wire.credential_urls)
    for url in ("https://sts.us-east-1.amazonaws.com/", "http://169.254.169.254/latest/api/token"):
        assert any(re.fullmatch(p, url) for p in BEDROCK.credential_urls), url
