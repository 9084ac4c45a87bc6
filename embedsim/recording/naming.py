"""Where a test's cassette lives and how paths and commands are shown to the user."""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Sequence
from pathlib import Path

#: Longest file or folder name written, in UTF-8 bytes: file systems allow 255, and the
#: atomic writer's temporary file beside a cassette adds 14.
MAX_NAME_BYTES = 240
SUFFIX = ".yaml"


def safe_name(name: str) -> str:
    """A file-name-safe version of ``name`` (as pytest-recording does)."""
    for ch in "<>?%*:|\"'/\\":
        name = name.replace(ch, "-")
    return name


def short_name(name: str, limit: int = MAX_NAME_BYTES) -> str:
    """``name`` when it fits in ``limit`` UTF-8 bytes, else its start and ``-`` and a
    digest of the whole name (deterministic, so the same test finds its cassette again)."""
    data = name.encode("utf-8")
    if len(data) <= limit:
        return name
    digest = hashlib.sha256(data).hexdigest()[:16]
    head = data[: limit - len(digest) - 1].decode("utf-8", errors="ignore")
    return f"{head}-{digest}"


def cassette_path(cassette_dir: str | Path, model_id: str, module: str, test_name: str) -> Path:
    """``<cassette_dir>/<model id>/<module>/<test name>.yaml``, each name made safe and
    shortened (:func:`short_name`) when too long for a file system."""
    return model_cassette_path(Path(cassette_dir) / short_name(safe_name(model_id)) / short_name(safe_name(module)),
                               test_name)


def model_cassette_path(folder: str | Path, test_name: str) -> Path:
    """``<folder>/<test name>.yaml``, the name made safe and short enough."""
    return Path(folder) / (short_name(safe_name(test_name), MAX_NAME_BYTES - len(SUFFIX)) + SUFFIX)


def show_path(path: Path) -> str:
    """``path`` relative to the working directory when it is below it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def record_command(nodeid: str, mode: str = "once", options: Sequence[str] = (), key_name: str | None = None) -> str:
    """The shell command that records (``once``) or re-records (``rewrite``) one test with
    the run's ``options`` (model, dimension, cassette folder...) and the backend's key
    variable ``key_name``, and writes its snapshots for the new recording."""
    extra = "".join(f" {shlex.quote(option)}" for option in options)
    key = f"{key_name}=... " if key_name else ""
    return f"{key}pytest {shlex.quote(nodeid)}{extra} --record-mode={mode} --snapshot-update"
