"""The report folder: its marker, what it may hold, the fragments, one build at a time.

A folder becomes a report folder when embedsim finds it missing or empty and writes its
marker, ``.embedsim-report``: a JSON file listing the files the report's builds wrote.
embedsim refuses a folder that holds anything else, and deletes only files it listed -
and of those only heatmaps (``heatmaps/<folder>/<name>.png``) inside the folder, whatever
the marker says. A build lists each heatmap in the marker *before* writing it, so an
interrupted build (Ctrl-C) or one still running never leaves a file the marker does not
list. Fragments (``fragments/*.json``, one per test and model) are written by every
process of a run; a build reads them under the folder's lock, so concurrent runs on one
folder never drop each other's sections.
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
#: What a build writes besides the pages: ``heatmaps/<model or pair>/<name>.png`` (slugs: no ``/``, never ``..``).
_HEATMAP = re.compile(rf"{HEATMAPS}/(?!\.\.?/)[^/\\]+/[^/\\]+\.png")

Entry = dict[str, Any]


class ReportFolderError(EmbedsimError):
    """The report folder holds files embedsim did not write."""


def _written(report_dir: Path) -> set[str]:
    """The files the marker lists that a build may have written: heatmaps, by their relative
    path (anything else in the marker - ``../x``, an absolute path, the pages - is ignored)."""
    try:
        files = json.loads((report_dir / MARKER).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return set()
    return {f for f in files if isinstance(f, str) and _HEATMAP.fullmatch(f)}


def _inside(report_dir: Path, relative: str) -> bool:
    """``relative`` (a listed heatmap) is in ``report_dir`` once symlinks are followed."""
    try:
        return (report_dir / relative).parent.resolve().parent == report_dir.resolve() / HEATMAPS
    except OSError:
        return False


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
    if not (report_dir / MARKER).is_file():  # a concurrent run may be marking it: its lock and marker's temporary file
        return [f for f in files if not (f == LOCK or (f.startswith(f".{MARKER}.") and _TEMPORARY.fullmatch(f)))]
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
        with locked(report_dir):  # a build claims its heatmaps under the lock: never overwrite its marker
            if not (report_dir / MARKER).is_file():
                _write_marker(report_dir, ())


def _write_marker(report_dir: Path, files: Iterable[str]) -> None:
    text = json.dumps({"written by": "embedsim --embedsim-report: this folder holds only its report; "
                                     "embedsim deletes only the heatmaps listed here", "files": sorted(set(files))},
                      indent=1)
    atomic_write(report_dir / MARKER, text.encode("utf-8"))


def claim(report_dir: Path, relative: str) -> None:
    """List ``relative`` (a heatmap about to be written) in the marker first, so the folder
    never holds a file of the report the marker does not list (call under :func:`locked`)."""
    if not _HEATMAP.fullmatch(relative):
        raise ValueError(f"the report writes only heatmaps/<folder>/<name>.png, not {relative!r}")
    written = _written(report_dir)
    if relative not in written:
        _write_marker(report_dir, written | {relative})


def record_written(report_dir: Path, files: Iterable[str]) -> None:
    """Remember ``files`` (relative paths) as the report's own, and delete the files an
    earlier build wrote that this one did not: only listed heatmaps inside the folder,
    never anything else (deleted before the marker forgets them)."""
    files = set(files)
    for stale in sorted(_written(report_dir) - files):
        if _inside(report_dir, stale):
            (report_dir / stale).unlink(missing_ok=True)
    _write_marker(report_dir, files)


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


def read_fragments(report_dir: Path, dropped: list[str] | None = None) -> list[Entry]:
    """The fragments of ``report_dir``. One that is not a fragment this embedsim writes
    (unreadable, not JSON, a key missing or of the wrong type) is skipped; with ``dropped``
    given, it is deleted and noted there (``fragments/<name>: why``)."""
    out = []
    for path in sorted((report_dir / FRAGMENTS).glob("*.json")):
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            problem = fragment_problem(entry)
        except (OSError, ValueError) as exc:
            entry, problem = None, f"unreadable ({type(exc).__name__})"
        if problem is None:
            out.append(entry)
        elif dropped is not None:
            dropped.append(f"{FRAGMENTS}/{path.name}: {problem}")
            path.unlink(missing_ok=True)
    return out


#: The keys of a fragment, of its matrices and of its checks the report reads, and their types.
_FRAGMENT = {"module": str, "test": str, "model": str, "outcome": str, "matrices": list, "checks": list}
_MATRIX = {"name": str, "row_labels": list, "col_labels": list, "values": list, "all_pairs": bool}
_CHECK = {"name": str, "matrix": str, "kind": str, "outcome": str, "statistic": (int, float),
          "threshold": (int, float), "n": int, "unit": str}


def fragment_problem(entry: Any) -> str | None:
    """Why ``entry`` is not a report fragment (a missing key, a wrong type), or ``None``."""
    def problem(record: Any, keys: dict[str, Any], what: str) -> str | None:
        if not isinstance(record, dict):
            return f"{what} is not a JSON object"
        for key, kind in keys.items():
            if key not in record:
                return f"{what} has no {key!r}"
            if not isinstance(record[key], kind) or (kind is not bool and isinstance(record[key], bool)):
                return f"{what}'s {key!r} is not {getattr(kind, '__name__', 'a number')}"
        return None

    found = problem(entry, _FRAGMENT, "the fragment")
    for index, matrix in enumerate(entry.get("matrices", []) if found is None else []):
        found = found or problem(matrix, _MATRIX, f"matrix {index + 1}")
    for index, check in enumerate(entry.get("checks", []) if found is None else []):
        found = found or problem(check, _CHECK, f"check {index + 1}")
    return found


def drop_fragment(report_dir: Path, entry: Entry) -> None:
    fragment_path(report_dir, entry).unlink(missing_ok=True)
