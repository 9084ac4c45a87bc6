"""The four remote vendors as test cases: model, emulator, embedder, environment and where each
request puts what (``tests/`` is on ``sys.path``). Shared by ``test_vendors.py``,
``test_vendor_recording.py`` and ``test_secrets.py``."""

from __future__ import annotations

import base64
import importlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class Vendor:
    name: str
    model: str
    sdk: str | None  # the module the backend needs (skip without it)
    emulator: str  # "module:Class"
    embedder: str
    key_env: str
    base_url_env: str
    images: bool
    dimension: int
    #: (body, number of inputs) -> the texts and image payloads of a request body, in order
    inputs: Callable[[dict[str, Any]], list[str]]
    #: The field of the body that carries the task setting (None: no task setting).
    task_field: str | None

    def load(self, spec: str) -> Any:
        module, _, name = spec.partition(":")
        return getattr(importlib.import_module(module), name)

    def make_emulator(self, **options: Any) -> Any:
        return self.load(self.emulator)(**options)

    def make(self, base_url: str, **options: Any) -> Any:
        options.setdefault("api_key", FAKE_KEYS[self.name])
        options.setdefault("initial_delay", 0.01)
        options.setdefault("max_delay", 0.02)
        return self.load(self.embedder)(self.model, base_url=base_url, **options)

    def skip_without_sdk(self) -> None:
        if self.sdk:
            pytest.importorskip(self.sdk)


def _voyage(body: dict[str, Any]) -> list[str]:
    return [s.get("text") or s.get("image_base64") for i in body["inputs"] for s in i["content"]]


def _cohere(body: dict[str, Any]) -> list[str]:
    return [p.get("text") or p["image_url"]["url"] for i in body["inputs"] for p in i["content"]]


def _jina(body: dict[str, Any]) -> list[str]:
    return [i.get("text") or i.get("image") for i in body["input"]]


def _openai(body: dict[str, Any]) -> list[str]:
    return list(body["input"])


VENDORS = {
    "voyage": Vendor("voyage", "voyage-multimodal-3.5", "voyageai", "embedsim.testing.voyage:VoyageEmulator",
                     "embedsim.backends.voyage.embedder:VoyageEmbedder", "VOYAGE_API_KEY", "VOYAGE_BASE_URL",
                     True, 1024, _voyage, "input_type"),
    "cohere": Vendor("cohere", "embed-v4.0", "cohere", "embedsim.testing.cohere:CohereEmulator",
                     "embedsim.backends.cohere.embedder:CohereEmbedder", "CO_API_KEY", "CO_API_URL",
                     True, 1536, _cohere, "input_type"),
    "jina": Vendor("jina", "jina-embeddings-v4", None, "embedsim.testing.jina:JinaEmulator",
                   "embedsim.backends.jina.embedder:JinaEmbedder", "JINA_API_KEY", "JINA_BASE_URL",
                   True, 1024, _jina, "task"),
    "openai": Vendor("openai", "text-embedding-3-small", "openai", "embedsim.testing.openai:OpenAIEmulator",
                     "embedsim.backends.openai.embedder:OpenAIEmbedder", "OPENAI_API_KEY", "OPENAI_BASE_URL",
                     False, 1536, _openai, None),
}

#: Realistic fake keys, one per vendor shape (never a real key).
FAKE_KEYS = {
    "voyage": "pa-" + "FakeVoyageKeyForTests0123456789abcdefXYZ",
    "cohere": "co" + "FakeCohereKeyForTests0123456789abcdefXY",
    "jina": "jina_" + "FakeJinaKeyForTests0123456789abcdefXYZ",
    "openai": "sk-proj-" + "FakeOpenAIKeyForTests0123456789abcdefXYZ",
}

#: Every variable a vendor SDK reads (keys, base URLs, organisation), cleared for tests.
VENDOR_ENVIRONMENT = ("VOYAGE_API_KEY", "VOYAGE_API_KEY_PATH", "VOYAGE_BASE_URL", "CO_API_KEY", "COHERE_API_KEY",
                      "CO_API_URL", "JINA_API_KEY", "JINA_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL",
                      "OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "OPENAI_CUSTOM_HEADERS", "OPENAI_ADMIN_KEY")


def png(rgb: tuple[int, int, int] = (200, 30, 30), size: int = 16) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (size, size), rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def payload_bytes(value: str) -> bytes:
    """The image bytes of a data URI or plain base64 payload."""
    return base64.b64decode(value.split(",", 1)[1] if value.startswith("data:") else value)
