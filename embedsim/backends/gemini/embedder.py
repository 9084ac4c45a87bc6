"""The Gemini embedding backend (google-genai SDK): one unit vector per item, in order.

Traps handled here (each one fails silently if missed):

* **Grouping trap** - for multimodal models a flat list of parts is ONE content and
  gives ONE vector. Every item is sent as its own ``types.Content`` with one part.
* **API version** - pinned with ``types.HttpOptions(api_version=...)`` (default
  :data:`~embedsim.backends.gemini.DEFAULT_API_VERSION`) so recorded URLs do not move
  when the SDK changes its default.
* **taskType** - never sent to embedding-2 models, which get the task as a text prefix;
  ``gemini-embedding-001`` gets the SDK's ``task_type`` (see :mod:`~embedsim.backends.gemini.payload`,
  which also refuses, before any call, the items the service would refuse or truncate).
* **Retries** - the SDK's own ``types.HttpRetryOptions`` (408, 429, 5xx, connection
  errors and sync timeouts); no hand-written loop. With aiohttp installed, SDK 3.6
  does not classify an *async* timeout as transient, so ``aembed`` does not retry it.

Calls: at most ``batch_size`` (<= 100) requests and ``MAX_REQUEST_BYTES`` of payload per
``:batchEmbedContents`` call; identical items (kind + digest) are sent once per
``embed``/``aembed`` call. :meth:`GeminiEmbedder.embed` runs its calls one after the
other, in a deterministic order (stable cassettes); :meth:`GeminiEmbedder.aembed` runs
up to ``max_concurrency`` at once. ``received(items, vectors)``, when given, is called with
each answered call's items and unit vectors as they arrive (how
:class:`~embedsim.backends.cache.CachedEmbedder` stores them at once, so an interrupted run
keeps what it received).

The key comes from ``api_key``, else ``GEMINI_API_KEY`` / ``GOOGLE_API_KEY``;
``GOOGLE_GEMINI_BASE_URL`` sets the endpoint. The key is never put in a message. Vertex AI is
the ``vertex:`` backend (:mod:`embedsim.backends.gemini.vertex`), a subclass that overrides
:meth:`GeminiEmbedder._sdk_model` and :meth:`GeminiEmbedder._make_client`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import warnings
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from google import genai
from google.genai import types

from embedsim.backends import redaction
from embedsim.backends.attempts import counting, labels
from embedsim.backends.base import DEFAULT_DIMENSION, Secret, l2_normalise, without_userinfo
from embedsim.backends.batch_mode import BatchMode
from embedsim.backends.gemini import (
    DEFAULT_API_VERSION,
    DEFAULT_TIMEOUT,
    MAX_BATCH_REQUESTS,
    OFFICIAL_HOST,
    SPEC,
    GeminiAPIError,
    MissingKeyError,
    check_task,
    is_multimodal,
)
from embedsim.backends.gemini import batch as gemini_batch
from embedsim.backends.gemini import calls as gemini_calls
from embedsim.backends.gemini import payload as gemini_requests
from embedsim.backends.gemini.calls import RETRIED_STATUS_CODES, redact, redacting_logs
from embedsim.backends.progress import Progress, ProgressOption
from embedsim.backends.vectors import distinct
from embedsim.errors import BackendError, InputError
from embedsim.inputs.items import Item

__all__ = ["RETRIED_STATUS_CODES", "GeminiAPIError", "GeminiEmbedder", "KeyChoice", "MissingKeyError"]


class KeyChoice(UserWarning):
    """Several credentials are set: which one embedsim uses (said once per process)."""


#: The SDK's own notice, logged when a client is created with both variables set: it names
#: GOOGLE_API_KEY even when the client is given another key (embedsim sends the first of ``key_env``),
#: or none (Vertex AI with a project's credentials).
_SDK_KEY_NOTICE = "Both GOOGLE_API_KEY and GEMINI_API_KEY are set"
#: What has been said once in this process, by topic.
_SAID: dict[str, bool] = {}
_SAID_LOCK = threading.Lock()


class _DropSdkKeyNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_SDK_KEY_NOTICE)


@contextmanager
def sdk_key_notice_dropped() -> Any:
    """While inside, google-genai's loggers (whichever of them writes it) drop the SDK's notice."""
    dropped = _DropSdkKeyNotice()
    names = [name for name in list(logging.root.manager.loggerDict) if name.split(".")[0] == "google_genai"]
    loggers = [logging.getLogger(name) for name in {"google_genai", *names}]
    for logger in loggers:
        logger.addFilter(dropped)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(dropped)


def say_once(topic: str, message: str) -> None:
    """Warn ``message`` (a :class:`KeyChoice`) the first time ``topic`` comes up in this process."""
    with _SAID_LOCK:
        if _SAID.get(topic):
            return
        _SAID[topic] = True
    warnings.warn(message, KeyChoice, stacklevel=3)


def _say_which_key(api_key: str) -> None:
    """Once per process, when several of the key variables are set: the one whose key is sent."""
    found = [name for name in SPEC.key_env if os.environ.get(name, "").strip()]
    used = [name for name in found if os.environ[name].strip() == str(api_key)]
    if len(found) >= 2 and used:
        say_once("which key", f"{' and '.join(found)} are both set: embedsim sends {used[0]}'s key "
                              f"(unset {used[0]} to send {next(n for n in found if n != used[0])}'s)")


#: Called with each answered call's items and their unit vectors.
Received = Callable[[Sequence[Item], np.ndarray], object]


@dataclass
class _Plan:
    """Which unique items one ``embed`` call needs, and the calls to make."""

    unique: list[Item]
    index: list[int]
    vectors: list[np.ndarray | None]
    batches: list[list[int]] = field(default_factory=list)
    received: Received | None = None

    @property
    def pending(self) -> int:
        return sum(len(b) for b in self.batches)


class GeminiEmbedder:
    """Gemini embedding models through google-genai; see the module docstring."""

    def __init__(
        self,
        model_id: str,
        dimension: int | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        api_version: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        attempts: int = 5,
        initial_delay: float = 1.0,
        max_delay: float = 60.0,
        task: str | None = None,
        batch_size: int = MAX_BATCH_REQUESTS,
        progress: ProgressOption = None,
        max_concurrency: int = 4,
        batch: BatchMode | None = None,
    ) -> None:
        dimension = DEFAULT_DIMENSION if dimension is None else dimension
        SPEC.check_dimension(model_id, dimension)
        if not 1 <= batch_size <= MAX_BATCH_REQUESTS:
            raise InputError(f"{model_id}: batch_size must be 1..{MAX_BATCH_REQUESTS}, got {batch_size}")
        if max_concurrency < 1:
            raise InputError(f"{model_id}: max_concurrency must be at least 1, got {max_concurrency}")
        self.model_id, self.dimension = model_id, dimension
        self.batch_size, self.max_concurrency = batch_size, max_concurrency
        self.progress, self.attempts = progress, attempts
        #: Seconds per attempt (``None`` or 0: wait forever).
        self.timeout = timeout or None
        self.api_version = api_version = api_version or DEFAULT_API_VERSION
        #: The model name the SDK gets (``model_id`` here; a subclass may serve ids of its own).
        self.sdk_model = self._sdk_model(model_id)
        self.multimodal = is_multimodal(self.sdk_model)
        self.task = task
        #: Batch mode (:mod:`embedsim.backends.gemini.batch`): ``None`` sends online calls.
        self.batch = batch
        check_task(model_id, task)
        self._config = types.EmbedContentConfig(output_dimensionality=dimension,
                                                task_type=gemini_requests.task_type(model_id, task, self.multimodal))
        http_options = types.HttpOptions(
            api_version=api_version,
            timeout=None if self.timeout is None else max(1, round(self.timeout * 1000)),
            client_args=gemini_calls.client_args(self.timeout),
            async_client_args=gemini_calls.async_client_args(),
            retry_options=types.HttpRetryOptions(
                attempts=attempts,
                initial_delay=initial_delay,
                max_delay=max_delay,
                http_status_codes=list(RETRIED_STATUS_CODES),
            ),
        )
        try:
            #: The SDK client, kept for the embedder's lifetime (it closes itself when collected), and
            #: where the calls go (base URL and API version): part of a cache key
            #: (:class:`~embedsim.backends.cache.CachedEmbedder`), named in messages.
            self.client, self.endpoint = self._make_client(api_key, base_url, http_options)
        except ValueError as exc:
            failure = BackendError(f"{model_id}: cannot create the google-genai client: {redact(str(exc))}")
        else:
            if batch is not None:
                gemini_batch.check_client(self)
            return
        raise failure  # outside the except block: the SDK's exception is not kept as the context

    # -- hooks of a subclass serving the same models elsewhere (Vertex AI) -----------------------
    def _sdk_model(self, model_id: str) -> str:
        """The model name the SDK gets for ``model_id``."""
        return model_id

    def _make_client(self, api_key: str | None, base_url: str | None,
                     http_options: types.HttpOptions) -> tuple[genai.Client, str]:
        """The Gemini Developer API client and its endpoint; :class:`MissingKeyError` without a key."""
        api_key = Secret(api_key) if api_key else SPEC.api_key(os.environ)
        if not api_key:
            raise MissingKeyError(
                f"{self.model_id}: no Gemini API key. Set the environment variable GEMINI_API_KEY "
                "(or GOOGLE_API_KEY), or pass api_key=..."
            )
        redaction.protect(api_key)
        base_url = base_url or os.environ.get("GOOGLE_GEMINI_BASE_URL") or f"https://{OFFICIAL_HOST}/"
        http_options.base_url = base_url
        with sdk_key_notice_dropped():  # it names GOOGLE_API_KEY whatever key the client is given
            client = genai.Client(api_key=api_key, vertexai=False, http_options=http_options)
        _say_which_key(api_key)
        # never a ``user:password@``: the endpoint is named in messages and keys a cache
        return client, f"{without_userinfo(base_url).rstrip('/')}/{http_options.api_version}"

    # -- public API ------------------------------------------------------------------------
    def embed(self, items: Sequence[Item], *, received: Received | None = None) -> np.ndarray:
        """``(len(items), dimension)`` float32 unit rows, calling the service sequentially."""
        if self.batch is not None:
            return gemini_batch.embed(self, self.batch, items, received)
        plan = self._plan(items, received)
        with Progress(self.progress, plan.pending, self.model_id) as bar:
            for number, batch in enumerate(plan.batches, 1):
                batch_items = [plan.unique[i] for i in batch]
                response = self._send(batch_items, number, len(plan.batches))
                self._store(plan, batch, self._vectors(response, batch_items, number, len(plan.batches)))
                bar.update(len(batch))
        return self._result(plan)

    async def aembed(self, items: Sequence[Item], *, received: Received | None = None) -> np.ndarray:
        """Like :meth:`embed`, with at most ``max_concurrency`` calls in flight (batch mode: :meth:`embed`
        in a thread)."""
        if self.batch is not None:
            return await asyncio.to_thread(self.embed, items, received=received)
        plan = self._plan(items, received)
        semaphore = asyncio.Semaphore(self.max_concurrency)
        failed = asyncio.Event()
        total = len(plan.batches)

        async def run(number: int, batch: list[int]) -> tuple[list[int], np.ndarray] | None:
            batch_items = [plan.unique[i] for i in batch]
            async with semaphore:  # a failed call is noted before it lets the next one start
                if failed.is_set():  # start no call after one failed: its request would still be sent
                    return None
                try:
                    response = await self._asend(batch_items, number, total)
                    return batch, self._vectors(response, batch_items, number, total)
                except BaseException:
                    failed.set()
                    raise

        tasks = [asyncio.ensure_future(run(n, b)) for n, b in enumerate(plan.batches, 1)]
        try:
            with Progress(self.progress, plan.pending, self.model_id) as bar:
                for next_done in asyncio.as_completed(tasks):
                    if (done := await next_done) is not None:  # None comes after the failure
                        self._store(plan, *done)
                        bar.update(len(done[0]))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return self._result(plan)

    def close(self) -> None:
        """Close the SDK's sync connections (the async ones: :meth:`aclose`)."""
        self.client.close()

    async def aclose(self) -> None:
        await self.client.aio.aclose()

    def __enter__(self) -> GeminiEmbedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> GeminiEmbedder:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"GeminiEmbedder({self.model_id!r}, dimension={self.dimension})"

    # -- planning ----------------------------------------------------------------------------
    def _plan(self, items: Sequence[Item], received: Received | None) -> _Plan:
        items = list(items)
        for item in items:
            gemini_requests.check_item(self.model_id, item, self.task, self.multimodal)
        unique, index = distinct(items)
        plan = _Plan(unique, index, [None] * len(unique), received=received)
        plan.batches = gemini_requests.batches(list(range(len(unique))), unique, self.batch_size)
        return plan

    # -- one call ----------------------------------------------------------------------------
    def _part(self, item: Item) -> types.Part:
        if item.kind == "text":
            return types.Part(text=gemini_requests.text_of(item, self.task, self.multimodal))
        return types.Part.from_bytes(data=item.data, mime_type=item.mime_type)

    def _call(self, batch: list[Item]) -> dict[str, Any]:
        """Arguments of ``embed_content``: one ``types.Content`` (one part) per item."""
        contents = [types.Content(parts=[self._part(item)]) for item in batch]
        return {"model": self.sdk_model, "contents": contents, "config": self._config}

    def _vectors(self, response: types.EmbedContentResponse, batch: list[Item], number: int, total: int) -> np.ndarray:
        """Check the answer (count, length, finiteness) and normalise it."""
        embeddings = response.embeddings or []
        where = f"(call {number} of {total}: {labels(batch)})"
        if len(embeddings) != len(batch):
            raise BackendError(
                f"{self.model_id}: asked for {len(batch)} vectors, got {len(embeddings)}; refusing to guess "
                f"which belongs to which {where}"
            )
        for item, embedding in zip(batch, embeddings):
            values = embedding.values or []
            if len(values) != self.dimension:
                raise BackendError(
                    f"{self.model_id}: vector for item {item.describe()} has {len(values)} values, "
                    f"expected {self.dimension} {where}"
                )
        matrix = np.asarray([e.values for e in embeddings], dtype=np.float64)
        try:
            return l2_normalise(matrix, batch, self.model_id)
        except BackendError as exc:
            raise BackendError(f"{exc} {where}") from None

    def _store(self, plan: _Plan, batch: list[int], vectors: np.ndarray) -> None:
        for i, vector in zip(batch, vectors):
            plan.vectors[i] = vector
        if plan.received is not None:
            plan.received([plan.unique[i] for i in batch], vectors)

    def _result(self, plan: _Plan) -> np.ndarray:
        if not plan.index:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([plan.vectors[i] for i in plan.index]).astype(np.float32)  # type: ignore[misc]

    # -- errors ------------------------------------------------------------------------------
    def _send(self, batch: list[Item], number: int, total: int) -> types.EmbedContentResponse:
        with counting() as sent, redacting_logs():
            try:
                return self.client.models.embed_content(**self._call(batch))
            except Exception as exc:
                failure = self._failure(exc, batch, number, total, sent[0])
                if failure is None:
                    raise exc.with_traceback(None)  # noqa: B904 - not a call failure: as it is, without the SDK's frames
        raise failure  # outside the except block: no SDK exception, request or frame is kept with it

    async def _asend(self, batch: list[Item], number: int, total: int) -> types.EmbedContentResponse:
        with counting() as sent, redacting_logs():
            try:
                return await self.client.aio.models.embed_content(**self._call(batch))
            except Exception as exc:
                failure = self._failure(exc, batch, number, total, sent[0], is_async=True)
                if failure is None:
                    raise exc.with_traceback(None)  # noqa: B904 - as it is
        raise failure

    def _failure(self, exc: Exception, batch: list[Item], number: int, total: int, sent: int,
                 *, is_async: bool = False) -> BackendError | None:
        return gemini_calls.describe_failure(
            exc, batch, model_id=self.model_id, number=number, total=total, attempts=self.attempts,
            requests_sent=sent, timeout=self.timeout, endpoint=self.endpoint, api_version=self.api_version,
            is_async=is_async)
