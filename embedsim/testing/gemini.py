"""A loopback emulator of the Gemini embedding REST API - a TEST TOOL, like moto for AWS.

It speaks the Gemini Developer API embedding protocol as the google-genai SDK uses it
(``POST /{v1,v1beta}/models/{model}:batchEmbedContents`` and ``:embedContent``), checks
what the real service checks (API key, at most 100 requests, at most 6 images per
content, MIME types, empty content, ``outputDimensionality`` in 128..3072, the request
``model`` matching the URL) and answers errors in the service's shape
``{"error": {"code", "message", "status"}}``. Error messages are modelled on the real
ones, not guaranteed identical.

**Its vectors are NOT Gemini's.** They come from the local ``pixels`` baseline
(:class:`embedsim.backends.pixels.PixelEmbedder`), so they carry no semantics. Never
store anything it returns under ``cassettes/gemini*``; every answer carries the header
``X-Embedsim-Emulator: not-gemini`` so a recorder can tell.

Like the real service, a content with several parts gets ONE vector (the mean of its
parts), so the "grouping trap" (many inputs sent as one content) is observable, a
truncated vector (``outputDimensionality`` < 3072) is not unit length, and values are
float32, printed as their shortest decimals (what :mod:`embedsim.recording.cassette_format` stores
compactly).

Faults on demand: the base's (:meth:`embedsim.testing.emulator.Emulator.inject`: an HTTP
status, ``"delay"``, ``"slow_body"``, ``"malformed"``, ``"truncated"``, ``"wrong_count"``,
``"empty"``, ``"nan"``, each with ``after=`` and ``times=``).

Command line: ``python -m embedsim.testing.gemini --port 8765`` prints the base URL and
serves until Ctrl-C.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import numpy as np

from embedsim.backends.base import EMULATOR_HEADER
from embedsim.backends.gemini import MAX_BATCH_REQUESTS as MAX_REQUESTS_PER_BATCH
from embedsim.backends.gemini import MAX_DIMENSION, MAX_IMAGES_PER_CONTENT, MIME_TYPES, MIN_DIMENSION, is_multimodal
from embedsim.inputs.items import Item
from embedsim.testing.emulator import (
    FAULTS,
    MAX_BODY_BYTES,
    ApiError,
    Emulator,
    EmulatorRequest,
    float32_decimals,
    serve,
)

__all__ = ["EMULATOR_HEADER", "FAULTS", "MAX_BODY_BYTES", "ApiError", "EmulatorRequest", "GeminiEmulator",
           "float32_decimals", "main"]

DEFAULT_DIMENSION = MAX_DIMENSION
SUPPORTED_MIME_TYPES = MIME_TYPES

_STATUS = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "Request had invalid authentication credentials."),
    403: ("PERMISSION_DENIED", "The caller does not have permission"),
    404: ("NOT_FOUND", "Requested entity was not found."),
    408: ("DEADLINE_EXCEEDED", "Request timed out."),
    413: ("INVALID_ARGUMENT", "Request payload size exceeds the limit."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    500: ("INTERNAL", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"),
    502: ("UNAVAILABLE", "Bad gateway."),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "The service is currently unavailable."),
}
_NO_KEY = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)


class GeminiEmulator(Emulator):
    """Threaded loopback server speaking the Gemini embedding protocol (a test tool)."""

    VENDOR = "gemini"
    OWNER = "Gemini"
    ROUTE = r"/(?P<version>v1|v1beta)/models/(?P<model>[^/:]+):(?P<method>batchEmbedContents|embedContent)"
    MESSAGES: ClassVar[dict[int, str]] = {code: message for code, (_, message) in _STATUS.items()}
    ANSWER_HEADERS: ClassVar[dict[str, str]] = {"Content-Type": "application/json; charset=UTF-8"}
    #: Whether each request of a batch must name the URL's model (the Developer API's check).
    BATCH_NAMES_MODEL: ClassVar[bool] = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, api_key: str | None = None,
                 latency: float = 0.0, path_prefix: str = "") -> None:
        super().__init__(host, port, api_key=api_key, latency=latency, retry_after_ms=None, path_prefix=path_prefix)

    def key_of(self, request: EmulatorRequest) -> str:
        """The key in ``x-goog-api-key`` or the ``key`` query parameter."""
        return request.headers.get("x-goog-api-key") or parse_qs(urlsplit(request.path).query).get("key", [""])[0]

    def authenticate(self, request: EmulatorRequest) -> None:
        key = self.key_of(request)
        if not key:
            raise ApiError(403, _NO_KEY)
        if self.api_key is not None and key != self.api_key:
            raise ApiError(400, "API key not valid. Please pass a valid API key.")

    def error_body(self, error: ApiError) -> dict[str, Any]:
        status = _STATUS.get(error.code, ("UNKNOWN", ""))[0]
        return {"error": {"code": error.code, "message": error.message, "status": status}}

    def embed(self, body: dict[str, Any], route: dict[str, str]) -> list[np.ndarray]:
        model = route["model"]
        if route["method"] == "embedContent":
            return [self._one(model, body, "EmbedContentRequest", check_model=False)]
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            raise ApiError(400, "* BatchEmbedContentsRequest.requests: at least one request is required\n")
        if len(requests) > MAX_REQUESTS_PER_BATCH:
            raise ApiError(
                400,
                f"* BatchEmbedContentsRequest.requests: at most {MAX_REQUESTS_PER_BATCH} requests can be in one batch\n",
            )
        return [self._one(model, r, f"BatchEmbedContentsRequest.requests[{i}]", check_model=self.BATCH_NAMES_MODEL)
                for i, r in enumerate(requests)]

    def render(self, body: dict[str, Any], vectors: list[Any], route: dict[str, str]) -> dict[str, Any]:
        if route["method"] == "embedContent":
            return {"embedding": {"values": vectors[0] if vectors else []}}
        return {"embeddings": [{"values": v} for v in vectors]}

    def _one(self, model: str, request: Any, where: str, *, check_model: bool) -> np.ndarray:
        if not isinstance(request, dict):
            raise ApiError(400, f"* {where}: must be an object\n")
        named = request.get("model")
        if (check_model or named) and named not in (f"models/{model}", model):
            raise ApiError(
                400,
                f"* {where}.model: model in request ({named!r}) does not match the model in the URL (models/{model})\n",
            )
        config = request.get("embedContentConfig") or {}
        dimension = request.get("outputDimensionality", config.get("outputDimensionality", DEFAULT_DIMENSION))
        if not isinstance(dimension, int) or not MIN_DIMENSION <= dimension <= MAX_DIMENSION:
            raise ApiError(
                400,
                f"* {where}.output_dimensionality: must be between {MIN_DIMENSION} and {MAX_DIMENSION}, got {dimension}\n",
            )
        parts = (request.get("content") or {}).get("parts") or []
        if not parts:
            raise ApiError(400, f"* {where}.content.parts: contents must not be empty\n")
        vectors = [self._part_vector(part, f"{where}.content.parts[{j}]", dimension) for j, part in enumerate(parts)]
        images = sum(1 for p in parts if _mime(p).startswith("image/"))
        if images > MAX_IMAGES_PER_CONTENT:
            raise ApiError(
                400, f"* {where}.content: at most {MAX_IMAGES_PER_CONTENT} images are allowed per request, got {images}\n"
            )
        if not is_multimodal(model) and any("text" not in p for p in parts):
            raise ApiError(400, f"* {where}.content: model models/{model} only supports text input\n")
        # One vector per content (the mean of its parts), unit length at full size and,
        # like a truncated Matryoshka vector, shorter than 1 below it.
        mean = np.mean(vectors, axis=0)
        return mean * np.sqrt(dimension / MAX_DIMENSION) / (np.linalg.norm(mean) or 1.0)

    def _part_vector(self, part: Any, where: str, dimension: int) -> np.ndarray:
        if not isinstance(part, dict):
            raise ApiError(400, f"* {where}: must be an object\n")
        if "text" in part:
            text = part["text"]
            if not isinstance(text, str) or not text.strip():
                raise ApiError(400, f"* {where}.text: text content must not be empty\n")
            item = Item("text", text.encode("utf-8"), "text/plain", "text")
        else:
            inline = part.get("inlineData") or part.get("inline_data")
            if not isinstance(inline, dict):
                raise ApiError(400, f"* {where}.data: required oneof field 'data' must have one initialized field\n")
            mime = _mime(part)
            if mime not in SUPPORTED_MIME_TYPES:
                raise ApiError(400, f"Unsupported MIME type: {mime}")
            try:
                data = base64.urlsafe_b64decode(str(inline.get("data", "")).replace("+", "-").replace("/", "_"))
            except (binascii.Error, ValueError):
                raise ApiError(400, f"* {where}.inline_data.data: invalid base64 data\n") from None
            if not data:
                raise ApiError(400, f"* {where}.inline_data.data: data must not be empty\n")
            item = Item(SUPPORTED_MIME_TYPES[mime], data, mime, "part")  # type: ignore[arg-type]
        try:
            return self.vector(item, dimension)
        except Exception:  # undecodable image and the like
            raise ApiError(400, f"Unable to process input {item.kind} ({item.mime_type}) in {where}") from None


def _mime(part: Any) -> str:
    if not isinstance(part, dict):
        return ""
    inline = part.get("inlineData") or part.get("inline_data") or {}
    return str(inline.get("mimeType") or inline.get("mime_type") or "")


def main(argv: list[str] | None = None) -> None:
    """``python -m embedsim.testing.gemini``: serve until Ctrl-C."""
    serve(GeminiEmulator(), "GOOGLE_GEMINI_BASE_URL", argv, port=8765)


if __name__ == "__main__":
    main()
