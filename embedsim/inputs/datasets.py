"""A fixture folder described by a ``manifest.toml``: labelled items and labelled grids.

The manifest lists files relative to its folder::

    [[item]]                       # one file = one item
    id = "obama_1"                 # unique: the Item.id, its row / column label in matrices
    file = "obama_1.jpg"           # relative path that stays inside the folder
    labels = { person = "barack_obama", expression = "happy" }   # optional, strings

    [[grid]]                       # one R x C grid image, cut into tiles on demand
    id = "face16"                  # tiles are face16_01 ... face16_16
    file = "face16.jpg"
    rows = 4
    cols = 4
    labels = { person = "pexels_woman" }       # optional, shared by every tile
    tiles = [{ expression = "sad" }, ...]      # optional, one table per tile, reading order
    trim = false                               # optional, see embedsim.inputs.grid

Every file is read and checked when the dataset loads; grids are cut when asked for
(``dataset.grid("face16")``, or one tile as ``dataset["face16_03"]``). Tiles carry the
grid's labels plus their own.

Ids, label names and values are compared in Unicode NFC, so ``Å`` typed as U+212B, as
U+00C5 or as ``A`` + U+030A is one id (and two such ids in one manifest are duplicates).

Selecting by a label name or value that no candidate carries raises
:class:`InputError` listing the known values (a typo must not make an experiment pass
on an empty list); a valid combination that matches nothing gives an empty list.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, NoReturn

from embedsim.errors import InputError
from embedsim.inputs.grid import split_grid, tile_name
from embedsim.inputs.items import Item, load_item, read_regular_file

MANIFEST = "manifest.toml"
LabelQuery = str | Collection[str]

_ID_CHAR = re.compile(r"[\w.-]")
_ITEM_KEYS = {"id": str, "file": str, "labels": dict}
_GRID_KEYS = {**_ITEM_KEYS, "rows": int, "cols": int, "tiles": list, "trim": bool}
_REQUIRED = {"item": ("id", "file"), "grid": ("id", "file", "rows", "cols")}


@dataclass(frozen=True)
class Grid:
    """A grid image of a dataset and how to cut it."""

    image: Item
    rows: int
    cols: int
    tile_labels: tuple[Mapping[str, str], ...] | None
    trim: bool


@dataclass(frozen=True)
class Dataset:
    """The items and grids of one fixture folder, loaded from its ``manifest.toml``."""

    folder: Path
    items: tuple[Item, ...]
    grids: Mapping[str, Grid]

    @property
    def manifest(self) -> Path:
        return self.folder / MANIFEST

    @classmethod
    def load(cls, folder: str | Path) -> Dataset:
        """Read ``folder/manifest.toml`` and every file it lists."""
        folder = Path(folder)
        manifest = folder / MANIFEST
        if not folder.is_dir():
            where = f"{folder}" if folder.is_absolute() else f"{folder} (resolved to {folder.absolute()})"
            raise InputError(f"{where}: no such folder; give a fixture folder with a {MANIFEST} "
                             "(a relative path is taken from the working directory; to find it beside a test, "
                             "use Path(__file__).parent / ...)")
        table = _read_toml(manifest)
        unknown = sorted(set(table) - set(_REQUIRED))
        if unknown:
            raise InputError(
                f"{manifest}: unknown top-level key(s) {', '.join(unknown)}; "
                "use [[item]] and [[grid]] tables only"
            )
        entries = [_Entry(manifest, section, n, raw)
                   for section in _REQUIRED for n, raw in enumerate(_tables(table, section, manifest), 1)]
        if not entries:
            raise InputError(f"{manifest}: lists no [[item]] or [[grid]]; add at least one")
        _check_unique_ids(entries, manifest)
        items = tuple(e.load_item(folder) for e in entries if e.section == "item")
        grids = {e.id: e.load_grid(folder) for e in entries if e.section == "grid"}
        return cls(folder, items, grids)

    def __getitem__(self, key: str) -> Item:
        """The item, whole grid image or grid tile (``face16_01``) called ``key``."""
        key = _nfc(key)
        for item in self.items:
            if item.id == key:
                return item
        if key in self.grids:
            return self.grids[key].image
        tile_counts = {grid_id: grid.rows * grid.cols for grid_id, grid in self.grids.items()}
        if tile := _grid_of_tile(key, tile_counts):
            grid_id, number = tile
            return self.grid(grid_id)[number - 1]
        raise InputError(
            f"{self.manifest}: no item, grid or tile called {key!r}; known ids: {', '.join(self.ids)}"
        )

    @property
    def ids(self) -> list[str]:
        """Item ids then grid ids, in manifest order."""
        return [item.id for item in self.items] + list(self.grids)

    def select(self, **labels: LabelQuery) -> list[Item]:
        """Items whose labels match every ``name=value`` (a collection of values means any of them)."""
        return _select(self.items, labels, f"{self.manifest}: no [[item]]")

    def grid(self, grid_id: str, /, **labels: LabelQuery) -> list[Item]:
        """The tiles of grid ``grid_id`` in reading order, optionally filtered like :meth:`select`."""
        grid_id = _nfc(grid_id)
        if grid_id not in self.grids:
            known = ", ".join(self.grids) or "none"
            raise InputError(f"{self.manifest}: no [[grid]] with id {grid_id!r}; known grids: {known}")
        grid = self.grids[grid_id]
        try:
            tiles = split_grid(grid.image, grid.rows, grid.cols, grid.tile_labels, trim=grid.trim)
        except InputError as exc:
            raise InputError(f"{self.manifest}: [[grid]] {grid_id!r}: {exc}") from None
        return _select(tiles, labels, f"{self.manifest}: no tile of [[grid]] {grid_id!r}")


def _select(candidates: Sequence[Item], query: Mapping[str, LabelQuery], none_has: str) -> list[Item]:
    wanted: dict[str, set[str]] = {}
    for name, value in query.items():
        values = {value} if isinstance(value, str) else set(value) if isinstance(value, Collection) else set()
        if not values or not all(isinstance(v, str) for v in values):
            raise InputError(f"select {name}={value!r}: give a string or a non-empty collection of strings")
        name, values = _nfc(name), {_nfc(v) for v in values}
        known = {item.labels[name] for item in candidates if name in item.labels}
        if not known:
            names = sorted({n for item in candidates for n in item.labels})
            raise InputError(f"{none_has} has a label {name!r}; check the label name "
                             f"(label names: {', '.join(map(repr, names)) or 'none'})")
        missing = sorted(values - known)
        if missing:
            raise InputError(
                f"{none_has} has {name}={missing[0]!r}; known values: {', '.join(sorted(known))}"
            )
        wanted[name] = values
    return [item for item in candidates
            if all(item.labels.get(name) in values for name, values in wanted.items())]


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _read_toml(manifest: Path) -> dict[str, Any]:
    if not manifest.exists():
        raise InputError(f"{manifest}: no such file; write a {MANIFEST} listing the fixtures")
    try:
        text = read_regular_file(manifest).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{manifest}: is not valid UTF-8 (bad byte at offset {exc.start}); save it as UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{manifest}: is not valid TOML ({exc}); fix the syntax") from None


def _tables(table: Mapping[str, Any], section: str, manifest: Path) -> list[Mapping[str, Any]]:
    value = table.get(section, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InputError(f"{manifest}: {section!r} must be an array of tables written [[{section}]]; fix it")
    return value


def _check_unique_ids(entries: Sequence[_Entry], manifest: Path) -> None:
    """Ids of items and grids must differ from each other and from every tile name."""
    owners: dict[str, str] = {}
    tile_counts = {e.id: e.tile_count for e in entries if e.section == "grid"}
    for entry in entries:
        if tile := _grid_of_tile(entry.id, tile_counts):
            owner = f"a tile of [[grid]] {tile[0]!r}"
        else:
            owner = owners.get(entry.id, "")
        if owner:
            raise InputError(
                f"{manifest}: id {entry.id!r} is used by {owner} and {entry.where}; "
                "give each item, grid and tile its own id"
            )
        owners[entry.id] = entry.where


def _grid_of_tile(name: str, tile_counts: Mapping[str, int]) -> tuple[str, int] | None:
    """``(grid id, tile number)`` when ``name`` names a tile of one of the grids."""
    stem, _, number = name.rpartition("_")
    count = tile_counts.get(stem)
    if count is None or not (number.isascii() and number.isdigit()) or len(number) > 18:
        return None
    is_tile = 1 <= int(number) <= count and tile_name(stem, int(number), count) == name
    return (stem, int(number)) if is_tile else None


class _Entry:
    """One ``[[item]]`` or ``[[grid]]`` table, validated on construction."""

    def __init__(self, manifest: Path, section: str, number: int, raw: Mapping[str, Any]) -> None:
        self.manifest, self.section, self.raw = manifest, section, raw
        self.where = f"[[{section}]] #{number}"
        keys = _GRID_KEYS if section == "grid" else _ITEM_KEYS
        unknown = sorted(set(raw) - set(keys))
        if unknown:
            self._fail(f"unknown key(s) {', '.join(unknown)}; allowed keys: {', '.join(keys)}")
        for key in _REQUIRED[section]:
            if key not in raw:
                self._fail(f"missing required key {key!r}; add it")
        for key, value in raw.items():
            if not _has_type(value, keys[key]):
                self._fail(f"{key!r} must be a {_TYPE_NAMES[keys[key]]}, got {value!r}")
        self.id: str = _nfc(raw["id"])
        bad = [c for c in self.id if not (_ID_CHAR.match(c) or unicodedata.category(c).startswith("M"))]
        if bad or not self.id or not _ID_CHAR.match(self.id[0]) or self.id[0] in ".-":
            found = f"; {bad[0]!r} is not allowed" if bad else ""
            self._fail(f"id {raw['id']!r} must be letters, digits, '_', '-' or '.', not starting with '-' or '.' "
                       f"(letters may carry accents; ids are compared in Unicode NFC){found}")
        self.where = f"[[{section}]] {self.id!r}"
        self.labels = self._labels(raw.get("labels", {}), "labels")
        if section == "grid":
            for key in ("rows", "cols"):
                if raw[key] < 1:
                    self._fail(f"{key!r} must be >= 1, got {raw[key]}")
            self.tile_labels = self._tile_labels(raw.get("tiles"))

    @property
    def tile_count(self) -> int:
        return self.raw["rows"] * self.raw["cols"]

    def load_item(self, folder: Path) -> Item:
        path = self._path(folder)
        try:
            return load_item(path, id=self.id, labels=self.labels)
        except InputError as exc:
            self._fail(str(exc))

    def load_grid(self, folder: Path) -> Grid:
        image = self.load_item(folder)
        if image.kind != "image":
            self._fail(f"{image.source} is {image.kind}, not an image; a grid needs an image file")
        return Grid(image, self.raw["rows"], self.raw["cols"], self.tile_labels, self.raw.get("trim", False))

    def _path(self, folder: Path) -> Path:
        file = self.raw["file"]
        if not file or PurePath(file).is_absolute() or file.startswith(("/", "\\")):
            self._fail(f"file {file!r} must be a path relative to {folder}; fix it")
        path = folder / file
        try:
            inside = path.resolve().is_relative_to(folder.resolve())
        except (OSError, RuntimeError, ValueError) as exc:  # symlink loop, NUL byte, ...
            self._fail(f"file {file!r} cannot be resolved ({exc}); fix the path")
        if not inside:
            self._fail(f"file {file!r} resolves outside {folder}; keep fixtures inside the folder")
        return path

    def _labels(self, labels: Mapping[str, Any], key: str) -> dict[str, str]:
        for name, value in labels.items():
            if not name or not isinstance(value, str) or not value:
                self._fail(f"{key} {name!r} = {value!r}: labels must be non-empty strings")
        normalised = {_nfc(name): _nfc(value) for name, value in labels.items()}
        if len(normalised) < len(labels):
            self._fail(f"{key} has label names that differ only in Unicode normalisation; keep one of each")
        return normalised

    def _tile_labels(self, tiles: list[Any] | None) -> tuple[dict[str, str], ...] | None:
        if tiles is None:
            return None
        if len(tiles) != self.tile_count or not all(isinstance(t, dict) for t in tiles):
            self._fail(
                f"'tiles' must be {self.tile_count} tables (one per tile, reading order), "
                f"got {len(tiles)} entries"
            )
        return tuple(self._labels(t, f"tile {n}") for n, t in enumerate(tiles, 1))

    def _fail(self, problem: str) -> NoReturn:
        raise InputError(f"{self.manifest}: {self.where}: {problem}")


def _has_type(value: object, expected: type) -> bool:
    """``isinstance`` that does not take ``true``/``false`` for a number."""
    return isinstance(value, expected) and (expected is bool or not isinstance(value, bool))


_TYPE_NAMES = {str: "string", int: "whole number", bool: "true or false", dict: "table", list: "array"}
