"""The skeleton every remote vendor embedder (Voyage, Cohere, Jina, OpenAI) is built on:
one unit vector per item, in order, through the vendor's SDK.

* **Before any call**: each item is checked (a kind the model cannot embed is
  :class:`~embedsim.errors.NotApplicable`; empty text, a text over the model's token limit
  (:attr:`BackendSpec.text_limits`), an image type or size the vendor refuses are
  :class:`~embedsim.errors.InputError` naming the model and the item); a dimension the model
  does not offer is refused when the embedder is made.
* **Calls**: identical items are sent once (:func:`embedsim.backends.vectors.distinct`); the rest
  go in as few calls as the vendor's :class:`~embedsim.backends.remote.Limits` allow (items,
  payload bytes, estimated tokens), one after the other in item order (stable cassettes).
* **Vectors**: the count and length of each answer are checked and every row is L2-normalised
  on the client (:func:`embedsim.backends.base.l2_normalise`).
* **Failures** become a :class:`~embedsim.errors.BackendError` (a
  :class:`~embedsim.backends.remote.VendorAPIError` for an HTTP error) naming the model, the call,
  its items and how many attempts were made, raised outside the SDK's ``except`` block (no SDK
  exception, request or frame is kept with it) and redacted (:mod:`~embedsim.backends.redaction`,
  with the spec's ``credential_patterns``; the SDK's loggers redact while a call runs).
  A cassette miss (vcrpy) is re-raised as it is, for the recorder to explain.

A subclass declares ``SPEC``, ``LIMITS``, ``VENDOR``, ``EXTRA``, ``DEFAULT_BASE_URL`` and the task
mapping, and implements :meth:`_make_client`, :meth:`_call` and :meth:`_status`.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar

import numpy as np

from embedsim.backends.attempts import counting, labels
from embedsim.backends.base import BackendSpec, Secret, l2_normalise
from embedsim.backends.packing import pack
from embedsim.backends.progress import Progress, ProgressOption
from embedsim.backends.redaction import protect, redact, redacting_logs
from embedsim.backends.remote import Limits, MissingKeyError, VendorAPIError, map_task
from embedsim.backends.vectors import distinct
from embedsim.errors import BackendError, InputError, in_chain
from embedsim.inputs.items import BYTES_PER_TOKEN, Item, estimate_tokens


def data_uri(item: Item) -> str:
    """``data:<mime>;base64,<bytes>``: the item's bytes exactly as the user gave them."""
    return f"data:{item.mime_type};base64,{base64.b64encode(item.data).decode('ascii')}"


def payload_bytes(item: Item) -> int:
    """Bytes an item adds to a request body (text as UTF-8, media as base64)."""
    return len(item.data) if item.kind == "text" else 4 * math.ceil(len(item.data) / 3)


def describe_sizes(sizes: Collection[int]) -> str:
    if isinstance(sizes, range):
        return f"{sizes.start}..{sizes.stop - 1}"
    return ", ".join(str(s) for s in sorted(sizes))


def _cassette_miss(exc: BaseException) -> BaseException | None:
    from vcr.errors import CannotOverwriteExistingCassetteException

    return in_chain(exc, CannotOverwriteExistingCassetteException)


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__ or "timed out" in str(exc).lower()


def _is_connection_error(exc: BaseException) -> bool:
    name = type(exc).__name__
    return isinstance(exc, OSError) or any(s in name for s in ("Connect", "Connection", "Transport", "Protocol"))


class RemoteEmbedder:
    """A remote vendor's embedding models through its SDK; see the module docstring."""

    SPEC: ClassVar[BackendSpec]
    LIMITS: ClassVar[Limits]
    #: How messages name the vendor ("Voyage").
    VENDOR: ClassVar[str]
    #: The optional extra that installs the SDK (``pip install 'pytest-embedsim[voyage]'``), if any.
    EXTRA: ClassVar[str | None] = None
    #: The SDK's loggers (they may log a service message, and so an echoed key, during a call).
    LOGGERS: ClassVar[tuple[str, ...]] = ()
    DEFAULT_BASE_URL: ClassVar[str]
    DEFAULT_TIMEOUT: ClassVar[float] = 60.0
    #: Neutral task name (:data:`~embedsim.backends.remote.TASKS`, and ``None`` for no task) -> the vendor's value.
    TASK_MAP: ClassVar[Mapping[str | None, str | None]] = {}
    #: The vendor's own values of its task setting, accepted as they are.
    NATIVE_TASKS: ClassVar[tuple[str, ...]] = ()
    #: The name of the vendor's task setting (``input_type``, ``task``), for messages.
    TASK_SETTING: ClassVar[str] = "task"

    def __init__(
        self,
        model_id: str,
        dimension: int | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        api_version: str | None = None,
        timeout: float | None = 60.0,
        attempts: int = 5,
        initial_delay: float = 1.0,
        max_delay: float = 16.0,
        task: str | None = None,
        batch_size: int | None = None,
        progress: ProgressOption = None,
    ) -> None:
        spec = self.SPEC
        dimension = spec.default_dimension if dimension is None else dimension
        spec.check_dimension(model_id, dimension)
        offered = self.offered(model_id)
        if dimension not in offered:
            raise InputError(f"{model_id}: output dimension {dimension} is not offered by {model_id}; use one of "
                             f"{describe_sizes(offered)}")
        if attempts < 1:
            raise InputError(f"{model_id}: attempts must be at least 1, got {attempts}")
        limit = self.LIMITS.items
        if batch_size is not None and not 1 <= batch_size <= limit:
            raise InputError(f"{model_id}: batch_size must be 1..{limit}, got {batch_size}")
        self.model_id, self.dimension = model_id, dimension
        self.batch_size = batch_size or limit
        self.attempts, self.initial_delay, self.max_delay = attempts, initial_delay, max_delay
        #: Seconds per attempt (``None`` or 0: wait forever).
        self.timeout = timeout or None
        #: Not used: a vendor's API version is part of its base URL (accepted so a run-wide
        #: ``--embedsim-api-version`` for Gemini does not break the other vendors).
        self.api_version = api_version
        self.progress = progress
        self.task = task
        #: What the vendor's task setting is sent as (``None``: not sent).
        self.sent_task = map_task(model_id, task, self.TASK_MAP, self.NATIVE_TASKS, self.TASK_SETTING)
        key = Secret(api_key) if api_key else spec.api_key(os.environ)
        if not key:
            names = " (or ".join(spec.key_env) + ")" * (len(spec.key_env) - 1)
            raise MissingKeyError(f"{model_id}: no {self.VENDOR} API key. Set the environment variable {names}, "
                                  "or pass api_key=...")
        protect(key, patterns=spec.wire.credential_patterns if spec.wire else ())
        wire = spec.wire
        from_env = next((os.environ[n].strip() for n in (wire.base_url_env if wire else ())
                         if os.environ.get(n, "").strip()), None)
        #: Where the calls go.
        self.base_url = (base_url or from_env or self.DEFAULT_BASE_URL).rstrip("/")
        failure: BackendError | None = None
        try:
            with self._redacting_logs():
                self.client = self._make_client(key)
        except ImportError as exc:
            failure = BackendError(
                f"{model_id}: the {self.VENDOR} backend needs its SDK ({exc.name or exc}): "
                f"pip install 'pytest-embedsim[{self.EXTRA}]'")
        except Exception as exc:
            failure = BackendError(self._redact(f"{model_id}: cannot create the {self.VENDOR} client: "
                                                f"{type(exc).__name__}: {exc}"))
        if failure is not None:
            raise failure  # outside the except block: the SDK's exception is not kept as the context

    # -- what a vendor implements --------------------------------------------------------------
    @classmethod
    def offered(cls, model_id: str) -> Collection[int]:
        """The output dimensions ``model_id`` offers (default: the spec's range)."""
        low, high = cls.SPEC.dimensions
        return range(low, high + 1)

    def _make_client(self, key: str) -> Any:
        raise NotImplementedError

    def _call(self, batch: list[Item]) -> list[Sequence[float]]:
        """One call for ``batch``: its vectors, in order."""
        raise NotImplementedError

    def _status(self, exc: BaseException) -> tuple[int | None, str] | None:
        """``(HTTP status, service message)`` for the SDK's error of an HTTP answer, else ``None``."""
        return None

    def _is_malformed(self, exc: BaseException) -> bool:
        """True for the SDK's error of an answer that is not the expected JSON."""
        return isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError))

    def close(self) -> None:
        """Close the SDK's connections."""

    def _redact(self, text: str) -> str:
        """``text`` without this process's keys and anything shaped like this vendor's credentials."""
        return redact(text, self.SPEC.wire.credential_patterns if self.SPEC.wire else ())

    def _redacting_logs(self) -> AbstractContextManager[None]:
        return redacting_logs(self.LOGGERS, self.SPEC.wire.credential_patterns if self.SPEC.wire else ())

    def __enter__(self) -> RemoteEmbedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_id!r}, dimension={self.dimension})"

    # -- public API ----------------------------------------------------------------------------
    def embed(self, items: Sequence[Item]) -> np.ndarray:
        """``(len(items), dimension)`` float32 unit rows, calling the service sequentially."""
        items = list(items)
        for item in items:
            self._check_item(item)
        unique, index = distinct(items)
        batches = self.batches(unique)
        rows: list[np.ndarray | None] = [None] * len(unique)
        with Progress(self.progress, len(unique), self.model_id) as bar:
            for number, batch in enumerate(batches, 1):
                vectors = self._send([unique[i] for i in batch], number, len(batches))
                for i, vector in zip(batch, vectors):
                    rows[i] = vector
                bar.update(len(batch))
        if not index:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([rows[i] for i in index]).astype(np.float32)  # type: ignore[misc]

    # -- before any call -----------------------------------------------------------------------
    def text_limit(self) -> int | None:
        """The most tokens one text of this model may have (:attr:`BackendSpec.text_limits`)."""
        return next((limit for pattern, limit in self.SPEC.text_limits if re.fullmatch(pattern, self.model_id)), None)

    def text_of(self, item: Item) -> str:
        """The text sent for a text item."""
        return item.data.decode("utf-8")

    def _check_item(self, item: Item) -> None:
        if not isinstance(item, Item):
            raise InputError(f"{self.model_id}: expected embedsim.inputs.items.Item, got {type(item).__name__}")
        where = f"{self.model_id}: item {item.describe()}"
        self.SPEC.check_items(self.model_id, [item])
        limits = self.LIMITS
        if item.kind == "text":
            try:
                text = self.text_of(item)
            except UnicodeDecodeError:
                raise InputError(f"{where} is not valid UTF-8 text; build it with text_item()") from None
            if not text.strip():
                raise InputError(f"{where} is empty or whitespace only; give it some text")
            limit, tokens = self.text_limit(), estimate_tokens(text)
            if limit is not None and tokens > limit:
                raise InputError(f"{where} is about {tokens} tokens (estimated at {BYTES_PER_TOKEN} bytes per token), "
                                 f"over the {limit}-token input limit of {self.model_id}; shorten or split it")
        elif item.kind == "image":
            if item.mime_type not in limits.image_types:
                raise InputError(f"{where} is {item.mime_type}, which {self.VENDOR} does not take; use one of "
                                 f"{sorted(limits.image_types)}")
            if limits.image_bytes is not None and len(item.data) > limits.image_bytes:
                raise InputError(f"{where} is {len(item.data) / 1e6:.1f} MB, over the "
                                 f"{limits.image_bytes / 1e6:.0f} MB image limit of {self.VENDOR}; downscale or "
                                 "compress it")
        if limits.payload_bytes is not None and payload_bytes(item) > limits.payload_bytes:
            raise InputError(f"{where} is {payload_bytes(item) / 1e6:.1f} MB as sent, over the "
                             f"{limits.payload_bytes / 1e6:.0f} MB per call of {self.VENDOR}; downscale or compress it")

    def batches(self, unique: Sequence[Item]) -> list[list[int]]:
        """Indices of ``unique`` grouped into calls within the vendor's limits, in order."""
        def costs(i: int) -> tuple[int, int]:
            item = unique[i]
            return payload_bytes(item), estimate_tokens(self.text_of(item)) if item.kind == "text" else 0

        return pack(range(len(unique)), self.batch_size, costs, (self.LIMITS.payload_bytes, self.LIMITS.tokens))

    # -- one call ------------------------------------------------------------------------------
    def _send(self, batch: list[Item], number: int, total: int) -> np.ndarray:
        with counting() as sent, self._redacting_logs():
            try:
                answer = self._call(batch)
            except Exception as exc:
                miss = _cassette_miss(exc)
                if miss is not None:
                    raise miss.with_traceback(None) from None  # the recorder explains it
                failure = self._failure(exc, batch, number, total, sent[0])
                if failure is None:
                    raise exc.with_traceback(None)  # noqa: B904 - not a call failure: as it is
            else:
                return self._vectors(answer, batch, number, total)
        raise failure  # outside the except block: no SDK exception, request or frame is kept with it

    def _vectors(self, answer: Sequence[Sequence[float]], batch: list[Item], number: int, total: int) -> np.ndarray:
        where = f"(call {number} of {total}: {labels(batch)})"
        if len(answer) != len(batch):
            raise BackendError(f"{self.model_id}: asked for {len(batch)} vectors, got {len(answer)}; refusing to guess "
                               f"which belongs to which {where}")
        for item, values in zip(batch, answer):
            if len(values) != self.dimension:
                raise BackendError(f"{self.model_id}: vector for item {item.describe()} has {len(values)} values, "
                                   f"expected {self.dimension} {where}")
        try:
            return l2_normalise(np.asarray(answer, dtype=np.float64), batch, self.model_id)
        except (BackendError, ValueError, TypeError) as exc:
            failure = BackendError(f"{exc} {where}")
        raise failure

    def _failure(self, exc: BaseException, batch: list[Item], number: int, total: int,
                 sent: int) -> BackendError | None:
        """A redacted :class:`BackendError` for a failed call, or ``None`` for an exception that is
        not a call failure and carries no key (re-raised as it is)."""
        if isinstance(exc, BackendError):
            return BackendError(self._redact(str(exc)))
        where = f"call {number} of {total} with {len(batch)} item(s): {labels(batch)}"
        tried = f"{sent} attempt{'s' if sent != 1 else ''}" if sent else ""
        gave_up = f"; gave up after {tried}" if sent > 1 else ""
        status = self._status(exc)
        if status is not None:
            code, message = status
            message = self._redact(str(message or "")).strip()
            text = f"{self.model_id}: HTTP {code}: {message}"
            if code is not None and 300 <= code < 400:
                text = (f"{self.model_id}: the server answered HTTP {code} (a redirect); refused: embedsim never "
                        f"follows redirects, so the API key is sent nowhere but {self.base_url}")
            elif code in (401, 403, 498):
                text += f" - the service refused the API key: check {self.SPEC.key_env[0]}"
            elif code == 429:
                text += " - rate limit or quota exceeded: wait, send less at once, or raise your quota"
            elif code == 404:
                text += f" - is {self.model_id!r} a model of {self.base_url}? check the model id and the base URL"
            elif code in (400, 422) and "dimension" in message.lower():
                text += f" - {self.model_id} offers output dimensions {describe_sizes(self.offered(self.model_id))}"
            return VendorAPIError(self._redact(f"{text} ({where}{gave_up})"), code, message, [i.id for i in batch])
        if "redirect" in str(exc).lower():
            what = (f"the server answered a redirect; refused: embedsim never follows redirects, so the API key "
                    f"is sent nowhere but {self.base_url}")
        elif self._is_malformed(exc):
            what = "the answer is not valid JSON (malformed or truncated body)"
        elif _is_timeout(exc):
            what = "no answer in time" if self.timeout is None else f"no answer within the {self.timeout} s timeout"
            what += f", {tried}" if tried else ""
        elif _is_connection_error(exc):
            what = f"cannot connect to {self.base_url} ({type(exc).__name__}){', ' + tried if tried else ''}"
        elif self._redact(str(exc)) == str(exc) and not type(exc).__module__.startswith(self._sdk_modules()):
            return None
        else:
            what = f"unexpected {type(exc).__name__}: {exc}"
        return BackendError(self._redact(f"{self.model_id}: {what} ({where})"))

    def _sdk_modules(self) -> tuple[str, ...]:
        """Module prefixes of the SDK's exceptions (described, never re-raised as they are)."""
        return ("httpx", "httpx2", "requests", "urllib3")
