"""The ``--embedsim-report`` folder: every experiment with every model, side by side.

During the run each test (in any pytest-xdist worker) writes one JSON fragment,
``DIR/fragments/<module>__<test>__<model>.json``, atomically. At the end of the
session the controlling process renders the heatmaps (``DIR/heatmaps/<model>/``, one
colour scale per test and matrix shared by all models) and writes ``DIR/index.html``,
``DIR/index.md`` and ``DIR/report.json``, tests in collection order.
"""

from __future__ import annotations

import html
import json
import posixpath
import shlex
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embedsim.backends import find, key_hint
from embedsim.files import atomic_write
from embedsim.slugs import slug, slug_key
from embedsim.matrix import SimilarityMatrix

if TYPE_CHECKING:
    from embedsim.experiment import Experiment

FRAGMENTS = "fragments"
HEATMAPS = "heatmaps"
#: Outcome -> the word the report shows, in the order of the summary table.
BADGES = {"passed": "pass", "failed": "FAIL", "xfailed": "xfail", "xpassed": "XPASS(strict)", "skipped": "skipped",
          "not recorded": "not recorded yet", "error": "ERROR"}
INTRO = ("Each section is one test: an experiment run once per model. For each model: the heatmap of its "
         "cosine-similarity matrix (one colour scale per test, shared by all models), the outcome of each "
         "expectation (statistic against its threshold), and the within- vs between-group statistics.")


Entry = dict[str, Any]
Tests = list[tuple[tuple[str, str], dict[str, Entry]]]


# --- fragments -----------------------------------------------------------------------------------


def prepare(report_dir: Path) -> None:
    """Start a report: remove the previous run's fragments and heatmaps."""
    for sub in (FRAGMENTS, HEATMAPS):
        shutil.rmtree(report_dir / sub, ignore_errors=True)
    (report_dir / FRAGMENTS).mkdir(parents=True, exist_ok=True)


def write_fragment(report_dir: Path, entry: Entry, experiment: Experiment | None) -> Path:
    """Write one test's result (``entry``: nodeid, module, test, model, outcome, reason, ...)
    with its experiment's matrices and checks into ``report_dir``, atomically."""
    entry = {"matrices": [], "checks": [], **entry, **(experiment.to_dict() if experiment else {})}
    if entry["outcome"] == "xfailed":  # a test-level xfail (marker) covers its failed expectations
        for check in entry["checks"]:
            if check["outcome"] == "failed":
                check.update(outcome="xfailed", reason=entry.get("reason", ""))
    path = report_dir / FRAGMENTS / f"{slug_key(entry['module'], entry['test'], entry['model'])}.json"
    return atomic_write(path, json.dumps(entry, ensure_ascii=False, indent=1).encode("utf-8"))


def read_fragments(report_dir: Path) -> list[Entry]:
    out = []
    for path in sorted((report_dir / FRAGMENTS).glob("*.json")):
        try:
            out.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return out


# --- building the index ------------------------------------------------------------------------


def build_index(report_dir: Path, models: Sequence[str] = (), root: Path | None = None) -> tuple[Path, Path]:
    """Render the heatmaps and write ``index.html``, ``index.md`` and ``report.json`` from the
    fragments. ``models`` orders the columns; ``root`` is the folder the test ids are
    relative to (for the record commands)."""
    fragments = read_fragments(report_dir)
    order = list(dict.fromkeys([*models, *sorted({f["model"] for f in fragments})]))
    used = [m for m in order if any(f["model"] == m for f in fragments)]
    tests: dict[tuple[str, str], dict[str, Entry]] = {}
    for f in sorted(fragments, key=lambda f: (f.get("order", 0), f["module"], f["test"])):
        tests.setdefault((f["module"], f["test"]), {})[f["model"]] = f
    grouped = list(tests.items())
    for (_module, _test), per_model in grouped:
        _render_heatmaps(report_dir, per_model)
    commands = record_commands(grouped, _report_arg(report_dir, root))
    atomic_write(report_dir / "report.json", json.dumps(fragments, ensure_ascii=False, indent=1).encode("utf-8"))
    atomic_write(report_dir / "index.md", _markdown(used, grouped, commands).encode("utf-8"))
    atomic_write(report_dir / "index.html", _html(used, grouped, commands).encode("utf-8"))
    return report_dir / "index.html", report_dir / "index.md"


def _matrix(record: dict[str, Any]) -> SimilarityMatrix:
    values = np.asarray(record["values"], dtype=np.float64).reshape(len(record["row_labels"]), len(record["col_labels"]))
    return SimilarityMatrix(values, tuple(record["row_labels"]), tuple(record["col_labels"]), record["all_pairs"])


def _render_heatmaps(report_dir: Path, per_model: dict[str, Entry]) -> None:
    """One PNG per model and matrix, each matrix name on one colour scale across the models;
    sets ``heatmap`` (the PNG's path in the report) or ``heatmap_error`` on the matrix records."""
    from embedsim.heatmap import colour_range, render_heatmap

    by_name: dict[str, list[tuple[Entry, dict[str, Any], SimilarityMatrix]]] = {}
    for entry in per_model.values():
        for record in entry["matrices"]:
            by_name.setdefault(record["name"], []).append((entry, record, _matrix(record)))
    for name, matrices in by_name.items():
        ranges = [colour_range(m) for _e, _r, m in matrices if np.all(np.isfinite(m.values)) and m.values.size]
        low, high = (min(r[0] for r in ranges), max(r[1] for r in ranges)) if ranges else (None, None)
        for entry, record, matrix in matrices:
            title = entry["test"] if name == "matrix" else f"{entry['test']} - {name}"
            relative = f"{HEATMAPS}/{slug(entry['model'])}/{slug_key(entry['module'], entry['test'], name)}.png"
            try:
                png = render_heatmap(matrix, f"{title}\n{model_label(entry['model'])}", vmin=low, vmax=high)
            except Exception as exc:  # one unusable matrix must not cost the whole report
                record["heatmap_error"] = str(exc)
                continue
            atomic_write(report_dir / relative, png)
            record["heatmap"] = relative


def _report_arg(report_dir: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return report_dir.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return str(report_dir)


def _baseline(model: str) -> str:
    """The backend's description of a control model (``baseline, no semantics``), else ``""``."""
    spec = find(model)
    return spec.description if spec is not None else ""


def model_label(model: str) -> str:
    """``pixels (baseline, no semantics)`` for a model its backend describes, else the model id."""
    return f"{model} ({_baseline(model)})" if _baseline(model) else model


def status(entry: Entry) -> str:
    """``passed``, ``failed``, ``xfailed``, ``xpassed``, ``skipped``, ``not recorded`` or ``error``."""
    if entry["outcome"] == "skipped" and "not recorded yet" in entry.get("reason", ""):
        return "not recorded"
    return entry["outcome"]


def record_commands(tests: Tests, report_arg: str) -> dict[str, tuple[int, str]]:
    """Per model with tests not recorded yet: how many, and the one command that records
    them all (their test files, or a folder when every test file of it in the report has
    some) and rebuilds this report."""
    modules = {module for (module, _test), _per_model in tests}
    missing: dict[str, list[str]] = {}
    for (module, _test), per_model in tests:
        for model, entry in per_model.items():
            if status(entry) == "not recorded":
                missing.setdefault(model, []).append(module)
    out = {}
    for model, wanted in missing.items():
        paths = []
        for module in dict.fromkeys(wanted):
            folder = posixpath.dirname(module)
            whole = folder and all(posixpath.dirname(m) != folder or m in wanted for m in modules)
            paths.append(folder if whole else module)
        out[model] = (len(wanted), f"{key_hint(model)}python -m pytest {' '.join(map(shlex.quote, dict.fromkeys(paths)))} "
                                   f"--embedsim-model {shlex.quote(model)} --record-mode=once --snapshot-update "
                                   f"--embedsim-report {shlex.quote(report_arg)}")
    return out


def _summary(used: list[str], tests: Tests) -> list[tuple[str, dict[str, int]]]:
    out = []
    for model in used:
        counts: dict[str, int] = {}
        for _key, per_model in tests:
            if model in per_model:
                s = status(per_model[model])
                counts[s] = counts.get(s, 0) + 1
        out.append((model, counts))
    return out


def _outcome(entry: Entry) -> tuple[str, str]:
    """The badge and, when the expectations do not already explain it, the reason."""
    state = status(entry)
    explaining = ("xfailed",) if state == "xfailed" else ("failed", "xpassed")
    explained = any(c["outcome"] in explaining for c in entry["checks"])
    reason = "" if state in ("passed", "not recorded") or explained else entry.get("reason", "")
    return BADGES.get(state, state), reason


def _check_line(check: dict[str, Any]) -> str:
    reason = f" - {check['reason']}" if check.get("reason") else ""
    return (f"{BADGES.get(check['outcome'], check['outcome'])}: {check['name']} ({check['kind']} "
            f"{check['statistic']:.4f}, threshold {check['threshold']:.4f}, {check['n']} {check['unit']}){reason}")


def _stats_lines(matrix: dict[str, Any]) -> list[str]:
    return [f"{matrix['name']} by {key}: within {s['within_mean']:.4f} ({s['n_within']:.0f} pairs), between "
            f"{s['between_mean']:.4f} ({s['n_between']:.0f} pairs), margin {s['margin']:.4f}, AUC {s['auc']:.4f}"
            for key, s in matrix.get("stats", {}).items()]


def _intro(used: list[str]) -> str:
    return " ".join([INTRO, *(f"{m} is a control ({_baseline(m)}): an expectation that {m} passes as well "
                              f"cannot tell a model from {m}." for m in used if _baseline(m))])


def _doc(per_model: dict[str, Entry]) -> str:
    return next((e["doc"] for e in per_model.values() if e.get("doc")), "")


def _anchor(module: str, test: str) -> str:
    return slug_key(module, test)


# --- markdown -------------------------------------------------------------------------------------


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def _markdown(used: list[str], tests: Tests, commands: dict[str, tuple[int, str]]) -> str:
    lines = ["# embedsim report", "", _intro(used), ""]
    lines += ["| model | " + " | ".join(BADGES.values()) + " |", "|---" * (len(BADGES) + 1) + "|"]
    for model, counts in _summary(used, tests):
        lines.append(f"| {_md(model_label(model))} | " + " | ".join(str(counts.get(k, 0)) for k in BADGES) + " |")
    for model, (count, command) in commands.items():
        lines += ["", f"**{model}: {count} test(s) not recorded yet.** Record them all (needs an API key), "
                      "from the project root:", "", "```", command, "```"]
    for (module, test), per_model in tests:
        lines += ["", f"## {test}", ""]
        if _doc(per_model):
            lines += [_doc(per_model), ""]
        lines += [f"`{module}`", "", "| | " + " | ".join(_md(model_label(m)) for m in used) + " |",
                  "|---" * (len(used) + 1) + "|"]
        rows: dict[str, list[str]] = {"outcome": [], "heatmap": [], "expectations": [], "statistics": []}
        for model in used:
            entry = per_model.get(model)
            if entry is None:
                for title, cells in rows.items():
                    cells.append("-" if title == "outcome" else "")
                continue
            badge, reason = _outcome(entry)
            rows["outcome"].append(_md(f"{badge}: {reason}" if reason else badge))
            rows["heatmap"].append(" ".join(f"![{m['name']}]({m['heatmap']})" for m in entry["matrices"]
                                            if m.get("heatmap")))
            rows["expectations"].append(_md("\n".join(_check_line(c) for c in entry["checks"])))
            rows["statistics"].append(_md("\n".join(line for m in entry["matrices"] for line in _stats_lines(m))))
        lines += [f"| {title} | " + " | ".join(cells) + " |" for title, cells in rows.items()]
        for model in used:
            for m in per_model.get(model, {}).get("matrices", []):
                lines += ["", f"<details><summary>{model}: {m['name']} ({len(m['row_labels'])} x "
                              f"{len(m['col_labels'])})</summary>", "",
                          "| | " + " | ".join(_md(c) for c in m["col_labels"]) + " |",
                          "|---" * (len(m["col_labels"]) + 1) + "|"]
                lines += [f"| {_md(label)} | " + " | ".join(f"{v:.3f}" for v in row) + " |"
                          for label, row in zip(m["row_labels"], m["values"], strict=True)]
                lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


# --- html -----------------------------------------------------------------------------------------

_CSS = """body{font-family:system-ui,"Noto Sans CJK JP","Hiragino Sans","Yu Gothic",IPAexGothic,sans-serif;
margin:2em;max-width:1500px}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:6px;vertical-align:top;text-align:left}th{background:#f4f4f4}
.passed,.pass{color:#1a7f37}.failed,.xpassed,.error{color:#cf222e;font-weight:bold}.xfailed{color:#9a6700}
.skipped,.not-recorded{color:#57606a}img{max-width:100%}code,pre{background:#f6f8fa;padding:1px 4px}
pre{padding:8px;white-space:pre-wrap}ul{margin:0;padding-left:1.2em}li{margin-bottom:4px}
.doc{font-style:italic;margin:0 0 4px}.module{color:#57606a;margin:0 0 8px}
table.m td{text-align:right;font-size:85%;padding:2px 4px}table.m th{font-size:85%;padding:2px 4px}"""


def _badge_html(state: str, text: str) -> str:
    return f"<span class='{state.replace(' ', '-')}'>{html.escape(text)}</span>"


def _html(used: list[str], tests: Tests, commands: dict[str, tuple[int, str]]) -> str:
    e = html.escape
    out = ["<!doctype html><html><head><meta charset='utf-8'><title>embedsim report</title>",
           f"<style>{_CSS}</style></head><body><h1>embedsim report</h1><p>{e(_intro(used))}</p>",
           "<table><tr><th>model</th>" + "".join(f"<th>{e(b)}</th>" for b in BADGES.values()) + "</tr>"]
    for model, counts in _summary(used, tests):
        out.append(f"<tr><td>{e(model_label(model))}</td>" + "".join(f"<td>{counts.get(k, 0) or ''}</td>"
                                                                      for k in BADGES) + "</tr>")
    out.append("</table>")
    for model, (count, command) in commands.items():
        out.append(f"<p id='{slug('record-' + model)}'><b>{e(model)}: {count} test(s) not recorded yet.</b> "
                   "Record them all (needs an API key), "
                   f"from the project root:</p><pre>{e(command)}</pre>")
    out.append("<h2>Tests</h2><table><tr><th>test</th>" + "".join(f"<th>{e(model_label(m))}</th>" for m in used)
               + "</tr>")
    for (module, test), per_model in tests:
        badges = "".join(f"<td>{_badge_html(status(per_model[m]), _outcome(per_model[m])[0])}</td>"
                         if m in per_model else "<td>-</td>" for m in used)
        out.append(f"<tr><td><a href='#{_anchor(module, test)}'>{e(test)}</a></td>{badges}</tr>")
    out.append("</table>")
    for (module, test), per_model in tests:
        out.append(f"<h2 id='{_anchor(module, test)}'>{e(test)}</h2>")
        if _doc(per_model):
            out.append(f"<p class='doc'>{e(_doc(per_model))}</p>")
        out.append(f"<p class='module'><code>{e(module)}</code></p><table><tr><th></th>"
                   + "".join(f"<th>{e(model_label(m))}</th>" for m in used) + "</tr>")
        rows: dict[str, list[str]] = {"outcome": [], "heatmap": [], "expectations": [], "statistics": [], "matrix": []}
        for model in used:
            entry = per_model.get(model)
            if entry is None:
                for cells in rows.values():
                    cells.append("-")
                continue
            badge, reason = _outcome(entry)
            more = f"<br>{e(reason)}" if reason else ""
            if status(entry) == "not recorded":
                more = f" (<a href='#{slug('record-' + model)}'>record command</a>)"
            rows["outcome"].append(_badge_html(status(entry), badge) + more)
            rows["heatmap"].append("".join(f"<img src='{e(m['heatmap'])}' alt='{e(m['name'])}'>"
                                           for m in entry["matrices"] if m.get("heatmap")))
            rows["expectations"].append("<ul>" + "".join(
                f"<li class='{c['outcome']}' title='{e(c['message'])}'>{e(_check_line(c))}</li>"
                for c in entry["checks"]) + "</ul>" if entry["checks"] else "")
            rows["statistics"].append("<br>".join(e(s) for m in entry["matrices"] for s in _stats_lines(m)))
            rows["matrix"].append("".join(_matrix_html(m) for m in entry["matrices"]))
        for title, cells in rows.items():
            if any(cells):
                out.append(f"<tr><th>{title}</th>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out)


def _matrix_html(m: dict[str, Any]) -> str:
    e = html.escape
    rows = "".join(f"<tr><th>{e(label)}</th>" + "".join(f"<td>{v:.3f}</td>" for v in values) + "</tr>"
                   for label, values in zip(m["row_labels"], m["values"], strict=True))
    return (f"<details><summary>{e(m['name'])} ({len(m['row_labels'])} x {len(m['col_labels'])})</summary>"
            f"<table class='m'><tr><th></th>" + "".join(f"<th>{e(c)}</th>" for c in m["col_labels"])
            + f"</tr>{rows}</table></details>")
