"""embedsim: test multimodal embedding models the way software is tested.

The public API - what the README teaches - is importable from here::

    from embedsim import Dataset, text_item, load_item, similarity, SimilarityMatrix, Check

Names are imported on first use, so importing the package (as the pytest plugin does in
every run) stays cheap.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from embedsim.errors import BackendError, EmbedsimError, ExpectationFailed, InputError, NotApplicable, RecordingError

if TYPE_CHECKING:
    from embedsim.backends import get_embedder
    from embedsim.backends.base import BackendSpec, Embedder
    from embedsim.expect import Check
    from embedsim.inputs.datasets import Dataset
    from embedsim.inputs.faces import crop_faces
    from embedsim.inputs.items import Item, load_item, text_item
    from embedsim.matrix import SimilarityMatrix, similarity
    from embedsim.plugin.experiments import Experiment

try:
    __version__ = version("pytest-embedsim")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0+unknown"

#: Each public name and the module that defines it.
_LAZY = {
    "Dataset": "embedsim.inputs.datasets",
    "Item": "embedsim.inputs.items",
    "load_item": "embedsim.inputs.items",
    "text_item": "embedsim.inputs.items",
    "crop_faces": "embedsim.inputs.faces",
    "SimilarityMatrix": "embedsim.matrix",
    "similarity": "embedsim.matrix",
    "Check": "embedsim.expect",
    "Experiment": "embedsim.plugin.experiments",
    "BackendSpec": "embedsim.backends.base",
    "Embedder": "embedsim.backends.base",
    "get_embedder": "embedsim.backends",
}

__all__ = [
    "BackendError",
    "BackendSpec",
    "Check",
    "Dataset",
    "Embedder",
    "EmbedsimError",
    "ExpectationFailed",
    "Experiment",
    "InputError",
    "Item",
    "NotApplicable",
    "RecordingError",
    "SimilarityMatrix",
    "__version__",
    "crop_faces",
    "get_embedder",
    "load_item",
    "similarity",
    "text_item",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'embedsim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
