"""Atomic writes keep ordinary file permissions (not mkstemp's 0600)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from embedsim import files
from embedsim.files import atomic_write

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_umask_is_read_at_import() -> None:
    current = os.umask(0o022)
    os.umask(current)
    assert files._UMASK == current


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_file_gets_0666_less_the_umask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask: int,
                                           mode: int) -> None:
    monkeypatch.setattr(files, "_UMASK", umask)
    path = atomic_write(tmp_path / "sub" / "index.html", b"<html>")
    assert path.read_bytes() == b"<html>" and _mode(path) == mode
    assert [p.name for p in path.parent.iterdir()] == ["index.html"]  # no temporary file left


def test_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "cassette.json"
    path.write_bytes(b"old")
    path.chmod(0o640)
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new" and _mode(path) == 0o640
