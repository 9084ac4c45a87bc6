"""Explaining a cassette miss: which items changed between a request and its cassette."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedsim.errors import RecordingError
from embedsim.inputs.items import Item
from embedsim.recording.bodies import request_inputs
from embedsim.recording.naming import record_command, show_path
from embedsim.recording.vcr_settings import versionless_path

if TYPE_CHECKING:
    from vcr.errors import CannotOverwriteExistingCassetteException


class CassetteMismatch(RecordingError):
    """A replayed test sent a request its cassette does not hold."""


def item_names(items: Sequence[Item]) -> dict[str, str]:
    """``{"<mime> sha256:<hex>": "<kind> '<label>'"}`` for the media items of a request."""
    return {f"{i.mime_type} sha256:{i.digest}": f"{i.kind} {i.label!r}" for i in items if i.kind != "text"}


def _changed_in_place(live: list[str], recorded: list[list[str]]) -> list[tuple[str, str]]:
    """``(now, before)`` media inputs at the same position of the live request and the
    recorded request of the same length that shares most inputs with it."""
    same_length = [inputs for inputs in recorded if len(inputs) == len(live)]
    if not same_length:
        return []
    closest = max(same_length, key=lambda inputs: len(set(inputs) & set(live)))
    return [(now, before) for now, before in zip(live, closest, strict=True)
            if now != before and not now.startswith("text") and not before.startswith("text")]


def describe_mismatch(error: CannotOverwriteExistingCassetteException, items: Sequence[Item],
                      path: Path, nodeid: str, options: Sequence[str] = (), key_name: str | None = None) -> str:
    """Which items changed between this request and the cassette, and how to re-record
    (with the run's ``options``)."""
    names = item_names(items)
    live_inputs, live_fields = request_inputs(error.failed_request.body)
    recorded_inputs: list[str] = []
    recorded_requests: list[list[str]] = []
    recorded_fields: dict[str, Any] = {}
    recorded_paths = set()
    cassette = error.cassette
    unplayed = [r for n, r in enumerate(cassette.requests) if not cassette.play_counts[n]]  # not answered yet
    for request in unplayed or cassette.requests:
        inputs, fields = request_inputs(request.body)
        recorded_inputs += inputs
        recorded_requests.append(inputs)
        for key, value in fields.items():
            recorded_fields.setdefault(key, value)
        recorded_paths.add(versionless_path(request.path))

    def short(entry: str) -> str:
        mime, _, digest = entry.partition(" ")
        return f"{mime}, {digest[:19]}..."

    def show(entry: str) -> str:
        if entry.startswith("text"):
            return entry
        name = names.get(entry)
        return f"{name} ({short(entry)})" if name else f"media ({short(entry)})"

    new = [e for e in dict.fromkeys(live_inputs) if e not in recorded_inputs]
    gone = [e for e in dict.fromkeys(recorded_inputs) if e not in live_inputs]
    lines = [f"the cassette {show_path(path)} does not match this test's request "
             f"({len(error.cassette)} recorded interaction(s)):"]
    changed = [(e, old) for e, old in _changed_in_place(live_inputs, recorded_requests)
               if e in new and old in gone and e in names]
    if changed:
        lines.append("  items whose content changed:")
        lines += [f"    - {names[e]}: {short(e)} now, {short(old)} in the cassette" for e, old in changed]
        new = [e for e in new if e not in {c for c, _ in changed}]
        gone = [e for e in gone if e not in {old for _, old in changed}]
    if new:
        lines.append("  items sent now but not in the cassette (new or changed):")
        lines += [f"    - {show(e)}" for e in new[:20]]
    if gone:
        lines.append("  items in the cassette that are no longer sent:")
        lines += [f"    - {show(e)}" for e in gone[:20]]
    for key in sorted(set(live_fields) | set(recorded_fields)):
        if live_fields.get(key) != recorded_fields.get(key):
            lines.append(f"  {key}: {live_fields.get(key)!r} now, {recorded_fields.get(key)!r} in the cassette")
    if versionless_path(error.failed_request.path) not in recorded_paths and recorded_paths:
        lines.append(f"  path: {versionless_path(error.failed_request.path)} now, {', '.join(sorted(recorded_paths))} "
                     "in the cassette (model id changed?)")
    if len(lines) == 1:
        reason = getattr(error, "reason", "")
        lines.append("  the same request was made more often than recorded" if reason == "already_played"
                     else "  the requests differ in order or count")
    lines.append(f"re-record it with: {record_command(nodeid, 'rewrite', options, key_name)}")
    return "\n".join(lines)


def cassette_error(exc: BaseException) -> CannotOverwriteExistingCassetteException | None:
    """The vcr cassette miss in ``exc``'s chain of causes, or None."""
    from vcr.errors import CannotOverwriteExistingCassetteException

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, CannotOverwriteExistingCassetteException):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
