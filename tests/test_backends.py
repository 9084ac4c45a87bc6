"""The backend registry: entry points, resolution, per-model modalities, a third-party backend."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from embedsim.backends import GROUP, backends, check_items, get_embedder, is_local, key_hint, resolve
from embedsim.backends.base import BackendSpec
from embedsim.backends.gemini import SPEC as GEMINI
from embedsim.backends.gemini import is_multimodal
from embedsim.errors import InputError
from embedsim.inputs.items import Item, text_item
from embedsim.testing.gemini import GeminiEmulator


def png_item(label: str, color: tuple[int, int, int]) -> Item:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), color).save(buffer, format="PNG")
    return Item("image", buffer.getvalue(), "image/png", label)

#: A throwaway text-only backend installed through the entry point (a dist-info on sys.path).
TOY_BACKEND = '''
from embedsim.backends.base import BackendSpec

CALLS = []
SPEC = BackendSpec(
    name="toy", model_ids=("toy-letters",), id_pattern=r"toy-letters-v\\d+", modalities=frozenset({"text"}),
    local=True, key_env=(), dimensions=(26, 26), default_dimension=26,
    grouping="local: all items at once", factory="toy_backend:LetterEmbedder", description="toy, letters only",
)


class LetterEmbedder:
    """Letter counts: 'apple' and 'apples' are close, 'car' is far."""

    def __init__(self, model_id, dimension):
        self.model_id, self.dimension = model_id, dimension

    def embed(self, items):
        import numpy as np

        CALLS.append([i.id for i in items])
        rows = np.zeros((len(items), self.dimension), dtype=np.float32)
        for row, item in zip(rows, items):
            for char in item.text.lower():
                if "a" <= char <= "z":
                    row[ord(char) - ord("a")] += 1
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)
'''


def install_toy_backend(root: Path) -> Path:
    """Write the toy backend and its dist-info (with the entry point) into ``root``."""
    root.mkdir()
    (root / "toy_backend.py").write_text(TOY_BACKEND, encoding="utf-8")
    info = root / "toy_backend-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-backend\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[{GROUP}]\ntoy = toy_backend:SPEC\n", encoding="utf-8")
    return root


def test_entry_points_list_the_built_in_backends() -> None:
    points = {p.name: p.value for p in entry_points(group=GROUP)}
    assert points["pixels"] == "embedsim.backends.pixels:SPEC"
    assert points["gemini"] == "embedsim.backends.gemini:SPEC"
    assert {"pixels", "gemini"} <= {s.name for s in backends()}


def test_the_registry_is_read_once_until_invalidated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Regression: the registry was cached per ``sys.path`` (an ``lru_cache`` keyed on it):
    read again whenever anything changed ``sys.path``, never when a backend was installed into a folder
    already on it. Now it is read once, and :func:`embedsim.backends.invalidate` forgets it."""
    import embedsim.backends as registry

    site = install_toy_backend(tmp_path / "site")
    reads = []
    real = registry.entry_points
    monkeypatch.setattr(registry, "entry_points", lambda **kw: reads.append(kw) or real(**kw))
    registry.invalidate()
    try:
        before = {s.name for s in registry.backends()}
        monkeypatch.syspath_prepend(str(site))
        assert {s.name for s in registry.backends()} == before and "toy" not in before
        assert len(reads) == 1  # a changed sys.path is not a reason to read the entry points again
        registry.invalidate()
        assert "toy" in {s.name for s in registry.backends()} and len(reads) == 2
    finally:
        monkeypatch.undo()
        registry.invalidate()
    assert "toy" not in {s.name for s in registry.backends()}


def test_resolution_by_id_and_pattern() -> None:
    assert resolve("pixels").name == "pixels" and is_local("pixels")
    assert resolve("gemini-embedding-2").name == "gemini" and not is_local("gemini-embedding-2")
    assert resolve("gemini-embedding-3-preview") is GEMINI  # a new version needs no code change
    assert key_hint("gemini-embedding-2") == "GEMINI_API_KEY=... " and key_hint("pixels") == ""
    assert GEMINI.api_key({"GOOGLE_API_KEY": " k2 ", "GEMINI_API_KEY": "  "}) == "k2"


def test_an_unknown_id_lists_the_known_ones() -> None:
    with pytest.raises(InputError) as caught:
        resolve("clip-vit")
    message = str(caught.value)
    assert message.startswith("unknown model id 'clip-vit'")
    for known in ("pixels", "gemini-embedding-2-preview", "gemini-embedding-001", "gemini-embedding.*"):
        assert known in message
    with pytest.raises(InputError, match="use 'pixels'"):
        resolve("pixel")


def test_dimensions_are_checked_by_the_spec() -> None:
    assert get_embedder("pixels").dimension == resolve("pixels").default_dimension
    with pytest.raises(InputError, match="from 128 to 3072"):
        get_embedder("gemini-embedding-2", 64, api_key="k")


def test_one_model_family_rule_for_backend_and_emulator(emulator: GeminiEmulator) -> None:
    """``gemini-embedding-exp*`` and 001 are text-only everywhere; the emulator agrees with the backend."""
    for model in ("gemini-embedding-001", "gemini-embedding-exp-03-07"):
        assert not is_multimodal(model) and not GEMINI.accepts(model, "image")
        with pytest.raises(InputError, match=rf"item 'red' is image, but {model} embeds text only"):
            get_embedder(model, 128, api_key="k", base_url=emulator.base_url).embed([png_item("red", (255, 0, 0))])
    assert emulator.requests == []
    for model in ("gemini-embedding-2", "gemini-embedding-2-preview", "models/gemini-embedding-2"):
        assert is_multimodal(model)
    import base64
    import json
    import urllib.request

    data = base64.b64encode(png_item("red", (255, 0, 0)).data).decode()
    body = {"requests": [{"model": "models/gemini-embedding-exp-03-07",
                          "content": {"parts": [{"inline_data": {"mime_type": "image/png", "data": data}}]}}]}
    request = urllib.request.Request(f"{emulator.base_url}/v1beta/models/gemini-embedding-exp-03-07:batchEmbedContents",
                                     json.dumps(body).encode(), {"x-goog-api-key": "k", "content-type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    assert caught.value.code == 400 and "only supports text input" in caught.value.read().decode()


def test_a_text_only_model_refuses_an_image_before_any_call() -> None:
    spec = BackendSpec(name="t", model_ids=("t",), id_pattern=None, modalities=frozenset({"text"}), local=True,
                       key_env=(), dimensions=(1, 8), default_dimension=8, grouping="",
                       factory="x:y")
    with pytest.raises(InputError, match=r"^t: item 'red' is image, but t embeds text only$"):
        spec.check_items("t", [text_item("fine"), png_item("red", (255, 0, 0))])
    check_items("an-unregistered-embedder", [png_item("red", (255, 0, 0))])  # a user's own embedder: its call


def test_the_registry_is_cheap_to_import_and_resolve() -> None:
    code = ("import sys, embedsim.backends as b; [b.resolve(m) for m in ('pixels', 'gemini-embedding-2')]; "
            "print(sorted(m for m in ('numpy', 'google.genai', 'matplotlib', 'vcr') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.usefixtures("outside_xdist", "clean_env")
def test_a_third_party_backend_runs_an_experiment(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.syspathinsert(install_toy_backend(tmp_path / "site"))
    pytester.makeini("[pytest]\nembedsim_models = toy-letters pixels\n")
    pytester.makepyfile(test_toy=textwrap.dedent("""
        import pytest
        from embedsim.inputs.items import text_item

        WORDS = [text_item(w, labels={"g": g}) for w, g in
                 [("apple", "fruit"), ("apples", "fruit"), ("car", "vehicle"), ("cars", "vehicle")]]

        def test_spelling(experiment):
            m = experiment.similarity(WORDS)
            experiment.expect_groups(m, by="g", margin=0.1)

        @pytest.mark.embedsim_models("toy-letters")
        def test_images_are_refused(experiment):
            import io
            import toy_backend
            from PIL import Image
            from embedsim.errors import InputError
            from embedsim.inputs.items import item_from_bytes

            buffer = io.BytesIO()
            Image.new("RGB", (4, 4), (255, 0, 0)).save(buffer, format="PNG")
            red = item_from_bytes(buffer.getvalue(), id="red")
            with pytest.raises(InputError, match="item 'red' is image, but toy-letters embeds text only"):
                experiment.similarity([WORDS[0], red])
            assert toy_backend.CALLS == [["apple", "apples", "car", "cars"]]
    """))
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*test_spelling[[]toy-letters[]] PASSED*", "*test_spelling[[]pixels[]] PASSED*"])
    result = pytester.runpytest("--embedsim-model", "toy-letters-v2", "-k", "spelling", "-v")
    result.stdout.fnmatch_lines(["*test_spelling[[]toy-letters-v2[]] PASSED*"])


#: The arguments embedder constructors share, in the one order they take them (``model_id`` and
#: ``dimension`` positional, ``None`` meaning the spec's default; the rest keyword-only).
SHARED_ARGUMENTS = ("model_id", "dimension", "api_key", "base_url", "api_version", "timeout", "attempts",
                    "initial_delay", "max_delay", "task", "batch_size", "progress", "max_concurrency")


@pytest.mark.parametrize("spec", backends(), ids=lambda spec: spec.name)
def test_backend_constructors_take_the_shared_arguments_in_one_order(spec) -> None:
    module, _, name = spec.factory.partition(":")
    parameters = inspect.signature(getattr(importlib.import_module(module), name)).parameters
    assert list(parameters)[:2] == ["model_id", "dimension"] and parameters["dimension"].default is None
    shared = [p for p in parameters if p in SHARED_ARGUMENTS]
    assert shared == sorted(shared, key=SHARED_ARGUMENTS.index), spec.factory
    assert all(p.kind is p.KEYWORD_ONLY for p in list(parameters.values())[2:] if p.kind is not p.VAR_KEYWORD)
    if not spec.local:  # the factory keywords every remote backend receives (BackendSpec.create)
        assert {"api_key", "timeout", "api_version"} <= set(parameters) or "options" in parameters, spec.factory


def test_items_are_packed_in_order_within_every_budget() -> None:
    """One packing for every vendor: in order, at most ``most`` per call, each budget kept, and an
    item over a budget still goes (alone)."""
    from embedsim.backends.packing import pack

    costs = {0: (5, 1), 1: (5, 1), 2: (20, 1), 3: (1, 9), 4: (1, 1), 5: (1, 1)}
    assert pack(range(6), 3, costs.__getitem__, (10, 10)) == [[0, 1], [2], [3, 4], [5]]
    assert pack(range(6), 2, costs.__getitem__, (None, None)) == [[0, 1], [2, 3], [4, 5]]
    assert pack([], 3, costs.__getitem__, (10,)) == []


def test_an_exception_is_found_in_its_chain_and_a_cycle_ends_the_search() -> None:
    from embedsim.errors import InputError, RecordingError, in_chain

    cause = RecordingError("the cassette")
    try:
        try:
            raise cause
        except RecordingError as exc:
            raise ValueError("while handling") from exc
    except ValueError as top:
        assert in_chain(top, RecordingError) is cause and in_chain(top, InputError) is None
    a, b = ValueError("a"), ValueError("b")
    a.__context__, b.__context__ = b, a  # a cycle
    assert in_chain(a, InputError) is None and in_chain(None, InputError) is None
