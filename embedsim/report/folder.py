"""The report folder: its marker, what it may hold, the fragments, one build at a time.

A folder becomes a report folder when embedsim finds it missing or empty and writes its
marker, ``.embedsim-report``: a JSON file listing the files the report's builds wrote.
embedsim refuses a folder that holds anything else, and deletes only files it listed -
and of those only heatmaps (``heatmaps/<folder>/<name>.png``) inside the folder, whatever
the marker says. A build lists each heatmap in the marker *before* writing it, so an
interrupted build (Ctrl-C) or one still running never leaves a file the marker does not
list. Fragments (``fragments/*.json``, one per test and model, :class:`~embedsim.report.records.Fragment`
with its ``schema_version``) are written by every process of a run; a build reads them under the folder's lock, so concurrent runs on one
folder never drop each other's sections.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from embedsim.errors import EmbedsimError
from embedsim.files import atomic_write
from embedsim.report.codec import SCHEMA_VERSION, SchemaError, from_json, to_json
from embedsim.report.records import Fragment
from embedsim.report.slugs import slug_key

MARKER = ".embedsim-report"
LOCK = ".embedsim-report.lock"
FRAGMENTS = "fragments"
HEATMAPS = "heatmaps"
INDEX_FILES = ("index.html", "index.md", "report.json")
_TEMPORARY = re.compile(r"\..+\.tmp")  # embedsim.files.atomic_write's temporary files
#: What a build writes besides the pages: ``heatmaps/<model or pair>/<name>.png`` (slugs: no ``/``, never ``..``).
_HEATMAP = re.compile(rf"{HEATMAPS}/(?!\.\.?/)[^/\\]+/[^/\\]+\.png")

class ReportFolderError(EmbedsimError):
    """The report folder holds files embedsim did not write."""


class FragmentError(EmbedsimError):
    """A file of ``fragments/`` that is not a fragment this embedsim reads; the message names it
    and says what to do."""


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

            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined]
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield


def fragment_path(report_dir: Path, fragment: Fragment) -> Path:
    return report_dir / FRAGMENTS / f"{slug_key(fragment.module, fragment.test, fragment.model)}.json"


def write_fragment(report_dir: Path, fragment: Fragment) -> Path:
    """Write one test's result with one model atomically (it replaces that test's and
    model's fragment of an earlier run)."""
    text = json.dumps(to_json(fragment), ensure_ascii=False, indent=1)
    return atomic_write(fragment_path(report_dir, fragment), text.encode("utf-8"))


def read_fragment(path: Path) -> Fragment:
    """The fragment at ``path``; :class:`FragmentError` says why it is not one this embedsim
    reads (unreadable, not JSON, another schema version, a field missing or of the wrong type)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FragmentError(f"{FRAGMENTS}/{path.name}: unreadable ({type(exc).__name__})") from exc
    version = data.get("schema_version", 0) if isinstance(data, dict) else None
    if version != SCHEMA_VERSION:
        test = data.get("nodeid") if isinstance(data, dict) else None
        raise FragmentError(
            f"{FRAGMENTS}/{path.name}: written by another embedsim (report schema version {version}; this one "
            f"reads version {SCHEMA_VERSION}) - re-run {test if isinstance(test, str) and test else 'its test'} "
            "with --embedsim-report to rebuild it")
    try:
        return from_json(Fragment, data, "the fragment")
    except SchemaError as exc:
        raise FragmentError(f"{FRAGMENTS}/{path.name}: {exc}") from exc


def read_fragments(report_dir: Path, dropped: list[str] | None = None) -> list[Fragment]:
    """The fragments of ``report_dir``. One that :func:`read_fragment` cannot read is
    skipped; with ``dropped`` given, it is deleted and noted there (``fragments/<name>: why``)."""
    out = []
    for path in sorted((report_dir / FRAGMENTS).glob("*.json")):
        try:
            out.append(read_fragment(path))
        except FragmentError as exc:
            if dropped is not None:
                dropped.append(str(exc))
                path.unlink(missing_ok=True)
    return out


def drop_fragment(report_dir: Path, fragment: Fragment) -> None:
    fragment_path(report_dir, fragment).unlink(missing_ok=True)
