"""What every backend declares (:class:`BackendSpec`) and implements (:class:`Embedder`).

A backend is a :class:`BackendSpec` published under the entry-point group
``embedsim.backends`` (see :mod:`embedsim.backends`). The spec is plain data, cheap to
import; its ``factory`` (``"module:Class"``) is imported only when an embedder is made.

**The factory's keyword arguments** - every caller (the pytest plugin, recorded or live, the
command line, :func:`embedsim.backends.get_embedder`) goes through :meth:`BackendSpec.create`,
so every backend receives them the same way, as keywords:

* ``model_id`` (str) and ``dimension`` (int, within :attr:`BackendSpec.dimensions`): always.
* remote backends only (``local=False``; a local backend never gets these):

  - ``api_key``: the caller's, else the first non-empty variable of :attr:`BackendSpec.key_env`
    (a :class:`Secret`), else ``None`` - the backend says which variable to set. While a
    cassette replays, a placeholder (``embedsim.recording.PLACEHOLDER_KEY``): the calls never
    leave the process.
  - ``timeout``: seconds one call attempt may take, ``0`` for no limit; only when set
    (``--embedsim-timeout``, CLI ``--timeout``), else the backend's own default
    (:attr:`Wire.default_timeout`).
  - ``api_version``: e.g. ``"v1beta"``; only when set (``--embedsim-api-version``, CLI
    ``--api-version``), else the backend's own default
    (:attr:`Wire.default_api_version`).

* anything else a caller passes in Python (``progress``, ``base_url``, ``task``, ...) goes to
  the factory as given; each backend documents the ones it takes (e.g.
  :class:`~embedsim.backends.gemini.embedder.GeminiEmbedder`). No caller passes a cache: a
  cache is a wrapper around any embedder (:class:`~embedsim.backends.cache.CachedEmbedder`).

Every built-in constructor takes them in one order: ``model_id, dimension=None`` (``None``: the
spec's default), then keyword-only ``api_key, base_url, api_version, timeout, attempts,
initial_delay, max_delay, task, batch_size, progress, max_concurrency`` (those it has), then its
own (``tests/test_backends.py`` checks the order).

**The embedder** (:class:`Embedder`) has ``model_id``, ``dimension`` and ``embed(items)`` (whether
it is local is its spec's fact, :attr:`BackendSpec.local`); optionally ``aembed(items)``, ``close()``, and the attributes ``task`` and
``endpoint`` (where its calls go), which a cache key includes, and ``max_concurrency`` (calls in
flight at once), which a recording or a replay sets to 1 (vcrpy is not thread-safe). An ``embed`` / ``aembed``
that takes a keyword ``received`` calls ``received(items, vectors)`` with each call's items
and unit vectors as they arrive, so a cache in front of it keeps them if the run is interrupted.

This module imports neither numpy nor the items module at run time.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

from embedsim.errors import InputError, NotApplicable

if TYPE_CHECKING:
    import numpy as np

    from embedsim.inputs.items import Item

DEFAULT_DIMENSION = 768
#: The longest timeout of one call attempt of a remote model, in seconds (a day; 0 is "no limit"): far
#: longer values overflow the platform's clocks inside the HTTP clients (OverflowError at 1e10).
MAX_TIMEOUT = 86_400.0
#: The item kinds a backend may accept (:data:`embedsim.inputs.items.KINDS`).
MODALITIES = frozenset({"text", "image", "audio", "video", "pdf"})
#: Every answer of an embedsim emulator (:mod:`embedsim.testing`) carries this header, so the
#: recording layer refuses to store it under a vendor's model id.
EMULATOR_HEADER = "X-Embedsim-Emulator"


class Secret(str):
    """An API key: the string itself wherever it is used, ``'[redacted]'`` wherever it is
    shown by ``repr`` (tracebacks with ``-l``, ``saferepr``, containers of it)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'[redacted]'"


@runtime_checkable
class Embedder(Protocol):
    """Turns items into L2-normalised vectors, one row per item, in order."""

    model_id: str
    dimension: int

    def embed(self, items: Sequence[Item]) -> np.ndarray:
        """Return a ``(len(items), dimension)`` float32 array of unit vectors."""
        ...


@dataclass(frozen=True)
class Wire:
    """How a remote backend's HTTP calls look - the facts the vendor-neutral recording layer
    (:mod:`embedsim.recording`) reads to filter, digest and match them. Declared once, in the
    backend's :class:`BackendSpec`; nothing outside the backend's folder names them.

    ``official_hosts``: the vendor's endpoint hosts, each a regular expression (full match,
    so regional hosts fit one pattern); answers from another host are flagged.
    ``credential_headers`` / ``credential_params``: header names (any case) and query
    parameters that carry credentials or change on every call (a key, a bearer token, SigV4's
    ``X-Amz-Date``): never written to a cassette, never compared.
    ``credential_patterns``: regular expressions of credentials as they appear in text (a key's
    shape, a signed header's value in a log line): redacted from every message and log record
    (:mod:`embedsim.backends.redaction`); a named group ``secret`` narrows the replacement to it.
    ``media_paths``: where base64 media sits in a JSON request body, as dotted key paths
    (``[]`` for every element of a list, ``**`` for any depth), e.g.
    ``"inputs[].content[].image_base64"``; the value may be plain base64 or a ``data:`` URI.
    A cassette stores each as ``sha256:<hex>`` of the decoded bytes (an item's digest).
    ``dimension_paths`` / ``task_paths``: where a request body states the output size and the
    task (dotted key paths as ``media_paths``), which provenance reports as sent.
    ``call_path``: a regular expression searched in the URL path whose ``call`` group is the
    part that identifies a call (model and method); the rest of the path (an API version, a
    gateway's prefix, a project and region) is not compared, so a recording made through
    another base URL replays against the default one. ``None``: the whole path. An optional
    ``version`` group is the API version the call was made on (recorded in provenance).
    ``credential_urls``: regular expressions (full match on the URL) of the SDK's own credential
    exchanges (an OAuth token endpoint, STS, SSO, a metadata server): their answers carry secrets
    (access tokens, session keys), so they are never recorded or replayed - the recording layer
    lets them through live (vcr's ``before_record_request`` returning ``None``).
    ``base_url_env``: environment variables that point the endpoint elsewhere (a gateway,
    a test server). ``default_api_version`` and ``default_timeout`` (seconds per attempt)
    are what the backend uses unless told otherwise.
    """

    official_hosts: tuple[str, ...]
    credential_headers: tuple[str, ...] = ()
    credential_params: tuple[str, ...] = ()
    credential_patterns: tuple[str, ...] = ()
    media_paths: tuple[str, ...] = ()
    dimension_paths: tuple[str, ...] = ()
    task_paths: tuple[str, ...] = ()
    call_path: str | None = None
    credential_urls: tuple[str, ...] = ()
    base_url_env: tuple[str, ...] = ()
    default_api_version: str | None = None
    default_timeout: float = 60.0


@dataclass(frozen=True)
class BackendSpec:
    """The facts of one backend, declared once.

    ``model_ids`` are the known ids (listed in messages); ``id_pattern`` (a regular
    expression, full match) accepts further ids, e.g. new model versions.
    ``modalities`` are the item kinds the backend accepts; ``model_modalities`` narrows
    them per model: ``(pattern, kinds)`` pairs, the first full match wins.
    ``local``: computed on this machine (no network, no cassette) - the one place this fact lives.
    ``key_env`` are the environment variables of the API key, first non-empty wins.
    ``dimensions`` is the accepted (min, max) output size. ``grouping`` says how contents
    are grouped per call. ``description`` is how reports name the model (e.g. a baseline).
    """

    name: str
    model_ids: tuple[str, ...]
    id_pattern: str | None
    modalities: frozenset[str]
    local: bool
    key_env: tuple[str, ...]
    dimensions: tuple[int, int]
    default_dimension: int
    grouping: str
    factory: str
    model_modalities: tuple[tuple[str, frozenset[str]], ...] = ()
    description: str = ""
    #: A control without semantics (the ``pixels`` baseline): its values across media are noise.
    baseline: bool = False
    #: A remote backend's HTTP facts (``None`` for a local backend).
    wire: Wire | None = None
    #: ``(model id pattern, max tokens)`` pairs, first full match wins: the longest text a
    #: model takes (estimated by :func:`embedsim.inputs.items.estimate_tokens`); no limit if none matches.
    text_limits: tuple[tuple[str, int], ...] = ()
    #: Credentials that are not an API-key variable (a cloud SDK's chain: AWS profiles and roles,
    #: Google Application Default Credentials): ``"module:function"``, imported when asked and
    #: called as ``function(environ) -> str | None`` - where credentials were found (never the
    #: secret itself) or ``None``. It must not use the network. With such credentials and no API
    #: key, a recording gives the factory ``api_key=None`` (the SDK's own chain); a replay gives it
    #: the placeholder key as always, which the backend uses instead of any credentials.
    credentials: str | None = None
    #: Variables that name those credentials (``AWS_PROFILE``), shown in messages and record
    #: commands after :attr:`key_env`.
    credential_env: tuple[str, ...] = ()
    #: The vendor's batch service, if the backend sends jobs to one (its factory then takes
    #: ``batch=``, e.g. :class:`embedsim.backends.gemini.batch.BatchMode`): named in messages; empty: none.
    batch: str = ""
    _compiled: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unknown = {*self.modalities, *(k for _p, kinds in self.model_modalities for k in kinds)} - MODALITIES
        if unknown:
            raise ValueError(f"backend {self.name}: unknown modalities {sorted(unknown)}; use {sorted(MODALITIES)}")
        low, high = self.dimensions
        if not 1 <= low <= self.default_dimension <= high:
            raise ValueError(f"backend {self.name}: default dimension {self.default_dimension} not in {low}..{high}")
        object.__setattr__(self, "_compiled", re.compile(self.id_pattern) if self.id_pattern else None)

    def matches(self, model_id: str) -> bool:
        """True when this backend serves ``model_id``."""
        return model_id in self.model_ids or bool(self._compiled and self._compiled.fullmatch(model_id))

    def param_id(self, model_id: str) -> str:
        """The id of ``model_id`` in test names (``test_x[<param id>]``), hence in snapshot file
        names: the model id itself unless it holds characters syrupy drops from file names
        (a backend whose ids do overrides this with a readable, collision-free form)."""
        return model_id

    def modalities_of(self, model_id: str) -> frozenset[str]:
        """The item kinds ``model_id`` accepts."""
        for pattern, kinds in self.model_modalities:
            if re.fullmatch(pattern, model_id):
                return kinds
        return self.modalities

    def accepts(self, model_id: str, kind: str) -> bool:
        """True when ``model_id`` can embed items of ``kind``."""
        return kind in self.modalities_of(model_id)

    def text_limit(self, model_id: str) -> int | None:
        """The most tokens a text of ``model_id`` may have (:attr:`text_limits`), or ``None``."""
        return next((limit for pattern, limit in self.text_limits if re.fullmatch(pattern, model_id)), None)

    def check_items(self, model_id: str, items: Sequence[Item]) -> None:
        """Refuse, before any call, an item of a kind ``model_id`` cannot embed and a text over
        its :meth:`text_limit`."""
        kinds = self.modalities_of(model_id)
        limit = self.text_limit(model_id)
        for item in items:
            if item.kind not in kinds:
                raise NotApplicable(
                    f"{model_id}: item {item.describe()} is {item.kind}, but {model_id} embeds "
                    f"{', '.join(sorted(kinds))} only"
                )
            if limit is not None and item.kind == "text":
                from embedsim.inputs.items import BYTES_PER_TOKEN, estimate_tokens

                tokens = estimate_tokens(item.data.decode("utf-8", "replace"))
                if tokens > limit:
                    raise InputError(
                        f"{model_id}: item {item.describe()} is about {tokens} tokens (estimated at "
                        f"{BYTES_PER_TOKEN} bytes per token), over the {limit}-token input limit of {model_id}; "
                        "shorten or split it")

    def check_dimension(self, model_id: str, dimension: object) -> int:
        """``dimension`` if this backend can produce it, else :class:`InputError`."""
        low, high = self.dimensions
        if isinstance(dimension, bool) or not isinstance(dimension, int) or not low <= dimension <= high:
            raise InputError(
                f"{model_id}: output dimension {dimension!r} is out of range; use an integer from {low} to {high}"
            )
        return dimension

    def api_key(self, environ: Mapping[str, str]) -> str | None:
        """The API key (a :class:`Secret`) from the first non-empty variable of :attr:`key_env`, or ``None``."""
        for name in self.key_env:
            value = environ.get(name, "").strip()
            if value:
                return Secret(value)
        return None

    def credentials_found(self, environ: Mapping[str, str]) -> str | None:
        """Where this backend's credentials were found: ``"an API key"`` (:meth:`api_key`), what
        :attr:`credentials` says, or ``None`` when there are none (always ``None`` for a backend
        declaring neither)."""
        if self.api_key(environ) is not None:
            return "an API key"
        if self.credentials is None:
            return None
        module, _, attribute = self.credentials.partition(":")
        found = getattr(importlib.import_module(module), attribute)(environ)
        return str(found) if found else None

    def load_factory(self) -> Any:
        """The class (or callable) named by :attr:`factory`, imported now."""
        module, _, attribute = self.factory.partition(":")
        target: Any = importlib.import_module(module)
        for part in attribute.split("."):
            target = getattr(target, part)
        return target

    def create(self, model_id: str, dimension: int | None = None, *, api_key: str | None = None,
               timeout: float | None = None, api_version: str | None = None, **options: Any) -> Embedder:
        """An embedder for ``model_id`` at ``dimension`` (default :attr:`default_dimension`): the
        factory called with the keyword arguments of this module's docstring (the remote ones -
        ``api_key``, ``timeout``, ``api_version`` - for a remote backend only)."""
        if not self.matches(model_id):
            raise InputError(f"backend {self.name} does not serve model id {model_id!r}")
        size = self.check_dimension(model_id, self.default_dimension if dimension is None else dimension)
        if not self.local:
            options["api_key"] = Secret(api_key) if api_key else self.api_key(os.environ)
            options.update((k, v) for k, v in (("timeout", timeout), ("api_version", api_version)) if v is not None)
        return self.load_factory()(model_id=model_id, dimension=size, **options)  # type: ignore[no-any-return]


def without_userinfo(url: str) -> str:
    """``url`` without a ``user:password@`` part, fit to be written or shown."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def l2_normalise(vectors: Any, items: Sequence[Item], model_id: str) -> np.ndarray:
    """Rows of ``vectors`` as float32 unit vectors (see :func:`embedsim.backends.vectors.unit_rows`)."""
    from embedsim.backends.vectors import unit_rows

    return unit_rows(vectors, [i.describe() for i in items], model_id).astype("float32", copy=False)
