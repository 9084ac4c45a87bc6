"""Embedding backends and the factory that picks one by model id."""

from __future__ import annotations

from typing import Any

from embedsim.backends.base import DEFAULT_DIMENSION, Embedder
from embedsim.errors import InputError

#: The offline default: a deterministic baseline, not a semantic model.
DEFAULT_MODEL = "pixels"
LOCAL_MODELS = ("pixels",)
GEMINI_MODELS = ("gemini-embedding-2-preview", "gemini-embedding-2", "gemini-embedding-001")


def is_local(model_id: str) -> bool:
    """True for models computed on this machine (no network, no cassette)."""
    return model_id in LOCAL_MODELS


def check_model_id(model_id: str) -> None:
    """Raise :class:`InputError` for a model id no backend serves (a typo, say). Any
    ``gemini-embedding*`` id is accepted, so a new model version needs no code change."""
    if not (is_local(model_id) or model_id.startswith("gemini-embedding")):
        raise InputError(
            f"unknown model id {model_id!r}: use 'pixels' (offline baseline) or a Gemini "
            f"embedding model such as {', '.join(GEMINI_MODELS)}"
        )


def get_embedder(model_id: str = DEFAULT_MODEL, dimension: int = DEFAULT_DIMENSION, **options: Any) -> Embedder:
    """Create the embedder for ``model_id``; ``options`` go to the backend's constructor."""
    check_model_id(model_id)
    if model_id == "pixels":
        from embedsim.backends.pixels import PixelEmbedder

        return PixelEmbedder(dimension=dimension)
    from embedsim.backends.gemini import GeminiEmbedder

    return GeminiEmbedder(model_id, dimension=dimension, **options)


__all__ = ["DEFAULT_DIMENSION", "DEFAULT_MODEL", "Embedder", "GEMINI_MODELS", "check_model_id", "get_embedder",
           "is_local"]
