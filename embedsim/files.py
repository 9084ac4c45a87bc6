"""Atomic file writes: readers and concurrent writers never see a half-written file."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def _temporary(path: Path) -> tuple[int, Path]:
    """A new, empty temporary file beside ``path`` (``.<name>.<8 random characters>.tmp``, as long as
    :func:`tempfile.mkstemp`'s: names are shortened for it), created with
    ``0o666`` so the system applies the process's umask (or the folder's default ACL) at
    this moment, as :func:`open` would - the umask is never read nor set."""
    while True:
        temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(temp, _FLAGS, 0o666), temp
        except FileExistsError:
            continue


def atomic_write(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``
    (:func:`os.replace`, atomic on one file system); the folders are created. The file
    keeps the mode of the file it replaces, or gets ``0o666`` less the umask (as
    :func:`open` would, not the ``0o600`` of :func:`tempfile.mkstemp`). On any
    error, including an interrupt, ``path`` keeps its previous content and the
    temporary file is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp = _temporary(path)
    try:
        with os.fdopen(descriptor, "wb") as f:
            f.write(data)
        with contextlib.suppress(FileNotFoundError):  # a new file: the mode it was created with
            os.chmod(temp, stat.S_IMODE(path.stat().st_mode))
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path
