"""Grid splitter: tiles in reading order, stable names, labels, uneven sizes, atomic writes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from embedsim.errors import InputError
from embedsim.inputs.grid import split_grid, tile_name, write_tiles
from embedsim.inputs.items import Item, item_from_bytes, text_item

FACE16 = Path(__file__).resolve().parents[1] / "fixtures" / "faces" / "face16.jpg"


def colour_grid(rows: int, cols: int, tile: tuple[int, int] = (3, 2), extra: tuple[int, int] = (0, 0)) -> Item:
    """A PNG grid whose tile ``n`` (reading order) is filled with colour ``(n, 2n, 3n)``."""
    width, height = cols * tile[0] + extra[0], rows * tile[1] + extra[1]
    image = Image.new("RGB", (width, height), (255, 255, 255))
    for n in range(rows * cols):
        row, col = divmod(n, cols)
        image.paste((n, 2 * n, 3 * n), (col * tile[0], row * tile[1], (col + 1) * tile[0], (row + 1) * tile[1]))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return item_from_bytes(buffer.getvalue(), "board", {"person": "nobody"}, source="board.png")


def pixels(item: Item) -> Image.Image:
    with Image.open(io.BytesIO(item.data)) as image:
        return image.convert("RGB")


def colours(image: Image.Image) -> set[tuple[int, ...]]:
    return {tuple(pixel) for pixel in np.asarray(image).reshape(-1, 3).tolist()}


def test_tiles_come_in_reading_order_with_stable_names() -> None:
    tiles = split_grid(colour_grid(2, 3), 2, 3)
    assert [t.id for t in tiles] == ["board_01", "board_02", "board_03", "board_04", "board_05", "board_06"]
    for n, tile in enumerate(tiles):
        image = pixels(tile)
        assert image.size == (3, 2)
        assert colours(image) == {(n, 2 * n, 3 * n)}  # no pixel of a neighbour


def test_tiles_are_png_items_carrying_grid_and_tile_labels() -> None:
    labels = [{"expression": "sad"}, {"expression": "happy", "person": "somebody"}]
    first, second = split_grid(colour_grid(1, 2), 1, 2, labels)
    assert (first.kind, first.mime_type) == ("image", "image/png")
    assert first.data.startswith(b"\x89PNG")
    assert first.labels == {"person": "nobody", "expression": "sad"}
    assert second.labels == {"person": "somebody", "expression": "happy"}  # tile labels win
    assert first.source == "board.png#board_01"


def test_split_is_deterministic() -> None:
    once = [t.data for t in split_grid(colour_grid(2, 2), 2, 2)]
    again = [t.data for t in split_grid(colour_grid(2, 2), 2, 2)]
    assert once == again


def test_names_widen_past_99_tiles() -> None:
    assert tile_name("g", 7, 16) == "g_07"
    assert tile_name("g", 7, 100) == "g_007"
    tiles = split_grid(colour_grid(10, 10, tile=(1, 1)), 10, 10)
    assert (tiles[0].id, tiles[-1].id) == ("board_001", "board_100")


def test_a_path_uses_the_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "faces.png"
    path.write_bytes(colour_grid(2, 2).data)
    assert [t.id for t in split_grid(path, 2, 2)][:2] == ["faces_01", "faces_02"]


def test_uneven_size_is_refused_with_the_remainder() -> None:
    with pytest.raises(InputError) as caught:
        split_grid(colour_grid(2, 3, extra=(2, 1)), 2, 3)
    message = str(caught.value)
    for phrase in ("board.png", "11 x 5 px", "2 px left over in width", "1 px in height", "trim=True"):
        assert phrase in message


def test_trim_drops_the_right_and_bottom_remainder() -> None:
    tiles = split_grid(colour_grid(2, 3, extra=(2, 1)), 2, 3, trim=True)
    assert len(tiles) == 6
    for n, tile in enumerate(tiles):
        image = pixels(tile)
        assert image.size == (3, 2)
        assert colours(image) == {(n, 2 * n, 3 * n)}  # white remainder never shows


@pytest.mark.parametrize(("rows", "cols"), [(0, 2), (2, -1), (1.5, 2), (True, 2), ("4", 4)])
def test_rows_and_cols_must_be_whole_numbers_from_one(rows: object, cols: object) -> None:
    with pytest.raises(InputError, match=r"must be a whole number >= 1"):
        split_grid(colour_grid(2, 2), rows, cols)  # type: ignore[arg-type]


def test_tiles_must_be_at_least_one_pixel() -> None:
    with pytest.raises(InputError, match=r"6 x 4 px image is too small for 5 rows x 2 columns"):
        split_grid(colour_grid(2, 2), 5, 2, trim=True)


def test_label_count_must_match_the_tiles() -> None:
    with pytest.raises(InputError, match=r"3 tile label sets for a 2 x 2 grid; give exactly 4"):
        split_grid(colour_grid(2, 2), 2, 2, [{}, {}, {}])


def test_only_images_can_be_split() -> None:
    with pytest.raises(InputError, match="is text, not an image"):
        split_grid(text_item("a grid"), 1, 1)


def test_undecodable_image_item_is_refused() -> None:
    broken = Item("image", b"\x89PNG\r\n\x1a\nnot really", "image/png", "fake")
    with pytest.raises(InputError, match=r"'fake'.*cannot be decoded"):
        split_grid(broken, 1, 1)


def test_face16_fixture_gives_16_tiles_of_128px() -> None:
    tiles = split_grid(FACE16, 4, 4)
    assert len(tiles) == 16
    assert tiles[0].id == "face16_01" and tiles[-1].id == "face16_16"
    assert {pixels(t).size for t in tiles} == {(128, 128)}
    assert len({t.digest for t in tiles}) == 16


# --- write_tiles ------------------------------------------------------------------------

def test_write_tiles_writes_named_pngs(tmp_path: Path) -> None:
    tiles = split_grid(colour_grid(2, 2), 2, 2)
    paths = write_tiles(tiles, tmp_path / "out" / "tiles")
    assert [p.name for p in paths] == ["board_01.png", "board_02.png", "board_03.png", "board_04.png"]
    assert [p.read_bytes() for p in paths] == [t.data for t in tiles]
    assert sorted(p.name for p in (tmp_path / "out" / "tiles").iterdir()) == [p.name for p in paths]


def test_write_tiles_replaces_existing_files(tmp_path: Path) -> None:
    tile = split_grid(colour_grid(1, 1), 1, 1)[0]
    (tmp_path / "board_01.png").write_bytes(b"old")
    write_tiles([tile], tmp_path)
    assert (tmp_path / "board_01.png").read_bytes() == tile.data


def test_write_tiles_checks_everything_before_writing(tmp_path: Path) -> None:
    good = split_grid(colour_grid(1, 2), 1, 2)
    jpeg = Item("image", b"\xff\xd8", "image/jpeg", "photo")
    with pytest.raises(InputError, match="'photo' is image/jpeg, not PNG"):
        write_tiles([*good, jpeg], tmp_path)
    with pytest.raises(InputError, match=r"board_01\.png appear more than once"):
        write_tiles([good[0], good[0]], tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("label", ["../escape", "a/b", "..", ""])
def test_write_tiles_refuses_labels_that_are_not_file_names(tmp_path: Path, label: str) -> None:
    tile = Item("image", split_grid(colour_grid(1, 1), 1, 1)[0].data, "image/png", label)
    with pytest.raises(InputError, match="not usable as a file name"):
        write_tiles([tile], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_write_tiles_leaves_nothing_half_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tiles = split_grid(colour_grid(1, 2), 1, 2)

    def failing_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("embedsim.files.os.replace", failing_replace)
    with pytest.raises(InputError, match=r"cannot write tiles \(No space left on device\); check the folder"):
        write_tiles(tiles, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_write_tiles_into_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    with pytest.raises(InputError, match=f"{blocker}: cannot write tiles"):
        write_tiles(split_grid(colour_grid(1, 1), 1, 1), blocker)


def test_tiles_of_a_16_bit_grid_keep_every_grey_level() -> None:
    values = (np.arange(8 * 8).reshape(8, 8) * 1000).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(values).save(buffer, format="PNG")
    tiles = split_grid(item_from_bytes(buffer.getvalue(), "deep"), 2, 2)
    for tile, (r, c) in zip(tiles, [(0, 0), (0, 1), (1, 0), (1, 1)], strict=True):
        with Image.open(io.BytesIO(tile.data)) as image:
            assert image.mode == "I;16"
            assert np.array_equal(np.asarray(image), values[r * 4:(r + 1) * 4, c * 4:(c + 1) * 4])
