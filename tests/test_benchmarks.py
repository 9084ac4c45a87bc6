"""Smoke test of benchmarks/run.py: it runs in its tiny configuration and writes valid JSON.

Not a timing assertion: performance claims come from the benchmark's own run
(benchmarks/README.md), measured as ratios, never from a timed unit test.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "run.py"

pytestmark = pytest.mark.slow  # benchmark runs: .ci/run runs them (-m slow)


def run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--out", str(out), *args],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, json.loads(out.read_text(encoding="utf-8"))


def test_quick_run_of_the_fast_sections_writes_json_and_a_table(tmp_path: Path) -> None:
    proc, results = run(tmp_path, "--only", "matrix,calls,cassette,large,memory")
    assert results["quick"] is True
    assert set(results) >= {"machine", "matrix", "calls", "cassette", "large", "memory", "targets_met"}
    assert "replay" not in results
    assert results["machine"]["cores"] >= 1 and "blas" in results["machine"]
    # every section reports finite numbers and its targets in one shape
    for section in ("matrix", "calls", "cassette", "large"):
        for target in results[section]["targets"].values():
            assert math.isfinite(target["value"]) and target["op"] in (">=", "<=", "<")
    assert set(results["targets_met"]) == {"matrix_vs_loop_d128", "matrix_vs_loop_d256", "matrix_vs_floor",
                                           "calls_per_test", "cassette_bytes_per_image", "large_speedup"}
    row = results["matrix"]["rows"][0]
    assert row["max_abs_diff_vs_floor"] < 1e-5 and row["seed_loop_s"] > 0
    calls = results["calls"]
    assert calls["total"]["embedsim"]["calls"] == len(calls["tests"]) < calls["total"]["seed"]["calls"]
    sizes = {(r["case"], r["dimension"], r["digest"]): r["file_bytes"] for r in results["cassette"]["rows"]}
    assert len(sizes) >= 2 and all(size < sizes[case, d, False] for (case, d, digest), size in sizes.items() if digest)
    large = results["large"]
    assert large["same_vectors"] is True
    assert large["async"]["max_in_flight"] <= large["config"]["max_concurrency"]
    assert large["sequential"]["max_in_flight"] == 1
    assert results["memory"]["matrix"][0]["tracemalloc_peak"] > 0
    # the table is printed, targets first
    assert proc.stdout.index("| target |") < proc.stdout.index("**Similarity matrices**")


def test_unknown_section_is_refused(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--only", "nonsense", "--out",
                           str(tmp_path / "r.json")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "unknown section" in proc.stderr
    assert not (tmp_path / "r.json").exists()


def test_cases_in_their_own_modules_are_collected_and_run(tmp_path: Path) -> None:
    proc, results = run(tmp_path, "--only", "vectors")
    vectors = results["vectors"]
    assert vectors["bit_identical_replay"] is True
    assert [r["variant"] for r in vectors["rows"]] == ["plain vcrpy", "embedsim, vcrpy YAML", "embedsim, compact"]
    assert set(results["targets_met"]) == {"cassette_bytes_per_vector"}
    assert "**Cassette bytes per 3072-d vector**" in proc.stdout


def test_quick_stats_section_times_each_expectation_with_its_interval(tmp_path: Path) -> None:
    proc, results = run(tmp_path, "--only", "stats")  # the stats helper's section (bench_stats)
    stats = results["stats"]
    assert stats["items"] == 100 and stats["resamples"] == 2000
    assert all(r["same_interval_twice"] and r["cpu_s"] > 0 and r["ci"][0] <= r["ci"][1] for r in stats["rows"])
    assert set(results["targets_met"]) == {"stats_ms_per_expectation"}
    assert "**Expectations with intervals**" in proc.stdout


def test_quick_faces_section_times_dlib_face_and_finds_it_deterministic(tmp_path: Path) -> None:
    proc, results = run(tmp_path, "--only", "faces")
    faces = results["faces"]
    assert faces["images"] == 3 and faces["max_abs_diff_between_runs"] == 0.0
    assert all(faces[k] > 0 for k in ("load_seconds", "detect_seconds_median", "embed_seconds_median", "crop_seconds_median"))
    assert [t["unique_items"] for t in faces["tests"].values()] == [10]
    assert "**dlib-face**" in proc.stdout


def test_quick_replay_section_records_the_spec_and_replays_it_offline(tmp_path: Path) -> None:
    _, results = run(tmp_path, "--only", "replay")
    replay = results["replay"]
    assert replay["cassettes"] > 0 and replay["record_calls"] > 0  # it measured replays, not skips
    assert replay["replay_clean"] is True and replay["replay_tests_run"] >= replay["cassettes"]


def test_quick_run_of_the_scale_case(tmp_path: Path) -> None:
    """The scale case runs at its tiny size and reports every operation and target."""
    proc, results = run(tmp_path, "--only", "scale")
    scale = results["scale"]
    assert {r["op"] for r in scale["rows"]} >= {"experiment.similarity", "expect_groups", "expect_auc",
                                                "expect_top1", "experiment.stats", "snapshot + heatmap"}
    assert all("error" not in r and r["ratio"] > 0 and r["peak_mb"] > 0 for r in scale["rows"]), scale["rows"]
    assert set(scale["targets"]) == {"scale_checks", "scale_memory", "scale_similarity", "scale_snapshot",
                                     "scale_report"}
    assert scale["report"]["into_full_s"] > 0 and "**Scale**" in proc.stdout


def test_quick_run_of_the_compare_case(tmp_path: Path) -> None:
    """The compare case (two models' large matrices: what changed, its heatmap, a snapshot mismatch)
    runs at its tiny size with the report's typed records and reports every operation."""
    proc, results = run(tmp_path, "--only", "compare")
    rows = [row for result in results["compare"]["results"] for row in result["rows"]]
    assert [r["op"] for r in rows] == ["report: what changed", "report: difference heatmap", "snapshot: mismatch"]
    assert all(r["ratio"] > 0 for r in rows) and "pairs, rho" in rows[0]["detail"]
    assert set(results["compare"]["targets"]) == {"compare_changes"} and "What changed" in proc.stdout
