"""Atomic file writes: readers and concurrent writers never see a half-written file."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

#: The process umask, read once (setting it is the only way to read it, so not per write).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``
    (:func:`os.replace`, atomic on one file system); the folders are created. The file
    keeps the mode of the file it replaces, or gets ``0o666`` less the umask (as
    :func:`open` would) instead of the ``0o600`` of :func:`tempfile.mkstemp`. On any
    error, including an interrupt, ``path`` keeps its previous content and the
    temporary file is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as f:
            f.write(data)
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            mode = 0o666 & ~_UMASK
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path
