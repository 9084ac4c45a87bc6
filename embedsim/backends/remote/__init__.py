"""What the remote vendor backends (Voyage, Cohere, Jina, OpenAI) share - cheap to import.

* the task vocabulary every backend accepts (:data:`TASKS`) and how one maps it to its own
  setting (:func:`map_task`);
* :class:`Limits`: a vendor's per-call limits (items, payload bytes, estimated tokens), the
  image types it takes and its largest image, declared once in the vendor's ``__init__``;
* the errors: :class:`MissingKeyError`, :class:`VendorAPIError` (with ``code`` and ``labels``).

The embedder skeleton (plan, batches, one call, errors without the key) is
:mod:`embedsim.backends.remote.embedder`; the redaction of keys :mod:`~embedsim.backends.redaction`;
the one retry policy for a vendor whose SDK has none (Jina) :mod:`~embedsim.backends.remote.retry`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from embedsim.errors import BackendError, InputError

#: The vendor-neutral task names (Gemini's ``task_type`` names): a backend maps each to its own
#: setting (Voyage / Cohere ``input_type``, Jina ``task``) or refuses it with the ones it knows.
TASKS = ("SEMANTIC_SIMILARITY", "CLASSIFICATION", "CLUSTERING", "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT")


def map_task(model_id: str, task: str | None, mapping: Mapping[str | None, str | None], native: tuple[str, ...],
             setting: str) -> str | None:
    """The value of the vendor's ``setting`` for ``task``: a neutral name of :data:`TASKS` (any case)
    through ``mapping``, or one of the vendor's ``native`` values as it is; ``None`` (no task) maps
    through ``mapping[None]`` when present. :class:`InputError` naming both vocabularies otherwise."""
    if task is None:
        return mapping.get(None)  # type: ignore[call-overload, no-any-return]
    name = str(task).strip()
    if name in native:
        return name
    if name.upper() in mapping:
        return mapping[name.upper()]
    known = sorted(k for k in mapping if k is not None)
    raise InputError(f"{model_id}: unknown task {task!r}; use one of {known} or the {setting} values "
                     f"{list(native)}")


@dataclass(frozen=True)
class Limits:
    """A vendor's per-call limits: ``items`` per call, ``payload_bytes`` (text bytes + base64 media)
    and estimated ``tokens`` per call (``None``: no limit), the ``image_types`` it takes and the
    largest image (``image_bytes``, raw)."""

    items: int
    payload_bytes: int | None = None
    tokens: int | None = None
    image_types: frozenset[str] = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
    image_bytes: int | None = None


class MissingKeyError(BackendError):
    """No API key: nothing to authenticate with."""


class VendorAPIError(BackendError):
    """The service answered an error: ``code`` (HTTP status), ``message`` (redacted) and the
    ``labels`` of the items the call carried."""

    def __init__(self, text: str, code: int | None, message: str, labels: list[str]) -> None:
        super().__init__(text)
        self.code, self.message, self.labels = code, message, labels
