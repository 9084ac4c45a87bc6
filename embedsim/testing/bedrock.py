"""A loopback emulator of Amazon Bedrock's ``InvokeModel`` for the embedding models - a TEST TOOL,
like moto for AWS.

It answers ``POST /model/{modelId}/invoke`` (what botocore 1.44 sends: ``bedrock-runtime``'s
``InvokeModel``, ``botocore/data/bedrock-runtime/2023-09-30/service-2.json``) for Titan
Multimodal Embeddings G1, Nova Multimodal Embeddings and Cohere Embed v4, checks what the service
checks (a SigV4 or bearer ``Authorization`` header, the body's shape, one input per Titan / Nova
call, the offered output sizes, at most 96 Cohere inputs) and answers errors as botocore parses
them (``x-amzn-ErrorType`` header, ``{"message": ...}`` body). Error messages are modelled on
the real ones, not guaranteed identical.

**Its vectors are NOT Amazon's or Cohere's**: they come from the local ``pixels`` baseline and
every answer carries ``X-Embedsim-Emulator: not-bedrock``, so a recorder refuses them under a
vendor's model id. Like Titan, a body with text and an image gets ONE (averaged) vector.

Faults (:meth:`BedrockEmulator.inject`): the base's (:mod:`embedsim.testing.emulator`: an HTTP
status such as ``"500"`` / ``"503"`` (InternalServerException / ServiceUnavailableException),
``"delay"``, ``"slow_body"``, ``"malformed"``, ...) plus ``"throttling"`` (429 ThrottlingException) and
``"expired"`` (403 ExpiredTokenException); ``after=N`` lets N calls pass first, ``times=None`` means
forever. Point boto3 at it with ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``.

Command line: ``python -m embedsim.testing.bedrock --port 8766``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, ClassVar
from urllib.parse import unquote

import numpy as np

from embedsim.inputs.items import Item
from embedsim.testing.emulator import FAULTS, ApiError, Emulator, EmulatorRequest, serve

_REASONS = {400: "ValidationException", 403: "AccessDeniedException", 404: "ResourceNotFoundException",
            429: "ThrottlingException", 500: "InternalServerException", 503: "ServiceUnavailableException"}
TITAN_SIZES, NOVA_SIZES, COHERE_SIZES = (256, 384, 1024), (256, 384, 1024, 3072), (256, 512, 1024, 1536)
MIME = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}


def _invalid(message: str) -> ApiError:
    return ApiError(400, message, "ValidationException")


class BedrockEmulator(Emulator):
    """Threaded loopback server speaking Bedrock's ``InvokeModel`` for embedding models (a test tool)."""

    VENDOR = "bedrock"
    OWNER = "Amazon"
    ROUTE = r"/model/(?P<model>[^/]+)/invoke"
    #: The shape faults that fit every family (a Titan / Nova answer holds exactly one vector).
    FAULTS = tuple(f for f in FAULTS if f != "wrong_count")
    NAMED_FAULTS: ClassVar[dict[str, tuple[int, str, str]]] = {
        "throttling": (429, "Too many requests, please wait before trying again.", "ThrottlingException"),
        "expired": (403, "The security token included in the request is expired", "ExpiredTokenException"),
    }
    MESSAGES: ClassVar[dict[int, str]] = {
        **Emulator.MESSAGES,
        500: "The server encountered an internal error while processing the request.",
        503: "The service is temporarily unable to handle the request."}
    ANSWER_HEADERS: ClassVar[dict[str, str]] = {"Content-Type": "application/json",
                                                "x-amzn-RequestId": "00000000-0000-0000-0000-000000000000"}

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, latency: float = 0.0) -> None:
        super().__init__(host, port, latency=latency, retry_after_ms=None)

    def authenticate(self, request: EmulatorRequest) -> None:
        """A SigV4 or bearer ``Authorization`` header."""
        auth = request.headers.get("authorization", "")
        if not (auth.startswith("AWS4-HMAC-SHA256 Credential=") or auth.startswith("Bearer ")):
            raise ApiError(403, "Missing Authentication Token", "MissingAuthenticationTokenException")

    def error_body(self, error: ApiError) -> dict[str, Any]:
        return {"message": error.message}

    def error_headers(self, error: ApiError) -> dict[str, str]:
        reason = error.reason or _REASONS.get(error.code, "UnknownOperationException")
        return {"x-amzn-ErrorType": f"{reason}:http://internal.amazon.com/coral/com.amazon.bedrock/"}

    def embed(self, body: dict[str, Any], route: dict[str, str]) -> list[np.ndarray]:
        model = unquote(route["model"])  # an inference profile's geography prefix (us., eu.) included
        if "titan-embed-image" in model:
            return self._titan(body)
        if "multimodal-embeddings" in model:
            return self._nova(body)
        if "cohere.embed-v4" in model:
            return self._cohere(body)
        raise ApiError(404, f"Could not resolve the foundation model from the provided model identifier {model}.")

    def render(self, body: dict[str, Any], vectors: list[Any], route: dict[str, str]) -> dict[str, Any]:
        model = unquote(route["model"])
        if "titan-embed-image" in model:
            return {"embedding": vectors[0], "inputTextTokenCount": 1, "message": None}
        if "multimodal-embeddings" in model:
            params = body.get("singleEmbeddingParams") or {}
            kind = next(k for k in ("text", "image", "audio", "video") if k in params)
            return {"embeddings": [{"embeddingType": kind.upper(), "embedding": vectors[0]}]}
        return {"id": "emulator", "embeddings": {"float": vectors}, "response_type": "embeddings_by_type",
                "texts": [], "images": []}

    # -- model families ----------------------------------------------------------------------
    def _titan(self, body: dict[str, Any]) -> list[np.ndarray]:
        size = (body.get("embeddingConfig") or {}).get("outputEmbeddingLength", 1024)
        if size not in TITAN_SIZES:
            raise _invalid(f"Malformed input request: #/embeddingConfig/outputEmbeddingLength: {size} is not a valid "
                           f"enum value")
        parts = []
        if "inputText" in body:
            parts.append(self._text(body["inputText"], "#/inputText"))
        if "inputImage" in body:
            parts.append(self._media(body["inputImage"], "image/png", "#/inputImage", sniff=True))
        if not parts:
            raise _invalid("Malformed input request: At least one of inputText or inputImage must be provided")
        return [self._vector(parts, size)]

    def _nova(self, body: dict[str, Any]) -> list[np.ndarray]:
        if body.get("taskType") != "SINGLE_EMBEDDING":
            raise _invalid("Malformed input request: taskType must be SINGLE_EMBEDDING for InvokeModel")
        params = body.get("singleEmbeddingParams") or {}
        size = params.get("embeddingDimension")
        if size not in NOVA_SIZES:
            raise _invalid(f"Malformed input request: embeddingDimension {size} is not one of {NOVA_SIZES}")
        if not params.get("embeddingPurpose"):
            raise _invalid("Malformed input request: embeddingPurpose is required")
        given = [k for k in ("text", "image", "audio", "video") if k in params]
        if len(given) != 1:
            raise _invalid(f"Malformed input request: exactly one of text, image, audio, video is required, got {given}")
        kind = given[0]
        if kind == "text":
            part = self._text((params["text"] or {}).get("value"), "#/singleEmbeddingParams/text/value")
        else:
            source = (params[kind] or {}).get("source") or {}
            mime = MIME.get(str(params[kind].get("format")), f"{kind}/{params[kind].get('format')}")
            part = self._media(source.get("bytes"), mime, f"#/singleEmbeddingParams/{kind}/source/bytes",
                               sniff=kind == "image")
        return [self._vector([part], size)]

    def _cohere(self, body: dict[str, Any]) -> list[np.ndarray]:
        size = body.get("output_dimension", 1536)
        if size not in COHERE_SIZES:
            raise _invalid(f"Malformed input request: output_dimension {size} is not one of {COHERE_SIZES}")
        if body.get("input_type") not in ("search_document", "search_query", "classification", "clustering"):
            raise _invalid("Malformed input request: input_type is required")
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise _invalid("Malformed input request: inputs must be a non-empty list")
        if len(inputs) > 96:
            raise _invalid(f"Malformed input request: at most 96 inputs per call, got {len(inputs)}")
        vectors = []
        for n, entry in enumerate(inputs):
            parts = []
            for m, part in enumerate((entry or {}).get("content") or []):
                where = f"#/inputs/{n}/content/{m}"
                if part.get("type") == "text":
                    parts.append(self._text(part.get("text"), where))
                elif part.get("type") == "image_url":
                    url = part.get("image_url")
                    if not isinstance(url, str):  # Cohere's own API takes {"url": ...}; Bedrock a plain string
                        raise _invalid(f"Malformed input request: {where}/image_url: expected type: String")
                    head, _, data = url.partition(";base64,")
                    if not head.startswith("data:") or not data:
                        raise _invalid(f"Malformed input request: {where}/image_url must be a data URI")
                    parts.append(self._media(data, head[5:], where))
                else:
                    raise _invalid(f"Malformed input request: {where}/type must be text or image_url")
            if not parts:
                raise _invalid(f"Malformed input request: #/inputs/{n}/content must not be empty")
            vectors.append(self._vector(parts, size))
        return vectors

    # -- pieces ---------------------------------------------------------------------------
    @staticmethod
    def _text(text: Any, where: str) -> Item:
        if not isinstance(text, str) or not text.strip():
            raise _invalid(f"Malformed input request: {where}: text must not be empty")
        return Item("text", text.encode("utf-8"), "text/plain", "text")

    @staticmethod
    def _media(data: Any, mime: str, where: str, sniff: bool = False) -> Item:
        try:
            raw = base64.b64decode(str(data), validate=True)
        except (binascii.Error, ValueError):
            raise _invalid(f"Malformed input request: {where}: invalid base64") from None
        if not raw:
            raise _invalid(f"Malformed input request: {where}: empty")
        if sniff:
            mime = "image/jpeg" if raw[:3] == b"\xff\xd8\xff" else "image/png"
        kind = mime.split("/", 1)[0]
        return Item(kind if kind in ("image", "audio", "video") else "image", raw, mime, "part")  # type: ignore[arg-type]

    def _vector(self, parts: list[Item], size: int) -> np.ndarray:
        try:
            mean = np.mean([self.vector(p, size) for p in parts], axis=0)
        except Exception:  # an undecodable image and the like
            raise _invalid("Unable to process the input (is it a valid image?)") from None
        return mean / (np.linalg.norm(mean) or 1.0)


def main(argv: list[str] | None = None) -> None:
    """``python -m embedsim.testing.bedrock``: serve until Ctrl-C."""
    serve(BedrockEmulator(), "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", argv)


if __name__ == "__main__":
    main()
