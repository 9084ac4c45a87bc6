"""Explaining a cassette miss: which items changed between a request and its cassette."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedsim.backends.base import Wire
from embedsim.errors import RecordingError, in_chain
from embedsim.inputs.items import Item
from embedsim.recording.bodies import Leaf, request_leaves
from embedsim.recording.naming import record_command, show_path
from embedsim.recording.wire import call_of, media_paths

if TYPE_CHECKING:
    from vcr.errors import CannotOverwriteExistingCassetteException


class CassetteMismatch(RecordingError):
    """A replayed test sent a request its cassette does not hold."""


def item_names(items: Sequence[Item]) -> dict[str, str]:
    """``{"sha256:<hex>": "<kind> '<label>'"}`` for the media items of a request."""
    return {f"sha256:{i.digest}": f"{i.kind} {i.id!r}" for i in items if i.kind != "text"}


def _changed_in_place(live: list[str], recorded: list[list[str]]) -> list[tuple[str, str]]:
    """``(now, before)`` media inputs at the same position of the live request and the
    recorded request of the same length that shares most inputs with it."""
    same_length = [inputs for inputs in recorded if len(inputs) == len(live)]
    if not same_length:
        return []
    closest = max(same_length, key=lambda inputs: len(set(inputs) & set(live)))
    return [(now, before) for now, before in zip(live, closest, strict=True)
            if now != before and not now.startswith("text") and not before.startswith("text")]


def _is_text_input(leaf: Leaf, texts: Sequence[str]) -> bool:
    """A body value carrying one of the items' texts (as it is, or after a prefix such as a task)."""
    return isinstance(leaf.value, str) and any(leaf.value == t or leaf.value.endswith(" " + t) for t in texts)


def _split(leaves: list[Leaf], input_paths: set[str]) -> tuple[list[str], dict[str, Any]]:
    """The request's inputs (media and texts, in order) and its other fields (first value per path)."""
    inputs: list[str] = []
    fields: dict[str, Any] = {}
    for leaf in leaves:
        if leaf.digest is not None or leaf.path in input_paths:
            inputs.append(leaf.entry)
        else:
            fields.setdefault(leaf.path, leaf.value)
    return inputs, fields


def describe_mismatch(error: CannotOverwriteExistingCassetteException, items: Sequence[Item],
                      path: Path, nodeid: str, options: Sequence[str] = (), key_name: str | None = None,
                      wires: Sequence[Wire] = ()) -> str:
    """Which items changed between this request and the cassette (its bodies read with the
    backend's ``wires``), and how to re-record (with the run's ``options``)."""
    names = item_names(items)
    paths = media_paths(wires)
    live = request_leaves(error.failed_request.body, paths)
    mimes = {leaf.digest: leaf.mime for leaf in live if leaf.digest and leaf.mime}
    texts = [i.text for i in items if i.kind == "text"]
    input_paths = {leaf.path for leaf in live if _is_text_input(leaf, texts)}
    live_inputs, live_fields = _split(live, input_paths)
    recorded_inputs: list[str] = []
    recorded_requests: list[list[str]] = []
    recorded_fields: dict[str, Any] = {}
    recorded_calls = set()
    cassette = error.cassette
    unplayed = [r for n, r in enumerate(cassette.requests) if not cassette.play_counts[n]]  # not answered yet
    if cassette.requests and not unplayed:  # every recorded call answered: this one is one call more
        sent = [f"    - {names.get(e) or e if not e.startswith('text') else e}"
                for e in dict.fromkeys(_split(live, input_paths)[0])]
        return "\n".join([
            f"the cassette {show_path(path)} holds fewer calls than this test makes: its "
            f"{len(cassette.requests)} recorded call(s) were all replayed, and call {len(cassette.requests) + 1} "
            "is not recorded (a call added to the test, or a recording of a test that stopped early); it sends:",
            *sent[:20], f"re-record it with: {record_command(nodeid, 'rewrite', options, key_name)}"])
    still_sent: set[str] = set()  # recorded inputs of items this embedding still sends (in later calls)
    for request in unplayed or cassette.requests:
        leaves = request_leaves(request.body, paths)
        mimes.update((leaf.digest, leaf.mime) for leaf in leaves if leaf.digest and leaf.mime)
        still_sent.update(leaf.entry for leaf in leaves if leaf.entry in names or _is_text_input(leaf, texts))
        inputs, fields = _split(leaves, input_paths)
        recorded_inputs += inputs
        recorded_requests.append(inputs)
        for key, value in fields.items():
            recorded_fields.setdefault(key, value)
        recorded_calls.add(call_of(request.path, wires)[0])

    def short(entry: str) -> str:
        mime = mimes.get(entry)
        return f"{mime}, {entry[:19]}..." if mime else f"{entry[:19]}..."

    def name(entry: str) -> str | None:
        return names.get(entry)

    def show(entry: str) -> str:
        if entry.startswith("text"):
            return entry
        return f"{name(entry) or 'media'} ({short(entry)})"

    new = [e for e in dict.fromkeys(live_inputs) if e not in recorded_inputs]
    gone = [e for e in dict.fromkeys(recorded_inputs) if e not in live_inputs and e not in still_sent]
    lines = [f"the cassette {show_path(path)} does not match this test's request "
             f"({len(error.cassette)} recorded interaction(s)):"]
    changed = [(e, old) for e, old in _changed_in_place(live_inputs, recorded_requests)
               if e in new and old in gone and name(e)]
    if changed:
        lines.append("  items whose content changed:")
        lines += [f"    - {name(e)}: {short(e)} now, {short(old)} in the cassette" for e, old in changed]
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
    live_call = call_of(error.failed_request.path, wires)[0]
    if live_call not in recorded_calls and recorded_calls:
        lines.append(f"  call: {live_call} now, {', '.join(sorted(recorded_calls))} in the cassette (model id changed?)")
    if len(lines) == 1:
        reason = getattr(error, "reason", "")
        lines.append("  the same request was made more often than recorded" if reason == "already_played"
                     else "  the requests differ in order or count")
    lines.append(f"re-record it with: {record_command(nodeid, 'rewrite', options, key_name)}")
    return "\n".join(lines)


def cassette_error(exc: BaseException) -> CannotOverwriteExistingCassetteException | None:
    """The vcr cassette miss in ``exc``'s chain of causes, or None."""
    from vcr.errors import CannotOverwriteExistingCassetteException

    return in_chain(exc, CannotOverwriteExistingCassetteException)
