"""Jina's embedding models over httpx2 (no SDK exists; httpx2 comes with google-genai).

* **Images as given**: each image goes as its bytes in base64 (``{"image": "<base64>"}``, the form
  Jina's documentation shows), built here.
* **Task**: ``task`` - not sent unless set: ``RETRIEVAL_QUERY`` -> ``retrieval.query``,
  ``RETRIEVAL_DOCUMENT`` -> ``retrieval.passage``, ``SEMANTIC_SIMILARITY`` / ``CLASSIFICATION`` /
  ``CLUSTERING`` -> ``text-matching``, or a Jina task value itself.
* **Retries**: the shared :class:`~embedsim.backends.remote.retry.RetryPolicy` (408, 409, 429, 5xx,
  connection errors and timeouts; ``retry-after-ms`` / ``Retry-After`` honoured; ``attempts``,
  ``initial_delay``, ``max_delay``). ``timeout`` is a deadline per attempt
  (:mod:`embedsim.backends.deadline`); no redirect is followed.
* **Base URL**: ``base_url=`` or ``JINA_BASE_URL``.
"""

from __future__ import annotations

import base64
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from embedsim.backends.attempts import count_request
from embedsim.backends.deadline import deadline_transport
from embedsim.backends.jina import DEFAULT_BASE_URL, DIMENSIONS, LIMITS, SPEC
from embedsim.backends.remote import VendorAPIError
from embedsim.backends.remote.embedder import RemoteEmbedder
from embedsim.backends.remote.retry import RetryPolicy
from embedsim.inputs.items import Item

__all__ = ["JinaEmbedder", "VendorAPIError"]


class _StatusError(Exception):
    """An HTTP error answer of the Jina API."""

    def __init__(self, code: int, message: str, headers: Mapping[str, str]) -> None:
        super().__init__(f"HTTP {code}: {message}")
        self.code, self.message, self.headers = code, message, dict(headers)


class JinaEmbedder(RemoteEmbedder):
    """Jina embeddings (v4, clip-v2); see the module docstring."""

    SPEC = SPEC
    LIMITS = LIMITS
    VENDOR = "Jina"
    EXTRA = None
    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    TASK_MAP = {None: None, "SEMANTIC_SIMILARITY": "text-matching", "CLASSIFICATION": "text-matching",
                "CLUSTERING": "text-matching", "RETRIEVAL_QUERY": "retrieval.query",
                "RETRIEVAL_DOCUMENT": "retrieval.passage"}
    NATIVE_TASKS = ("retrieval.query", "retrieval.passage", "text-matching", "code.query", "code.passage")

    @classmethod
    def offered(cls, model_id: str) -> Collection[int]:
        low, high = DIMENSIONS.get(model_id, SPEC.dimensions)
        return range(low, high + 1)

    def _make_client(self, key: str) -> Any:
        import httpx2

        self._policy = RetryPolicy(self.attempts, self.initial_delay, self.max_delay)
        return httpx2.Client(base_url=self.base_url, timeout=self.timeout, follow_redirects=False,
                             headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                             event_hooks={"request": [count_request]},
                             transport=deadline_transport("httpx2", self.timeout))

    def _body(self, batch: list[Item]) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model_id, "input": [self._input(item) for item in batch],
                                "dimensions": self.dimension}
        if self.sent_task is not None:
            body["task"] = self.sent_task
        return body

    def _input(self, item: Item) -> dict[str, str]:
        if item.kind == "text":
            return {"text": self.text_of(item)}
        return {"image": base64.b64encode(item.data).decode("ascii")}

    def _call(self, batch: list[Item]) -> list[Sequence[float]]:
        body = self._body(batch)

        def attempt() -> Any:
            response = self.client.post("/embeddings", json=body)
            if response.status_code >= 300:
                try:
                    message = response.json().get("detail") or response.text
                except ValueError:
                    message = response.text
                raise _StatusError(response.status_code, str(message)[:500], response.headers)
            return response.json()

        answer = self._policy.run(attempt, self._transient)
        data = sorted(answer["data"], key=lambda d: d.get("index", 0))
        return [d["embedding"] for d in data]

    def _transient(self, exc: BaseException) -> Mapping[str, str] | None:
        import httpx2

        if isinstance(exc, _StatusError):
            return exc.headers if self._policy.retried(exc.code) else None
        if isinstance(exc, (httpx2.TimeoutException, httpx2.TransportError)):
            return {}
        return None

    def _status(self, exc: BaseException) -> tuple[int | None, str] | None:
        return (exc.code, exc.message) if isinstance(exc, _StatusError) else None

    def _is_malformed(self, exc: BaseException) -> bool:
        return super()._is_malformed(exc) or isinstance(exc, (KeyError, TypeError, AttributeError))

    def close(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
