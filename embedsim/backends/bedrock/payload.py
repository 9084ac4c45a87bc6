"""What the Bedrock embedder sends, decided before any call: the items refused, the JSON body of
one ``InvokeModel`` call per model family, how items are grouped into calls, and the vectors read
back from an answer. No boto3 import.

The bodies are the models' documented shapes (boto3 sends the ``body`` bytes as they are:
``InvokeModelRequest.body`` is a blob in ``botocore/data/bedrock-runtime/2023-09-30/service-2.json``):

* Titan Multimodal Embeddings G1: ``{"inputText" | "inputImage": <base64>, "embeddingConfig":
  {"outputEmbeddingLength": N}}`` -> ``{"embedding": [...]}``. A body with text AND image gives one
  averaged vector, so every item goes alone.
* Nova Multimodal Embeddings: ``{"schemaVersion": "nova-multimodal-embed-v1", "taskType":
  "SINGLE_EMBEDDING", "singleEmbeddingParams": {"embeddingPurpose", "embeddingDimension", "text":
  {"truncationMode": "NONE", "value"} | "image" | "audio" | "video": {"format", "source": {"bytes"}}}}``
  -> ``{"embeddings": [{"embeddingType", "embedding": [...]}]}``.
* Cohere Embed v4 on Bedrock: ``{"input_type", "inputs": [{"content": [{"type": "text", "text"} |
  {"type": "image_url", "image_url": "data:<mime>;base64,..."}]}], "embedding_types": ["float"],
  "output_dimension": N}`` (``image_url`` a plain string, not Cohere's ``{"url": ...}``) ->
  ``{"embeddings": {"float": [[...], ...]}}``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from embedsim.backends.bedrock import BedrockSpec
from embedsim.backends.packing import pack
from embedsim.errors import BackendError, InputError
from embedsim.inputs.items import BYTES_PER_TOKEN, Item, estimate_tokens

#: Nova's ``embeddingPurpose`` values; embedsim's task setting names one (default ``GENERIC_INDEX``).
NOVA_PURPOSES = ("GENERIC_INDEX", "GENERIC_RETRIEVAL", "TEXT_RETRIEVAL", "IMAGE_RETRIEVAL", "VIDEO_RETRIEVAL",
                 "DOCUMENT_RETRIEVAL", "AUDIO_RETRIEVAL", "CLASSIFICATION", "CLUSTERING")
#: Cohere's ``input_type`` values (default ``clustering``: symmetric, as a similarity matrix is).
COHERE_INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")
#: MIME types each family takes, and the ``format`` Nova names them by.
NOVA_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "image/webp": "webp",
                "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/wav": "wav", "audio/x-wav": "wav", "audio/ogg": "ogg",
                "video/mp4": "mp4", "video/quicktime": "mov", "video/webm": "webm", "video/x-matroska": "mkv"}
IMAGE_TYPES = ("image/png", "image/jpeg")


def check_task(spec: BedrockSpec, model_id: str, task: str | None) -> str | None:
    """The family's task value for ``task`` (Nova's ``embeddingPurpose``, Cohere's ``input_type``);
    Titan takes none. :class:`InputError` for a value the model does not know."""
    if task is None:
        return None
    name = task.strip()
    if spec.family == "nova" and name.upper() in NOVA_PURPOSES:
        return name.upper()
    if spec.family == "cohere" and name.lower() in COHERE_INPUT_TYPES:
        return name.lower()
    choices = {"nova": NOVA_PURPOSES, "cohere": COHERE_INPUT_TYPES}.get(spec.family)
    if not choices:
        raise InputError(f"{model_id}: Titan Multimodal Embeddings takes no task; leave task unset")
    raise InputError(f"{model_id}: unknown task {task!r}; use one of {', '.join(choices)}")


def check_item(spec: BedrockSpec, model_id: str, item: Item) -> None:
    """Refuse, before anything is sent, an item the model would refuse or truncate."""
    if not isinstance(item, Item):
        raise InputError(f"{model_id}: expected embedsim.inputs.items.Item, got {type(item).__name__}")
    where = f"{model_id}: item {item.describe()}"
    spec.check_items(model_id, [item])
    if item.kind == "text":
        text = item.data.decode("utf-8", errors="replace")
        if not text.strip():
            raise InputError(f"{where} is empty or whitespace only; give it some text")
        limit = next(limit for _pattern, limit in spec.text_limits)
        if (tokens := estimate_tokens(text)) > limit:
            raise InputError(f"{where} is about {tokens} tokens (estimated at {BYTES_PER_TOKEN} bytes per token), "
                             f"over the {limit}-token input limit of {model_id}; shorten or split it")
        return
    allowed = NOVA_FORMATS if spec.family == "nova" else IMAGE_TYPES
    if item.mime_type not in allowed:
        raise InputError(f"{where} has unsupported MIME type {item.mime_type!r}; {model_id} takes "
                         f"{', '.join(sorted(allowed))}")
    if len(item.data) > spec.max_media_bytes:
        raise InputError(f"{where} is {len(item.data) / 1e6:.1f} MB, over the "
                         f"{spec.max_media_bytes // (1024 * 1024)} MB limit of {model_id}; downscale or compress it")


def batches(spec: BedrockSpec, items: list[Item]) -> list[list[int]]:
    """Indices of ``items`` grouped into calls: one per call for Titan and Nova; for Cohere at most
    :attr:`BedrockSpec.max_items` items and :attr:`BedrockSpec.max_media_bytes` of media per call."""
    media = [0 if item.kind == "text" else len(item.data) for item in items]
    return pack(range(len(items)), spec.max_items, lambda i: (media[i],), (spec.max_media_bytes,))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def body(spec: BedrockSpec, batch: list[Item], dimension: int, task: str | None) -> bytes:
    """The JSON body of one ``InvokeModel`` call carrying ``batch``."""
    payload: dict[str, Any]
    if spec.family == "titan":
        (item,) = batch
        payload = {"inputText": item.data.decode("utf-8")} if item.kind == "text" else {"inputImage": _b64(item.data)}
        payload["embeddingConfig"] = {"outputEmbeddingLength": dimension}
    elif spec.family == "nova":
        (item,) = batch
        params: dict[str, Any] = {"embeddingPurpose": task or "GENERIC_INDEX", "embeddingDimension": dimension}
        if item.kind == "text":
            params["text"] = {"truncationMode": "NONE", "value": item.data.decode("utf-8")}
        else:
            params[item.kind] = {"format": NOVA_FORMATS[item.mime_type], "source": {"bytes": _b64(item.data)}}
        payload = {"schemaVersion": "nova-multimodal-embed-v1", "taskType": "SINGLE_EMBEDDING",
                   "singleEmbeddingParams": params}
    else:
        payload = {"input_type": task or "clustering", "embedding_types": ["float"], "output_dimension": dimension,
                   "inputs": [{"content": [_cohere_part(item)]} for item in batch]}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _cohere_part(item: Item) -> dict[str, str]:
    if item.kind == "text":
        return {"type": "text", "text": item.data.decode("utf-8")}
    return {"type": "image_url", "image_url": f"data:{item.mime_type};base64,{_b64(item.data)}"}


def vectors(spec: BedrockSpec, model_id: str, answer: bytes, count: int) -> list[list[float]]:
    """The ``count`` vectors of one answer, in order; :class:`BackendError` for an answer of another
    shape (never a guess)."""
    try:
        parsed = json.loads(answer)
        if spec.family == "titan":
            found = [parsed["embedding"]]
        elif spec.family == "nova":
            found = [e["embedding"] for e in parsed["embeddings"]]
        else:
            embeddings = parsed["embeddings"]
            found = embeddings["float"] if isinstance(embeddings, dict) else embeddings
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise BackendError(f"{model_id}: the answer is not an embedding response ({type(exc).__name__}: "
                           f"{str(exc)[:80]})") from None
    if not isinstance(found, list) or len(found) != count or not all(isinstance(v, list) for v in found):
        raise BackendError(f"{model_id}: asked for {count} vector(s), got "
                           f"{len(found) if isinstance(found, list) else 'none'}; refusing to guess which belongs to which")
    return found
