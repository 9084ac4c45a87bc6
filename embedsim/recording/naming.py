"""Where a test's cassette lives and how paths and commands are shown to the user."""

from __future__ import annotations

import shlex
from pathlib import Path


def safe_name(name: str) -> str:
    """A file-name-safe version of ``name`` (as pytest-recording does)."""
    for ch in "<>?%*:|\"'/\\":
        name = name.replace(ch, "-")
    return name


def cassette_path(cassette_dir: str | Path, model_id: str, module: str, test_name: str) -> Path:
    """``<cassette_dir>/<model id>/<module>/<test name>.yaml``."""
    return Path(cassette_dir) / safe_name(model_id) / safe_name(module) / f"{safe_name(test_name)}.yaml"


def show_path(path: Path) -> str:
    """``path`` relative to the working directory when it is below it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def record_command(nodeid: str, mode: str = "once", model_id: str = "") -> str:
    """The shell command that records (``once``) or re-records (``rewrite``) one test, and
    writes its snapshots for the new recording (with the key variable of ``model_id``'s backend)."""
    from embedsim.backends import key_hint

    return f"{key_hint(model_id)}pytest {shlex.quote(nodeid)} --record-mode={mode} --snapshot-update"
