"""``index.html``: the report as one self-contained page (images beside it), rendered from the
Jinja2 templates in ``templates/`` with autoescaping: every text a test names is shown as text."""

from __future__ import annotations

import functools

import jinja2

from embedsim.report import entries
from embedsim.report.codec import TABLE_MAX_CELLS, has_table
from embedsim.report.entries import BADGES, Contents
from embedsim.report.records import Fragment
from embedsim.report.slugs import slug, slug_key


@functools.cache
def environment() -> jinja2.Environment:
    """The templates of this package (``embedsim/report/templates``), autoescaped, an undefined
    name an error."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("embedsim.report", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(e=entries, BADGES=BADGES, TABLE_MAX_CELLS=TABLE_MAX_CELLS, has_table=has_table, slug=slug,
                       anchor=slug_key, zip=zip)
    return env


def section_rows(per_model: dict[str, Fragment]) -> list[str]:
    """The rows of a test's table that some model has something for."""
    results = per_model.values()
    shown = {"outcome": bool(per_model),
             "heatmap": any(m.heatmap for r in results for m in r.matrices),
             "expectations": any(r.checks for r in results),
             "statistics": any(statistics(r) for r in results),
             "matrix": any(r.matrices for r in results)}
    return [row for row, show in shown.items() if show]


def statistics(entry: Fragment) -> list[str]:
    return [line for m in entry.matrices for line in entries.stats_lines(m)]


def render(c: Contents) -> str:
    def record_key(model: str) -> str:
        """The key of :attr:`Contents.commands` whose command records ``model``."""
        return next((k for k in c.commands if model in k.split(",")), model)

    return environment().get_template("index.html.j2").render(
        c=c, section_rows=section_rows, statistics=statistics, record_key=record_key)
