"""Two tests never share one cassette, whatever names the cassettes (embedsim's layout or
the project's own pytest-recording fixtures)."""

from __future__ import annotations

import pytest

MODEL = "gemini-embedding-2-preview"


def _two_folders_with_the_same_test(pytester: pytest.Pytester) -> None:
    pytester.makeini(f"[pytest]\nembedsim_models = {MODEL}\n")
    for folder in ("a", "b"):
        pytester.mkdir(folder).joinpath("test_api.py").write_text("def test_words(embedder):\n    pass\n")


def test_a_projects_own_cassette_folders_keep_same_named_tests_apart(pytester: pytest.Pytester) -> None:
    _two_folders_with_the_same_test(pytester)
    pytester.makeconftest("import pytest\n\n@pytest.fixture\ndef vcr_cassette_dir(request):\n"
                          "    return str(request.path.parent / 'cassettes')\n")
    result = pytester.runpytest("--import-mode=importlib", "-rs", "-vv")
    result.assert_outcomes(skipped=2)  # a/cassettes/... and b/cassettes/...: two cassettes, not one shared
    assert "would share" not in result.stdout.str()
    for folder in ("a", "b"):
        result.stdout.fnmatch_lines([f"*no cassette {folder}/cassettes/{MODEL}/test_words.yaml*"])


def test_a_projects_own_cassette_name_shared_by_two_tests_fails(pytester: pytest.Pytester) -> None:
    pytester.makeini(f"[pytest]\nembedsim_models = {MODEL}\n")
    pytester.makeconftest("import pytest\n\n@pytest.fixture\ndef default_cassette_name():\n    return 'same'\n")
    pytester.makepyfile(test_api="def test_one(embedder):\n    pass\n\ndef test_two(embedder):\n    pass\n")
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(skipped=1, failed=0, errors=1)  # fails at setup, before any call or replay
    result.stdout.fnmatch_lines([f"*test_api.py::test_two[[]{MODEL}[]] would share the cassette "
                                 f"*{MODEL}/test_api/same.yaml with test_api.py::test_one[[]{MODEL}[]]*"])
