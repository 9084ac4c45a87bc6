"""The plugin's settings: command line > ini key > ``[tool.embedsim]`` > default.

Every option lives in the ``embedsim`` group of ``pytest --help`` and has an ini key
of the same name with ``embedsim_`` instead of ``--embedsim-`` (``embedsim_models``
for the repeatable ``--embedsim-model``). The same keys without the prefix may
also go into a ``[tool.embedsim]`` table of the rootdir's ``pyproject.toml``::

    [tool.embedsim]
    models = ["pixels", "gemini-embedding-2-preview"]
    dimension = 768
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from embedsim.backends import DEFAULT_MODEL, check_model_id
from embedsim.backends.base import DEFAULT_DIMENSION
from embedsim.errors import InputError

DEFAULT_CASSETTE_DIR = "cassettes"
#: Absolute tolerance of matrix snapshots (cosine similarity units).
DEFAULT_TOLERANCE = 1e-4
#: RMS tolerance of heatmap snapshots (0-255 pixel units, as pytest-mpl's ``tolerance``).
DEFAULT_IMAGE_TOLERANCE = 2.0


@dataclass(frozen=True)
class Settings:
    """Resolved embedsim settings of one pytest run."""

    #: The configured models (ini / pyproject / default); tests are generated for these
    #: and for :attr:`selected` ones.
    models: tuple[str, ...] = (DEFAULT_MODEL,)
    #: The models this run uses (``--embedsim-model``, else :attr:`models`); the other
    #: models' tests are skipped, so syrupy keeps their snapshots.
    selected: tuple[str, ...] = (DEFAULT_MODEL,)
    #: ``None``: each backend's own default (:attr:`BackendSpec.default_dimension`).
    dimension: int | None = None
    cassette_dir: Path = Path(DEFAULT_CASSETTE_DIR)
    tolerance: float = DEFAULT_TOLERANCE
    image_tolerance: float = DEFAULT_IMAGE_TOLERANCE
    report_dir: Path | None = None


#: (option, ini key, [tool.embedsim] key, help)
_OPTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("--embedsim-model", "embedsim_models", "models",
     "Model id to run embedder/experiment tests with; repeat or comma-separate for "
     "several. Overrides the configured list (ini 'embedsim_models', default: pixels)."),
    ("--embedsim-dimension", "embedsim_dimension", "dimension",
     "Output dimensionality requested from the models (default: each backend's own, "
     f"{DEFAULT_DIMENSION} for pixels and Gemini)."),
    ("--embedsim-cassette-dir", "embedsim_cassette_dir", "cassette_dir",
     "Folder of the cassettes, relative to the rootdir; they are stored as "
     "<dir>/<model id>/<test module>/<test name>.yaml (default: cassettes)."),
    ("--embedsim-tolerance", "embedsim_tolerance", "tolerance",
     f"Absolute tolerance of matrix snapshots (default: {DEFAULT_TOLERANCE:g})."),
    ("--embedsim-image-tolerance", "embedsim_image_tolerance", "image_tolerance",
     f"RMS tolerance (0-255) of heatmap snapshots (default: {DEFAULT_IMAGE_TOLERANCE:g})."),
    ("--embedsim-report", "embedsim_report", "report",
     "Write a report folder (heatmaps per model, index.html and index.md comparing "
     "the models side by side) to this directory, relative to the rootdir."),
)


def add_options(parser: pytest.Parser) -> None:
    """Register the ``embedsim`` option group and its ini keys."""
    group = parser.getgroup("embedsim", "embedsim: experiments on embedding models")
    for option, ini, _key, help_text in _OPTIONS:
        dest = ini
        if option == "--embedsim-model":
            group.addoption(option, action="append", dest=dest, default=None, metavar="MODEL", help=help_text)
            parser.addini(ini, "Model ids that embedder/experiment tests run with (default: pixels).",
                          type="args", default=None)
        else:
            group.addoption(option, action="store", dest=dest, default=None,
                            metavar=option.rsplit("-", 1)[-1].upper(), help=help_text)
            parser.addini(ini, help_text, default=None)


def _pyproject_table(config: pytest.Config) -> dict[str, Any]:
    path = Path(config.rootpath) / "pyproject.toml"
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    table = data.get("tool", {}).get("embedsim", {})
    return table if isinstance(table, dict) else {}


def _value(config: pytest.Config, table: dict[str, Any], ini: str, key: str, cli: bool = True) -> Any:
    option = config.getoption(ini, None) if cli else None
    if option not in (None, []):
        return option
    value = config.getini(ini)
    if value not in (None, "", []):
        return value
    return table.get(key)


def _split_models(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    models: list[str] = []
    for entry in value:
        for model in str(entry).replace(",", " ").split():
            if model not in models:
                models.append(model)
    return tuple(models)


def _number(value: Any, kind: type, name: str) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise pytest.UsageError(f"embedsim: {name} must be a {kind.__name__}, got {value!r}") from None
    if number < 0:
        raise pytest.UsageError(f"embedsim: {name} must not be negative, got {value!r}")
    return number


def load_settings(config: pytest.Config) -> Settings:
    """Resolve the settings of ``config`` (command line > ini > pyproject > default)."""
    table = _pyproject_table(config)
    values = {key: _value(config, table, ini, key) for _opt, ini, key, _h in _OPTIONS}
    root = Path(config.rootpath)
    configured = _value(config, table, "embedsim_models", "models", cli=False)
    models = _split_models(configured) if configured else (DEFAULT_MODEL,)
    selected = _split_models(values["models"]) if values["models"] else models
    if not models or not selected:
        raise pytest.UsageError("embedsim: no model configured; e.g. --embedsim-model pixels")
    for model in dict.fromkeys(models + selected):
        try:
            check_model_id(model)
        except InputError as exc:
            raise pytest.UsageError(f"embedsim: {exc}") from None
    report = values["report"]
    if values["dimension"] is not None and _number(values["dimension"], int, "dimension") < 1:
        raise pytest.UsageError(f"embedsim: dimension must be at least 1, got {values['dimension']!r}")
    return Settings(
        models=models,
        selected=selected,
        dimension=_number(values["dimension"], int, "dimension") if values["dimension"] is not None else None,
        cassette_dir=root / str(values["cassette_dir"] or DEFAULT_CASSETTE_DIR),
        tolerance=_number(values["tolerance"] if values["tolerance"] is not None else DEFAULT_TOLERANCE,
                          float, "tolerance"),
        image_tolerance=_number(values["image_tolerance"] if values["image_tolerance"] is not None
                                else DEFAULT_IMAGE_TOLERANCE, float, "image tolerance"),
        report_dir=(root / str(report)) if report else None,
    )
