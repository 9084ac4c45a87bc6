"""What the report says about one test's result with one model: badges, expectation and
statistic lines, record commands. Shared by the HTML and Markdown pages."""

from __future__ import annotations

import math
import posixpath
import shlex
import time
from dataclasses import dataclass, field

from embedsim.report.records import CheckRecord, Fragment, MatrixRecord
from embedsim.report.schema import CheckChange, CheckSide, Comparison, MatrixChange, ProvenanceRow, StatisticChange

#: Outcome -> the word the report shows, in the order of the summary table.
BADGES = {"passed": "pass", "failed": "FAIL", "inconclusive": "inconclusive", "xfailed": "xfail",
          "xpassed": "XPASS(strict)", "skipped": "skipped", "n/a": "n/a", "not recorded": "not recorded yet",
          "error": "ERROR"}
INTRO = ("Each section is one test: an experiment run once per model. For each model: the heatmap of its "
         "cosine-similarity matrix (one colour scale per test, shared by all models), the outcome of each "
         "expectation (statistic with its confidence interval against the threshold, n, and for shares the "
         "chance and constant-answer levels), and the within- vs between-group statistics.")

#: ``(module, test)`` and the test's entry per model, in collection order.
Tests = list[tuple[tuple[str, str], dict[str, Fragment]]]


def baseline(model: str) -> str:
    """The backend's description of a control model (``baseline, no semantics``), else ``""``."""
    from embedsim.backends import find

    spec = find(model)
    return spec.description if spec is not None else ""


def model_label(model: str) -> str:
    """``pixels (baseline, no semantics)`` for a model its backend describes, else the model id."""
    return f"{model} ({baseline(model)})" if baseline(model) else model


def status(entry: Fragment) -> str:
    """A key of :data:`BADGES`: the test's outcome; a skip because the model cannot run the
    experiment is ``n/a``, one for a recording reason (no cassette) ``not recorded``."""
    outcome = entry.outcome
    if outcome == "not applicable":
        return "n/a"
    if outcome == "skipped" and entry.cause == "recording":
        return "not recorded"
    return outcome


def outcome(entry: Fragment) -> tuple[str, str]:
    """The badge and, when the expectations do not already explain it, the reason."""
    state = status(entry)
    explaining = ("xfailed",) if state == "xfailed" else ("failed", "xpassed", "inconclusive")
    explained = any(c.outcome in explaining for c in entry.checks)
    reason = "" if state in ("passed", "not recorded") or explained else entry.reason
    return BADGES.get(state, state), reason


def earlier(entry: Fragment) -> str:
    """``from a run at <UTC time>`` for an entry kept from an earlier run, else empty."""
    if not entry.earlier:
        return ""
    return "from an earlier run at " + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(entry.time))


def span(low: float, high: float, digits: int, separator: str) -> str:
    """``0.410..0.620`` (with ``separator``), or ``undefined`` when an end is not a number - as
    :attr:`embedsim.expect.Check.evidence` says it in the terminal (too few items to resample)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "undefined"
    return f"{low:.{digits}f}{separator}{high:.{digits}f}"


def interval(record: CheckRecord | CheckSide) -> str:
    """`` [95% CI 0.41, 0.62]`` when the record has an interval, else empty."""
    if record.ci_low is None or record.ci_high is None:
        return ""
    level = f"{record.confidence:.0%} " if record.confidence else ""
    return f" [{level}CI {span(record.ci_low, record.ci_high, 4, ', ')}]"


def check_line(check: CheckRecord) -> str:
    """``pass: name (kind 0.53, threshold 0.1, 6 pairs) [95% CI ..., n items; chance ...; ...]``."""
    reason = f" - {check.reason}" if check.reason else ""
    return (f"{BADGES.get(check.outcome, check.outcome)}: {check.name} ({check.kind} "
            f"{check.statistic:.4f}, threshold {check.threshold:.4f}, {check.n} {check.unit})"
            f"{evidence(check)}{reason}")


def evidence(c: CheckRecord) -> str:
    """`` [95% CI a..b, n items; chance x; constant y; p z]`` from a check's evidence fields."""
    parts = []
    if c.ci_low is not None and c.ci_high is not None:
        level = f"{c.confidence:.0%} " if c.confidence is not None else ""
        parts.append(f"{level}CI {span(c.ci_low, c.ci_high, 3, '..')}"
                     f"{' (required)' if c.confidence_required else ''}, {c.n_items} items")
    parts += [f"{label} {value:.3f}" for value, label in ((c.chance, "chance"), (c.constant_answer, "constant answer"),
                                                          (c.p_value, "permutation p")) if value is not None]
    return f" [{'; '.join(parts)}]" if parts else ""


def stats_lines(matrix: MatrixRecord) -> list[str]:
    """One line per group statistic of a matrix record: means, margin and AUC, with their
    intervals, chance levels and permutation p-values."""
    return [f"{matrix.name} by {key}: within {s.within_mean:.4f} ({s.n_within:.0f} pairs), between "
            f"{s.between_mean:.4f} ({s.n_between:.0f} pairs), margin {s.margin:.4f}, AUC {s.auc:.4f}"
            f"; {s.confidence:.0%} CI margin {span(s.margin_low, s.margin_high, 3, '..')}, AUC "
            f"{span(s.auc_low, s.auc_high, 3, '..')} over {s.n_items:.0f} items; chance: margin 0, AUC 0.5; "
            f"permutation p {s.p_value_margin:.3f} (margin), {s.p_value_auc:.3f} (AUC)"
            for key, s in matrix.stats.items()]


def intro(used: list[str]) -> str:
    return " ".join([INTRO, *(f"{m} is a control ({baseline(m)}): an expectation that {m} passes as well "
                              f"cannot tell a model from {m}." for m in used if baseline(m))])


def doc(per_model: dict[str, Fragment]) -> str:
    return next((e.doc for e in per_model.values() if e.doc), "")


def summary(used: list[str], tests: Tests) -> list[tuple[str, dict[str, int]]]:
    """Per model: how many tests had each :func:`status`."""
    out = []
    for model in used:
        counts: dict[str, int] = {}
        for _key, per_model in tests:
            if model in per_model:
                s = status(per_model[model])
                counts[s] = counts.get(s, 0) + 1
        out.append((model, counts))
    return out


def record_commands(tests: Tests, report_arg: str) -> dict[str, tuple[int, str]]:
    """Per set of models with tests not recorded yet (models missing the same tests share
    one entry, keyed ``a,b``): how many tests, and the one command that records them all
    (their test files, or a folder when every test file of it in the report has some) and
    rebuilds this report."""
    modules = {module for (module, _test), _per_model in tests}
    missing: dict[str, list[str]] = {}
    for (module, _test), per_model in tests:
        for model, entry in per_model.items():
            if status(entry) == "not recorded":
                missing.setdefault(model, []).append(module)
    from embedsim.backends import key_hint

    together: dict[tuple[str, ...], list[str]] = {}
    for model, wanted in missing.items():
        together.setdefault((key_hint(model), str(len(wanted)), *_paths(wanted, modules)), []).append(model)
    out = {}
    for (hint, count, *paths), models in together.items():
        out[",".join(models)] = (int(count), f"{hint}python -m pytest {' '.join(map(shlex.quote, paths))} "
                                             f"--embedsim-model {shlex.quote(','.join(models))} --record-mode=once "
                                             f"--snapshot-update --embedsim-report {shlex.quote(report_arg)}")
    return out


def _paths(wanted: list[str], modules: set[str]) -> list[str]:
    """The test files ``wanted``, each folder of them whose every test file in the report is wanted as the folder."""
    paths = []
    for module in dict.fromkeys(wanted):
        folder = posixpath.dirname(module)
        whole = folder and all(posixpath.dirname(m) != folder or m in wanted for m in modules)
        paths.append(folder if whole else module)
    return list(dict.fromkeys(paths))


def complete_command(tests: Tests, missing: list[tuple[str, str, str]], models: list[str], report_arg: str) -> str:
    """The command that runs every test of the report (and every missing one) with every model,
    replaying their recordings, and rebuilds the report: afterwards it is complete."""
    modules = [module for (module, _test), _per_model in tests] + [module for module, _test, _model in missing]
    paths = _paths(modules, set(modules))
    return (f"python -m pytest {' '.join(map(shlex.quote, paths))} --embedsim-model {shlex.quote(','.join(models))} "
            f"--embedsim-report {shlex.quote(report_arg)}")


@dataclass
class Contents:
    """Everything an index page shows."""

    used: list[str]
    tests: Tests
    commands: dict[str, tuple[int, str]]
    comparisons: list[Comparison] = field(default_factory=list)
    #: Per model: one row per recording (``recorded_at``, ``host``, ...; ``official``
    #: False for an answer from a host other than the vendor's) or revision of its weights.
    provenance: dict[str, list[ProvenanceRow]] = field(default_factory=dict)
    #: ``(module, test, model)`` the run collected that have no result.
    missing: list[tuple[str, str, str]] = field(default_factory=list)
    #: Fragments that could not be read and were deleted, each with why.
    dropped: list[str] = field(default_factory=list)
    #: The command that completes a report with missing or earlier results (else empty).
    complete_with: str = ""

    @property
    def earlier(self) -> int:
        """How many sections (test and model) were kept from earlier runs."""
        return sum(1 for _key, per_model in self.tests for entry in per_model.values() if entry.earlier)


def partial_note(contents: Contents) -> str:
    """The warning at the top of a report with results kept from earlier runs or missing ones
    (then :attr:`Contents.complete_with` is the command that completes it), else empty."""
    parts = []
    if contents.earlier:
        total = sum(len(per_model) for _key, per_model in contents.tests)
        parts.append(f"Partial run: {contents.earlier} of the {total} results shown were not run this time (e.g. -k "
                     "or --embedsim-model) and are kept from earlier runs, each marked with the time it ran.")
    if contents.missing:
        per_model: dict[str, int] = {}
        for _module, _test, model in contents.missing:
            per_model[model] = per_model.get(model, 0) + 1
        parts.append("Not in this report yet: " + ", ".join(f"{model} ({count} test(s))"
                                                            for model, count in per_model.items())
                     + " - this run did not run them (--embedsim-model, -k).")
    if contents.complete_with:
        parts.append("Every model side by side, replayed from its recordings: run, from the project root,")
    return " ".join(parts)


def dropped_note(contents: Contents) -> str:
    """The fragments the build could not read (deleted), else empty."""
    if not contents.dropped:
        return ""
    return (f"{len(contents.dropped)} result file(s) of the report folder could not be read and were deleted "
            f"(rerun their tests): {'; '.join(contents.dropped)}")


def provenance_columns(rows: list[ProvenanceRow]) -> list[str]:
    """The columns of a model's provenance table: every cell's name, then ``flag`` when a row has one."""
    return list(dict.fromkeys(k for r in rows for k in r.cells)) + (["flag"] if any(r.flag for r in rows) else [])


def provenance_cell(row: ProvenanceRow, column: str) -> str:
    return row.flag if column == "flag" else str(row.cells.get(column, ""))


def change(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:+.{digits}f}"


def comparison_title(comparison: Comparison) -> str:
    return f"{comparison.old} -> {comparison.new}"


def _badge(side: CheckSide) -> str:
    return BADGES.get(side.outcome, side.outcome)


def comparison_summary(comparison: Comparison) -> list[str]:
    """The lines of a comparison in the report's summary: flips, largest changes, agreement."""
    lines = [f"{comparison.compared} test(s) compared" + (
        f", {len(comparison.not_compared)} not (one of the models has no result)" if comparison.not_compared else "")
        + (f"; median Spearman rank agreement {comparison.spearman_median:.3f}"
           if comparison.spearman_median is not None else "")]
    if not comparison.compared:
        return lines
    flips = comparison.flipped
    lines.append(f"{len(flips)} expectation(s) flipped" + (": " if flips else ""))
    lines += [f"{f.test}: {f.name}: {_badge(f.old)} -> {_badge(f.new)} ({f.kind} {f.old.statistic:.4f} -> "
              f"{f.new.statistic:.4f})" for f in flips if f.old is not None and f.new is not None]
    lines.append("largest statistic changes:")
    lines += [f"{c.test}: {c.what} {c.old:.4f} -> {c.new:.4f} ({change(c.difference)})"
              for c in comparison.largest_changes]
    return lines


def check_change_line(c: CheckChange) -> str:
    """``name (kind): pass 0.53 -> FAIL 0.12 (-0.41) FLIPPED``."""
    def side(s: CheckSide | None) -> str:
        return "absent" if s is None else f"{_badge(s)} {s.statistic:.4f}{interval(s)}"

    flag = " - FLIPPED" if c.flipped else ""
    return f"{c.name} ({c.kind}): {side(c.old)} -> {side(c.new)} ({change(c.difference)}){flag}"


#: A table cell of a comparison: text, or a number (or ``None``) that is a signed difference.
Cell = str | float | None
Table = tuple[list[str], list[list[Cell]]]


def statistics_table(statistics: list[StatisticChange], old: str, new: str) -> Table:
    """A test's statistics under two models, with their differences."""
    return (["statistic", old, new, "difference"],
            [[st.what, f"{st.old:.4f}", f"{st.new:.4f}", st.difference] for st in statistics])


def matrix_change_line(m: MatrixChange) -> str:
    """What changed in one matrix, the sentence after its name."""
    if m.problem:
        return f"not compared - {m.problem}"
    rho = "n/a" if m.spearman is None else f"{m.spearman:.3f}"
    return (f"Spearman rank agreement {rho} over {m.n_pairs} pairs; mean |difference| {m.mean_abs:.4f}, "
            f"largest {m.max_abs:.4f}; top-1 column changed in {len(m.top1_changed)} of {m.rows} rows")


def matrix_change_tables(m: MatrixChange) -> list[Table]:
    """The rows whose top-1 column changed (when any) and the largest moves of one matrix."""
    tables: list[Table] = []
    if m.top1_changed:
        tables.append((["row", "top-1 before", "top-1 now"], [[t.row, t.old, t.new] for t in m.top1_changed]))
    tables.append((["largest moves", "before", "now", "difference"],
                   [[f"{mv.row} x {mv.col}", f"{mv.old:.4f}", f"{mv.new:.4f}", mv.difference]
                    for mv in m.largest_moves]))
    return tables
