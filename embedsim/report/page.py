"""``index.html``: the report as one self-contained page (images beside it)."""

from __future__ import annotations

import html
from typing import Any

from embedsim.report import entries as e
from embedsim.report.entries import BADGES, Contents
from embedsim.report.slugs import slug, slug_key

_CSS = """body{font-family:system-ui,"Noto Sans CJK JP","Hiragino Sans","Yu Gothic",IPAexGothic,sans-serif;
margin:2em;max-width:1500px}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:6px;vertical-align:top;text-align:left}th{background:#f4f4f4}
.passed,.pass{color:#1a7f37}.failed,.xpassed,.error,.flipped{color:#cf222e;font-weight:bold}.xfailed{color:#9a6700}
.inconclusive{color:#9a6700;font-style:italic}
.skipped,.not-recorded,.n\\/a,.earlier{color:#57606a}img{max-width:100%}code,pre{background:#f6f8fa;padding:1px 4px}
pre{padding:8px;white-space:pre-wrap}ul{margin:0;padding-left:1.2em}li{margin-bottom:4px}
.doc{font-style:italic;margin:0 0 4px}.module{color:#57606a;margin:0 0 8px}
.warning{background:#fff8c5;border:1px solid #d4a72c;padding:8px;font-weight:bold}
.up{color:#cf222e}.down{color:#0969da}
table.m td{text-align:right;font-size:85%;padding:2px 4px}table.m th{font-size:85%;padding:2px 4px}"""

esc = html.escape


def _badge(state: str, text: str) -> str:
    return f"<span class='{esc(state.replace(' ', '-'))}'>{esc(text)}</span>"


def _signed(value: float | None) -> str:
    css = "" if value is None or value == 0 else (" class='up'" if value > 0 else " class='down'")
    return f"<span{css}>{esc(e.change(value))}</span>"


def _anchor(*parts: str) -> str:
    return slug_key(*parts)


def render(c: Contents) -> str:
    out = ["<!doctype html><html><head><meta charset='utf-8'><title>embedsim report</title>",
           f"<style>{_CSS}</style></head><body><h1>embedsim report</h1>"]
    if e.partial_note(c):
        command = f"<pre>{esc(c.complete_with)}</pre>" if c.complete_with else ""
        out.append(f"<div class='warning'><p>{esc(e.partial_note(c))}</p>{command}</div>")
    if e.dropped_note(c):
        out.append(f"<p class='warning'>{esc(e.dropped_note(c))}</p>")
    out.append(f"<p>{esc(e.intro(c.used))}</p>")
    out.append("<table><tr><th>model</th>" + "".join(f"<th>{esc(b)}</th>" for b in BADGES.values()) + "</tr>")
    for model, counts in e.summary(c.used, c.tests):
        out.append(f"<tr><td>{esc(e.model_label(model))}</td>"
                   + "".join(f"<td>{counts.get(k, 0) or ''}</td>" for k in BADGES) + "</tr>")
    out.append("</table>")
    for models, (count, command) in c.commands.items():
        out.append(f"<p id='{slug('record-' + models)}'><b>{esc(models)}: {count} test(s) not recorded yet.</b> "
                   f"Record them all (needs an API key), from the project root:</p><pre>{esc(command)}</pre>")
    if c.comparisons:
        out.append("<h2>What changed</h2><ul>")
        for comparison in c.comparisons:
            head, *rest = e.comparison_summary(comparison)
            title = e.comparison_title(comparison)
            out.append(f"<li><b><a href='#{_anchor('changes', title)}'>{esc(title)}</a></b>: {esc(head)}"
                       + ("<ul>" + "".join(f"<li>{esc(line)}</li>" for line in rest) + "</ul>" if rest else "")
                       + "</li>")
        out.append("</ul>")
    out += _provenance(c)
    out += _overview(c)
    for (module, test), per_model in c.tests:
        out += _section(c, module, test, per_model)
    for comparison in c.comparisons:
        out += _comparison(comparison)
    out.append("</body></html>")
    return "\n".join(out)


def _provenance(c: Contents) -> list[str]:
    if not c.provenance:
        return []
    out = ["<h2>Provenance of the recordings and weights</h2>"]
    for model, records in c.provenance.items():
        keys = list(dict.fromkeys(k for r in records for k in r if k != "official"))
        foreign = sum(not r.get("official", True) for r in records)
        out.append(f"<h3>{esc(model)}</h3>")
        if foreign:
            out.append(f"<p class='warning'>{foreign} recording(s) of {esc(model)} were answered by a host other "
                       "than the vendor's official one.</p>")
        out.append("<table><tr>" + "".join(f"<th>{esc(k)}</th>" for k in keys) + "</tr>" + "".join(
            f"<tr{'' if r.get('official', True) else ' class=failed'}>"
            + "".join(f"<td>{esc(str(r.get(k, '')))}</td>" for k in keys) + "</tr>" for r in records) + "</table>")
    return out


def _overview(c: Contents) -> list[str]:
    out = ["<h2>Tests</h2><table><tr><th>test</th>" + "".join(f"<th>{esc(e.model_label(m))}</th>" for m in c.used)
           + "</tr>"]
    for (module, test), per_model in c.tests:
        badges = "".join(f"<td>{_badge(e.status(per_model[m]), e.outcome(per_model[m])[0])}</td>"
                         if m in per_model else "<td>-</td>" for m in c.used)
        out.append(f"<tr><td><a href='#{_anchor(module, test)}'>{esc(test)}</a></td>{badges}</tr>")
    out.append("</table>")
    return out


def _section(c: Contents, module: str, test: str, per_model: dict[str, Any]) -> list[str]:
    out = [f"<h2 id='{_anchor(module, test)}'>{esc(test)}</h2>"]
    if e.doc(per_model):
        out.append(f"<p class='doc'>{esc(e.doc(per_model))}</p>")
    out.append(f"<p class='module'><code>{esc(module)}</code></p><table><tr><th></th>"
               + "".join(f"<th>{esc(e.model_label(m))}</th>" for m in c.used) + "</tr>")
    rows: dict[str, list[str]] = {"outcome": [], "heatmap": [], "expectations": [], "statistics": [], "matrix": []}
    for model in c.used:
        entry = per_model.get(model)
        if entry is None:
            for cells in rows.values():
                cells.append("-")
            continue
        badge, reason = e.outcome(entry)
        more = f"<br>{esc(reason)}" if reason else ""
        if e.status(entry) == "not recorded":
            command = next((k for k in c.commands if model in k.split(",")), model)
            more = f" (<a href='#{slug('record-' + command)}'>record command</a>)"
        if e.earlier(entry):
            more += f"<br><span class='earlier'>{esc(e.earlier(entry))}</span>"
        rows["outcome"].append(_badge(e.status(entry), badge) + more)
        rows["heatmap"].append("".join(f"<img src='{esc(m['heatmap'])}' alt='{esc(m['name'])}'>"
                                       for m in entry["matrices"] if m.get("heatmap")))
        rows["expectations"].append("<ul>" + "".join(
            f"<li class='{esc(ch['outcome'])}' title='{esc(ch['message'])}'>{esc(e.check_line(ch))}</li>"
            for ch in entry["checks"]) + "</ul>" if entry["checks"] else "")
        rows["statistics"].append("<br>".join(esc(s) for m in entry["matrices"] for s in e.stats_lines(m)))
        rows["matrix"].append("".join(_matrix(m) for m in entry["matrices"]))
    for title, cells in rows.items():
        if any(cell not in ("", "-") for cell in cells):
            out.append(f"<tr><th>{title}</th>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    out.append("</table>")
    return out


def _table(header: list[str], rows: list[list[str]], css: str = "") -> str:
    return (f"<table{css}><tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr>"
            + "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows) + "</table>")


def _matrix(m: dict[str, Any], values: str = "values", digits: str = "{:.3f}") -> str:
    rows = [[esc(label), *(digits.format(v) for v in row)] for label, row in zip(m["row_labels"], m[values], strict=True)]
    return (f"<details><summary>{esc(m['name'])} ({len(m['row_labels'])} x {len(m['col_labels'])})</summary>"
            + _table(["", *map(esc, m["col_labels"])], rows, " class='m'") + "</details>")


def _comparison(comparison: dict[str, Any]) -> list[str]:
    title = e.comparison_title(comparison)
    out = [f"<h2 id='{_anchor('changes', title)}'>Changes {esc(title)}</h2>"]
    if not comparison["compared"]:
        return out + ["<p>No test has results from both models yet.</p>"]
    for s in comparison["tests"]:
        out.append(f"<h3>{esc(s['test'])}</h3><p class='module'><code>{esc(s['module'])}</code>: "
                   f"{esc(BADGES.get(s['old_outcome'], s['old_outcome']))} -> {esc(BADGES.get(s['new_outcome'], s['new_outcome']))}</p>")
        if s["checks"]:
            out.append("<ul>" + "".join(f"<li class='{'flipped' if ch['flipped'] else ''}'>"
                                        f"{esc(e.check_change_line(ch))}</li>" for ch in s["checks"]) + "</ul>")
        if s["statistics"]:
            out.append(_changes(e.statistics_table(s["statistics"], comparison["old"], comparison["new"])))
        for m in s["matrices"]:
            out += _matrix_change(m)
    return out


def _changes(table: e.Table) -> str:
    header, rows = table
    return _table([esc(h) for h in header],
                  [[esc(cell) if isinstance(cell, str) else _signed(cell) for cell in row] for row in rows])


def _matrix_change(m: dict[str, Any]) -> list[str]:
    if "problem" in m:
        return [f"<p>{esc(m['name'])}: {esc(e.matrix_change_line(m))}</p>"]
    out = [f"<p><b>{esc(m['name'])}</b>: {esc(e.matrix_change_line(m))}</p>"]
    cells = [f"<img src='{esc(m['heatmap'])}' alt='{esc(m['name'])} difference'>" if m.get("heatmap") else ""]
    detail = "".join(map(_changes, e.matrix_change_tables(m)))
    out.append(_table([], [[*cells, detail]]).replace("<tr></tr>", ""))
    out.append(_matrix({**m, "name": f"{m['name']} difference"}, "difference", "{:+.3f}"))
    return out
