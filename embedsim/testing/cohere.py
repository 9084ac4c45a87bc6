"""A loopback emulator of Cohere's v2 embed API - a TEST TOOL (see :mod:`embedsim.testing.emulator`);
its vectors are NOT Cohere's.

``POST /v2/embed`` as ``cohere.ClientV2.embed`` sends it: ``{"model", "input_type", "inputs":
[{"content": [parts]}], "output_dimension", "embedding_types", "truncate"}`` (or plain ``texts`` /
``images``); one vector per input (the mean of its parts), ``text`` and ``image_url`` (data URI)
parts, at most 96 inputs, ``input_type`` required, ``output_dimension`` 256 / 512 / 1024 / 1536.
Answers ``{"id", "embeddings": {"float": [...]}, "texts", "meta"}``; errors ``{"message": ...}``.

``python -m embedsim.testing.cohere --port 8766`` serves until Ctrl-C.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embedsim.inputs.items import Item
from embedsim.testing.emulator import ApiError, Emulator, serve

MAX_INPUTS = 96
DIMENSIONS = (256, 512, 1024, 1536)
INPUT_TYPES = ("search_document", "search_query", "classification", "clustering", "image")


class CohereEmulator(Emulator):
    """Cohere's ``/v2/embed`` on loopback (a test tool)."""

    VENDOR = "cohere"
    ROUTE = r"/v2/embed"

    def error_body(self, error: ApiError) -> dict[str, Any]:
        return {"id": "emulator", "message": error.message}

    def embed(self, body: dict[str, Any], route: dict[str, str]) -> list[np.ndarray]:
        model = body.get("model")
        if not isinstance(model, str) or not model.startswith("embed-"):
            raise ApiError(404, f"model '{model}' not found, make sure the correct model ID was used")
        if body.get("input_type") not in INPUT_TYPES:
            raise ApiError(400, f"invalid request: input_type must be one of {list(INPUT_TYPES)}")
        size = body.get("output_dimension")
        dimension = 1536 if size is None else size
        if dimension not in DIMENSIONS:
            raise ApiError(400, f"invalid request: output_dimension must be one of {list(DIMENSIONS)}, got {size}")
        if body.get("embedding_types") not in (None, ["float"]):
            raise ApiError(400, "this emulator answers embedding_types ['float'] only")
        if "inputs" in body:
            inputs = body["inputs"]
        else:
            inputs = [{"content": [{"type": "text", "text": t}]} for t in body.get("texts") or []] + [
                {"content": [{"type": "image_url", "image_url": {"url": u}}]} for u in body.get("images") or []]
        if not isinstance(inputs, list) or not inputs:
            raise ApiError(400, "invalid request: inputs must be a non-empty list")
        if len(inputs) > MAX_INPUTS:
            raise ApiError(400, f"invalid request: inputs must have at most {MAX_INPUTS} elements, got {len(inputs)}")
        return self.mean_per_input(inputs, dimension, self._part)

    def _part(self, part: Any, where: str) -> Item:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            return self.text(part.get("text"), where)
        if kind == "image_url":
            url = part.get("image_url")
            return self.image(url.get("url") if isinstance(url, dict) else url, where)
        raise ApiError(400, f"invalid request: {where}.type {kind!r} is not supported")

    def render(self, body: dict[str, Any], vectors: list[Any], route: dict[str, str]) -> dict[str, Any]:
        return {"id": "emulator", "embeddings": {"float": vectors}, "texts": [],
                "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": 0}}}


if __name__ == "__main__":
    serve(CohereEmulator(), "CO_API_URL")
