"""The pytest plugin: options, ini keys, markers, model parametrization, xfail per model."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from helpers import record_then_change

pytestmark = pytest.mark.usefixtures("outside_xdist", "clean_env")

WORDS = """
from embedsim.inputs.items import text_item
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
        "*--embedsim-batch=SECONDS*",
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
        from embedsim.backends import is_local

        def test_faces(embedder, embedsim_model):
            assert embedder.model_id == embedsim_model == "pixels"
            assert is_local(embedsim_model) and embedder.dimension == 768

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
        "embedsim: gemini-embedding-2-preview: 1 test not recorded yet; record them all with: GEMINI_API_KEY=... "
        "python -m pytest test_models.py --embedsim-model gemini-embedding-2-preview --record-mode=once --snapshot-update",
        "SKIPPED [[]1[]] test_models.py: not recorded yet: gemini-embedding-2-preview (see the summary for the record command)",
    ])
    # --embedsim-model narrows the configured list; the others are skipped (syrupy keeps their snapshots)
    result = pytester.runpytest("--embedsim-model", "pixels", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED * gemini-embedding-2-preview not selected: this run uses --embedsim-model pixels"])


def _three_test_files(pytester: pytest.Pytester) -> None:
    """``spec/test_a.py`` and ``spec/test_b.py`` with 2 tests, ``test_c.py`` with 1, for 3 models."""
    pytester.makeini("[pytest]\nembedsim_models = pixels gemini-embedding-2-preview gemini-embedding-2\n")
    test = WORDS + "\ndef test_words(experiment):\n    experiment.similarity(WORDS)\n"
    pytester.mkdir("spec")
    for name in ("test_a", "test_b"):
        (pytester.path / "spec" / f"{name}.py").write_text(test + "\ndef test_more(experiment):\n"
                                                            "    experiment.similarity(WORDS)\n", encoding="utf-8")
    pytester.makepyfile(test_c=test)


def _one_line_per_model(result: pytest.RunResult) -> None:
    result.assert_outcomes(passed=5, skipped=10)
    lines = [f"embedsim: {model}: 5 tests not recorded yet; record them all with: GEMINI_API_KEY=... python -m pytest "
             f"spec test_c.py --embedsim-model {model} --record-mode=once --snapshot-update"
             for model in ("gemini-embedding-2-preview", "gemini-embedding-2")]
    text = result.stdout.str()
    assert [line for line in text.splitlines() if line.startswith("embedsim: gemini")] == lines  # in configured order
    assert "record it with" not in text and "SKIPPED" not in text  # no line per test without -rs


def test_a_run_without_recordings_prints_one_line_per_model_not_one_per_test(pytester: pytest.Pytester) -> None:
    """No key, no cassettes: each model with tests not recorded gets one summary line (how many
    tests, the one command that records them all) without ``-rs``; each skip says why in one
    short line, folded per file."""
    _three_test_files(pytester)
    _one_line_per_model(pytester.runpytest("-p", "no:cacheprovider"))
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs", "--embedsim-dimension", "256", "spec/test_a.py")
    result.assert_outcomes(passed=2, skipped=4)
    result.stdout.fnmatch_lines_random([
        "embedsim: gemini-embedding-2: 2 tests not recorded yet; record them all with: GEMINI_API_KEY=... python -m pytest "
        "spec/test_a.py --embedsim-model gemini-embedding-2 --embedsim-dimension 256 --record-mode=once --snapshot-update",
        "SKIPPED [[]2[]] spec/test_a.py: not recorded yet: gemini-embedding-2-preview (see the summary for the record command)",
        "SKIPPED [[]2[]] spec/test_a.py: not recorded yet: gemini-embedding-2 (see the summary for the record command)",
    ])
    assert all(len(line) < 120 for line in result.stdout.lines if line.startswith("SKIPPED"))
    result = pytester.runpytest("-p", "no:cacheprovider", "--embedsim-model", "pixels")
    result.assert_outcomes(passed=5, skipped=10)  # not selected: nothing to record
    assert "not recorded" not in result.stdout.str() and "= embedsim =" not in result.stdout.str()


@pytest.mark.slow
def test_the_workers_of_n_2_tell_the_summary_what_was_not_recorded(pytester: pytest.Pytester) -> None:
    _three_test_files(pytester)
    _one_line_per_model(pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2"))


def test_rewrite_without_a_key_says_so_once_per_model(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nembedsim_models = gemini-embedding-2\n")
    pytester.makepyfile(test_w=WORDS + "\ndef test_words(experiment):\n    experiment.similarity(WORDS)\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs", "--record-mode=rewrite")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines([
        "embedsim: gemini-embedding-2: 1 test skipped, no key to re-record; re-record them all with: GEMINI_API_KEY=... "
        "python -m pytest test_w.py --embedsim-model gemini-embedding-2 --record-mode=rewrite --snapshot-update",
        "SKIPPED [[]1[]] test_w.py: no GEMINI_API_KEY or GOOGLE_API_KEY to re-record gemini-embedding-2 "
        "(see the summary for the record command)"])


def test_a_missing_file_fails_with_the_tests_own_lines_and_the_message(pytester: pytest.Pytester) -> None:
    """An embedsim error (here a missing photo, in the test and in a fixture) shows the test's
    lines that led to it and the message, not the frames inside embedsim; ``--tb=long`` shows all."""
    pytester.makepyfile(test_photo_files="""
import pytest
from pathlib import Path
from embedsim.inputs.datasets import Dataset
from embedsim.inputs.items import load_item


@pytest.fixture
def photos():
    return Dataset.load(Path(__file__).parent / "no_such_folder")


def test_photo(experiment):
    experiment.similarity([load_item(Path(__file__).parent / "missing.jpg")])


def test_folder(experiment, photos):
    pass
""")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at setup of test_folder*",
        "test_photo_files.py:9: in photos",
        "    return Dataset.load(Path(__file__).parent / \"no_such_folder\")",
        "*",
        "E   embedsim.errors.InputError: */no_such_folder: no such folder; *",
        "*test_photo*",
        "test_photo_files.py:13: in test_photo",
        "    experiment.similarity([[]load_item(Path(__file__).parent / \"missing.jpg\")[]])",
        "*",
        "E   embedsim.errors.InputError: */missing.jpg: no such file; check the path",
    ])
    text = result.stdout.str()
    assert "embedsim/inputs" not in text and "def load" not in text and len(result.stdout.lines) < 40
    full = pytester.runpytest("-p", "no:cacheprovider", "--tb=long")
    assert "embedsim/inputs/items.py" in full.stdout.str() and "def read_regular_file" in full.stdout.str()


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
    experiment.expect_groups(m, by="g", margin=0.9)

@pytest.mark.embedsim_xfail("pixels", reason="thought it could not")
def test_unexpectedly_passes(experiment):
    m = experiment.similarity(WORDS)
    experiment.expect_groups(m, by="g")

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
    experiment.expect_groups(m, by="g", margin=0.9)
    experiment.expect_order(m, "apple", ["car", "apples"])
    experiment.expect_top1(m, by="g", at_least=1.0)
    print("reached the end")
""")
    result = pytester.runpytest("-s")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*reached the end*",
        "E   embedsim.plugin.experiments.ExpectationsFailed: [[]groups(g, margin=0.9)[]] at test_soft.py:7: *"
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
    experiment.expect_groups(m, by="g")
    experiment.expect_groups(m, by="g", margin=0.9, xfail={"pixels": "n-grams only"})

def test_declared_but_holds(experiment):
    m = experiment.similarity(WORDS)
    experiment.expect_groups(m, by="g", xfail={"pixels": "wrong guess"})
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
    result = pytester.runpytest("-rs", "-vv", "--embedsim-model", "gemini-embedding-2-preview")
    result.assert_outcomes(skipped=6)  # 3 not recorded, 3 of the configured pixels not selected
    out = result.stdout.str()
    for name in ("test_words[ja].yaml", "test_words[en].yaml", "TestFaces.test_identity.yaml"):
        assert f"cassettes/gemini-embedding-2-preview/test_names/{name}" in out


def test_cassette_dir_is_configurable(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nembedsim_cassette_dir = recorded/http\n")
    pytester.makepyfile(test_dir="def test_x(embedder):\n    pass\n")
    result = pytester.runpytest("-rs", "-vv", "--embedsim-model", "gemini-embedding-2")
    result.stdout.fnmatch_lines(["*no cassette recorded/http/gemini-embedding-2/test_dir/test_x.yaml*"])


# --- options and configuration ---------------------------------------------------------

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st


@pytest.mark.parametrize("where, text, message", [
    ("cli", ("--embedsim-tolerance", "nan"), "*embedsim: tolerance must be a finite number, got 'nan' "
                                             "(--embedsim-tolerance)*"),
    ("cli", ("--embedsim-image-tolerance", "inf"), "*embedsim: image_tolerance must be a finite number, got 'inf'*"),
    # longer overflowed the HTTP clients' clocks (OverflowError at the first call)
    ("cli", ("--embedsim-timeout", "1e10"), "*embedsim: timeout must be at most 86400 seconds (a day; 0: no limit), "
                                            "got '1e10' (--embedsim-timeout)*"),
    ("toml", "dimension = true", "*embedsim: dimension must be a int, got True ([[]tool.embedsim[]] dimension in *"
                                 "pyproject.toml)*"),
    ("toml", "dimension = 768.9", "*embedsim: dimension must be a int, got 768.9 ([[]tool.embedsim[]] dimension*"),
    ("toml", "models = 5", "*embedsim: models must be a model id or a list of model ids, got 5 "
                           "([[]tool.embedsim[]] models*"),
    ("toml", "report = true", "*embedsim: report must be a folder name, got True ([[]tool.embedsim[]] report*"),
    ("toml", "tolerance = nan", "*embedsim: tolerance must be a finite number, got nan ([[]tool.embedsim[]]*"),
    ("toml", "dimension = { a = 1 }", "*embedsim: dimension must be a int, got a table ([[]tool.embedsim[]]*"),
    ("ini", "embedsim_dimension = 768.9", "*embedsim: dimension must be a int, got '768.9' "
                                          "(ini key embedsim_dimension in tox.ini)*"),
])
def test_bad_values_are_usage_errors_naming_key_and_value(pytester: pytest.Pytester, where: str, text: Any,
                                                           message: str) -> None:
    pytester.makepyfile("def test_words(embedder):\n    pass\n")
    if where == "toml":
        pytester.path.joinpath("pyproject.toml").write_text(f"[tool.pytest.ini_options]\n\n[tool.embedsim]\n{text}\n")
        result = pytester.runpytest()
    elif where == "ini":
        pytester.makeini(f"[pytest]\n{text}\n")
        result = pytester.runpytest()
    else:
        result = pytester.runpytest(*text)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_an_unreadable_or_deeply_nested_pyproject_is_a_usage_error(tmp_path: Path) -> None:
    """(A pyproject.toml that pytest itself uses as configfile is parsed by pytest first.)"""
    from embedsim.plugin.settings import _pyproject_table

    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.embedsim]\nx = " + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(pytest.UsageError, match="embedsim: cannot read .*pyproject.toml: nested too deeply"):
        _pyproject_table(path)
    path.write_text("[tool.embedsim\n")
    with pytest.raises(pytest.UsageError, match="embedsim: cannot read .*pyproject.toml: "):
        _pyproject_table(path)
    path.write_text("[tool]\nembedsim = 3\n")
    with pytest.raises(pytest.UsageError, match="tool.embedsim in .* must be a table, got 3"):
        _pyproject_table(path)
    assert _pyproject_table(tmp_path / "missing.toml") is None


#: Values of every kind TOML or a command line can give.
ANY_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=6) | st.sampled_from(["768", "nan", "inf", "-1", "0", "1e-3", "pixels", "", " 3 "]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
    max_leaves=5)


@hypothesis_settings(max_examples=300, deadline=None)
@given(value=ANY_VALUE)
def test_every_option_value_is_valid_or_a_usage_error_naming_key_and_value(value: Any) -> None:
    import math

    from embedsim.plugin.settings import OPTIONS, Source

    source = Source("[tool.embedsim] key in /p/pyproject.toml", Path("/p"))
    for option in OPTIONS:
        try:
            checked = option.check(value, option.key, source)
        except pytest.UsageError as exc:
            text = str(exc)
            assert text.startswith(f"embedsim: {option.key} ") or "unknown model id" in text
            assert text.endswith(f"({source.name})")
            assert (repr(value) if not isinstance(value, dict) else "a table") in text or "unknown model id" in text
            continue
        if option.key == "dimension":
            assert type(checked) is int and checked >= 1 and not isinstance(value, (bool, float))
        elif option.key in ("tolerance", "image_tolerance", "timeout", "batch"):
            assert math.isfinite(checked) and checked >= 0 and not isinstance(value, bool)
            assert option.key not in ("timeout", "batch") or checked <= 86400
        elif option.key == "api_version":
            assert isinstance(value, str) and isinstance(checked, str) and checked.startswith("v")
        elif option.key == "models":
            assert checked and all(isinstance(m, str) for m in checked)
        elif option.key == "compare":
            assert checked and all(len(pair) == 2 and all(isinstance(m, str) for m in pair) for pair in checked)
        elif option.key == "confidence":
            assert checked is None or (0 < checked < 1 and not isinstance(value, bool))
        else:
            assert isinstance(value, str) and isinstance(checked, Path)


def test_tool_embedsim_is_read_from_the_configfile_pytest_uses(pytester: pytest.Pytester) -> None:
    project = pytester.mkdir("project")
    project.joinpath("pyproject.toml").write_text(
        "[tool.pytest.ini_options]\n\n[tool.embedsim]\nmodels = ['pixels']\ndimension = 256\n")
    project.joinpath("tests").mkdir()
    project.joinpath("tests", "test_dim.py").write_text(
        "def test_dim(embedder):\n    assert embedder.dimension == 256\n")
    result = pytester.runpytest(f"--rootdir={pytester.path}", "project/tests", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["embedsim: models pixels; dimension 256*"])


# --- matrix names ----------------------------------------------------------------


class _NoEmbedder:
    model_id, dimension, local = "pixels", 4, True


@hypothesis_settings(max_examples=200, deadline=None)
@given(names=st.lists(st.sampled_from([None, "matrix", "matrix_2", "matrix_3", "matrix_4", "x"]), max_size=8))
def test_default_matrix_names_never_collide_with_given_names(names: list[str | None]) -> None:
    import numpy as np

    from embedsim.errors import InputError
    from embedsim.matrix import SimilarityMatrix
    from embedsim.plugin.experiments import Experiment

    exp = Experiment(_NoEmbedder())  # type: ignore[arg-type]
    for name in names:
        matrix = SimilarityMatrix(np.eye(1), ("a",), ("a",))
        taken = [m.name for m in exp.matrices]
        if name is not None and name in taken:
            with pytest.raises(InputError, match=f"already has a matrix named '{name}'; pass another name="):
                exp.add_matrix(matrix, name=name)
        else:
            exp.add_matrix(matrix, name=name)  # an unnamed matrix never fails
            assert exp.matrices[-1].name == (name or exp.matrices[-1].name) not in taken


# --- outcomes are data; soft snapshots ----------------


def test_report_outcomes_come_from_data_not_from_failure_text(pytester: pytest.Pytester) -> None:
    import json

    pytester.makeini("[pytest]\nembedsim_report = r\n")
    pytester.makepyfile(test_o="""
        import pytest

        def test_says_xpass(embedder):
            assert False, "[XPASS(strict)] not recorded yet"

        @pytest.mark.embedsim_xfail("pixels", reason="thought it could not")
        def test_real_xpass(embedder):
            pass
    """)
    pytester.runpytest().assert_outcomes(failed=2)
    entries = {e["test"]: e for e in json.loads((pytester.path / "r" / "report.json").read_text())["entries"]}
    assert entries["test_says_xpass"]["outcome"] == "failed" and entries["test_says_xpass"]["cause"] == ""
    assert entries["test_real_xpass"]["outcome"] == "xpassed"


SNAPSHOT_AND_MARGIN = WORDS + """
from pathlib import Path

def test_both(experiment):
    step = Path("step.txt").read_text()
    m = experiment.similarity(WORDS if step == "record" else WORDS[::-1])
    experiment.snapshot(m)
    experiment.expect_groups(m, by="g", margin=0.1 if step == "record" else 0.9)
    if step == "bug":
        raise KeyError("bug")
"""


def test_a_failing_test_lists_broken_expectations_and_snapshot_mismatches(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_soft=SNAPSHOT_AND_MARGIN)
    step = pytester.path / "step.txt"
    result = record_then_change(pytester, step, "record", "changed")
    result.stdout.fnmatch_lines(["E   embedsim.plugin.experiments.SnapshotMismatch: [[]groups(g, margin=0.9)[]] at test_soft.py:*",
                                 "*matrix table of 'matrix' does not match its snapshot*",
                                 "*heatmap of 'matrix' does not match its snapshot*"])
    step.write_text("bug")  # another error: the experiment's failures are added to it
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["E * KeyError: 'bug'", "*besides, this test's experiment failed:*",
                                 "*[[]groups(g, margin=0.9)[]]*", "*matrix table of 'matrix' does not match*"])


RECORDING_FAILURES = WORDS + """
from pathlib import Path
import pytest
from embedsim.errors import RecordingError

def fails_for_a_recording_reason(phase):
    if Path(f"{phase}.txt").exists():
        raise RecordingError(f"the cassette does not hold this request ({phase})")

@pytest.fixture
def recorded():  # as the embedder fixture when the cassette of a recorded model is missing
    fails_for_a_recording_reason("setup")

def test_words(experiment, recorded):
    fails_for_a_recording_reason("call")  # as a cassette that no longer holds the request
    experiment.snapshot(experiment.similarity(WORDS))

def test_other(experiment):
    experiment.snapshot(experiment.similarity(WORDS[:3]))
"""


@pytest.mark.parametrize(("phase", "workers"), [("setup", []), ("call", []), pytest.param("call", ["-n", "2"], marks=pytest.mark.slow)],
                         ids=["setup", "call", "call-xdist"])
def test_snapshots_of_a_test_failing_for_a_recording_reason_are_never_unused(pytester: pytest.Pytester, phase: str,
                                                                              workers: list[str]) -> None:
    """Regression: syrupy listed them as unused and its hint, ``--snapshot-update``,
    deleted them; the snapshots of a test that is gone still are unused."""
    pytester.makepyfile(test_rec=RECORDING_FAILURES + "\ndef test_gone(experiment):\n"
                        "    experiment.snapshot(experiment.similarity(WORDS[:2]))\n")
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=3)
    folder = pytester.path / "__snapshots__" / "test_rec"
    stored = {p.name for p in folder.iterdir()}
    assert {name.split("[")[0] for name in stored} == {"test_words", "test_other", "test_gone"}
    pytester.makepyfile(test_rec=RECORDING_FAILURES)
    (pytester.path / f"{phase}.txt").write_text("")
    run = pytester.runpytest_subprocess if workers else pytester.runpytest  # xdist's workers: a process of its own
    result = run(*workers)
    result.assert_outcomes(passed=1, **{"failed" if phase == "call" else "errors": 1})
    result.stdout.fnmatch_lines(["*2 snapshots passed. 2 snapshots unused.*"])  # test_gone's two only
    result = run("--snapshot-update", *workers)  # what syrupy's hint says to run
    result.stdout.fnmatch_lines(["*2 snapshots passed. 2 unused snapshots deleted.*", "Deleted test_gone*"])
    assert {p.name for p in folder.iterdir()} == {name for name in stored if not name.startswith("test_gone")}


NEVER_RAN = WORDS + """
from pathlib import Path
import pytest

@pytest.fixture(scope="session")
def dataset():  # as Dataset.load of a folder that lost a file
    if Path("missing.txt").exists():
        raise FileNotFoundError("fixtures/faces/alice_1.jpg is missing")
    return WORDS

def test_words(experiment, dataset):
    experiment.snapshot(experiment.similarity(dataset))

def test_pairs(experiment, dataset):
    experiment.snapshot(experiment.similarity(dataset[:2]))
"""


@pytest.mark.parametrize(("problem", "workers"), [("setup", []), pytest.param("setup", ["-n", "2"], marks=pytest.mark.slow), ("collection", [])],
                         ids=["setup", "setup-xdist", "collection"])
def test_snapshots_of_a_test_that_never_ran_its_body_are_never_unused(pytester: pytest.Pytester, problem: str,
                                                                      workers: list[str]) -> None:
    """Regression: a fixture error (a dataset file deleted) made syrupy call every
    snapshot of the failing tests unused, and its hint, ``--snapshot-update``, deleted them all."""
    pytester.makepyfile(test_rec=NEVER_RAN, test_fine="def test_fine():\n    pass\n")
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=3)
    folder = pytester.path / "__snapshots__" / "test_rec"
    stored = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert len(stored) == 4
    if problem == "setup":
        (pytester.path / "missing.txt").write_text("")
    else:
        pytester.makepyfile(test_rec="import a_module_that_is_not_installed\n" + NEVER_RAN)
    options = ["--continue-on-collection-errors"] if problem == "collection" else []
    run = pytester.runpytest_subprocess if workers else pytester.runpytest  # xdist's workers: a process of its own
    for update in ([], ["--snapshot-update"]):
        result = run(*options, *update, *workers)
        result.assert_outcomes(passed=1, errors=2 if problem == "setup" else 1)
        assert not re.search(r"snapshots? unused|unused snapshot", result.stdout.str())
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == stored


# --- expectations keyed uniquely; marker ids checked; one naming rule ----


def test_expectations_and_statistics_sharing_a_default_name_are_told_apart() -> None:
    """Regression: two ``expect_top1`` with different ``expected`` mappings shared the
    name ``top1(expected) >= 100%``, so "what changed" paired the wrong ones (0 flips where both
    flipped); a second grouping's statistics overwrote the first's."""
    import numpy as np

    from embedsim.errors import InputError
    from embedsim.matrix import SimilarityMatrix
    from embedsim.plugin.experiments import Experiment
    from embedsim.report import Fragment
    from embedsim.report.compare import compare_entries

    rows, cols = tuple(f"r{i}" for i in range(6)), ("c1", "c2")
    first = {r: "c1" if i < 3 else "c2" for i, r in enumerate(rows)}
    second = {r: "c2" if i < 3 else "c1" for i, r in enumerate(rows)}
    entries = []
    for swapped in (False, True):
        values = np.array([[0.9, 0.1] if (i < 3) != swapped else [0.1, 0.9] for i in range(6)])
        exp = Experiment(_NoEmbedder())  # type: ignore[arg-type]
        m = exp.add_matrix(SimilarityMatrix(values, rows, cols))
        exp.expect_top1(m, first, at_least=1.0)
        exp.expect_top1(m, second, at_least=1.0)
        exp.stats(m, ["a", "a", "a", "b", "b", "b"], ["a", "b"])
        exp.stats(m, ["a", "b", "a", "b", "a", "b"], ["a", "b"])
        entries.append(Fragment("test_a.py", "test_x", "m", "failed", matrices=exp.matrices, checks=exp.checks))
        assert [c.name for c in exp.checks] == ["top1(expected) >= 100%", "top1(expected) >= 100% #2"]
        assert list(exp.matrices[0].stats) == ["groups x groups", "groups x groups #2"]
        with pytest.raises(InputError, match="already has an expectation named 'top1.expected. >= 100% #2' on "
                                             "'matrix'; pass another name="):
            exp.expect_top1(m, first, at_least=1.0, name="top1(expected) >= 100% #2")
    changes = compare_entries(*entries)
    assert [(c.name, c.flipped) for c in changes.checks] == [
        ("top1(expected) >= 100%", True), ("top1(expected) >= 100% #2", True)]


@pytest.mark.parametrize("marker", ["embedsim_models", "embedsim_xfail"])
def test_a_marker_naming_a_model_no_backend_serves_is_an_error(pytester: pytest.Pytester, marker: str) -> None:
    """Regression: ``@pytest.mark.embedsim_models("pixles")`` skipped the test
    silently ("got empty parameter set") and the run passed."""
    pytester.makepyfile(f"""
        import pytest

        @pytest.mark.{marker}("pixles")
        def test_x(embedsim_model):
            pass
    """)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines([f"*test_x: @pytest.mark.{marker}: unknown model id 'pixles': use 'pixels'*"])


def test_an_expectation_xfail_names_a_variant_as_the_marker_does(pytester: pytest.Pytester) -> None:
    """Regression: ``xfail={"pixels@64": ...}`` was ignored (and ``{"pixels": ...}``
    xfailed both variants) while the ``embedsim_xfail`` marker names variants."""
    pytester.makeini("[pytest]\nembedsim_models = pixels@64 pixels@128\n")
    pytester.makepyfile(WORDS + """
import pytest

def test_argument(experiment):
    experiment.expect_groups(experiment.similarity(WORDS), by="g", margin=0.9, xfail={"pixels@64": "small"})

@pytest.mark.embedsim_xfail("pixels@64", reason="small")
def test_marker(experiment):
    experiment.expect_groups(experiment.similarity(WORDS), by="g", margin=0.9)

def test_base_id(experiment):
    experiment.expect_groups(experiment.similarity(WORDS), by="g", margin=0.9, xfail={"pixels": "every variant"})

def test_typo(experiment):
    experiment.expect_groups(experiment.similarity(WORDS), by="g", xfail={"pixles@64": "a typo"})
""")
    result = pytester.runpytest("-rxXfE")
    result.assert_outcomes(xfailed=4, failed=4)
    result.stdout.fnmatch_lines_random([
        "XFAIL *test_argument[[]pixels@64[]] - pixels@64: small*", "FAILED *test_argument[[]pixels@128[]]*",
        "XFAIL *test_marker[[]pixels@64[]]*", "FAILED *test_marker[[]pixels@128[]]*",
        "XFAIL *test_base_id[[]pixels@64[]]*", "XFAIL *test_base_id[[]pixels@128[]]*",
        "FAILED *test_typo[[]pixels@64[]]*", "E *InputError: unknown model id 'pixles@64': use 'pixels'*"])
