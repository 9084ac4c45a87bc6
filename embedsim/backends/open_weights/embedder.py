"""What the ``hf:`` and ``st:`` embedders share: the weights, the checks before any work, batches
of distinct items with a progress bar, and unit float32 vectors (:class:`OpenWeightsEmbedder`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from embedsim.backends.base import l2_normalise
from embedsim.backends.open_weights import SPECS, runtime
from embedsim.backends.open_weights.weights import LIBRARIES, Weights, locate
from embedsim.backends.progress import Progress, ProgressOption
from embedsim.backends.vectors import distinct
from embedsim.errors import InputError

if TYPE_CHECKING:
    import numpy as np

    from embedsim.inputs.items import Item


class OpenWeightsEmbedder:
    """An open model run here. ``dimension``: ``None`` for the model's own (any other value must
    equal it); ``device``, ``batch_size``: see :mod:`.runtime`; ``progress``: a bar on a terminal
    (:mod:`embedsim.backends.progress`); ``download``: allow fetching missing weights (see
    :func:`.weights.locate`)."""

    family = ""

    def __init__(self, model_id: str, dimension: int | None = None, *, batch_size: int | None = None,
                 progress: ProgressOption = None, device: str | None = None, download: bool | None = None) -> None:
        self.model_id = model_id
        self.spec = SPECS[self.family]
        self._requested = dimension
        self._device = device
        self.batch_size = runtime.batch_size(batch_size)
        self.progress = progress
        self._download = download
        self._weights: Weights | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.model_id}>"

    @property
    def weights(self) -> Weights:
        """Where the weights are and their revision (located on first use, never downloaded
        unless allowed)."""
        if self._weights is None:
            self._weights = locate(self.model_id, download=self._download)
        return self._weights

    @property
    def device(self) -> str:
        if self._device is None:
            self._device = runtime.device()
        return self._device

    @property
    def provenance(self) -> dict[str, Any]:
        """The weights this embedder runs: ``model``, ``revision``, ``source``, the library
        and torch versions, device and dtype - what the report shows per model."""
        library = LIBRARIES[self.family]
        return {"model": self.model_id, "revision": self.weights.revision, "source": self.weights.source,
                "library": f"{library} {runtime.library_version(library)}",
                "torch": runtime.library_version("torch"), "device": self.device, "dtype": "float32"}

    @property
    def dimension(self) -> int:
        """The model's output size (loads the model)."""
        return self._native_dimension(self._model())

    def _model(self) -> Any:
        weights = self.weights
        key = (self.family, str(weights.folder), weights.revision, self.device)
        model = runtime.loaded(key, lambda: self._load(weights, self.device))
        size = self._native_dimension(model)
        if self._requested is not None and self._requested != size:
            raise InputError(f"{self.model_id}: the model gives {size} dimensions, not {self._requested}; "
                             f"use --embedsim-dimension {size} or leave it unset")
        return model

    def embed(self, items: Sequence[Item]) -> np.ndarray:
        import numpy as np

        self.spec.check_items(self.model_id, items)  # kinds the model cannot embed: before any work
        unique, index = distinct(items)
        model = self._model()
        size = self._native_dimension(model)
        out = np.zeros((len(unique), size), dtype=np.float32)
        by_kind: dict[str, list[int]] = {}
        for position, item in enumerate(unique):
            by_kind.setdefault(item.kind, []).append(position)
        torch = runtime.require("torch")
        with Progress(self.progress, len(unique), self.model_id) as bar, torch.inference_mode():
            for kind, positions in sorted(by_kind.items()):
                for batch in runtime.batches(positions, self.batch_size):
                    chosen = [unique[p] for p in batch]
                    vectors = (self._texts(model, [i.text for i in chosen]) if kind == "text"
                               else self._images(model, [runtime.rgb_image(i) for i in chosen]))
                    out[list(batch)] = np.asarray(vectors, dtype=np.float32)
                    bar.update(len(batch))
        return l2_normalise(out[index] if items else out[:0], items, self.model_id)

    # -- what each library does -------------------------------------------------------------------
    def _load(self, weights: Weights, device: str) -> Any:
        raise NotImplementedError

    def _native_dimension(self, model: Any) -> int:
        raise NotImplementedError

    def _texts(self, model: Any, texts: list[str]) -> Any:
        raise NotImplementedError

    def _images(self, model: Any, images: list[Any]) -> Any:
        raise NotImplementedError
