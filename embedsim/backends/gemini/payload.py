"""What the Gemini embedder sends, decided before any call: the items it refuses, the text
of a text item (embedding-2's ``task: ... | query: ...`` prefix), the SDK ``task_type``
(``gemini-embedding-001``) and how the items are grouped into calls. No SDK import."""

from __future__ import annotations

import math

from embedsim.backends.gemini import MAX_REQUEST_BYTES, MIME_TYPES, SPEC, TASK_TYPES, TASKS
from embedsim.backends.packing import pack
from embedsim.errors import InputError
from embedsim.inputs.items import BYTES_PER_TOKEN, Item, estimate_tokens

SUPPORTED_MIME_TYPES = frozenset(MIME_TYPES)


def payload_bytes(item: Item) -> int:
    """Bytes an item adds to a request body (base64 for media)."""
    return len(item.data) if item.kind == "text" else 4 * math.ceil(len(item.data) / 3)


def task_type(model_id: str, task: str | None, multimodal: bool) -> str | None:
    """The SDK ``task_type`` for non-multimodal models; ``None`` for embedding-2."""
    if task is None or multimodal:
        return None
    name = task.strip()
    found = name.upper() if name.upper() in TASKS else TASK_TYPES.get(name.lower())
    if found is None:
        raise InputError(f"{model_id}: unknown task {task!r}; use one of {sorted(TASKS)}")
    return found


def text_of(item: Item, task: str | None, multimodal: bool) -> str:
    """The text sent for a text item: embedding-2 gets the ``task`` as a prefix."""
    text = item.data.decode("utf-8")
    if task and multimodal:
        name = task.strip()
        if name.upper() == "RETRIEVAL_DOCUMENT":  # the document side of asymmetric retrieval
            return f"title: none | text: {text}"
        return f"task: {TASKS.get(name.upper(), name)} | query: {text}"
    return text


def check_item(model_id: str, item: Item, task: str | None, multimodal: bool) -> None:
    """Refuse, before anything is sent, an item the service would refuse or truncate."""
    if not isinstance(item, Item):
        raise InputError(f"{model_id}: expected embedsim.inputs.items.Item, got {type(item).__name__}")
    where = f"{model_id}: item {item.describe()}"
    SPEC.check_items(model_id, [item])
    if item.mime_type not in SUPPORTED_MIME_TYPES:
        raise InputError(f"{where} has unsupported MIME type {item.mime_type!r}; use one of {sorted(SUPPORTED_MIME_TYPES)}")
    if item.kind == "text":
        try:
            text = item.data.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{where} is not valid UTF-8 text; build it with text_item()") from None
        if not text.strip():
            raise InputError(f"{where} is empty or whitespace only; give it some text")
        limit = SPEC.text_limit(model_id)
        tokens = estimate_tokens(text_of(item, task, multimodal))  # with the task prefix
        if limit is not None and tokens > limit:
            raise InputError(
                f"{where} is about {tokens} tokens (estimated at {BYTES_PER_TOKEN} bytes per token), over "
                f"the {limit}-token input limit of {model_id}; shorten or split it"
            )
    elif payload_bytes(item) > MAX_REQUEST_BYTES:
        raise InputError(
            f"{where} is {len(item.data) / 1e6:.1f} MB ({payload_bytes(item) / 1e6:.1f} MB as base64), over the "
            f"{MAX_REQUEST_BYTES // (1024 * 1024)} MB inline request limit; downscale or compress it"
        )


def batches(pending: list[int], unique: list[Item], batch_size: int) -> list[list[int]]:
    """Group the indices ``pending`` of ``unique`` into calls of at most ``batch_size`` items
    and :data:`MAX_REQUEST_BYTES` of payload, in order."""
    return pack(pending, batch_size, lambda i: (payload_bytes(unique[i]),), (MAX_REQUEST_BYTES,))
