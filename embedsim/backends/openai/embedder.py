"""OpenAI's text embedding models through the ``openai`` SDK (the ``[openai]`` extra). Text only.

* **Task**: none - OpenAI has no task setting; a task given (a run-wide one) is accepted and not
  sent, the text goes as it is.
* **Dimensions**: ``dimensions`` for ``text-embedding-3-*`` (any size up to 1536 / 3072); not sent
  for ``ada-002`` (1536 only).
* **Retries**: the SDK's own (``max_retries = attempts - 1``: 408, 409, 429, 5xx, connection errors
  and timeouts; it waits ``retry-after-ms`` / ``Retry-After`` when sent, else 0.5 s doubling up to 8
  s - ``initial_delay`` / ``max_delay`` do not apply). ``timeout`` is a deadline per attempt
  (:mod:`embedsim.backends.deadline`); every request is counted (an httpx2 event hook).
* **No redirects**: the SDK gets ``DefaultHttpxClient(follow_redirects=False)``.
* **Base URL**: ``base_url=`` or ``OPENAI_BASE_URL`` (the SDK's own variable).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, ClassVar

from embedsim.backends.attempts import count_request
from embedsim.backends.deadline import deadline_transport
from embedsim.backends.openai import DEFAULT_BASE_URL, FIXED, LIMITS, MAX_DIMENSIONS, SPEC
from embedsim.backends.remote import TASKS, VendorAPIError
from embedsim.backends.remote.embedder import RemoteEmbedder
from embedsim.inputs.items import Item

__all__ = ["OpenAIEmbedder", "VendorAPIError"]


class OpenAIEmbedder(RemoteEmbedder):
    """OpenAI text embeddings; see the module docstring."""

    SPEC = SPEC
    LIMITS = LIMITS
    VENDOR = "OpenAI"
    EXTRA = "openai"
    LOGGERS = ("openai",)
    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    TASK_MAP: ClassVar[Mapping[str | None, str | None]] = {None: None, **{task: None for task in TASKS}}
    TASK_SETTING = "task (none at OpenAI)"

    @classmethod
    def offered(cls, model_id: str) -> Collection[int]:
        if model_id in FIXED:
            return (FIXED[model_id],)
        return range(1, MAX_DIMENSIONS.get(model_id, max(MAX_DIMENSIONS.values())) + 1)

    def _make_client(self, key: str) -> Any:
        import openai

        self._http = openai.DefaultHttpxClient(follow_redirects=False, event_hooks={"request": [count_request]},
                                               transport=deadline_transport("httpx2", self.timeout))
        return openai.OpenAI(api_key=key, base_url=self.base_url, timeout=self.timeout,
                             max_retries=self.attempts - 1, http_client=self._http)

    def _call(self, batch: list[Item]) -> list[Sequence[float]]:
        from openai import omit

        answer = self.client.embeddings.create(
            model=self.model_id, input=[self.text_of(item) for item in batch],
            dimensions=omit if self.model_id in FIXED else self.dimension)
        return [d.embedding for d in sorted(answer.data, key=lambda d: d.index)]

    def _status(self, exc: BaseException) -> tuple[int | None, str] | None:
        import openai

        if not isinstance(exc, openai.APIStatusError):
            return None
        body = exc.body
        error = body.get("error", body) if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        return exc.status_code, str(message or exc.message or "")

    def _is_malformed(self, exc: BaseException) -> bool:
        import openai

        return super()._is_malformed(exc) or isinstance(exc, openai.APIResponseValidationError)

    def _sdk_modules(self) -> tuple[str, ...]:
        return (*super()._sdk_modules(), "openai", "pydantic")

    def close(self) -> None:
        http = getattr(self, "_http", None)
        if http is not None:
            http.close()
