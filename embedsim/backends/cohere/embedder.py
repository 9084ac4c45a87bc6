"""Cohere's embed models through the ``cohere`` SDK's ``ClientV2`` (the ``[cohere]`` extra).

* **Images as given**: each image goes as an ``image_url`` data URI built here from the item's bytes.
* **One input per item** (``{"content": [one part]}``), so each item gets its own vector.
* **Task**: ``input_type`` (required by v2) - ``search_document`` unless set: ``RETRIEVAL_QUERY`` ->
  ``search_query``, ``RETRIEVAL_DOCUMENT`` and ``SEMANTIC_SIMILARITY`` -> ``search_document``,
  ``CLASSIFICATION`` -> ``classification``, ``CLUSTERING`` -> ``clustering``, or a value itself.
* **Nothing cut silently**: ``truncate="NONE"`` (an input over the context length is refused).
* **Retries**: the SDK's own (``max_retries = attempts - 1``: 408, 409, 429, 5xx and connection
  errors; it waits ``retry-after-ms`` / ``Retry-After`` when the server sends one, else 1, 2, 4 ...
  s - ``initial_delay`` / ``max_delay`` do not apply); the SDK does not retry a timeout.
  ``timeout`` is a deadline per attempt (:mod:`embedsim.backends.deadline`); every request is counted
  (an httpx event hook).
* **No redirects**: the SDK is given an ``httpx.Client(follow_redirects=False)``.
* **Base URL**: ``base_url=`` or ``CO_API_URL``, read when the embedder is made.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from embedsim.backends.attempts import count_request
from embedsim.backends.cohere import DEFAULT_BASE_URL, DIMENSIONS, LIMITS, SPEC
from embedsim.backends.deadline import deadline_transport
from embedsim.backends.remote import VendorAPIError
from embedsim.backends.remote.embedder import RemoteEmbedder, data_uri
from embedsim.inputs.items import Item

__all__ = ["CohereEmbedder", "VendorAPIError"]


class CohereEmbedder(RemoteEmbedder):
    """Cohere embed v4 (text and images); see the module docstring."""

    SPEC = SPEC
    LIMITS = LIMITS
    VENDOR = "Cohere"
    EXTRA = "cohere"
    LOGGERS = ("cohere",)
    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    TASK_MAP = {None: "search_document", "SEMANTIC_SIMILARITY": "search_document", "RETRIEVAL_QUERY": "search_query",
                "RETRIEVAL_DOCUMENT": "search_document", "CLASSIFICATION": "classification", "CLUSTERING": "clustering"}
    NATIVE_TASKS = ("search_document", "search_query", "classification", "clustering")
    TASK_SETTING = "input_type"

    @classmethod
    def offered(cls, model_id: str) -> Collection[int]:
        return DIMENSIONS

    def _make_client(self, key: str) -> Any:
        import cohere
        import httpx

        self._http = httpx.Client(timeout=self.timeout, follow_redirects=False,
                                  event_hooks={"request": [count_request]},
                                  transport=deadline_transport("httpx", self.timeout))
        return cohere.ClientV2(api_key=key, base_url=self.base_url, timeout=self.timeout,
                               max_retries=self.attempts - 1, httpx_client=self._http,
                               log_warning_experimental_features=False)

    def _call(self, batch: list[Item]) -> list[Sequence[float]]:
        inputs = [{"content": [self._part(item)]} for item in batch]
        answer = self.client.embed(model=self.model_id, input_type=self.sent_task, inputs=inputs,
                                   output_dimension=self.dimension, embedding_types=["float"], truncate="NONE")
        return answer.embeddings.float_ or []  # type: ignore[no-any-return]

    def _part(self, item: Item) -> dict[str, Any]:
        if item.kind == "text":
            return {"type": "text", "text": self.text_of(item)}
        return {"type": "image_url", "image_url": {"url": data_uri(item)}}

    def _status(self, exc: BaseException) -> tuple[int | None, str] | None:
        from cohere.core.api_error import ApiError

        if not isinstance(exc, ApiError) or exc.status_code is None or 200 <= exc.status_code < 300:
            return None
        body = exc.body
        message = body.get("message") if isinstance(body, dict) else body
        return exc.status_code, str(message or "")

    def _is_malformed(self, exc: BaseException) -> bool:
        from cohere.core.api_error import ApiError

        if isinstance(exc, ApiError) and exc.status_code is not None and 200 <= exc.status_code < 300:
            return True
        return super()._is_malformed(exc) or type(exc).__name__ == "ParsingError"

    def _sdk_modules(self) -> tuple[str, ...]:
        return (*super()._sdk_modules(), "cohere", "pydantic")

    def close(self) -> None:
        http = getattr(self, "_http", None)
        if http is not None:
            http.close()
