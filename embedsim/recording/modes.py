"""The record-mode rules: replay, record, or refuse before any call is made."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from embedsim.errors import EmbedsimError, RecordingError
from embedsim.recording.naming import record_command, show_path

RECORD_MODES = ("none", "once", "new_episodes", "all", "rewrite")


class NotRecorded(RecordingError):
    """No cassette and no way to record one, for a model with no recordings yet (the
    plugin turns this into a skip). The message is whole (the test's record command); the
    plugin shows ``short`` per test and, once per ``model_id``, the command that records all of
    its tests in ``mode`` (``"once"`` or ``"rewrite"``; ``""`` when a key is all it takes)."""

    def __init__(self, message: str, *, model_id: str = "", short: str = "", mode: str = "") -> None:
        super().__init__(message)
        self.model_id = model_id
        self.short = short or message
        self.mode = mode


class MissingRecording(RecordingError):
    """No cassette for a test of a model that has recordings (a renamed or new test):
    the plugin fails the test, so CI does not turn green by skipping it."""


def key_names(model_id: str) -> tuple[str, ...]:
    """The environment variables of ``model_id``'s key (its backend's ``key_env``)."""
    from embedsim.backends import find

    spec = find(model_id)
    return spec.key_env if spec is not None else ()


def has_recordings(model_dir: Path) -> bool:
    """True when ``model_dir`` (a model's cassette folder) holds a cassette."""
    return model_dir.is_dir() and any(p.is_file() for p in model_dir.rglob("*.yaml"))


def replays(record_mode: str, path: Path, key: str | None, model_id: str, nodeid: str, *,
            model_dir: Path | None = None, options: Sequence[str] = ()) -> bool:
    """True to replay ``path``, False to record it. Refuses, before any call, a mode that
    needs a recording that cannot be made: no cassette in mode ``none``, or no API key for
    a mode that records (``once`` without a cassette, ``new_episodes``, ``all``,
    ``rewrite``) - with :class:`MissingRecording` when the cassette is missing but the
    model has recordings in ``model_dir``, else :class:`NotRecorded`. ``options`` go
    into the record command printed."""
    if record_mode not in RECORD_MODES:
        raise EmbedsimError(f"unknown record mode {record_mode!r}; use one of {', '.join(RECORD_MODES)}")
    names = key_names(model_id)
    keys = " or ".join(names) or "an API key"
    key_name = names[0] if names else None
    exists = path.is_file()
    if record_mode == "rewrite":
        if key is None:
            raise NotRecorded(f"--record-mode=rewrite needs {keys} to re-record "
                              f"{show_path(path)}: {record_command(nodeid, 'rewrite', options, key_name)}",
                              model_id=model_id, short=f"no {keys} to re-record {model_id}", mode="rewrite")
        return False
    if exists and record_mode in ("none", "once"):
        return True
    if not exists and (record_mode == "none" or key is None):
        command = record_command(nodeid, "once", options, key_name)
        if model_dir is not None and has_recordings(model_dir):
            raise MissingRecording(f"no cassette {show_path(path)} for this test, but {model_id} has recordings in "
                                   f"{show_path(model_dir)} (a renamed or new test?); record it with: {command}")
        why = "" if record_mode == "none" else f" and no {keys} to record it"
        raise NotRecorded(f"not recorded yet: no cassette {show_path(path)} for {model_id}{why}; "
                          f"record it with: {command}", model_id=model_id, short=f"not recorded yet: {model_id}",
                          mode="once")
    if key is None:
        raise NotRecorded(f"--record-mode={record_mode} needs {keys} to add to "
                          f"{show_path(path)}; set the key, or replay it with --record-mode=none", model_id=model_id,
                          short=f"--record-mode={record_mode} needs {keys} for {model_id}")
    return False
