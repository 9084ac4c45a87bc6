"""The Vertex AI backend's facts (:data:`SPEC`) - Google's Gemini embedding models served by Vertex
AI under a project and a location, with OAuth credentials - cheap to import.

Ids are ``vertex:<model>`` (``vertex:gemini-embedding-2``): the same models as the Gemini
Developer API's ``gemini-*`` ids but another service, so their recordings live in their own
cassette folders and the report can compare the two. The embedder
(:class:`~embedsim.backends.gemini.vertex.embedder.VertexEmbedder`) is the Gemini embedder with a Vertex
client (google-genai ``vertexai=True``): the same payload rules, batching, retries and errors.

What google-genai 3.6.1 sends (``google/genai/models.py`` ``Models.embed_content`` /
``_embed_content`` / ``_EmbedContentParametersPrivate_to_vertex``; ``_api_client.py``):
``POST {base}/v1beta1/projects/{P}/locations/{L}/publishers/google/models/{model}:batchEmbedContents``
with ``{"requests": [{"content": {"parts": [{"inlineData": {"data", "mimeType"}} | {"text"}]},
"embedContentConfig": {"outputDimensionality": N}}]}`` for several contents, ``:embedContent`` with
``{"content": ..., "embedContentConfig": ...}`` for one; the answer ``{"embeddings": [{"values"}]}`` /
``{"embedding": {"values"}}``. Credentials: ``Authorization: Bearer <OAuth token>`` from
Application Default Credentials or a service account; an express-mode API key goes in
``x-goog-api-key`` and drops ``projects/{P}/locations/{L}/`` from the path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from embedsim.backends.base import DEFAULT_DIMENSION, MODALITIES, BackendSpec, Wire
from embedsim.backends.gemini import (
    DIMENSION_PATHS,
    GOOGLE_API_KEY_PATTERN,
    MAX_BATCH_REQUESTS,
    MAX_DIMENSION,
    MAX_TEXT_TOKENS,
    MAX_TEXT_TOKENS_001,
    MIN_DIMENSION,
    TASK_PATHS,
)

PREFIX = "vertex:"
#: The API version google-genai uses on Vertex unless told otherwise (``_api_client.py``).
DEFAULT_API_VERSION = "v1beta1"
#: Where a replay points the SDK when no location / project is configured (nothing is sent there).
REPLAY_PROJECT, REPLAY_LOCATION = "embedsim-replay", "us-central1"

WIRE = Wire(
    official_hosts=(r"aiplatform\.googleapis\.com", r"[a-z0-9-]+-aiplatform\.googleapis\.com",
                    r"aiplatform\.[a-z0-9-]+\.rep\.googleapis\.com"),
    # the OAuth bearer (or express key); the quota project names the account
    credential_headers=("authorization", "x-goog-api-key", "x-goog-user-project"),
    credential_params=("key", "access_token"),
    # an express-mode key, a Google OAuth access token
    credential_patterns=(GOOGLE_API_KEY_PATTERN, r"\bya29\.[0-9A-Za-z_\-.]{8,}"),
    media_paths=("requests[].content.parts[].inlineData.data", "content.parts[].inlineData.data"),
    dimension_paths=DIMENSION_PATHS,
    task_paths=TASK_PATHS,
    # the model and the method; the API version (recorded), project and location are not compared
    call_path=r"/(?P<version>v\d+\w*)/(?:projects/[^/]+/locations/[^/]+/)?(?P<call>publishers/google/models/[^/]+:\w+)$",
    # google-auth refreshing an access token while a call is recorded (service account, ADC, STS for
    # workload identity, impersonation, the metadata server): answers holding tokens
    credential_urls=(r"https?://[^/]+/token", r"https://oauth2\.googleapis\.com/.*",
                     r"https://sts\.googleapis\.com/.*", r"https://iamcredentials\.googleapis\.com/.*",
                     r"http://(?:metadata\.google\.internal|169\.254\.169\.254)/.*"),
    base_url_env=("GOOGLE_VERTEX_BASE_URL",),
    default_api_version=DEFAULT_API_VERSION,
    default_timeout=60.0,
)

#: Variables that name Google Cloud credentials (messages and record commands).
CREDENTIAL_ENV = ("GOOGLE_APPLICATION_CREDENTIALS",)
TEXT_ONLY_PATTERN = r"vertex:gemini-embedding-(001|exp).*"

SPEC = BackendSpec(
    name="vertex",
    model_ids=("vertex:gemini-embedding-2", "vertex:gemini-embedding-001"),
    id_pattern=r"vertex:gemini-embedding[a-z0-9.-]*",
    modalities=MODALITIES,
    model_modalities=((TEXT_ONLY_PATTERN, frozenset({"text"})),),
    local=False,
    key_env=(),
    dimensions=(MIN_DIMENSION, MAX_DIMENSION),
    default_dimension=DEFAULT_DIMENSION,
    grouping=(f"one Content per item; several go to :batchEmbedContents (at most {MAX_BATCH_REQUESTS}), "
              "one to :embedContent (batch_size=1 sends every item alone)"),
    factory="embedsim.backends.gemini.vertex.embedder:VertexEmbedder",
    wire=WIRE,
    text_limits=((TEXT_ONLY_PATTERN, MAX_TEXT_TOKENS_001), (r".*", MAX_TEXT_TOKENS)),
    credentials="embedsim.backends.gemini.vertex:credentials_found",
    credential_env=CREDENTIAL_ENV,
)


def sdk_model(model_id: str) -> str:
    """``gemini-embedding-2`` for ``vertex:gemini-embedding-2``."""
    return model_id[len(PREFIX):] if model_id.startswith(PREFIX) else model_id


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


def credentials_found(environ: Mapping[str, str]) -> str | None:
    """Where google-auth / google-genai would find Vertex credentials, from the environment and
    files only (no network, no metadata-server probe): a service-account or ADC file
    (``GOOGLE_APPLICATION_CREDENTIALS``), gcloud's application-default credentials, an express-mode
    key (``GOOGLE_API_KEY`` with ``GOOGLE_GENAI_USE_VERTEXAI=true``), or a metadata server announced
    by ``GCE_METADATA_HOST`` / Cloud Run's ``K_SERVICE``. Never returns a secret."""
    path = environ.get("GOOGLE_APPLICATION_CREDENTIALS", "").strip()
    if path and Path(path).is_file():
        return "the credentials file GOOGLE_APPLICATION_CREDENTIALS names"
    config = environ.get("CLOUDSDK_CONFIG", "").strip() or str(
        Path(environ.get("HOME") or os.path.expanduser("~")) / ".config" / "gcloud")
    if (Path(config) / "application_default_credentials.json").is_file():
        return "gcloud application-default credentials"
    if _true(environ.get("GOOGLE_GENAI_USE_VERTEXAI")) and environ.get("GOOGLE_API_KEY", "").strip():
        return "a Vertex AI express-mode key (GOOGLE_API_KEY)"
    if environ.get("GCE_METADATA_HOST", "").strip() or environ.get("K_SERVICE", "").strip():
        return "the metadata server"
    return None
