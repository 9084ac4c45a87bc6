"""``index.md``: the report as Markdown (GitHub renders the tables and images).

Every text that comes from a test (labels, test ids, docstrings, matrix and expectation
names, model ids, reasons) is written as literal text: Markdown's and HTML's special
characters escaped (:func:`_md`), in code spans and fences longer than any run of
backticks in it (:func:`_code`, :func:`_fence`), HTML-escaped inside raw HTML, and
link targets percent-encoded (:func:`_url`): viewers that render raw HTML in Markdown
(GitHub and many others) show it as text, never as markup.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote

from embedsim.report import entries as e
from embedsim.report.codec import TABLE_MAX_CELLS, has_table
from embedsim.report.entries import BADGES, Contents
from embedsim.report.records import Fragment
from embedsim.report.schema import Comparison, MatrixChange

#: Characters that are markup anywhere in a line: backslash-escaped.
_SPECIAL = frozenset("\\`*[]|~#$")
_ENTITIES = {"<": "&lt;", "&": "&amp;"}
#: What makes a line a block (list item, quote, heading underline, ordered list) at its start.
_BLOCK_START = re.compile(r"[-+=>]|\d+[.)]")


def _md(text: str, line_start: bool = False) -> str:
    """``text`` as literal inline Markdown: the characters that are markup escaped (``_`` unless
    inside a word, where it is none), ``<`` and ``&`` as entities, line breaks as ``<br>``;
    with ``line_start``, also what would start a block (``- ``, ``> ``, ``1. ``)."""
    out = []
    text = text.replace("\r\n", "\n")
    for i, ch in enumerate(text):
        if ch in _SPECIAL:
            out.append("\\" + ch)
        elif ch == "_":
            inside = 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum()
            out.append("_" if inside else "\\_")
        elif ch in _ENTITIES:
            out.append(_ENTITIES[ch])
        elif ch in "\r\n\u2028\u2029":
            out.append("<br>")
        else:
            out.append(ch)
    escaped = "".join(out)
    if line_start and (start := _BLOCK_START.match(escaped)):
        escaped = escaped[:start.end() - 1] + "\\" + escaped[start.end() - 1:]
    return escaped


def _code(text: str) -> str:
    """``text`` as a code span (literal: no Markdown, no HTML), on one line."""
    text = " ".join(text.splitlines())
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _fence(text: str) -> list[str]:
    """``text`` as a fenced code block."""
    fence = "`" * max(3, max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    return [fence, text, fence]


def _html(text: str) -> str:
    """``text`` inside raw HTML: escaped, and brackets as entities (no link even where Markdown is read there)."""
    return html.escape(text).replace("[", "&#91;").replace("]", "&#93;")


def _url(path: str) -> str:
    """A link target for a file of the report: percent-encoded (only a relative path stays a path)."""
    return quote(path, safe="/@[]")


def _row(cells: list[str]) -> str:
    return "|" + "".join(f" {cell} |" if cell else " |" for cell in cells)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [_row(header), "|---" * len(header) + "|", *map(_row, rows)]


def render(c: Contents) -> str:
    lines = ["# embedsim report", ""]
    if e.partial_note(c):
        lines += [f"> **{_md(e.partial_note(c))}**", ""]
        if c.complete_with:
            lines += [f"> {line}" for line in _fence(c.complete_with)] + [""]
    if e.dropped_note(c):
        lines += [f"> **{_md(e.dropped_note(c))}**", ""]
    lines += [_md(e.intro(c.used), line_start=True), ""]
    lines += _table(["model", *BADGES.values()], [[_md(e.model_label(model)), *(str(counts.get(k, 0)) for k in BADGES)]
                                                   for model, counts in e.summary(c.used, c.tests)])
    for models, (count, command) in c.commands.items():
        lines += ["", f"**{_md(models)}: {count} test(s) not recorded yet.** Record them all (needs an API key), "
                      "from the project root:", "", *_fence(command)]
    if c.comparisons:
        lines += ["", "## What changed", ""]
        for comparison in c.comparisons:
            head, *rest = e.comparison_summary(comparison)
            title = e.comparison_title(comparison)
            lines += [f"- **[{_md(title)}](#{_heading_anchor('changes ' + title)})**: "
                      f"{_md(head)}", *(f"  - {_md(line)}" for line in rest)]
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
        keys = e.provenance_columns(records)
        lines += [f"**{_md(model)}**", ""]
        lines += [f"> **Warning: {sum(not r.official for r in records)} recording(s) of {_md(model)} were "
                  "answered by a host other than the vendor's official one.**", ""] if not all(
                      r.official for r in records) else []
        lines += _table([_md(k) for k in keys], [[_md(e.provenance_cell(r, k)) for k in keys] for r in records]) + [""]
    return lines


def _section(used: list[str], module: str, test: str, per_model: dict[str, Fragment]) -> list[str]:
    lines = ["", f"## {_md(test)}", ""]
    if e.doc(per_model):
        lines += [_md(e.doc(per_model), line_start=True), ""]
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
        rows["heatmap"].append(" ".join(f"![{_md(m.name)}]({_url(m.heatmap)})" for m in entry.matrices if m.heatmap))
        rows["expectations"].append(_md("\n".join(e.check_line(ch) for ch in entry.checks)))
        rows["statistics"].append(_md("\n".join(line for m in entry.matrices for line in e.stats_lines(m))))
    lines += [_code(module), ""]
    lines += _table(["", *(_md(e.model_label(m)) for m in used)], [[title, *cells] for title, cells in rows.items()])
    for model in used:
        for m in per_model[model].matrices if model in per_model else []:
            lines += ["", f"<details><summary>{_html(model)}: {_html(m.name)} ({len(m.row_labels)} x "
                          f"{len(m.col_labels)})</summary>", ""]
            if has_table(m.values):
                lines += _table(["", *map(_md, m.col_labels)],
                                [[_md(label), *(f"{v:.3f}" for v in row)]
                                 for label, row in zip(m.row_labels, m.values, strict=True)])
            else:
                lines += [f"Too large for a table (over {TABLE_MAX_CELLS:,} cells): its values are in report.json."]
            lines += ["", "</details>"]
    return lines


def _comparison(comparison: Comparison) -> list[str]:
    lines = ["", f"## Changes {_md(e.comparison_title(comparison))}", ""]
    if not comparison.compared:
        return lines + ["No test has results from both models yet."]
    for s in comparison.tests:
        lines += [f"### {_md(s.test)}", "", f"{_code(s.module)}: {_md(BADGES.get(s.old_outcome, s.old_outcome))} "
                  f"-> {_md(BADGES.get(s.new_outcome, s.new_outcome))}", ""]
        lines += [f"- {_md(e.check_change_line(ch))}" for ch in s.checks]
        if s.statistics:
            lines += ["", *_changes(e.statistics_table(s.statistics, comparison.old, comparison.new))]
        for m in s.matrices:
            lines += ["", *_matrix_change(m)]
    return lines


def _changes(table: e.Table) -> list[str]:
    header, rows = table
    return _table([_md(h) for h in header],
                  [[_md(cell) if isinstance(cell, str) else e.change(cell) for cell in row] for row in rows])


def _matrix_change(m: MatrixChange) -> list[str]:
    if m.problem:
        return [f"{_md(m.name, line_start=True)}: {_md(e.matrix_change_line(m))}"]
    lines = [f"**{_md(m.name)}**: {_md(e.matrix_change_line(m))}", ""]
    if m.heatmap:
        lines += [f"![{_md(m.name)} difference]({_url(m.heatmap)})", ""]
    for table in e.matrix_change_tables(m):
        lines += [*_changes(table), ""]
    return lines[:-1]
