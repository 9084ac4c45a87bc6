"""embedsim in pytest runs of projects that do not use it: no cost worth noticing,
no output, no files, no broken ``-p no:legacypath`` suites; a project that uses its fixtures
without configuring it is told which defaults it got."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.usefixtures("outside_xdist", "clean_env")

#: Imported only when a test uses embedsim's fixtures.
HEAVY = ("numpy", "PIL", "embedsim.inputs.items", "matplotlib", "vcr", "google.genai", "embedsim.recording", "embedsim.plugin.experiments", "embedsim.report",
         "embedsim.snapshot.extensions", "embedsim.snapshot.heatmap")


def test_importing_the_plugin_imports_nothing_heavy() -> None:
    code = ("import sys, json, pytest; before = set(sys.modules); import embedsim.plugin; "
            "print(json.dumps(sorted(set(sys.modules) - before)))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                       check=True).stdout)
    heavy = [m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY)]
    assert heavy == [], heavy


def test_a_project_without_embedsim_gets_no_output_and_no_files(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_x():\n    pass\n")
    before = sorted(p.name for p in pytester.path.iterdir())
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert [line for line in result.stdout.lines if line.startswith("embedsim")] == []
    assert sorted(p.name for p in pytester.path.iterdir()) == before


@pytest.mark.parametrize("how", ["ini", "pyproject", "option"])
def test_a_configured_project_gets_the_header(pytester: pytest.Pytester, how: str) -> None:
    pytester.makepyfile(test_plain="def test_x():\n    pass\n")
    args: tuple[str, ...] = ()
    if how == "ini":
        pytester.makeini("[pytest]\nembedsim_dimension = 256\n")
    elif how == "pyproject":
        pytester.makepyprojecttoml("[tool.embedsim]\n")
    else:
        args = ("--embedsim-dimension", "256")
    result = pytester.runpytest(*args)
    result.stdout.fnmatch_lines(["embedsim: models pixels; dimension * (record mode none)"])
    assert "not configured" not in result.stdout.str()


@pytest.mark.parametrize("workers", [(), pytest.param(("-n", "2"), marks=pytest.mark.slow)])
def test_unconfigured_use_of_the_fixtures_says_once_which_defaults_it_used(pytester: pytest.Pytester,
                                                                           workers: tuple[str, ...]) -> None:
    pytester.makepyfile(test_forgot="""
        def test_a(experiment):
            pass

        def test_b(experiment):
            pass
    """)
    result = pytester.runpytest_subprocess(*workers)
    result.assert_outcomes(passed=2)
    text = result.stdout.str()
    assert text.count("embedsim: not configured in this project") == 1
    result.stdout.fnmatch_lines(["embedsim: not configured in this project *; its fixtures used the defaults: "
                                 "models pixels; dimension backend default; cassettes *"])
    assert "embedsim: models" not in text  # no header line


LEGACYPATH_FREE = """
import os

def test_passes():
    pass

def test_cassette_dir_is_pytest_recordings_default(vcr_cassette_dir, request):
    here = request.node.path
    assert vcr_cassette_dir == os.path.join(here.parent, "cassettes", here.stem)
"""


@pytest.mark.parametrize("legacypath", ["-p no:legacypath", ""])
def test_suites_without_legacypath_stay_green(pytester: pytest.Pytester, legacypath: str) -> None:
    """pytest-recording (an embedsim dependency) asks for ``request.node.fspath``, which only
    pytest's legacypath plugin provides; embedsim supplies pytest-recording's
    ``vcr_cassette_dir`` from ``node.path`` when legacypath is disabled."""
    pytester.makeini(f"[pytest]\naddopts = {legacypath}\n")
    pytester.makepyfile(test_lp=LEGACYPATH_FREE)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=2)


def test_a_projects_own_vcr_cassette_dir_still_wins(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\naddopts = -p no:legacypath\n")
    pytester.makeconftest("import pytest\n\n@pytest.fixture(scope='module')\ndef vcr_cassette_dir():\n"
                          "    return 'mine'\n")
    pytester.makepyfile(test_own="def test_dir(vcr_cassette_dir):\n    assert vcr_cassette_dir == 'mine'\n")
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


@pytest.mark.slow
def test_startup_benchmark_runs_and_writes_its_targets(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Smoke test only: the numbers come from benchmarks/startup.py's own run (benchmarks/README.md)."""
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "startup.py"
    out = tmp_path / "startup.json"
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("PYTEST_")}
    subprocess.run([sys.executable, str(script), "--quick", "--out", str(out)], check=True, capture_output=True,
                   timeout=600, cwd=tmp_path, env=env)
    results = json.loads(out.read_text(encoding="utf-8"))
    assert set(results["targets"]) == {"import_ms", "startup_ratio", "plugin_ratio"}
    assert all(target["value"] > 0 for target in results["targets"].values())
    environments = results["startup"]["distributions"]
    assert "pytest-embedsim" not in environments["without embedsim"]
    assert {"pytest-embedsim", "pytest", "syrupy", "pytest-recording"} <= set(environments["with embedsim"])
    assert not {"hypothesis", "pytest-xdist", "pytest-randomly"} & set(environments["with embedsim"])  # no extras
    assert {"embedsim", "syrupy", "recording"} <= set(results["startup"]["plugins"])
    assert "with embedsim, -p no:embedsim" in results["startup"]["median_s"]


def test_the_distribution_is_a_conventional_pytest_plugin() -> None:
    """``pytest-embedsim`` (pytest's naming convention), typed, its version from the metadata,
    the public API importable from the package itself - and the import still cheap."""
    from importlib.metadata import distribution

    import embedsim

    dist = distribution("pytest-embedsim")
    assert "Framework :: Pytest" in dist.metadata.get_all("Classifier")
    assert embedsim.__version__ == dist.version
    assert any(str(f).endswith("embedsim/py.typed") for f in dist.files or ()) or (
        __import__("pathlib").Path(embedsim.__file__).with_name("py.typed").is_file())
    assert [e.value for e in dist.entry_points if e.group == "pytest11"] == ["embedsim.plugin"]
    code = ("import sys, json; import embedsim; before = set(sys.modules); "
            "from embedsim import Dataset, Item, text_item, load_item, similarity, SimilarityMatrix, Check, "
            "crop_faces, InputError, NotApplicable, BackendError, RecordingError, ExpectationFailed; "
            "print(json.dumps([Dataset.__module__, SimilarityMatrix.__module__, Check.__module__]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == ["embedsim.inputs.datasets", "embedsim.matrix", "embedsim.expect.check"]
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        embedsim.nonexistent  # noqa: B018


def test_the_plugins_fixtures_say_what_they_return() -> None:
    """Every fixture the plugin offers has a return annotation a type checker can use (not ``Any``)."""
    import ast
    from pathlib import Path

    import embedsim.plugin

    plugin = Path(embedsim.plugin.__file__).parent
    fixtures = {}
    for path in plugin.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            decorators = [ast.unparse(d) for d in getattr(node, "decorator_list", [])]
            if isinstance(node, ast.FunctionDef) and any(d.startswith("pytest.fixture") for d in decorators):
                fixtures[node.name] = None if node.returns is None else ast.unparse(node.returns)
    assert {"embedder", "experiment", "embedsim_model", "embedsim_settings", "matrix_snapshot",
            "heatmap_snapshot"} <= set(fixtures)
    assert {name: returns for name, returns in fixtures.items() if returns in (None, "Any")} == {}
