"""Datasets: manifest.toml -> labelled items and grids; selection; clear manifest errors."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from embedsim.errors import InputError
from embedsim.inputs.datasets import MANIFEST, Dataset

FACES = Path(__file__).resolve().parents[1] / "fixtures" / "faces"


def png(size: tuple[int, int] = (4, 4), colour: tuple[int, int, int] = (10, 20, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def make(tmp_path: Path, manifest: str | bytes, **files: bytes) -> Path:
    """A fixture folder with ``manifest`` and ``files`` (default: a.png and grid.png)."""
    folder = tmp_path / "set"
    folder.mkdir(parents=True)
    for name, data in (files or {"a.png": png(), "grid.png": png((4, 2))}).items():
        (folder / name).write_bytes(data)
    (folder / MANIFEST).write_bytes(manifest.encode() if isinstance(manifest, str) else manifest)
    return folder


ONE_ITEM = '[[item]]\nid = "a"\nfile = "a.png"\nlabels = { person = "p1", expression = "happy" }\n'
TWO_BY_TWO = (
    '[[grid]]\nid = "g"\nfile = "grid.png"\nrows = 1\ncols = 2\nlabels = { person = "p2" }\n'
    'tiles = [{ expression = "sad" }, { expression = "happy" }]\n'
)


def refused(folder: Path, *phrases: str) -> str:
    """Load ``folder``; assert InputError naming the manifest and containing ``phrases``."""
    with pytest.raises(InputError) as caught:
        Dataset.load(folder)
    message = str(caught.value)
    assert message.count(str(folder / MANIFEST)) == 1, message
    for phrase in phrases:
        assert phrase in message, message
    return message


# --- the project's fixtures ---------------------------------------------------------

@pytest.fixture(scope="module")
def faces() -> Dataset:
    return Dataset.load(FACES)


def test_fixture_items_and_labels(faces: Dataset) -> None:
    assert faces.ids == [
        "obama_1", "obama_2", "obama_3", "biden", "collins",
        "jesper_1", "jesper_2", "jesper_3", "face16", "emoji16",
    ]
    obama = faces["obama_1"]
    assert (obama.kind, obama.mime_type, obama.id) == ("image", "image/jpeg", "obama_1")
    assert obama.labels == {"person": "barack_obama", "expression": "happy", "medium": "photo", "shoot": "oval_office"}
    assert obama.source == str(FACES / "obama_1.jpg")


def test_fixture_people(faces: Dataset) -> None:
    people = {item.labels["person"] for item in faces.items}
    people |= {faces[g].labels["person"] for g in faces.grids}
    assert people == {"barack_obama", "joe_biden", "eileen_collins", "jesper_pedersen", "pexels_woman", "emoji"}
    assert [i.id for i in faces.select(person="jesper_pedersen")] == ["jesper_1", "jesper_2", "jesper_3"]


def test_fixture_face16_tiles(faces: Dataset) -> None:
    tiles = faces.grid("face16")
    assert [t.id for t in tiles] == [f"face16_{n:02d}" for n in range(1, 17)]
    assert [t.labels["expression"] for t in tiles] == ["sad"] * 8 + ["happy"] * 8
    assert {t.labels["person"] for t in tiles} == {"pexels_woman"}
    assert tiles[0].labels["frame"] == "000" and tiles[-1].labels["frame"] == "471"


def test_fixture_emoji16_tiles(faces: Dataset) -> None:
    angry = faces.grid("emoji16", expression="angry")
    assert [(t.id, t.labels["codepoint"]) for t in angry] == [("emoji16_11", "U+1F620"), ("emoji16_12", "U+1F621")]
    expressions = {t.labels["expression"] for t in faces.grid("emoji16")}
    assert expressions == {"happy", "neutral", "surprise", "sad", "angry", "fear", "disgust", "sleepy"}


def test_fixture_folder_is_small_and_fully_described(faces: Dataset) -> None:
    files = {p.name for p in FACES.iterdir()} - {MANIFEST}
    assert files == {Path(faces[i].source).name for i in faces.ids}
    total = sum(p.stat().st_size for p in FACES.parent.rglob("*") if p.is_file())
    assert total < 3_000_000
    for name in files:
        with Image.open(FACES / name) as image:
            assert max(image.size) <= 512
            assert not image.getexif()


# --- selection --------------------------------------------------------------------------

def test_select_matches_every_label(faces: Dataset) -> None:
    happy_obama = faces.select(person="barack_obama", expression="happy")
    assert [i.id for i in happy_obama] == ["obama_1", "obama_3"]


def test_select_with_a_collection_means_any_of(faces: Dataset) -> None:
    chosen = faces.select(person=("joe_biden", "eileen_collins"))
    assert [i.id for i in chosen] == ["biden", "collins"]


def test_select_without_labels_gives_all_items(faces: Dataset) -> None:
    assert faces.select() == list(faces.items)


def test_select_of_known_values_that_never_meet_is_empty(faces: Dataset) -> None:
    assert faces.select(person="joe_biden", expression="happy") == []


def test_select_of_an_unknown_value_lists_the_known_ones(faces: Dataset) -> None:
    with pytest.raises(InputError) as caught:
        faces.select(person="jesper")
    message = str(caught.value)
    assert "person='jesper'" in message
    assert "known values: barack_obama, eileen_collins, jesper_pedersen, joe_biden" in message


def test_select_of_an_unknown_label_name(faces: Dataset) -> None:
    with pytest.raises(InputError, match="has a label 'mood'; check the label name"):
        faces.select(mood="happy")


@pytest.mark.parametrize("value", [3, [], [1]])
def test_select_needs_strings(faces: Dataset, value: object) -> None:
    with pytest.raises(InputError, match="give a string or a non-empty collection of strings"):
        faces.select(person=value)  # type: ignore[arg-type]


def test_grid_tiles_filtered_by_an_unknown_value(faces: Dataset) -> None:
    with pytest.raises(InputError, match=r"no tile of \[\[grid\]\] 'face16' has expression='angry'"):
        faces.grid("face16", expression="angry")


def test_a_tile_by_name(faces: Dataset) -> None:
    tile = faces["face16_09"]
    assert tile == faces.grid("face16")[8]
    assert tile.labels["expression"] == "happy"


@pytest.mark.parametrize("key", ["face16_17", "face16_1", "obama"])
def test_unknown_ids(faces: Dataset, key: str) -> None:
    with pytest.raises(InputError, match=f"no item, grid or tile called '{key}'; known ids: obama_1, "):
        faces[key]


def test_unknown_grid(faces: Dataset) -> None:
    with pytest.raises(InputError, match="no \\[\\[grid\\]\\] with id 'obama_1'; known grids: face16, emoji16"):
        faces.grid("obama_1")


# --- manifests made here ----------------------------------------------------------------

def test_items_and_grid_from_a_small_manifest(tmp_path: Path) -> None:
    dataset = Dataset.load(make(tmp_path, ONE_ITEM + TWO_BY_TWO))
    assert dataset.ids == ["a", "g"]
    assert dataset["a"].labels == {"person": "p1", "expression": "happy"}
    sad, happy = dataset.grid("g")
    assert (sad.id, sad.labels) == ("g_01", {"person": "p2", "expression": "sad"})
    assert (happy.id, happy.labels) == ("g_02", {"person": "p2", "expression": "happy"})
    assert dataset.grid("g", expression="happy") == [happy]


def test_files_in_subfolders_and_symlinks_inside_are_fine(tmp_path: Path) -> None:
    folder = make(tmp_path, '[[item]]\nid = "x"\nfile = "sub/../sub/x.png"\n')
    (folder / "sub").mkdir()
    (folder / "real.png").write_bytes(png())
    (folder / "sub" / "x.png").symlink_to(folder / "real.png")
    assert Dataset.load(folder)["x"].data == png()


def test_grid_without_tile_labels_uses_the_grid_labels(tmp_path: Path) -> None:
    grid = '[[grid]]\nid = "g"\nfile = "grid.png"\nrows = 2\ncols = 2\nlabels = { k = "v" }\n'
    dataset = Dataset.load(make(tmp_path, grid))
    assert [t.labels for t in dataset.grid("g")] == [{"k": "v"}] * 4


def test_uneven_grid_is_reported_when_cut_and_trim_is_honoured(tmp_path: Path) -> None:
    grid = '[[grid]]\nid = "g"\nfile = "grid.png"\nrows = 1\ncols = 3\n'
    dataset = Dataset.load(make(tmp_path, grid))
    with pytest.raises(InputError, match=r"manifest.toml: \[\[grid\]\] 'g': .*1 px left over in width.*trim=True"):
        dataset.grid("g")
    trimmed = Dataset.load(make(tmp_path / "t", grid + "trim = true\n"))
    assert len(trimmed.grid("g")) == 3


# --- manifest errors: each names the manifest (and entry) and says what to do -------------

def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such folder; give a fixture folder"):
        Dataset.load(tmp_path / "nowhere")


def test_missing_manifest(tmp_path: Path) -> None:
    (tmp_path / "set").mkdir()
    refused(tmp_path / "set", "manifest.toml: no such file; write a manifest.toml listing")


def test_malformed_toml(tmp_path: Path) -> None:
    refused(make(tmp_path, '[[item]\nid = "a"\n'), "is not valid TOML", "line 1", "fix the syntax")


def test_non_utf8_manifest(tmp_path: Path) -> None:
    refused(make(tmp_path, b'[[item]]\nid = "caf\xe9"\n'), "not valid UTF-8", "offset 18", "save it as UTF-8")


def test_empty_manifest(tmp_path: Path) -> None:
    refused(make(tmp_path, "# nothing yet\n"), "lists no [[item]] or [[grid]]; add at least one")


def test_missing_file(tmp_path: Path) -> None:
    folder = make(tmp_path, '[[item]]\nid = "b"\nfile = "b.png"\n')
    refused(folder, "[[item]] 'b'", "b.png: no such file; check the path")


def test_broken_file_is_reported_with_its_entry(tmp_path: Path) -> None:
    folder = make(tmp_path, '[[item]]\nid = "e"\nfile = "e.png"\n', **{"e.png": b""})
    refused(folder, "[[item]] 'e'", "file is empty")


@pytest.mark.parametrize(
    ("manifest", "phrases"),
    [
        (ONE_ITEM + ONE_ITEM,
         ("id 'a' is used by [[item]] 'a' and [[item]] 'a'", "give each item, grid and tile its own id")),
        (ONE_ITEM + TWO_BY_TWO.replace('"g"', '"a"'), ("id 'a' is used by [[item]] 'a' and [[grid]] 'a'",)),
        (TWO_BY_TWO + ONE_ITEM.replace('"a"', '"g_02"'),
         ("id 'g_02' is used by a tile of [[grid]] 'g' and [[item]] 'g_02'",)),
    ],
    ids=["item-item", "item-grid", "item-tile"],
)
def test_duplicate_ids(tmp_path: Path, manifest: str, phrases: tuple[str, ...]) -> None:
    refused(make(tmp_path, manifest), *phrases)


def test_an_id_past_the_last_tile_is_not_a_tile(tmp_path: Path) -> None:
    manifest = TWO_BY_TWO + ONE_ITEM.replace('"a"', '"g_03"')
    assert Dataset.load(make(tmp_path, manifest)).ids == ["g_03", "g"]


@pytest.mark.parametrize(
    ("manifest", "phrases"),
    [
        ('[[item]]\nid = "a"\n', ("[[item]] #1", "missing required key 'file'; add it")),
        ('[[grid]]\nid = "g"\nfile = "grid.png"\nrows = 2\n', ("[[grid]] #1", "missing required key 'cols'")),
        ('[[item]]\nid = 7\nfile = "a.png"\n', ("'id' must be a string, got 7",)),
        ('[[item]]\nid = "a b"\nfile = "a.png"\n', ("id 'a b' must be letters, digits",)),
        ('[[item]]\nid = "a"\nfile = "a.png"\nlabels = "happy"\n', ("'labels' must be a table",)),
        ('[[item]]\nid = "a"\nfile = "a.png"\nlabels = { n = 1 }\n',
         ("[[item]] 'a'", "labels must be non-empty strings")),
        ('[[item]]\nid = "a"\nfile = "a.png"\nlables = { n = "x" }\n',
         ("unknown key(s) lables; allowed keys: id, file, labels",)),
        ('[[grid]]\nid = "g"\nfile = "grid.png"\nrows = "2"\ncols = 2\n', ("'rows' must be a whole number",)),
        ('[[grid]]\nid = "g"\nfile = "grid.png"\nrows = true\ncols = 2\n',
         ("'rows' must be a whole number, got True",)),
        ('[[grid]]\nid = "g"\nfile = "grid.png"\nrows = 0\ncols = 2\n', ("[[grid]] 'g'", "'rows' must be >= 1, got 0")),
        ('[[grid]]\nid = "g"\nfile = "grid.png"\nrows = 1\ncols = 2\ntrim = "yes"\n',
         ("'trim' must be a true or false",)),
        ('[[grid]]\nid = "g"\nfile = "grid.png"\nrows = 1\ncols = 2\ntiles = [{ e = "x" }]\n',
         ("'tiles' must be 2 tables (one per tile, reading order), got 1 entries",)),
        ('[[grid]]\nid = "g"\nfile = "grid.png"\nrows = 1\ncols = 2\ntiles = [{ e = "x" }, { e = 2 }]\n',
         ("tile 2 'e' = 2: labels must be non-empty strings",)),
        ('item = 3\n', ("'item' must be an array of tables written [[item]]",)),
        ('[item]\nid = "a"\n', ("'item' must be an array of tables",)),
        ('[[items]]\nid = "a"\n', ("unknown top-level key(s) items; use [[item]] and [[grid]] tables only",)),
    ],
)
def test_wrong_keys_and_types(tmp_path: Path, manifest: str, phrases: tuple[str, ...]) -> None:
    refused(make(tmp_path, manifest), *phrases)


def test_a_grid_must_be_an_image(tmp_path: Path) -> None:
    folder = make(tmp_path, '[[grid]]\nid = "g"\nfile = "g.txt"\nrows = 1\ncols = 1\n', **{"g.txt": b"words"})
    refused(folder, "[[grid]] 'g'", "is text, not an image")


@pytest.mark.parametrize("file", ["../outside.png", "sub/../../outside.png"])
def test_relative_path_leaving_the_folder(tmp_path: Path, file: str) -> None:
    (tmp_path / "outside.png").write_bytes(png())
    folder = make(tmp_path, f'[[item]]\nid = "x"\nfile = "{file}"\n')
    refused(folder, "[[item]] 'x'", "resolves outside", "keep fixtures inside")


def test_absolute_path(tmp_path: Path) -> None:
    (tmp_path / "outside.png").write_bytes(png())
    folder = make(tmp_path, f'[[item]]\nid = "x"\nfile = "{tmp_path / "outside.png"}"\n')
    refused(folder, "must be a path relative to", "fix it")


def test_symlink_resolving_outside(tmp_path: Path) -> None:
    (tmp_path / "outside.png").write_bytes(png())
    folder = make(tmp_path, '[[item]]\nid = "x"\nfile = "link.png"\n')
    (folder / "link.png").symlink_to(tmp_path / "outside.png")
    refused(folder, "file 'link.png' resolves outside")


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_loop(tmp_path: Path) -> None:
    folder = make(tmp_path, '[[item]]\nid = "x"\nfile = "loop.png"\n')
    (folder / "loop.png").symlink_to(folder / "loop.png")
    refused(folder, "[[item]] 'x'", "loop.png", "fix the path")


# --- Unicode ids, label names, resolved folders, FIFOs ----------------------------------

def test_a_misspelt_label_name_lists_the_label_names(faces: Dataset) -> None:
    with pytest.raises(InputError, match=r"has a label 'persn'; check the label name \(label names: .*'person'"):
        faces.select(persn="x")


LOOK_ALIKES = ["\u212b", "\u00c5", "A\u030a"]  # Angstrom sign, A with ring, A + combining ring


@pytest.mark.parametrize(("first", "second"), [(a, b) for a in LOOK_ALIKES for b in LOOK_ALIKES if a < b])
def test_ids_that_normalise_alike_are_duplicates(tmp_path: Path, first: str, second: str) -> None:
    manifest = f'[[item]]\nid = "{first}"\nfile = "a.png"\n[[item]]\nid = "{second}"\nfile = "a.png"\n'
    refused(make(tmp_path, manifest), "id '\u00c5' is used by", "give each item, grid and tile its own id")


def test_a_decomposed_id_is_accepted_and_found_either_way(tmp_path: Path) -> None:
    nfd, nfc = "cafe\u0301", "caf\u00e9"
    manifest = f'[[item]]\nid = "{nfd}"\nfile = "a.png"\nlabels = {{ place = "{nfd}" }}\n'
    dataset = Dataset.load(make(tmp_path, manifest))
    assert dataset.ids == [nfc]
    assert dataset[nfd] is dataset[nfc]
    assert dataset.select(place=nfd) == dataset.select(place=nfc) == [dataset[nfc]]


def test_label_names_are_compared_in_nfc(tmp_path: Path) -> None:
    nfd, nfc = "cafe\u0301", "caf\u00e9"
    manifest = (f'[[item]]\nid = "a"\nfile = "a.png"\nlabels = {{ "{nfd}" = "x" }}\n'
                f'[[grid]]\nid = "g"\nfile = "grid.png"\nrows = 1\ncols = 2\nlabels = {{ "{nfc}" = "y" }}\n'
                f'tiles = [{{ "{nfd}" = "z" }}, {{ "{nfd}" = "z" }}]\n')
    dataset = Dataset.load(make(tmp_path, manifest))
    assert dataset["a"].labels == {nfc: "x"}
    assert dataset.select(**{nfd: "x"}) == dataset.select(**{nfc: "x"}) == [dataset["a"]]
    assert [t.labels for t in dataset.grid("g")] == [{nfc: "z"}] * 2  # a tile's label overrides its grid's


def test_a_bad_id_says_which_character_is_not_allowed(tmp_path: Path) -> None:
    refused(make(tmp_path, '[[item]]\nid = "a/b"\nfile = "a.png"\n'),
            "id 'a/b' must be letters, digits", "letters may carry accents", "'/' is not allowed")


def test_a_missing_relative_folder_shows_where_it_was_looked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as caught:
        Dataset.load("fixtures/faces")
    message = str(caught.value)
    assert f"resolved to {tmp_path / 'fixtures' / 'faces'}" in message and "Path(__file__)" in message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_in_a_manifest_is_refused(tmp_path: Path) -> None:
    folder = make(tmp_path, '[[item]]\nid = "p"\nfile = "pipe.png"\n')
    os.mkfifo(folder / "pipe.png")
    refused(folder, "[[item]] 'p'", "pipe.png: is not a regular file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_manifest_is_refused(tmp_path: Path) -> None:
    (tmp_path / "set").mkdir()
    os.mkfifo(tmp_path / "set" / MANIFEST)
    refused(tmp_path / "set", "manifest.toml: is not a regular file")
