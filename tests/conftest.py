"""Shared fixtures: a loopback Gemini emulator (a test tool, never a source of Gemini data), and
isolation of pytester runs from the outer run (its xdist worker, its random order, its modules)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PLUGINS = Path(__file__).resolve().parent / "plugins"
sys.path.insert(0, str(PLUGINS))
# isort: off
from pytester_isolation import LIBRARY_MODULES  # (installs it before any pytester run)
# google-auth's requests transport imported before any inner run: an inner run's reset of sys.modules
# would otherwise drop the requests.packages aliases it made (test_vertex, test_cloud_recording).
import google.auth.transport.requests  # noqa: F401
# isort: on

from embedsim.testing.gemini import GeminiEmulator


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


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.Pytester]:
    """pytest's ``pytester``, its inner runs in file order (no pytest-randomly: tests read their
    output in order) and no library module imported twice (``tests/plugins/pytester_isolation.py``).
    Its throwaway projects may record the emulator's answers under Gemini ids (the recording
    layer refuses that elsewhere: ``embedsim.recording.ALLOW_EMULATOR``)."""
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:randomly -p pytester_isolation")
    monkeypatch.setenv("EMBEDSIM_ALLOW_EMULATOR_RECORDINGS", "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(PLUGINS), os.environ.get("PYTHONPATH")])))
    yield pytester
    LIBRARY_MODULES.remember(pytester.path)
