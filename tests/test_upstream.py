"""The upstream internals embedsim relies on (embedsim/plugin/upstream.py), one test each: they
fail when an installed pytest, syrupy or pytest-recording stops behaving as relied on."""

from __future__ import annotations

import inspect
import socket

import pytest
from pytest_recording import network as recording_network

from embedsim.plugin import upstream

# pytest-recording 0.15.0 added --allow-private-ips (network.block's allow_private_ips); 0.14.1 is the floor.
PRIVATE_IPS = "allow_private_ips" in inspect.signature(recording_network.block).parameters

pytestmark = pytest.mark.usefixtures("outside_xdist")


def test_parameters_of_a_collected_test(pytester: pytest.Pytester) -> None:
    """pytest's ``Function.callspec``: values, positions and the ``-``-joined id of stacked parametrize."""
    pytester.makepyfile(test_params="""
        import pytest

        @pytest.mark.parametrize("model", ["pixels", "gemini-embedding-2"])
        @pytest.mark.parametrize("size", [1, 2], ids=["one", "two"])
        def test_x(size, model):
            pass

        def test_plain():
            pass
    """)
    items, _ = pytester.inline_genitems("-p", "no:embedsim")
    found = {item.name: upstream.parameters(item) for item in items}
    assert found["test_plain"] is None
    last = found["test_x[two-gemini-embedding-2]"]
    assert last is not None and last.values == {"size": 2, "model": "gemini-embedding-2"}
    assert last.id == "two-gemini-embedding-2" and set(last.indices) == {"size", "model"}
    # the report's definition order sorts by the positions: collection order is their order
    positions = [tuple(p.indices.values()) for p in found.values() if p is not None]
    assert positions == sorted(positions) and len(set(positions)) == 4


SNAPSHOT_FAILING_LATER = """
import os

def test_kept(snapshot):
    if os.environ.get("BREAK"):
        raise RuntimeError("failed before comparing")
    assert snapshot == "value"
"""

TELL_SYRUPY = """
import pytest
from embedsim.plugin import upstream

@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report):
    if report.failed:
        upstream.tell_syrupy_not_judged(pytest_runtest_logreport.config, report)

def pytest_configure(config):
    pytest_runtest_logreport.config = config
"""


def test_syrupy_never_counts_the_snapshots_of_a_test_it_was_told_of_as_unused(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """syrupy's module-level ``pytest_runtest_logreport`` with a forged skipped report: the snapshots
    of a test that failed before comparing are neither listed as unused nor deleted by ``--snapshot-update``."""
    pytester.makepyfile(test_snap=SNAPSHOT_FAILING_LATER)
    pytester.runpytest("-p", "no:embedsim", "--snapshot-update").assert_outcomes(passed=1)
    monkeypatch.setenv("BREAK", "1")
    told = pytester.runpytest("-p", "no:embedsim", "--snapshot-update")  # not told: syrupy deletes it
    told.assert_outcomes(failed=1)
    assert "1 unused snapshot deleted" in told.stdout.str()
    monkeypatch.delenv("BREAK")
    pytester.runpytest("-p", "no:embedsim", "--snapshot-update").assert_outcomes(passed=1)
    monkeypatch.setenv("BREAK", "1")
    pytester.makeconftest(TELL_SYRUPY)
    result = pytester.runpytest("-p", "no:embedsim", "--snapshot-update")
    result.assert_outcomes(failed=1)
    assert "unused snapshot" not in result.stdout.str() and "snapshot unused" not in result.stdout.str()
    assert list((pytester.path / "__snapshots__").glob("*.ambr"))


COLOURS = """
from embedsim.plugin import upstream

def pytest_sessionstart(session):
    session.config.option.no_colors = False  # as syrupy's default when stdout is a terminal
    upstream.follow_terminal_colours(session.config)
"""


@pytest.mark.parametrize(("option", "coloured"), [("--color=no", False), ("--color=yes", True)])
def test_syrupy_reads_its_no_colors_option_when_it_shows_a_diff(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, option: str, coloured: bool) -> None:
    """syrupy's option dest ``no_colors``, written at session start, decides the colours of its diffs."""
    for name in ("NO_COLOR", "FORCE_COLOR", "PY_COLORS", "ANSI_COLORS_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeconftest(COLOURS)
    pytester.makepyfile(test_snap="def test_missing(snapshot):\n    assert snapshot == 'value'\n")
    result = pytester.runpytest("-p", "no:embedsim", option)
    result.assert_outcomes(failed=1)
    assert "does not exist" in result.stdout.str()
    assert ("\x1b[" in result.stdout.str()) == coloured


def test_pytest_recordings_default_cassette_name(pytester: pytest.Pytester) -> None:
    """``get_default_cassette_name`` is the name pytest-recording's ``default_cassette_name`` fixture
    gives a test nobody renamed (its class, test name and parameters, forbidden characters replaced)."""
    pytester.makepyfile(test_names="""
        import pytest
        from embedsim.plugin import upstream

        class TestNames:
            @pytest.mark.parametrize("text", ["a/b", 'c:d"e', "plain"])
            def test_name(self, request, default_cassette_name, text):
                assert default_cassette_name == upstream.default_cassette_name(request)
                assert default_cassette_name.startswith("TestNames.test_name[")

        def test_function(request, default_cassette_name):
            assert default_cassette_name == upstream.default_cassette_name(request) == "test_function"
    """)
    pytester.runpytest("-p", "no:embedsim").assert_outcomes(passed=4)


def test_pytest_recordings_network_switch() -> None:
    """``network.block`` guards ``socket.connect`` (allowed hosts, private addresses) and
    ``network.unblock`` puts the original back, inside pytest-recording's own block (its
    ``block_network`` fixture's ``blocking_context``), which ends with none left."""
    from pytest_recording import network

    network.unblock()  # this suite's own --block-network (its fixture unblocks again at teardown)
    original = socket.socket.connect

    def attempt(host: str) -> type[BaseException]:
        with socket.socket() as s:
            s.settimeout(2)
            try:
                s.connect((host, 9))  # the discard port: refused on loopback
            except BaseException as exc:
                return type(exc)
        return type(None)

    try:
        with network.blocking_context(allowed_hosts=["127.0.0.2"]):
            assert socket.socket.connect is not original
            upstream.NETWORK.unblock()
            assert socket.socket.connect is original
            upstream.NETWORK.block(None)
            assert attempt("127.0.0.1") is RuntimeError  # "Network is disabled"
            upstream.NETWORK.block(["127.0.0.1"])
            assert attempt("127.0.0.1") is not RuntimeError
            if PRIVATE_IPS:
                upstream.NETWORK.block(None, allow_private_ips=True)
                assert attempt("127.0.0.1") is not RuntimeError
        assert socket.socket.connect is original
    finally:
        network.unblock()


AFTER_A_CALL = """
import os
import socket
from urllib.parse import urlsplit

from embedsim.inputs.items import text_item

def test_x(embedder):
    embedder.embed([text_item("a")])
    url = urlsplit(os.environ["GOOGLE_GEMINI_BASE_URL"])
    socket.create_connection((url.hostname, url.port), timeout=5).close()  # private: allowed
"""


@pytest.mark.skipif(not PRIVATE_IPS, reason="pytest-recording < 0.15 has no --allow-private-ips")
def test_the_tests_block_after_a_model_call_is_pytest_recordings_own(
        pytester: pytest.Pytester, emulator, clean_env: pytest.MonkeyPatch) -> None:
    """Regression: the block put back after a live or recorded call dropped
    ``--allow-private-ips`` (pytest-recording 0.15), so the test could no longer reach a private address."""
    clean_env.setenv("GEMINI_API_KEY", "test-key-not-real")
    clean_env.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
    pytester.makepyfile(test_after=AFTER_A_CALL)
    result = pytester.runpytest("--embedsim-model", "gemini-embedding-2-preview", "--disable-recording",
                                "--block-network", "--allow-private-ips", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=1)  # skipped: the pixels run, not selected
    assert len(emulator.embed_calls) == 1
