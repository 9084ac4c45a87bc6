"""Voyage's multimodal embedding models through the ``voyageai`` SDK (the ``[voyage]`` extra).

* **Images as given**: each image goes as an ``image_base64`` data URI built here from the item's
  bytes (dict inputs pass the SDK unchanged); the SDK's PIL path would re-encode it as WEBP, making
  request bodies depend on the Pillow build.
* **One input per item** (``{"content": [one segment]}``), so each item gets its own vector.
* **Task**: ``input_type`` - ``None`` unless the task is ``RETRIEVAL_QUERY`` (``"query"``) or
  ``RETRIEVAL_DOCUMENT`` (``"document"``), or one of those values itself.
* **Nothing cut silently**: ``truncation=False`` (the service refuses an input over the
  context length instead of truncating it).
* **Retries**: the SDK's own (``max_retries``; tenacity retrying ``RateLimitError`` (429),
  ``ServiceUnavailableError`` (502/503/504) and ``Timeout``); its fixed 1-16 s wait is replaced by
  ``initial_delay`` / ``max_delay``, and each attempt is counted. ``timeout`` is per attempt, and per
  read: the SDK sends through ``requests``, so it is not a deadline (an answer sent in slow pieces
  can take longer).
* **Connections**: the SDK keeps one ``requests`` session per thread across clients; each call
  here uses this embedder's own session (no redirects followed), so a cassette's connections stay
  inside it.
* **Base URL**: ``base_url=`` or ``VOYAGE_BASE_URL`` (the SDK reads no variable for it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Sequence
from typing import Any

from embedsim.backends.attempts import count_request
from embedsim.backends.remote import VendorAPIError
from embedsim.backends.remote.embedder import RemoteEmbedder, data_uri
from embedsim.backends.voyage import DEFAULT_BASE_URL, DIMENSIONS, FIXED_DIMENSION, LIMITS, SPEC
from embedsim.inputs.items import Item

__all__ = ["VendorAPIError", "VoyageEmbedder"]


class VoyageEmbedder(RemoteEmbedder):
    """Voyage multimodal embeddings; see the module docstring."""

    SPEC = SPEC
    LIMITS = LIMITS
    VENDOR = "Voyage"
    EXTRA = "voyage"
    LOGGERS = ("voyage", "voyageai")
    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    TASK_MAP = {None: None, "SEMANTIC_SIMILARITY": None, "CLASSIFICATION": None, "CLUSTERING": None,
                "RETRIEVAL_QUERY": "query", "RETRIEVAL_DOCUMENT": "document"}
    NATIVE_TASKS = ("query", "document")
    TASK_SETTING = "input_type"

    @classmethod
    def offered(cls, model_id: str) -> Collection[int]:
        return DIMENSIONS.get(model_id, (FIXED_DIMENSION,))

    def _make_client(self, key: str) -> Any:
        import requests
        import voyageai
        from tenacity import wait_exponential_jitter

        initial, most = self.initial_delay, self.max_delay

        class Client(voyageai.Client):  # type: ignore[misc]
            def _make_retry_controller(self) -> Any:  # the SDK's stop and retry rule, our waits, counted
                return super()._make_retry_controller().copy(
                    wait=wait_exponential_jitter(initial=initial, max=most), before=count_request)

        self._session = requests.Session()
        self._session.max_redirects = 0  # a redirect is an error, never followed with the key
        return Client(api_key=key, max_retries=self.attempts, timeout=self.timeout, base_url=self.base_url)

    def _call(self, batch: list[Item]) -> list[Sequence[float]]:
        from voyageai.api_resources import api_requestor

        context = api_requestor._thread_context  # the SDK's per-thread session: this embedder's own
        context.session, context.session_create_time = self._session, time.time()
        inputs = [{"content": [self._segment(item)]} for item in batch]
        offered = len(self.offered(self.model_id)) > 1
        answer = self.client.multimodal_embed(
            inputs=inputs, model=self.model_id, input_type=self.sent_task, truncation=False,
            output_dimension=self.dimension if offered else None)
        return answer.embeddings  # type: ignore[no-any-return]

    def _segment(self, item: Item) -> dict[str, str]:
        if item.kind == "text":
            return {"type": "text", "text": self.text_of(item)}
        return {"type": "image_base64", "image_base64": data_uri(item)}

    def _status(self, exc: BaseException) -> tuple[int | None, str] | None:
        from voyageai import error

        if not isinstance(exc, error.VoyageError) or exc.http_status in (None, 200) or self._is_malformed(exc):
            return None
        body = exc.json_body
        if not isinstance(body, dict):  # 5xx: the SDK did not parse the body
            try:
                body = json.loads(exc.http_body or "")
            except (TypeError, ValueError):
                body = None
        detail = body.get("detail") if isinstance(body, dict) else None
        return exc.http_status, str(detail or exc.user_message or "")

    def _is_malformed(self, exc: BaseException) -> bool:
        return super()._is_malformed(exc) or isinstance(exc.__cause__, (json.JSONDecodeError, UnicodeDecodeError))

    def _sdk_modules(self) -> tuple[str, ...]:
        return (*super()._sdk_modules(), "voyageai", "tenacity")

    def close(self) -> None:
        session = getattr(self, "_session", None)
        if session is not None:
            session.close()
