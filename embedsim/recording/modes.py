"""The record-mode rules: replay, record, or refuse before any call is made."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from embedsim.errors import EmbedsimError
from embedsim.recording.naming import record_command, show_path

RECORD_MODES = ("none", "once", "new_episodes", "all", "rewrite")
#: Environment variables the key is read from, first found wins.
KEY_ENVIRONMENT = ("GEMINI_API_KEY", "GOOGLE_API_KEY")


class NotRecorded(EmbedsimError):
    """No cassette and no way to record one (the plugin turns this into a skip)."""


def api_key_from_env(environ: Mapping[str, str] = os.environ) -> str | None:
    """The API key from :data:`KEY_ENVIRONMENT`, or None."""
    for name in KEY_ENVIRONMENT:
        if environ.get(name, "").strip():
            return environ[name].strip()
    return None


def replays(record_mode: str, path: Path, key: str | None, model_id: str, nodeid: str) -> bool:
    """True to replay ``path``, False to record it; :class:`NotRecorded` when the mode needs
    a recording that cannot be made: no cassette in mode ``none``, or no API key for a mode
    that records (``once`` without a cassette, ``new_episodes``, ``all``, ``rewrite``)."""
    if record_mode not in RECORD_MODES:
        raise EmbedsimError(f"unknown record mode {record_mode!r}; use one of {', '.join(RECORD_MODES)}")
    exists = path.is_file()
    if record_mode == "rewrite":
        if key is None:
            raise NotRecorded(f"--record-mode=rewrite needs GEMINI_API_KEY or GOOGLE_API_KEY to re-record "
                              f"{show_path(path)}: {record_command(nodeid, 'rewrite')}")
        return False
    if exists and record_mode in ("none", "once"):
        return True
    if not exists and record_mode == "none":
        raise NotRecorded(f"not recorded yet: no cassette {show_path(path)} for {model_id}; record it with: "
                          f"{record_command(nodeid)}")
    if key is None and not exists:
        raise NotRecorded(f"not recorded yet: no cassette {show_path(path)} for {model_id} and no GEMINI_API_KEY "
                          f"(or GOOGLE_API_KEY) to record it; record it with: {record_command(nodeid)}")
    if key is None:
        raise NotRecorded(f"--record-mode={record_mode} needs GEMINI_API_KEY (or GOOGLE_API_KEY) to add to "
                          f"{show_path(path)}; set the key, or replay it with --record-mode=none")
    return False
