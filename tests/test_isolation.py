"""The suite's isolation of pytester inner runs (tests/conftest.py, tests/plugins/pytester_isolation.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

#: An inner project whose conftest is this suite's, to show what holds for the suite's own tests.
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
    """Regression (issue 11.13): pytester dropped ``httpcore2`` after an inner run made the first HTTP
    client, so httpx2's cached exception map held stale classes and errors escaped unmapped."""
    shutil.copy(TESTS / "conftest.py", pytester.path)
    shutil.copytree(TESTS / "plugins", pytester.path / "plugins")
    pytester.makepyfile(test_http=HTTP_TESTS)
    pytester.runpytest_subprocess("-p", "pytester", "-p", "no:randomly", "-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_inner_runs_keep_file_order_whatever_the_outer_order(pytester: pytest.Pytester) -> None:
    names = [f"test_{i:02d}" for i in range(12)]
    pytester.makepyfile("".join(f"def {name}():\n    pass\n" for name in names))
    result = pytester.runpytest("-v", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([f"*::{name} PASSED*" for name in names])
