"""The embedsim pytest plugin (entry point ``pytest11``): options, markers, fixtures.

Fixtures:

* ``embedder`` - the current model's embedder; a test using it runs once per
  configured model (``test_x[pixels]``, ``test_x[gemini-embedding-2-preview]``).
  Remote models record to / replay from ``cassettes/<model>/<module>/<test>.yaml``.
* ``experiment`` - an :class:`embedsim.plugin.experiments.Experiment` bound to that embedder.
* ``embedsim_model`` - the current model id; ``embedsim_settings`` - the settings.
* ``matrix_snapshot`` / ``heatmap_snapshot`` - syrupy's ``snapshot`` with tolerant
  matrix-table / PNG extensions.

Markers: ``embedsim_xfail(*models, reason=...)`` and ``embedsim_models(*models)``.
Recording reuses pytest-recording's ``--record-mode`` / ``--block-network`` /
``--disable-recording`` (the model's calls while recording, or live with
``--disable-recording``, are exempt from ``--block-network``); snapshots reuse
syrupy's ``--snapshot-update``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import pytest

from embedsim.backends import invalidate, is_local
from embedsim.errors import RecordingError
from embedsim.plugin import upstream
from embedsim.plugin.cassette_context import (
    claim_cassette,
    mark_shared_cassettes,
    network_policy,
    recording_location,
    run_options,
)
from embedsim.plugin.parametrize import MODEL_PARAM, base_test_name, model_of, model_params
from embedsim.plugin.run_hooks import (
    BODY_RAN,
    EXPERIMENT,
    FOREIGN_RECORDING,
    ORDER,
    REPORT_STARTED,
    UNSELECTED,
    USED,
    RunHooks,
    record_mode,
    report_dir,
)
from embedsim.plugin.settings import Settings, add_options, load_settings

if TYPE_CHECKING:  # the heavy modules are imported when a test uses the fixtures
    from syrupy.assertion import SnapshotAssertion

    from embedsim.backends.base import Embedder
    from embedsim.plugin.experiments import Experiment

SETTINGS = pytest.StashKey[Settings]()
FIXTURES = frozenset({"embedder", "experiment", "embedsim_model", "embedsim_settings", "matrix_snapshot",
                      "heatmap_snapshot"})


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "embedsim_xfail(*models, reason='', raises=ExpectationFailed, strict=True): the test's "
        "expectations are not expected to hold for these model ids (strict: a pass fails).",
    )
    config.addinivalue_line(
        "markers", "embedsim_models(*models): run this test only with these of the configured model ids."
    )
    invalidate()  # the backends installed when this run starts (see pytest_unconfigure)
    settings = load_settings(config)
    config.stash[SETTINGS] = settings
    config.pluginmanager.register(RunHooks(config, settings), "embedsim-run")
    if not config.pluginmanager.has_plugin("legacypath") and config.pluginmanager.has_plugin("recording"):
        config.pluginmanager.register(upstream.CassetteDirWithoutLegacyPath(), "embedsim-vcr-cassette-dir")
    if (folder := report_dir(config, settings)) is not None:
        from embedsim import report

        try:
            report.prepare(folder)
        except report.ReportFolderError as exc:
            raise pytest.UsageError(f"embedsim: {exc}") from None
        config.stash[REPORT_STARTED] = time.time()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Forget the backends this run read: an in-process run (pytester's) may have had other
    entry points on ``sys.path`` than the process that goes on."""
    invalidate()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """syrupy colours its diffs unless ``--snapshot-no-colors`` or ``NO_COLOR``: follow pytest's own
    choice (``--color``, ``NO_COLOR``, a terminal or not) too. Workers get the controller's option."""
    config = session.config
    if not hasattr(config, "workerinput"):
        upstream.follow_terminal_colours(config)


def pytest_report_header(config: pytest.Config) -> str | None:
    """The settings, where the project configures embedsim (else, if a test uses its
    fixtures, the terminal summary says which defaults it used)."""
    s = config.stash[SETTINGS]
    return f"embedsim: {s.summary(record_mode(config))}" if s.configured else None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if MODEL_PARAM in metafunc.fixturenames:
        metafunc.parametrize(MODEL_PARAM, model_params(metafunc.definition, metafunc.config.stash[SETTINGS]),
                             indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the tests of configured models that ``--embedsim-model`` left out. (Skipped, not
    deselected: syrupy matches snapshots by test name without parameters, so only a
    skip keeps it from deleting - or failing on - the other models' snapshots.)"""
    settings = config.stash[SETTINGS]
    remote: list[tuple[pytest.Item, str]] = []
    for index, item in enumerate(sorted(items, key=_definition_order)):
        item.stash[ORDER] = index  # the report lists tests in definition order, however a run is shuffled
    for item in items:
        if FIXTURES.intersection(getattr(item, "fixturenames", ())):
            config.stash[USED] = True
        model = model_of(item)
        if model is not None and model not in settings.selected:
            item.stash[UNSELECTED] = True
            item.add_marker(pytest.mark.skip(
                reason=f"{model} not selected: this run uses --embedsim-model {','.join(settings.selected)}"))
        elif model is not None and not is_local(model):
            remote.append((item, model))
    mark_shared_cassettes(remote, settings)


def _definition_order(item: pytest.Item) -> tuple[str, int, tuple[int, ...]]:
    """File, line of the test function, then its parameters' positions (the model's last)."""
    path, line, _name = item.location
    parameters = upstream.parameters(item)
    indices = dict(parameters.indices) if parameters is not None else {}
    model = indices.pop(MODEL_PARAM, 0)
    return path, line if line is not None else -1, (*indices.values(), model)


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def embedsim_settings(pytestconfig: pytest.Config) -> Settings:
    """The resolved embedsim settings (models, dimension, cassette dir, tolerances, report)."""
    return pytestconfig.stash[SETTINGS]


@pytest.fixture
def embedsim_model(request: pytest.FixtureRequest) -> str:
    """The model id of this test run; tests using it are parametrized by the configured models."""
    return request.param


@pytest.fixture
def embedder(request: pytest.FixtureRequest, embedsim_model: str, embedsim_settings: Settings) -> Iterator[Embedder]:
    """The embedder of the current model. Local models (``pixels``) run as they are; remote
    ones replay ``<cassette dir>/<model>/<module>/<test>.yaml`` (``--record-mode=none``,
    the default) or record it (``--record-mode=once|new_episodes|all|rewrite`` with
    the backend's credentials: its ``key_env``, or its SDK's chain, ``credentials``). A test with
    no cassette and no way to record one is skipped with the command that records it (it fails
    instead when the model has recordings); a request the cassette does not hold fails with the
    items that changed.

    pytest-recording's fixtures apply: the user's ``vcr_config`` (merged over embedsim's,
    :func:`embedsim.recording.merged_config`; its ``record_mode`` when no
    ``--record-mode`` is given), ``vcr_cassette_dir`` and ``default_cassette_name`` when
    overridden (:func:`embedsim.plugin.cassette_context.recording_location`), and the ``pytest_recording_configure`` hook."""
    import os

    from embedsim import recording
    from embedsim.backends import get_embedder, resolve

    config = request.config
    network = network_policy(request)
    if is_local(embedsim_model) or config.getoption("disable_recording", False):
        spec = resolve(embedsim_model)
        if not spec.local and spec.credentials_found(os.environ) is None:
            pytest.skip(f"--disable-recording calls {embedsim_model} live, which needs "
                        f"{' or '.join(recording.key_names(embedsim_model)) or 'credentials'}")
        remote = {} if spec.local else {**embedsim_settings.remote_options(), **embedsim_settings.batch_options(
            recording_location(request, embedsim_settings, embedsim_model)[0])}
        live = get_embedder(embedsim_model, embedsim_settings.dimension, **remote)
        yield live if spec.local else recording.LiveEmbedder(live, network)
        if callable(getattr(live, "close", None)):
            live.close()  # type: ignore[attr-defined]
        return
    node = request.node
    user_config = request.getfixturevalue("vcr_config") or {}
    path, model_dir = recording_location(request, embedsim_settings, embedsim_model)
    claim_cassette(request, path, embedsim_settings, embedsim_model)
    mode = config.getoption("record_mode", None) or user_config.get("record_mode") or "none"
    manager = recording.recorded_embedder(
        embedsim_model, embedsim_settings.dimension, path, mode, node.nodeid, model_dir=model_dir,
        vcr_config=user_config, network=network, options=run_options(config, embedsim_model),
        configure=lambda vcr: config.hook.pytest_recording_configure(config=config, vcr=vcr),
        **embedsim_settings.remote_options(), **embedsim_settings.batch_options(path))
    with ExitStack() as stack:
        try:
            embedder = stack.enter_context(manager)
        except recording.NotRecorded as exc:
            pytest.skip(str(exc))
        except RecordingError as exc:  # a missing recording of a recorded model, an unreadable cassette
            # the message alone (no chain shown); the error stays the context, so the outcome's cause is "recording"
            raise pytest.fail.Exception(str(exc), pytrace=False) from None
        yield embedder
        if not node.stash.get(BODY_RAN, False):  # the test stopped before its end: a part of its calls
            embedder.failed = True  # is not a recording (the cassette holds a whole test's calls or none)
    if embedder.foreign_hosts:  # written from a host that is not the vendor's: the run's summary says so
        node.stash[FOREIGN_RECORDING] = (embedsim_model, embedder.foreign_hosts)


@pytest.hookimpl(optionalhook=True)
def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """pytest-recording's hook: its ``@pytest.mark.vcr`` cassettes know embedsim's matchers
    (for a ``vcr_config`` built with :func:`embedsim.recording.vcr_config`)."""
    from embedsim.recording.vcr_settings import register

    register(vcr)


@pytest.fixture
def experiment(request: pytest.FixtureRequest, embedder: Embedder, embedsim_settings: Settings) -> Experiment:
    """An :class:`embedsim.plugin.experiments.Experiment` with the current model: ``similarity``,
    ``stats``, ``expect_groups`` / ``expect_top1`` / ``expect_order`` / ``expect_auc`` and
    ``expect(check, matrix)`` for a custom check and ``snapshot`` (soft: all
    are evaluated, the test fails at its end listing every broken expectation and snapshot).
    Its matrices, statistics and outcomes go into the ``--embedsim-report``."""
    from embedsim.plugin.experiments import Experiment

    node = request.node
    exp = Experiment(
        embedder,
        base_test_name(node, model_of(node) or embedder.model_id),  # a variant id@dimension is the parameter
        node.nodeid,
        # syrupy's own fixture, asked for only when the test takes a snapshot
        snapshot=lambda extension: request.getfixturevalue("snapshot").use_extension(extension),
        matrix_tolerance=embedsim_settings.tolerance,
        image_tolerance=embedsim_settings.image_tolerance,
        confidence=embedsim_settings.confidence,
        colour=upstream.snapshot_colours(request.config),  # see pytest_sessionstart
        model=model_of(node) or embedder.model_id,
    )
    node.stash[EXPERIMENT] = exp
    return exp


@pytest.fixture
def matrix_snapshot(snapshot: SnapshotAssertion, embedsim_settings: Settings) -> SnapshotAssertion:
    """syrupy snapshot storing a SimilarityMatrix as a ``.matrix.tsv`` table, compared
    within ``--embedsim-tolerance``: ``assert matrix_snapshot == m``."""
    from embedsim.snapshot.extensions import matrix_extension

    return snapshot.use_extension(matrix_extension(embedsim_settings.tolerance))


@pytest.fixture
def heatmap_snapshot(snapshot: SnapshotAssertion, embedsim_settings: Settings) -> SnapshotAssertion:
    """syrupy snapshot storing a heatmap PNG (bytes or a SimilarityMatrix), compared within
    ``--embedsim-image-tolerance`` RMS: ``assert heatmap_snapshot == m``."""
    from embedsim.snapshot.extensions import heatmap_extension

    return snapshot.use_extension(heatmap_extension(embedsim_settings.image_tolerance))


# --- hooks --------------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Any:
    """End the test's experiment: its soft failures fail the test; when the test raised
    something else, they are added to that exception as a note."""
    __tracebackhide__ = True
    exp = pyfuncitem.stash.get(EXPERIMENT, None)
    try:
        result = yield
    except Exception as exc:
        if exp is not None and (text := exp._failure_text()):
            exc.add_note(f"embedsim: besides, this test's experiment failed:\n{text}")
        raise
    pyfuncitem.stash[BODY_RAN] = True
    if exp is not None:
        exp._finish()
    return result
