"""The record-mode rules: replay, record, or refuse before any call is made."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from embedsim.backends import resolve
from embedsim.errors import EmbedsimError, RecordingError
from embedsim.recording.naming import record_command, show_path

RECORD_MODES = ("none", "once", "new_episodes", "all", "rewrite")


class NotRecorded(RecordingError):
    """No cassette and no way to record one (the plugin turns this into a skip)."""


def api_key_from_env(model_id: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The API key of ``model_id``'s backend (its ``key_env`` variables of ``environ``, default
    ``os.environ``), or None."""
    return resolve(model_id).api_key(os.environ if environ is None else environ)


def _key_names(model_id: str) -> str:
    return " or ".join(resolve(model_id).key_env) or "an API key"


def replays(record_mode: str, path: Path, key: str | None, model_id: str, nodeid: str) -> bool:
    """True to replay ``path``, False to record it; :class:`NotRecorded` when the mode needs
    a recording that cannot be made: no cassette in mode ``none``, or no API key for a mode
    that records (``once`` without a cassette, ``new_episodes``, ``all``, ``rewrite``)."""
    if record_mode not in RECORD_MODES:
        raise EmbedsimError(f"unknown record mode {record_mode!r}; use one of {', '.join(RECORD_MODES)}")
    exists = path.is_file()
    if record_mode == "rewrite":
        if key is None:
            raise NotRecorded(f"--record-mode=rewrite needs {_key_names(model_id)} to re-record "
                              f"{show_path(path)}: {record_command(nodeid, 'rewrite', model_id)}")
        return False
    if exists and record_mode in ("none", "once"):
        return True
    if not exists and record_mode == "none":
        raise NotRecorded(f"not recorded yet: no cassette {show_path(path)} for {model_id}; record it with: "
                          f"{record_command(nodeid, model_id=model_id)}")
    if key is None and not exists:
        raise NotRecorded(f"not recorded yet: no cassette {show_path(path)} for {model_id} and no "
                          f"{_key_names(model_id)} to record it; record it with: "
                          f"{record_command(nodeid, model_id=model_id)}")
    if key is None:
        raise NotRecorded(f"--record-mode={record_mode} needs {_key_names(model_id)} to add to "
                          f"{show_path(path)}; set the key, or replay it with --record-mode=none")
    return False
