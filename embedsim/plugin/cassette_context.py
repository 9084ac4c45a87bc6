"""The current test's recording context, from pytest and pytest-recording: its cassette
(``vcr_cassette_dir`` / ``default_cassette_name`` when the user overrides them), one
cassette per test (checked at collection and when the test runs), what the network block
leaves open (``block_network``, ``allowed_hosts``) and the options a printed record command
repeats. The recording modules are imported when a test records or replays."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from embedsim.plugin import upstream
from embedsim.plugin.parametrize import base_test_name

if TYPE_CHECKING:
    from embedsim.plugin.settings import Settings
    from embedsim.recording.network import NetworkPolicy

SHARED_CASSETTE = pytest.StashKey[str]()
CLAIMED = pytest.StashKey[dict[Path, str]]()  # cassette -> the node id of the test that uses it


def cassette_of(item: pytest.Item, settings: Settings, model: str) -> Path:
    """Where the cassette of ``item`` run with ``model`` lives."""
    from embedsim import recording

    return recording.cassette_path(settings.cassette_dir, model, Path(item.path).stem, base_test_name(item, model))


def mark_shared_cassettes(remote: Iterable[tuple[pytest.Item, str]], settings: Settings) -> None:
    """At collection: each (item, remote model) whose default-layout cassette another
    collected test already has gets the verdict :func:`claim_cassette` fails it with."""
    owners: dict[Path, list[pytest.Item]] = {}
    for item, model in remote:
        owners.setdefault(cassette_of(item, settings, model), []).append(item)
    for path, sharing in owners.items():
        for item in sharing[1:]:
            from embedsim import recording

            item.stash[SHARED_CASSETTE] = (
                f"{item.nodeid} would share the cassette {recording.show_path(path)} with {sharing[0].nodeid}: "
                "cassettes are named <model>/<module name>/<test name>; rename this test or its module")


def recording_location(request: pytest.FixtureRequest, settings: Settings, model: str) -> tuple[Path, Path]:
    """``(cassette, model folder)`` of the current test: by default
    ``<cassette dir>/<model>/<module>/<test>.yaml`` in ``<cassette dir>/<model>``. A
    ``vcr_cassette_dir`` fixture of the user's (one that returns something else than
    pytest-recording's default) makes it ``<their dir>/<model>/<test>.yaml``; a
    ``default_cassette_name`` of theirs (or pytest-recording's ``default_cassette`` mark)
    names the file inside the model's folder."""
    from embedsim import recording

    node = request.node
    name = request.getfixturevalue("default_cassette_name")
    if name == upstream.default_cassette_name(request):
        name = base_test_name(node, model)  # the model is the folder, not part of the name
    folder = Path(request.getfixturevalue("vcr_cassette_dir"))
    module = Path(node.path)
    if folder == module.parent / "cassettes" / module.stem:  # pytest-recording's default
        model_dir = Path(settings.cassette_dir) / recording.short_name(recording.safe_name(model))
        return recording.model_cassette_path(model_dir / recording.short_name(recording.safe_name(module.stem)),
                                             name), model_dir
    model_dir = folder / recording.short_name(recording.safe_name(model))
    return recording.model_cassette_path(model_dir, name), model_dir


def claim_cassette(request: pytest.FixtureRequest, path: Path, settings: Settings, model: str) -> None:
    """Fail a test whose cassette is another test's. The collection-time verdict (which sees
    every test, also under xdist) assumed the default layout, so it holds only where the
    test's cassette is where it looked; any layout is also checked against the tests this
    process has run."""
    from embedsim.recording import show_path

    node = request.node
    if SHARED_CASSETTE in node.stash and path == cassette_of(node, settings, model):
        pytest.fail(node.stash[SHARED_CASSETTE], pytrace=False)
    owner = request.config.stash.setdefault(CLAIMED, {}).setdefault(path, node.nodeid)
    if owner != node.nodeid:
        pytest.fail(f"{node.nodeid} would share the cassette {show_path(path)} with {owner}: give one of them "
                    "another name (test name, or the default_cassette_name / vcr_cassette_dir that names it)",
                    pytrace=False)


def network_policy(request: pytest.FixtureRequest) -> NetworkPolicy:
    """What pytest-recording's ``block_network`` fixture blocks for this test: with
    ``--block-network`` or the ``block_network`` mark, unless the test records through
    its own ``vcr`` mark."""
    from embedsim.recording.network import NetworkPolicy

    config = request.config
    node = request.node
    marked = node.get_closest_marker("block_network") is not None
    recording_vcr = any(True for _ in node.iter_markers("vcr")) and (config.getoption("record_mode", None)
                                                                      or "none") != "none"
    if not (marked or config.getoption("block_network", False)) or recording_vcr:
        return NetworkPolicy(switch=upstream.NETWORK)
    allowed = request.getfixturevalue("allowed_hosts")
    private = upstream.allow_private_ips(request)
    return NetworkPolicy(True, tuple(allowed) if allowed is not None else None, private, upstream.NETWORK)


#: Options of a run that the record command it prints must repeat: (option, dest).
_RERUN_OPTIONS = (("--embedsim-dimension", "embedsim_dimension"), ("--embedsim-cassette-dir", "embedsim_cassette_dir"),
                  ("--embedsim-api-version", "embedsim_api_version"))


def run_options(config: pytest.Config, model: str) -> list[str]:
    """The command-line options of this run that a printed record command must repeat."""
    options = ["--embedsim-model", model] if config.getoption("embedsim_models", None) else []
    for option, dest in _RERUN_OPTIONS:
        value = config.getoption(dest, None)
        if value is not None:
            options += [option, str(value)]
    return options
