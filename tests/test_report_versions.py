"""The "what changed" flow end to end: a throwaway project records two model versions
against the emulator, then ONE ``pytest --embedsim-report report`` run without a key
replays every configured model and writes a report whose summary names the flipped
expectations and the statistic changes, and whose sections show difference heatmaps.

The emulator's vectors come from the pixel baseline and depend only on the output
dimension, so the two "versions" are two variants of different ids at different
dimensions (``id@dimension``); the threshold of one expectation is put between the two
versions' margins (computed from the emulator first), so its outcome flips.
"""

from __future__ import annotations

import json

import pytest
from helpers import SWATCH

from embedsim.backends import get_embedder
from embedsim.expect.groups import group_stats
from embedsim.matrix import similarity
from embedsim.testing.gemini import GeminiEmulator

OLD, NEW = "gemini-embedding-2-preview@256", "gemini-embedding-2@128"
FAKE_KEY = "AIza" + "0" * 35

pytestmark = pytest.mark.usefixtures("outside_xdist", "clean_env")

SPEC = SWATCH + """
SWATCHES = [swatch("red", (230, 20, 20), "warm"), swatch("orange", (240, 140, 20), "warm"),
            swatch("yellow", (240, 220, 40), "warm"), swatch("blue", (20, 40, 230), "cold"),
            swatch("teal", (20, 160, 170), "cold"), swatch("violet", (120, 40, 200), "cold")]

def test_tones(experiment):
    m = experiment.similarity(SWATCHES)
    experiment.expect_groups(m, by="tone", margin=THRESHOLD, name="tones apart")
    experiment.expect_auc(m, by="tone", at_least=0.0)
"""


def _margins(base_url: str) -> dict[str, float]:
    """The warm/cold margin each version gives, straight from the emulator."""
    namespace: dict = {}
    exec(SPEC.replace("THRESHOLD", "0"), namespace)
    swatches = namespace["SWATCHES"]
    out = {}
    for model in (OLD, NEW):
        embedder = get_embedder(model, api_key=FAKE_KEY, base_url=base_url)
        tones = [s.labels["tone"] for s in swatches]
        out[model] = group_stats(similarity(embedder, swatches), tones).margin
    return out


@pytest.mark.slow
def test_two_recorded_versions_are_compared_in_one_replay_run(pytester: pytest.Pytester,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with GeminiEmulator() as emulator:
        margins = _margins(emulator.base_url)
        assert abs(margins[OLD] - margins[NEW]) > 1e-3, margins
        threshold = (margins[OLD] + margins[NEW]) / 2
        pytester.makefile(".toml", pyproject=f"""
[tool.embedsim]
models = ["pixels", "{OLD}", "{NEW}"]

[tool.pytest.ini_options]
embedsim_report = "report"
""")
        pytester.makepyfile(test_spec=SPEC.replace("THRESHOLD", repr(threshold)))
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
        monkeypatch.setenv("GEMINI_API_KEY", FAKE_KEY)
        recorded = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--record-mode=once",
                                                 "--embedsim-model", f"{OLD},{NEW}")
        assert len(emulator.embed_calls) == 4  # two to calibrate, one recording per version
    recorded.assert_outcomes(passed=1, failed=1, skipped=1)  # one version holds the threshold, one does not
    assert sorted(p.name for p in (pytester.path / "cassettes").iterdir()) == sorted([OLD, NEW])
    monkeypatch.delenv("GOOGLE_GEMINI_BASE_URL")
    monkeypatch.delenv("GEMINI_API_KEY")

    # one run, no key, network blocked: every configured model replays, side by side
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--block-network", "--embedsim-report", "report")
    result.assert_outcomes(passed=2, failed=1)
    folder = pytester.path / "report"
    data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert data["models"] == ["pixels", OLD, NEW] and data["partial"] is False
    assert [(c["old"], c["new"]) for c in data["comparisons"]] == [("pixels", OLD), (OLD, NEW)]
    versions = data["comparisons"][1]
    (flip,) = versions["flipped"]
    holds = margins[OLD] > threshold
    assert (flip["name"], flip["old"]["outcome"], flip["new"]["outcome"]) == (
        "tones apart", "passed" if holds else "failed", "failed" if holds else "passed")
    assert flip["difference"] == pytest.approx(margins[NEW] - margins[OLD], abs=1e-5)
    (matrix,) = versions["tests"][0]["matrices"]
    assert (folder / matrix["heatmap"]).is_file() and matrix["spearman"] is not None

    md = (folder / "index.md").read_text(encoding="utf-8")
    summary = md[md.index("## What changed"):md.index("## test_tones")]
    before, after = ("pass", "FAIL") if holds else ("FAIL", "pass")
    assert f"**[{OLD} -> {NEW}]" in summary
    assert f"test_tones: tones apart: {before} -> {after} (mean margin {margins[OLD]:.4f} -> {margins[NEW]:.4f})" in summary
    assert f"test_tones: matrix by tone: margin {margins[OLD]:.4f} -> {margins[NEW]:.4f}" in summary
    assert f"## Changes {OLD} -> {NEW}" in md and f"![matrix difference]({matrix['heatmap']})" in md
    # provenance per model: these answers came from the emulator, and the report says so
    assert sorted(data["provenance"]) == [OLD, NEW]
    for model in (OLD, NEW):
        (row,) = data["provenance"][model]
        assert (row["cells"]["cassette"], row["official"], row["flag"]) == (
            "test_spec/test_tones.yaml", False, "answered by the embedsim emulator")
        assert row["cells"]["endpoint"].startswith("http://127.0.0.1:") and row["cells"]["api_version"] in ("v1", "v1beta")
        assert (f"> **Warning: 1 recording(s) of {model} were answered by a host other than the vendor's official "
                "one.**") in md
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert f"<img src='{matrix['heatmap']}' alt='matrix difference'>" in page
    assert matrix["heatmap"].startswith(f"heatmaps/{OLD}..{NEW}/")
