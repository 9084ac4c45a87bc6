"""The plugin's settings: command line > ini key > ``[tool.embedsim]`` > default.

Every option lives in the ``embedsim`` group of ``pytest --help`` and has an ini key
of the same name with ``embedsim_`` instead of ``--embedsim-`` (``embedsim_models``
for the repeatable ``--embedsim-model``). The same keys without the prefix may
also go into a ``[tool.embedsim]`` table of the ``pyproject.toml`` pytest uses as its
configfile (or the one beside its ini file; without a configfile, the rootdir's)::

    [tool.embedsim]
    models = ["pixels", "gemini-embedding-2-preview"]
    dimension = 768

A value that does not fit its key (``dimension = true``, ``tolerance = nan``,
``models = 5``) is a usage error naming the key, where it was set, and the value.
Folders are relative to the file that sets them (the rootdir for the command line).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from embedsim import settings as values
from embedsim.backends import DEFAULT_MODEL, remote_defaults
from embedsim.backends.base import DEFAULT_DIMENSION
from embedsim.errors import InputError
from embedsim.snapshot import DEFAULT_IMAGE_TOLERANCE, DEFAULT_TOLERANCE

DEFAULT_CASSETTE_DIR = "cassettes"


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
    #: Seconds one call attempt of a remote model may take (0: no limit); ``None``: the backend's default.
    timeout: float | None = None
    #: The API version remote models are asked on (e.g. ``v1beta``); ``None``: the backend's default.
    api_version: str | None = None
    #: ``(old, new)`` model pairs the report compares; empty: each model against the one before it.
    compare: tuple[tuple[str, str], ...] = ()
    #: True when the project configures embedsim: a ``[tool.embedsim]`` table, an
    #: ``embedsim_*`` ini key or an ``--embedsim-*`` option.
    configured: bool = False
    #: Confidence at which every expectation's bootstrap interval must clear its threshold
    #: (``--embedsim-confidence``); None: the point estimates decide.
    confidence: float | None = None
    #: Seconds between two polls of a batch job (``--embedsim-batch``); ``None``: online calls.
    batch: float | None = None

    def batch_options(self, cassette: Path) -> dict[str, Any]:
        """``batch=`` for a remote backend's factory in batch mode (its jobs' names kept in
        ``<cassette stem>.batch.json`` beside the cassette), else nothing."""
        if self.batch is None:
            return {}
        from embedsim.backends.batch_mode import BatchMode

        return {"batch": BatchMode(cassette.with_name(cassette.stem + ".batch.json"), self.batch)}

    def remote_options(self) -> dict[str, Any]:
        """The options a remote backend's factory gets: ``timeout`` and ``api_version`` when set."""
        return {k: v for k, v in (("timeout", self.timeout), ("api_version", self.api_version)) if v is not None}

    def summary(self, record_mode: str) -> str:
        """One line: models, dimension, cassette folder and record mode."""
        dimension = self.dimension if self.dimension is not None else "backend default"
        return (f"models {', '.join(self.selected)}; dimension {dimension}; "
                f"cassettes {self.cassette_dir} (record mode {record_mode})")


@dataclass(frozen=True)
class Source:
    """Where a value was set: its name there, and the folder relative paths start from."""

    name: str
    base: Path


# --- value checks: each takes (value, key, source) and returns the value or raises UsageError ---


def _refuse(key: str, wanted: str, value: Any, source: Source) -> pytest.UsageError:
    shown = "a table" if isinstance(value, dict) else repr(value)
    return pytest.UsageError(f"embedsim: {key} must be {wanted}, got {shown} ({source.name})")


def _checked(check: Callable[[Any], Any]) -> Callable[[Any, str, Source], Any]:
    """The shared check of :mod:`embedsim.settings`, its refusals as usage errors naming key and source."""

    def checked(value: Any, key: str, source: Source) -> Any:
        try:
            return check(value)
        except values.BadValue as exc:
            raise _refuse(key, exc.wanted, value, source) from None
        except InputError as exc:  # an unknown model id
            raise pytest.UsageError(f"embedsim: {exc} ({source.name})") from None

    return checked


_models = _checked(values.model_ids)
_dimension = _checked(values.positive_int)
_tolerance = _checked(values.non_negative)
_seconds = _checked(values.seconds)
_api_version = _checked(values.api_version)
_pairs = _checked(values.model_pairs)
_confidence = _checked(values.confidence)


def _folder(value: Any, key: str, source: Source) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise _refuse(key, "a folder name", value, source)
    return source.base / value


@dataclass(frozen=True)
class Option:
    """An ``--embedsim-*`` option, its ini key and ``[tool.embedsim]`` key, and its check."""

    flag: str
    ini: str
    key: str
    check: Callable[[Any, str, Source], Any]
    help: str
    #: What ``--help`` shows as the value (default: the flag's last word).
    metavar: str = ""


OPTIONS: tuple[Option, ...] = (
    Option("--embedsim-model", "embedsim_models", "models", _models,
           "Model id to run embedder/experiment tests with; repeat or comma-separate for "
           "several. Overrides the configured list (ini 'embedsim_models', default: pixels)."),
    Option("--embedsim-dimension", "embedsim_dimension", "dimension", _dimension,
           "Output dimensionality requested from the models (default: each backend's own, "
           f"{DEFAULT_DIMENSION} for pixels and Gemini)."),
    Option("--embedsim-cassette-dir", "embedsim_cassette_dir", "cassette_dir", _folder,
           "Folder of the cassettes, relative to the rootdir (in a config file: to that file); they are "
           "stored as <dir>/<model id>/<test module>/<test name>.yaml (default: cassettes)."),
    Option("--embedsim-tolerance", "embedsim_tolerance", "tolerance", _tolerance,
           f"Absolute tolerance of matrix snapshots (default: {DEFAULT_TOLERANCE:g})."),
    Option("--embedsim-image-tolerance", "embedsim_image_tolerance", "image_tolerance", _tolerance,
           f"RMS tolerance (0-255) of heatmap snapshots (default: {DEFAULT_IMAGE_TOLERANCE:g})."),
    Option("--embedsim-timeout", "embedsim_timeout", "timeout", _seconds,
           f"Seconds one call attempt to a remote model may take; the backend's retries then apply; 0: no "
           f"limit (default: the backend's own, {remote_defaults('default_timeout', ' s')})."),
    Option("--embedsim-api-version", "embedsim_api_version", "api_version", _api_version,
           f"API version remote models are asked on (default: the backend's own, "
           f"{remote_defaults('default_api_version')}). Cassettes replay whatever the version."),
    Option("--embedsim-confidence", "embedsim_confidence", "confidence", _confidence,
           "Require every expectation's bootstrap interval at this level (e.g. 0.95) to clear its "
           "threshold; an estimate that passes while its interval does not is INCONCLUSIVE "
           "(the test fails). Default: none (0), the point estimates decide."),
    Option("--embedsim-batch", "embedsim_batch", "batch", _seconds,
           "Send remote models' items as batch jobs (half the online price, answers within hours), polled every "
           "SECONDS (e.g. 60); each job's name is kept in <test>.batch.json beside the cassette, so a rerun resumes "
           "it. Only for backends with a batch service (Gemini Developer API: google-genai's experimental "
           "batches.create_embeddings). Default: 0, online calls.", metavar="SECONDS"),
    Option("--embedsim-report", "embedsim_report", "report", _folder,
           "Write a report folder (heatmaps per model, index.html and index.md comparing "
           "the models side by side) to this directory, relative to the rootdir (in a config file: to that file)."),
    Option("--embedsim-compare", "embedsim_compare", "compare", _pairs,
           "Pairs of models the report compares (what changed from OLD to NEW), as OLD:NEW, comma-separated "
           "(default: each configured model against the one before it)."),
)


def add_options(parser: pytest.Parser) -> None:
    """Register the ``embedsim`` option group and its ini keys."""
    group = parser.getgroup("embedsim", "embedsim: experiments on embedding models")
    for option in OPTIONS:
        if option.flag == "--embedsim-model":
            group.addoption(option.flag, action="append", dest=option.ini, default=None, metavar="MODEL",
                            help=option.help)
            parser.addini(option.ini, "Model ids that embedder/experiment tests run with (default: pixels).",
                          type="args", default=None)
        else:
            group.addoption(option.flag, action="store", dest=option.ini, default=None,
                            metavar=option.metavar or option.flag.rsplit("-", 1)[-1].upper(), help=option.help)
            parser.addini(option.ini, option.help, default=None)


def pyproject_path(config: pytest.Config) -> Path:
    """The ``pyproject.toml`` whose ``[tool.embedsim]`` applies: pytest's configfile when it
    is one, else the one beside pytest's ini file, else the rootdir's."""
    inipath = config.inipath
    if inipath is not None and inipath.suffix == ".toml":
        return Path(inipath)
    return (Path(inipath).parent if inipath is not None else Path(config.rootpath)) / "pyproject.toml"


def _pyproject_table(path: Path) -> dict[str, Any] | None:
    """``[tool.embedsim]`` of ``path`` (``None`` when the file or the table is absent)."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        return None
    except (OSError, tomllib.TOMLDecodeError, RecursionError, UnicodeDecodeError) as exc:
        problem = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise pytest.UsageError(f"embedsim: cannot read {path}: {problem}") from None
    tool = data.get("tool")
    table = tool.get("embedsim") if isinstance(tool, dict) else None
    if table is not None and not isinstance(table, dict):
        raise pytest.UsageError(f"embedsim: tool.embedsim in {path} must be a table, got {table!r}")
    return table


def _lookup(config: pytest.Config, table: dict[str, Any] | None, path: Path, option: Option,
            cli: bool = True) -> tuple[Any, Source] | None:
    """The value of ``option`` and where it was set (command line > ini > table), or ``None``."""
    if cli and (value := config.getoption(option.ini, None)) not in (None, []):
        return value, Source(option.flag, Path(config.rootpath))
    if (value := config.getini(option.ini)) not in (None, "", []):
        inipath = config.inipath
        return value, Source(f"ini key {option.ini}" + (f" in {Path(inipath).name}" if inipath else ""),
                             Path(inipath).parent if inipath else Path(config.rootpath))
    if table is not None and option.key in table:
        return table[option.key], Source(f"[tool.embedsim] {option.key} in {path}", path.parent)
    return None


def load_settings(config: pytest.Config) -> Settings:
    """Resolve the settings of ``config`` (command line > ini > pyproject > default)."""
    path = pyproject_path(config)
    table = _pyproject_table(path)
    values: dict[str, Any] = {}
    for option in OPTIONS:
        found = _lookup(config, table, path, option)
        if found is not None:
            values[option.key] = option.check(found[0], option.key, found[1])
    models_option = OPTIONS[0]
    configured = _lookup(config, table, path, models_option, cli=False)
    models = models_option.check(configured[0], "models", configured[1]) if configured else (DEFAULT_MODEL,)
    selected = values.get("models") or models
    if not models or not selected:
        raise pytest.UsageError("embedsim: no model configured; e.g. --embedsim-model pixels")
    batch = values.get("batch") or None
    if batch is not None:
        _check_batch(selected)
    return Settings(
        models=models,
        selected=selected,
        dimension=values.get("dimension"),
        cassette_dir=values.get("cassette_dir", Path(config.rootpath) / DEFAULT_CASSETTE_DIR),
        tolerance=values.get("tolerance", DEFAULT_TOLERANCE),
        image_tolerance=values.get("image_tolerance", DEFAULT_IMAGE_TOLERANCE),
        report_dir=values.get("report"),
        timeout=values.get("timeout"),
        api_version=values.get("api_version"),
        compare=values.get("compare", ()),
        confidence=values.get("confidence"),
        batch=batch,
        configured=table is not None or bool(values),
    )


def _check_batch(models: tuple[str, ...]) -> None:
    """Batch mode with a remote model whose backend has no batch service: a usage error."""
    from embedsim.backends import resolve
    from embedsim.backends.batch_mode import check_batch

    for model in models:
        spec = resolve(model)
        if not spec.local:
            try:
                check_batch(spec, model, "--embedsim-batch")
            except InputError as exc:
                raise pytest.UsageError(f"embedsim: {exc}") from None
