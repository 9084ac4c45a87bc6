"""What an experiment records for the ``--embedsim-report``: each matrix with its group
statistics (:class:`MatrixRecord`) and each expectation's outcome with its evidence
(:class:`CheckRecord`)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from embedsim.expect import Check

#: A matrix with more cells is stored compactly in the report (float32 as base64, ``values`` empty)
#: and shown by its heatmap only, without a table of values.
TABLE_MAX_CELLS = 10_000


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
    #: The matrix's own array (kept, not copied): lists only when JSON is written (:meth:`to_dict`).
    values: np.ndarray | list[list[float]]
    all_pairs: bool
    stats: dict[str, dict[str, float]] = field(default_factory=dict)
    #: Cells ``[i, j]`` pairing an item with itself besides an all-pairs diagonal (left out of comparisons).
    self_pairs: list[list[int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON data: values rounded to 6 decimals, or compact above
        :data:`TABLE_MAX_CELLS` cells (:func:`encode_values`)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "values"}
        return {**_plain(out), **encode_values(self.values)}


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    return {k: ({s: dict(v) for s, v in value.items()} if k == "stats" else
                [list(c) for c in value] if k == "self_pairs" else value) for k, value in data.items()}


def encode_values(values: Any, key: str = "values") -> dict[str, Any]:
    """``{key: rows of values}`` (rounded to 6 decimals), or above :data:`TABLE_MAX_CELLS` cells
    ``{key: [], key + "_float32": base64 of the little-endian float32 values}``."""
    array = np.asarray(values)
    if array.size <= TABLE_MAX_CELLS:
        return {key: np.asarray(array, dtype=np.float64).round(6).tolist()}
    data = np.ascontiguousarray(array, dtype="<f4").tobytes()
    return {key: [], f"{key}_float32": base64.b64encode(data).decode("ascii")}


def decode_values(record: dict[str, Any], key: str = "values") -> np.ndarray:
    """The ``(rows, columns)`` float64 array of a record written by :func:`encode_values`."""
    shape = (len(record["row_labels"]), len(record["col_labels"]))
    if record.get(f"{key}_float32"):
        raw = base64.b64decode(record[f"{key}_float32"])
        return np.frombuffer(raw, dtype="<f4").astype(np.float64).reshape(shape)
    return np.asarray(record[key], dtype=np.float64).reshape(shape)


def has_table(record: dict[str, Any], key: str = "values") -> bool:
    """The record's values are listed (not compact): the report shows them as a table."""
    return not record.get(f"{key}_float32")
