"""What changed from one model to another, test by test: the ``comparisons`` of a report.

For a pair ``(old, new)`` every test both models ran is compared: expectations whose
outcome flipped (holds / fails / inconclusive), each statistic old -> new with its
difference, and per matrix with the same labels the difference matrix (new minus old),
Spearman's rank agreement over the pairs, the rows whose most similar column changed and
the largest moves. Plain JSON-ready dicts, so ``report.json`` carries them as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from embedsim.matrix import SimilarityMatrix
from embedsim.stats import average_ranks
from embedsim.report.records import decode_values, encode_values
from embedsim.report.entries import Tests
from embedsim.report.folder import Entry

#: An expectation's outcome -> whether it held; a flip is a change of this state.
STATES = {"passed": "holds", "xpassed": "holds", "failed": "fails", "xfailed": "fails",
          "inconclusive": "inconclusive"}
#: Group statistics compared per matrix and label key.
GROUP_STATISTICS = ("margin", "auc", "within_mean", "between_mean")
#: How many of the largest moves (cells) and statistic changes are listed.
LARGEST = 5


def default_pairs(models: Sequence[str]) -> list[tuple[str, str]]:
    """Each model against the one before it."""
    return list(zip(models, models[1:]))


def matrix_of(record: dict[str, Any]) -> SimilarityMatrix:
    values = decode_values(record)
    return SimilarityMatrix(values, tuple(record["row_labels"]), tuple(record["col_labels"]), record["all_pairs"],
                            self_pairs=tuple((int(i), int(j)) for i, j in record.get("self_pairs", ())))


def _ran(entry: Entry | None) -> bool:
    return entry is not None and bool(entry["matrices"] or entry["checks"])


def compare_models(old: str, new: str, tests: Tests) -> dict[str, Any]:
    """The comparison of ``new`` against ``old`` over the tests both ran (others are listed
    in ``not_compared``)."""
    sections, skipped = [], []
    for (module, test), per_model in tests:
        a, b = per_model.get(old), per_model.get(new)
        if _ran(a) and _ran(b):
            sections.append({"module": module, "test": test, **compare_entries(a, b)})  # type: ignore[arg-type]
        elif a is not None or b is not None:
            skipped.append({"module": module, "test": test})
    flipped = [{"module": s["module"], "test": s["test"], **c} for s in sections for c in s["checks"] if c["flipped"]]
    changes = [{"module": s["module"], "test": s["test"], **c} for s in sections for c in s["statistics"]]
    changes.sort(key=lambda c: -abs(c["difference"]))
    rhos = [m["spearman"] for s in sections for m in s["matrices"] if m.get("spearman") is not None]
    return {"old": old, "new": new, "compared": len(sections), "not_compared": skipped, "flipped": flipped,
            "largest_changes": changes[:LARGEST], "spearman_median": float(np.median(rhos)) if rhos else None,
            "tests": sections}


def compare_entries(a: Entry, b: Entry) -> dict[str, Any]:
    """One test's old and new entry: outcomes, expectations, statistics, matrices."""
    old_checks = {(c["matrix"], c["name"]): c for c in a["checks"]}
    checks = [_check_change(old_checks.pop((c["matrix"], c["name"]), None), c) for c in b["checks"]]
    checks += [_check_change(c, None) for c in old_checks.values()]
    old_matrices = {m["name"]: m for m in a["matrices"]}
    matrices, statistics = [], []
    for record in b["matrices"]:
        before = old_matrices.get(record["name"])
        if before is None:
            continue
        matrices.append(matrix_change(before, record))
        for key, new_stats in record.get("stats", {}).items():
            old_stats = before.get("stats", {}).get(key, {})
            statistics += [_change(f"{record['name']} by {key}: {name}", old_stats[name], new_stats[name])
                           for name in GROUP_STATISTICS if name in old_stats and name in new_stats]
    statistics += [_change(f"{c['name']}: {c['kind']}", c["old"]["statistic"], c["new"]["statistic"])
                   for c in checks if c["old"] and c["new"]]
    return {"old_outcome": a["outcome"], "new_outcome": b["outcome"], "checks": checks, "statistics": statistics,
            "matrices": matrices}


def _change(what: str, old: float, new: float) -> dict[str, Any]:
    return {"what": what, "old": old, "new": new, "difference": new - old}


def _side(check: dict[str, Any] | None) -> dict[str, Any] | None:
    if check is None:
        return None
    keys = ("outcome", "statistic", "threshold", "n", "ci_low", "ci_high", "confidence")
    return {k: check[k] for k in keys if k in check}


def _check_change(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    some = new or old
    assert some is not None
    flipped = bool(old and new and STATES.get(old["outcome"]) != STATES.get(new["outcome"]))
    difference = new["statistic"] - old["statistic"] if old and new else None
    return {"name": some["name"], "matrix": some["matrix"], "kind": some["kind"], "unit": some.get("unit", ""),
            "old": _side(old), "new": _side(new), "difference": difference, "flipped": flipped}


def _pairs(matrix: SimilarityMatrix) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the matrix's pairs: above the diagonal of an all-pairs one,
    never an item with itself."""
    valid = ~matrix.excluded
    if matrix.all_pairs:
        valid = np.triu(valid, k=1)
    return np.nonzero(valid)


def spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman's rank correlation (ties share ranks); None with fewer than 2 pairs or a constant side."""
    if x.size < 2:
        return None
    rx, ry = average_ranks(x), average_ranks(y)
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])


def matrix_change(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """One matrix's difference (new minus old) when both have the same labels, else why not."""
    out: dict[str, Any] = {"name": new["name"]}
    if (old["row_labels"], old["col_labels"], old["all_pairs"]) != (new["row_labels"], new["col_labels"],
                                                                     new["all_pairs"]):
        out["problem"] = "the two models' matrices have different rows or columns"
        return out
    a, b = matrix_of(old), matrix_of(new)
    difference = b.values - a.values
    rows, cols = _pairs(b)
    moved = difference[rows, cols]
    if moved.size == 0 or not np.all(np.isfinite(moved)):
        out["problem"] = "no finite pairs to compare"
        return out
    order = np.argsort(-np.abs(moved), kind="stable")[:LARGEST]
    top1 = [{"row": label, "old": x, "new": y}
            for label, x, y in zip(b.row_labels, a.top1(), b.top1(), strict=True) if x != y] if b.shape[1] > 1 else []
    out.update(
        row_labels=new["row_labels"], col_labels=new["col_labels"], all_pairs=new["all_pairs"],
        **encode_values(difference, "difference"), spearman=spearman(a.values[rows, cols], b.values[rows, cols]),
        n_pairs=int(moved.size), mean_abs=float(np.abs(moved).mean()), max_abs=float(np.abs(moved).max()),
        top1_changed=top1, rows=len(b.row_labels),
        largest_moves=[{"row": b.row_labels[rows[k]], "col": b.col_labels[cols[k]], "old": float(a.values[rows[k], cols[k]]),
                        "new": float(b.values[rows[k], cols[k]]), "difference": float(moved[k])} for k in order])
    return out
