"""Faults injected at the emulator: the SDK's retries, timeouts, broken answers -> BackendError.

Retries are the SDK's own (``types.HttpRetryOptions``); these tests count the calls the
emulator saw to show how many attempts were made.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from embedsim.backends.gemini import GeminiAPIError
from embedsim.backends.gemini.embedder import GeminiEmbedder
from embedsim.errors import BackendError
from embedsim.inputs.items import text_item
from embedsim.testing.gemini import GeminiEmulator

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
    emulator.inject("delay", seconds=3.0)  # the retry has the whole 1 s deadline, however busy the machine
    assert make(emulator, timeout=1.0).embed(ITEMS).shape == (3, 128)
    assert calls(emulator) == 2


def test_persistent_timeout_is_a_backend_error(emulator: GeminiEmulator) -> None:
    emulator.inject("delay", times=None, seconds=1.0)
    with pytest.raises(BackendError, match=r"no answer within the 0.2 s timeout, 2 attempts.*'one'"):
        make(emulator, timeout=0.2, attempts=2).embed(ITEMS)
    assert calls(emulator) == 2


def test_a_slowly_sent_answer_ends_at_the_deadline(emulator: GeminiEmulator) -> None:
    """Regression: an answer sent in 30 pieces 0.1 s apart (each within the read
    timeout) is cut at the attempt's 0.3 s deadline, a few pieces in, and described as a timeout."""
    emulator.inject("slow_body", times=None, chunks=30, seconds=0.1)
    with pytest.raises(BackendError, match=r"no answer within the 0.3 s timeout, 1 attempt\b"):
        make(emulator, timeout=0.3, attempts=1).embed(ITEMS)
    assert len(emulator.embed_calls) == 1 and emulator.chunks_sent < 15


def test_a_deadline_bound_client_records_and_replays(emulator: GeminiEmulator, tmp_path: Path) -> None:
    """The deadline's transport under vcrpy: a recording holds the answer, a replay (no server
    call) gives the same vectors, and a slow answer is cut while recording too."""
    import vcr

    cassette = str(tmp_path / "c.yaml")
    with vcr.VCR().use_cassette(cassette, record_mode="all"):
        recorded = make(emulator, timeout=5).embed(ITEMS)
    emulator.reset()
    with vcr.VCR().use_cassette(cassette, record_mode="none"):
        assert (make(emulator, timeout=5).embed(ITEMS) == recorded).all()
    assert emulator.requests == []
    emulator.inject("slow_body", times=None, chunks=30, seconds=0.1)
    with vcr.VCR().use_cassette(str(tmp_path / "slow.yaml"), record_mode="all"), \
            pytest.raises(BackendError, match="no answer within the 0.3 s timeout"):
        make(emulator, timeout=0.3, attempts=1).embed(ITEMS)
    assert emulator.chunks_sent < 15


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


# -- redirects, attempts, API versions ------------------------------------------------------------


class _Redirector:
    """A loopback server answering every request with ``307`` to ``target`` + the same path."""

    def __init__(self, target: str) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(307)
                self.send_header("Location", target + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __enter__(self) -> _Redirector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_cross_origin_redirect_is_refused_and_the_key_never_leaves(emulator: GeminiEmulator, mode: str) -> None:
    with _Redirector(emulator.base_url) as redirector:
        embedder = GeminiEmbedder(MODEL, dimension=128, api_key="AIza" + "R" * 35, base_url=redirector.base_url,
                                  attempts=3, initial_delay=0.01)
        with pytest.raises(GeminiAPIError) as caught:
            embedder.embed(ITEMS) if mode == "sync" else asyncio.run(embedder.aembed(ITEMS))
    message = str(caught.value)
    assert f"HTTP 307 redirecting to {emulator.base_url}/" in message and "(another origin); refused" in message
    assert "'one'" in message and "AIza" not in message
    assert emulator.requests == []  # the other origin never saw the key


def test_a_recorded_redirect_is_never_written(pytester: pytest.Pytester, emulator: GeminiEmulator,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(test_x="""
        from embedsim.inputs.items import text_item

        def test_words(embedder):
            embedder.embed([text_item("a")])
    """)
    with _Redirector(emulator.base_url) as redirector:
        monkeypatch.setenv("GEMINI_API_KEY", "AIza" + "R" * 35)
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", redirector.base_url)
        result = pytester.runpytest("--record-mode=once", "--embedsim-model", MODEL, "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, skipped=1)  # skipped: the pixels run, not selected
    result.stdout.fnmatch_lines(["*HTTP 307 redirecting to *(another origin); refused*"])
    assert emulator.requests == []
    written = [p.read_text(encoding="utf-8") for p in pytester.path.rglob("*.yaml")]
    assert not any("307" in text for text in written)


def test_messages_count_the_attempts_actually_made(emulator: GeminiEmulator) -> None:
    emulator.inject("503", times=1)
    emulator.inject("400", times=None, after=1)
    with pytest.raises(GeminiAPIError, match="HTTP 400") as caught:
        make(emulator, attempts=5).embed(ITEMS)
    assert calls(emulator) == 2 and "gave up after 2 attempts" in str(caught.value)
    emulator.reset()
    emulator.inject("503", times=None)
    with pytest.raises(GeminiAPIError, match="gave up after 3 attempts"):
        make(emulator, attempts=3).embed(ITEMS)
    assert calls(emulator) == 3


def test_a_missing_model_names_model_and_api_version_and_suggests_the_other(emulator: GeminiEmulator) -> None:
    emulator.inject("404", times=None, message="models/gemini-embedding-9 is not found for API version v1beta")
    with pytest.raises(GeminiAPIError) as caught:
        GeminiEmbedder("gemini-embedding-9", dimension=128, api_key="k", base_url=emulator.base_url).embed(ITEMS)
    message = str(caught.value)
    assert "asked for model 'gemini-embedding-9' on API version 'v1beta'" in message
    assert "try API version 'v1' (--embedsim-api-version v1, CLI --api-version v1)" in message
    assert "client.models.list()" in message and calls(emulator) == 1
