"""Shared fixture: a fresh loopback Gemini emulator (a test tool, never a source of Gemini data)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from embedsim.emulator import GeminiEmulator


@pytest.fixture
def emulator() -> Iterator[GeminiEmulator]:
    """A started :class:`GeminiEmulator` accepting any non-empty API key."""
    with GeminiEmulator() as server:
        yield server
