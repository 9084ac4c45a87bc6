"""``pixels``: a deterministic local baseline embedder - a scientific control, not a model.

Images become a small fixed-size RGB thumbnail whose pixels are centred,
L2-normalised and projected to ``dimension`` with a fixed-seed Gaussian random
projection. Text becomes hashed character n-grams (1-3) in the same space; audio,
video and PDF become hashed byte 4-grams (of their first 8 MiB). An image with no
pixel variation (one flat colour) carries no information once centred: it gets a
direction hashed from its digest. A transparent image is first composited on
:data:`BACKGROUND` (white), so hidden pixels do not count; a 16-bit image is read at its
full range (0..65535 as 0..1). Gemini gets the image as it is. It needs no network and no weights, and the
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
from typing import TYPE_CHECKING

from embedsim.backends.base import DEFAULT_DIMENSION, MODALITIES, BackendSpec, l2_normalise

if TYPE_CHECKING:  # numpy and Pillow are imported when an embedder runs: the spec stays cheap
    import numpy as np
    from PIL import Image

    from embedsim.inputs.items import Item

MODEL_ID = "pixels"
SPEC = BackendSpec(
    name="pixels",
    model_ids=(MODEL_ID,),
    id_pattern=None,
    modalities=MODALITIES,
    local=True,
    key_env=(),
    dimensions=(1, 65536),
    default_dimension=DEFAULT_DIMENSION,
    grouping="local: each item on its own, no calls",
    factory="embedsim.backends.pixels:PixelEmbedder",
    description="baseline, no semantics",
    baseline=True,
)

THUMBNAIL = 24  # px; 24 x 24 x 3 = 1728 pixel features
#: Audio, video and PDF are hashed from their first 8 MiB (same input, same vector; bounded work).
MAX_HASHED_BYTES = 8 * 1024 * 1024
SEED = 20260310
#: The colour transparent images are composited on before their pixels are read.
BACKGROUND = (255, 255, 255)


@lru_cache(maxsize=8)
def _projection(dimension: int) -> np.ndarray:
    import numpy as np

    rng = np.random.default_rng(SEED)
    return (rng.standard_normal((THUMBNAIL * THUMBNAIL * 3, dimension)) / np.sqrt(dimension)).astype(np.float64)


def image_features(data: bytes) -> np.ndarray:
    """Centred, unit-length pixels of a ``THUMBNAIL`` x ``THUMBNAIL`` RGB thumbnail."""
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        pixels = _rgb_thumbnail(image).ravel()
    pixels -= pixels.mean()
    norm = np.linalg.norm(pixels)
    return pixels / norm if norm else pixels


def _rgb_thumbnail(image: Image.Image) -> np.ndarray:
    """The ``THUMBNAIL`` x ``THUMBNAIL`` x 3 thumbnail with channels in 0..1."""
    import numpy as np
    from PIL import Image

    from embedsim.inputs.image_bytes import HIGH_DEPTH_MODES, high_depth

    size = (THUMBNAIL, THUMBNAIL)
    if image.mode in HIGH_DEPTH_MODES:  # resized as 32-bit float, so no level is lost
        grey = high_depth(image).convert("F").resize(size, Image.Resampling.BILINEAR)
        return np.repeat(np.asarray(grey, dtype=np.float64)[..., None] / 65535.0, 3, axis=2)
    if image.has_transparency_data:
        background = Image.new("RGBA", image.size, BACKGROUND)
        image = Image.alpha_composite(background, image.convert("RGBA"))
    rgb = image.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    return np.asarray(rgb, dtype=np.float64) / 255.0


def hashed_ngrams(tokens: Sequence[bytes], dimension: int) -> np.ndarray:
    """Signed feature hashing of ``tokens`` into ``dimension`` buckets."""
    import numpy as np

    vector = np.zeros(dimension, dtype=np.float64)
    for token in tokens:
        h = int.from_bytes(hashlib.blake2b(token, digest_size=8).digest(), "little")
        vector[h % dimension] += 1.0 if (h >> 63) & 1 else -1.0
    return vector


def _text_tokens(text: str) -> list[bytes]:
    padded = f" {text.lower()} "
    return [padded[i : i + n].encode() for n in (1, 2, 3) for i in range(len(padded) - n + 1)]


def hashed_byte_grams(data: bytes, dimension: int) -> np.ndarray:
    """Signed feature hashing of the byte 4-grams of the first :data:`MAX_HASHED_BYTES`
    bytes (vectorised: a multiplicative hash of each 4-gram as an integer)."""
    import numpy as np

    raw = np.frombuffer(data[:MAX_HASHED_BYTES].ljust(4, b"\0"), dtype=np.uint8).astype(np.uint64)
    grams = raw[:-3] << np.uint64(24) | raw[1:-2] << np.uint64(16) | raw[2:-1] << np.uint64(8) | raw[3:]
    with np.errstate(over="ignore"):
        h = grams * np.uint64(0x9E3779B97F4A7C15)
    h ^= h >> np.uint64(29)
    signs = np.where(h >> np.uint64(63), 1.0, -1.0)
    return np.bincount((h % np.uint64(dimension)).astype(np.intp), weights=signs, minlength=dimension)


class PixelEmbedder:
    """The offline baseline (model id ``pixels``); see the module docstring."""

    def __init__(self, model_id: str = MODEL_ID, dimension: int | None = None) -> None:
        self.model_id = model_id
        self.dimension = DEFAULT_DIMENSION if dimension is None else dimension

    def embed_one(self, item: Item) -> np.ndarray:
        import numpy as np

        if item.kind == "image":
            vector = image_features(item.data) @ _projection(self.dimension)
        elif item.kind == "text":
            vector = hashed_ngrams(_text_tokens(item.text), self.dimension)
        else:
            vector = hashed_byte_grams(item.data, self.dimension)
        if not np.any(vector):  # e.g. a flat single-colour image: no pixel information, a random direction
            vector = hashed_ngrams([item.digest.encode()], self.dimension)
        return vector

    def embed(self, items: Sequence[Item]) -> np.ndarray:
        import numpy as np

        if not items:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return l2_normalise(np.stack([self.embed_one(i) for i in items]), items, self.model_id)
