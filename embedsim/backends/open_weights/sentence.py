"""``st:`` models: sentence-transformers models (any text model, and the CLIP models it wraps,
which embed images too), loaded from the located folder only (``local_files_only``), float32, ``eval()``."""

from __future__ import annotations

from typing import Any

from embedsim.backends.open_weights import runtime
from embedsim.backends.open_weights.embedder import OpenWeightsEmbedder
from embedsim.backends.open_weights.weights import Weights


class SentenceEmbedder(OpenWeightsEmbedder):
    """An ``st:<repo id or folder>`` model; see :class:`OpenWeightsEmbedder`."""

    family = "st"

    def _load(self, weights: Weights, device: str) -> Any:
        runtime.require("torch")
        st = runtime.require("sentence_transformers")
        model = st.SentenceTransformer(str(weights.folder), device=device, local_files_only=True)
        return model.float().eval()

    def _native_dimension(self, model: Any) -> int:
        size = (getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)()
        if size is None:  # a model that does not declare it: ask it
            size = len(model.encode(["x"], convert_to_numpy=True)[0])
        return int(size)

    def _texts(self, model: Any, texts: list[str]) -> Any:
        return self._encode(model, texts)

    def _images(self, model: Any, images: list[Any]) -> Any:
        return self._encode(model, images)

    def _encode(self, model: Any, inputs: list[Any]) -> Any:
        return model.encode(inputs, batch_size=len(inputs), convert_to_numpy=True, normalize_embeddings=False,
                            show_progress_bar=False)
