"""The report folder: its marker, what it may hold, the fragments, one build at a time.

A folder becomes a report folder when embedsim finds it missing or empty and writes its
marker, ``.embedsim-report``: a JSON file listing the files the report's builds wrote.
embedsim refuses a folder that holds anything else, and deletes only files it listed.
Fragments (``fragments/*.json``, one per test and model) are written by every process
of a run; a build reads them under the folder's lock, so concurrent runs on one folder
never drop each other's sections.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from embedsim.errors import EmbedsimError
from embedsim.files import atomic_write
from embedsim.report.slugs import slug_key

MARKER = ".embedsim-report"
LOCK = ".embedsim-report.lock"
FRAGMENTS = "fragments"
HEATMAPS = "heatmaps"
INDEX_FILES = ("index.html", "index.md", "report.json")
_TEMPORARY = re.compile(r"\..+\.tmp")  # embedsim.files.atomic_write's temporary files

Entry = dict[str, Any]


class ReportFolderError(EmbedsimError):
    """The report folder holds files embedsim did not write."""


def _written(report_dir: Path) -> set[str]:
    try:
        files = json.loads((report_dir / MARKER).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return set()
    return {f for f in files if isinstance(f, str)}


def _owned(relative: str, written: set[str]) -> bool:
    folder, _sep, name = relative.rpartition("/")
    return (relative in (MARKER, LOCK, *INDEX_FILES, *written)
            or (folder == FRAGMENTS and name.endswith(".json"))
            or bool(_TEMPORARY.fullmatch(name)))


def foreign_files(report_dir: Path) -> list[str]:
    """Files under ``report_dir`` (relative, sorted) that embedsim's report did not write:
    all of them when the folder has no marker."""
    if not report_dir.is_dir():
        return []
    files = sorted(p.relative_to(report_dir).as_posix() for p in report_dir.rglob("*") if not p.is_dir())
    if not (report_dir / MARKER).is_file():
        return files
    written = _written(report_dir)
    return [f for f in files if not _owned(f, written)]


def prepare(report_dir: Path) -> None:
    """Claim ``report_dir`` for the report (create it, or check it is a report folder holding
    only the report's files); raise :class:`ReportFolderError` otherwise. Earlier runs'
    fragments stay: the build keeps their sections."""
    if report_dir.exists() and not report_dir.is_dir():
        raise ReportFolderError(f"the report folder {report_dir} is a file; choose a folder")
    foreign = foreign_files(report_dir)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise ReportFolderError(
            f"the report folder {report_dir} holds files the embedsim report did not write ({shown}); "
            f"the report writes only into an empty folder or one it marked ({MARKER}) and never deletes "
            "other files - choose another folder, or move these away")
    (report_dir / FRAGMENTS).mkdir(parents=True, exist_ok=True)
    if not (report_dir / MARKER).is_file():
        record_written(report_dir, ())


def record_written(report_dir: Path, files: Iterable[str]) -> None:
    """Remember ``files`` (relative paths) as the report's own, and delete the files an
    earlier build wrote that this one did not (never anything else)."""
    files = sorted(set(files))
    for stale in sorted(_written(report_dir) - set(files)):
        (report_dir / stale).unlink(missing_ok=True)
    text = json.dumps({"written by": "embedsim --embedsim-report: this folder holds only its report; "
                                     "embedsim deletes only the files listed here", "files": files}, indent=1)
    atomic_write(report_dir / MARKER, text.encode("utf-8"))


@contextmanager
def locked(report_dir: Path) -> Iterator[None]:
    """Hold the folder's lock (an exclusive ``flock`` of ``.embedsim-report.lock``) for the block."""
    with open(report_dir / LOCK, "a+b") as handle:
        if os.name == "nt":  # pragma: no cover - exercised on Windows only
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield


def fragment_path(report_dir: Path, entry: Entry) -> Path:
    return report_dir / FRAGMENTS / f"{slug_key(entry['module'], entry['test'], entry['model'])}.json"


def write_fragment(report_dir: Path, entry: Entry) -> Path:
    """Write one test's result with one model atomically (it replaces that test's and
    model's fragment of an earlier run)."""
    return atomic_write(fragment_path(report_dir, entry), json.dumps(entry, ensure_ascii=False, indent=1).encode("utf-8"))


def read_fragments(report_dir: Path) -> list[Entry]:
    out = []
    for path in sorted((report_dir / FRAGMENTS).glob("*.json")):
        try:
            out.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return out


def drop_fragment(report_dir: Path, entry: Entry) -> None:
    fragment_path(report_dir, entry).unlink(missing_ok=True)
