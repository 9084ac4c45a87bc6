"""The --embedsim-report folder: heatmaps per model and an index comparing models side by side."""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import replace
from pathlib import Path

import hypothesis
import numpy as np
import pytest
from hypothesis import strategies as st

from embedsim import report
from embedsim.expect.groups import GroupStats
from embedsim.report import CheckRecord, Fragment, MatrixRecord
from embedsim.report.codec import SchemaError, from_json, to_json
from embedsim.report.schema import Report
from embedsim.snapshot import heatmap

pytestmark = pytest.mark.usefixtures("outside_xdist", "clean_env")

EXPERIMENTS = """
import pytest
from embedsim.inputs.items import text_item

WORDS = [text_item(w, labels={"g": g}) for w, g in
         [("apple", "fruit"), ("apples", "fruit"), ("car", "vehicle"), ("cars", "vehicle")]]

def test_spelling(experiment):
    '''Spellings of one word
    are closer than different words.

    Not in the report: the rest of the docstring.
    '''
    m = experiment.similarity(WORDS)
    experiment.expect_groups(m, by="g", margin=0.1)
    experiment.expect_auc(m, by="g", at_least=0.9)

@pytest.mark.embedsim_xfail("pixels", reason="no semantics")
def test_meaning(experiment):
    m = experiment.similarity(WORDS[:2], WORDS[2:], name="fruit_vs_vehicle")
    experiment.expect_order(m, "apple", ["cars", "car"], margin=0.5)

def test_broken(experiment):
    m = experiment.similarity(WORDS)
    experiment.expect_groups(m, by="g", margin=0.9)
"""


def test_report_shows_models_side_by_side(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nembedsim_models = pixels gemini-embedding-2-preview\nembedsim_report = out/report\n")
    pytester.makepyfile(test_exp=EXPERIMENTS)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1, xfailed=1, skipped=3)
    report = pytester.path / "out" / "report"
    result.stdout.fnmatch_lines([f"embedsim report: {report / 'index.html'}"])
    assert sorted(p.name for p in (report / "heatmaps" / "pixels").iterdir()) == [
        "test_exp.py__test_broken__matrix.png", "test_exp.py__test_meaning__fruit_vs_vehicle.png",
        "test_exp.py__test_spelling__matrix.png"]
    assert len(list((report / "fragments").glob("*.json"))) == 6
    if os.name != "nt":  # ordinary permissions, not the 0600 of a temporary file
        umask = os.umask(0o022)  # the test reads the process's umask (setting it is the only way)
        os.umask(umask)
        assert {stat.S_IMODE(p.stat().st_mode) for p in report.rglob("*") if p.is_file()} == {0o666 & ~umask}

    md = (report / "index.md").read_text(encoding="utf-8")
    assert "| | pixels (baseline, no semantics) | gemini-embedding-2-preview |" in md
    # pass FAIL inconclusive xfail XPASS skipped n/a not-recorded error
    assert "| pixels (baseline, no semantics) | 1 | 1 | 0 | 1 | 0 | 0 | 0 | 0 | 0 |" in md
    assert "| gemini-embedding-2-preview | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 3 | 0 |" in md
    # one command records every missing test of the model, and rebuilds this report
    assert ("GEMINI_API_KEY=... python -m pytest test_exp.py --embedsim-model gemini-embedding-2-preview "
            "--record-mode=once --snapshot-update --embedsim-report out/report") in md
    assert "| outcome | pass | not recorded yet |" in md
    assert "| outcome | xfail | not recorded yet |" in md  # its expectations say why
    assert "xfail: order(apple: cars > car) (smallest gap -0.0264, threshold 0.5000, 1 pairs) - pixels: no semantics" in md
    assert "| outcome | FAIL | not recorded yet |" in md  # the failed expectation says why
    assert "pass: groups(g, margin=0.1) (mean margin 0.5278, threshold 0.1000, 6 pairs)" in md
    assert "FAIL: groups(g, margin=0.9)" in md
    assert "matrix by g: within 0.8153 (2 pairs), between 0.2876 (4 pairs), margin 0.5278, AUC 1.0000" in md
    assert "![fruit_vs_vehicle](heatmaps/pixels/test_exp.py__test_meaning__fruit_vs_vehicle.png)" in md
    assert "| apple | 0.285 | 0.259 |" in md  # the matrix itself
    # collection order, not alphabetical; each test's docstring summary under its heading
    assert md.index("## test_spelling") < md.index("## test_meaning") < md.index("## test_broken")
    assert "## test_spelling\n\nSpellings of one word are closer than different words.\n" in md

    page = (report / "index.html").read_text(encoding="utf-8")
    assert "<th>pixels (baseline, no semantics)</th>" in page and "<th>gemini-embedding-2-preview</th>" in page
    assert "<img src='heatmaps/pixels/test_exp.py__test_spelling__matrix.png'" in page
    assert "not recorded yet" in page and "--record-mode=once" in page
    assert page.index(">test_spelling</h2>") < page.index(">test_meaning</h2>") < page.index(">test_broken</h2>")
    entries = json.loads((report / "report.json").read_text(encoding="utf-8"))["entries"]
    assert {(e["test"], e["model"], e["outcome"]) for e in entries} >= {
        ("test_spelling", "pixels", "passed"), ("test_meaning", "pixels", "xfailed"),
        ("test_broken", "pixels", "failed"), ("test_spelling", "gemini-embedding-2-preview", "skipped")}


def test_sections_keep_definition_order_in_a_shuffled_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_exp=EXPERIMENTS)
    for seed in ("1", "2", "3"):
        result = pytester.runpytest("-p", "randomly", f"--randomly-seed={seed}", "--embedsim-report", "rep")
        result.assert_outcomes(passed=1, failed=1, xfailed=1)
        md = (pytester.path / "rep" / "index.md").read_text(encoding="utf-8")
        assert md.index("## test_spelling") < md.index("## test_meaning") < md.index("## test_broken"), seed


def test_a_partial_run_keeps_the_other_sections_and_says_so(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nembedsim_models = pixels gemini-embedding-2-preview\n")
    pytester.makepyfile(test_exp=EXPERIMENTS)
    rep = pytester.path / "rep"
    pytester.runpytest("--embedsim-report", "rep")
    assert "Partial run" not in (rep / "index.md").read_text(encoding="utf-8")
    pytester.runpytest("--embedsim-report", "rep", "-k", "spelling", "--embedsim-model", "pixels")
    md = (rep / "index.md").read_text(encoding="utf-8")
    assert md.startswith("# embedsim report\n\n> **Partial run: 5 of the 6 results shown were not run this time")
    for test in ("test_spelling", "test_meaning", "test_broken"):  # every test keeps its section ...
        assert md.count(f"## {test}\n") == 1
    assert md.count("from an earlier run at ") == 5  # ... each one not run now marked
    assert "| outcome | pass | not recorded yet (from an earlier run at " in md  # ... also the other model's
    assert json.loads((rep / "report.json").read_text(encoding="utf-8"))["partial"] is True
    assert len(list((rep / "heatmaps" / "pixels").glob("*.png"))) == 3
    pytester.runpytest("--embedsim-report", "rep")  # a full run refreshes all
    assert "Partial run" not in (rep / "index.md").read_text(encoding="utf-8")


def test_sections_of_removed_test_files_and_models_are_dropped(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nembedsim_models = pixels gemini-embedding-2-preview\n")
    pytester.makepyfile(test_exp=EXPERIMENTS, test_other="def test_other(experiment):\n    pass\n")
    rep = pytester.path / "rep"
    pytester.runpytest("--embedsim-report", "rep")
    assert len(list((rep / "fragments").glob("*.json"))) == 8
    (pytester.path / "test_other.py").unlink()
    pytester.makeini("[pytest]\nembedsim_models = pixels\n")
    pytester.runpytest("--embedsim-report", "rep", "-k", "spelling")
    assert sorted(p.name for p in (rep / "fragments").iterdir()) == [
        f"test_exp.py__{test}__pixels.json" for test in ("test_broken", "test_meaning", "test_spelling")]
    assert "gemini" not in (rep / "index.md").read_text(encoding="utf-8")


def test_the_report_never_deletes_or_mixes_with_user_files(pytester: pytest.Pytester) -> None:
    """Regression: ``--embedsim-report docs`` deleted docs/heatmaps/* and docs/fragments/*."""
    pytester.makepyfile(test_exp=EXPERIMENTS, test_more="def test_more(experiment):\n    experiment.similarity(%s)\n"
                        % "[__import__('embedsim.inputs.items').inputs.items.text_item(w) for w in 'ab']")
    docs = pytester.path / "docs"
    mine = {"heatmaps/figure.png": b"my figure", "fragments/notes.json": b"{}", "guide.md": b"# my guide"}
    for name, data in mine.items():
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        (docs / name).write_bytes(data)
    result = pytester.runpytest("--embedsim-report", "docs")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*the report folder *docs holds files the embedsim report did not write "
                                 "(fragments/notes.json, guide.md, heatmaps/figure.png)*"])
    assert {name: (docs / name).read_bytes() for name in mine} == mine
    assert sorted(p.relative_to(docs).as_posix() for p in docs.rglob("*") if p.is_file()) == sorted(mine)

    # a folder the report made is refused as soon as someone else's file is in it
    pytester.runpytest("--embedsim-report", "rep").assert_outcomes(passed=2, failed=1, xfailed=1)
    rep = pytester.path / "rep"
    assert (rep / report.MARKER).is_file()
    (rep / "heatmaps" / "pixels" / "mine.png").write_bytes(b"mine")
    assert pytester.runpytest("--embedsim-report", "rep").ret == pytest.ExitCode.USAGE_ERROR
    assert (rep / "heatmaps" / "pixels" / "mine.png").read_bytes() == b"mine"
    (rep / "heatmaps" / "pixels" / "mine.png").unlink()
    # its own stale files go: the heatmap of a test file that no longer exists
    assert (rep / "heatmaps" / "pixels" / "test_more.py__test_more__matrix.png").is_file()
    (pytester.path / "test_more.py").unlink()
    pytester.runpytest("--embedsim-report", "rep").assert_outcomes(passed=1, failed=1, xfailed=1)
    assert sorted(p.name for p in (rep / "heatmaps" / "pixels").iterdir()) == [
        "test_exp.py__test_broken__matrix.png", "test_exp.py__test_meaning__fruit_vs_vehicle.png",
        "test_exp.py__test_spelling__matrix.png"]


CONCURRENT = """
import os, time
from pathlib import Path
from embedsim.inputs.items import text_item

def wait_for(name):
    flag = Path(os.environ["FLAGS"]) / name
    for _ in range(6000):  # a safety limit, not a timing claim
        if flag.exists():
            return
        time.sleep(0.01)
    raise AssertionError(f"{{flag}} never appeared")

def test_{name}_1(experiment):
    experiment.similarity([text_item("a"), text_item("b")])

def test_{name}_2(experiment):
    experiment.similarity([text_item("c"), text_item("d")])
    (Path(os.environ["FLAGS"]) / "{name}").touch()
    wait_for("{other}")
"""


@pytest.mark.slow
def test_two_runs_on_one_folder_keep_each_others_sections(pytester: pytest.Pytester,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: two pytest processes writing one report folder deleted each
    other's fragments. Here run B starts after run A has written a fragment, and each run
    waits inside its last test until the other has reached its own."""
    import subprocess
    import sys

    pytester.makepyfile(test_a=CONCURRENT.format(name="a", other="b"), test_b=CONCURRENT.format(name="b", other="a"))
    monkeypatch.setenv("FLAGS", str(pytester.path))
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "--embedsim-report", "rep"]
    first = subprocess.Popen([*command, "test_a.py"], cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    for _ in range(6000):  # run B starts once run A has written its first test's fragment
        if list((pytester.path / "rep" / "fragments").glob("test_a.py__test_a_1*.json")) or first.poll() is not None:
            break
        import time

        time.sleep(0.01)
    second = subprocess.run([*command, "test_b.py"], cwd=pytester.path, capture_output=True, text=True)
    output = first.communicate()[0].decode()
    assert first.returncode == 0 and second.returncode == 0, output + second.stdout
    md = (pytester.path / "rep" / "index.md").read_text(encoding="utf-8")
    for test in ("test_a_1", "test_a_2", "test_b_1", "test_b_2"):
        assert md.count(f"## {test}\n") == 1, test


@pytest.mark.slow
def test_xdist_workers_share_report_and_snapshots(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(**{f"test_x{n}": EXPERIMENTS.replace("def test_broken", "def _broken") + """
def test_snap(experiment):
    experiment.snapshot(experiment.similarity(WORDS))
""" for n in range(3)})
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", "--embedsim-report", "rep",
                                           "--snapshot-update")
    result.assert_outcomes(passed=6, xfailed=3)
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", "--embedsim-report", "rep")
    result.assert_outcomes(passed=6, xfailed=3)
    assert "6 snapshots passed" in result.stdout.str()
    rep = pytester.path / "rep"
    assert len(list((rep / "fragments").glob("*.json"))) == 9
    assert not list(rep.rglob("*.tmp"))
    md = (rep / "index.md").read_text(encoding="utf-8")
    assert "| pixels (baseline, no semantics) | 6 | 0 | 0 | 3 |" in md
    for test in ("test_spelling", "test_meaning", "test_snap"):  # every worker's fragments made it
        assert md.count(f"## {test}\n") == 3
    assert len(list((rep / "heatmaps" / "pixels").glob("*.png"))) == 9


def _fragment(model: str, low: float, high: float, order: int = 0, module: str = "tests/test_a.py",
              test: str = "test_x", outcome: str = "passed", reason: str = "") -> Fragment:
    return Fragment(module, test, model, outcome, nodeid=f"{module}::{test}[{model}]", order=order, reason=reason,
                    cause="recording" if "not recorded" in reason else "",
                    matrices=[MatrixRecord("matrix", ["a", "b"], ["x", "y"], np.array([[low, high], [high, low]]),
                                           False)])


def test_models_share_one_colour_scale_per_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report.prepare(tmp_path)
    for entry in (_fragment("pixels", -0.1, 0.1), _fragment("gemini-embedding-2-preview", 0.3, 0.7),
                  _fragment("pixels", 0.2, 0.4, test="test_y")):
        report.write_fragment(tmp_path, entry, None)
    scales: dict[str, tuple[float | None, float | None]] = {}
    render = heatmap.render_heatmap

    def spy(matrix, title=None, *, vmin=None, vmax=None):
        scales[title] = (vmin, vmax)
        return render(matrix, title, vmin=vmin, vmax=vmax)

    monkeypatch.setattr(heatmap, "render_heatmap", spy)
    report.build_index(tmp_path, ["pixels", "gemini-embedding-2-preview"])
    assert scales == {"test_x\npixels (baseline, no semantics)": (-0.1, 0.7),
                      "test_x\ngemini-embedding-2-preview": (-0.1, 0.7),
                      "test_y\npixels (baseline, no semantics)": (0.2, 0.4)}
    assert len(list((tmp_path / "heatmaps").rglob("*.png"))) == 3


def test_one_record_command_per_model_names_the_files_or_their_folder() -> None:
    missing = "not recorded yet: no cassette ..."
    entries = [_fragment("gemini-embedding-9", 0, 1, module="tests/spec/test_a.py", outcome="skipped", reason=missing),
               _fragment("gemini-embedding-9", 0, 1, module="tests/spec/test_b.py", test="test_y", outcome="skipped", reason=missing),
               _fragment("gemini-embedding-9", 0, 1, module="tests/test_c.py", outcome="skipped", reason=missing),
               _fragment("gemini-embedding-9", 0, 1, module="tests/test_d.py"),  # recorded: tests/ is not recorded as a whole
               _fragment("pixels", 0, 1, module="tests/test_d.py")]
    tests = [((e.module, e.test), {e.model: e}) for e in entries]
    assert report.record_commands(tests, "my report") == {"gemini-embedding-9": (3, (
        "GEMINI_API_KEY=... python -m pytest tests/spec tests/test_c.py --embedsim-model gemini-embedding-9 "
        "--record-mode=once --snapshot-update --embedsim-report 'my report'"))}


def _check(name: str, outcome: str, statistic: float) -> CheckRecord:
    return CheckRecord(name, "matrix", "mean margin", name, outcome, statistic, 0.1, 3, "pairs", "")


def _versions() -> list[Fragment]:
    out = []
    for model, values, margin, auc in (("m-old", [[1, .8, .2], [.8, 1, .3], [.2, .3, 1]], 0.5, 0.9),
                                       ("m-new", [[1, .4, .6], [.4, 1, .3], [.6, .3, 1]], 0.05, 0.95)):
        stats = GroupStats(within_mean=0.8, between_mean=0.8 - margin, margin=margin, auc=auc, n_within=1, n_between=2)
        out.append(replace(_fragment(model, 0, 1), matrices=[
            MatrixRecord("matrix", ["a", "b", "c"], ["a", "b", "c"], np.array(values, dtype=float), True, {"g": stats})],
            checks=[_check("groups(g)", "passed" if margin > 0.1 else "failed", margin), _check("auc(g)", "passed", auc)]))
    return out


def test_comparisons_name_flips_and_changes_and_draw_difference_maps(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    report.prepare(tmp_path)
    for entry in _versions():
        report.write_fragment(tmp_path, entry, None)
    calls = []
    render = heatmap.render_heatmap

    def spy(matrix, title=None, **options):
        calls.append((title, options))
        return render(matrix, title, **options)

    monkeypatch.setattr(heatmap, "render_heatmap", spy)
    report.build_index(tmp_path, ["m-old", "m-new"])
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert json.dumps(to_json(from_json(Report, data))) == json.dumps(data)  # the typed Report, read back whole
    (comparison,) = data["comparisons"]
    assert (comparison["old"], comparison["new"], comparison["compared"]) == ("m-old", "m-new", 1)
    assert [(f["test"], f["name"], f["old"]["outcome"], f["new"]["outcome"]) for f in comparison["flipped"]] == [
        ("test_x", "groups(g)", "passed", "failed")]
    (section,) = comparison["tests"]
    assert [c["flipped"] for c in section["checks"]] == [True, False]
    assert section["checks"][1]["difference"] == pytest.approx(0.05)
    changes = {c["what"]: c["difference"] for c in section["statistics"]}
    assert changes["matrix by g: margin"] == pytest.approx(-0.45) and changes["matrix by g: auc"] == pytest.approx(0.05)
    assert comparison["largest_changes"][0]["difference"] == pytest.approx(-0.45)
    (matrix,) = section["matrices"]
    assert matrix["spearman"] == pytest.approx(-0.5)  # pair ranks (3, 1, 2) -> (2, 3, 1)
    assert matrix["top1_changed"] == [{"row": "a", "old": "b", "new": "c"}, {"row": "c", "old": "b", "new": "a"}]
    assert [(m["row"], m["col"], round(m["difference"], 6)) for m in matrix["largest_moves"]] == [
        ("a", "b", -0.4), ("a", "c", 0.4), ("b", "c", 0.0)]
    # a diverging scale centred on 0, as wide as the largest move
    difference = [options for title, options in calls if "minus" in title]
    assert difference == [{"vmin": -0.4, "vmax": 0.4, "cmap": "RdBu_r", "label": "difference (m-new - m-old)"}]
    png = tmp_path / matrix["heatmap"]
    assert matrix["heatmap"] == "heatmaps/m-old..m-new/tests_test_a.py~4fcecd91340d8c34__test_x__matrix.png"  # collision-free
    assert png.is_file()
    first = png.read_bytes()
    report.build_index(tmp_path, ["m-old", "m-new"])
    assert png.read_bytes() == first  # deterministic

    md = (tmp_path / "index.md").read_text(encoding="utf-8")
    summary = md[md.index("## What changed"):md.index("## test_x")]
    assert "**[m-old -> m-new](#changes-m-old---m-new)**: 1 test(s) compared; median Spearman rank agreement -0.500" in summary
    assert "test_x: groups(g): pass -> FAIL (mean margin 0.5000 -> 0.0500)" in summary
    assert "test_x: matrix by g: margin 0.5000 -> 0.0500 (-0.4500)" in summary
    assert "## Changes m-old -> m-new" in md and f"![matrix difference]({matrix['heatmap']})" in md
    assert "- groups(g) (mean margin): pass 0.5000 -> FAIL 0.0500 (-0.4500) - FLIPPED" in md
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert f"<img src='{matrix['heatmap']}' alt='matrix difference'>" in page
    assert page.index("What changed") < page.index(">test_x</h2>") < page.index("Changes m-old -&gt; m-new")

    # pairs are configurable: a configured pair is shown even before both models have results
    report.build_index(tmp_path, ["m-old", "m-new"], pairs=[("m-new", "m-old"), ("m-old", "m-later")])
    comparisons = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["comparisons"]
    assert [(c["old"], c["new"], c["compared"]) for c in comparisons] == [("m-new", "m-old", 1), ("m-old", "m-later", 0)]
    assert "No test has results from both models yet." in (tmp_path / "index.md").read_text(encoding="utf-8")


def test_statistics_show_interval_n_chance_and_constant_answer_and_na_for_models_that_cannot_run() -> None:
    from embedsim.report import entries

    check = replace(_check("top1(expression) >= 75%", "inconclusive", 0.75), kind="top-1 share", n=4, unit="rows",
                    ci_low=0.25, ci_high=1.0, confidence=0.95, n_items=4, chance=1 / 3, constant_answer=0.75, p_value=0.02)
    assert entries.check_line(check) == (
        "inconclusive: top1(expression) >= 75% (top-1 share 0.7500, threshold 0.1000, 4 rows) "
        "[95% CI 0.250..1.000, 4 items; chance 0.333; constant answer 0.750; permutation p 0.020]")
    skipped = _fragment("dlib-face", 0, 1, outcome="not applicable", reason="dlib-face embeds images only")
    assert entries.status(skipped) == "n/a" and entries.outcome(skipped) == ("n/a", "dlib-face embeds images only")


def test_compared_pairs_are_configurable_and_variants_are_models(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nembedsim_models = pixels pixels@64\n")
    pytester.makepyfile(test_exp=EXPERIMENTS)
    rep = pytester.path / "rep"

    def comparisons(*args: str) -> list[tuple[str, str, int]]:
        pytester.runpytest("--embedsim-report", "rep", *args).assert_outcomes(passed=2, failed=2, xfailed=2)
        return [(c["old"], c["new"], c["compared"])
                for c in json.loads((rep / "report.json").read_text(encoding="utf-8"))["comparisons"]]

    assert comparisons() == [("pixels", "pixels@64", 3)]  # default: each against the one before it
    assert comparisons("--embedsim-compare", "pixels@64:pixels") == [("pixels@64", "pixels", 3)]
    md = (rep / "index.md").read_text(encoding="utf-8")
    assert "| | pixels (baseline, no semantics) | pixels@64 (baseline, no semantics) |" in md
    assert len(list((rep / "heatmaps" / "pixels@64..pixels").glob("*.png"))) == 3
    result = pytester.runpytest("--embedsim-report", "rep", "--embedsim-compare", "pixels")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*compare must be OLD:NEW model pairs*got 'pixels'*"])


def test_provenance_is_shown_per_model_and_foreign_hosts_are_flagged(tmp_path: Path) -> None:
    from embedsim.report import origin

    official = "generativelanguage.googleapis.com"
    records = {"test_a/test_x.yaml": {"recorded_at": "2026-12-01T20:00:00+00:00", "embedsim": "0.1.0",
                                      "sdk": "google-genai-sdk/3.6.1", "api_version": "v1beta",
                                      "endpoint": f"https://{official}", "dimension": 3072, "task": None,
                                      "emulator": False, "interactions": 1},
               "test_a/test_y.yaml": {"endpoint": "http://127.1:8765", "emulator": False},
               "test_a/test_z.yaml": {"endpoint": f"https://{official}", "emulator": True}}
    rows = origin.model_provenance({"gemini-embedding-2": tmp_path}, {"gemini-embedding-2": (re.escape(official),)},
                                   lambda folder: records if folder == tmp_path else {})["gemini-embedding-2"]
    assert [(r.cells["cassette"], r.official, r.flag) for r in rows] == [
        ("test_a/test_x.yaml", True, ""),
        ("test_a/test_y.yaml", False, f"answered by 127.1, not {official}"),
        ("test_a/test_z.yaml", False, "answered by the embedsim emulator")]
    assert rows[0].cells["api_version"] == "v1beta" and "task" not in rows[0].cells

    report.prepare(tmp_path / "rep")
    report.write_fragment(tmp_path / "rep", _fragment("gemini-embedding-2", 0, 1), None)
    report.build_index(tmp_path / "rep", ["gemini-embedding-2"], provenance={"gemini-embedding-2": rows})
    md = (tmp_path / "rep" / "index.md").read_text(encoding="utf-8")
    assert "## Provenance of the recordings" in md
    assert ("> **Warning: 2 recording(s) of gemini-embedding-2 were answered by a host other than the vendor's "
            "official one.**") in md
    assert f"| test_a/test_x.yaml | 2026-12-01T20:00:00+00:00 | 0.1.0 | google-genai-sdk/3.6.1 | v1beta | https://{official} |" in md
    page = (tmp_path / "rep" / "index.html").read_text(encoding="utf-8")
    assert "2 recording(s) of gemini-embedding-2 were answered by a host other than the vendor's official one" in page
    data = json.loads((tmp_path / "rep" / "report.json").read_text(encoding="utf-8"))
    assert data["provenance"]["gemini-embedding-2"] == to_json(rows)


def test_the_report_deletes_only_files_inside_its_folder_that_it_wrote(tmp_path: Path) -> None:
    """Regression: paths added to the marker's ``files`` (``../notes.txt``, an
    absolute path, a path through a symlink, the pages themselves) were deleted by the next build."""
    rep = tmp_path / "rep"
    report.prepare(rep)
    report.write_fragment(rep, _fragment("pixels", 0, 1), None)
    report.build_index(rep, ["pixels"])
    outside = {tmp_path / "notes.txt": "../notes.txt", tmp_path / "outside.txt": str(tmp_path / "outside.txt"),
               tmp_path / "elsewhere" / "x.png": "heatmaps/link/x.png",
               tmp_path / "deep.png": "heatmaps/pixels/../../../deep.png"}
    for path in outside:
        path.parent.mkdir(exist_ok=True)
        path.write_text("mine")
    if os.name != "nt":
        (rep / "heatmaps" / "link").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    marker = json.loads((rep / report.MARKER).read_text(encoding="utf-8"))
    marker["files"] += [*outside.values(), "index.md", "fragments"]
    (rep / report.MARKER).write_text(json.dumps(marker), encoding="utf-8")
    stale = report.write_fragment(rep, _fragment("pixels", 0, 1, test="test_y"), None)
    report.build_index(rep, ["pixels"])
    assert {path: path.read_text() for path in outside} == dict.fromkeys(outside, "mine")
    assert (rep / "index.md").is_file() and (rep / "fragments").is_dir()
    # what it wrote itself still goes when it is stale
    stale.unlink()
    report.build_index(rep, ["pixels"])
    assert [p.name for p in (rep / "heatmaps" / "pixels").iterdir()] == [
        "tests_test_a.py~4fcecd91340d8c34__test_x__matrix.png"]


def test_an_interrupted_or_running_build_leaves_only_files_its_marker_lists(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: a Ctrl-C during the build left heatmaps the marker did not list,
    and every later run (or one started during the build) refused the folder."""
    from embedsim.report import folder, images

    rep = tmp_path / "rep"
    report.prepare(rep)
    for test in ("test_x", "test_y"):
        report.write_fragment(rep, _fragment("pixels", 0, 1, test=test), None)
    seen = []
    write = images.atomic_write

    def interrupted(path: Path, data: bytes) -> Path:
        write(path, data)
        seen.append(folder.foreign_files(rep))  # what a second run starting now checks
        raise KeyboardInterrupt

    monkeypatch.setattr(images, "atomic_write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        report.build_index(rep, ["pixels"])
    assert seen == [[]]
    monkeypatch.undo()
    report.prepare(rep)  # the next run
    report.build_index(rep, ["pixels"])
    assert len(list((rep / "heatmaps" / "pixels").glob("*.png"))) == 2
    assert folder.foreign_files(rep) == []


INJECTION = '''
import pytest
from embedsim.inputs.items import text_item

IMG = "<img src=x onerror=alert(1)>"
LINK = "[x](javascript:alert(4))"

@pytest.mark.parametrize("tag", ["</details><script>alert(2)</script>"])
def test_evil(experiment, tag):
    """[click](javascript:alert(3)) ![t](https://evil.example/t.png) <b>bold</b>"""
    words = [text_item("a", id=IMG), text_item("b", id=LINK), text_item("c", id="- *x* `y` _z_")]
    m = experiment.similarity(words, name="![m](https://evil.example/m.png)")
    experiment.expect_order(m, IMG, [LINK, "- *x* `y` _z_"], margin=2, name="<script>alert(5)</script>" + tag)
'''


def test_index_md_shows_what_tests_name_as_text_never_as_markup(pytester: pytest.Pytester) -> None:
    """Regression: labels, test ids, docstrings, matrix and expectation names and
    model ids went into index.md raw (GitHub renders raw HTML, links and images in Markdown)."""
    from embedsim.report.markdown import _md

    evil_model = "gemini-embedding-<img_src=y_onerror=alert(6)>"
    pytester.makeini(f"[pytest]\nembedsim_models = pixels {evil_model}\n")
    pytester.makepyfile(test_evil=INJECTION)
    pytester.runpytest("--embedsim-report", "rep").assert_outcomes(skipped=1, failed=1)
    md = (pytester.path / "rep" / "index.md").read_text(encoding="utf-8")
    assert "alert(6)" in md and "alert(5)" in md and "alert(4)" in md and "alert(3)" in md  # all shown ...
    prose = re.sub(r"^(`{3,})\n.*?\n\1$", "", md, flags=re.S | re.M)  # code blocks (the record command) are literal
    for markup in ("<img", "<script", "</details><script", "<b>", r"(?<!\\)\]\((?!heatmaps/)", r"(?<!\\)\*x", r"(?<!\\)_z"):
        assert not re.search(markup, prose), markup  # ... none as markup (a link is "](" unescaped; the heatmaps')
    assert md.count("<details>") == md.count("</details>") == 1  # the one matrix table of pixels
    assert "\\*x\\* \\`y\\` \\_z\\_" in md
    # the escaping is literal: backslashes and entities undone give the text back
    for text in ("a_b", "_a_", "1. x", "> q", "x | y", "&lt;", "\\`", "$x$", "~~s~~", "#1"):
        escaped = _md(text, line_start=True)
        assert re.sub(r"\\(.)", r"\1", escaped.replace("&lt;", "<").replace("&amp;", "&")) == text, escaped


@pytest.mark.slow
def test_a_full_run_drops_sections_of_tests_that_no_longer_exist(pytester: pytest.Pytester) -> None:
    """Regression: a renamed test kept its section, was counted in the summary and
    made every full run say "Partial run"."""
    pytester.makepyfile(test_exp=EXPERIMENTS)
    rep = pytester.path / "rep"
    pytester.runpytest("--embedsim-report", "rep")
    pytester.makepyfile(test_exp=EXPERIMENTS.replace("def test_spelling", "def test_spelled"))
    for _ in range(2):
        pytester.runpytest("--embedsim-report", "rep").assert_outcomes(passed=1, failed=1, xfailed=1)
        md = (rep / "index.md").read_text(encoding="utf-8")
        assert "## test_spelled\n" in md and "test_spelling" not in md and "Partial run" not in md
        assert "| pixels (baseline, no semantics) | 1 | 1 | 0 | 1 | 0 |" in md
        assert len(list((rep / "fragments").glob("*.json"))) == 3
    # a partial run says what it did not run, and the one command that refreshes it
    pytester.runpytest("--embedsim-report", "rep", "-k", "spelled")
    md = (rep / "index.md").read_text(encoding="utf-8")
    assert md.startswith("# embedsim report\n\n> **Partial run: 2 of the 3 results shown were not run this time")
    assert "> python -m pytest test_exp.py --embedsim-model pixels --embedsim-report rep\n" in md
    # with -n 2 too (the workers collect), and a run naming one test drops nothing of its file
    pytester.makepyfile(test_exp=EXPERIMENTS.replace("def test_broken", "def test_mended"))
    pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", "--embedsim-report", "rep")
    md = (rep / "index.md").read_text(encoding="utf-8")
    assert "test_broken" not in md and "## test_mended\n" in md and "Partial run" not in md
    pytester.runpytest("--embedsim-report", "rep", "test_exp.py::test_meaning")
    assert len(list((rep / "fragments").glob("*.json"))) == 3


def test_a_run_of_one_new_model_says_which_command_completes_the_report(pytester: pytest.Pytester) -> None:
    """Regression: the README's new-version recipe (``--embedsim-model NEW ...
    --embedsim-report report``) gave a report of NEW alone, with no comparison and no notice."""
    import shlex

    pytester.makeini("[pytest]\nembedsim_models = pixels pixels@64\n")
    pytester.makepyfile(test_exp=EXPERIMENTS)
    rep = pytester.path / "rep"
    pytester.runpytest("--embedsim-model", "pixels@64", "--embedsim-report", "rep")
    md = (rep / "index.md").read_text(encoding="utf-8")
    command = "python -m pytest test_exp.py --embedsim-model pixels,pixels@64 --embedsim-report rep"
    assert md.startswith("# embedsim report\n\n> **Not in this report yet: pixels (3 test(s)) - this run did not "
                         "run them (--embedsim-model, -k). Every model side by side, replayed from its recordings: "
                         f"run, from the project root,**\n\n> ```\n> {command}\n> ```\n")
    data = json.loads((rep / "report.json").read_text(encoding="utf-8"))
    assert data["partial"] is True and data["complete_with"] == command and len(data["missing"]) == 3
    assert command in (rep / "index.html").read_text(encoding="utf-8")
    pytester.runpytest(*shlex.split(command)[3:]).assert_outcomes(passed=2, failed=2, xfailed=2)
    data = json.loads((rep / "report.json").read_text(encoding="utf-8"))
    assert (data["partial"], data["missing"], data["complete_with"]) == (False, [], "")
    assert [(c["old"], c["new"], c["compared"]) for c in data["comparisons"]] == [("pixels", "pixels@64", 3)]
    md = (rep / "index.md").read_text(encoding="utf-8")
    assert "Not in this report" not in md and "## What changed" in md


def test_a_fragment_that_is_not_one_is_deleted_and_named_not_a_crash(tmp_path: Path) -> None:
    """Regression: a fragment missing keys crashed the build with KeyError: 'module'."""
    report.prepare(tmp_path)
    report.write_fragment(tmp_path, _fragment("pixels", 0, 1), None)
    bad = tmp_path / "fragments" / "bad.json"
    bad.write_text(f'{{"test": "test_x", "model": "pixels", "schema_version": {report.SCHEMA_VERSION}}}',
                   encoding="utf-8")
    worse = tmp_path / "fragments" / "worse.json"
    worse.write_text(json.dumps({**to_json(_fragment("pixels", 0, 1, test="test_y")), "checks": [{"name": "x"}]}),
                     encoding="utf-8")
    report.build_index(tmp_path, ["pixels"])
    md = (tmp_path / "index.md").read_text(encoding="utf-8")
    assert "2 result file(s) of the report folder could not be read and were deleted (rerun their tests): " in md
    assert json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["dropped_fragments"] == [
        "fragments/bad.json: the fragment has no 'module'", "fragments/worse.json: checks[0] has no 'matrix'"]
    assert "## test_x\n" in md and not bad.exists() and not worse.exists()


#: Text a test may name, with the characters that are markup in HTML or Markdown.
EVIL = "<script>alert('x')</script> a|b *c* `d` _e_"


def _evil(tmp_path: Path) -> Path:
    """A report of one result whose labels, matrix and expectation names and message are :data:`EVIL`."""
    check = replace(_check(f"order {EVIL}", "failed", 0.2), message=f"' onmouseover='alert(1) {EVIL}")
    fragment = replace(_fragment("pixels", 0.1, 0.9), doc=EVIL, checks=[check], matrices=[
        MatrixRecord(f"m {EVIL}", [EVIL, "b"], [f"col {EVIL}", "y"], np.array([[0.1, 0.9], [0.9, 0.1]]), False)])
    report.prepare(tmp_path)
    report.write_fragment(tmp_path, fragment, None)
    report.build_index(tmp_path, ["pixels"])
    return tmp_path


def test_what_tests_name_is_text_in_the_page_never_markup(tmp_path: Path) -> None:
    page = (_evil(tmp_path) / "index.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "onmouseover='" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; a|b *c* `d` _e_" in page  # every place shows it as text
    # the docstring, the expectation and its title, the heatmap's alt text, the matrix's name, a row and a column label
    assert page.count("&lt;script&gt;") == 7
    assert "title='&#39; onmouseover=&#39;alert(1)" in page  # an attribute's quotes cannot be closed


def test_what_tests_name_keeps_the_markdown_tables_whole(tmp_path: Path) -> None:
    md = (_evil(tmp_path) / "index.md").read_text(encoding="utf-8")
    assert "<script" not in md and "a\\|b \\*c\\* \\`d\\` \\_e\\_" in md
    tables = [line for line in md.splitlines() if line.startswith("|")]
    unescaped_pipes = [len(re.findall(r"(?<!\\)\|", line)) for line in tables]
    # the summary (model + 9 outcomes), the section (label + 1 model) and the matrix (label + 2 columns)
    assert sorted(set(unescaped_pipes)) == [3, 4, 11], tables


def test_report_json_and_each_fragment_carry_the_schema_version(tmp_path: Path) -> None:
    rep = _evil(tmp_path)
    data = json.loads((rep / "report.json").read_text(encoding="utf-8"))
    (fragment,) = (rep / "fragments").glob("*.json")
    assert data["schema_version"] == report.SCHEMA_VERSION == 1
    assert json.loads(fragment.read_text(encoding="utf-8"))["schema_version"] == report.SCHEMA_VERSION
    assert [e["schema_version"] for e in data["entries"]] == [report.SCHEMA_VERSION]
    # report.json is the typed Report: read back, it is written again unchanged
    assert to_json(from_json(Report, data)) == data


def test_a_fragment_of_another_schema_version_names_itself_and_the_command_that_rebuilds_it(tmp_path: Path) -> None:
    report.prepare(tmp_path)
    report.write_fragment(tmp_path, _fragment("pixels", 0, 1), None)
    older = tmp_path / "fragments" / "older.json"
    data = to_json(_fragment("pixels", 0, 1, test="test_y"))
    del data["schema_version"]  # an embedsim before the schema was versioned
    older.write_text(json.dumps(data), encoding="utf-8")
    newer = tmp_path / "fragments" / "newer.json"
    newer.write_text(json.dumps({**data, "test": "test_z", "nodeid": "", "schema_version": 2}), encoding="utf-8")
    with pytest.raises(report.FragmentError) as caught:
        report.read_fragment(older)
    assert str(caught.value) == (
        "fragments/older.json: written by another embedsim (report schema version 0; this one reads version 1) - "
        "re-run tests/test_a.py::test_y[pixels] with --embedsim-report to rebuild it")
    report.build_index(tmp_path, ["pixels"])
    dropped = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["dropped_fragments"]
    assert [line.split(":")[0] for line in dropped] == ["fragments/newer.json", "fragments/older.json"]
    assert "schema version 2; this one reads version 1) - re-run its test with --embedsim-report" in dropped[0]
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "fragments/older.json: written by another embedsim" in page and ">test_x</h2>" in page
    assert ">test_y</h2>" not in page and not older.exists()


def test_the_page_templates_are_package_data() -> None:
    """An installed wheel renders index.html: every file of embedsim/report/templates is in the
    package data that pyproject.toml declares."""
    import fnmatch
    import tomllib
    from importlib.resources import files

    root = Path(__file__).resolve().parent.parent
    declared = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"]["embedsim"]
    templates = [f"report/templates/{t.name}" for t in (files("embedsim.report") / "templates").iterdir()]
    assert "report/templates/index.html.j2" in templates
    assert [t for t in templates if not any(fnmatch.fnmatch(t, pattern) for pattern in declared)] == []


def test_the_codec_reads_records_whose_module_left_sys_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: after an in-process pytest run reset ``sys.modules``, reading a fragment raised
    NameError: name 'np' is not defined (annotations were evaluated in no module)."""
    import sys

    (tmp_path / "gone_records.py").write_text(
        "from __future__ import annotations\nfrom dataclasses import dataclass\nimport numpy as np\n\n"
        "@dataclass\nclass Record:\n    row_labels: list[str]\n    col_labels: list[str]\n    values: np.ndarray\n",
        encoding="utf-8")
    monkeypatch.syspath_prepend(tmp_path)
    import gone_records  # type: ignore[import-not-found]

    monkeypatch.delitem(sys.modules, "gone_records")
    record = from_json(gone_records.Record, {"row_labels": ["a"], "col_labels": ["b", "c"], "values": [[0.5, 1]]})
    assert record.values.tolist() == [[0.5, 1.0]]


def test_a_value_of_the_wrong_type_is_named_by_its_place_in_the_record() -> None:
    data = to_json(replace(_fragment("pixels", 0, 1), checks=[_check("c", "passed", 0.5)]))
    data["checks"][0]["statistic"] = "high"
    with pytest.raises(SchemaError, match=r"^checks\[0\]\.statistic is not a number$"):
        from_json(Fragment, data, "the fragment")
    data = to_json(_fragment("pixels", 0, 1))
    data["matrices"][0]["values"] = [[0.1, 0.2, 0.3]]
    with pytest.raises(SchemaError, match=r"^matrices\[0\]\.values is not a 2 x 2 matrix of numbers$"):
        from_json(Fragment, data, "the fragment")


@hypothesis.given(values=st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0]), max_size=60),
                  most=st.integers(min_value=1, max_value=25))
def test_the_largest_moves_are_those_a_stable_sort_of_all_gives(values: list[float], most: int) -> None:
    from embedsim.report.compare import largest

    array = np.asarray(values)
    assert largest(array, most).tolist() == np.argsort(-array, kind="stable")[:most].tolist()
