"""The Gemini backend's facts (:data:`SPEC`), model families, limits and errors - cheap to import.

The embedder itself (:class:`~embedsim.backends.gemini.embedder.GeminiEmbedder`, built on
google-genai) lives in :mod:`embedsim.backends.gemini.embedder`, imported when a model is made.
"""

from __future__ import annotations

import re

from embedsim.backends.base import DEFAULT_DIMENSION, MODALITIES, BackendSpec, Wire
from embedsim.errors import BackendError, InputError

#: The Gemini Developer API's host; answers from any other host are not the vendor's.
OFFICIAL_HOST = "generativelanguage.googleapis.com"
#: The service rejects more than this many requests in one ``batchEmbedContents`` call.
MAX_BATCH_REQUESTS = 100
#: ... and more than this many images in one content.
MAX_IMAGES_PER_CONTENT = 6
MIN_DIMENSION, MAX_DIMENSION = 128, 3072
#: Inline data limit of one request (base64 payload); larger media need the Files API.
MAX_REQUEST_BYTES = 20 * 1024 * 1024
#: Input token limits per item; checked before sending with :func:`embedsim.inputs.items.estimate_tokens`.
MAX_TEXT_TOKENS = 8192
MAX_TEXT_TOKENS_001 = 2048
#: The API version asked for unless set (``--embedsim-api-version``, CLI ``--api-version``): the one
#: Google's REST examples for the embedding models use. google-genai 3.x would send ``v1``.
DEFAULT_API_VERSION = "v1beta"
#: Seconds one attempt may take unless set (``--embedsim-timeout``, CLI ``--timeout``); the SDK's
#: retries then apply to a timeout as to any transient error.
DEFAULT_TIMEOUT = 60.0
#: Text-only model families (everything else matching ``gemini-embedding.*`` is multimodal).
TEXT_ONLY_PATTERN = r"gemini-embedding-(001|exp).*"
#: The MIME types the service takes, and the item kind of each.
MIME_TYPES: dict[str, str] = {
    "text/plain": "text",
    "image/png": "image",
    "image/jpeg": "image",
    "audio/mp3": "audio",
    "audio/mpeg": "audio",
    "audio/wav": "audio",
    "audio/x-wav": "audio",
    "video/mp4": "video",
    "video/quicktime": "video",
    "video/mov": "video",
    "application/pdf": "pdf",
}

#: The shape of a Google API key (redacted wherever it appears).
GOOGLE_API_KEY_PATTERN = r"AIza[0-9A-Za-z_\-]{20,}"

#: Where a request states the output size and the task (top level, or in ``embedContentConfig``).
DIMENSION_PATHS = ("**.outputDimensionality", "**.output_dimensionality")
TASK_PATHS = ("**.taskType", "**.task_type")

#: How the Gemini Developer API's calls look on the wire (read by :mod:`embedsim.recording`).
WIRE = Wire(
    official_hosts=(re.escape(OFFICIAL_HOST),),
    credential_headers=("x-goog-api-key", "authorization"),
    credential_params=("key",),
    credential_patterns=(GOOGLE_API_KEY_PATTERN,),
    media_paths=("**.inline_data.data", "**.inlineData.data"),
    dimension_paths=DIMENSION_PATHS,
    task_paths=TASK_PATHS,
    # POST {base url}/{version}/models/{model}:batchEmbedContents (batch mode: :asyncBatchEmbedContent, then
    # GET {version}/batches/{id}); a gateway's prefix before it is ignored
    call_path=r"/(?P<version>v\d+\w*)/(?P<call>models/[^/]+:\w+|batches/[^/:]+)$",
    base_url_env=("GOOGLE_GEMINI_BASE_URL",),
    default_api_version=DEFAULT_API_VERSION,
    default_timeout=DEFAULT_TIMEOUT,
)

SPEC = BackendSpec(
    name="gemini",
    model_ids=("gemini-embedding-2-preview", "gemini-embedding-2", "gemini-embedding-001"),
    id_pattern=r"gemini-embedding.*",
    modalities=MODALITIES,
    model_modalities=((TEXT_ONLY_PATTERN, frozenset({"text"})),),
    local=False,
    key_env=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    dimensions=(MIN_DIMENSION, MAX_DIMENSION),
    default_dimension=DEFAULT_DIMENSION,
    grouping=(f"one Content (one part) per item; at most {MAX_BATCH_REQUESTS} contents and "
              f"{MAX_REQUEST_BYTES // (1024 * 1024)} MB per :batchEmbedContents call"),
    factory="embedsim.backends.gemini.embedder:GeminiEmbedder",
    wire=WIRE,
    text_limits=((TEXT_ONLY_PATTERN, MAX_TEXT_TOKENS_001), (r".*", MAX_TEXT_TOKENS)),
    batch="the Gemini Batch API (google-genai batches.create_embeddings, experimental; Gemini Developer API only)",
)

#: ``task_type`` values of ``gemini-embedding-001`` and the matching embedding-2 prefix task.
TASKS = {
    "SEMANTIC_SIMILARITY": "sentence similarity",
    "CLASSIFICATION": "classification",
    "CLUSTERING": "clustering",
    "RETRIEVAL_QUERY": "search result",
    "RETRIEVAL_DOCUMENT": "search result",
    "QUESTION_ANSWERING": "question answering",
    "FACT_VERIFICATION": "fact checking",
    "CODE_RETRIEVAL_QUERY": "code retrieval",
}
TASK_TYPES = {prefix: task_type for task_type, prefix in reversed(list(TASKS.items()))}


def is_multimodal(model_id: str) -> bool:
    """True for the multimodal Gemini family (embedding-2: no ``taskType``, the grouping
    trap applies); False for the text-only ones (001, exp) and any other name. The one
    model-family test of the project: the embedder and the emulator both use it."""
    name = model_id.rsplit("/", 1)[-1]
    return SPEC.matches(name) and SPEC.accepts(name, "image")


def check_task(model_id: str, task: str | None) -> None:
    """Refuse a task that looks like a ``task_type`` name but is none (a typo would
    otherwise go into embedding-2's text prefix unnoticed)."""
    if task is not None and re.fullmatch(r"[A-Z_]+", task.strip()) and task.strip() not in TASKS:
        raise InputError(f"{model_id}: unknown task {task!r}; use one of {sorted(TASKS)} or a prefix task "
                         "such as 'sentence similarity'")


class MissingKeyError(BackendError):
    """No API key: nothing to authenticate with."""


class GeminiAPIError(BackendError):
    """The service answered an error: ``code`` (HTTP), ``status``, ``message``, ``labels``."""

    def __init__(self, text: str, code: int | None, status: str | None, message: str, labels: list[str]) -> None:
        super().__init__(text)
        self.code, self.status, self.message, self.labels = code, status, message, labels

