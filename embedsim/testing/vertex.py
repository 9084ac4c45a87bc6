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

import argparse
import itertools
import json
import re
import time
from typing import Any
from urllib.parse import urlsplit

from embedsim.testing.gemini import ApiError, EmulatorRequest, GeminiEmulator

_ROUTE = re.compile(r"^/(v1|v1beta1)/(?:projects/([^/]+)/locations/([^/]+)/)?publishers/google/models/([^/:]+)"
                    r":(batchEmbedContents|embedContent)$")
EXPIRED = ("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
           "valid authentication credential.")


class VertexEmulator(GeminiEmulator):
    """The Gemini emulator speaking Vertex AI's paths and credentials (a test tool)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tokens_issued: list[str] = []
        self._serial = itertools.count(1)

    def inject(self, fault: str, times: int | None = 1, **params: Any) -> None:
        if fault == "expired":
            fault, params = "401", {**params, "message": EXPIRED}
        super().inject(fault, times, **params)

    @property
    def token_uri(self) -> str:
        """The OAuth token endpoint (a service-account JSON's ``token_uri``)."""
        return f"{self.base_url}/token"

    @property
    def embed_calls(self) -> list[EmulatorRequest]:
        with self._lock:
            return [r for r in self.requests if _ROUTE.match(urlsplit(r.path).path)]

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> tuple[int, bytes]:
        if urlsplit(target).path == "/token" and method == "POST":
            token = f"ya29.emulator-{next(self._serial):04d}-{'x' * 24}"
            with self._lock:
                self.tokens_issued.append(token)
                self.requests.append(EmulatorRequest(method, target, headers, None, time.monotonic()))
            return 200, json.dumps({"access_token": token, "expires_in": 3600, "token_type": "Bearer"}).encode()
        return super().handle(method, target, headers, raw)

    def _answer(self, request: EmulatorRequest, raw: bytes) -> tuple[int, bytes]:
        url = urlsplit(request.path)
        match = _ROUTE.match(url.path)
        if match is None or request.method != "POST":
            raise ApiError(404, f"Method not found: {request.method} {url.path}")
        _version, project, location, model, method = match.groups()
        bearer = request.headers.get("authorization", "")
        key = request.headers.get("x-goog-api-key", "")
        if project is None and not key:
            raise ApiError(401, "API keys are required for express mode (no project in the path)")
        if project is not None and not bearer.startswith("Bearer ") and not key:
            raise ApiError(401, EXPIRED)
        fault = self._next_fault()
        if fault is not None and fault.kind[0].isdigit():
            raise ApiError(int(fault.kind), fault.params.get("message"))
        if fault is not None and fault.kind == "delay":
            time.sleep(float(fault.params.get("seconds", 1.0)))
        if not isinstance(request.body, dict):
            raise ApiError(400, f"Invalid JSON payload received. {raw[:40]!r}")
        if method == "batchEmbedContents":
            requests = request.body.get("requests")
            if not isinstance(requests, list) or not requests:
                raise ApiError(400, "* BatchEmbedContentsRequest.requests: at least one request is required\n")
            answer: dict[str, Any] = {"embeddings": [
                self._one(model, r, f"requests[{i}]", check_model=False) for i, r in enumerate(requests)]}
        else:
            answer = {"embedding": self._one(model, request.body, "EmbedContentRequest", check_model=False)}
        return 200, self._apply_fault(fault, answer)


def main(argv: list[str] | None = None) -> None:
    """``python -m embedsim.testing.vertex``: serve until Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8767)
    args = parser.parse_args(argv)
    try:
        with VertexEmulator(args.host, args.port) as emulator:
            print(f"Vertex AI embedding emulator (a test tool; vectors are NOT Google's) at {emulator.base_url}",
                  flush=True)
            print(f"  export GOOGLE_VERTEX_BASE_URL={emulator.base_url}", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
