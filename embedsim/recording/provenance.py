"""Where each recording came from, stored beside the cassettes for reviewers and the report.

Every model folder of cassettes holds ``provenance.json``: one entry per cassette (its
path inside the folder) saying when it was recorded, with which embedsim and SDK, which
API version, endpoint and output dimension, the task, and whether the embedsim
emulator answered. Everything but the time and embedsim's version is read from the
recorded requests and answers themselves (the SDK's user agent, the URL
read with the backend's ``Wire.call_path``, the body), so it states what was sent, not what
was configured. An endpoint never holds a ``user:password@``.
"""

from __future__ import annotations

import datetime
import fcntl
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from embedsim.backends.base import EMULATOR_HEADER, Wire
from embedsim.files import atomic_write
from embedsim.recording.bodies import json_body
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
    parts = [req for body in bodies if isinstance(body, dict) for req in body.get("requests", [body])
             if isinstance(req, dict)]
    return {
        "recorded_at": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
        "embedsim": embedsim_version,
        "sdk": _one_or_all(_header(r.headers, "user-agent") for r in requests),
        "api_version": _one_or_all(call_of(u.path, wires)[1] for u in urls),
        "endpoint": _one_or_all(f"{u.scheme}://{u.netloc}" for u in urls),
        "dimension": _one_or_all(p.get("outputDimensionality") or p.get("output_dimensionality") for p in parts),
        "task": _one_or_all(p.get("taskType") or p.get("task_type") for p in parts),
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


def read_provenance(model_dir: str | Path) -> dict[str, dict[str, Any]]:
    """``{cassette path inside the folder: provenance}`` of a model's cassette folder
    (``{}`` when it has no ``provenance.json``)."""
    path = Path(model_dir) / PROVENANCE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return data if isinstance(data, dict) else {}


def write_provenance(model_dir: str | Path, cassette: str | Path, entry: dict[str, Any]) -> Path:
    """Set the entry of ``cassette`` (a path below ``model_dir``) in the folder's
    ``provenance.json``, atomically and safely against parallel recorders."""
    folder = Path(model_dir)
    key = Path(cassette).resolve().relative_to(folder.resolve()).as_posix()
    with _locked(folder):
        data = read_provenance(folder)
        data[key] = entry
        text = json.dumps(dict(sorted(data.items())), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        return atomic_write(folder / PROVENANCE_FILE, text.encode("utf-8"))
