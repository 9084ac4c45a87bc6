"""pytest plugin for pytester's inner runs: library modules keep one identity for the process.

pytester resets ``sys.modules`` after each in-process inner run and after the test, which also
drops a library module first imported inside an inner run (``httpcore2``, lazily, on the first
HTTP client) while modules that stay keep its classes (``httpx2``'s cached exception map): a
fresh import makes new classes, and a timeout escapes unmapped. Only the inner project's own
modules (its test files and conftests) are meant to go. This plugin notes every other module
when an inner run ends, and :data:`LIBRARY_MODULES` gives the same module object back when it is
imported again. It must come before the inner run's assertion-rewriting hook on ``sys.meta_path``:
pytest marks the distribution of every pytest11 plugin for rewriting (hypothesis, syrupy, embedsim),
and that hook would execute their dropped modules afresh - for hypothesis, whose native
``hypothesis._native`` registers ``hypothesis._native.internal`` only when it is first loaded, the
inner run then fails in its terminal summary.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import pytest


def _comes_from(module: ModuleType, project: Path) -> bool:
    """Whether ``module`` was loaded from a file or folder under ``project``."""
    try:
        places = [getattr(module, "__file__", None) or "", *(getattr(module, "__path__", None) or ())]
    except Exception:
        places = [getattr(module, "__file__", None) or ""]
    return any(isinstance(place, str) and Path(place).is_relative_to(project) for place in places if place)


class LibraryModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Modules seen after an inner run, given back on a later import instead of a new copy."""

    def __init__(self) -> None:
        self.modules: dict[str, ModuleType] = {}

    def remember(self, project: Path) -> None:
        """Note every module now imported that neither comes from ``project`` nor is a conftest
        (pytest imports each project's ``conftest`` afresh: never give the outer one back)."""
        prefix = project.resolve()
        for name, module in list(sys.modules.items()):
            if (name not in self.modules and isinstance(module, ModuleType) and not _comes_from(module, prefix)
                    and Path(getattr(module, "__file__", None) or "").name != "conftest.py"):
                self.modules[name] = module

    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
                  ) -> importlib.machinery.ModuleSpec | None:
        return importlib.util.spec_from_loader(name, self) if name in self.modules else None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return self.modules[spec.name]

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self.modules[module.__name__].__spec__  # importlib set ours: keep its own


#: The process's one finder, first on ``sys.meta_path`` from before any pytester snapshot of it
#: (``tests/conftest.py`` imports this module at start-up; inner runs find it imported).
LIBRARY_MODULES = LibraryModules()
sys.meta_path.insert(0, LIBRARY_MODULES)


def pytest_plugin_registered() -> None:
    """An inner run registers this plugin (its first ``-p``) or a later one: keep the finder before
    the rewriting hook that run installed, which loads the ``-p`` and entry-point plugins after this."""
    if sys.meta_path[0] is not LIBRARY_MODULES:
        sys.meta_path.remove(LIBRARY_MODULES)
        sys.meta_path.insert(0, LIBRARY_MODULES)


def pytest_unconfigure(config: pytest.Config) -> None:
    """An inner run ends: note its library modules before pytester drops them."""
    LIBRARY_MODULES.remember(config.invocation_params.dir)
