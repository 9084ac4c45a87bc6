"""pytest plugin for pytester's inner runs: library modules keep one identity for the process.

pytester resets ``sys.modules`` after each in-process inner run and after the test, which also
drops a library module first imported inside an inner run (``httpcore2``, lazily, on the first
HTTP client) while modules that stay keep its classes (``httpx2``'s cached exception map): a
fresh import makes new classes, and a timeout escapes unmapped. Only the inner project's own
modules (its test files and conftests) are meant to go. This plugin notes every other module
when an inner run ends, and :data:`LIBRARY_MODULES`, first on ``sys.meta_path``, gives the same
module object back when it is imported again.
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


def _comes_from(module: ModuleType, project: str) -> bool:
    """Whether ``module`` was loaded from a file or folder under ``project``."""
    places = [getattr(module, "__file__", None) or "", *(getattr(module, "__path__", None) or ())]
    return any(str(place).startswith(project) for place in places)


class LibraryModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Modules seen after an inner run, given back on a later import instead of a new copy."""

    def __init__(self) -> None:
        self.modules: dict[str, ModuleType] = {}

    def remember(self, project: Path) -> None:
        """Note every module now imported that does not come from ``project``."""
        prefix = str(project.resolve())
        for name, module in list(sys.modules.items()):
            if name not in self.modules and isinstance(module, ModuleType) and not _comes_from(module, prefix):
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


def pytest_unconfigure(config: pytest.Config) -> None:
    """An inner run ends: note its library modules before pytester drops them."""
    LIBRARY_MODULES.remember(config.invocation_params.dir)
