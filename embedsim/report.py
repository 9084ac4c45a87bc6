"""Experiments and the report that compares models side by side.

:class:`Experiment` (the ``experiment`` fixture) is what a test works with: it embeds
with the current model, records every matrix, statistic and expectation outcome, and
can snapshot matrices and heatmaps. With ``--embedsim-report DIR`` each test leaves a
JSON fragment and heatmap PNGs in ``DIR`` (written atomically, so pytest-xdist
workers never clobber each other) and the controlling process builds
``DIR/index.html`` and ``DIR/index.md`` from them at the end of the session.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embedsim import expect
from embedsim.backends.base import Embedder
from embedsim.errors import InputError
from embedsim.expect import Check, ExpectationFailed
from embedsim.items import Item
from embedsim.matrix import GroupStats, SimilarityMatrix, group_stats, similarity

FRAGMENTS = "fragments"
HEATMAPS = "heatmaps"

#: A group specification: a label key of the items (``"person"``) or one group per row.
Groups = str | Sequence[str]


class ExpectationsFailed(ExpectationFailed):
    """One or more of an experiment's expectations failed (or passed against a declared xfail)."""

    def __init__(self, records: Sequence[CheckRecord]) -> None:
        AssertionError.__init__(self, "\n\n".join(r.failure_text() for r in records))
        self.records = list(records)


@dataclass
class CheckRecord:
    """An expectation's outcome as stored in the report."""

    name: str
    matrix: str
    kind: str
    description: str
    outcome: str  # passed | failed | xfailed | xpassed
    statistic: float
    threshold: float
    n_pairs: int
    message: str
    reason: str = ""
    where: str = ""

    def failure_text(self) -> str:
        head = f"[{self.name}] at {self.where}" if self.where else f"[{self.name}]"
        if self.outcome == "xpassed":
            return (f"{head}: XPASS(strict) - expected to fail ({self.reason}) but it holds; "
                    f"remove the model from xfail=\n{self.message}")
        return f"{head}: {self.message}"


@dataclass
class MatrixRecord:
    """A matrix the experiment produced, with the statistics computed over it."""

    name: str
    row_labels: list[str]
    col_labels: list[str]
    values: list[list[float]]
    all_pairs: bool
    stats: dict[str, dict[str, float]] = field(default_factory=dict)
    heatmap: str = ""

    def matrix(self, model_id: str = "") -> SimilarityMatrix:
        return SimilarityMatrix(np.asarray(self.values, dtype=np.float64).reshape(len(self.row_labels), len(self.col_labels)),
                                tuple(self.row_labels), tuple(self.col_labels), self.all_pairs, model_id)


class Experiment:
    """One test's experiment with one model (the ``experiment`` fixture).

    ::

        def test_identity(experiment, faces):
            m = experiment.similarity(faces)                        # all pairs
            experiment.expect_groups(m, "person", margin=0.05)       # by the items' labels
            experiment.expect_auc(m, "person", at_least=0.9,
                                  xfail={"pixels": "no semantics"})
            experiment.snapshot(m)                                  # matrix table + heatmap PNG

    Expectations are *soft*: each outcome is recorded, the test goes on, and when it
    ends the test fails with every failed expectation listed (or is reported as
    xfailed when only expectations declared ``xfail`` for this model failed). An
    expectation declared ``xfail`` for this model that holds fails the test
    (strict XPASS). Each ``expect_*`` returns its :class:`~embedsim.expect.Check`.

    ``groups`` arguments take a label key of the items (``"person"``: each item's
    ``labels["person"]``) or an explicit sequence of group names, one per row.
    """

    def __init__(self, embedder: Embedder, test_name: str = "", nodeid: str = "",
                 snapshot: Callable[[type], Any] | None = None, matrix_tolerance: float | None = None,
                 image_tolerance: float | None = None) -> None:
        self.embedder = embedder
        self.model_id: str = embedder.model_id
        self.test_name = test_name
        self.nodeid = nodeid
        self.matrices: list[MatrixRecord] = []
        self.checks: list[CheckRecord] = []
        self._items: dict[int, tuple[SimilarityMatrix, Sequence[Item] | None, Sequence[Item] | None, MatrixRecord]] = {}
        self._snapshot_factory = snapshot
        self._matrix_snapshot: Any = None
        self._heatmap_snapshot: Any = None
        self._matrix_tolerance = matrix_tolerance
        self._image_tolerance = image_tolerance

    def __repr__(self) -> str:
        return f"<Experiment {self.test_name!r} with {self.model_id}>"

    # -- matrices ---------------------------------------------------------------------
    def similarity(self, rows: Sequence[Item], cols: Sequence[Item] | None = None, *,
                   name: str | None = None) -> SimilarityMatrix:
        """Embed ``rows`` (and ``cols``) with this model in one call and return the cosine
        similarity matrix (all pairs of ``rows`` when ``cols`` is omitted), recorded under
        ``name`` (default ``matrix``, ``matrix_2``, ...)."""
        matrix = similarity(self.embedder, rows, cols)
        return self.add_matrix(matrix, name=name, rows=rows, cols=cols if cols is not None else rows)

    def add_matrix(self, matrix: SimilarityMatrix, *, name: str | None = None,
                   rows: Sequence[Item] | None = None, cols: Sequence[Item] | None = None) -> SimilarityMatrix:
        """Record a matrix computed elsewhere (``rows``/``cols`` items enable label-key groups)."""
        if id(matrix) in self._items:
            return matrix
        taken = {m.name for m in self.matrices}
        if name is None:
            name = "matrix" if "matrix" not in taken else f"matrix_{len(self.matrices) + 1}"
        if name in taken:
            raise InputError(f"the experiment already has a matrix named {name!r}; pass another name=")
        record = MatrixRecord(name, list(matrix.row_labels), list(matrix.col_labels),
                              np.asarray(matrix.values, dtype=np.float64).round(6).tolist(), matrix.all_pairs)
        self.matrices.append(record)
        self._items[id(matrix)] = (matrix, rows, cols, record)
        return matrix

    def _record(self, matrix: SimilarityMatrix) -> tuple[MatrixRecord, Sequence[Item] | None, Sequence[Item] | None]:
        if id(matrix) not in self._items:
            self.add_matrix(matrix)
        _m, rows, cols, record = self._items[id(matrix)]
        return record, rows, cols

    def groups(self, matrix: SimilarityMatrix, groups: Groups,
               col_groups: Groups | None = None) -> tuple[list[str], list[str]]:
        """Row and column group names; a string is a label key looked up in the items."""
        _record, rows, cols = self._record(matrix)

        def resolve(spec: Groups, items: Sequence[Item] | None, axis: str, size: int) -> list[str]:
            if not isinstance(spec, str):
                if len(spec) != size:
                    raise InputError(f"{len(spec)} {axis} groups for {size} {axis}s")
                return [str(g) for g in spec]
            if items is None:
                raise InputError(f"groups by label key {spec!r} need the items: use experiment.similarity(...) "
                                 "or add_matrix(..., rows=, cols=)")
            missing = [i.label for i in items if spec not in i.labels]
            if missing:
                raise InputError(f"items {missing[:5]} have no label {spec!r}; give explicit groups")
            return [str(i.labels[spec]) for i in items]

        row_groups = resolve(groups, rows, "row", matrix.shape[0])
        column_spec = groups if col_groups is None else col_groups
        if isinstance(column_spec, str) or col_groups is not None:
            return row_groups, resolve(column_spec, cols, "column", matrix.shape[1])
        if matrix.shape[0] != matrix.shape[1]:
            raise InputError("this matrix has different rows and columns: give col_groups too")
        return row_groups, row_groups

    def stats(self, matrix: SimilarityMatrix, groups: Groups, col_groups: Groups | None = None) -> GroupStats:
        """Within- vs between-group statistics (means, margin, AUC), recorded for the report."""
        record, _rows, _cols = self._record(matrix)
        row_groups, column_groups = self.groups(matrix, groups, col_groups)
        result = group_stats(matrix, row_groups, column_groups)
        key = groups if isinstance(groups, str) else "groups"
        record.stats[key] = {k: float(v) for k, v in asdict(result).items()}
        return result

    # -- expectations -------------------------------------------------------------------
    def expect_groups(self, matrix: SimilarityMatrix, groups: Groups, col_groups: Groups | None = None, *,
                      margin: float = 0.0, per_row: bool = False, xfail: Mapping[str, str] | None = None,
                      name: str | None = None) -> Check:
        """Same-group pairs more similar than different-group pairs by ``margin`` (means, or
        every row with ``per_row=True``); see :func:`embedsim.expect.check_groups`."""
        self.stats(matrix, groups, col_groups)
        rows, cols = self.groups(matrix, groups, col_groups)
        check = expect.check_groups(matrix, rows, cols, margin=margin, per_row=per_row)
        return self._outcome(name or f"groups({_spec(groups)}, margin={margin:g})", matrix, check, xfail)

    def expect_auc(self, matrix: SimilarityMatrix, groups: Groups, col_groups: Groups | None = None, *,
                   at_least: float, xfail: Mapping[str, str] | None = None, name: str | None = None) -> Check:
        """Same-group vs different-group ROC-AUC at least ``at_least``; see :func:`embedsim.expect.check_auc`."""
        self.stats(matrix, groups, col_groups)
        rows, cols = self.groups(matrix, groups, col_groups)
        check = expect.check_auc(matrix, rows, cols, at_least=at_least)
        return self._outcome(name or f"auc({_spec(groups)}) >= {at_least:g}", matrix, check, xfail)

    def expect_top1(self, matrix: SimilarityMatrix, expected: expect.Expected | None = None, *,
                    by: str | None = None, at_least: float = 1.0, xfail: Mapping[str, str] | None = None,
                    name: str | None = None) -> Check:
        """Each row's most similar column is the expected one for at least ``at_least`` of rows.

        ``expected``: per row an expected column label (or a set of them, or None), as a
        sequence or a mapping from row label; or ``by="expression"``: a column is right
        when its item has the same ``labels["expression"]`` as the row's item.
        See :func:`embedsim.expect.check_top1`.
        """
        if (expected is None) == (by is None):
            raise InputError("expect_top1 needs either expected= or by=")
        if by is not None:
            rows, cols = self.groups(matrix, by, by)
            expected = [
                frozenset(c for j, c in enumerate(matrix.col_labels)
                          if cols[j] == group and not (matrix.all_pairs and i == j)) or None
                for i, group in enumerate(rows)
            ]
        check = expect.check_top1(matrix, expected, at_least=at_least)  # type: ignore[arg-type]
        return self._outcome(name or f"top1({by or 'expected'}) >= {at_least:.0%}", matrix, check, xfail)

    def expect_order(self, matrix: SimilarityMatrix, row: str, order: Sequence[str], *, margin: float = 0.0,
                     xfail: Mapping[str, str] | None = None, name: str | None = None) -> Check:
        """Row ``row`` is most similar to ``order[0]``, then ``order[1]``, ... (each by ``margin``)."""
        check = expect.check_order(matrix, row, order, margin=margin)
        return self._outcome(name or f"order({row}: {' > '.join(order)})", matrix, check, xfail)

    def _outcome(self, name: str, matrix: SimilarityMatrix, check: Check, xfail: Mapping[str, str] | None) -> Check:
        record, _rows, _cols = self._record(matrix)
        reason = (xfail or {}).get(self.model_id)
        if reason is None:
            outcome = "passed" if check.passed else "failed"
        else:
            outcome = "xpassed" if check.passed else "xfailed"
        self.checks.append(CheckRecord(name, record.name, check.kind, check.description, outcome,
                                       float(check.statistic), float(check.threshold), check.n_pairs,
                                       check.message, reason or "", _caller()))
        return check

    @property
    def failures(self) -> list[CheckRecord]:
        """Expectations that failed, or passed although declared xfail for this model."""
        return [c for c in self.checks if c.outcome in ("failed", "xpassed")]

    def finish(self) -> None:
        """Called by the plugin when the test function returns: raise :class:`ExpectationsFailed`
        for failures, or xfail the test when only declared-xfail expectations failed."""
        __tracebackhide__ = True
        if self.failures:
            raise ExpectationsFailed(self.failures).with_traceback(None)
        expected = [c for c in self.checks if c.outcome == "xfailed"]
        if expected:
            import pytest

            pytest.xfail("; ".join(f"{self.model_id}: {c.reason} [{c.name}]" for c in expected))

    # -- snapshots and heatmaps ----------------------------------------------------------------
    def heatmap(self, matrix: SimilarityMatrix, title: str | None = None) -> bytes:
        """The heatmap PNG of ``matrix`` (see :func:`embedsim.heatmap.render_heatmap`)."""
        from embedsim.heatmap import render_heatmap

        return render_heatmap(matrix, title)

    def snapshot(self, matrix: SimilarityMatrix, *, heatmap: bool = True) -> None:
        """Compare ``matrix`` with its syrupy snapshots: the table (``.matrix.tsv``, absolute
        tolerance) and, with ``heatmap=True``, its heatmap (``.heatmap.png``, RMS tolerance).
        Named matrices give named snapshots. ``--snapshot-update`` writes them."""
        __tracebackhide__ = True
        from embedsim.snapshots import heatmap_extension, matrix_extension
        from embedsim.config import DEFAULT_IMAGE_TOLERANCE, DEFAULT_TOLERANCE

        if self._snapshot_factory is None:
            raise InputError("snapshots need syrupy: use the experiment fixture of the embedsim plugin")
        record, _rows, _cols = self._record(matrix)
        if self._matrix_snapshot is None:
            mt = self._matrix_tolerance if self._matrix_tolerance is not None else DEFAULT_TOLERANCE
            it = self._image_tolerance if self._image_tolerance is not None else DEFAULT_IMAGE_TOLERANCE
            self._matrix_snapshot = self._snapshot_factory(matrix_extension(mt))
            self._heatmap_snapshot = self._snapshot_factory(heatmap_extension(it))
        index = None if record.name == "matrix" else record.name
        problems = []
        for assertion, data, wanted in ((self._matrix_snapshot, matrix, True),
                                        (self._heatmap_snapshot, matrix, heatmap)):
            if not wanted:
                continue
            target = assertion(name=index) if index else assertion
            if not target == data:
                problems.append("\n".join([f"snapshot {assertion.name} does not match "
                                           f"(update with --snapshot-update):", *assertion.get_assert_diff()]))
        if problems:
            raise SnapshotMismatch("\n\n".join(problems))

    # -- report ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"matrices": [asdict(m) for m in self.matrices], "checks": [asdict(c) for c in self.checks]}


class SnapshotMismatch(AssertionError):
    """A matrix or heatmap differs from its snapshot beyond the tolerance."""


def _spec(groups: Groups) -> str:
    return groups if isinstance(groups, str) else "groups"


def _caller() -> str:
    """``file:line`` of the test code that called the experiment."""
    frame = sys._getframe(1)
    here = os.path.abspath(__file__)
    while frame is not None and os.path.abspath(frame.f_code.co_filename) == here:
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return ""
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


# --- fragments -----------------------------------------------------------------------------


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as f:
            f.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _slug(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z._\-\[\]]+", "_", text).strip("_")[:150] or "x"


def prepare(report_dir: Path) -> None:
    """Start a report: remove the previous run's fragments and heatmaps."""
    for sub in (FRAGMENTS, HEATMAPS):
        shutil.rmtree(report_dir / sub, ignore_errors=True)
    (report_dir / FRAGMENTS).mkdir(parents=True, exist_ok=True)


def write_fragment(report_dir: Path, entry: dict[str, Any], experiment: Experiment | None) -> Path:
    """Write one test's result (and its heatmaps) into ``report_dir`` atomically."""
    entry = dict(entry)
    entry.update(experiment.to_dict() if experiment else {"matrices": [], "checks": []})
    base = _slug(f"{entry['module']}__{entry['test']}")
    if experiment is not None:
        from embedsim.heatmap import render_heatmap

        for matrix, record in zip(experiment.matrices, entry["matrices"], strict=True):
            relative = f"{HEATMAPS}/{_slug(entry['model'])}/{base}__{_slug(matrix.name)}.png"
            try:
                png = render_heatmap(matrix.matrix(entry["model"]), f"{entry['test']} - {matrix.name}\n{entry['model']}")
            except Exception as exc:  # a report must not fail a test run
                record["heatmap_error"] = str(exc)
                continue
            _atomic_write(report_dir / relative, png)
            record["heatmap"] = relative
    path = report_dir / FRAGMENTS / f"{base}__{_slug(entry['model'])}.json"
    _atomic_write(path, json.dumps(entry, ensure_ascii=False, indent=1).encode("utf-8"))
    return path


def read_fragments(report_dir: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted((report_dir / FRAGMENTS).glob("*.json")):
        try:
            out.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return out


# --- the index --------------------------------------------------------------------------------

_BADGE = {"passed": "pass", "failed": "FAIL", "xfailed": "xfail", "xpassed": "XPASS(strict)", "skipped": "skipped",
          "not recorded": "not recorded yet", "error": "ERROR"}


def status(entry: dict[str, Any]) -> str:
    """``passed``, ``failed``, ``xfailed``, ``skipped``, ``not recorded`` or ``error``."""
    if entry["outcome"] == "skipped" and "not recorded yet" in entry.get("reason", ""):
        return "not recorded"
    return entry["outcome"]


def _record_command(entry: dict[str, Any]) -> str:
    match = re.search(r"(GEMINI_API_KEY=\.\.\. pytest .*--record-mode=\w+(?: --snapshot-update)?)", entry.get("reason", ""))
    return match.group(1) if match else ""


def _grouped(fragments: list[dict[str, Any]], models: Sequence[str]) -> tuple[list[str], dict[tuple[str, str], dict[str, dict[str, Any]]]]:
    order = list(models) + sorted({f["model"] for f in fragments} - set(models))
    used = [m for m in order if any(f["model"] == m for f in fragments)]
    tests: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for f in sorted(fragments, key=lambda f: (f["module"], f["test"])):
        tests.setdefault((f["module"], f["test"]), {})[f["model"]] = f
    return used, tests


def _fmt(value: float) -> str:
    return f"{value:.4f}"


def _check_line(check: dict[str, Any]) -> str:
    badge = _BADGE.get(check["outcome"], check["outcome"])
    reason = f" - {check['reason']}" if check.get("reason") else ""
    return (f"{badge}: {check['name']} ({check['kind']} {_fmt(check['statistic'])} vs {_fmt(check['threshold'])}, "
            f"{check['n_pairs']} pairs){reason}")


def _stats_lines(matrix: dict[str, Any]) -> list[str]:
    return [f"{matrix['name']} by {key}: within {_fmt(s['within_mean'])}, between {_fmt(s['between_mean'])}, "
            f"margin {_fmt(s['margin'])}, AUC {_fmt(s['auc'])}" for key, s in matrix.get("stats", {}).items()]


def build_index(report_dir: Path, models: Sequence[str] = ()) -> tuple[Path, Path]:
    """Write ``index.html``, ``index.md`` and ``report.json`` from the fragments."""
    fragments = read_fragments(report_dir)
    used, tests = _grouped(fragments, models)
    (report_dir / "report.json").write_text(json.dumps(fragments, ensure_ascii=False, indent=1), encoding="utf-8")
    md = _markdown(used, tests)
    page = _html(used, tests)
    _atomic_write(report_dir / "index.md", md.encode("utf-8"))
    _atomic_write(report_dir / "index.html", page.encode("utf-8"))
    return report_dir / "index.html", report_dir / "index.md"


def _summary(used: list[str], tests: dict[Any, dict[str, dict[str, Any]]]) -> list[tuple[str, dict[str, int]]]:
    out = []
    for model in used:
        counts: dict[str, int] = {}
        for per_model in tests.values():
            if model in per_model:
                s = status(per_model[model])
                counts[s] = counts.get(s, 0) + 1
        out.append((model, counts))
    return out


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def _markdown(used: list[str], tests: dict[tuple[str, str], dict[str, dict[str, Any]]]) -> str:
    lines = ["# embedsim report", "", f"Models: {', '.join(used) or '(none)'}", ""]
    lines += ["| model | " + " | ".join(_BADGE[k] for k in _BADGE) + " |", "|---" * (len(_BADGE) + 1) + "|"]
    for model, counts in _summary(used, tests):
        lines.append(f"| {model} | " + " | ".join(str(counts.get(k, 0)) for k in _BADGE) + " |")
    for (module, test), per_model in tests.items():
        lines += ["", f"## {test}", "", f"`{module}`", ""]
        lines += ["| | " + " | ".join(used) + " |", "|---" * (len(used) + 1) + "|"]
        row_outcome, row_heatmaps, row_checks, row_stats = [], [], [], []
        for model in used:
            entry = per_model.get(model)
            if entry is None:
                row_outcome.append("-")
                row_heatmaps.append("")
                row_checks.append("")
                row_stats.append("")
                continue
            state = status(entry)
            cell = _BADGE.get(state, state)
            if state == "not recorded":
                cell += f"<br>`{_record_command(entry)}`"
            elif state in ("xfailed", "skipped") and entry.get("reason"):
                cell += f": {entry['reason']}"
            row_outcome.append(_md_cell(cell))
            row_heatmaps.append(" ".join(f"![{m['name']}]({m['heatmap']})" for m in entry["matrices"] if m.get("heatmap")))
            row_checks.append(_md_cell("\n".join(_check_line(c) for c in entry["checks"])))
            row_stats.append(_md_cell("\n".join(line for m in entry["matrices"] for line in _stats_lines(m))))
        for title, row in (("outcome", row_outcome), ("heatmap", row_heatmaps), ("expectations", row_checks),
                           ("statistics", row_stats)):
            lines.append(f"| {title} | " + " | ".join(row) + " |")
        for model in used:
            entry = per_model.get(model)
            for m in (entry or {}).get("matrices", []):
                lines += ["", f"<details><summary>{model}: {m['name']} ({len(m['row_labels'])} x "
                          f"{len(m['col_labels'])})</summary>", ""]
                lines.append("| | " + " | ".join(_md_cell(c) for c in m["col_labels"]) + " |")
                lines.append("|---" * (len(m["col_labels"]) + 1) + "|")
                for label, row in zip(m["row_labels"], m["values"], strict=True):
                    lines.append(f"| {_md_cell(label)} | " + " | ".join(f"{v:.3f}" for v in row) + " |")
                lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


_CSS = """body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:6px;vertical-align:top}th{background:#f4f4f4}
.passed{color:#1a7f37}.failed,.xpassed,.error{color:#cf222e;font-weight:bold}.xfailed{color:#9a6700}
.skipped,.not-recorded{color:#57606a}img{max-width:420px}code{background:#f6f8fa;padding:1px 4px}
table.m td{text-align:right;font-size:85%;padding:2px 4px}"""


def _html(used: list[str], tests: dict[tuple[str, str], dict[str, dict[str, Any]]]) -> str:
    e = html.escape
    out = ["<!doctype html><html><head><meta charset='utf-8'><title>embedsim report</title>",
           f"<style>{_CSS}</style></head><body><h1>embedsim report</h1>"]
    out.append("<table><tr><th>model</th>" + "".join(f"<th>{e(_BADGE[k])}</th>" for k in _BADGE) + "</tr>")
    for model, counts in _summary(used, tests):
        out.append(f"<tr><td>{e(model)}</td>" + "".join(f"<td>{counts.get(k, 0)}</td>" for k in _BADGE) + "</tr>")
    out.append("</table>")
    for (module, test), per_model in tests.items():
        out.append(f"<h2>{e(test)}</h2><p><code>{e(module)}</code></p><table><tr>")
        out += [f"<th>{e(model)}</th>" for model in used]
        out.append("</tr><tr>")
        for model in used:
            entry = per_model.get(model)
            if entry is None:
                out.append("<td>-</td>")
                continue
            state = status(entry)
            cell = [f"<p class='{state.replace(' ', '-')}'>{e(_BADGE.get(state, state))}</p>"]
            if state == "not recorded":
                cell.append(f"<p>record with:<br><code>{e(_record_command(entry))}</code></p>")
            elif entry.get("reason"):
                cell.append(f"<p>{e(entry['reason'])}</p>")
            for m in entry["matrices"]:
                if m.get("heatmap"):
                    cell.append(f"<img src='{e(m['heatmap'])}' alt='{e(m['name'])}'>")
            if entry["checks"]:
                cell.append("<ul>" + "".join(f"<li class='{c['outcome']}' title='{e(c['message'])}'>{e(_check_line(c))}</li>"
                                             for c in entry["checks"]) + "</ul>")
            stats = [line for m in entry["matrices"] for line in _stats_lines(m)]
            if stats:
                cell.append("<p>" + "<br>".join(e(s) for s in stats) + "</p>")
            for m in entry["matrices"]:
                rows = "".join(f"<tr><th>{e(label)}</th>" + "".join(f"<td>{v:.3f}</td>" for v in values) + "</tr>"
                               for label, values in zip(m["row_labels"], m["values"], strict=True))
                cell.append(f"<details><summary>{e(m['name'])} ({len(m['row_labels'])} x {len(m['col_labels'])})"
                            f"</summary><table class='m'><tr><th></th>"
                            + "".join(f"<th>{e(c)}</th>" for c in m["col_labels"]) + f"</tr>{rows}</table></details>")
            out.append("<td>" + "".join(cell) + "</td>")
        out.append("</tr></table>")
    out.append("</body></html>")
    return "\n".join(out)
