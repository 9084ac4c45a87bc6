"""The Jina backend's facts (:data:`SPEC`) - cheap to import; the embedder (over httpx2, which
google-genai already brings: no extra) is :mod:`embedsim.backends.jina.embedder`.

Jina has no official Python SDK, so the request shape is from Jina's API documentation [docs],
not confirmed in source: ``POST https://api.jina.ai/v1/embeddings``, ``Authorization: Bearer
<key>``, body ``{"model", "input": [{"text": ...} | {"image": "<URL or base64>"}], "dimensions",
"task"}``, answer ``{"data": [{"embedding", "index"}], "usage"}`` (OpenAI-style).
"""

from __future__ import annotations

from embedsim.backends.base import BackendSpec, Wire
from embedsim.backends.remote import Limits

OFFICIAL_HOST = "api.jina.ai"
DEFAULT_BASE_URL = f"https://{OFFICIAL_HOST}/v1"
#: Output sizes (Matryoshka) per model [docs]: v4 128..2048, clip-v2 64..1024.
DIMENSIONS = {"jina-embeddings-v4": (128, 2048), "jina-clip-v2": (64, 1024)}
DEFAULT_DIMENSION = 1024
#: Inputs per call (kept well inside the documented per-request limits) and image types [docs].
LIMITS = Limits(items=512, payload_bytes=20 * 1000 * 1000,
                image_types=frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"}))

SPEC = BackendSpec(
    name="jina",
    model_ids=("jina-embeddings-v4", "jina-clip-v2"),
    id_pattern=r"jina-(embeddings|clip)-v\d+.*",
    modalities=frozenset({"text", "image"}),
    model_modalities=((r"jina-embeddings-v[123]\b.*", frozenset({"text"})),),
    local=False,
    key_env=("JINA_API_KEY",),
    dimensions=(64, 2048),
    default_dimension=DEFAULT_DIMENSION,
    grouping=f"one input object per item; at most {LIMITS.items} inputs per embeddings call",
    factory="embedsim.backends.jina.embedder:JinaEmbedder",
    wire=Wire(
        official_hosts=(r"api\.jina\.ai",),
        credential_headers=("authorization",),
        credential_patterns=(r"\bjina_[A-Za-z0-9_\-]{16,}",),  # a Jina key's shape
        media_paths=("input[].image",),
        dimension_paths=("dimensions",),
        task_paths=("task",),
        call_path=r"(?P<call>embeddings)$",
        base_url_env=("JINA_BASE_URL",),
        default_api_version=None,
        default_timeout=60.0,
    ),
    text_limits=((r"jina-clip-v2", 8192), (r"jina-embeddings-v4.*", 32_768)),
)
