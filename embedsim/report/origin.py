"""Where each model's recordings came from, for the report: one row per recording, read
from the cassette folders' provenance (:mod:`embedsim.recording.provenance`), flagged
when the answers did not come from the vendor's official host."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from embedsim.backends.base import without_userinfo
from embedsim.recording.wire import is_official, shown_hosts
from embedsim.report.records import Fragment, JsonScalar
from embedsim.report.schema import ProvenanceRow

#: Provenance fields shown, in this order (as ``recording.provenance.describe`` names them).
FIELDS = ("recorded_at", "embedsim", "sdk", "api_version", "endpoint", "dimension", "task", "interactions")

Reader = Callable[[Path], Mapping[str, Mapping[str, Any]]]


def _hosts(endpoint: Any) -> list[str]:
    endpoints = endpoint if isinstance(endpoint, list) else [endpoint]
    return [urlsplit(str(e)).hostname or "" for e in endpoints if e]


def _shown(value: Any) -> JsonScalar | list[str]:
    """A value of a provenance record as a cell: an endpoint (or a list of them) without
    ``user:password@``, anything but a plain value as text."""
    if isinstance(value, list):
        return [str(_shown(v)) for v in value]
    if isinstance(value, str):
        return without_userinfo(value)
    return value if isinstance(value, (int, float, bool)) or value is None else str(value)


def rows(records: Mapping[str, Mapping[str, Any]], official_hosts: Sequence[str]) -> list[ProvenanceRow]:
    """One row per recording: its cassette, the :data:`FIELDS`, and ``official`` (False when
    the emulator answered or any endpoint host fully matches none of the ``official_hosts``
    patterns, :attr:`embedsim.backends.base.Wire.official_hosts`)."""
    out = []
    for cassette, record in sorted(records.items()):
        hosts = _hosts(record.get("endpoint"))
        official = not record.get("emulator") and bool(hosts) and all(is_official(h, official_hosts) for h in hosts)
        cells: dict[str, JsonScalar | list[str]] = {"cassette": cassette, **{
            k: _shown(record.get(k)) for k in FIELDS if record.get(k) is not None}}
        flag = "" if official else ("answered by the embedsim emulator" if record.get("emulator") else
                                    f"answered by {', '.join(hosts) or 'an unknown host'}, not {shown_hosts(official_hosts)}")
        out.append(ProvenanceRow(cells, official, flag))
    return out


def model_provenance(folders: Mapping[str, Path], official_hosts: Mapping[str, Sequence[str]],
                     read: Reader) -> dict[str, list[ProvenanceRow]]:
    """Per model with recordings: its :func:`rows` (``folders``: each model's cassette folder)."""
    out = {}
    for model, folder in folders.items():
        records = read(folder)
        if records:
            out[model] = rows(records, official_hosts.get(model, ()))
    return out


#: What a local model's provenance row shows (``Embedder.provenance`` of :mod:`embedsim.backends.open_weights`).
WEIGHTS_FIELDS = ("revision", "source", "library", "torch", "device", "dtype")


def weights(fragments: Iterable[Fragment]) -> dict[str, list[ProvenanceRow]]:
    """Per model run from weights on this machine, one row per revision its results in the report
    were computed with (a changed checkpoint is a second row), with how many results each."""
    shown: dict[tuple[str, str], dict[str, JsonScalar | list[str]]] = {}
    results: dict[tuple[str, str], int] = {}
    for fragment in fragments:
        found = fragment.weights
        if not found or not found.get("revision"):
            continue
        key = (fragment.model, str(found["revision"]))
        shown.setdefault(key, {k: found[k] for k in WEIGHTS_FIELDS if found.get(k) is not None})
        results[key] = results.get(key, 0) + 1
    out: dict[str, list[ProvenanceRow]] = {}
    for key, cells in shown.items():
        out.setdefault(key[0], []).append(ProvenanceRow({**cells, "results": results[key]}))
    return out


def recorded(cassette_dir: Path, models: Iterable[str]) -> dict[str, list[ProvenanceRow]]:
    """:func:`model_provenance` of the remote ``models``' folders in ``cassette_dir`` (the
    plugin's default layout ``<cassette dir>/<model id>/``)."""
    from embedsim import recording
    from embedsim.backends import find
    from embedsim.recording.provenance import read_provenance

    specs = {model: spec for model in models if (spec := find(model)) is not None and not spec.local}
    folders = {model: Path(cassette_dir) / recording.short_name(recording.safe_name(model)) for model in specs}
    hosts = {model: spec.wire.official_hosts if spec.wire is not None else () for model, spec in specs.items()}
    return model_provenance(folders, hosts, read_provenance)
