"""embedsim used from another repository: a throwaway project that depends only on embedsim
writes an experiment, records it against the emulator, and replays it offline (with xdist).
"""

from __future__ import annotations

import json

import pytest
from helpers import SWATCH

from embedsim.testing.gemini import GeminiEmulator

MODEL = "gemini-embedding-2-preview"


pytestmark = pytest.mark.usefixtures("outside_xdist")

PYPROJECT = f"""
[project]
name = "colour-spec"
version = "0.0.0"
dependencies = ["embedsim"]

[tool.embedsim]
models = ["pixels", "{MODEL}"]
dimension = 256

[tool.pytest.ini_options]
embedsim_report = "report"
"""

SPEC = SWATCH + """
import pytest
from embedsim.inputs.items import text_item

SWATCHES = [swatch("red", (230, 20, 20), "warm"), swatch("orange", (240, 140, 20), "warm"),
            swatch("blue", (20, 40, 230), "cold"), swatch("teal", (20, 160, 170), "cold")]

def test_tones(experiment):
    m = experiment.similarity(SWATCHES)
    experiment.stats(m, "tone")
    experiment.expect_groups(m, by="tone", margin=0.0)
    experiment.snapshot(m)

@pytest.mark.embedsim_xfail("pixels", reason="pixels cannot read words")
def test_words(experiment):
    m = experiment.similarity(SWATCHES, [text_item("warm colour", labels={"tone": "warm"}),
                                         text_item("cold colour", labels={"tone": "cold"})])
    # the emulator's vectors carry no meaning either: expect little, so it holds there
    experiment.expect_top1(m, by="tone", at_least=0.5 if experiment.model_id == "pixels" else 0.0)
"""


@pytest.mark.slow
@pytest.mark.usefixtures("clean_env")
def test_another_repo_records_against_the_emulator_and_replays_offline(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makefile(".toml", pyproject=PYPROJECT)
    pytester.mkdir("tests")
    (pytester.path / "tests" / "test_spec.py").write_text(SPEC, encoding="utf-8")
    command = ("-p", "no:cacheprovider", "-rs")

    # 1. a fresh clone without a key: the baseline runs, Gemini says how to record it
    result = pytester.runpytest_subprocess(*command, "--snapshot-update")
    result.assert_outcomes(passed=1, xfailed=1, skipped=2)
    result.stdout.fnmatch_lines([
        f"embedsim: {MODEL}: 2 tests not recorded yet; record them all with: GEMINI_API_KEY=... "
        f"python -m pytest tests --embedsim-model {MODEL} --record-mode=once --snapshot-update",
        f"SKIPPED [[]2[]] tests/test_spec.py: not recorded yet: {MODEL} (see the summary for the record command)"])

    # 2. someone with a key records (here: the emulator stands in for the service)
    with GeminiEmulator() as emulator:
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
        monkeypatch.setenv("GEMINI_API_KEY", "AIza" + "0" * 35)
        result = pytester.runpytest_subprocess(*command, "--record-mode=once", "--snapshot-update",
                                               "--embedsim-model", MODEL)
        result.assert_outcomes(passed=2, skipped=2)
        assert "snapshots deleted" not in result.stdout.str()  # the pixels snapshots stay
        assert len(emulator.embed_calls) == 2
    monkeypatch.delenv("GOOGLE_GEMINI_BASE_URL")
    monkeypatch.delenv("GEMINI_API_KEY")
    cassettes = sorted(p.name for p in (pytester.path / "cassettes" / MODEL / "test_spec").iterdir())
    assert cassettes == ["test_tones.yaml", "test_words.yaml"]

    # 3. CI: no key, no service, network blocked, two workers - everything replays
    result = pytester.runpytest_subprocess(*command, "--block-network", "-n", "2")
    result.assert_outcomes(passed=3, xfailed=1)
    assert "4 snapshots passed" in result.stdout.str()
    entries = json.loads((pytester.path / "report" / "report.json").read_text(encoding="utf-8"))["entries"]
    assert sorted((e["test"], e["model"], e["outcome"]) for e in entries) == [
        ("test_tones", MODEL, "passed"), ("test_tones", "pixels", "passed"),
        ("test_words", MODEL, "passed"), ("test_words", "pixels", "xfailed")]
    md = (pytester.path / "report" / "index.md").read_text(encoding="utf-8")
    assert f"| | pixels (baseline, no semantics) | {MODEL} |" in md
    assert len(list((pytester.path / "report" / "heatmaps" / MODEL).glob("*.png"))) == 2
