"""The Voyage backend's facts (:data:`SPEC`) - cheap to import; the embedder (on the ``voyageai``
SDK, the ``[voyage]`` extra) is :mod:`embedsim.backends.voyage.embedder`.

Request shape confirmed in voyageai 0.5.0: ``Client.multimodal_embed`` (``client.py``) posts
``MultimodalInputRequest.from_user_inputs(...).model_dump()`` (``object/multimodal_embeddings.py``;
dict inputs are validated and sent as they are) plus ``encoding_format="base64"``
(``api_resources/embedding.py``) to ``{base_url}/multimodalembeddings``
(``api_resources/api_resource.py``), with ``Authorization: Bearer <key>`` and ``Content-Type``
only (``api_requestor.py`` drops every other header); the base URL defaults to
``https://api.voyageai.com/v1`` (``https://ai.mongodb.com/v1`` for ``al-`` keys, ``util.py``).
"""

from __future__ import annotations

from embedsim.backends.base import BackendSpec, Wire
from embedsim.backends.remote import Limits

OFFICIAL_HOST = "api.voyageai.com"
DEFAULT_BASE_URL = f"https://{OFFICIAL_HOST}/v1"
#: Output sizes per model: 3.5 offers four, multimodal-3 its fixed 1024 [docs].
DIMENSIONS = {"voyage-multimodal-3.5": (256, 512, 1024, 2048)}
FIXED_DIMENSION = 1024
DEFAULT_DIMENSION = 1024
#: Per call: 1,000 inputs and 320k tokens; images up to 16 M pixels and 20 MB [docs].
LIMITS = Limits(items=1000, tokens=320_000, image_bytes=20 * 1000 * 1000,
                image_types=frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"}))
#: The context length of the multimodal models [docs] (32k tokens).
MAX_TEXT_TOKENS = 32_000

SPEC = BackendSpec(
    name="voyage",
    model_ids=("voyage-multimodal-3.5", "voyage-multimodal-3"),
    id_pattern=r"voyage-multimodal-.*",
    modalities=frozenset({"text", "image"}),
    local=False,
    key_env=("VOYAGE_API_KEY",),
    dimensions=(256, 2048),
    default_dimension=DEFAULT_DIMENSION,
    grouping=f"one input (one content segment) per item; at most {LIMITS.items} inputs and "
             f"{LIMITS.tokens:,} tokens per multimodalembeddings call",
    factory="embedsim.backends.voyage.embedder:VoyageEmbedder",
    wire=Wire(
        official_hosts=(r"api\.voyageai\.com", r"ai\.mongodb\.com"),
        credential_headers=("authorization",),
        credential_patterns=(r"\bpa-[A-Za-z0-9_\-]{16,}",),  # a Voyage key's shape
        media_paths=("inputs[].content[].image_base64",),
        dimension_paths=("output_dimension",),
        task_paths=("input_type",),
        call_path=r"(?P<call>multimodalembeddings)$",
        base_url_env=("VOYAGE_BASE_URL",),
        default_api_version=None,
        default_timeout=60.0,
    ),
    text_limits=((r"voyage-multimodal-.*", MAX_TEXT_TOKENS),),
)
