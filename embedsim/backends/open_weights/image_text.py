"""``hf:`` models: transformers' image-text models (CLIP, SigLIP, SigLIP 2) through ``AutoModel``
and ``AutoProcessor``, texts through ``get_text_features`` and images through
``get_image_features`` into one shared space. Loaded from the located folder only
(``local_files_only``), in float32, ``eval()``."""

from __future__ import annotations

from typing import Any

from embedsim.backends.open_weights import runtime
from embedsim.backends.open_weights.embedder import OpenWeightsEmbedder
from embedsim.backends.open_weights.weights import Weights
from embedsim.errors import InputError

#: Model types whose text tower was trained on texts padded to the processor's maximum length.
PAD_TO_MAX = ("siglip", "siglip2")


class ImageTextEmbedder(OpenWeightsEmbedder):
    """An ``hf:<repo id or folder>`` model; see :class:`OpenWeightsEmbedder`."""

    family = "hf"

    def _load(self, weights: Weights, device: str) -> Any:
        runtime.require("torch")
        transformers = runtime.require("transformers")
        import torch

        model = transformers.AutoModel.from_pretrained(str(weights.folder), local_files_only=True, dtype=torch.float32)
        for method in ("get_text_features", "get_image_features"):
            if not callable(getattr(model, method, None)):
                raise InputError(f"{self.model_id}: {type(model).__name__} has no {method}; hf: serves image-text "
                                 "models (CLIP, SigLIP, SigLIP 2) - use st: for a sentence-transformers text model")
        processor = transformers.AutoProcessor.from_pretrained(str(weights.folder), local_files_only=True)
        model.to(device).eval()
        return model, processor

    def _native_dimension(self, model: Any) -> int:
        config = model[0].config
        size = getattr(config, "projection_dim", None) or config.text_config.hidden_size
        return int(size)

    def _texts(self, model: Any, texts: list[str]) -> Any:
        network, processor = model
        padding: Any = "max_length" if network.config.model_type in PAD_TO_MAX else True
        inputs = processor(text=texts, padding=padding, truncation=True, return_tensors="pt")
        return _features(network.get_text_features(**_on(inputs, network)))

    def _images(self, model: Any, images: list[Any]) -> Any:
        network, processor = model
        inputs = processor(images=images, return_tensors="pt")
        return _features(network.get_image_features(**_on(inputs, network)))


def _on(inputs: Any, network: Any) -> dict[str, Any]:
    """The processor's tensors on the model's device (float tensors in its dtype)."""
    out = {}
    for key, value in dict(inputs).items():
        if hasattr(value, "to"):
            value = value.to(network.device, dtype=network.dtype) if value.is_floating_point() else value.to(network.device)
        out[key] = value
    return out


def _features(output: Any) -> Any:
    """transformers 5 answers a model output whose ``pooler_output`` is the projected vector; 4.x a tensor."""
    tensor = output if hasattr(output, "detach") else output.pooler_output
    return tensor.detach().float().cpu().numpy()
