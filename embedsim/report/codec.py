"""The report's JSON, in one place: :func:`to_json` and :func:`from_json` follow the type
annotations of the report's dataclasses (:mod:`embedsim.report.records`,
:mod:`embedsim.report.schema`), so a field added there is written, read back and checked
with no other change.

Types understood: dataclasses, ``str``, ``int``, ``float``, ``bool``, ``None``, unions,
``list[X]``, ``tuple[X, ...]`` / ``tuple[X, Y]`` (JSON arrays), ``dict[str, X]`` and 2-D
``np.ndarray`` fields of a dataclass with ``row_labels`` and ``col_labels`` (rows of values
rounded to 6 decimals, or above :data:`TABLE_MAX_CELLS` cells little-endian float32 as base64
in ``<field>_float32``, the rows then empty). A missing field with a default takes it; a key
no field names is ignored.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import importlib
import sys
import types
import typing
from typing import Any, TypeVar

import numpy as np

#: The version of the report's JSON (fragments and ``report.json``): raised when a field is
#: renamed, removed or changes meaning; a fragment of another version is not read.
SCHEMA_VERSION = 1
#: A matrix with more cells is stored compactly (float32 as base64, its rows empty) and shown by
#: its heatmap only, without a table of values.
TABLE_MAX_CELLS = 10_000

T = TypeVar("T")


class SchemaError(ValueError):
    """A JSON value that does not fit the report's schema; the message names where."""


def to_json(value: Any) -> Any:
    """``value`` (a dataclass of the report, or what its fields hold) as JSON data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if isinstance(item, np.ndarray):
                out.update(encode_values(item, f.name))
            elif item is not None or f.name not in _array_fields(type(value)):
                out[f.name] = to_json(item)
        return out
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def from_json(kind: type[T], data: Any, where: str = "the record") -> T:
    """``data`` (parsed JSON) as a ``kind``, checked field by field; :class:`SchemaError`
    names the first value that does not fit (``where`` names ``data``)."""
    return typing.cast(T, _read(kind, data, where))


def encode_values(values: Any, key: str = "values") -> dict[str, Any]:
    """``{key: rows of values}`` (rounded to 6 decimals), or above :data:`TABLE_MAX_CELLS` cells
    ``{key: [], key + "_float32": base64 of the little-endian float32 values}``."""
    array = np.asarray(values)
    if array.size <= TABLE_MAX_CELLS:
        return {key: np.asarray(array, dtype=np.float64).round(6).tolist()}
    data = np.ascontiguousarray(array, dtype="<f4").tobytes()
    return {key: [], f"{key}_float32": base64.b64encode(data).decode("ascii")}


def has_table(values: np.ndarray) -> bool:
    """The values are listed in the JSON (not compact): the report shows them as a table."""
    return values.size <= TABLE_MAX_CELLS


def _where(parent: str, name: str) -> str:
    """How a message names field ``name`` of ``parent``: ``module``, ``checks[0].matrix``."""
    return name if parent.startswith("the ") else f"{parent}.{name}"


@functools.cache
def _hints(kind: type) -> dict[str, Any]:
    """The field types of ``kind``, its annotations evaluated in its module (imported again when
    ``sys.modules`` no longer holds it, as after an in-process pytest run's reset)."""
    module = sys.modules.get(kind.__module__) or importlib.import_module(kind.__module__)
    return typing.get_type_hints(kind, globalns=vars(module))


@functools.cache
def _array_fields(kind: type) -> frozenset[str]:
    """The fields of ``kind`` that hold an array (``np.ndarray`` or ``np.ndarray | None``)."""
    return frozenset(name for name, hint in _hints(kind).items()
                     if hint is np.ndarray or np.ndarray in typing.get_args(hint))


def _read(kind: Any, data: Any, where: str) -> Any:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return data
    if dataclasses.is_dataclass(kind):
        return _read_dataclass(kind, data, where)  # type: ignore[arg-type]
    if origin in (typing.Union, types.UnionType):
        if data is None and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return _read(arg, data, where)
            except SchemaError:
                continue
        raise SchemaError(f"{where} is not {' or '.join(_name(a) for a in args)}")
    if origin is list or origin is tuple:
        if not isinstance(data, list):
            raise SchemaError(f"{where} is not a list")
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(data) != len(args):
                raise SchemaError(f"{where} does not have {len(args)} values")
            return tuple(_read(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, data, strict=True)))
        items = [_read(args[0], v, f"{where}[{i}]") for i, v in enumerate(data)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(data, dict):
            raise SchemaError(f"{where} is not a JSON object")
        return {str(k): _read(args[1], v, f"{where}[{k!r}]") for k, v in data.items()}
    if kind is float:
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            return float(data)
    elif kind is int:
        if isinstance(data, int) and not isinstance(data, bool):
            return data
    elif kind in (str, bool):
        if isinstance(data, kind):
            return data
    else:
        raise TypeError(f"the report's schema has a type the codec does not know: {kind!r}")
    raise SchemaError(f"{where} is not {_name(kind)}")


def _name(kind: Any) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false",
            type(None): "null"}.get(kind, getattr(kind, "__name__", str(kind)))


def _read_dataclass(kind: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise SchemaError(f"{where} is not a JSON object")
    hints, arrays = _hints(kind), _array_fields(kind)
    values: dict[str, Any] = {}
    # arrays last: their shape is that of the labels read before them
    for f in sorted(dataclasses.fields(kind), key=lambda f: f.name in arrays):
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise SchemaError(f"{where} has no {f.name!r}")
        elif f.name in arrays:
            shape = (len(values.get("row_labels", ())), len(values.get("col_labels", ())))
            values[f.name] = _array(data, f.name, shape, _where(where, f.name))
        else:
            values[f.name] = _read(hints[f.name], data[f.name], _where(where, f.name))
    return kind(**values)


def _array(data: dict[str, Any], key: str, shape: tuple[int, int], where: str) -> np.ndarray:
    """The ``shape`` float64 array :func:`encode_values` wrote under ``key``."""
    try:
        if data.get(f"{key}_float32"):
            raw = base64.b64decode(data[f"{key}_float32"], validate=True)
            return np.frombuffer(raw, dtype="<f4").astype(np.float64).reshape(shape)
        return np.asarray(data[key], dtype=np.float64).reshape(shape)
    except (ValueError, TypeError) as exc:
        raise SchemaError(f"{where} is not a {shape[0]} x {shape[1]} matrix of numbers") from exc
