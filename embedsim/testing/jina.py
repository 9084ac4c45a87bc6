"""A loopback emulator of Jina's embeddings API - a TEST TOOL (see :mod:`embedsim.testing.emulator`);
its vectors are NOT Jina's.

``POST /v1/embeddings`` with ``{"model", "input": [{"text"} | {"image": "<base64 or data URI>"}],
"dimensions", "task"}`` (Jina's documented shape); one vector per input, at most 512 inputs,
``dimensions`` 128..2048 (v4) / 64..1024 (clip-v2). Answers ``{"model", "object": "list",
"data": [{"object": "embedding", "index", "embedding"}], "usage"}``; errors ``{"detail": ...}``.

``python -m embedsim.testing.jina --port 8766`` serves until Ctrl-C.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embedsim.testing.emulator import ApiError, Emulator, serve

MAX_INPUTS = 512
DIMENSIONS = {"jina-embeddings-v4": (128, 2048), "jina-clip-v2": (64, 1024)}
TASKS = (None, "retrieval.query", "retrieval.passage", "text-matching", "code.query", "code.passage")


class JinaEmulator(Emulator):
    """Jina's ``/v1/embeddings`` on loopback (a test tool)."""

    VENDOR = "jina"
    PREFIX = "/v1"
    ROUTE = r"/embeddings"

    def error_body(self, error: ApiError) -> dict[str, Any]:
        return {"detail": error.message}

    def embed(self, body: dict[str, Any], route: dict[str, str]) -> list[np.ndarray]:
        model = body.get("model")
        if model not in DIMENSIONS:
            raise ApiError(422, f"Model {model!r} is not supported; use one of {sorted(DIMENSIONS)}")
        if body.get("task") not in TASKS:
            raise ApiError(422, f"task {body.get('task')!r} is not one of {[t for t in TASKS if t]}")
        inputs = body.get("input")
        if not isinstance(inputs, list) or not inputs:
            raise ApiError(422, "input must be a non-empty list")
        if len(inputs) > MAX_INPUTS:
            raise ApiError(422, f"input must have at most {MAX_INPUTS} elements")
        low, high = DIMENSIONS[model]
        size = body.get("dimensions")
        dimension = high if size is None else size
        if not isinstance(dimension, int) or not low <= dimension <= high:
            raise ApiError(422, f"dimensions must be between {low} and {high} for {model}, got {size}")
        vectors = []
        for i, entry in enumerate(inputs):
            where = f"input[{i}]"
            if isinstance(entry, str):
                entry = {"text": entry}
            if not isinstance(entry, dict):
                raise ApiError(422, f"{where} must be an object")
            if "text" in entry:
                item = self.text(entry["text"], where)
            elif "image" in entry:
                item = self.image(entry["image"], where, bare=True)
            else:
                raise ApiError(422, f"{where} needs 'text' or 'image'")
            vectors.append(self.vector(item, dimension))
        return vectors

    def render(self, body: dict[str, Any], vectors: list[Any], route: dict[str, str]) -> dict[str, Any]:
        return {"model": body.get("model"), "object": "list",
                "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
                "usage": {"total_tokens": 0, "prompt_tokens": 0}}


if __name__ == "__main__":
    serve(JinaEmulator(), "JINA_BASE_URL")
