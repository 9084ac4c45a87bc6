"""``index.md``: the report as Markdown (GitHub renders the tables and images)."""

from __future__ import annotations

from typing import Any

from embedsim.report import entries as e
from embedsim.report.entries import BADGES, Contents


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def _row(cells: list[str]) -> str:
    return "|" + "".join(f" {cell} |" if cell else " |" for cell in cells)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [_row(header), "|---" * len(header) + "|", *map(_row, rows)]


def render(c: Contents) -> str:
    lines = ["# embedsim report", ""]
    if e.partial_note(c):
        lines += [f"> **{e.partial_note(c)}**", ""]
    lines += [e.intro(c.used), ""]
    lines += _table(["model", *BADGES.values()], [[_md(e.model_label(model)), *(str(counts.get(k, 0)) for k in BADGES)]
                                                   for model, counts in e.summary(c.used, c.tests)])
    for models, (count, command) in c.commands.items():
        lines += ["", f"**{models}: {count} test(s) not recorded yet.** Record them all (needs an API key), "
                      "from the project root:", "", "```", command, "```"]
    if c.comparisons:
        lines += ["", "## What changed", ""]
        for comparison in c.comparisons:
            head, *rest = e.comparison_summary(comparison)
            lines += [f"- **[{e.comparison_title(comparison)}](#{_heading_anchor('changes ' + e.comparison_title(comparison))})**: "
                      f"{head}", *(f"  - {_md(line)}" for line in rest)]
    lines += _provenance(c)
    for (module, test), per_model in c.tests:
        lines += _section(c.used, module, test, per_model)
    for comparison in c.comparisons:
        lines += _comparison(comparison)
    return "\n".join(lines) + "\n"


def _heading_anchor(text: str) -> str:
    """GitHub's anchor of a heading: lower case, spaces to ``-``, punctuation dropped."""
    return "".join(ch for ch in text.lower().replace(" ", "-") if ch.isalnum() or ch in "-_")


def _provenance(c: Contents) -> list[str]:
    if not c.provenance:
        return []
    lines = ["", "## Provenance of the recordings and weights", ""]
    for model, records in c.provenance.items():
        keys = list(dict.fromkeys(k for r in records for k in r if k != "official"))
        lines += [f"**{model}**", ""]
        lines += [f"> **Warning: {sum(not r.get('official', True) for r in records)} recording(s) of {model} were "
                  "answered by a host other than the vendor's official one.**", ""] if not all(
                      r.get("official", True) for r in records) else []
        lines += _table(keys, [[_md(str(r.get(k, ""))) for k in keys] for r in records]) + [""]
    return lines


def _section(used: list[str], module: str, test: str, per_model: dict[str, Any]) -> list[str]:
    lines = ["", f"## {test}", ""]
    if e.doc(per_model):
        lines += [e.doc(per_model), ""]
    rows: dict[str, list[str]] = {"outcome": [], "heatmap": [], "expectations": [], "statistics": []}
    for model in used:
        entry = per_model.get(model)
        if entry is None:
            for title, cells in rows.items():
                cells.append("-" if title == "outcome" else "")
            continue
        badge, reason = e.outcome(entry)
        text = f"{badge}: {reason}" if reason else badge
        rows["outcome"].append(_md(f"{text} ({e.earlier(entry)})" if e.earlier(entry) else text))
        rows["heatmap"].append(" ".join(f"![{m['name']}]({m['heatmap']})" for m in entry["matrices"] if m.get("heatmap")))
        rows["expectations"].append(_md("\n".join(e.check_line(ch) for ch in entry["checks"])))
        rows["statistics"].append(_md("\n".join(line for m in entry["matrices"] for line in e.stats_lines(m))))
    lines += [f"`{module}`", ""]
    lines += _table(["", *(_md(e.model_label(m)) for m in used)], [[title, *cells] for title, cells in rows.items()])
    for model in used:
        for m in per_model.get(model, {}).get("matrices", []):
            lines += ["", f"<details><summary>{model}: {m['name']} ({len(m['row_labels'])} x "
                          f"{len(m['col_labels'])})</summary>", ""]
            lines += _table(["", *map(_md, m["col_labels"])],
                            [[_md(label), *(f"{v:.3f}" for v in row)]
                             for label, row in zip(m["row_labels"], m["values"], strict=True)])
            lines += ["", "</details>"]
    return lines


def _comparison(comparison: dict[str, Any]) -> list[str]:
    lines = ["", f"## Changes {e.comparison_title(comparison)}", ""]
    if not comparison["compared"]:
        return lines + ["No test has results from both models yet."]
    for s in comparison["tests"]:
        lines += [f"### {s['test']}", "", f"`{s['module']}`: {BADGES.get(s['old_outcome'], s['old_outcome'])} -> {BADGES.get(s['new_outcome'], s['new_outcome'])}", ""]
        lines += [f"- {_md(e.check_change_line(ch))}" for ch in s["checks"]]
        if s["statistics"]:
            lines += ["", *_changes(e.statistics_table(s["statistics"], comparison["old"], comparison["new"]))]
        for m in s["matrices"]:
            lines += ["", *_matrix_change(m)]
    return lines


def _changes(table: e.Table) -> list[str]:
    header, rows = table
    return _table([_md(h) for h in header],
                  [[_md(cell) if isinstance(cell, str) else e.change(cell) for cell in row] for row in rows])


def _matrix_change(m: dict[str, Any]) -> list[str]:
    if "problem" in m:
        return [f"{m['name']}: {e.matrix_change_line(m)}"]
    lines = [f"**{m['name']}**: {e.matrix_change_line(m)}", ""]
    if m.get("heatmap"):
        lines += [f"![{m['name']} difference]({m['heatmap']})", ""]
    for table in e.matrix_change_tables(m):
        lines += [*_changes(table), ""]
    return lines[:-1]
