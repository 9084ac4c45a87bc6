"""The value checks of embedsim's settings, one per kind of value, shared by the pytest plugin
(:mod:`embedsim.plugin.settings`: options, ini keys, ``[tool.embedsim]``) and the command line
(:mod:`embedsim.cli.parser`). This module does not import pytest.

Each check takes the value as given (a string from a command line or an ini file, or a TOML
value) and returns it parsed, or raises :class:`BadValue` saying what was wanted; each front
end words the refusal its own way (a usage error naming the key and where it was set, an
``argparse`` error naming the option). An unknown model id is the registry's
:class:`~embedsim.errors.InputError` (:func:`embedsim.backends.check_model_id`).
"""

from __future__ import annotations

import math
import re
from typing import Any

from embedsim.backends import check_model_id
from embedsim.backends.base import MAX_TIMEOUT
from embedsim.errors import InputError


class BadValue(InputError):
    """A setting's value does not fit: :attr:`wanted` says what it must be (``"at least 1"``)."""

    def __init__(self, wanted: str) -> None:
        super().__init__(f"must be {wanted}")
        self.wanted = wanted


def positive_int(value: Any) -> int:
    """A whole number, at least 1 (an output dimension, a grid's rows); digits in a string too."""
    if isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]+\s*", value):
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise BadValue("a int")
    if number < 1:
        raise BadValue("at least 1")
    return number


def non_negative(value: Any) -> float:
    """A finite number, 0 or more (a tolerance; seconds, where 0 means no limit)."""
    try:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError
        number = float(value)
    except ValueError:
        raise BadValue("a float") from None
    if not math.isfinite(number):
        raise BadValue("a finite number")
    if number < 0:
        raise BadValue("not negative")
    return number


def seconds(value: Any) -> float:
    """Seconds one call attempt of a remote model may take: 0 (no limit) up to
    :data:`~embedsim.backends.base.MAX_TIMEOUT` (a day)."""
    number = non_negative(value)
    if number > MAX_TIMEOUT:
        raise BadValue(f"at most {MAX_TIMEOUT:g} seconds (a day; 0: no limit)")
    return number


def api_version(value: Any) -> str:
    """An API version such as ``v1`` or ``v1beta`` (surrounding blanks dropped)."""
    if not isinstance(value, str) or not re.fullmatch(r"v[0-9]+[a-z0-9]*", value.strip()):
        raise BadValue("an API version such as v1 or v1beta")
    return value.strip()


def confidence(value: Any) -> float | None:
    """A confidence level below 1 (``0.95``); 0 for none (``None``)."""
    number = non_negative(value)
    if number >= 1:
        raise BadValue("below 1 (e.g. 0.95; 0 for none)")
    return number or None


def model_ids(value: Any) -> tuple[str, ...]:
    """Model ids: one string (comma- or blank-separated) or a list of them; each one served by an
    installed backend (else the registry's :class:`~embedsim.errors.InputError`)."""
    entries = [value] if isinstance(value, str) else value
    if not isinstance(entries, (list, tuple)) or not all(isinstance(e, str) for e in entries):
        raise BadValue("a model id or a list of model ids")
    models = tuple(dict.fromkeys(m for entry in entries for m in entry.replace(",", " ").split()))
    if not models:
        raise BadValue("a model id or a list of model ids")
    for model in models:
        check_model_id(model)
    return models


def model_pairs(value: Any) -> tuple[tuple[str, str], ...]:
    """``OLD:NEW`` model pairs (comma- or blank-separated, or a list), each id served by a backend."""
    wanted = "OLD:NEW model pairs"
    entries = [value] if isinstance(value, str) else value
    if not isinstance(entries, (list, tuple)) or not all(isinstance(e, str) for e in entries):
        raise BadValue(wanted)
    pairs = []
    for pair in dict.fromkeys(p for entry in entries for p in entry.replace(",", " ").split()):
        old, sep, new = _split_pair(pair)
        if not (sep and old and new):
            break
        pairs.append((model_ids(old)[0], model_ids(new)[0]))
    else:
        if pairs:
            return tuple(pairs)
    raise BadValue(f"{wanted}, e.g. gemini-embedding-2-preview:gemini-embedding-2")


def _split_pair(pair: str) -> tuple[str, str, str]:
    """``OLD:NEW`` split at the first ``:`` that leaves a served model id on both sides (ids such
    as ``hf:openai/clip-vit-base-patch32`` hold a ``:`` themselves), else at the first ``:``."""
    from embedsim.backends import find

    for index in (i for i, ch in enumerate(pair) if ch == ":"):
        old, new = pair[:index], pair[index + 1:]
        if old and new and find(old) is not None and find(new) is not None:
            return old, ":", new
    return pair.partition(":")
