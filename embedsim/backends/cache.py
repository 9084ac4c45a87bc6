"""An opt-in persistent, content-addressed embedding cache (one ``.npy`` file per key).

The key is a SHA-256 over endpoint, model id, output dimension, task, item kind and digest,
so the same bytes embedded the same way are requested once, across runs and processes.
Files live in a sharded tree ``<dir>/<key[:2]>/<key>.npy`` and are written atomically
(temporary file in the same folder, then :func:`os.replace`), so concurrent processes
and interrupted runs never leave a half-written entry visible; an unreadable entry is
treated as missing. A folder that cannot be written (a file, a full disk, no permission)
costs nothing but the caching: the vectors of the run are kept, and one
:class:`CacheWarning` says what is wrong. Keep it out of recorded pytest runs: a cassette must not depend on
what an earlier run left in a cache.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import warnings
from pathlib import Path

import numpy as np

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
