"""The Vertex AI embedder: :class:`~embedsim.backends.gemini.embedder.GeminiEmbedder` (its payload
rules, batching, retries, redaction and errors) with a google-genai ``vertexai=True`` client.

Credentials, in google-genai's order: ``api_key`` (an express-mode key; a replay's placeholder is
one too, so a replay needs no Google Cloud set-up), else ``credentials`` (a google-auth
``Credentials``), else Application Default Credentials (``GOOGLE_APPLICATION_CREDENTIALS``'s
service-account file, gcloud's ``application-default login``, the metadata server) - the SDK
loads and refreshes them. ``project`` / ``location`` default to ``GOOGLE_CLOUD_PROJECT`` /
``GOOGLE_CLOUD_LOCATION`` (location ``global`` if unset); ``base_url`` to ``GOOGLE_VERTEX_BASE_URL``.
"""

from __future__ import annotations

import os
from typing import Any

from google import genai
from google.genai import types

from embedsim.backends import redaction
from embedsim.backends.base import Secret
from embedsim.backends.gemini import SPEC as GEMINI_SPEC
from embedsim.backends.gemini import MissingKeyError
from embedsim.backends.gemini import calls as gemini_calls
from embedsim.backends.gemini.embedder import GeminiEmbedder, say_once, sdk_key_notice_dropped
from embedsim.backends.gemini.vertex import DEFAULT_API_VERSION, WIRE, sdk_model

__all__ = ["VertexEmbedder"]


class VertexEmbedder(GeminiEmbedder):
    """Gemini embedding models on Vertex AI (``vertex:<model>`` ids); see the module docstring."""

    def __init__(self, model_id: str, dimension: int | None = None, *, api_version: str | None = None,
                 project: str | None = None, location: str | None = None, credentials: Any = None,
                 **options: Any) -> None:
        self.project = project or os.environ.get("GOOGLE_CLOUD_PROJECT", "").strip() or None
        self.location = location or os.environ.get("GOOGLE_CLOUD_LOCATION", "").strip() or None
        self.credentials = credentials
        super().__init__(model_id, dimension, api_version=api_version or DEFAULT_API_VERSION, **options)

    def _sdk_model(self, model_id: str) -> str:
        return sdk_model(model_id)

    def _make_client(self, api_key: str | None, base_url: str | None,
                     http_options: types.HttpOptions) -> tuple[genai.Client, str]:
        base_url = base_url or os.environ.get("GOOGLE_VERTEX_BASE_URL", "").strip() or None
        if base_url:
            http_options.base_url = base_url
        version = http_options.api_version
        if api_key:  # express mode (or a replay): no project, no location, no OAuth
            key = Secret(api_key)
            redaction.protect(key, patterns=WIRE.credential_patterns)
            client = genai.Client(vertexai=True, api_key=key, http_options=http_options)
            return client, f"{(base_url or 'https://aiplatform.googleapis.com/').rstrip('/')}/{version}"
        if not self.project:
            raise MissingKeyError(
                f"{self.model_id}: no Google Cloud project for Vertex AI: set GOOGLE_CLOUD_PROJECT (and "
                "GOOGLE_CLOUD_LOCATION) or pass project=...; credentials come from Application Default "
                "Credentials (GOOGLE_APPLICATION_CREDENTIALS, `gcloud auth application-default login`)")
        self.location = self.location or "global"
        # google-auth logs the credentials file's path (at DEBUG): redacted like a key
        redaction.protect(os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"), patterns=WIRE.credential_patterns)
        with gemini_calls.redacting_logs(), sdk_key_notice_dropped():  # no key is used: the notice is wrong
            client = genai.Client(vertexai=True, project=self.project, location=self.location,
                                  credentials=self.credentials, http_options=http_options)
        keys = [name for name in GEMINI_SPEC.key_env if os.environ.get(name, "").strip()]
        if keys:
            say_once("vertex credentials", f"{' and '.join(keys)} {'is' if len(keys) == 1 else 'are'} set: embedsim's "
                                           f"vertex: ids use the Vertex AI credentials of project {self.project}, "
                                           "not that key (it is for the gemini-* ids)")
        host = base_url or ("https://aiplatform.googleapis.com/" if self.location == "global"
                            else f"https://{self.location}-aiplatform.googleapis.com/")
        return client, f"{host.rstrip('/')}/{version}/projects/{self.project}/locations/{self.location}"

    def __repr__(self) -> str:
        return f"VertexEmbedder({self.model_id!r}, dimension={self.dimension}, location={self.location!r})"
