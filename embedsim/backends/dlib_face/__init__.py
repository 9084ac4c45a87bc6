"""``dlib-face``: dlib's ResNet face descriptor, a real face-recognition model run locally.

For each image: the largest face found by dlib's frontal face detector
(:func:`embedsim.inputs.faces.largest_face`), aligned with the 5-point landmark model, turned
into dlib's 128-d descriptor (``dlib_face_recognition_resnet_model_v1``: 99.38% on
LFW) and L2-normalised. No jitter, so the same image gives the same vector. Weights come
from the ``face-recognition-models`` package and dlib from the ``dlib-bin`` wheel (the
``faces`` extra); nothing is downloaded at run time. The 68-point landmark model that
package also ships is never loaded (its training data excludes commercial use); the
licences are in ``fixtures/LICENSES.md``.

Images only (:data:`SPEC` declares it): text, audio, video and PDF are refused before any
work with :class:`~embedsim.errors.NotApplicable` (an experiment needing them does not
apply to this model); an image with no face is an :class:`~embedsim.errors.InputError`
naming it. This module imports numpy, Pillow and dlib only when an embedder runs.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedsim.backends.base import BackendSpec, l2_normalise
from embedsim.errors import InputError

if TYPE_CHECKING:
    import numpy as np

    from embedsim.inputs.items import Item

MODEL_ID = "dlib-face"
DIMENSION = 128

SPEC = BackendSpec(
    name=MODEL_ID,
    model_ids=(MODEL_ID,),
    id_pattern=None,
    modalities=frozenset({"image"}),
    local=True,
    key_env=(),
    dimensions=(DIMENSION, DIMENSION),
    default_dimension=DIMENSION,
    grouping="local: each image on its own (largest face, 5-point alignment), no calls",
    factory="embedsim.backends.dlib_face:DlibFaceEmbedder",
    description="dlib ResNet face descriptor, a face-recognition reference",
)
#: The weight files loaded, from the ``face_recognition_models/models`` folder.
LANDMARKS = "shape_predictor_5_face_landmarks.dat"
DESCRIPTOR = "dlib_face_recognition_resnet_model_v1.dat"


def weights_folder() -> Path:
    """``face_recognition_models/models`` of the installed package, found without importing it
    (its ``__init__`` imports ``pkg_resources``, which new setuptools no longer ship)."""
    spec = importlib.util.find_spec("face_recognition_models")
    folder = Path(next(iter(spec.submodule_search_locations or ())), "models") if spec else None
    if folder is None or not (folder / DESCRIPTOR).is_file() or not (folder / LANDMARKS).is_file():
        from embedsim.inputs.faces import INSTALL_HINT

        raise InputError(f"{MODEL_ID}: the weights of face-recognition-models are not installed; {INSTALL_HINT}")
    return folder


@lru_cache(maxsize=1)
def _models() -> tuple[Any, Any]:
    """(5-point landmark predictor, ResNet descriptor), loaded once per process."""
    from embedsim.inputs.faces import require_dlib

    dlib = require_dlib()
    folder = weights_folder()
    return dlib.shape_predictor(str(folder / LANDMARKS)), dlib.face_recognition_model_v1(str(folder / DESCRIPTOR))


class DlibFaceEmbedder:
    """The ``dlib-face`` model; see the module docstring."""

    def __init__(self, model_id: str = MODEL_ID, dimension: int | None = None) -> None:
        dimension = DIMENSION if dimension is None else dimension
        if dimension != DIMENSION:
            raise InputError(f"{model_id}: the face descriptor has {DIMENSION} dimensions, not {dimension!r}; "
                             f"use --embedsim-dimension {DIMENSION} or leave it unset")
        self.model_id = model_id
        self.dimension = dimension

    def embed(self, items: Sequence[Item]) -> np.ndarray:
        import numpy as np

        from embedsim.inputs.faces import face_box, require_dlib, rgb_pixels

        SPEC.check_items(self.model_id, items)  # images only, before any work
        if not items:
            return np.zeros((0, self.dimension), dtype=np.float32)
        dlib = require_dlib()
        landmarks, descriptor = _models()
        vectors = []
        for item in items:
            pixels = rgb_pixels(item)
            box = face_box(item, pixels)
            shape = landmarks(pixels, dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1))
            vectors.append(np.asarray(descriptor.compute_face_descriptor(pixels, shape, 0), dtype=np.float64))
        return l2_normalise(np.stack(vectors), items, self.model_id)
