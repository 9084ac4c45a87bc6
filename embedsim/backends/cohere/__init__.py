"""The Cohere backend's facts (:data:`SPEC`) - cheap to import; the embedder (on the ``cohere``
SDK's ``ClientV2``, the ``[cohere]`` extra) is :mod:`embedsim.backends.cohere.embedder`.

Request shape confirmed in cohere 7.3.1: ``ClientV2.embed`` -> ``v2/raw_client.py`` posts
``{"texts", "images", "model", "input_type", "inputs", "max_tokens", "output_dimension",
"embedding_types", "truncate", "priority"}`` (omitted fields left out) to ``{base_url}/v2/embed``
(``core/http_client.py`` ``_build_url``), ``Authorization: Bearer <key>`` plus ``User-Agent:
cohere/7.3.1`` and ``X-Fern-*`` headers (``core/client_wrapper.py``); the answer's
``embeddings.float`` holds the vectors (``types/embed_by_type_response_embeddings.py``). The
default base URL is ``https://api.cohere.com`` (``environment.py``); ``CO_API_URL`` is read by
the SDK at *import* time (a default argument of ``ClientV2.__init__``), so embedsim reads it when
an embedder is made. Keys: ``CO_API_KEY`` (``COHERE_API_KEY`` accepted, ``client.py``).
"""

from __future__ import annotations

from embedsim.backends.base import BackendSpec, Wire
from embedsim.backends.remote import Limits

OFFICIAL_HOST = "api.cohere.com"
DEFAULT_BASE_URL = f"https://{OFFICIAL_HOST}"
#: ``output_dimension`` values of embed-v4.0 [docs, and the SDK docstring]; 1536 is its default.
DIMENSIONS = (256, 512, 1024, 1536)
DEFAULT_DIMENSION = 1536
#: 96 inputs per call; the images of one call at most 20 MB together (SDK docstring, ``v2/client.py``).
LIMITS = Limits(items=96, payload_bytes=20 * 1000 * 1000,
                image_types=frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"}))
#: The context length of embed-v4.0 [docs].
MAX_TEXT_TOKENS = 128_000

SPEC = BackendSpec(
    name="cohere",
    model_ids=("embed-v4.0",),
    id_pattern=r"embed-v\d+(\.\d+)*",
    modalities=frozenset({"text", "image"}),
    local=False,
    key_env=("CO_API_KEY", "COHERE_API_KEY"),
    dimensions=(min(DIMENSIONS), max(DIMENSIONS)),
    default_dimension=DEFAULT_DIMENSION,
    grouping=f"one input (one content part) per item; at most {LIMITS.items} inputs and 20 MB of images per "
             "v2/embed call",
    factory="embedsim.backends.cohere.embedder:CohereEmbedder",
    wire=Wire(
        official_hosts=(r"api\.cohere\.(com|ai)",),
        credential_headers=("authorization",),
        media_paths=("inputs[].content[].image_url.url",),
        dimension_paths=("output_dimension",),
        task_paths=("input_type",),
        call_path=r"(?P<call>v2/embed)$",
        base_url_env=("CO_API_URL",),
        default_api_version=None,
        default_timeout=60.0,
    ),
    text_limits=((r"embed-v4.*", MAX_TEXT_TOKENS),),
)
