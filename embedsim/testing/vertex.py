"""A loopback emulator of Vertex AI's Gemini embedding endpoints - a TEST TOOL, like moto for AWS.

It answers what google-genai 3.6.1 sends with ``vertexai=True`` (``google/genai/models.py``):
``POST /{v1,v1beta1}/projects/{P}/locations/{L}/publishers/google/models/{model}:batchEmbedContents``
and ``:embedContent`` (and the express-mode paths without ``projects/{P}/locations/{L}/``), requires
an OAuth ``Authorization: Bearer`` token or an express-mode ``x-goog-api-key``, and reuses the
Gemini emulator's checks and vectors (:class:`~embedsim.testing.gemini.GeminiEmulator`: the pixel
baseline's, **never Google's**; every answer carries ``X-Embedsim-Emulator``).

It also serves an OAuth token endpoint, ``POST /token``, so a service-account JSON whose
``token_uri`` points here gets loopback access tokens (``ya29.emulator-...``) through google-auth's
real JWT-bearer grant. Faults: everything :meth:`GeminiEmulator.inject` takes, plus ``"expired"``
(401 UNAUTHENTICATED, the answer to an expired or revoked OAuth token).

Point google-genai at it with ``GOOGLE_VERTEX_BASE_URL``. Command line:
``python -m embedsim.testing.vertex --port 8767``.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any, ClassVar
from urllib.parse import urlsplit

from embedsim.testing.emulator import Answer, ApiError, EmulatorRequest, serve
from embedsim.testing.gemini import GeminiEmulator

EXPIRED = ("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
           "valid authentication credential.")


class VertexEmulator(GeminiEmulator):
    """The Gemini emulator speaking Vertex AI's paths and credentials (a test tool)."""

    VENDOR = "vertex"
    OWNER = "Google"
    ROUTE = (r"/(?P<version>v1|v1beta1)/(?:projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/)?"
             r"publishers/google/models/(?P<model>[^/:]+):(?P<method>batchEmbedContents|embedContent)")
    NAMED_FAULTS: ClassVar[dict[str, tuple[int, str, str]]] = {"expired": (401, EXPIRED, "")}
    BATCH_NAMES_MODEL = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tokens_issued: list[str] = []
        self._serial = itertools.count(1)

    @property
    def token_uri(self) -> str:
        """The OAuth token endpoint (a service-account JSON's ``token_uri``)."""
        return f"{self.base_url}/token"

    def authenticate(self, request: EmulatorRequest) -> None:
        """An OAuth bearer token, or an express-mode key (required when the path names no project)."""
        route = self._route(request.path)
        bearer = request.headers.get("authorization", "")
        key = request.headers.get("x-goog-api-key", "")
        if route and route["project"] is None and not key:
            raise ApiError(401, "API keys are required for express mode (no project in the path)")
        if not bearer.startswith("Bearer ") and not key:
            raise ApiError(401, EXPIRED)

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Answer:
        if urlsplit(target).path == f"{self.path_prefix}/token" and method == "POST":
            token = f"ya29.emulator-{next(self._serial):04d}-{'x' * 24}"
            with self._lock:
                self.tokens_issued.append(token)
                self.requests.append(EmulatorRequest(method, target, headers, None, time.monotonic()))
            return Answer(200, json.dumps({"access_token": token, "expires_in": 3600, "token_type": "Bearer"}).encode())
        return super().handle(method, target, headers, raw)


def main(argv: list[str] | None = None) -> None:
    """``python -m embedsim.testing.vertex``: serve until Ctrl-C."""
    serve(VertexEmulator(), "GOOGLE_VERTEX_BASE_URL", argv, port=8767)


if __name__ == "__main__":
    main()
