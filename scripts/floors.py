"""Print pip constraints pinning every direct dependency of embedsim at its declared floor.

    python3 scripts/floors.py [EXTRA ...] > floors.txt      # default extras: test
    pip install -c floors.txt -e '.[test]'

Reads ``pyproject.toml`` (``[project] dependencies`` and the named optional-dependency groups);
each requirement must declare a ``>=`` floor, which becomes ``name==floor``. ``.ci/run`` runs the
suite a second time in such an environment, so the declared lower bounds are tested.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([^;]*)")


def floor(requirement: str) -> str:
    """``'numpy>=1.26,<3'`` -> ``'numpy==1.26'``; a requirement without ``>=`` is an error."""
    match = REQUIREMENT.match(requirement)
    found = re.search(r">=\s*([^,\s]+)", match.group(2)) if match else None
    if found is None:
        raise SystemExit(f"{PYPROJECT.name}: {requirement!r} declares no '>=' floor")
    return f"{match.group(1)}=={found.group(1)}"


def floors(extras: list[str]) -> list[str]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    groups = project.get("optional-dependencies", {})
    unknown = [extra for extra in extras if extra not in groups]
    if unknown:
        raise SystemExit(f"unknown extra(s): {', '.join(unknown)}; known: {', '.join(groups)}")
    return [floor(r) for r in [*project["dependencies"], *(r for extra in extras for r in groups[extra])]]


if __name__ == "__main__":
    print("\n".join(floors(sys.argv[1:] or ["test"])))
