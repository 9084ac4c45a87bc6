"""Case ``compare``: what changed between two models' large matrices.

Two ``pixels`` embeddings of the same text items (d = 768 and d = 512: different vectors, so every
pair moves) at n = 1,000 and 3,000 items, all pairs. In a fresh subprocess per size, beside the bare
normalised product of the same process (median of 3), it times (median of 3) and reports as ratios to
that product, with the process's peak resident set:

* ``report: what changed`` - :func:`embedsim.report.compare.matrix_change` on the two models' report
  records (compact above the table size): difference, Spearman's rho, largest moves, top-1 changes;
* ``report: difference heatmap`` - the difference map the report draws for it;
* ``snapshot: mismatch`` - the matrix snapshot of one model serialised, parsed and compared with the
  other's (the failing comparison: it explains which cells moved).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

NAME = "compare"
TARGETS = {
    "compare_changes": "the report's 'what changed' between two models' 3,000-item matrices within 10x the bare "
                       "product, the matrix snapshot mismatch within 10x",
}
ROOT = Path(__file__).resolve().parents[2]
OPS = ("report: what changed", "report: difference heatmap", "snapshot: mismatch")


def _median_time(fn: Any, repeats: int = 3) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def worker(n: int) -> dict[str, Any]:
    """Every operation at ``n`` items in this process, each as a ratio to the bare product."""
    import resource

    import numpy as np

    from benchmarks.cases.scale import _items
    from embedsim.backends.pixels import PixelEmbedder
    from embedsim.matrix import cosine_matrix
    from embedsim.report.compare import matrix_change
    from embedsim.report.images import DIFFERENCE_COLORMAP
    from embedsim.report.records import MatrixRecord
    from embedsim.snapshot import DEFAULT_TOLERANCE
    from embedsim.snapshot.extensions import compare_matrices, matrix_to_table, table_to_matrix
    from embedsim.snapshot.heatmap import render_heatmap

    items = _items(n)
    labels = [i.id for i in items]
    old_vectors = np.asarray(PixelEmbedder(dimension=768).embed(items), dtype=np.float32)
    new_vectors = np.asarray(PixelEmbedder(dimension=512).embed(items), dtype=np.float32)

    def bare() -> Any:
        a = new_vectors / np.linalg.norm(new_vectors, axis=1, keepdims=True)
        return a @ a.T

    bare_seconds, _ = _median_time(bare)
    old = cosine_matrix(old_vectors, labels, model_id="old")
    new = cosine_matrix(new_vectors, labels, model_id="new")
    records = [MatrixRecord("matrix", labels, labels, m.values, True) for m in (old, new)]
    old_table = matrix_to_table(old)
    def what_changed() -> Any:
        return matrix_change(*records)

    change = what_changed()
    if not change.max_abs:
        raise RuntimeError("the two models' matrices are identical: nothing changed to measure")

    def difference_heatmap() -> bytes:
        from embedsim.matrix import SimilarityMatrix

        scale = max(change.max_abs, 1e-3)
        return render_heatmap(SimilarityMatrix(change.difference, tuple(labels), tuple(labels), True), "new minus old",
                              vmin=-scale, vmax=scale, cmap=DIFFERENCE_COLORMAP, label="difference")

    def snapshot_mismatch() -> list[str]:
        return compare_matrices(table_to_matrix(matrix_to_table(new)), table_to_matrix(old_table), DEFAULT_TOLERANCE)

    rows = []
    for op, fn in zip(OPS, (what_changed, difference_heatmap, snapshot_mismatch), strict=True):
        seconds, out = _median_time(fn)
        detail = {"report: what changed": lambda: f"{out.n_pairs:,} pairs, rho {out.spearman:.3f}",
                  "report: difference heatmap": lambda: f"{len(out):,} PNG bytes",
                  "snapshot: mismatch": lambda: f"{len(out)} lines, {sum(map(len, out)):,} characters"}[op]()
        rows.append({"op": op, "n": n, "seconds": seconds, "ratio": seconds / bare_seconds, "detail": detail})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"n": n, "bare_seconds": bare_seconds, "peak_mb": peak, "rows": rows}


def _subprocess(n: int) -> dict[str, Any]:
    code = (f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); from benchmarks.cases.compare import worker; "
            f"print('RESULT ' + json.dumps(worker({n})))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=3600, cwd=ROOT)
    if proc.returncode != 0:
        return {"n": n, "error": proc.stderr[-2000:]}
    line = next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def run(quick: bool) -> dict[str, Any]:
    sizes = [150] if quick else [1000, 3000]
    results = [_subprocess(n) for n in sizes]
    largest = results[-1]
    ok = "error" not in largest
    worst = max((r["ratio"] for r in largest.get("rows", []) if r["op"] != "report: difference heatmap"),
                default=float("nan"))
    targets = {"compare_changes": {"value": worst, "goal": 10, "op": "<=", "valid": ok,
                                   "note": f"slowest of 'what changed' and the snapshot mismatch / bare product at "
                                           f"n = {sizes[-1]:,}"}}
    return {"sizes": sizes, "results": results, "targets": targets}


def table(result: dict[str, Any]) -> list[str]:
    lines = ["", "**What changed between two models' large matrices** (ratios to the bare product of the same "
             "process; peak resident set of the process)", "",
             "| n | bare product | operation | ratio | detail |", "|---|---|---|---|---|"]
    for res in result["results"]:
        if "error" in res:
            lines.append(f"| {res['n']:,} | error | {res['error'][-200:]!r} | | |")
            continue
        for row in res["rows"]:
            lines.append(f"| {res['n']:,} | {res['bare_seconds'] * 1000:.0f} ms | {row['op']} | {row['ratio']:.1f}x "
                         f"| {row['detail']} |")
        lines.append(f"| {res['n']:,} | | peak memory | | {res['peak_mb'] / 1024:.2f} GB |")
    return lines
