"""A loopback emulator of Voyage's multimodal embedding API - a TEST TOOL (see
:mod:`embedsim.testing.emulator`); its vectors are NOT Voyage's.

``POST /v1/multimodalembeddings`` as the voyageai SDK sends it: ``{"inputs": [{"content":
[segments]}], "model", "input_type", "truncation", "output_dimension", "encoding_format"}``; one
vector per input (the mean of its segments), ``text`` and ``image_base64`` (data URI) segments,
at most 1,000 inputs, ``input_type`` ``None`` / ``query`` / ``document``, ``output_dimension`` 256,
512, 1024 or 2048 for ``voyage-multimodal-3.5`` and 1024 only for ``voyage-multimodal-3``; vectors
as base64 float32 when ``encoding_format`` is ``base64``. Errors as ``{"detail": error.message}`` with
the SDK's statuses (400, 401, 422, 429, 5xx).

``python -m embedsim.testing.voyage --port 8766`` serves until Ctrl-C.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embedsim.inputs.items import Item
from embedsim.testing.emulator import ApiError, Emulator, serve

MAX_INPUTS = 1000
DIMENSIONS = {"voyage-multimodal-3.5": (256, 512, 1024, 2048), "voyage-multimodal-3": (1024,)}


class VoyageEmulator(Emulator):
    """Voyage's ``/v1/multimodalembeddings`` on loopback (a test tool)."""

    VENDOR = "voyage"
    PREFIX = "/v1"
    ROUTE = r"/multimodalembeddings"

    def error_body(self, error: ApiError) -> dict[str, Any]:
        return {"detail": error.message}

    def wants_base64(self, body: dict[str, Any]) -> bool:
        return body.get("encoding_format") == "base64"

    def embed(self, body: dict[str, Any], route: dict[str, str]) -> list[np.ndarray]:
        model = body.get("model")
        if model not in DIMENSIONS:
            raise ApiError(400, f"Model {model} is not supported. Supported models are {sorted(DIMENSIONS)}.")
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise ApiError(400, "inputs must be a non-empty list")
        if len(inputs) > MAX_INPUTS:
            raise ApiError(400, f"The batch size limit is {MAX_INPUTS}. Your batch size is {len(inputs)}.")
        if body.get("input_type") not in (None, "query", "document"):
            raise ApiError(400, f"input_type {body.get('input_type')!r} is not one of None, 'query', 'document'")
        size = body.get("output_dimension")
        dimension = 1024 if size is None else size
        if dimension not in DIMENSIONS[model]:
            raise ApiError(400, f"output_dimension {size} is not supported for {model}; supported values are "
                                f"{list(DIMENSIONS[model])}")
        return self.mean_per_input(inputs, dimension, self._segment, status=422)

    def _segment(self, segment: Any, where: str) -> Item:
        kind = segment.get("type") if isinstance(segment, dict) else None
        if kind == "text":
            return self.text(segment.get("text"), where)
        if kind == "image_base64":
            return self.image(segment.get("image_base64"), where)
        raise ApiError(422, f"{where}.type {kind!r} is not supported by this emulator")

    def render(self, body: dict[str, Any], vectors: list[Any], route: dict[str, str]) -> dict[str, Any]:
        return {"object": "list", "model": body.get("model"),
                "data": [{"object": "embedding", "embedding": v, "index": i} for i, v in enumerate(vectors)],
                "usage": {"text_tokens": 0, "image_pixels": 0, "video_pixels": 0, "total_tokens": 0}}


if __name__ == "__main__":
    serve(VoyageEmulator(), "VOYAGE_BASE_URL")
