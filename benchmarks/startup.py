"""embedsim's cost in pytest runs of projects that do not use it (issue 14), as ratios measured in one run.

    python benchmarks/startup.py            # about a minute on 2 cores; writes benchmarks/startup.json
    python benchmarks/startup.py --quick    # one round: checks that it runs; its numbers are not results

* ``import`` - ``python -X importtime -c "import pytest; import embedsim.plugin"``: the cumulative
  import time of ``embedsim.plugin`` (what pytest pays on top of itself), median over rounds.
* ``startup`` - wall time of ``python -m pytest -q`` in a throwaway project with one plain test
  (no embedsim configuration, no embedsim fixtures), three ways, interleaved round by round:
  ``installed`` (every installed pytest plugin autoloads, as after ``pip install embedsim``),
  ``without plugin`` (``-p no:embedsim``: its dependencies' plugins still load) and
  ``uninstalled`` (plugin autoload off; every installed pytest plugin loaded with ``-p``
  except embedsim and the plugins only it brings: pytest-recording, syrupy). The ratio
  ``installed / uninstalled`` is the one the issue bounds (<= 1.1).

A section of its own (not in run.py, which the infra helper owns); results go to their own JSON file.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "startup.json"
#: Distributions whose pytest plugins are there only because embedsim depends on them.
EMBEDSIM_PLUGINS = ("embedsim", "pytest-recording", "pytest_recording", "syrupy")
TARGETS = {"import_ms": ("<=", 50.0, "plugin module import <= 50 ms (python -X importtime)"),
           "startup_ratio": ("<=", 1.1, "pytest start-up of a project not using embedsim within 1.1x of "
                                        "the same run with embedsim uninstalled")}


def import_ms() -> float:
    """Cumulative import time of ``embedsim.plugin`` after ``import pytest``, in ms."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import pytest; import embedsim.plugin"],
                          capture_output=True, text=True, check=True)
    for line in proc.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s*embedsim\.plugin$", line)
        if match:
            return int(match.group(1)) / 1000
    raise RuntimeError("embedsim.plugin not in the -X importtime output")


def other_plugins() -> list[str]:
    """``-p`` arguments loading every installed pytest plugin except embedsim's and its dependencies'."""
    args = []
    for point in entry_points(group="pytest11"):
        dist = point.dist.name if point.dist is not None else ""
        if dist.lower().replace("_", "-") not in {p.replace("_", "-") for p in EMBEDSIM_PLUGINS}:
            args += ["-p", point.value]
    return args


def project(folder: Path) -> Path:
    """A throwaway project: one plain test, a pytest.ini, nothing about embedsim."""
    folder.joinpath("pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    folder.joinpath("test_plain.py").write_text("def test_plain():\n    assert 1 + 1 == 2\n", encoding="utf-8")
    return folder


def run_once(folder: Path, args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=folder,
                          env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0 or "1 passed" not in proc.stdout:
        raise RuntimeError(f"pytest {args} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    if any(line.startswith("embedsim") for line in proc.stdout.splitlines()):
        raise RuntimeError("embedsim printed something in a project that does not use it")
    return elapsed


def startup(rounds: int) -> dict[str, Any]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "EMBEDSIM"))}
    variants = {"installed": ([], base),
                "without plugin": (["-p", "no:embedsim"], base),
                "uninstalled": (other_plugins(), {**base, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})}
    times: dict[str, list[float]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as tmp:
        folder = project(Path(tmp))
        for name, (args, env) in variants.items():  # warm-up: compiled bytecode, file cache
            run_once(folder, args, env)
        for _ in range(rounds):
            for name, (args, env) in variants.items():
                times[name].append(run_once(folder, args, env))
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratios = [i / u for i, u in zip(times["installed"], times["uninstalled"], strict=True)]
    return {"rounds": rounds, "median_s": medians, "uninstalled_plugins": variants["uninstalled"][0],
            "ratio_installed_vs_uninstalled": statistics.median(ratios),
            "ratio_installed_vs_without_plugin": statistics.median(
                i / w for i, w in zip(times["installed"], times["without plugin"], strict=True))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few rounds: checks that it runs")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    options = parser.parse_args(argv)
    rounds = 1 if options.quick else 15
    imports = [import_ms() for _ in range(rounds)]
    results: dict[str, Any] = {"quick": options.quick, "python": sys.version.split()[0], "cores": os.cpu_count(),
                               "import": {"rounds": rounds, "median_ms": statistics.median(imports),
                                          "all_ms": imports},
                               "startup": startup(rounds)}
    values = {"import_ms": results["import"]["median_ms"],
              "startup_ratio": results["startup"]["ratio_installed_vs_uninstalled"]}
    results["targets"] = {key: {"description": text, "op": op, "goal": goal, "value": values[key],
                                "met": values[key] <= goal} for key, (op, goal, text) in TARGETS.items()}
    options.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print("| target | measured | goal | met |\n|---|---|---|---|")
    for target in results["targets"].values():
        print(f"| {target['description']} | {target['value']:.3g} | {target['op']} {target['goal']:g} | "
              f"{'yes' if target['met'] else 'NO'} |")
    medians = results["startup"]["median_s"]
    print("\n| pytest run of a project not using embedsim | median wall time |\n|---|---|")
    for name, seconds in medians.items():
        print(f"| {name} | {seconds:.3f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
