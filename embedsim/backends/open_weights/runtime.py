"""How open models run here: the device, the batch size, images as RGB pictures for a model's own
processor, and one loaded model per process and folder (imports torch)."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, TypeVar

from embedsim.errors import InputError

if TYPE_CHECKING:
    from PIL import Image

    from embedsim.inputs.items import Item

DEVICE_ENV = "EMBEDSIM_DEVICE"
BATCH_SIZE_ENV = "EMBEDSIM_BATCH_SIZE"
DEFAULT_BATCH_SIZE = 32
INSTALL_HINT = "install the local extra: pip install 'embedsim[local]'"
#: Models kept loaded per process (each test makes a new embedder; the weights load once).
LOADED_MODELS = 2
T = TypeVar("T")


def require(module: str) -> Any:
    """Import ``module`` (torch, transformers, sentence_transformers) or say how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise InputError(f"open-weights models need {module.split('.')[0]}: {INSTALL_HINT} ({exc})") from None


def device(requested: str | None = None) -> str:
    """``requested``, else ``EMBEDSIM_DEVICE``, else ``cuda`` or ``mps`` when present, else ``cpu``."""
    torch = require("torch")
    name = (requested or os.environ.get(DEVICE_ENV, "")).strip()
    if name:
        try:
            torch.device(name)
        except RuntimeError as exc:
            raise InputError(f"device {name!r} is not a torch device ({exc}); use cpu, cuda, cuda:1 or mps") from None
        return name
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    return "mps" if mps is not None and mps.is_available() else "cpu"


def batch_size(requested: int | None = None) -> int:
    """``requested``, else ``EMBEDSIM_BATCH_SIZE``, else :data:`DEFAULT_BATCH_SIZE` (a positive integer)."""
    raw: object = requested if requested is not None else os.environ.get(BATCH_SIZE_ENV, "").strip() or DEFAULT_BATCH_SIZE
    try:
        size = int(str(raw)) if not isinstance(raw, bool) else 0
    except ValueError:
        size = 0
    if size < 1:
        source = "batch_size" if requested is not None else BATCH_SIZE_ENV
        raise InputError(f"{source} {raw!r} is not a positive integer")
    return size


def batches(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def rgb_image(item: Item) -> Image.Image:
    """An image item as an 8-bit RGB picture for a model's processor: transparency composited on
    white, high bit depth scaled to 8 bits (the processor does the resizing and normalising)."""
    from PIL import Image

    from embedsim.inputs.image_bytes import HIGH_DEPTH_MODES, high_depth

    with Image.open(io.BytesIO(item.data)) as image:
        image.load()
        if image.mode in HIGH_DEPTH_MODES:
            import numpy as np

            levels = np.asarray(high_depth(image), dtype=np.float64) / 257.0
            return Image.fromarray(levels.round().astype(np.uint8)).convert("RGB")
        if image.has_transparency_data:
            background = Image.new("RGBA", image.size, (255, 255, 255))
            return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")
        return image.convert("RGB")


def library_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


_LOADED: dict[tuple[str, ...], Any] = {}


def loaded(key: tuple[str, ...], load: Callable[[], T]) -> T:
    """The model of ``key`` (family, folder, revision, device), loaded once per process; at most
    :data:`LOADED_MODELS` are kept (the oldest is dropped)."""
    if key not in _LOADED:
        while len(_LOADED) >= LOADED_MODELS:
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[key] = load()
    return _LOADED[key]  # type: ignore[no-any-return]


def forget_models() -> None:
    """Drop every loaded model (tests use it to load again)."""
    _LOADED.clear()
