"""The --embedsim-report folder: heatmaps per model and an index comparing models side by side."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from embedsim import heatmap, report

# pytester's inline runs drop modules first imported inside them; import the heavy ones here once
import embedsim.backends.gemini_embedder  # noqa: F401
import embedsim.heatmap  # noqa: F401
import hypothesis  # noqa: F401


pytestmark = pytest.mark.usefixtures("outside_xdist", "clean_env")

EXPERIMENTS = """
import pytest
from embedsim.items import text_item

WORDS = [text_item(w, labels={"g": g}) for w, g in
         [("apple", "fruit"), ("apples", "fruit"), ("car", "vehicle"), ("cars", "vehicle")]]

def test_spelling(experiment):
    '''Spellings of one word
    are closer than different words.

    Not in the report: the rest of the docstring.
    '''
    m = experiment.similarity(WORDS)
    experiment.expect_groups(m, "g", margin=0.1)
    experiment.expect_auc(m, "g", at_least=0.9)

@pytest.mark.embedsim_xfail("pixels", reason="no semantics")
def test_meaning(experiment):
    m = experiment.similarity(WORDS[:2], WORDS[2:], name="fruit_vs_vehicle")
    experiment.expect_order(m, "apple", ["cars", "car"], margin=0.5)

def test_broken(experiment):
    m = experiment.similarity(WORDS)
    experiment.expect_groups(m, "g", margin=0.9)
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
        from embedsim.files import _UMASK

        assert {stat.S_IMODE(p.stat().st_mode) for p in report.rglob("*") if p.is_file()} == {0o666 & ~_UMASK}

    md = (report / "index.md").read_text(encoding="utf-8")
    assert "| | pixels (baseline, no semantics) | gemini-embedding-2-preview |" in md
    # pass FAIL xfail XPASS skipped n/a not-recorded error
    assert "| pixels (baseline, no semantics) | 1 | 1 | 1 | 0 | 0 | 0 | 0 | 0 |" in md
    assert "| gemini-embedding-2-preview | 0 | 0 | 0 | 0 | 0 | 0 | 3 | 0 |" in md
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
    entries = json.loads((report / "report.json").read_text(encoding="utf-8"))
    assert {(e["test"], e["model"], e["outcome"]) for e in entries} >= {
        ("test_spelling", "pixels", "passed"), ("test_meaning", "pixels", "xfailed"),
        ("test_broken", "pixels", "failed"), ("test_spelling", "gemini-embedding-2-preview", "skipped")}


def test_a_new_run_replaces_the_previous_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_exp=EXPERIMENTS)
    pytester.runpytest("--embedsim-report", "rep")
    pytester.runpytest("--embedsim-report", "rep", "-k", "spelling")
    assert [p.name for p in (pytester.path / "rep" / "fragments").iterdir()] == ["test_exp.py__test_spelling__pixels.json"]


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
    assert "| pixels (baseline, no semantics) | 6 | 0 | 3 |" in md
    for test in ("test_spelling", "test_meaning", "test_snap"):  # every worker's fragments made it
        assert md.count(f"## {test}\n") == 3
    assert len(list((rep / "heatmaps" / "pixels").glob("*.png"))) == 9


def _fragment(model: str, low: float, high: float, order: int = 0, module: str = "tests/test_a.py",
              test: str = "test_x", outcome: str = "passed", reason: str = "") -> dict:
    return {"nodeid": f"{module}::{test}[{model}]", "module": module, "test": test, "model": model, "order": order,
            "outcome": outcome, "reason": reason, "checks": [],
            "matrices": [{"name": "matrix", "row_labels": ["a", "b"], "col_labels": ["x", "y"], "all_pairs": False,
                          "values": [[low, high], [high, low]], "stats": {}}]}


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
    tests = [((e["module"], e["test"]), {e["model"]: e}) for e in entries]
    assert report.record_commands(tests, "my report") == {"gemini-embedding-9": (3, (
        "GEMINI_API_KEY=... python -m pytest tests/spec tests/test_c.py --embedsim-model gemini-embedding-9 "
        "--record-mode=once --snapshot-update --embedsim-report 'my report'"))}
