"""The suite's isolation of pytester inner runs (tests/conftest.py, tests/plugins/pytester_isolation.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

def with_this_suites_conftest(pytester: pytest.Pytester, tests: str) -> pytest.RunResult:
    """Run ``tests`` in a project whose conftest is this suite's, to show what holds for its own tests."""
    shutil.copy(TESTS / "conftest.py", pytester.path)
    shutil.copytree(TESTS / "plugins", pytester.path / "plugins")
    pytester.makepyfile(test_inner=tests)
    return pytester.runpytest_subprocess("-p", "pytester", "-p", "no:randomly", "-p", "no:cacheprovider")


HTTP_TESTS = '''
import socket

import httpx2  # imported before pytester's snapshot, as google.genai imports it
import pytest


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_first_client_is_made_in_an_inner_run(pytester):
    pytester.makepyfile(f"""
        import httpx2, pytest
        def test_refused():
            with pytest.raises(httpx2.ConnectError):
                httpx2.Client().get("http://127.0.0.1:{closed_port()}/")
    """)
    pytester.runpytest().assert_outcomes(passed=1)


def test_b_transport_errors_are_still_mapped_afterwards():
    with pytest.raises(httpx2.ConnectError):  # not an unmapped httpcore2.ConnectError
        httpx2.Client().get(f"http://127.0.0.1:{closed_port()}/")
'''


def test_a_library_first_imported_by_an_inner_run_keeps_its_classes(pytester: pytest.Pytester) -> None:
    """Regression: pytester dropped ``httpcore2`` after an inner run made the first HTTP
    client, so httpx2's cached exception map held stale classes and errors escaped unmapped."""
    with_this_suites_conftest(pytester, HTTP_TESTS).assert_outcomes(passed=2)


#: Inner runs whose projects import neither hypothesis nor pytest-randomly: the first run loads
#: pytest-randomly (``-p randomly``) and its terminal summary (hypothesis's plugin) imports hypothesis.
PLUGIN_DISTRIBUTION_TESTS = '''
import sys


def test_later_inner_runs_get_the_same_modules(pytester):
    seen = []

    class Probe:
        def pytest_unconfigure(self):
            seen.append([sys.modules[name] for name in ("pytest_randomly", "hypothesis")])

    for name in ("test_one", "test_two", "test_three"):
        pytester.makepyfile(f"def {name}(): pass")
        pytester.runpytest("-p", "randomly", plugins=[Probe()]).assert_outcomes(passed=1)
    assert seen[0] == seen[1] == seen[2]  # identity: modules compare by it
'''


def test_a_plugin_distributions_module_first_imported_by_an_inner_run_keeps_its_identity(pytester: pytest.Pytester) -> None:
    """Regression: an inner run's assertion-rewriting hook sat before the suite's module
    finder on ``sys.meta_path``, and pytest marks every pytest11 plugin's distribution (hypothesis,
    embedsim, syrupy, pytest-randomly) for rewriting: a module of one that pytester had dropped was
    executed afresh - new classes beside the old (embedsim's, a pixels xfail became a failure) or,
    for hypothesis, no native ``hypothesis._native.internal`` ("Pytest terminal summary report not found")."""
    with_this_suites_conftest(pytester, PLUGIN_DISTRIBUTION_TESTS).assert_outcomes(passed=1)


#: Two inner projects, each with a conftest of its own (pytest imports each as ``conftest``).
CONFTEST_TESTS = '''
import pytest


@pytest.mark.parametrize("value", ["one", "two"])
def test_each_project_gets_its_own_conftest(pytester, value):
    pytester.makeconftest(f"""
        import pytest
        @pytest.fixture
        def value():
            return {value!r}
    """)
    pytester.makepyfile(f"def test_value(value): assert value == {value!r}")
    pytester.runpytest().assert_outcomes(passed=1)
'''


def test_a_conftest_is_never_given_back_for_another_projects(pytester: pytest.Pytester) -> None:
    """The suite's conftest (imported as ``conftest``) is not a library module."""
    with_this_suites_conftest(pytester, CONFTEST_TESTS).assert_outcomes(passed=2)


def test_inner_runs_keep_file_order_whatever_the_outer_order(pytester: pytest.Pytester) -> None:
    names = [f"test_{i:02d}" for i in range(12)]
    pytester.makepyfile("".join(f"def {name}():\n    pass\n" for name in names))
    result = pytester.runpytest("-v", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([f"*::{name} PASSED*" for name in names])
