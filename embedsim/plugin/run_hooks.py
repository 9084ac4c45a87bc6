"""The plugin's run-level hooks (a plugin object :func:`embedsim.plugin.pytest_configure`
registers): each test's outcome into the report, the snapshots of a test that failed for a
recording reason or never ran its body (a setup error) kept out of syrupy's unused ones, the notice of the defaults used, the report index."""

from __future__ import annotations

import inspect
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from embedsim.plugin import outcomes, upstream
from embedsim.plugin.settings import Settings
from embedsim.errors import NotApplicable
from embedsim.plugin.parametrize import base_test_name, model_of

if TYPE_CHECKING:
    from embedsim.plugin.experiments import Experiment

EXPERIMENT = pytest.StashKey["Experiment"]()
ORDER = pytest.StashKey[int]()
OUTCOME = pytest.StashKey[dict[str, Any]]()
UNSELECTED = pytest.StashKey[bool]()
#: When the report run started (``time.time()``), for the report's index.
REPORT_STARTED = pytest.StashKey[float]()
#: True once a collected test of this run (or of an xdist worker) uses embedsim's fixtures.
USED = pytest.StashKey[bool]()
#: Why the test's model cannot run it (see :func:`not_applicable`).
NOT_APPLICABLE = pytest.StashKey[str]()
#: The attribute of a failed setup's report of a test using embedsim: its body never ran, so it
#: compared no snapshot (serialised with the report, so pytest-xdist brings it to the controller).
NEVER_RAN_ATTRIBUTE = "embedsim_never_ran"
#: Fixtures that take snapshots besides the experiment's (a test with a model parameter).
SNAPSHOT_FIXTURES = frozenset({"matrix_snapshot", "heatmap_snapshot"})


def report_dir(config: pytest.Config, settings: Settings) -> Path | None:
    """The report folder, for the main process of a run that runs tests (not ``--co``)."""
    if hasattr(config, "workerinput") or config.getoption("collectonly", False):
        return None
    return settings.report_dir


def record_mode(config: pytest.Config) -> str:
    return config.getoption("record_mode", None) or "none"


def _summary_line(item: pytest.Item) -> str:
    """The first paragraph of the test function's docstring, on one line."""
    doc = inspect.cleandoc(getattr(getattr(item, "function", None), "__doc__", None) or "")
    return " ".join(doc.split("\n\n", 1)[0].split())


def not_applicable(item: pytest.Item, rep: pytest.TestReport, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    """Report a test whose model cannot embed its items (words sent to an image-only model)
    as skipped - not applicable - at the test's line, not as a failure."""
    reason = str(excinfo.value)
    lines = [entry.lineno + 1 for entry in excinfo.traceback if Path(entry.path) == Path(item.path)]
    rep.outcome = "skipped"
    rep.longrepr = (str(item.path), lines[-1] if lines else 0, f"not applicable: {reason}")
    item.stash[NOT_APPLICABLE] = reason


def _narrowed(config: pytest.Config) -> set[str]:
    """Test files (rootdir-relative, as in node ids) of which the command line named single tests."""
    out = set()
    for arg in config.args:
        path, sep, _names = str(arg).partition("::")
        if sep:
            try:
                out.add((config.invocation_params.dir / path).resolve().relative_to(config.rootpath.resolve()).as_posix())
            except ValueError:
                continue
    return out


class RunHooks:
    """Hooks about the whole run, for one :class:`~embedsim.plugin.settings.Settings`."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        #: What this run collected, before any deselection (``-k``, ``-m``), for the report:
        #: ``(module, test, model)`` of each test, and the modules collected whole.
        self.collected: set[tuple[str, str, str]] = set()
        self.modules: set[str] = set()
        self.narrowed = _narrowed(config)

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        if self.settings.report_dir is not None and (model := model_of(item)) is not None:
            self.collected.add((item.nodeid.split("::")[0], base_test_name(item, model), model))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A test file collected without errors: its tests are all the tests it has (the report
        drops sections of the others), unless the run named tests in it (``file::test``) or ran
        only the last failures (``--lf`` collects failing files only). One that failed to collect
        ran none of its tests, so this run cannot tell which snapshots are unused: syrupy is
        told so through its own option ``--snapshot-disable-unused`` (read when the run ends),
        and ``--snapshot-update`` deletes none."""
        if report.failed and hasattr(self.config.option, "disable_unused_snapshots"):
            self.config.option.disable_unused_snapshots = True
        if self.settings.report_dir is None:
            return
        if report.passed and report.nodeid and "::" not in report.nodeid and not self.config.getoption("lf", False) \
                and (self.config.rootpath / report.nodeid).is_file() and report.nodeid not in self.narrowed:
            self.modules.add(report.nodeid)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        rep = yield
        if call.excinfo is not None and call.excinfo.errisinstance(NotApplicable):
            not_applicable(item, rep, call.excinfo)
        if (why := outcomes.cause(call.excinfo)) and (rep.failed or rep.skipped):
            setattr(rep, outcomes.CAUSE_ATTRIBUTE, why)
        model = model_of(item)
        if rep.when == "setup" and rep.failed and (model is not None or SNAPSHOT_FIXTURES & set(item.fixturenames)):
            setattr(rep, NEVER_RAN_ATTRIBUTE, True)  # its body never ran: it compared no snapshot
        if self.settings.report_dir is None or model is None or item.stash.get(UNSELECTED, False):
            return rep
        outcome = item.stash.setdefault(OUTCOME, outcomes.new())
        outcomes.update(outcome, rep, call)
        if rep.skipped and NOT_APPLICABLE in item.stash:
            outcome.update(outcome="not applicable", reason=item.stash[NOT_APPLICABLE])
        if rep.when == "teardown":
            from embedsim import report

            entry = {"nodeid": item.nodeid, "module": item.nodeid.split("::")[0],
                     "test": base_test_name(item, model), "model": model, "time": time.time(),
                     "order": item.stash.get(ORDER, 0), "doc": _summary_line(item), **outcome}
            report.write_fragment(self.settings.report_dir, entry, item.stash.get(EXPERIMENT, None))
        return rep

    @pytest.hookimpl(trylast=True)  # after syrupy's own, which took the test as failed
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed and (getattr(report, outcomes.CAUSE_ATTRIBUTE, "") == "recording"
                              or getattr(report, NEVER_RAN_ATTRIBUTE, False)):
            upstream.tell_syrupy_not_judged(self.config, report)  # not judged: none of its snapshots is unused

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Any:
        """The xdist controller learns that a worker's tests used embedsim; the report index."""
        config = self.config
        if hasattr(config, "workeroutput") and config.stash.get(USED, False):
            config.workeroutput["embedsim_used"] = True  # type: ignore[attr-defined]
        if hasattr(config, "workeroutput") and self.settings.report_dir is not None:
            config.workeroutput["embedsim_collected"] = [sorted(self.modules), sorted(self.collected)]  # type: ignore[attr-defined]
        result = yield
        if (folder := report_dir(config, self.settings)) is not None:
            from embedsim import report
            from embedsim.report import origin

            settings = self.settings
            models = tuple(dict.fromkeys(settings.models + settings.selected))
            report.build_index(folder, models, config.rootpath, started=config.stash.get(REPORT_STARTED, None),
                               pairs=settings.compare or None, provenance=origin.recorded(settings.cassette_dir, models),
                               collected=self.collected, modules=self.modules)
        return result

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """pytest-xdist controller: a worker's tests used embedsim's fixtures."""
        output = getattr(node, "workeroutput", {})
        if output.get("embedsim_used"):
            self.config.stash[USED] = True
        if "embedsim_collected" in output:  # every worker collects every test
            modules, collected = output["embedsim_collected"]
            self.modules.update(modules)
            self.collected.update(map(tuple, collected))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        config, settings = self.config, self.settings
        if hasattr(config, "workerinput"):
            return
        if not settings.configured and config.stash.get(USED, False):
            terminalreporter.write_line(
                f"embedsim: not configured in this project (no [tool.embedsim] table, embedsim_* ini key or "
                f"--embedsim-* option); its fixtures used the defaults: {settings.summary(record_mode(config))}")
        if (folder := report_dir(config, settings)) is not None:
            terminalreporter.write_line(f"embedsim report: {folder / 'index.html'}")
