"""The backend registry: every model id resolves here, through one entry-point group.

Each installed package may publish backends under the entry-point group
``embedsim.backends``; each entry point names a :class:`~embedsim.backends.base.BackendSpec`::

    [project.entry-points."embedsim.backends"]
    my-backend = "my_package.embedsim_backend:SPEC"

A model id resolves to the first backend (by entry-point name) that lists it in
``model_ids``, else the first whose ``id_pattern`` matches it. This module is cheap to
import (no numpy); a backend's code is imported only by :func:`get_embedder`.

The entry points are read once, on first use; :func:`invalidate` forgets them (the pytest
plugin does at the start and end of each run, so a run sees the backends installed when it
starts, and an in-process run - pytester's - leaves its own behind).
"""

from __future__ import annotations

import difflib
import threading
import warnings
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from embedsim.backends.base import DEFAULT_DIMENSION, BackendSpec, Embedder
from embedsim.errors import InputError

if TYPE_CHECKING:
    from embedsim.inputs.items import Item

GROUP = "embedsim.backends"
#: The offline default: a deterministic baseline, not a semantic model.
DEFAULT_MODEL = "pixels"


_LOCK = threading.Lock()
_SPECS: tuple[BackendSpec, ...] | None = None


def _load() -> tuple[BackendSpec, ...]:
    specs: list[BackendSpec] = []
    for point in sorted(entry_points(group=GROUP), key=lambda p: p.name):
        try:
            spec = point.load()
        except Exception as exc:  # a broken third-party backend must not break every run
            warnings.warn(f"embedsim: cannot load backend entry point {point.name} = {point.value}: "
                          f"{type(exc).__name__}: {exc}", stacklevel=2)
            continue
        if not isinstance(spec, BackendSpec):
            warnings.warn(f"embedsim: backend entry point {point.name} = {point.value} is a "
                          f"{type(spec).__name__}, not an embedsim.backends.base.BackendSpec", stacklevel=2)
            continue
        if all(s.name != spec.name for s in specs):
            specs.append(spec)
    return tuple(specs)


def backends() -> tuple[BackendSpec, ...]:
    """The installed backends, by entry-point name (read on first use, until :func:`invalidate`)."""
    global _SPECS
    specs = _SPECS
    if specs is None:
        with _LOCK:
            if _SPECS is None:
                _SPECS = _load()
            specs = _SPECS
    return specs


def invalidate() -> None:
    """Forget the backends read so far: the next lookup reads the entry points again (after
    installing a backend into a running process, like :func:`importlib.invalidate_caches`)."""
    global _SPECS
    with _LOCK:
        _SPECS = None


def known_ids() -> list[str]:
    """Every listed model id of every backend, then the id patterns."""
    specs = backends()
    ids = [model for spec in specs for model in spec.model_ids]
    return ids + [f"any id matching {spec.id_pattern}" for spec in specs if spec.id_pattern]


def split_variant(model_id: str) -> tuple[str, int | None]:
    """``("gemini-embedding-2", 768)`` for the variant ``gemini-embedding-2@768`` (the model
    at that output dimension, its own cassettes and snapshots); ``(model_id, None)`` for a
    plain id. :class:`InputError` when the part after ``@`` is not a positive integer."""
    base, sep, size = model_id.partition("@")
    if not sep:
        return model_id, None
    if not (size.isascii() and size.isdigit()) or int(size) < 1 or not base:
        raise InputError(f"unknown model id {model_id!r}: a model variant is written <model id>@<output "
                         f"dimension>, e.g. {base or 'model'}@768")
    return base, int(size)


def naming(model_id: str, ids: Iterable[str]) -> str | None:
    """Which of ``ids`` names ``model_id``: the id itself, else - for a variant ``id@dimension``
    - its base id (naming every variant of it); ``None`` when none does. The one rule of the
    ``embedsim_models`` / ``embedsim_xfail`` markers and of an expectation's ``xfail=``."""
    ids = list(ids)
    return next((name for name in (model_id, model_id.partition("@")[0]) if name in ids), None)


def find(model_id: str) -> BackendSpec | None:
    """The backend serving ``model_id`` (or the variant ``model_id@dimension``), or ``None``."""
    model_id = model_id.partition("@")[0]
    specs = backends()
    return next((s for s in specs if model_id in s.model_ids), None) or next(
        (s for s in specs if s.matches(model_id)), None)


def resolve(model_id: str) -> BackendSpec:
    """The backend serving ``model_id``; :class:`InputError` listing the known ids otherwise."""
    spec = find(split_variant(model_id)[0]) if isinstance(model_id, str) else None
    if spec is None:
        listed = [model for s in backends() for model in s.model_ids]
        close = difflib.get_close_matches(str(model_id), listed, n=1)
        hint = f"use {close[0]!r} (the closest known id) or" if close else "no installed embedsim backend serves it;"
        raise InputError(f"unknown model id {model_id!r}: {hint} one of: {', '.join(known_ids())}")
    size = split_variant(model_id)[1]
    low, high = spec.dimensions
    if size is not None and not low <= size <= high:
        raise InputError(f"model variant {model_id!r}: {spec.name} gives output dimensions {low}..{high}")
    return spec


def check_model_id(model_id: str) -> None:
    """Raise :class:`InputError` for a model id no backend serves (a typo, say)."""
    resolve(model_id)


def is_local(model_id: str) -> bool:
    """True for models computed on this machine (no network, no cassette)."""
    return resolve(model_id).local


def remote_defaults(fact: str, unit: str = "") -> str:
    """Each remote backend's default of a :class:`~embedsim.backends.base.Wire` ``fact``, for help
    texts: ``"60 s for gemini"`` (``fact="default_timeout"``, ``unit=" s"``)."""
    values = [(spec.name, getattr(spec.wire, fact)) for spec in backends() if spec.wire is not None]
    return ", ".join(f"{value:g}{unit} for {name}" if isinstance(value, float) else f"{value}{unit} for {name}"
                     for name, value in values if value is not None) or "none installed"


def key_hint(model_id: str) -> str:
    """How a command line sets the key of ``model_id``: ``<its first key_env>=... `` (empty for local
    models and unknown ids)."""
    spec = find(model_id)
    return f"{spec.key_env[0]}=... " if spec is not None and spec.key_env else ""


def param_id(model_id: str) -> str:
    """``model_id`` as it appears in test names and snapshot files (:meth:`BackendSpec.param_id`;
    a variant ``id@dimension`` keeps its suffix; unknown ids as they are)."""
    base, sep, size = model_id.partition("@")
    spec = find(base)
    return (spec.param_id(base) if spec is not None else base) + sep + size


def check_items(model_id: str, items: Iterable[Item]) -> None:
    """Refuse, before any call, an item ``model_id`` cannot embed (no-op for unknown ids,
    e.g. a user's own :class:`Embedder` object)."""
    spec = find(model_id)
    if spec is not None:
        spec.check_items(model_id, list(items))


def get_embedder(model_id: str = DEFAULT_MODEL, dimension: int | None = None, **options: Any) -> Embedder:
    """Create the embedder for ``model_id`` (``dimension`` defaults to the backend's);
    ``options`` go to the backend's factory."""
    spec = resolve(model_id)
    base, size = split_variant(model_id)
    return spec.create(base, size or dimension, **options)


__all__ = ["DEFAULT_DIMENSION", "DEFAULT_MODEL", "GROUP", "BackendSpec", "Embedder", "backends", "check_items",
           "check_model_id", "find", "get_embedder", "invalidate", "is_local", "key_hint", "known_ids", "naming",
           "param_id", "remote_defaults", "resolve", "split_variant"]
