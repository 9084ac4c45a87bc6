"""The pytest plugin: options, ini keys, markers, model parametrization, xfail per model."""

from __future__ import annotations

import pytest

# pytester's inline runs drop modules first imported inside them; import the heavy ones here once
import embedsim.heatmap  # noqa: F401
import hypothesis  # noqa: F401


pytestmark = pytest.mark.usefixtures("outside_xdist", "clean_env")

WORDS = """
from embedsim.items import text_item
WORDS = [text_item(w, labels={"g": g}) for w, g in
         [("apple", "fruit"), ("apples", "fruit"), ("car", "vehicle"), ("cars", "vehicle")]]
"""


def test_help_documents_options_and_ini_keys(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines([
        "embedsim: experiments on embedding models:",
        "*--embedsim-model=MODEL*",
        "*--embedsim-dimension=DIMENSION*",
        "*--embedsim-cassette-dir=DIR*",
        "*--embedsim-tolerance=TOLERANCE*",
        "*--embedsim-image-tolerance=TOLERANCE*",
        "*--embedsim-report=REPORT*",
    ])
    text = result.stdout.str()
    for key in ("embedsim_models", "embedsim_dimension", "embedsim_cassette_dir", "embedsim_tolerance",
                "embedsim_image_tolerance", "embedsim_report"):
        assert key in text
    import re

    for option in ("--record-mode", "--block-network", "--snapshot-update"):  # reused, not redefined
        assert len(re.findall(rf"^  {option}[ =]", text, re.MULTILINE)) == 1


def test_markers_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.embedsim_xfail(*models*", "@pytest.mark.embedsim_models(*models)*"])


def test_default_model_is_pixels_and_shows_in_the_id(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_faces(embedder, embedsim_model):
            assert embedder.model_id == embedsim_model == "pixels"
            assert embedder.local and embedder.dimension == 768

        def test_no_model():
            pass
    """)
    result = pytester.runpytest("-v", "--strict-markers")
    result.stdout.fnmatch_lines(["*test_faces[[]pixels[]] PASSED*", "*test_no_model PASSED*"])


def test_ini_models_run_each_test_per_model_and_skip_unrecorded(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nembedsim_models = pixels gemini-embedding-2-preview\n")
    pytester.makepyfile(test_models=WORDS + """
def test_words(experiment):
    experiment.similarity(WORDS)
""")
    result = pytester.runpytest("-v", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines([
        "*test_words[[]pixels[]] PASSED*",
        "*test_words[[]gemini-embedding-2-preview[]] SKIPPED*",
        "SKIPPED * not recorded yet: no cassette cassettes/gemini-embedding-2-preview/test_models/test_words.yaml "
        "for gemini-embedding-2-preview; record it with: GEMINI_API_KEY=... pytest "
        "'test_models.py::test_words[[]gemini-embedding-2-preview[]]' --record-mode=once --snapshot-update",
    ])
    # --embedsim-model narrows the configured list; the others are skipped (syrupy keeps their snapshots)
    result = pytester.runpytest("--embedsim-model", "pixels", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED * gemini-embedding-2-preview not selected: this run uses --embedsim-model pixels"])


def test_cli_model_may_add_a_new_model_version(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(embedsim_model):\n    pass\n")
    result = pytester.runpytest("-v", "--embedsim-model", "gemini-embedding-2,pixels")
    result.stdout.fnmatch_lines(["*test_x[[]pixels[]] PASSED*", "*test_x[[]gemini-embedding-2[]] PASSED*"])


def test_pyproject_table_and_cli_precedence(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("""
        [tool.embedsim]
        models = ["pixels"]
        dimension = 256
    """)
    pytester.makepyfile("""
        import os
        def test_dim(embedder, embedsim_settings):
            assert embedder.dimension == int(os.environ["WANT"])
            assert embedsim_settings.models == ("pixels",)
    """)
    import os

    os.environ["WANT"] = "256"
    try:
        pytester.runpytest().assert_outcomes(passed=1)
        os.environ["WANT"] = "128"
        pytester.runpytest("--embedsim-dimension", "128").assert_outcomes(passed=1)
    finally:
        del os.environ["WANT"]


def test_bad_settings_are_usage_errors(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nembedsim_dimension = lots\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*embedsim: dimension must be a int, got 'lots'*"])


@pytest.mark.parametrize("args, message", [
    (("--embedsim-model", "pixel"), "*embedsim: unknown model id 'pixel': use 'pixels'*"),
    (("--embedsim-model", "gemini-embeding-2"), "*embedsim: unknown model id 'gemini-embeding-2'*"),
    (("--embedsim-dimension", "0"), "*embedsim: dimension must be at least 1, got '0'*"),
])
def test_a_mistyped_model_or_dimension_stops_the_run(pytester: pytest.Pytester, args: tuple[str, ...],
                                                     message: str) -> None:
    pytester.makepyfile("def test_words(embedder):\n    pass\n")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # not "1 skipped" and a green run
    result.stderr.fnmatch_lines([message])


def test_tests_that_would_share_a_cassette_fail(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nembedsim_models = gemini-embedding-2-preview\n")
    for folder in ("a", "b"):
        pytester.mkdir(folder).joinpath("test_api.py").write_text("def test_words(embedder):\n    pass\n")
    result = pytester.runpytest("--import-mode=importlib")
    result.assert_outcomes(skipped=1, errors=1)  # fails at setup, before any call or replay
    result.stdout.fnmatch_lines(["b/test_api.py::test_words[[]gemini-embedding-2-preview[]] would share the cassette "
                                 "cassettes/gemini-embedding-2-preview/test_api/test_words.yaml with a/test_api.py*"])


def test_collect_only_leaves_the_report_alone(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_words(embedder):\n    pass\n")
    pytester.runpytest("--embedsim-report", "r").assert_outcomes(passed=1)
    index = (pytester.path / "r" / "index.html").read_text()
    fragments = sorted((pytester.path / "r").rglob("*.json"))
    pytester.runpytest("--co", "--embedsim-report", "r")
    assert (pytester.path / "r" / "index.html").read_text() == index
    assert sorted((pytester.path / "r").rglob("*.json")) == fragments


def test_embedsim_models_marker_limits_a_test(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nembedsim_models = pixels gemini-embedding-2-preview\n")
    pytester.makepyfile("""
        import pytest

        @pytest.mark.embedsim_models("pixels")
        def test_only_pixels(embedsim_model):
            assert embedsim_model == "pixels"
    """)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1)


def test_embedsim_xfail_is_strict_per_model(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(WORDS + """
import pytest

@pytest.mark.embedsim_xfail("pixels", reason="no cross-modal semantics")
def test_expected_to_fail(experiment):
    m = experiment.similarity(WORDS)
    experiment.expect_groups(m, "g", margin=0.9)

@pytest.mark.embedsim_xfail("pixels", reason="thought it could not")
def test_unexpectedly_passes(experiment):
    m = experiment.similarity(WORDS)
    experiment.expect_groups(m, "g")

@pytest.mark.embedsim_xfail("pixels", reason="only expectations count")
def test_other_errors_still_fail(experiment):
    raise KeyError("bug")
""")
    result = pytester.runpytest("-rxXf")
    result.assert_outcomes(xfailed=1, failed=2)
    assert "[XPASS(strict)] pixels: thought it could not" in result.stdout.str()
    assert "KeyError: 'bug'" in result.stdout.str()
    result.stdout.fnmatch_lines([
        "XFAIL *test_expected_to_fail[[]pixels[]] - pixels: no cross-modal semantics",
        "FAILED *test_unexpectedly_passes[[]pixels[]]*",
        "FAILED *test_other_errors_still_fail[[]pixels[]]*",
    ])


def test_expectations_are_soft_and_listed_with_their_lines(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_soft=WORDS + """
def test_soft(experiment):
    m = experiment.similarity(WORDS)
    experiment.expect_groups(m, "g", margin=0.9)
    experiment.expect_order(m, "apple", ["car", "apples"])
    experiment.expect_top1(m, by="g")
    print("reached the end")
""")
    result = pytester.runpytest("-s")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*reached the end*",
        "E   embedsim.experiment.ExpectationsFailed: [[]groups(g, margin=0.9)[]] at test_soft.py:7: *"
        "(mean margin 0.5278, threshold 0.9000, 6 pairs)",
        "*offending pairs:",
        "*'apple' x 'car' = 0.2849  different groups, above the same-group mean less the margin",
        "*[[]order(apple: car > apples)[]] at test_soft.py:8: *",
        "*'apple' x 'apples' = 0.8528  not below 'car' = *",
    ])
    assert "top1" not in result.stdout.str()  # it held


def test_expectation_xfail_argument_per_model(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(WORDS + """
def test_declared(experiment):
    m = experiment.similarity(WORDS)
    experiment.expect_groups(m, "g")
    experiment.expect_groups(m, "g", margin=0.9, xfail={"pixels": "n-grams only"})

def test_declared_but_holds(experiment):
    m = experiment.similarity(WORDS)
    experiment.expect_groups(m, "g", xfail={"pixels": "wrong guess"})
""")
    result = pytester.runpytest("-rxXf")
    result.assert_outcomes(xfailed=1, failed=1)
    result.stdout.fnmatch_lines([
        "XFAIL *test_declared[[]pixels[]] - pixels: n-grams only [[]groups(g, margin=0.9)[]]",
        "FAILED *test_declared_but_holds[[]pixels[]]*",
    ])
    assert "[groups(g, margin=0)] at test_expectation_xfail_argument_per_model.py:12: XPASS(strict) - expected " \
           "to fail (wrong guess) but it holds" in result.stdout.str()


def test_cassette_name_keeps_other_parameters_and_classes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_names="""
        import pytest

        @pytest.mark.parametrize("lang", ["ja", "en"])
        def test_words(embedder, lang):
            pass

        class TestFaces:
            def test_identity(self, embedder):
                pass
    """)
    result = pytester.runpytest("-rs", "--embedsim-model", "gemini-embedding-2-preview")
    result.assert_outcomes(skipped=6)  # 3 not recorded, 3 of the configured pixels not selected
    out = result.stdout.str()
    for name in ("test_words[ja].yaml", "test_words[en].yaml", "TestFaces.test_identity.yaml"):
        assert f"cassettes/gemini-embedding-2-preview/test_names/{name}" in out


def test_cassette_dir_is_configurable(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nembedsim_cassette_dir = recorded/http\n")
    pytester.makepyfile(test_dir="def test_x(embedder):\n    pass\n")
    result = pytester.runpytest("-rs", "--embedsim-model", "gemini-embedding-2")
    result.stdout.fnmatch_lines(["*no cassette recorded/http/gemini-embedding-2/test_dir/test_x.yaml*"])
