"""Property tests: whatever the input, the result is valid or an EmbedsimError - nothing else."""

from __future__ import annotations

import contextlib
import io
import json
import struct
import tempfile
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from embedsim.errors import EmbedsimError, InputError
from embedsim.inputs.datasets import MANIFEST, Dataset
from embedsim.inputs.grid import split_grid, write_tiles
from embedsim.inputs.items import KINDS, Item, is_encodable, item_from_bytes, text_item
from embedsim.inputs.sniff import IMAGE_BRANDS, sniff_media

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FACE16 = Path(__file__).resolve().parents[1] / "fixtures" / "faces" / "face16.jpg"


def encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def _samples() -> dict[str, bytes]:
    with Image.open(FACE16) as grid:
        face = grid.convert("RGB").crop((0, 0, 128, 128)).resize((24, 24))
    return {fmt: encoded(face, fmt) for fmt in ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")}


SAMPLES = _samples()


def assert_valid_item(item: Item) -> None:
    assert item.kind in KINDS
    assert item.mime_type and item.data
    assert len(item.digest) == 64
    if item.kind == "image":
        with Image.open(io.BytesIO(item.data)) as image:
            image.load()
            assert image.width >= 1 and image.height >= 1


# --- item loader --------------------------------------------------------------------------

@FUZZ
@given(data=st.binary(max_size=512), name=st.sampled_from(["x.bin", "x.txt", "x.png", "x.md", ""]))
def test_random_bytes_give_an_item_or_an_embedsim_error(data: bytes, name: str) -> None:
    try:
        item = item_from_bytes(data, "fuzz", source=name)
    except EmbedsimError:
        event("refused")
        return
    event(f"loaded {item.kind}")
    assert_valid_item(item)


@st.composite
def mutated_images(draw: st.DrawFn) -> bytes:
    data = bytearray(SAMPLES[draw(st.sampled_from(sorted(SAMPLES)))])
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        if action == "flip":
            data[at] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[at:]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[at : at + draw(st.integers(1, 16))]
        if not data:
            break
    return bytes(data)


@pytest.mark.filterwarnings("ignore::UserWarning:PIL")  # Pillow warns on odd TIFF/EXIF tags
@FUZZ
@given(data=mutated_images())
def test_mutated_images_give_an_item_or_an_embedsim_error(data: bytes) -> None:
    try:
        item = item_from_bytes(data, "mutant", source="mutant.img")
    except EmbedsimError:
        event("refused")
        return
    event(f"loaded {item.kind}")
    assert_valid_item(item)


# --- grid splitter ------------------------------------------------------------------------

@FUZZ
@given(
    rows=st.integers(-1, 8),
    cols=st.integers(-1, 8),
    tile=st.tuples(st.integers(0, 6), st.integers(0, 6)),
    extra=st.tuples(st.sampled_from([0, 0, 0, 1, 5]), st.sampled_from([0, 0, 0, 1, 5])),
    trim=st.booleans(),
    extra_labels=st.sampled_from([0, 0, 0, -1, 1]),
)
def test_grid_splits_exactly_when_it_should(
    rows: int, cols: int, tile: tuple[int, int], extra: tuple[int, int], trim: bool, extra_labels: int
) -> None:
    width = max(1, max(cols, 0) * tile[0] + extra[0])
    height = max(1, max(rows, 0) * tile[1] + extra[1])
    grid = item_from_bytes(encoded(Image.new("RGB", (width, height), (1, 2, 3)), "PNG"), "g")
    count = max(rows, 0) * max(cols, 0)
    labels = [{"n": str(i)} for i in range(max(count + extra_labels, 0))]
    fits = (
        rows >= 1 and cols >= 1 and extra_labels == 0
        and width // cols >= 1 and height // rows >= 1
        and (trim or (width % cols == 0 and height % rows == 0))
    )
    try:
        tiles = split_grid(grid, rows, cols, labels, trim=trim)
    except InputError:
        event("refused")
        assert not fits
        return
    event("split")
    assert fits
    assert len(tiles) == count
    assert [t.id for t in tiles] == sorted({t.id for t in tiles})
    assert [t.labels["n"] for t in tiles] == [str(i) for i in range(count)]
    for tile_item in tiles[:3] + tiles[-1:]:
        with Image.open(io.BytesIO(tile_item.data)) as image:
            assert image.size == (width // cols, height // rows)


@FUZZ
@given(labels=st.lists(st.text(max_size=30), min_size=1, max_size=3))
def test_tiles_are_written_inside_the_folder_or_refused(labels: list[str]) -> None:
    data = encoded(Image.new("RGB", (1, 1)), "PNG")
    tiles = [Item("image", data, "image/png", label) for label in labels]
    with tempfile.TemporaryDirectory() as temp:
        out = Path(temp) / "out"
        try:
            paths = write_tiles(tiles, out)
        except InputError:
            return
        assert [p.parent for p in paths] == [out] * len(tiles)
        assert all(p.read_bytes() == data for p in paths)


# --- manifest loader -------------------------------------------------------------------------

KEYS = ["id", "file", "labels", "rows", "cols", "tiles", "trim", "person", "x y", ""]
FILES = ["a.png", "grid.png", "words.txt", "missing.png", "../a.png", "/etc/hostname", "sub/../a.png", ".", ""]


def toml_key(key: str) -> str:
    return key if key.replace("_", "").isalnum() else json.dumps(key, ensure_ascii=False)


toml_scalars = st.one_of(
    st.sampled_from(FILES).map(json.dumps),
    st.text(max_size=12).map(lambda s: json.dumps(s, ensure_ascii=False)),
    st.integers(-3, 6).map(str),
    st.sampled_from(["true", "false", "1.5", "nan", "1979-05-27", "10_000_000_000"]),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5).map(lambda v: "[" + ", ".join(v) + "]"),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=3).map(
            lambda d: "{ " + ", ".join(f"{toml_key(k)} = {v}" for k, v in d.items()) + " }"
        ),
    ),
    max_leaves=12,
)
tables = st.tuples(
    st.sampled_from(["[[item]]", "[[grid]]", "[item]", "[[items]]"]),
    st.dictionaries(st.sampled_from(KEYS), toml_values, max_size=7),
)


def toml_document(entries: list[tuple[str, dict[str, str]]]) -> str:
    return "".join(
        header + "\n" + "".join(f"{toml_key(k)} = {v}\n" for k, v in body.items()) for header, body in entries
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fixture folder with a few real files; each example writes its own manifest."""
    folder = tmp_path_factory.mktemp("fuzz") / "set"
    folder.mkdir()
    (folder / "a.png").write_bytes(encoded(Image.new("RGB", (4, 4)), "PNG"))
    (folder / "grid.png").write_bytes(encoded(Image.new("RGB", (6, 4)), "PNG"))
    (folder / "words.txt").write_text("happy")
    (folder.parent / "a.png").write_bytes(b"outside")
    return folder


def load_fuzzed(folder: Path, manifest: bytes) -> None:
    """Load ``folder`` with ``manifest``; exercise whatever loads."""
    (folder / MANIFEST).write_bytes(manifest)
    try:
        dataset = Dataset.load(folder)
    except EmbedsimError:
        event("refused")
        return
    event("loaded")
    for item in dataset.items:
        assert item is dataset[item.id]
        assert Path(item.source).resolve().is_relative_to(folder.resolve())
    for grid_id in dataset.grids:
        try:
            tiles = dataset.grid(grid_id)
        except EmbedsimError:
            continue
        event("cut a grid")
        assert all(set(dataset.grids[grid_id].image.labels) <= set(tile.labels) for tile in tiles)
    with contextlib.suppress(EmbedsimError):
        dataset.select(person="p", expression=["happy", "sad"])


@FUZZ
@given(entries=st.lists(tables, max_size=4))
def test_random_manifests_load_or_raise_embedsim_errors(
    folder: Path, entries: list[tuple[str, dict[str, str]]]
) -> None:
    load_fuzzed(folder, toml_document(entries).encode())


@FUZZ
@given(manifest=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_random_manifest_bytes_load_or_raise_embedsim_errors(folder: Path, manifest: bytes) -> None:
    load_fuzzed(folder, manifest)


@FUZZ
@given(
    rows=st.integers(-1, 4), cols=st.integers(-1, 4), trim=st.booleans(),
    ids=st.lists(st.sampled_from(["a", "b", "g", "g_01", "g_02", "g_1", "g_001", "g_99"]), min_size=1, max_size=3),
    tile_count=st.sampled_from(["exact", "exact", "none", "one"]),
)
def test_valid_shaped_manifests_load_or_raise_embedsim_errors(
    folder: Path, rows: int, cols: int, trim: bool, ids: list[str], tile_count: str
) -> None:
    count = {"exact": max(rows * cols, 0), "none": 0, "one": 1}[tile_count]
    tiles = ", ".join('{ expression = "sad" }' for _ in range(count))
    manifest = (
        f'[[grid]]\nid = "g"\nfile = "grid.png"\nrows = {rows}\ncols = {cols}\ntrim = {str(trim).lower()}\n'
        f'labels = {{ person = "p" }}\ntiles = [{tiles}]\n'
        + "".join(f'[[item]]\nid = "{i}"\nfile = "a.png"\nlabels = {{ expression = "happy" }}\n' for i in ids)
    )
    load_fuzzed(folder, manifest.encode())


# --- names, labels, brands and bit depths as families ------------------------------------------

#: Every code point, lone surrogates included (a file name or argument that is not UTF-8 holds them).
any_text = st.text(st.one_of(st.characters(exclude_categories=()), st.characters(categories=["Cs", "M"]),
                             st.sampled_from(list("\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\u212b\u00c5"))), max_size=20)


@FUZZ
@given(raw=any_text)
def test_any_manifest_id_loads_in_nfc_or_is_refused(folder: Path, raw: str) -> None:
    manifest = f'[[item]]\nid = {json.dumps(raw)}\nfile = "a.png"\n'
    (folder / MANIFEST).write_text(manifest, encoding="utf-8")
    try:
        dataset = Dataset.load(folder)
    except InputError:
        event("refused")
        return
    event("loaded")
    nfc = unicodedata.normalize("NFC", raw)
    assert dataset.ids == [nfc]
    for form in ("NFC", "NFD"):
        assert dataset[unicodedata.normalize(form, raw)].id == nfc


@FUZZ
@given(label=any_text, text=any_text)
def test_any_label_and_text_give_an_encodable_item_or_an_input_error(label: str, text: str) -> None:
    try:
        item = text_item(text or "x", id=label or None)
    except InputError:
        event("refused")
        return
    item.id.encode("utf-8")
    assert item.text == (text or "x")


@FUZZ
@given(brand=st.one_of(st.sampled_from(sorted(IMAGE_BRANDS)), st.binary(min_size=4, max_size=4)))
def test_an_ftyp_box_is_video_unless_its_brand_is_an_image_brand(brand: bytes) -> None:
    body = brand + b"\x00\x00\x02\x00" + brand
    data = struct.pack(">I", 8 + len(body)) + b"ftyp" + body
    sniffed = sniff_media(data)
    assert (sniffed is None) == (brand in IMAGE_BRANDS)
    try:
        item = item_from_bytes(data, "box")
    except InputError:
        return
    assert item.kind == ("image" if brand in IMAGE_BRANDS else "video")


deep_images = st.one_of(
    st.tuples(st.just("uint16"), st.integers(0, 65535), st.integers(0, 65535)),
    st.tuples(st.just("int32"), st.integers(-2**31, 2**31 - 1), st.integers(-2**31, 2**31 - 1)),
    st.tuples(st.just("float32"), st.floats(-2.0**100, 2.0**100, width=32), st.floats(-2.0**100, 2.0**100, width=32)),
)


@FUZZ
@given(kind=deep_images, seed=st.integers(0, 2**32 - 1), fmt=st.sampled_from(["TIFF", "PNG"]))
def test_high_depth_images_keep_the_order_of_their_grey_levels(
    kind: tuple[str, float, float], seed: int, fmt: str
) -> None:
    dtype, a, b = kind
    if fmt == "PNG" and dtype != "uint16":
        fmt = "TIFF"  # PNG holds 8 and 16 bits only
    rng = np.random.default_rng(seed)
    low, high = min(a, b), max(a, b)
    values = rng.uniform(low, high, (5, 7)) if dtype == "float32" else rng.integers(low, high, (5, 7), endpoint=True)
    values = values.astype(dtype)
    item = item_from_bytes(encoded(Image.fromarray(values), fmt), "deep")
    with Image.open(io.BytesIO(item.data)) as image:
        assert image.mode == "I;16"
        out = np.asarray(image).astype(np.int64)
    flat = values.astype(np.float64).ravel()
    order = np.argsort(flat, kind="stable")
    assert np.all(np.diff(out.ravel()[order]) >= 0)  # a brighter input pixel is never darker
    if dtype == "uint16" or (dtype == "int32" and flat.min() >= 0 and flat.max() <= 65535):
        assert np.array_equal(out, values.astype(np.int64))  # 16-bit values are kept
    elif flat.max() > flat.min():
        assert (out.min(), out.max()) == (0, 65535)  # stretched over the image's own range


# --- report slugs: collision-free file names for any test id ------------------------------------

test_ids = st.one_of(any_text, st.sampled_from(["test_y[a b]", "test_y[a_b]", "tests/a/b.py", "tests/a_b.py",
                                                "a__b", "a_", "_b", ".", "..", "x" * 300]))


@FUZZ
@given(first=st.tuples(test_ids, test_ids), second=st.tuples(test_ids, test_ids))
@example(first=("tests/a/b.py", "t"), second=("tests/a_b.py", "t"))
@example(first=("test_m.py", "test_y[a b]"), second=("test_m.py", "test_y[a_b]"))
def test_report_fragments_of_different_tests_never_overwrite_each_other(
    first: tuple[str, str], second: tuple[str, str]
) -> None:
    from embedsim import report

    with tempfile.TemporaryDirectory() as temp:
        for module, test in {first, second}:
            entry = report.Fragment(module, test, "pixels", "passed", nodeid=f"{module}::{test}")
            try:
                path = report.write_fragment(Path(temp), entry, None)
            except UnicodeEncodeError:
                continue  # a lone surrogate cannot be a pytest node id written as UTF-8 JSON
            assert path.parent == Path(temp) / report.FRAGMENTS and len(path.name.encode()) <= 255
        found = {(e.module, e.test) for e in report.read_fragments(Path(temp))}
        assert found == {p for p in {first, second} if all(is_encodable(s) for s in p)}


@FUZZ
@given(a=st.lists(test_ids, min_size=1, max_size=3), b=st.lists(test_ids, min_size=1, max_size=3))
def test_slug_keys_are_distinct_file_names_for_distinct_names(a: list[str], b: list[str]) -> None:
    from embedsim.report.slugs import slug_key

    key = slug_key(*a)
    assert key not in ("", ".", "..") and "/" not in key and "\0" not in key and len(key.encode()) <= 255
    assert (slug_key(*a) == slug_key(*b)) == (a == b)
