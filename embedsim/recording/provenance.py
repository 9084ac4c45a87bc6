"""Where each recording came from, stored beside the cassettes for reviewers and the report.

Every model folder of cassettes holds ``provenance.json``: one entry per cassette (its
path inside the folder) saying when it was recorded, with which embedsim and SDK, which
API version, endpoint and output dimension, the task, and whether the embedsim
emulator answered. Everything but the time and embedsim's version is read from the
recorded requests and answers themselves (the SDK's user agent, the URL
read with the backend's ``Wire.call_path``, the body at its ``dimension_paths`` and
``task_paths``), so it states what was sent, not what was configured. An endpoint never holds a ``user:password@``.

Provenance follows the files it describes: each entry keeps the ``sha256`` of the cassette it
describes, and reading or writing the file drops the entries whose cassette is gone - unless a
cassette without an entry has that digest (the test was renamed and its cassette moved with
``git mv``), which the entry then follows.
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from embedsim.backends.base import EMULATOR_HEADER, Wire
from embedsim.files import atomic_write
from embedsim.recording.bodies import json_body, values_at
from embedsim.recording.wire import call_of, without_userinfo

PROVENANCE_FILE = "provenance.json"


def _header(headers: Any, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return str(value[0] if isinstance(value, list) and value else value)
    return None


def answered_by_emulator(response: dict[str, Any]) -> bool:
    """True when a recorded answer carries the embedsim emulator's marker header."""
    return _header(response.get("headers"), EMULATOR_HEADER) is not None


def _one_or_all(values: Iterable[Any]) -> Any:
    distinct = list(dict.fromkeys(v for v in values if v is not None))
    return None if not distinct else distinct[0] if len(distinct) == 1 else distinct


def describe(requests: list[Any], responses: list[dict[str, Any]], wires: Sequence[Wire] = ()) -> dict[str, Any]:
    """The provenance of one cassette's interactions (vcr requests and response dicts), their
    URLs read with the backend's ``wires``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        embedsim_version = version("pytest-embedsim")
    except PackageNotFoundError:
        embedsim_version = None
    urls = [urlsplit(without_userinfo(r.uri)) for r in requests]
    bodies = [json_body(r.body) for r in requests]

    def sent(field: str) -> Any:
        paths = [path for wire in wires for path in getattr(wire, field)]
        return _one_or_all(value for body in bodies for value in values_at(body, paths))

    return {
        "recorded_at": datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat(),
        "embedsim": embedsim_version,
        "sdk": _one_or_all(_header(r.headers, "user-agent") for r in requests),
        "api_version": _one_or_all(call_of(u.path, wires)[1] for u in urls),
        "endpoint": _one_or_all(f"{u.scheme}://{u.netloc}" for u in urls),
        "dimension": sent("dimension_paths"),
        "task": sent("task_paths"),
        "emulator": any(answered_by_emulator(r) for r in responses),
        "interactions": len(requests),
    }


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)  # parallel recorders update one file
        yield
    finally:
        os.close(descriptor)


def _digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _following_files(folder: Path, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with each entry under the path of the cassette it describes: an entry whose
    cassette is gone moves to the cassette without an entry that has its ``sha256`` (a renamed
    test's moved cassette), or is dropped."""
    gone = [key for key in data if not (folder / key).is_file()]
    if not gone:
        return data
    out = {key: entry for key, entry in data.items() if key not in gone}
    digests: dict[str, str] = {}
    for cassette in sorted(folder.rglob("*.yaml")):
        key = cassette.relative_to(folder).as_posix()
        if key not in out and cassette.is_file():
            digests.setdefault(_digest(cassette), key)
    for key in gone:
        entry = data[key]
        sha = entry.get("sha256") if isinstance(entry, dict) else None
        moved = digests.pop(sha, None) if isinstance(sha, str) else None
        if moved is not None:
            out[moved] = entry
    return dict(sorted(out.items()))


def read_provenance(model_dir: str | Path) -> dict[str, dict[str, Any]]:
    """``{cassette path inside the folder: provenance}`` of a model's cassette folder
    (``{}`` when it has no ``provenance.json``), for the cassettes that are there (see the module)."""
    folder = Path(model_dir)
    try:
        data = json.loads((folder / PROVENANCE_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return _following_files(folder, data) if isinstance(data, dict) else {}


def write_provenance(model_dir: str | Path, cassette: str | Path, entry: dict[str, Any]) -> Path:
    """Set the entry of ``cassette`` (a path below ``model_dir``) in the folder's
    ``provenance.json``, atomically and safely against parallel recorders."""
    folder = Path(model_dir)
    key = Path(cassette).resolve().relative_to(folder.resolve()).as_posix()
    with _locked(folder):
        data = read_provenance(folder)  # entries of cassettes gone are dropped, of moved ones follow them
        data[key] = {**entry, "sha256": _digest(folder / key)}
        text = json.dumps(dict(sorted(data.items())), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        return atomic_write(folder / PROVENANCE_FILE, text.encode("utf-8"))
