"""Model parametrization: the models a test runs with, their per-model xfail marks, and a
test's name without its model parameter (what cassettes, snapshots and the report use)."""

from __future__ import annotations

from typing import Any

import pytest

from embedsim.backends import check_model_id, naming, param_id
from embedsim.errors import ExpectationFailed, InputError
from embedsim.plugin import upstream
from embedsim.plugin.settings import Settings

#: The fixture (and parameter) naming the current model.
MODEL_PARAM = "embedsim_model"


def model_params(definition: Any, settings: Settings) -> list[Any]:
    """One ``pytest.param`` per model of the run (configured and selected), limited by the
    ``embedsim_models`` mark, with the ``embedsim_xfail`` marks turned into strict xfails."""
    models = list(dict.fromkeys(settings.models + settings.selected))
    only = definition.get_closest_marker("embedsim_models")
    if only is not None:
        _check_ids(definition, only)
        models = [m for m in models if _named(m, only.args)]
    xfails = list(definition.iter_markers("embedsim_xfail"))
    for mark in xfails:
        _check_ids(definition, mark)
    params = []
    for model in models:
        marks = []
        for mark in xfails:
            if _named(model, mark.args):
                reason = mark.kwargs.get("reason", "")
                marks.append(pytest.mark.xfail(reason=f"{model}: {reason}" if reason else model,
                                               strict=mark.kwargs.get("strict", True),
                                               raises=mark.kwargs.get("raises", ExpectationFailed)))
        params.append(pytest.param(model, marks=marks, id=param_id(model)))
    return params


def _check_ids(definition: Any, mark: pytest.Mark) -> None:
    """A marker names model ids, each one a backend serves (a typo is an error naming it, as
    ``--embedsim-model``'s, not a test silently left without models)."""
    if not mark.args:
        raise pytest.UsageError(f"{definition.nodeid}: {mark.name} needs model ids")
    for model in mark.args:
        try:
            check_model_id(model)
        except InputError as exc:
            raise pytest.UsageError(f"{definition.nodeid}: @pytest.mark.{mark.name}: {exc}") from None


def _named(model: str, ids: tuple[str, ...]) -> bool:
    """A marker's model ids name ``model`` (:func:`embedsim.backends.naming`)."""
    return naming(model, ids) is not None


def model_of(item: pytest.Item) -> str | None:
    """The model a collected test runs with, or ``None`` for a test without the fixtures."""
    parameters = upstream.parameters(item)
    return parameters.values.get(MODEL_PARAM) if parameters is not None else None


def base_test_name(item: pytest.Item, model: str) -> str:
    """The test's name without the model parameter (``TestX.test_y[other-params]``)."""
    name = getattr(item, "originalname", item.name)
    parameters = upstream.parameters(item)
    if parameters is not None:
        ident, model = parameters.id, param_id(model)
        if ident == model:
            ident = ""
        elif ident.startswith(model + "-"):
            ident = ident[len(model) + 1:]
        elif ident.endswith("-" + model):
            ident = ident[: -len(model) - 1]
        else:
            ident = ident.replace(f"-{model}-", "-", 1)
        if ident:
            name += f"[{ident}]"
    cls = getattr(item, "cls", None)
    return f"{cls.__name__}.{name}" if cls is not None else name
