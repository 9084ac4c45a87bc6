"""Faces in images: dlib's frontal face detector, and an item transform that crops to the face.

:func:`largest_face` finds the largest face of an image with dlib's HOG frontal face
detector (built into dlib, no weights file; the image is upsampled once, so faces from
about 40 px are found). :func:`crop_faces` turns image items into crops of their largest
face with a margin, so that any model can be tested on faces without their backdrop::

    from embedsim.inputs.faces import crop_faces
    m = experiment.similarity(crop_faces(faces.select(medium="photo")))

A crop's id is ``<id> (crop)`` and carries the item's labels plus
``crop = "face"``; its bytes are a deterministic PNG of the source pixels (no
resampling), so the same image gives the same crop on any machine. Crops are cached
per process (one test run; ``-n 2`` workers each keep their own). An image with no
detectable face is an :class:`InputError` naming the item.

Needs dlib (the ``faces`` extra: ``pip install 'pytest-embedsim[faces]'``); this module imports
it only when a face is looked for. The ``dlib-face`` backend uses the same detector.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from types import ModuleType
from typing import Any

from embedsim.errors import InputError
from embedsim.inputs.image_bytes import encode_png
from embedsim.inputs.items import Item

#: Each side of the face box grows by this fraction of its size (then clipped to the image):
#: the whole face with little of its backdrop.
MARGIN = 0.1
#: The detector looks at the image upsampled this many times (1: faces from about 40 px).
UPSAMPLE = 1
#: Label suffix and label value that mark an item as a face crop.
CROP_SUFFIX = " (crop)"
CROP_LABEL = ("crop", "face")


@dataclass(frozen=True)
class Box:
    """A pixel box ``[left, right) x [top, bottom)``; a detection may reach past the image."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def area(self) -> int:
        return max(0, self.right - self.left) * max(0, self.bottom - self.top)

    def grown(self, margin: float, width: int, height: int) -> Box:
        """This box with ``margin`` x its size added on each side, clipped to ``width`` x ``height``."""
        dx = round((self.right - self.left) * margin)
        dy = round((self.bottom - self.top) * margin)
        return Box(max(0, self.left - dx), max(0, self.top - dy),
                   min(width, self.right + dx), min(height, self.bottom + dy))


#: How to get dlib and its weights.
INSTALL_HINT = "install the faces extra: pip install 'pytest-embedsim[faces]' (dlib-bin and face-recognition-models)"

def require_dlib() -> ModuleType:
    """The ``dlib`` module, or :class:`InputError` saying how to install it."""
    try:
        import dlib
    except ImportError as exc:
        raise InputError(f"face detection needs dlib ({exc}); {INSTALL_HINT}") from None
    return dlib


@lru_cache(maxsize=1)
def detector() -> Any:
    """dlib's HOG frontal face detector (loaded once per process)."""
    return require_dlib().get_frontal_face_detector()


def rgb_pixels(item: Item) -> Any:
    """The ``(height, width, 3)`` uint8 RGB array of an image item. A high-bit-depth grey
    image is read at its full range, as the ``pixels`` baseline reads it (0..65535 as 0..255:
    :func:`embedsim.inputs.image_bytes.high_depth`), not clipped at 255."""
    import numpy as np
    from PIL import Image

    from embedsim.inputs.image_bytes import HIGH_DEPTH_MODES, high_depth

    if item.kind != "image":
        raise InputError(f"item {item.describe()} is {item.kind}, not an image; faces are found in images only")
    with Image.open(io.BytesIO(item.data)) as image:
        if image.mode in HIGH_DEPTH_MODES:
            grey = np.asarray(high_depth(image), dtype=np.uint32)
            grey8 = ((grey * 255 + 32767) // 65535).astype(np.uint8)  # rounded: 257 * k -> k
            return np.ascontiguousarray(np.repeat(grey8[..., None], 3, axis=2))
        return np.ascontiguousarray(image.convert("RGB"))


def largest_face(pixels: Any) -> Box | None:
    """The largest face :func:`detector` finds in an RGB array (ties: topmost, then leftmost), or ``None``."""
    found = [Box(r.left(), r.top(), r.right() + 1, r.bottom() + 1) for r in detector()(pixels, UPSAMPLE)]
    return min(found, key=lambda b: (-b.area, b.top, b.left), default=None)


def face_box(item: Item, pixels: Any = None) -> Box:
    """The largest face of ``item``; :class:`InputError` naming the item when there is none."""
    box = largest_face(rgb_pixels(item) if pixels is None else pixels)
    if box is None:
        raise InputError(f"item {item.describe()}: no face found (dlib frontal face detector); "
                         "use an image with a frontal face at least 40 px wide, or leave the item out")
    return box


@lru_cache(maxsize=256)
def _crop(item: Item, margin: float) -> bytes:
    from PIL import Image

    pixels = rgb_pixels(item)
    height, width = pixels.shape[:2]
    box = face_box(item, pixels).grown(margin, width, height)
    return encode_png(Image.fromarray(pixels[box.top:box.bottom, box.left:box.right]))


def crop_face(item: Item, margin: float = MARGIN) -> Item:
    """``item`` cropped to its largest face, each side grown by ``margin`` x the face's size."""
    if not 0 <= margin <= 10:
        raise InputError(f"crop margin {margin!r} must be between 0 and 10 (a fraction of the face's size)")
    key, value = CROP_LABEL
    return replace(item, data=_crop(item, float(margin)), mime_type="image/png",
                   id=item.id + CROP_SUFFIX, labels={**item.labels, key: value})


def crop_faces(items: Sequence[Item], margin: float = MARGIN) -> list[Item]:
    """:func:`crop_face` of each item, in order."""
    return [crop_face(item, margin) for item in items]
