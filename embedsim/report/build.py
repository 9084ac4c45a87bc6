"""Building the report from the fragments: keep, order, render, compare, write."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from embedsim.files import atomic_write
from embedsim.report import folder, images, markdown, origin, page
from embedsim.report.codec import SCHEMA_VERSION, to_json
from embedsim.report.compare import compare_models, default_pairs
from embedsim.report.entries import Contents, Tests, complete_command, record_commands
from embedsim.report.records import Fragment
from embedsim.report.schema import ProvenanceRow, Report


def build_index(report_dir: Path, models: Sequence[str] = (), root: Path | None = None, *,
                started: float | None = None, pairs: Sequence[tuple[str, str]] | None = None,
                provenance: Mapping[str, list[ProvenanceRow]] | None = None,
                collected: Collection[tuple[str, str, str]] = (), modules: Collection[str] = ()) -> tuple[Path, Path]:
    """Render the heatmaps and write ``index.html``, ``index.md`` and ``report.json`` (a
    :class:`~embedsim.report.schema.Report`) from the fragments, under the folder's lock.

    ``models`` are the configured models: they order the columns, fragments of other
    models are dropped, and by default each is compared with the one before it (``pairs``
    overrides). ``root`` is the folder the test ids are relative to: fragments of test
    files that no longer exist are dropped. Fragments written before ``started`` (this
    run's start) are earlier runs' results of tests this run did not run: kept, and
    marked. ``provenance``: per model, its recordings' provenance records; models run from local
    weights get theirs from the fragments (:func:`embedsim.report.origin.weights`).

    ``collected``: ``(module, test, model)`` of every test the run collected (deselected
    ones too); ``modules``: the test files it collected whole. Sections of tests those
    files no longer have are dropped; a collected test with no result is *missing*. A
    report with missing or earlier results says at its top which command completes it.
    """
    with folder.locked(report_dir):
        dropped: list[str] = []
        fragments = [replace(f, earlier=started is not None and f.time < started)
                     for f in _kept(report_dir, models, root, set(modules), set(collected), dropped)]
        present = {(f.module, f.test, f.model) for f in fragments}
        missing = sorted(t for t in set(collected) if t not in present and (not models or t[2] in models))
        order = list(dict.fromkeys([*models, *sorted({f.model for f in fragments})]))
        used = [m for m in order if any(f.model == m for f in fragments)]
        tests = _grouped(fragments)
        cache = images.Cache(_earlier_keys(report_dir))
        written = [path for _key, per_model in tests for path in images.render_heatmaps(report_dir, per_model, cache)]
        comparisons = [c for c in (compare_models(old, new, tests) for old, new in (pairs or default_pairs(models)))
                       if pairs or c.compared]
        for comparison in comparisons:
            written += images.render_differences(report_dir, comparison, cache)
        report_arg = _report_arg(report_dir, root)
        contents = Contents(used, tests, record_commands(tests, report_arg), comparisons,
                            {**origin.weights(fragments), **dict(provenance or {})},
                            missing, dropped)
        if contents.earlier or missing:
            contents.complete_with = complete_command(tests, missing, list(models) or used, report_arg)
        data = Report(used, bool(contents.earlier or missing), missing, contents.complete_with, dropped, fragments,
                      comparisons, contents.provenance, cache.now)
        atomic_write(report_dir / "report.json", json.dumps(to_json(data), ensure_ascii=False, indent=1).encode("utf-8"))
        atomic_write(report_dir / "index.md", markdown.render(contents).encode("utf-8"))
        atomic_write(report_dir / "index.html", page.render(contents).encode("utf-8"))
        folder.record_written(report_dir, written)
    return report_dir / "index.html", report_dir / "index.md"


def _earlier_keys(report_dir: Path) -> dict[str, str]:
    """The render keys of the heatmaps the last build of this schema version drew (from its
    ``report.json``), or none."""
    try:
        data = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
        keys = data.get("heatmap_keys", {}) if data.get("schema_version") == SCHEMA_VERSION else {}
    except (OSError, ValueError, AttributeError):
        return {}
    return {str(k): str(v) for k, v in keys.items()} if isinstance(keys, dict) else {}


def _kept(report_dir: Path, models: Sequence[str], root: Path | None, modules: set[str],
          collected: set[tuple[str, str, str]], dropped: list[str]) -> list[Fragment]:
    """The fragments still meaningful: of a configured model, of a test file that exists,
    of a test that file still has (when the run collected it whole); the others are
    deleted, as are fragments that cannot be read (noted in ``dropped``)."""
    kept = []
    for f in folder.read_fragments(report_dir, dropped):
        gone = ((models and f.model not in models) or (root is not None and not (root / f.module).is_file())
                or (f.module in modules and (f.module, f.test, f.model) not in collected))
        if gone:
            folder.drop_fragment(report_dir, f)
        else:
            kept.append(f)
    return kept


def _grouped(fragments: list[Fragment]) -> Tests:
    """Per test (in definition order: that of its newest fragment), its entry per model."""
    tests: dict[tuple[str, str], dict[str, Fragment]] = {}
    for f in fragments:
        tests.setdefault((f.module, f.test), {})[f.model] = f

    def position(item: tuple[tuple[str, str], dict[str, Fragment]]) -> tuple[int, str, str]:
        (module, test), per_model = item
        newest = max(per_model.values(), key=lambda f: f.time)
        return newest.order, module, test

    return sorted(tests.items(), key=position)


def _report_arg(report_dir: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return report_dir.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return str(report_dir)
