"""The two things every embedding path does to items and vectors, implemented once:
:func:`distinct` (each identical item embedded once) and :func:`unit_rows` (L2 normalisation)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from embedsim.errors import BackendError, InputError

if TYPE_CHECKING:
    from embedsim.inputs.items import Item


class VectorError(InputError, BackendError):
    """A vector with no direction (zero, empty or non-finite), or the wrong number of them.
    Both an :class:`InputError` (vectors given by a user) and a :class:`BackendError`
    (vectors answered by a backend)."""


def distinct(items: Sequence[Item]) -> tuple[list[Item], list[int]]:
    """``(unique, index)``: the items with duplicates (same kind, MIME type and bytes) left
    out, in first-seen order, and for each input item the position of its unique one."""
    seen: dict[tuple[str, str, str], int] = {}
    unique: list[Item] = []
    index: list[int] = []
    for item in items:
        identity = (item.kind, item.mime_type, item.digest)
        if identity not in seen:
            seen[identity] = len(unique)
            unique.append(item)
        index.append(seen[identity])
    return unique, index


def unit_rows(vectors: Any, labels: Sequence[str], source: str = "") -> np.ndarray:
    """Rows scaled to unit length; float32 stays float32, anything else becomes float64
    (norms are summed in float64). A zero, empty or non-finite row is a :class:`VectorError`
    naming its label (and ``source``, e.g. the model id)."""
    prefix = f"{source}: " if source else ""
    vectors = np.asarray(vectors)
    if vectors.dtype != np.float32:
        vectors = vectors.astype(np.float64)
    if vectors.ndim != 2 or vectors.shape[0] != len(labels):
        raise VectorError(f"{prefix}expected {len(labels)} vectors, got an array of shape {vectors.shape}")
    if vectors.shape[1] == 0 and len(labels):
        raise VectorError(f"{prefix}empty vectors for {len(labels)} items")
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors, dtype=np.float64))
        # finite rows whose squares overflow (x1e200) or underflow (x1e-200): the norm of the row
        # divided by its largest |value| times that value - the same direction, no lost range
        rescale = np.flatnonzero((np.isinf(norms) | (norms == 0)) & np.isfinite(vectors).all(axis=1)
                                 & (vectors != 0).any(axis=1))
        for i in rescale:
            largest = np.abs(vectors[i]).max().astype(np.float64)
            norms[i] = largest * np.sqrt(np.sum((vectors[i].astype(np.float64) / largest) ** 2))
    bad = np.flatnonzero(~np.isfinite(norms) | (norms == 0))
    if bad.size:
        names = ", ".join(labels[i] for i in bad[:5])
        raise VectorError(f"{prefix}zero or non-finite vector for {names}: it has no direction to compare")
    return vectors / norms[:, None].astype(vectors.dtype)
