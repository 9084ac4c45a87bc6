"""embedsim's cost in pytest runs of projects that do not use it, as ratios measured in one run.

    python benchmarks/startup.py            # about a minute on 2 cores; writes benchmarks/startup.json
    python benchmarks/startup.py --quick    # one round: checks that it runs; its numbers are not results

* ``import`` - ``python -X importtime -c "import pytest; import embedsim.plugin"``: the cumulative
  import time of ``embedsim.plugin`` (what pytest pays on top of itself), median over rounds.
* ``startup`` - wall time of ``python -m pytest -q`` in a throwaway project with one plain test
  (no embedsim configuration, no embedsim fixtures), in two environments built for the run from
  this interpreter's installed files (symbolic links, so the versions are the same and nothing is
  downloaded): ``without embedsim`` holds pytest and what pytest needs; ``with embedsim`` adds
  embedsim and its runtime dependencies, as ``pip install embedsim`` would (no extras). The
  ratio ``with / without`` is the one the issue bounds (<= 1.1). The same run in ``with embedsim``
  with one autoloaded plugin switched off (``-p no:NAME``) attributes the difference: to
  embedsim's own plugin, and to the plugins its dependencies bring (pytest-recording, syrupy,
  anyio through google-genai); with all of them off, what is left is the cost of the installed
  packages alone (entry-point discovery over more distributions). Variants are interleaved round by
  round; medians are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import venv
from importlib.metadata import Distribution, PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "startup.json"
TARGETS = {"import_ms": ("<=", 50.0, "plugin module import <= 50 ms (python -X importtime)"),
           "startup_ratio": ("<=", 1.1, "pytest start-up of a project not using embedsim, with embedsim "
                                        "installed, within 1.1x of the same run without it"),
           "plugin_ratio": ("<=", 1.1, "embedsim's own plugin: the same run with embedsim installed, "
                                       "against -p no:embedsim")}


def import_ms() -> float:
    """Cumulative import time of ``embedsim.plugin`` after ``import pytest``, in ms."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import pytest; import embedsim.plugin"],
                          capture_output=True, text=True, check=True)
    for line in proc.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s*embedsim\.plugin$", line)
        if match:
            return int(match.group(1)) / 1000
    raise RuntimeError("embedsim.plugin not in the -X importtime output")


def closure(name: str) -> dict[str, Distribution]:
    """The installed distribution ``name`` and every runtime requirement of it, recursively (no extras)."""
    found: dict[str, Distribution] = {}
    pending = [name]
    while pending:
        key = pending.pop().lower().replace("_", "-")
        if key in found:
            continue
        try:
            dist = distribution(key)
        except PackageNotFoundError:
            continue  # an optional requirement that is not installed here
        found[key] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return found


def top_level_entries(dist: Distribution) -> set[Path]:
    """The files and folders a distribution installed into site-packages (its dist-info folder included)."""
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    entries = set()
    for file in dist.files or []:
        path = Path(str(dist.locate_file(file))).resolve()
        if path.is_relative_to(site) and path.exists():
            top = path.relative_to(site).parts[0]
            if top != "__pycache__":
                entries.add(site / top)
    return entries


def environment(folder: Path, dists: dict[str, Distribution]) -> Path:
    """A virtual environment whose site-packages links exactly ``dists``' files; returns its python."""
    venv.EnvBuilder(with_pip=False, symlinks=True).create(folder)
    python = folder / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    for dist in dists.values():
        for entry in top_level_entries(dist):
            target = site / entry.name
            if not target.exists():
                target.symlink_to(entry)
    return python


def autoloaded_plugins(dists: dict[str, Distribution]) -> dict[str, str]:
    """``pytest11`` entry-point name -> distribution, for the plugins ``dists`` bring."""
    return {point.name: key for key, dist in dists.items() for point in dist.entry_points
            if point.group == "pytest11"}


def project(folder: Path) -> Path:
    """A throwaway project: one plain test, a pytest.ini, nothing about embedsim."""
    folder.mkdir()
    folder.joinpath("pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    folder.joinpath("test_plain.py").write_text("def test_plain():\n    assert 1 + 1 == 2\n", encoding="utf-8")
    return folder


def run_once(folder: Path, python: Path, args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=folder,
                          env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0 or "1 passed" not in proc.stdout:
        raise RuntimeError(f"pytest {args} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    if any(line.startswith("embedsim") for line in proc.stdout.splitlines()):
        raise RuntimeError("embedsim printed something in a project that does not use it")
    return elapsed


def startup(rounds: int) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "EMBEDSIM", "PYTHON"))}
    bare = closure("pytest")
    full = {**bare, **closure("pytest-embedsim")}
    plugins = autoloaded_plugins(full)
    with tempfile.TemporaryDirectory() as tmp:
        without = environment(Path(tmp, "without"), bare)
        with_ = environment(Path(tmp, "with"), full)
        variants = {"without embedsim": (without, []), "with embedsim": (with_, [])}
        variants |= {f"with embedsim, -p no:{name}": (with_, ["-p", f"no:{name}"]) for name in sorted(plugins)}
        variants["with embedsim, all of these off"] = (with_, [arg for name in sorted(plugins)
                                                              for arg in ("-p", f"no:{name}")])
        folder = project(Path(tmp, "project"))
        for python, args in variants.values():  # warm-up: compiled bytecode, file cache
            run_once(folder, python, args, env)
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(rounds):
            for name, (python, args) in variants.items():
                times[name].append(run_once(folder, python, args, env))
    medians = {name: statistics.median(values) for name, values in times.items()}

    def ratio(numerator: str, denominator: str) -> float:
        return statistics.median(a / b for a, b in zip(times[numerator], times[denominator], strict=True))

    return {"rounds": rounds, "median_s": medians,
            "distributions": {"without embedsim": sorted(bare), "with embedsim": sorted(full)},
            "plugins": plugins,
            "ratio_with_vs_without": ratio("with embedsim", "without embedsim"),
            "ratio_all_off_vs_without": ratio("with embedsim, all of these off", "without embedsim"),
            "ratio_with_vs_without_plugin": {name: ratio("with embedsim", f"with embedsim, -p no:{name}")
                                             for name in sorted(plugins)}}


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
              "startup_ratio": results["startup"]["ratio_with_vs_without"],
              "plugin_ratio": results["startup"]["ratio_with_vs_without_plugin"]["embedsim"]}
    results["targets"] = {key: {"description": text, "op": op, "goal": goal, "value": values[key],
                                "met": values[key] <= goal} for key, (op, goal, text) in TARGETS.items()}
    options.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print("| target | measured | goal | met |\n|---|---|---|---|")
    for target in results["targets"].values():
        print(f"| {target['description']} | {target['value']:.3g} | {target['op']} {target['goal']:g} | "
              f"{'yes' if target['met'] else 'NO'} |")
    shares = results["startup"]["ratio_with_vs_without_plugin"]
    print("\n| pytest run of a project not using embedsim | median wall time | with embedsim / this |\n"
          "|---|---|---|")
    for name, seconds in results["startup"]["median_s"].items():
        plugin = name.partition("-p no:")[2]
        share = (f"{results['startup']['ratio_with_vs_without']:.2f}x" if name == "without embedsim"
                 else f"{shares[plugin]:.2f}x ({results['startup']['plugins'][plugin]})" if plugin else
                 f"this / without embedsim: {results['startup']['ratio_all_off_vs_without']:.2f}x"
                 if name.endswith("off") else "")
        print(f"| {name} | {seconds:.3f} s | {share} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
