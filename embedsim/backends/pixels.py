"""``pixels``: a deterministic local baseline embedder - a scientific control, not a model.

Images become a small fixed-size RGB thumbnail whose pixels are centred,
L2-normalised and projected to ``dimension`` with a fixed-seed Gaussian random
projection. Text becomes hashed character n-grams (1-3) in the same space; audio,
video and PDF become hashed byte 4-grams. It needs no network and no weights, and the
same input gives the same vector on any machine.

It has **no semantics and no cross-modal alignment**: an image-vs-text similarity
from it is noise around zero. It shows what raw pixels alone already reproduce
(e.g. tiles of one photo shoot resembling each other), which is why every
experiment runs it beside the real model.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from PIL import Image

from embedsim.backends.base import DEFAULT_DIMENSION, l2_normalise
from embedsim.items import Item

THUMBNAIL = 24  # px; 24 x 24 x 3 = 1728 pixel features
SEED = 20260310


@lru_cache(maxsize=8)
def _projection(dimension: int) -> np.ndarray:
    rng = np.random.default_rng(SEED)
    return (rng.standard_normal((THUMBNAIL * THUMBNAIL * 3, dimension)) / np.sqrt(dimension)).astype(np.float64)


def image_features(data: bytes) -> np.ndarray:
    """Centred, unit-length pixels of a ``THUMBNAIL`` x ``THUMBNAIL`` RGB thumbnail."""
    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB").resize((THUMBNAIL, THUMBNAIL), Image.Resampling.BILINEAR)
    pixels = np.asarray(rgb, dtype=np.float64).ravel() / 255.0
    pixels -= pixels.mean()
    norm = np.linalg.norm(pixels)
    return pixels / norm if norm else pixels


def hashed_ngrams(tokens: Sequence[bytes], dimension: int) -> np.ndarray:
    """Signed feature hashing of ``tokens`` into ``dimension`` buckets."""
    vector = np.zeros(dimension, dtype=np.float64)
    for token in tokens:
        h = int.from_bytes(hashlib.blake2b(token, digest_size=8).digest(), "little")
        vector[h % dimension] += 1.0 if (h >> 63) & 1 else -1.0
    return vector


def _text_tokens(text: str) -> list[bytes]:
    padded = f" {text.lower()} "
    return [padded[i : i + n].encode() for n in (1, 2, 3) for i in range(len(padded) - n + 1)]


def _byte_tokens(data: bytes) -> list[bytes]:
    return [data[i : i + 4] for i in range(0, max(len(data) - 3, 1))]


class PixelEmbedder:
    """The offline baseline (model id ``pixels``); see the module docstring."""

    local = True

    def __init__(self, dimension: int = DEFAULT_DIMENSION, model_id: str = "pixels") -> None:
        self.model_id = model_id
        self.dimension = dimension

    def embed_one(self, item: Item) -> np.ndarray:
        if item.kind == "image":
            vector = image_features(item.data) @ _projection(self.dimension)
        elif item.kind == "text":
            vector = hashed_ngrams(_text_tokens(item.text), self.dimension)
        else:
            vector = hashed_ngrams(_byte_tokens(item.data), self.dimension)
        if not np.any(vector):  # e.g. a flat single-colour image: keep it finite and non-zero
            vector = hashed_ngrams([item.data[:64] or b"\0"], self.dimension)
        return vector

    def embed(self, items: Sequence[Item]) -> np.ndarray:
        if not items:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return l2_normalise(np.stack([self.embed_one(i) for i in items]), items, self.model_id)
