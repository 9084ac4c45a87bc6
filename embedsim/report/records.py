"""What an experiment records for the ``--embedsim-report``: each matrix with its group
statistics (:class:`MatrixRecord`) and each expectation's outcome with its evidence
(:class:`CheckRecord`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from embedsim.expect import Check


@dataclass
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
    majority: float | None = None
    p_value: float | None = None

    @classmethod
    def of(cls, check: Check, *, name: str, matrix: str, outcome: str, reason: str, where: str) -> CheckRecord:
        """The record of ``check`` over the matrix named ``matrix``, called at ``where``."""
        return cls(name, matrix, check.kind, check.description, outcome, float(check.statistic),
                   float(check.threshold), check.n, check.unit, check.message, reason, where, check.ci_low,
                   check.ci_high, check.confidence, check.confidence_required, check.n_items, check.chance,
                   check.majority, check.p_value)

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
    values: list[list[float]]
    all_pairs: bool
    stats: dict[str, dict[str, float]] = field(default_factory=dict)
    #: Cells ``[i, j]`` pairing an item with itself besides an all-pairs diagonal (left out of comparisons).
    self_pairs: list[list[int]] = field(default_factory=list)
