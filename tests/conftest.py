"""Shared fixtures: a loopback Gemini emulator (a test tool, never a source of Gemini data), and
isolation of pytester runs from an outer pytest-xdist worker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from embedsim.emulator import GeminiEmulator


@pytest.fixture
def emulator() -> Iterator[GeminiEmulator]:
    """A started :class:`GeminiEmulator` accepting any non-empty API key."""
    with GeminiEmulator() as server:
        yield server


#: The SDK's environment: keys, base URL, Vertex AI and API version settings.
GEMINI_ENVIRONMENT = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_USE_ENTERPRISE",
                      "GOOGLE_GEMINI_BASE_URL", "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION", "GOOGLE_GENAI_API_VERSION")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No Gemini key, base URL or Vertex AI setting from the machine's environment."""
    for name in GEMINI_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def outside_xdist(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner pytester runs must not inherit an outer ``-n`` worker's identity (syrupy checks it)."""
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def emulator_recordings_in_pytester(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Throwaway pytester projects may record the emulator's answers under Gemini ids (the
    recording layer refuses that elsewhere: ``embedsim.recording.ALLOW_EMULATOR``)."""
    if "pytester" in request.fixturenames:
        monkeypatch.setenv("EMBEDSIM_ALLOW_EMULATOR_RECORDINGS", "1")
