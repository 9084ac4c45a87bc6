"""What a test records for the ``--embedsim-report``, one fragment per test and model
(:class:`Fragment`): each matrix with its group statistics (:class:`MatrixRecord`) and each
expectation's outcome with its evidence (:class:`CheckRecord`). Their JSON is
:mod:`embedsim.report.codec`'s."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from embedsim.expect import Check
from embedsim.expect.groups import GroupStats
from embedsim.report.codec import SCHEMA_VERSION

#: A value of an open-ended record (a model's weights provenance).
JsonScalar = str | int | float | bool | None


@dataclass(frozen=True)
class CheckRecord:
    """An expectation's outcome as stored in the report."""

    name: str
    matrix: str
    kind: str
    description: str
    outcome: str  # passed | failed | inconclusive | xfailed | xpassed
    statistic: float
    threshold: float
    n: int
    unit: str
    message: str
    reason: str = ""
    where: str = ""
    # the evidence (embedsim.expect.check.Check): interval, items resampled, chance levels, p-value
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float | None = None
    confidence_required: bool = False
    n_items: int | None = None
    chance: float | None = None
    constant_answer: float | None = None
    p_value: float | None = None

    @classmethod
    def of(cls, check: Check, *, name: str, matrix: str, outcome: str, reason: str, where: str) -> CheckRecord:
        """The record of ``check`` over the matrix named ``matrix``, called at ``where``."""
        return cls(name, matrix, check.kind, check.description, outcome, float(check.statistic),
                   float(check.threshold), check.n, check.unit, check.message, reason, where, check.ci_low,
                   check.ci_high, check.confidence, check.confidence_required, check.n_items, check.chance,
                   check.constant_answer, check.p_value)

    def failure_text(self) -> str:
        head = f"[{self.name}] at {self.where}" if self.where else f"[{self.name}]"
        if self.outcome == "xpassed":
            return (f"{head}: XPASS(strict) - expected to fail ({self.reason}) but it holds; "
                    f"remove the model from xfail=\n{self.message}")
        if self.outcome == "inconclusive":
            return f"{head}: INCONCLUSIVE - not enough evidence (n = {self.n_items} items)\n{self.message}"
        return f"{head}: {self.message}"


@dataclass
class MatrixRecord:
    """A matrix the experiment produced, with the statistics computed over it."""

    name: str
    row_labels: list[str]
    col_labels: list[str]
    #: The matrix's own array (kept, not copied); compact in JSON above ``codec.TABLE_MAX_CELLS`` cells.
    values: np.ndarray
    all_pairs: bool
    #: Per grouping (``person``, ``person x expression``, ...): its within- vs between-group statistics.
    stats: dict[str, GroupStats] = field(default_factory=dict)
    #: Cells ``[i, j]`` pairing an item with itself besides an all-pairs diagonal (left out of comparisons).
    self_pairs: list[tuple[int, int]] = field(default_factory=list)
    #: Set by the build: the heatmap's path in the report folder, or why it could not be drawn.
    heatmap: str = ""
    heatmap_error: str = ""


@dataclass(frozen=True)
class Fragment:
    """One test's result with one model: ``fragments/<module>__<test>__<model>.json``."""

    module: str
    test: str
    model: str
    outcome: str  # passed failed error skipped xfailed xpassed "not applicable"
    nodeid: str = ""
    reason: str = ""
    #: ``"recording"`` when a recording problem made the test fail or skip.
    cause: str = ""
    duration: float = 0.0
    #: When it ran (``time.time()``) and its place in the test file (the report's section order).
    time: float = 0.0
    order: int = 0
    doc: str = ""
    matrices: list[MatrixRecord] = field(default_factory=list)
    checks: list[CheckRecord] = field(default_factory=list)
    #: The provenance of a model run from weights on this machine (revision, source, library, ...).
    weights: dict[str, JsonScalar] | None = None
    #: Set by the build: a result kept from an earlier run (``report.json`` only).
    earlier: bool = False
    schema_version: int = SCHEMA_VERSION
