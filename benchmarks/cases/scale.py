"""Case ``scale``: experiments over thousands of items.

At n = 1,000, 3,000 and 10,000 ``pixels`` text items in 10 groups (d = 768), each operation runs in
a fresh subprocess (so its peak memory is its own) beside the bare normalised product
``a/|a| @ (a/|a|).T`` of the same vectors, timed in the same process: every time is reported as a
ratio to that product (median of 3), never as an absolute claim. ``experiment.similarity`` is
compared with ``embedsim.matrix.similarity`` (both embed the items; medians of 3, interleaved).
Peak memory is the subprocess's maximum resident set (the matrix itself included).

The report rows run ``pytest --embedsim-report`` on one generated test into an empty folder and into
one that already holds 30 earlier tests' results (medians of 3): the ratio is the incremental build's.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

NAME = "scale"
TARGETS = {
    "scale_checks": "expect_groups, expect_auc, expect_top1, experiment.stats each within 30x the bare product "
                    "at 10,000 items",
    "scale_memory": "peak memory under 4 GB at 10,000 items (every operation)",
    "scale_similarity": "experiment.similarity within 1.5x of matrix.similarity at 10,000 items",
    "scale_snapshot": "matrix snapshot + heatmap within 10x the bare product at 10,000 items",
    "scale_report": "1-test report run into a 30-test folder within 1.5x of the same run into an empty one",
}
ROOT = Path(__file__).resolve().parents[2]
OPS = ("experiment.similarity", "expect_groups", "expect_groups per_row", "expect_auc", "expect_top1",
       "experiment.stats",
       "snapshot + heatmap")
CHECKS = ("expect_groups", "expect_groups per_row", "expect_auc", "expect_top1", "experiment.stats")
GROUPS = 10
DIMENSION = 768


def _items(n: int) -> list[Any]:
    from embedsim.inputs.items import text_item

    return [text_item(f"catalogue entry {i}: product of line {i % GROUPS}, variant {i // GROUPS}", id=f"t{i}",
                      labels={"group": f"g{i % GROUPS}"}) for i in range(n)]


def _timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker(op: str, n: int) -> dict[str, Any]:
    """One operation at ``n`` items in this process: its time, the bare product's, peak memory."""
    import numpy as np

    from embedsim.backends.pixels import PixelEmbedder
    from embedsim.matrix import cosine_matrix, similarity
    from embedsim.plugin.experiments import Experiment

    items = _items(n)
    embedder = PixelEmbedder(dimension=DIMENSION)
    vectors = np.asarray(embedder.embed(items), dtype=np.float32)

    def bare() -> Any:
        a = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        return a @ a.T

    bares = [_timed(bare)[0] for _ in range(3)]
    out: dict[str, Any] = {"op": op, "n": n}
    if op == "experiment.similarity":
        plain, recorded = [], []
        for _ in range(3):
            plain.append(_timed(lambda: similarity(embedder, items))[0])
            recorded.append(_timed(lambda: Experiment(embedder, "bench").similarity(items))[0])
        out.update(seconds=statistics.median(recorded), baseline="matrix.similarity",
                   baseline_seconds=statistics.median(plain))
    else:
        matrix = cosine_matrix(vectors, [i.id for i in items], model_id=embedder.model_id)
        experiment = Experiment(embedder, "bench")
        experiment.add_matrix(matrix, rows=items, cols=items)
        if op == "snapshot + heatmap":
            from embedsim.snapshot import DEFAULT_IMAGE_TOLERANCE
            from embedsim.snapshot.extensions import MatrixSnapshotExtension, matrix_to_table
            from embedsim.snapshot.heatmap import render_heatmap
            from embedsim.snapshot.image_compare import compare_images

            # the stored table (a text of its own, as read from its file) and the stored PNG
            stored_table, stored_png = matrix_to_table(matrix), render_heatmap(matrix)
            extension = MatrixSnapshotExtension()

            def snapshot() -> bool:  # what syrupy asks of the extension, then the heatmap's comparison
                same = extension.matches(serialized_data=extension.serialize(matrix), snapshot_data=stored_table)
                failure, _diff = compare_images(render_heatmap(matrix), stored_png, DEFAULT_IMAGE_TOLERANCE)
                return same and not failure

            seconds, matched = _timed(snapshot)
            out.update(matched=bool(matched), table_bytes=len(stored_table), png_bytes=len(stored_png))
        else:
            run = {"expect_groups": lambda: experiment.expect_groups(matrix, by="group", margin=0.0),
                   "expect_groups per_row": lambda: experiment.expect_groups(matrix, by="group", margin=0.0,
                                                                            per_row=True),
                   "expect_auc": lambda: experiment.expect_auc(matrix, by="group", at_least=0.5),
                   "expect_top1": lambda: experiment.expect_top1(matrix, by="group", at_least=0.1),
                   "experiment.stats": lambda: experiment.stats(matrix, "group")}[op]
            before = _rss_mb()
            seconds, result = _timed(run)
            out["rss_before_mb"] = before
            note = getattr(result, "note", "")
            out["note"] = note
        out.update(seconds=seconds, baseline="bare product")
    out.update(bare_seconds=statistics.median(bares),
               peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    out["ratio"] = out["seconds"] / (out["baseline_seconds"] if op == "experiment.similarity" else out["bare_seconds"])
    return out


def _subprocess(op: str, n: int) -> dict[str, Any]:
    code = (f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); from benchmarks.cases.scale import worker; "
            f"print('RESULT ' + json.dumps(worker({op!r}, {n})))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=3600, cwd=ROOT)
    if proc.returncode != 0:
        return {"op": op, "n": n, "error": proc.stderr[-2000:]}
    line = next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


TEST = '''
def test_one(experiment):
    from embedsim.inputs.items import text_item
    items = [text_item(f"entry {{i}} of line {{i % 4}}", id=f"t{{i}}", labels={{"g": f"g{{i % 4}}"}})
             for i in range({items})]
    m = experiment.similarity(items)
    experiment.expect_groups(m, by="g", margin=-1.0)
'''


def _report_runs(quick: bool) -> dict[str, Any]:
    """One test's ``--embedsim-report`` run into an empty folder and into one with 30 earlier tests."""
    items = 6 if quick else 40
    earlier = 2 if quick else 30
    repeats = 1 if quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "conftest.py").write_text("")
        (base / "pytest.ini").write_text("[pytest]\naddopts = -p no:randomly -p no:cacheprovider\n")
        for k in range(earlier):
            (base / f"test_earlier_{k:02d}.py").write_text(TEST.format(items=items))
        (base / "test_new.py").write_text(TEST.format(items=items))

        def run(report: Path, *targets: str) -> float:
            cmd = [sys.executable, "-m", "pytest", "-q", *targets, "--embedsim-report", str(report)]
            seconds, proc = _timed(lambda: subprocess.run(cmd, cwd=base, capture_output=True, text=True, timeout=1800))
            if proc.returncode != 0:
                raise RuntimeError(proc.stdout[-2000:] + proc.stderr[-2000:])
            return seconds

        full = base / "report_full"
        run(full)  # the 30 earlier tests (and the new one) once
        empty_times, full_times = [], []
        for r in range(repeats):
            empty_times.append(run(base / f"report_empty_{r}", "test_new.py"))
            full_times.append(run(full, "test_new.py"))
        empty, into_full = statistics.median(empty_times), statistics.median(full_times)
    return {"earlier_tests": earlier, "items_per_test": items, "into_empty_s": empty, "into_full_s": into_full,
            "ratio": into_full / empty}


def run(quick: bool) -> dict[str, Any]:
    sizes = [150] if quick else [1000, 3000, 10000]
    rows = [_subprocess(op, n) for n in sizes for op in OPS]
    report = _report_runs(quick)
    largest = [r for r in rows if r["n"] == sizes[-1]]
    ok = all("error" not in r for r in largest)
    by_op = {r["op"]: r for r in largest if "error" not in r}
    checks = max((by_op[op]["ratio"] for op in CHECKS if op in by_op), default=float("nan"))
    peak = max((r["peak_mb"] for r in largest if "peak_mb" in r), default=float("nan"))
    n = sizes[-1]
    targets = {
        "scale_checks": {"value": checks, "goal": 30, "op": "<=", "valid": ok,
                         "note": f"slowest of {', '.join(CHECKS)} / bare product at n = {n:,}"},
        "scale_memory": {"value": peak / 1024, "goal": 4, "op": "<", "valid": ok,
                         "note": f"GB, largest peak resident set of any operation at n = {n:,}"},
        "scale_similarity": {"value": by_op.get("experiment.similarity", {}).get("ratio", float("nan")), "goal": 1.5,
                             "op": "<=", "valid": ok, "note": f"experiment / matrix.similarity at n = {n:,}"},
        "scale_snapshot": {"value": by_op.get("snapshot + heatmap", {}).get("ratio", float("nan")), "goal": 10,
                           "op": "<=", "valid": ok, "note": f"table + heatmap, serialised and compared, at n = {n:,}"},
        "scale_report": {"value": report["ratio"], "goal": 1.5, "op": "<=", "valid": True,
                         "note": f"1 test into {report['earlier_tests']} earlier tests' folder vs an empty one"},
    }
    return {"sizes": sizes, "rows": rows, "report": report, "targets": targets}


def table(result: dict[str, Any]) -> list[str]:
    sizes = result["sizes"]
    lines = ["**Scale** (`pixels` text items in 10 groups, d = 768, all pairs; each operation in its own process; "
             "ratio to the bare normalised product of the same process, `experiment.similarity` to "
             "`matrix.similarity`; peak = the process's maximum resident set)", "",
             "| operation | " + " | ".join(f"n = {n:,}" for n in sizes) + " |", "|---|" + "---|" * len(sizes)]
    cells: dict[tuple[str, int], str] = {}
    for r in result["rows"]:
        if "error" in r:
            cells[r["op"], r["n"]] = "error"
        else:
            cells[r["op"], r["n"]] = f"{r['ratio']:.1f}x, {r['peak_mb'] / 1024:.2f} GB"
    bare = {r["n"]: r["bare_seconds"] for r in result["rows"] if "bare_seconds" in r}
    lines.append("| bare product (median, this run) | " + " | ".join(f"{bare.get(n, float('nan')):.3f} s" for n in sizes)
                 + " |")
    lines += [f"| {op} | " + " | ".join(cells.get((op, n), "") for n in sizes) + " |" for op in OPS]
    notes = {r["note"] for r in result["rows"] if r.get("note")}
    lines += ["", *(f"- note of a large check: {note}" for note in sorted(notes))]
    rep = result["report"]
    lines += ["", f"**Incremental report**: one test's `--embedsim-report` run into a folder of "
                  f"{rep['earlier_tests']} earlier tests {rep['into_full_s']:.2f} s, into an empty folder "
                  f"{rep['into_empty_s']:.2f} s: {rep['ratio']:.2f}x (medians)."]
    return lines
