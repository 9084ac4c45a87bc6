"""The plugin's run-level hooks (a plugin object :func:`embedsim.plugin.pytest_configure`
registers): each test's outcome into the report, the snapshots of a test that failed for a
recording reason or never ran its body (a setup error) kept out of syrupy's unused ones, the notice of the defaults used, the report index."""

from __future__ import annotations

import inspect
import posixpath
import shlex
import sysconfig
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from embedsim.errors import EmbedsimError, NotApplicable, in_chain
from embedsim.plugin import outcomes, upstream
from embedsim.plugin.parametrize import base_test_name, model_of
from embedsim.plugin.settings import Settings

if TYPE_CHECKING:
    from embedsim.plugin.experiments import Experiment  # noqa: F401 (the stash key's type)

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
#: ``(model, hosts)`` of a recording this test wrote from hosts that are not its vendor's official ones.
FOREIGN_RECORDING = pytest.StashKey[tuple[str, tuple[str, ...]]]()
#: The attribute of a test's teardown report carrying its :data:`FOREIGN_RECORDING` (serialised with
#: the report, so pytest-xdist brings it to the controller, which prints it in the summary).
FOREIGN_ATTRIBUTE = "embedsim_foreign_recording"
#: True once the test function returned: every call its body makes was made (a recording is whole).
BODY_RAN = pytest.StashKey[bool]()
#: Fixtures that take snapshots besides the experiment's (a test with a model parameter).
SNAPSHOT_FIXTURES = frozenset({"matrix_snapshot", "heatmap_snapshot"})
#: The attribute of the report of a test skipped because its model has no recording of it:
#: ``"<model id> <mode>"``, the record mode of the command that records it (serialised with the
#: report, so pytest-xdist brings it to the controller, which prints one line per model).
NOT_RECORDED_ATTRIBUTE = "embedsim_not_recorded"
#: Where embedsim and the libraries it calls live: their frames are left out of a short failure.
_LIBRARY = tuple({Path(__file__).resolve().parent.parent,
                  *(Path(sysconfig.get_paths()[name]).resolve() for name in ("stdlib", "platstdlib", "purelib", "platlib"))})


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


def not_recorded(excinfo: pytest.ExceptionInfo[BaseException] | None) -> Any:
    """The :class:`~embedsim.recording.NotRecorded` a skip was raised from or while handling, or None."""
    from embedsim.recording.modes import NotRecorded

    return in_chain(excinfo.value if excinfo is not None else None, NotRecorded)


def skipped_not_recorded(item: pytest.Item, rep: pytest.TestReport, missing: Any) -> None:
    """One short reason per test, at its file (``-rs`` folds a file's tests of one model into a
    line); the command that records them goes into the terminal summary, once per model. With
    ``-vv`` the reason is whole: the test's cassette and the command that records it alone."""
    hint = " (see the summary for the record command)" if missing.mode else ""
    reason = str(missing) if item.config.get_verbosity() >= 2 else f"{missing.short}{hint}"
    rep.longrepr = (str(item.path), None, reason)  # type: ignore[assignment]  # pytest's own skip form
    if missing.mode:
        setattr(rep, NOT_RECORDED_ATTRIBUTE, f"{missing.model_id} {missing.mode}")


def _in_library(path: Path) -> bool:
    return any(path.is_relative_to(place) for place in _LIBRARY)


def short_failure(config: pytest.Config, rep: pytest.TestReport, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    """An embedsim error (a missing file, a cassette that does not match, a refusal) says what
    is wrong and what to do in its message: show the test's own lines that led to it and the
    message, like a failed expectation - not the frames inside embedsim and the libraries it
    calls. ``--tb=long`` (or any other ``--tb``) and ``--full-trace`` show them all."""
    if config.getoption("tbstyle", "auto") != "auto" or config.getoption("fulltrace", False):
        return
    path = lambda entry: Path(entry.path).resolve() if isinstance(entry.path, Path) else None  # noqa: E731
    own = excinfo.traceback.filter(lambda entry: (where := path(entry)) is not None and not _in_library(where))
    excinfo.traceback = own if len(own) else excinfo.traceback[-1:]
    rep.longrepr = excinfo.getrepr(style="short", chain=False)


def record_all_command(config: pytest.Config, model: str, mode: str, modules: list[str], run_modules: set[str]) -> str:
    """The one command that records (``once``) or re-records (``rewrite``) every test of
    ``modules`` with ``model``: their test files, or a folder the run collected whole (a folder
    it was given, or one inside) whose every test file of this run is among them; the run's other
    options that a record command repeats."""
    from embedsim.backends import key_hint
    from embedsim.plugin.cassette_context import run_options

    given = [where for arg in config.args
             if (where := (config.invocation_params.dir / str(arg).partition("::")[0]).resolve()).is_dir()]
    paths = []
    for module in dict.fromkeys(modules):
        folder = posixpath.dirname(module)
        whole = folder and any((config.rootpath / folder).resolve().is_relative_to(place) for place in given) \
            and all(posixpath.dirname(m) != folder or m in modules for m in run_modules)
        paths.append(folder if whole else module)
    options = run_options(config, model)
    if "--embedsim-model" not in options:
        options = ["--embedsim-model", model, *options]
    return (f"{key_hint(model)}python -m pytest {' '.join(map(shlex.quote, dict.fromkeys(paths)))} "
            f"{' '.join(map(shlex.quote, options))} --record-mode={mode} --snapshot-update")


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
        #: Test files of the tests skipped for want of a recording, per ``(model, mode)``, and the
        #: test files of every test reported, for the terminal summary's record commands.
        self.not_recorded: dict[tuple[str, str], list[str]] = {}
        self.run_modules: set[str] = set()
        #: ``{(model, host): [node ids]}`` of recordings written from hosts not the vendor's.
        self.foreign: dict[tuple[str, str], list[str]] = {}

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
        elif rep.skipped and (missing := not_recorded(call.excinfo)) is not None:
            skipped_not_recorded(item, rep, missing)
        elif rep.failed and call.excinfo is not None and call.excinfo.errisinstance(EmbedsimError):
            short_failure(item.config, rep, call.excinfo)
        if (why := outcomes.cause(call.excinfo)) and (rep.failed or rep.skipped):
            setattr(rep, outcomes.CAUSE_ATTRIBUTE, why)
        model = model_of(item)
        if rep.when == "setup" and rep.failed and (model is not None or SNAPSHOT_FIXTURES & set(getattr(item, "fixturenames", ()))):
            setattr(rep, NEVER_RAN_ATTRIBUTE, True)  # its body never ran: it compared no snapshot
        if rep.when == "teardown" and FOREIGN_RECORDING in item.stash:
            model_hosts = item.stash[FOREIGN_RECORDING]
            setattr(rep, FOREIGN_ATTRIBUTE, [model_hosts[0], list(model_hosts[1])])
        if self.settings.report_dir is None or model is None or item.stash.get(UNSELECTED, False):
            return rep
        outcome = item.stash.setdefault(OUTCOME, outcomes.new())
        outcomes.update(outcome, rep, call)
        if rep.skipped and NOT_APPLICABLE in item.stash:
            outcome.update(outcome="not applicable", reason=item.stash[NOT_APPLICABLE])
        if rep.when == "teardown":
            from embedsim import report

            fragment = report.Fragment(nodeid=item.nodeid, module=item.nodeid.split("::")[0],
                                       test=base_test_name(item, model), model=model, time=time.time(),
                                       order=item.stash.get(ORDER, 0), doc=_summary_line(item), **outcome)
            report.write_fragment(self.settings.report_dir, fragment, item.stash.get(EXPERIMENT, None))
        return rep

    @pytest.hookimpl(trylast=True)  # after syrupy's own, which took the test as failed
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        module = report.nodeid.split("::")[0]
        self.run_modules.add(module)
        if report.skipped and (missing := getattr(report, NOT_RECORDED_ATTRIBUTE, "")):
            model, _, mode = missing.rpartition(" ")
            self.not_recorded.setdefault((model, mode), []).append(module)
        if found := getattr(report, FOREIGN_ATTRIBUTE, None):
            model, hosts = found
            for host in hosts:
                self.foreign.setdefault((model, host), []).append(report.nodeid)
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
        lines = []
        if not settings.configured and config.stash.get(USED, False):
            lines.append(
                f"embedsim: not configured in this project (no [tool.embedsim] table, embedsim_* ini key or "
                f"--embedsim-* option); its fixtures used the defaults: {settings.summary(record_mode(config))}")
        order = {model: n for n, model in enumerate(settings.models)}
        for (model, mode), modules in sorted(self.not_recorded.items(), key=lambda kv: (order.get(kv[0][0], len(order)), kv[0])):
            tests = f"{len(modules)} test{'' if len(modules) == 1 else 's'}"
            what = f"{tests} not recorded yet; record" if mode == "once" else f"{tests} skipped, no key to re-record; re-record"
            lines.append(f"embedsim: {model}: {what} them all with: "
                         f"{record_all_command(config, model, mode, modules, self.run_modules)}")
        if (folder := report_dir(config, settings)) is not None:
            lines.append(f"embedsim report: {folder / 'index.html'}")
        if lines:
            terminalreporter.write_sep("=", "embedsim")
        for line in lines:
            terminalreporter.write_line(line)
        self._foreign_summary(terminalreporter)

    def _foreign_summary(self, terminalreporter: Any) -> None:
        """Recordings written from a host that is not the vendor's official one (a company gateway
        may be legitimate: a warning, not a refusal), named by model and host."""
        if not self.foreign:
            return
        from embedsim.backends import find
        from embedsim.recording.wire import shown_hosts

        terminalreporter.section("embedsim: recorded from a host that is not the vendor's", sep="=", yellow=True)
        for (model, host), nodeids in sorted(self.foreign.items()):
            spec = find(model)
            official = shown_hosts(spec.wire.official_hosts if spec is not None and spec.wire is not None else ())
            tests = ", ".join(nodeids[:3]) + (f" and {len(nodeids) - 3} more" if len(nodeids) > 3 else "")
            terminalreporter.write_line(
                f"WARNING: {model} recorded from {host}, not {official}: {len(nodeids)} cassette(s) ({tests}); "
                f"keep them only if {host} serves {model} itself (a company gateway), else re-record them "
                "without the base URL", yellow=True)
