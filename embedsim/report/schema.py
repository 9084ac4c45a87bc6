"""What a build adds to the fragments (:mod:`embedsim.report.records`): each comparison of
two models, each provenance row, and ``report.json`` itself (:class:`Report`). Their JSON is
:mod:`embedsim.report.codec`'s."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from embedsim.report.codec import SCHEMA_VERSION
from embedsim.report.records import Fragment, JsonScalar


@dataclass(frozen=True)
class CheckSide:
    """An expectation's outcome and statistic under one of two compared models."""

    outcome: str
    statistic: float
    threshold: float
    n: int
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float | None = None


@dataclass(frozen=True)
class CheckChange:
    """One expectation under the old and the new model (``None``: that model has no such check)."""

    name: str
    matrix: str
    kind: str
    unit: str
    old: CheckSide | None
    new: CheckSide | None
    difference: float | None
    #: Its outcome went from holds to fails, or to inconclusive, or back.
    flipped: bool


@dataclass(frozen=True)
class StatisticChange:
    """A statistic (``what``: ``matrix by person: margin``, ``groups(person): mean margin``) old -> new."""

    what: str
    old: float
    new: float
    difference: float


@dataclass(frozen=True)
class FlippedCheck(CheckChange):
    """A flipped expectation and the test it is in."""

    module: str
    test: str


@dataclass(frozen=True)
class SectionStatisticChange(StatisticChange):
    """A statistic's change and the test it is in."""

    module: str
    test: str


@dataclass(frozen=True)
class Top1Change:
    """A row whose most similar column changed."""

    row: str
    old: str
    new: str


@dataclass(frozen=True)
class CellMove:
    """One cell's similarity old -> new."""

    row: str
    col: str
    old: float
    new: float
    difference: float


@dataclass
class MatrixChange:
    """One matrix under two models: its difference (new minus old) when both have the same
    labels, else only why not (``problem``)."""

    name: str
    problem: str = ""
    row_labels: list[str] = field(default_factory=list)
    col_labels: list[str] = field(default_factory=list)
    all_pairs: bool = False
    difference: np.ndarray | None = None
    #: Spearman's rank agreement over the pairs (None: fewer than 2 pairs or a constant side).
    spearman: float | None = None
    n_pairs: int = 0
    mean_abs: float = 0.0
    max_abs: float = 0.0
    top1_changed: list[Top1Change] = field(default_factory=list)
    rows: int = 0
    largest_moves: list[CellMove] = field(default_factory=list)
    #: Set by the build: the difference heatmap's path in the report folder, or why it could not be drawn.
    heatmap: str = ""
    heatmap_error: str = ""


@dataclass(frozen=True)
class SectionComparison:
    """One test both models ran: outcomes, expectations, statistics and matrices compared."""

    module: str
    test: str
    old_outcome: str
    new_outcome: str
    checks: list[CheckChange]
    statistics: list[StatisticChange]
    matrices: list[MatrixChange]


@dataclass(frozen=True)
class Comparison:
    """What changed from ``old`` to ``new`` over the tests both ran."""

    old: str
    new: str
    compared: int
    #: ``(module, test)`` of the tests only one of the two models has a result of.
    not_compared: list[tuple[str, str]]
    flipped: list[FlippedCheck]
    largest_changes: list[SectionStatisticChange]
    spearman_median: float | None
    tests: list[SectionComparison]


@dataclass(frozen=True)
class ProvenanceRow:
    """One recording (or one revision of local weights) as the report shows it: ``cells`` in
    column order, and ``flag`` - why it is not ``official`` (answered by another host)."""

    cells: dict[str, JsonScalar | list[str]]
    official: bool = True
    flag: str = ""


@dataclass(frozen=True)
class Report:
    """``report.json``: every result, comparison and provenance row the pages show."""

    models: list[str]
    #: Some results were kept from earlier runs, or some collected tests have none (``missing``).
    partial: bool
    missing: list[tuple[str, str, str]]
    #: The command that completes a partial report, else empty.
    complete_with: str
    #: The fragments that could not be read (deleted), each with why.
    dropped_fragments: list[str]
    entries: list[Fragment]
    comparisons: list[Comparison]
    provenance: dict[str, list[ProvenanceRow]]
    #: Per heatmap (relative path): the digest of what it was drawn from (an unchanged one is not redrawn).
    heatmap_keys: dict[str, str]
    schema_version: int = SCHEMA_VERSION
