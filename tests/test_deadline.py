"""The per-attempt deadline of the sync httpx paths (embedsim.backends.deadline), on its own."""

from __future__ import annotations

import json

import httpx2
import pytest

from embedsim.backends.deadline import deadline_transport
from embedsim.testing.gemini import GeminiEmulator

BODY = json.dumps({"requests": [{"model": "models/gemini-embedding-2", "content": {"parts": [{"text": "x"}]}}]})


def post(client: httpx2.Client, emulator: GeminiEmulator) -> httpx2.Response:
    return client.post(f"{emulator.base_url}/v1beta/models/gemini-embedding-2:batchEmbedContents", content=BODY,
                       headers={"x-goog-api-key": "k"})


def test_an_answer_sent_in_slow_pieces_ends_at_the_deadline(emulator: GeminiEmulator) -> None:
    emulator.inject("slow_body", chunks=30, seconds=0.2)
    with httpx2.Client(transport=deadline_transport("httpx2", 1.0), timeout=1.0) as client:
        with pytest.raises(httpx2.ReadTimeout, match="the attempt's 1 s deadline passed"):
            post(client, emulator)
        assert emulator.chunks_sent < 15
        assert post(client, emulator).status_code == 200  # the next attempt has its own deadline


def test_a_client_without_a_timeout_never_inherits_another_ones_deadline(emulator: GeminiEmulator) -> None:
    """Regression: the deadline is kept per thread; a request with no timeout started under the
    deadline an earlier request of another client had left there, long passed."""
    with httpx2.Client(transport=deadline_transport("httpx2", 1.0), timeout=1.0) as bounded, \
            httpx2.Client(transport=deadline_transport("httpx2", None), timeout=None) as unbounded:
        assert post(bounded, emulator).status_code == 200
        emulator.inject("delay", seconds=1.5)  # past the bounded client's deadline
        assert post(unbounded, emulator).status_code == 200
