"""Cut an R x C grid image into tiles (the seed's ``face16.py``), and write tiles out.

Tiles come in reading order (left to right, then top to bottom) and are named
``<stem>_01``, ``<stem>_02``, ... (zero-padded to at least two digits, more when there
are 100 tiles or more). Each tile is an image :class:`~embedsim.inputs.items.Item` holding
deterministic PNG bytes, with the grid's labels plus its own per-tile labels.

An image whose size does not divide evenly into the grid is refused, because
guessing where the tile borders are would silently shift every tile. With
``trim=True`` the left-over pixels at the right and bottom edges are dropped
instead; tile ``(r, c)`` is then exactly the box
``(c * w, r * h, (c + 1) * w, (r + 1) * h)`` with ``w = width // cols`` and
``h = height // rows``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from PIL import Image

from embedsim.errors import InputError
from embedsim.files import atomic_write
from embedsim.inputs.image_bytes import encode_png
from embedsim.inputs.items import Item, load_item

TileLabels = Sequence[Mapping[str, str]]


def split_grid(
    source: Item | str | Path,
    rows: int,
    cols: int,
    labels: TileLabels | None = None,
    *,
    trim: bool = False,
    trim_hint: str = "pass trim=True",
) -> list[Item]:
    """Cut the grid image ``source`` into ``rows * cols`` tiles in reading order.

    ``source`` is an image item (its id is the tile stem) or a path (its file stem
    is). ``labels``, if given, holds one mapping per tile in reading order, merged over
    the source item's labels. Raises :class:`InputError` for a bad grid shape, a
    wrong number of tile labels, tiles under 1 px, or a size that does not divide
    evenly (unless ``trim=True``); that message says ``trim_hint`` (how the caller's
    user turns trimming on, e.g. ``"pass --trim"``).
    """
    item = source if isinstance(source, Item) else load_item(source)
    where = item.describe()
    _check_count(rows, "rows", where)
    _check_count(cols, "cols", where)
    count = rows * cols
    if labels is not None and len(labels) != count:
        raise InputError(
            f"{where}: {len(labels)} tile label sets for a {rows} x {cols} grid; "
            f"give exactly {count}, one per tile in reading order"
        )
    if item.kind != "image":
        raise InputError(f"{where}: is {item.kind}, not an image; give a grid image")

    image = _decode(item, where)
    tile_w, tile_h = _tile_size(image.width, image.height, rows, cols, trim, where, trim_hint)
    tiles = []
    for index in range(count):
        row, col = divmod(index, cols)
        box = (col * tile_w, row * tile_h, (col + 1) * tile_w, (row + 1) * tile_h)
        name = tile_name(item.id, index + 1, count)
        tile_labels = {**item.labels, **(labels[index] if labels is not None else {})}
        origin = f"{item.source or item.id}#{name}"
        tiles.append(Item("image", encode_png(image.crop(box)), "image/png", name, tile_labels, origin))
    return tiles


def _decode(item: Item, where: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(item.data))
        image.load()
        return image
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise InputError(f"{where}: image cannot be decoded ({exc}); re-export or replace it") from None


def tile_name(stem: str, number: int, count: int) -> str:
    """The name of tile ``number`` (1-based) of ``count``: ``<stem>_07``, ``<stem>_007``, ..."""
    return f"{stem}_{number:0{max(2, len(str(count)))}d}"


def _check_count(value: object, name: str, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{where}: {name} must be a whole number >= 1, got {value!r}")


def _tile_size(
    width: int, height: int, rows: int, cols: int, trim: bool, where: str, trim_hint: str
) -> tuple[int, int]:
    tile_w, tile_h = width // cols, height // rows
    if tile_w < 1 or tile_h < 1:
        raise InputError(
            f"{where}: a {width} x {height} px image is too small for {rows} rows x {cols} "
            "columns of tiles at least 1 px; use fewer rows/columns or a larger image"
        )
    extra_w, extra_h = width % cols, height % rows
    if (extra_w or extra_h) and not trim:
        raise InputError(
            f"{where}: a {width} x {height} px image does not divide evenly into {rows} rows "
            f"x {cols} columns ({extra_w} px left over in width, {extra_h} px in height); "
            f"{trim_hint} to drop them at the right/bottom edges, or resize the image"
        )
    return tile_w, tile_h


def write_tiles(tiles: Sequence[Item], out_dir: str | Path) -> list[Path]:
    """Write each PNG tile to ``out_dir/<label>.png`` atomically; return the paths.

    All tiles are checked before anything is written; each file is written to a
    temporary file in ``out_dir`` and moved into place, so a failure never leaves a
    half-written PNG behind.
    """
    out_dir = Path(out_dir)
    names = [_tile_file_name(tile) for tile in tiles]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"tiles {', '.join(duplicates)} appear more than once; give each tile its own label")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        return [atomic_write(out_dir / name, tile.data) for name, tile in zip(names, tiles, strict=True)]
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot write tiles ({exc.strerror or exc}); check the folder") from None


def _tile_file_name(tile: Item) -> str:
    if tile.mime_type != "image/png":
        raise InputError(f"tile {tile.describe()} is {tile.mime_type}, not PNG; write tiles made by split_grid")
    label = tile.id
    if not label or label in (".", "..") or any(sep in label for sep in ("/", "\\", "\0")):
        raise InputError(f"tile label {label!r} is not usable as a file name; rename the tile")
    return f"{label}.png"

