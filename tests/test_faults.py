"""Faults injected at the emulator: the SDK's retries, timeouts, broken answers -> BackendError.

Retries are the SDK's own (``types.HttpRetryOptions``); these tests count the calls the
emulator saw to show how many attempts were made.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from embedsim.backends.gemini import GeminiAPIError, GeminiEmbedder
from embedsim.emulator import GeminiEmulator
from embedsim.errors import BackendError
from embedsim.items import text_item

MODEL = "gemini-embedding-2-preview"
ITEMS = [text_item(t) for t in ("one", "two", "three")]


def make(emulator: GeminiEmulator, **options: Any) -> GeminiEmbedder:
    options = {"api_key": "test-key", "base_url": emulator.base_url, "initial_delay": 0.01, "max_delay": 0.02, **options}
    return GeminiEmbedder(MODEL, dimension=128, **options)


def calls(emulator: GeminiEmulator) -> int:
    return len(emulator.embed_calls)


@pytest.mark.parametrize("status", ["429", "500", "502", "503", "504", "408"])
def test_transient_status_is_retried_then_succeeds(emulator: GeminiEmulator, status: str) -> None:
    emulator.inject(status, times=2)
    assert make(emulator).embed(ITEMS).shape == (3, 128)
    assert calls(emulator) == 3


def test_persistent_429_gives_a_clear_error_after_all_attempts(emulator: GeminiEmulator) -> None:
    emulator.inject("429", times=None)
    with pytest.raises(GeminiAPIError) as caught:
        make(emulator, attempts=4).embed(ITEMS)
    assert calls(emulator) == 4
    error = caught.value
    assert (error.code, error.status) == (429, "RESOURCE_EXHAUSTED")
    assert "HTTP 429" in str(error) and "gave up after 4 attempts" in str(error)
    assert error.labels == ["one", "two", "three"]


def test_503_then_success_async(emulator: GeminiEmulator) -> None:
    emulator.inject("503")
    assert asyncio.run(make(emulator).aembed(ITEMS)).shape == (3, 128)
    assert calls(emulator) == 2


@pytest.mark.parametrize("status", ["400", "403", "404"])
def test_client_errors_are_not_retried(emulator: GeminiEmulator, status: str) -> None:
    emulator.inject(status, times=None)
    with pytest.raises(GeminiAPIError, match=f"HTTP {status}"):
        make(emulator).embed(ITEMS)
    assert calls(emulator) == 1


def test_attempts_1_means_no_retry(emulator: GeminiEmulator) -> None:
    emulator.inject("500", times=None)
    with pytest.raises(GeminiAPIError, match="HTTP 500 INTERNAL"):
        make(emulator, attempts=1).embed(ITEMS)
    assert calls(emulator) == 1


def test_retries_are_logged_by_the_sdk(emulator: GeminiEmulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="google_genai._api_client")
    emulator.inject("429")
    make(emulator).embed(ITEMS)
    assert any("Retrying" in r.getMessage() for r in caplog.records)


def test_timeout_then_retry_succeeds(emulator: GeminiEmulator) -> None:
    emulator.inject("delay", seconds=1.0)
    assert make(emulator, timeout=0.2).embed(ITEMS).shape == (3, 128)
    assert calls(emulator) == 2


def test_persistent_timeout_is_a_backend_error(emulator: GeminiEmulator) -> None:
    emulator.inject("delay", times=None, seconds=1.0)
    with pytest.raises(BackendError, match=r"no answer within the 0.2 s timeout, 2 attempts.*'one'"):
        make(emulator, timeout=0.2, attempts=2).embed(ITEMS)
    assert calls(emulator) == 2


def test_async_timeout_is_a_backend_error(emulator: GeminiEmulator) -> None:
    """google-genai 3.6 does not retry aiohttp timeouts: one call, a clear error."""
    emulator.inject("delay", times=None, seconds=1.0)
    with pytest.raises(BackendError, match="no answer within the 0.2 s timeout"):
        asyncio.run(make(emulator, timeout=0.2).aembed(ITEMS))
    assert calls(emulator) >= 1


@pytest.mark.parametrize(
    ("fault", "params", "message"),
    [
        ("malformed", {}, "not valid JSON"),
        ("truncated", {}, "not valid JSON"),
        ("wrong_count", {}, "asked for 3 vectors, got 2"),
        ("wrong_count", {"delta": 1}, "asked for 3 vectors, got 4"),
        ("empty", {}, "has 0 values, expected 128"),
        ("nan", {}, "non-finite"),
    ],
)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_broken_answers_are_backend_errors(
    emulator: GeminiEmulator, fault: str, params: dict[str, Any], message: str, mode: str
) -> None:
    emulator.inject(fault, **params)
    embedder = make(emulator)
    with pytest.raises(BackendError, match=message) as caught:
        embedder.embed(ITEMS) if mode == "sync" else asyncio.run(embedder.aembed(ITEMS))
    assert "'one'" in str(caught.value)  # names the items of the failed call


def test_connection_refused_is_a_backend_error() -> None:
    embedder = GeminiEmbedder(MODEL, dimension=128, api_key="k", base_url="http://127.0.0.1:9", attempts=2,
                              initial_delay=0.01, max_delay=0.02)
    with pytest.raises(BackendError, match="cannot connect"):
        embedder.embed(ITEMS)


def test_aembed_failure_cancels_the_other_calls() -> None:
    with GeminiEmulator(latency=0.05) as emulator:
        emulator.inject("400", after=1)
        embedder = make(emulator, batch_size=1, max_concurrency=2, attempts=1)
        with pytest.raises(GeminiAPIError, match="HTTP 400"):
            asyncio.run(embedder.aembed([text_item(f"x{i}") for i in range(30)]))
        assert calls(emulator) < 30
