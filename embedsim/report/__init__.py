"""The ``--embedsim-report`` folder: every experiment with every model side by side, and
what changed from one model to the next.

During the run each test (in any pytest-xdist worker) writes one JSON fragment,
``DIR/fragments/<module>__<test>__<model>.json``, atomically: a
:class:`~embedsim.report.records.Fragment`. At the end of the session the controlling process
renders, under the folder's lock, the heatmaps (``DIR/heatmaps/<model>/``, one colour scale per
test and matrix shared by all models), the difference heatmaps of each compared pair
(``DIR/heatmaps/<old>..<new>/``) and writes ``DIR/index.html`` (from the Jinja2 templates in
``templates/``), ``DIR/index.md`` and ``DIR/report.json`` (a :class:`~embedsim.report.schema.Report`).
Every JSON file carries the report's ``schema_version``. Results of tests a run did not run
(``-k``, ``--embedsim-model``) are kept from earlier runs and marked.

Modules: :mod:`~embedsim.report.records` and :mod:`~embedsim.report.schema` (the typed records),
:mod:`~embedsim.report.codec` (their JSON, the one place it is written and read),
:mod:`~embedsim.report.folder` (marker, fragments, lock), :mod:`~embedsim.report.entries` (what a
result says), :mod:`~embedsim.report.compare` (what changed), :mod:`~embedsim.report.origin`
(provenance rows), :mod:`~embedsim.report.images`, :mod:`~embedsim.report.markdown`,
:mod:`~embedsim.report.page` and :mod:`~embedsim.report.build`. matplotlib and Jinja2 load when
the report is built.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embedsim.report import folder
from embedsim.report.codec import SCHEMA_VERSION
from embedsim.report.entries import BADGES, model_label, record_commands, status
from embedsim.report.folder import (
    FRAGMENTS,
    HEATMAPS,
    MARKER,
    FragmentError,
    ReportFolderError,
    prepare,
    read_fragment,
    read_fragments,
)
from embedsim.report.records import CheckRecord, Fragment, MatrixRecord

if TYPE_CHECKING:
    from embedsim.plugin.experiments import Experiment


def write_fragment(report_dir: Path, fragment: Fragment, experiment: Experiment | None) -> Path:
    """Write one test's result (``fragment``: nodeid, module, test, model, outcome, reason, ...)
    with its experiment's matrices, checks and weights into ``report_dir``, atomically."""
    if experiment is not None:
        fragment = replace(fragment, matrices=list(experiment.matrices), checks=list(experiment.checks),
                           weights=experiment.weights())
    if fragment.outcome == "xfailed":  # a test-level xfail (marker) covers its failed expectations
        fragment = replace(fragment, checks=[replace(c, outcome="xfailed", reason=fragment.reason)
                                             if c.outcome == "failed" else c for c in fragment.checks])
    return folder.write_fragment(report_dir, fragment)


def build_index(report_dir: Path, *args: Any, **kwargs: Any) -> tuple[Path, Path]:
    """See :func:`embedsim.report.build.build_index`."""
    from embedsim.report.build import build_index as build

    return build(report_dir, *args, **kwargs)


__all__ = ["BADGES", "FRAGMENTS", "HEATMAPS", "MARKER", "SCHEMA_VERSION", "CheckRecord", "Fragment", "FragmentError",
           "MatrixRecord", "ReportFolderError", "build_index", "model_label", "prepare", "read_fragment",
           "read_fragments", "record_commands", "status", "write_fragment"]
