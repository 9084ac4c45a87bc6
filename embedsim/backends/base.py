"""The :class:`Embedder` protocol every backend implements, and vector checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from embedsim.errors import BackendError
from embedsim.items import Item

DEFAULT_DIMENSION = 768


@runtime_checkable
class Embedder(Protocol):
    """Turns items into L2-normalised vectors, one row per item, in order."""

    model_id: str
    dimension: int
    #: True for backends that need no network (and therefore no cassette).
    local: bool

    def embed(self, items: Sequence[Item]) -> np.ndarray:
        """Return a ``(len(items), dimension)`` float32 array of unit vectors."""
        ...


def l2_normalise(vectors: np.ndarray, items: Sequence[Item], model_id: str) -> np.ndarray:
    """Normalise rows to unit length; a zero, empty or non-finite row is an error naming its item."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(items):
        raise BackendError(
            f"{model_id}: expected {len(items)} vectors, got array of shape {vectors.shape}"
        )
    if vectors.shape[1] == 0:
        raise BackendError(f"{model_id}: returned empty vectors for {len(items)} items")
    norms = np.linalg.norm(vectors, axis=1)
    bad = ~np.isfinite(norms) | (norms == 0)
    if bad.any():
        names = ", ".join(items[i].describe() for i in np.flatnonzero(bad)[:5])
        raise BackendError(f"{model_id}: zero or non-finite vector for {names}")
    return vectors / norms[:, None]
