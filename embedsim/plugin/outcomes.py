"""A test's outcome as data: what its report fragment says, read from pytest's reports and
the exception raised - never from the text of a failure.

One dict per test (:func:`new`, updated by :func:`update` for each of setup / call /
teardown): ``outcome`` (``passed`` ``failed`` ``error`` ``skipped`` ``xfailed`` ``xpassed``),
``reason`` (one line), ``duration`` (seconds of the call) and ``cause`` (``"recording"``
when an :class:`~embedsim.errors.RecordingError` made the test fail or skip, else ``""``).
"""

from __future__ import annotations

from typing import Any

import pytest

from embedsim.errors import RecordingError, in_chain

#: The attribute of a :class:`pytest.TestReport` carrying :func:`cause` (serialised with the
#: report, so pytest-xdist brings it to the controller).
CAUSE_ATTRIBUTE = "embedsim_cause"


def new() -> dict[str, Any]:
    return {"outcome": "passed", "reason": "", "duration": 0.0, "cause": ""}


def cause(excinfo: pytest.ExceptionInfo[BaseException] | None) -> str:
    """``"recording"`` when the exception, or one it was raised from or while handling, is
    a :class:`RecordingError`; else ``""``."""
    return "recording" if in_chain(excinfo.value if excinfo is not None else None, RecordingError) else ""


def update(outcome: dict[str, Any], rep: pytest.TestReport, call: pytest.CallInfo[None]) -> None:
    """Fold the report of one phase into ``outcome``; the first failure or skip wins."""
    if rep.when == "call":
        outcome["duration"] = round(rep.duration, 4)
    why = getattr(rep, CAUSE_ATTRIBUTE, "")
    if hasattr(rep, "wasxfail"):
        outcome.update(outcome="xfailed" if rep.skipped else "xpassed", reason=rep.wasxfail)
    elif rep.skipped and outcome["outcome"] == "passed":
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        outcome.update(outcome="skipped", reason=reason.removeprefix("Skipped: "), cause=why)
    elif rep.failed and outcome["outcome"] not in ("failed", "error"):
        text = str(rep.longrepr).strip()
        # a call that fails without raising is pytest's strict XPASS of an xfail mark
        state = ("xpassed" if call.excinfo is None else "failed") if rep.when == "call" else "error"
        outcome.update(outcome=state, reason=text.splitlines()[-1][:300] if text else "", cause=why)
