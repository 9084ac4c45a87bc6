"""The ``--embedsim-report`` folder: every experiment with every model side by side, and
what changed from one model to the next.

During the run each test (in any pytest-xdist worker) writes one JSON fragment,
``DIR/fragments/<module>__<test>__<model>.json``, atomically. At the end of the session
the controlling process renders, under the folder's lock, the heatmaps
(``DIR/heatmaps/<model>/``, one colour scale per test and matrix shared by all models),
the difference heatmaps of each compared pair (``DIR/heatmaps/<old>..<new>/``) and
writes ``DIR/index.html``, ``DIR/index.md`` and ``DIR/report.json``. Results of tests a
run did not run (``-k``, ``--embedsim-model``) are kept from earlier runs and marked.

Modules: :mod:`~embedsim.report.folder` (marker, fragments, lock),
:mod:`~embedsim.report.entries` (what a result says), :mod:`~embedsim.report.compare`
(what changed), :mod:`~embedsim.report.origin` (provenance rows), :mod:`~embedsim.report.images`, :mod:`~embedsim.report.markdown`,
:mod:`~embedsim.report.page` and :mod:`~embedsim.report.build`. This module imports
nothing heavy: numpy and matplotlib load when the report is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedsim.report import folder
from embedsim.report.entries import BADGES, model_label, record_commands, status
from embedsim.report.folder import FRAGMENTS, HEATMAPS, MARKER, ReportFolderError, prepare, read_fragments

if TYPE_CHECKING:
    from embedsim.plugin.experiments import Experiment


def write_fragment(report_dir: Path, entry: dict[str, Any], experiment: Experiment | None) -> Path:
    """Write one test's result (``entry``: nodeid, module, test, model, outcome, reason, ...)
    with its experiment's matrices and checks into ``report_dir``, atomically."""
    entry = {"matrices": [], "checks": [], **entry, **(experiment._to_dict() if experiment else {})}
    if entry["outcome"] == "xfailed":  # a test-level xfail (marker) covers its failed expectations
        for check in entry["checks"]:
            if check["outcome"] == "failed":
                check.update(outcome="xfailed", reason=entry.get("reason", ""))
    return folder.write_fragment(report_dir, entry)


def build_index(report_dir: Path, *args: Any, **kwargs: Any) -> tuple[Path, Path]:
    """See :func:`embedsim.report.build.build_index`."""
    from embedsim.report.build import build_index as build

    return build(report_dir, *args, **kwargs)


__all__ = ["BADGES", "FRAGMENTS", "HEATMAPS", "MARKER", "ReportFolderError", "build_index", "model_label",
           "prepare", "read_fragments", "record_commands", "status", "write_fragment"]
