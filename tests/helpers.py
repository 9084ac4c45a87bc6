"""Helpers shared by test modules (``tests/`` is on ``sys.path``: pytest's default import mode
puts a test module's folder there)."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Inner-project code defining ``swatch(name, rgb, tone)``: a plain 48x48 PNG image item labelled with its tone.
SWATCH = """
import io
from PIL import Image
from embedsim.inputs.items import item_from_bytes

def swatch(name, rgb, tone):
    buffer = io.BytesIO()
    Image.new("RGB", (48, 48), rgb).save(buffer, format="PNG")
    return item_from_bytes(buffer.getvalue(), name, {"tone": tone})
"""


def record_then_change(pytester: pytest.Pytester, control: Path, recorded: str, changed: str) -> pytest.RunResult:
    """Record the project's snapshots (``--snapshot-update``) with ``control`` holding ``recorded``,
    then run it with ``changed`` there: the result of that run, which fails."""
    control.write_text(recorded)
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=1)
    control.write_text(changed)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    return result
