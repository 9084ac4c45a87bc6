"""An opt-in persistent, content-addressed embedding cache (one ``.npy`` file per key), and
:class:`CachedEmbedder`, which puts it in front of any :class:`~embedsim.backends.base.Embedder`
(as mteb's ``CachedEmbeddingWrapper`` does): only the items not cached yet reach the embedder.

The key is a SHA-256 over endpoint, model id, output dimension, task, item kind and digest,
so the same bytes embedded the same way are requested once, across runs and processes.
Files live in a sharded tree ``<dir>/<key[:2]>/<key>.npy`` and are written atomically
(temporary file in the same folder, then :func:`os.replace`), so concurrent processes
and interrupted runs never leave a half-written entry visible; an unreadable entry is
treated as missing. A folder that cannot be written (a file, a full disk, no permission)
costs nothing but the caching: the vectors of the run are kept, and one
:class:`CacheWarning` says what is wrong.

It is for the command line (``embedsim matrix --cache DIR``) and scripts, never used in a
pytest run: one test = one self-contained cassette, which must not depend on what an earlier
run left in a cache (neither :mod:`embedsim.plugin` nor :mod:`embedsim.recording` imports this module).
"""

from __future__ import annotations

import errno
import hashlib
import inspect
import io
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embedsim.backends.base import Embedder
from embedsim.backends.vectors import distinct
from embedsim.errors import BackendError
from embedsim.files import atomic_write
from embedsim.inputs.items import Item

#: Bump when the stored format or key recipe changes.
CACHE_VERSION = "2"


class CacheWarning(UserWarning):
    """The cache folder cannot be written; the run goes on without storing vectors."""


class EmbeddingCache:
    """Vectors by content key in ``directory`` (created on first write)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory).expanduser()
        self._warned = False

    @staticmethod
    def key(model_id: str, dimension: int, task: str | None, item: Item, endpoint: str = "") -> str:
        """The content address of ``item`` embedded by ``model_id`` at ``dimension`` for ``task``,
        as served by ``endpoint`` (so an emulator's or a proxy's answers never pass for the service's)."""
        recipe = "\0".join((CACHE_VERSION, endpoint, model_id, str(dimension), task or "", item.kind, item.digest))
        return hashlib.sha256(recipe.encode("utf-8")).hexdigest()

    def path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        """The stored vector, or ``None`` when missing or unreadable."""
        try:
            vector = np.load(self.path(key), allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None
        return vector if vector.ndim == 1 and vector.size else None

    def put(self, key: str, vector: np.ndarray) -> None:
        """Store ``vector`` (as float32) atomically under ``key``; a write error warns once
        (:class:`CacheWarning`) instead of raising, so the caller keeps its vectors."""
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(vector, dtype=np.float32), allow_pickle=False)
        try:
            atomic_write(self.path(key), buffer.getvalue())
        except OSError as exc:
            if not self._warned:
                self._warned = True
                warnings.warn(f"embedding cache {self.directory}: cannot store vectors ({self._problem(exc)}); "
                              "this run keeps its vectors but caches none - fix or change --cache",
                              CacheWarning, stacklevel=2)

    def _problem(self, exc: OSError) -> str:
        """What is wrong with the folder, in words."""
        blocker = next((p for p in (self.directory, *self.directory.parents) if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            return f"{blocker} is a file, not a folder"
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return "the disk is full"
        return exc.strerror or str(exc)

    def __contains__(self, key: str) -> bool:
        return self.path(key).is_file()

    def __len__(self) -> int:
        return sum(1 for _ in self.directory.glob("??/*.npy")) if self.directory.is_dir() else 0

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.directory)!r})"


class CachedEmbedder:
    """``embedder`` with ``cache`` in front: an :class:`~embedsim.backends.base.Embedder` that takes
    cached vectors from ``cache`` and asks ``embedder`` only for the distinct items not in it, in order.

    The key (:meth:`EmbeddingCache.key`) takes the embedder's ``model_id`` and ``dimension``, and
    its ``task`` and ``endpoint`` attributes when it has them (a remote backend's base URL and API
    version: an emulator's or a proxy's vectors never pass for the service's). A cached vector
    of another length, or not finite, counts as missing.

    An embedder whose ``embed`` (and ``aembed``) takes ``received=`` (see
    :mod:`embedsim.backends.base`) has each call's vectors stored as soon as they arrive, so an
    interrupted run keeps what it received; any other embedder's are stored when ``embed`` returns.
    Anything else (``close``, ``client``, ...) is the embedder's.
    """

    def __init__(self, embedder: Embedder, cache: EmbeddingCache) -> None:
        self.inner = embedder
        self.cache = cache
        self.model_id = embedder.model_id
        self.dimension = embedder.dimension

    def embed(self, items: Sequence[Item]) -> np.ndarray:
        """``(len(items), dimension)`` float32 unit rows, the missing ones from the embedder."""
        unique, index, keys, vectors, missing = self._lookup(items)
        if missing:
            received = self._received("embed")
            fresh = self.inner.embed([unique[i] for i in missing], **received)
            self._keep(keys, vectors, missing, fresh, stored=bool(received))
        return self._result(index, vectors)

    async def aembed(self, items: Sequence[Item]) -> np.ndarray:
        """Like :meth:`embed`, through the embedder's ``aembed`` (its ``embed`` if it has none)."""
        unique, index, keys, vectors, missing = self._lookup(items)
        if missing:
            wanted = [unique[i] for i in missing]
            method = "aembed" if callable(getattr(self.inner, "aembed", None)) else "embed"
            received = self._received(method)
            fresh = getattr(self.inner, method)(wanted, **received)
            if method == "aembed":
                fresh = await fresh
            self._keep(keys, vectors, missing, fresh, stored=bool(received))
        return self._result(index, vectors)

    def key(self, item: Item) -> str:
        """The cache key of ``item`` embedded by this embedder."""
        return self.cache.key(self.model_id, self.dimension, getattr(self.inner, "task", None), item,
                              getattr(self.inner, "endpoint", "") or "")

    # -- the embedder's own -------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet (unpickling, a failed __init__): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __enter__(self) -> CachedEmbedder:
        return self

    def __exit__(self, *exc: object) -> None:
        close = getattr(self.inner, "close", None)
        if callable(close):
            close()

    def __repr__(self) -> str:
        return f"CachedEmbedder({self.inner!r}, {self.cache!r})"

    # -- helpers --------------------------------------------------------------------------------
    def _lookup(self, items: Sequence[Item]) -> tuple[list[Item], list[int], list[str], list[np.ndarray | None], list[int]]:
        unique, index = distinct(list(items))
        keys = [self.key(item) for item in unique]
        vectors: list[np.ndarray | None] = []
        for key in keys:
            vector = self.cache.get(key)
            fits = vector is not None and vector.shape == (self.dimension,) and bool(np.isfinite(vector).all())
            vectors.append(vector if fits else None)
        return unique, index, keys, vectors, [i for i, v in enumerate(vectors) if v is None]

    def _received(self, method: str) -> dict[str, Any]:
        """``{"received": store}`` when the embedder's ``method`` takes it, else nothing."""
        try:
            takes = "received" in inspect.signature(getattr(self.inner, method)).parameters
        except (TypeError, ValueError):
            takes = False
        return {"received": self._store} if takes else {}

    def _store(self, items: Sequence[Item], vectors: np.ndarray) -> None:
        for item, vector in zip(items, vectors):
            self.cache.put(self.key(item), vector)

    def _keep(self, keys: list[str], vectors: list[np.ndarray | None], missing: list[int], fresh: np.ndarray,
              *, stored: bool) -> None:
        """The embedder's answer into ``vectors`` (and into the cache unless already ``stored`` call by call)."""
        fresh = np.asarray(fresh, dtype=np.float32)
        if fresh.shape != (len(missing), self.dimension):
            raise BackendError(f"{self.model_id}: asked for {len(missing)} vectors of {self.dimension} values, "
                               f"got an array of shape {fresh.shape}")
        for i, vector in zip(missing, fresh):
            vectors[i] = vector
            if not stored:
                self.cache.put(keys[i], vector)

    def _result(self, index: list[int], vectors: list[np.ndarray | None]) -> np.ndarray:
        if not index:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([vectors[i] for i in index]).astype(np.float32)  # type: ignore[misc]
