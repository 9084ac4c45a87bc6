"""Open models whose weights are on this machine: ``hf:<repo id or folder>`` (transformers'
image-text models: CLIP, SigLIP, SigLIP 2) and ``st:<repo id or folder>`` (sentence-transformers
models: text models, and the CLIP models it wraps).

A repo id (``hf:openai/clip-vit-base-patch32``) is looked up in the local Hugging Face cache
(``HF_HUB_CACHE``, else ``HF_HOME/hub``, else ``~/.cache/huggingface/hub``); anything else that
names a folder (``hf:./models/my-clip``, ``st:/opt/models/minilm``) is used as it is. Nothing is
downloaded unless ``EMBEDSIM_ALLOW_DOWNLOAD=1`` (and never with ``HF_HUB_OFFLINE`` /
``TRANSFORMERS_OFFLINE`` set): missing weights are an error saying where embedsim looked and the
command that fetches them (:mod:`.weights`).

The model's revision - the cached snapshot's commit, or a content hash of a folder's files - is
its provenance (:attr:`Weights.revision`, shown in the report). Which kinds a model embeds is read
from its configuration, so a text-only model refuses an image before any work (not applicable).
Runs on CUDA or MPS when present, else the CPU (``EMBEDSIM_DEVICE`` or ``device=``), in float32,
``eval()`` and without gradients, in batches (``EMBEDSIM_BATCH_SIZE`` or ``batch_size=``, default
32) with a progress bar on a terminal (:mod:`.runtime`). The model code is in :mod:`.image_text`
and :mod:`.sentence`; this module is cheap to import (no torch, no numpy).

Needs the ``local`` extra: ``pip install 'embedsim[local]'``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from embedsim.backends.base import BackendSpec, Embedder
from embedsim.errors import InputError

#: What a model gives when it cannot be read (its weights are missing): the error comes at embed time.
_ANY = frozenset({"text", "image"})


@dataclass(frozen=True)
class OpenWeightsSpec(BackendSpec):
    """A :class:`BackendSpec` whose models' modalities and dimension come from their weights."""

    #: ``"hf"`` (transformers) or ``"st"`` (sentence-transformers): the id's prefix.
    family: str = ""

    def modalities_of(self, model_id: str) -> frozenset[str]:
        from embedsim.backends.open_weights import weights

        try:
            return weights.locate(model_id).modalities
        except InputError:
            return _ANY

    def param_id(self, model_id: str) -> str:
        from embedsim.backends.open_weights.weights import param_id

        return param_id(model_id)

    def create(self, model_id: str, dimension: int | None = None, **options: Any) -> Embedder:
        """The embedder; ``dimension`` ``None`` means the model's own (checked when it runs)."""
        if not self.matches(model_id):
            raise InputError(f"backend {self.name} does not serve model id {model_id!r}")
        if dimension is not None:
            self.check_dimension(model_id, dimension)
        return self.load_factory()(model_id=model_id, dimension=dimension, **options)  # type: ignore[no-any-return]


_COMMON: dict[str, Any] = dict(
    model_ids=(), modalities=_ANY, local=True, key_env=(), dimensions=(1, 65536),
    default_dimension=512, grouping="local: batches of EMBEDSIM_BATCH_SIZE items (default 32) per forward pass, no calls",
)

HF_SPEC = OpenWeightsSpec(
    name="hf", id_pattern=r"hf:.+", factory="embedsim.backends.open_weights.image_text:ImageTextEmbedder",
    description="", family="hf", **_COMMON,
)
ST_SPEC = OpenWeightsSpec(
    name="st", id_pattern=r"st:.+", factory="embedsim.backends.open_weights.sentence:SentenceEmbedder",
    description="", family="st", **_COMMON,
)
SPECS = {"hf": HF_SPEC, "st": ST_SPEC}
