"""The OpenAI backend's facts (:data:`SPEC`) - cheap to import; the embedder (on the ``openai``
SDK, the ``[openai]`` extra) is :mod:`embedsim.backends.openai.embedder`. Text only: an image is
refused before any call (:class:`~embedsim.errors.NotApplicable`, the test is "not applicable").

(``embedsim.backends.openai`` does not shadow the ``openai`` package: every import is absolute.)

Request shape confirmed in openai 3.60.0: ``embeddings.create`` (``resources/embeddings.py``,
``lib/_parsing/_embeddings.py``) posts ``{"model", "input", "dimensions", "encoding_format"}`` -
``encoding_format`` ``"base64"`` unless given, the vectors decoded by the SDK - to
``{base_url}/embeddings``; the base URL is ``OPENAI_BASE_URL`` or ``https://api.openai.com/v1``
(``lib/_client_auth.py``); ``Authorization: Bearer <key>`` (``OPENAI_API_KEY``), optional
``OpenAI-Organization`` / ``OpenAI-Project``, and ``X-Stainless-*`` headers (``_base_client.py``);
HTTP through httpx2.
"""

from __future__ import annotations

from embedsim.backends.base import BackendSpec, Wire
from embedsim.backends.remote import Limits

OFFICIAL_HOST = "api.openai.com"
DEFAULT_BASE_URL = f"https://{OFFICIAL_HOST}/v1"
#: Largest output size per model (``dimensions`` may shorten text-embedding-3 vectors; ada-002 is fixed).
MAX_DIMENSIONS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072}
FIXED = {"text-embedding-ada-002": 1536}
DEFAULT_DIMENSION = 1536
#: Per call: 2,048 inputs and 300,000 tokens in all; 8,192 tokens per input (SDK docstring).
LIMITS = Limits(items=2048, tokens=300_000, image_types=frozenset())
MAX_TEXT_TOKENS = 8192

SPEC = BackendSpec(
    name="openai",
    model_ids=("text-embedding-3-small", "text-embedding-3-large"),
    id_pattern=r"text-embedding-.*",
    modalities=frozenset({"text"}),
    local=False,
    key_env=("OPENAI_API_KEY",),
    dimensions=(1, 3072),
    default_dimension=DEFAULT_DIMENSION,
    grouping=f"one input string per item; at most {LIMITS.items} inputs and {LIMITS.tokens:,} tokens per "
             "embeddings call",
    factory="embedsim.backends.openai.embedder:OpenAIEmbedder",
    wire=Wire(
        official_hosts=(r"api\.openai\.com", r"[a-z0-9-]+\.api\.openai\.com"),
        credential_headers=("authorization", "openai-organization", "openai-project"),
        credential_patterns=(r"\bsk-[A-Za-z0-9_\-]{16,}",),  # an OpenAI key's shape
        media_paths=(),
        dimension_paths=("dimensions",),
        call_path=r"(?P<call>embeddings)$",
        base_url_env=("OPENAI_BASE_URL",),
        default_api_version=None,
        default_timeout=60.0,
    ),
    text_limits=((r"text-embedding-.*", MAX_TEXT_TOKENS),),
)
