"""A loopback emulator of OpenAI's embeddings API - a TEST TOOL (see :mod:`embedsim.testing.emulator`);
its vectors are NOT OpenAI's.

``POST /v1/embeddings`` as the openai SDK sends it: ``{"model", "input": [texts], "dimensions",
"encoding_format"}``; text only, at most 2,048 inputs, ``dimensions`` up to 1536 (3-small) / 3072
(3-large) and none for ada-002; vectors as base64 float32 when ``encoding_format`` is ``base64``.
Answers ``{"object": "list", "data": [{"object": "embedding", "embedding", "index"}], "model",
"usage"}``; errors ``{"error": {"message", "type", "param", "code"}}``.

``python -m embedsim.testing.openai --port 8766`` serves until Ctrl-C.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embedsim.testing.emulator import ApiError, Emulator, serve

MAX_INPUTS = 2048
MAX_DIMENSIONS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}


class OpenAIEmulator(Emulator):
    """OpenAI's ``/v1/embeddings`` on loopback (a test tool)."""

    VENDOR = "openai"
    PREFIX = "/v1"
    ROUTE = r"/embeddings"

    def error_body(self, error: ApiError) -> dict[str, Any]:
        kind = {401: "invalid_request_error", 429: "rate_limit_exceeded"}.get(error.code, "invalid_request_error")
        return {"error": {"message": error.message, "type": kind, "param": None, "code": None}}

    def wants_base64(self, body: dict[str, Any]) -> bool:
        return body.get("encoding_format") == "base64"

    def embed(self, body: dict[str, Any], route: dict[str, str]) -> list[np.ndarray]:
        model = body.get("model")
        if model not in MAX_DIMENSIONS:
            raise ApiError(404, f"The model `{model}` does not exist or you do not have access to it.")
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, list) or not texts:
            raise ApiError(400, "'input' must be a non-empty string or array of strings")
        if len(texts) > MAX_INPUTS:
            raise ApiError(400, f"'input' must have at most {MAX_INPUTS} elements")
        size = body.get("dimensions")
        if size is not None and model == "text-embedding-ada-002":
            raise ApiError(400, "This model does not support specifying dimensions.")
        dimension = MAX_DIMENSIONS[model] if size is None else size
        if not isinstance(dimension, int) or not 1 <= dimension <= MAX_DIMENSIONS[model]:
            raise ApiError(400, f"dimensions must be between 1 and {MAX_DIMENSIONS[model]} for {model}, got {size}")
        return [self.vector(self.text(t, f"input[{i}]"), dimension) for i, t in enumerate(texts)]

    def render(self, body: dict[str, Any], vectors: list[Any], route: dict[str, str]) -> dict[str, Any]:
        return {"object": "list", "model": body.get("model"),
                "data": [{"object": "embedding", "embedding": v, "index": i} for i, v in enumerate(vectors)],
                "usage": {"prompt_tokens": 0, "total_tokens": 0}}


if __name__ == "__main__":
    serve(OpenAIEmulator(), "OPENAI_BASE_URL")
