"""Every use of an upstream internal, in one place: pytest, syrupy and pytest-recording offer no
public interface for these. Each names the upstream version read; ``tests/test_upstream.py``
holds one test per use that fails when the installed upstream stops behaving as relied on
(run it first after upgrading pytest, syrupy or pytest-recording).

* :class:`CassetteDirWithoutLegacyPath` - pytest-recording without pytest's ``legacypath``.
* :func:`parameters` - a collected test's parameters (pytest's ``Function.callspec``).
* :func:`tell_syrupy_not_judged` - syrupy told that a test's snapshots were not compared.
* :func:`follow_terminal_colours` / :func:`snapshot_colours` - syrupy's ``--snapshot-no-colors``.
* :func:`default_cassette_name` - pytest-recording's default cassette name.
* :data:`NETWORK` - pytest-recording's network block, switched around a model's calls.

Used everywhere else instead: documented hooks and fixtures (``vcr_cassette_dir``,
``default_cassette_name``, ``vcr_config``, ``allowed_hosts``, ``allow_private_ips``, the
``pytest_recording_configure`` hook, syrupy's ``snapshot`` fixture and ``use_extension``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

# --- pytest-recording 0.15.0 (plugin.py): vcr_cassette_dir reads request.node.fspath ----------------


class CassetteDirWithoutLegacyPath:
    """pytest-recording's autouse ``vcr`` fixture asks for its ``vcr_cassette_dir`` fixture,
    which reads ``request.node.fspath`` - an attribute only the ``legacypath`` plugin
    provides. A suite run with ``-p no:legacypath`` (syrupy's own, for one) would error in
    every test once pytest-recording is installed (embedsim depends on it). When that
    plugin is disabled, embedsim registers this override of ``vcr_cassette_dir`` - the
    documented way to set pytest-recording's cassette folder - with the same value,
    computed from ``request.node.path``. A project's own ``vcr_cassette_dir`` (in a
    conftest) still takes precedence."""

    @pytest.fixture(scope="module")
    def vcr_cassette_dir(self, request: pytest.FixtureRequest) -> str:
        """pytest-recording's default: ``<test file's folder>/cassettes/<test file's stem>``."""
        module = request.node.path
        return os.path.join(module.parent, "cassettes", module.stem)


# --- pytest 9.2.0 (_pytest/python.py, CallSpec2): a parametrized test's parameters ------------------


@dataclass(frozen=True)
class Parameters:
    """A collected test's parameters: ``values`` by argument name, their positions in the
    parametrization (``indices``) and the test id's bracketed part (``id``: the parameter ids
    joined with ``-``, as pytest documents for stacked ``parametrize``)."""

    values: Mapping[str, Any]
    indices: Mapping[str, int]
    id: str


def parameters(item: pytest.Item) -> Parameters | None:
    """The parameters of ``item``, ``None`` when it has none. ``Function.callspec`` (a
    ``CallSpec2`` with ``params``, ``indices`` and ``id``) is not public API; pytest 9.2.0."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    return Parameters(dict(callspec.params), dict(callspec.indices), callspec.id)


# --- syrupy 7.0.3 (__init__.py pytest_runtest_logreport, session.py ran_item / ItemStatus) ---------


def tell_syrupy_not_judged(config: pytest.Config, report: pytest.TestReport) -> None:
    """Tell syrupy - and only syrupy - that the test of ``report`` did not get to compare its
    snapshots, so none of them is unused. syrupy learns each test's outcome from its own
    module-level ``pytest_runtest_logreport`` (the last of setup and call wins) and never
    counts the snapshots of a skipped test as unused; it has no public way to say so. Its hook
    is called with a forged skipped report; pytest and every other plugin keep the failure."""
    syrupy = config.pluginmanager.get_plugin("syrupy")
    if syrupy is not None:
        syrupy.pytest_runtest_logreport(report=pytest.TestReport(
            report.nodeid, report.location, report.keywords, "skipped", None, "call"))


def follow_terminal_colours(config: pytest.Config) -> None:
    """syrupy colours its diffs unless ``--snapshot-no-colors`` (dest ``no_colors``, default: stdout
    is not a TTY, decided when its options are declared) or ``NO_COLOR``: make it follow pytest's
    own choice too (``--color``, a terminal or not). Writes syrupy's option - read by its
    ``pytest_assertrepr_compare`` at each diff; no public setter. syrupy 7.0.3."""
    if hasattr(config.option, "no_colors"):
        config.option.no_colors = config.option.no_colors or not config.get_terminal_writer().hasmarkup


def snapshot_colours(config: pytest.Config) -> bool:
    """Whether syrupy colours its diffs (its ``no_colors`` option, after :func:`follow_terminal_colours`)."""
    return not getattr(config.option, "no_colors", False)


# --- pytest-recording 0.15.0 (plugin.py get_default_cassette_name) ------------------------------------


def default_cassette_name(request: pytest.FixtureRequest) -> str:
    """The name pytest-recording's ``default_cassette_name`` fixture gives the current test when
    nobody overrides it (no ``default_cassette`` mark, no fixture of the user's): its
    module-level ``get_default_cassette_name(cls, name)``, not public API."""
    from pytest_recording.plugin import get_default_cassette_name

    return get_default_cassette_name(request.cls, request.node.name)  # type: ignore[no-any-return]


# --- pytest-recording 0.15.0 (network.py block / unblock) -------------------------------------------


class RecordingNetwork:
    """pytest-recording's network block, switched around a model's calls
    (:class:`embedsim.recording.network.NetworkPolicy`): its ``network.block(allowed_hosts=...,
    allow_private_ips=...)`` replaces ``socket.socket.connect`` / ``connect_ex`` (and pycurl's
    ``perform``) by a guard, ``network.unblock()`` puts the originals back - the functions its
    ``block_network`` fixture uses (through ``network.blocking_context``), not public API.
    The fixture's own ``unblock`` at the end of the test undoes whatever is left."""

    def block(self, allowed_hosts: list[str] | None, allow_private_ips: bool = False) -> None:
        from pytest_recording import network

        private: dict[str, Any] = {"allow_private_ips": True} if allow_private_ips else {}  # 0.15.0's; 0.14 has no such keyword
        network.block(allowed_hosts=allowed_hosts, **private)

    def unblock(self) -> None:
        from pytest_recording import network

        network.unblock()


NETWORK = RecordingNetwork()


def allow_private_ips(request: pytest.FixtureRequest) -> bool:
    """pytest-recording's ``allow_private_ips`` fixture (0.15.0; ``False`` before it existed)."""
    try:
        return bool(request.getfixturevalue("allow_private_ips"))
    except pytest.FixtureLookupError:
        return False
