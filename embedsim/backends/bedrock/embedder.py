"""The Bedrock embedder (boto3 ``bedrock-runtime`` ``invoke_model``): one unit vector per item, in order.

* **One item per call** for Titan (a body with text and image gives ONE averaged vector) and Nova
  (``SINGLE_EMBEDDING``); Cohere v4 takes up to 96 items per call, one ``inputs[]`` content each.
* **Bounded concurrency**: at most ``max_concurrency`` calls in flight (threads; botocore clients
  are thread-safe), and no call starts after one failed.
* **Retries** are boto3's own (``botocore.config.Config(retries={"mode": ..., "total_max_attempts":
  ...})``: throttling, 5xx and transient connection errors); a call that still fails names the
  model, the attempts made and how many items were embedded before it.
* **Credentials and region** come from boto3's standard chain (``profile``, ``region`` or
  ``AWS_PROFILE``, ``AWS_REGION``, roles ...). ``api_key`` is a Bedrock API key (the bearer
  token ``AWS_BEARER_TOKEN_BEDROCK`` holds): with it, calls carry ``Authorization: Bearer`` and
  boto3's chain is not consulted (a replay passes a placeholder, so it needs no AWS set-up at all).
* **Endpoint**: ``base_url`` (boto3's ``endpoint_url``), else botocore's own ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` /
  ``AWS_ENDPOINT_URL``, else ``https://bedrock-runtime.<region>.amazonaws.com``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import numpy as np

from embedsim.backends.base import Secret, l2_normalise
from embedsim.backends.bedrock import REPLAY_REGION, WIRE, BedrockSpec, payload, spec_of
from embedsim.backends.bedrock import calls as bedrock_calls
from embedsim.backends.progress import Progress, ProgressOption
from embedsim.backends.vectors import distinct
from embedsim.errors import BackendError, InputError
from embedsim.inputs.items import Item

__all__ = ["BedrockEmbedder"]


def _import_boto3() -> Any:
    try:
        import boto3
    except ImportError:
        raise BackendError("the Bedrock backends need boto3: pip install 'pytest-embedsim[bedrock]'") from None
    return boto3


class BedrockEmbedder:
    """Titan, Nova and Cohere v4 embedding models on Amazon Bedrock; see the module docstring."""

    def __init__(
        self,
        model_id: str,
        dimension: int | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        api_version: str | None = None,
        timeout: float | None = WIRE.default_timeout,
        attempts: int = 5,
        task: str | None = None,
        progress: ProgressOption = None,
        max_concurrency: int = 4,
        region: str | None = None,
        profile: str | None = None,
        retry_mode: str = "standard",
    ) -> None:
        self.spec: BedrockSpec = spec_of(model_id)
        dimension = self.spec.default_dimension if dimension is None else dimension
        self.spec.check_dimension(model_id, dimension)
        if max_concurrency < 1:
            raise InputError(f"{model_id}: max_concurrency must be at least 1, got {max_concurrency}")
        if attempts < 1:
            raise InputError(f"{model_id}: attempts must be at least 1, got {attempts}")
        self.model_id, self.dimension = model_id, dimension
        self.max_concurrency, self.progress, self.attempts = max_concurrency, progress, attempts
        self.timeout = timeout or None
        self.task = payload.check_task(self.spec, model_id, task)
        boto3 = _import_boto3()
        from botocore import UNSIGNED
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError

        bearer = Secret(api_key) if api_key else None
        bedrock_calls.protect(bearer)
        region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or (
            REPLAY_REGION if bearer else None)
        config = Config(
            retries={"mode": retry_mode, "total_max_attempts": attempts},
            connect_timeout=self.timeout or 0, read_timeout=self.timeout or 0,
            max_pool_connections=max(10, max_concurrency),
            **({"signature_version": UNSIGNED} if bearer else {}),
        )
        failure: BackendError | None = None
        try:
            if bearer:  # boto3's chain is not consulted: a profile named in the environment is not even read
                import botocore.session

                core = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
                session = boto3.session.Session(botocore_session=core, region_name=region)
                unused = {"aws_access_key_id": "unused", "aws_secret_access_key": "unused"}  # unsigned calls
            else:
                session = boto3.session.Session(profile_name=profile, region_name=region)
                unused = {}
            #: The boto3 client, kept for the embedder's lifetime.
            with bedrock_calls.redacting_logs():
                self.client = session.client("bedrock-runtime", config=config, endpoint_url=base_url, **unused)
        except BotoCoreError as exc:
            failure = BackendError(bedrock_calls.redact(
                f"{model_id}: cannot create the boto3 bedrock-runtime client ({type(exc).__name__}: {exc}); "
                "set the region (AWS_REGION or region=...) and credentials (AWS_PROFILE, ...)"))
        if failure is not None:
            raise failure  # outside the except block: botocore's exception is not kept as the context
        self.region: str | None = self.client.meta.region_name
        #: Where the calls go (scheme and host).
        self.endpoint: str = self.client.meta.endpoint_url
        events = self.client.meta.events
        events.register_first("needs-retry.bedrock-runtime.InvokeModel", bedrock_calls.no_retry_on_cassette_miss)
        if bearer:
            def authorise(request: Any, **_: Any) -> None:
                request.headers["Authorization"] = f"Bearer {bearer}"

            events.register("before-sign.bedrock-runtime.InvokeModel", authorise)

    # -- public API ------------------------------------------------------------------------
    def embed(self, items: Sequence[Item]) -> np.ndarray:
        """``(len(items), dimension)`` float32 unit rows; at most ``max_concurrency`` calls at once."""
        items = list(items)
        for item in items:
            payload.check_item(self.spec, self.model_id, item)
        unique, index = distinct(items)
        calls = payload.batches(self.spec, unique)
        rows: list[np.ndarray | None] = [None] * len(unique)
        done = 0
        failure: BaseException | None = None
        with bedrock_calls.redacting_logs(), Progress(self.progress, len(unique), self.model_id) as bar, \
                ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="bedrock") as pool:
            pending: dict[Future[np.ndarray], tuple[int, list[int]]] = {}
            queue = list(enumerate(calls, 1))
            while queue or pending:
                while queue and failure is None and len(pending) < self.max_concurrency:
                    number, batch = queue.pop(0)
                    future = pool.submit(self._call, [unique[i] for i in batch])
                    pending[future] = (number, batch)
                if not pending:
                    break
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(finished, key=lambda f: pending[f][0]):
                    number, batch = pending.pop(future)
                    try:
                        vectors = future.result()
                    except BaseException as exc:
                        if failure is None:
                            failure = self._failure(exc, [unique[i] for i in batch], number, len(calls), done,
                                                    len(unique))
                        continue
                    for i, vector in zip(batch, vectors):
                        rows[i] = vector
                    done += len(batch)
                    bar.update(len(batch))
        if failure is not None:
            raise failure
        if not index:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([rows[i] for i in index]).astype(np.float32)  # type: ignore[misc]

    def close(self) -> None:
        """Close the client's connections."""
        close = getattr(self.client, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> BedrockEmbedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"BedrockEmbedder({self.model_id!r}, dimension={self.dimension}, region={self.region!r})"

    # -- one call ----------------------------------------------------------------------------
    def _call(self, batch: list[Item]) -> np.ndarray:
        body = payload.body(self.spec, batch, self.dimension, self.task)
        response = self.client.invoke_model(modelId=self.model_id, body=body, contentType="application/json",
                                            accept="application/json")
        raw = response["body"].read()
        found = payload.vectors(self.spec, self.model_id, raw, len(batch))
        for item, vector in zip(batch, found):
            if len(vector) != self.dimension:
                raise BackendError(f"{self.model_id}: vector for item {item.describe()} has {len(vector)} values, "
                                   f"expected {self.dimension}")
        return l2_normalise(np.asarray(found, dtype=np.float64), batch, self.model_id)

    def _failure(self, exc: BaseException, batch: list[Item], number: int, total_calls: int, done: int,
                 total_items: int) -> BaseException:
        described = bedrock_calls.describe_failure(
            exc, batch, model_id=self.model_id, number=number, total_calls=total_calls, done=done,
            total_items=total_items, region=self.region, endpoint=self.endpoint, timeout=self.timeout)
        if described is not None:
            return described
        from embedsim.backends.bedrock.calls import _is_cassette_miss

        if _is_cassette_miss(exc):
            return exc.kwargs["error"].with_traceback(None)  # type: ignore[attr-defined,no-any-return]
        return exc.with_traceback(None)
