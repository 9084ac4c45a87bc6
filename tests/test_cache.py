"""The opt-in embedding cache: keys, atomic files, processes, and resuming interrupted runs."""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embedsim.backends.cache import CachedEmbedder, CacheWarning, EmbeddingCache
from embedsim.backends.gemini.embedder import GeminiEmbedder
from embedsim.errors import BackendError
from embedsim.inputs.items import Item, text_item
from embedsim.testing.gemini import GeminiEmulator

MODEL = "gemini-embedding-2-preview"


def make(emulator: GeminiEmulator, cache: EmbeddingCache | None, **options: Any) -> GeminiEmbedder | CachedEmbedder:
    """The Gemini embedder, behind ``cache`` when one is given (the cache wraps any embedder)."""
    options = {"api_key": "k", "base_url": emulator.base_url, "initial_delay": 0.01, "max_delay": 0.02, **options}
    embedder = GeminiEmbedder(MODEL, dimension=128, **options)
    return embedder if cache is None else CachedEmbedder(embedder, cache)


def texts(n: int) -> list[Item]:
    return [text_item(f"text {i}", id=f"t{i}") for i in range(n)]


def requested(emulator: GeminiEmulator) -> int:
    return sum(len(r.body["requests"]) for r in emulator.embed_calls)


# -- the store itself ---------------------------------------------------------------------
def test_key_depends_on_model_dimension_task_kind_and_content() -> None:
    item = text_item("hello")
    base = EmbeddingCache.key(MODEL, 768, None, item)
    assert base == EmbeddingCache.key(MODEL, 768, None, text_item("hello", id="another label"))
    variants = {
        EmbeddingCache.key("gemini-embedding-2", 768, None, item),
        EmbeddingCache.key(MODEL, 1536, None, item),
        EmbeddingCache.key(MODEL, 768, "clustering", item),
        EmbeddingCache.key(MODEL, 768, None, Item("pdf", item.data, "application/pdf", "p")),
        EmbeddingCache.key(MODEL, 768, None, text_item("hello!")),
    }
    assert base not in variants and len(variants) == 5


def test_put_get_round_trip_is_atomic_and_sharded(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "cache")
    key = EmbeddingCache.key(MODEL, 128, None, text_item("x"))
    assert cache.get(key) is None and key not in cache and len(cache) == 0
    cache.put(key, np.arange(4, dtype=np.float64))
    stored = cache.get(key)
    assert stored is not None and stored.dtype == np.float32 and stored.tolist() == [0, 1, 2, 3]
    assert cache.path(key) == tmp_path / "cache" / key[:2] / f"{key}.npy"
    assert key in cache and len(cache) == 1
    assert [p.name for p in cache.path(key).parent.iterdir()] == [f"{key}.npy"]  # no temp files left


def test_unreadable_entry_counts_as_missing(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    key = "ab" + "0" * 62
    cache.path(key).parent.mkdir(parents=True)
    cache.path(key).write_bytes(b"\x93NUMPY half a file")
    assert cache.get(key) is None
    cache.put(key, np.ones(3))
    assert cache.get(key) is not None


def _writer(directory: str, seed: int) -> None:
    cache = EmbeddingCache(directory)
    for i in range(60):
        key = EmbeddingCache.key(MODEL, 8, None, text_item(f"shared {i % 30}"))
        cache.put(key, np.full(8, i % 30, dtype=np.float32))


def test_several_processes_writing_the_same_keys(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_writer, args=(str(tmp_path), s)) for s in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    cache = EmbeddingCache(tmp_path)
    assert len(cache) == 30
    for i in range(30):
        vector = cache.get(EmbeddingCache.key(MODEL, 8, None, text_item(f"shared {i}")))
        assert vector is not None and np.all(vector == i)
    assert not list(tmp_path.glob("??/*.tmp"))


# -- with the backend ------------------------------------------------------------------------
def test_no_cache_by_default(emulator: GeminiEmulator) -> None:
    embedder = make(emulator, None)
    embedder.embed(texts(3))
    embedder.embed(texts(3))
    assert getattr(embedder, "cache", None) is None and requested(emulator) == 6


def test_second_run_requests_nothing_and_gives_the_same_vectors(emulator: GeminiEmulator, tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    first = make(emulator, cache).embed(texts(5))
    assert requested(emulator) == 5 and len(cache) == 5
    emulator.reset()
    second = make(emulator, EmbeddingCache(tmp_path)).embed(texts(5))
    assert requested(emulator) == 0
    assert np.array_equal(first, second)


def test_only_missing_items_are_requested(emulator: GeminiEmulator, tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    make(emulator, cache).embed(texts(4))
    emulator.reset()
    vectors = make(emulator, cache).embed(texts(6))
    assert requested(emulator) == 2 and vectors.shape == (6, 128)
    assert [r["content"]["parts"][0]["text"] for r in emulator.embed_calls[0].body["requests"]] == ["text 4", "text 5"]


def test_another_endpoint_is_another_entry(emulator: GeminiEmulator, tmp_path: Path) -> None:
    """Vectors cached from one server (the emulator) never answer for another (the service)."""
    cache = EmbeddingCache(tmp_path)
    make(emulator, cache).embed(texts(2))
    with GeminiEmulator() as other:
        make(other, cache).embed(texts(2))
        assert requested(other) == 2
    make(emulator, cache, api_version="v1").embed(texts(2))
    assert len(cache) == 6


def test_another_dimension_or_task_is_another_entry(emulator: GeminiEmulator, tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    make(emulator, cache).embed(texts(2))
    CachedEmbedder(GeminiEmbedder(MODEL, dimension=256, api_key="k", base_url=emulator.base_url), cache).embed(texts(2))
    make(emulator, cache, task="clustering").embed(texts(2))
    assert requested(emulator) == 6 and len(cache) == 6


def test_interrupted_run_keeps_what_arrived_and_rerun_requests_the_rest(
    emulator: GeminiEmulator, tmp_path: Path
) -> None:
    cache = EmbeddingCache(tmp_path)
    emulator.inject("500", times=None, after=2)  # the service breaks after two calls
    with pytest.raises(BackendError, match="call 3 of 5"):
        make(emulator, cache, batch_size=20, attempts=2).embed(texts(100))
    assert len(cache) == 40 and len(emulator.embed_calls) == 4  # 2 good calls, then 2 attempts
    emulator.reset()
    vectors = make(emulator, cache, batch_size=20).embed(texts(100))
    assert requested(emulator) == 60 and len(emulator.embed_calls) == 3
    emulator.reset()
    assert np.array_equal(make(emulator, None, batch_size=20).embed(texts(100)), vectors)


def test_ctrl_c_mid_run_keeps_what_arrived(emulator: GeminiEmulator, tmp_path: Path) -> None:
    def interrupt(done: int, total: int) -> None:
        if done >= 40:
            raise KeyboardInterrupt

    cache = EmbeddingCache(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        make(emulator, cache, batch_size=20, progress=interrupt).embed(texts(100))
    assert len(cache) == 40 and len(emulator.embed_calls) == 2
    emulator.reset()
    make(emulator, cache, batch_size=20).embed(texts(100))
    assert requested(emulator) == 60


def test_async_interrupted_run_resumes(tmp_path: Path) -> None:
    """Regression: the failed call let the next one start before the run stopped; its
    request (sent with aiohttp 3.11) could reach the emulator after ``reset`` and count in the rerun."""
    cache = EmbeddingCache(tmp_path)
    with GeminiEmulator() as emulator:
        emulator.inject("500", times=None, after=3)
        embedder = make(emulator, cache, batch_size=20, max_concurrency=1, attempts=1)
        with pytest.raises(BackendError):
            asyncio.run(embedder.aembed(texts(100)))
        assert len(cache) == 60 and len(emulator.embed_calls) == 4  # no call started after the failed one
        emulator.reset()
        vectors = asyncio.run(make(emulator, cache, batch_size=20).aembed(texts(100)))
        assert requested(emulator) == 40 and vectors.shape == (100, 128)


@pytest.mark.parametrize("where", ["file", "under_a_file"])
def test_an_unwritable_cache_folder_warns_once_and_keeps_the_vectors(
    emulator: GeminiEmulator, tmp_path: Path, where: str
) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("not a folder")
    directory = blocker if where == "file" else blocker / "sub"
    with pytest.warns(CacheWarning) as caught:
        vectors = make(emulator, EmbeddingCache(directory)).embed(texts(3))
    assert vectors.shape == (3, 128) and requested(emulator) == 3
    assert len(caught) == 1
    message = str(caught[0].message)
    assert f"embedding cache {directory}" in message and f"{blocker} is a file, not a folder" in message
    assert np.array_equal(vectors, make(emulator, None).embed(texts(3)))


# -- any embedder -------------------------------------------------------------------------------
#: A throwaway remote backend installed through the entry point: letter counts, each call noted.
REMOTE_BACKEND = '''
from embedsim.backends.base import BackendSpec, Wire

CALLS, OPTIONS = [], []
SPEC = BackendSpec(
    name="far", model_ids=("far-letters",), id_pattern=None, modalities=frozenset({"text"}), local=False,
    key_env=("FAR_API_KEY",), wire=Wire(official_hosts=(r"far\\.example",)), dimensions=(26, 26), default_dimension=26,
    grouping="all items in one call", factory="far_backend:FarEmbedder")


class FarEmbedder:
    def __init__(self, model_id, dimension, **options):
        self.model_id, self.dimension = model_id, dimension
        OPTIONS.append(options)

    def embed(self, items):
        import numpy as np

        CALLS.append([i.text for i in items])
        rows = np.full((len(items), 26), 0.01, dtype=np.float32)
        for row, item in zip(rows, items):
            for char in item.text.lower():
                row[(ord(char) - ord("a")) % 26] += 1
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)
'''


@pytest.fixture
def far_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The throwaway remote backend, installed for this test only."""
    import importlib

    import embedsim.backends as registry

    site = tmp_path / "site"
    info = site / "far_backend-1.0.dist-info"
    info.mkdir(parents=True)
    (site / "far_backend.py").write_text(REMOTE_BACKEND, encoding="utf-8")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: far-backend\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[embedsim.backends]\nfar = far_backend:SPEC\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    registry.invalidate()
    yield importlib.import_module("far_backend")
    monkeypatch.undo()
    sys.modules.pop("far_backend", None)
    registry.invalidate()


def test_the_cache_wraps_any_embedder(far_backend: Any, tmp_path: Path) -> None:
    """The cache was Gemini's (``GeminiEmbedder(cache=...)``); it is a wrapper now."""
    from embedsim.backends import get_embedder

    cache = EmbeddingCache(tmp_path / "cache")
    embedder = CachedEmbedder(get_embedder("far-letters", api_key="k"), cache)
    first = embedder.embed(texts(3) + texts(1))  # a duplicate is asked for once
    assert far_backend.CALLS == [["text 0", "text 1", "text 2"]] and len(cache) == 3
    second = CachedEmbedder(get_embedder("far-letters", api_key="k"), cache).embed(texts(4))
    assert far_backend.CALLS[1:] == [["text 3"]]
    assert np.array_equal(second[:3], first[:3]) and second.shape == (4, 26) and second.dtype == np.float32
    assert asyncio.run(embedder.aembed(texts(4))).shape == (4, 26) and len(far_backend.CALLS) == 2  # no aembed: embed


def test_the_cli_cache_works_for_any_remote_backend(far_backend: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Regression: ``--cache`` handed ``cache=`` to the backend's factory, which only
    Gemini's took; and the CLI passed no ``api_key`` while the plugin did. Every backend now gets
    the factory arguments of backends/base.py the same way."""
    from embedsim.cli import main

    monkeypatch.setenv("FAR_API_KEY", "far-key-123456")
    common = ("--model", "far-letters", "--cache", str(tmp_path / "cache"), "--timeout", "5")
    assert main(["matrix", "--rows", "text:ab", "text:cd", *common]) == 0, capsys.readouterr().err
    assert main(["matrix", "--rows", "text:ab", "text:cd", "text:ef", *common]) == 0, capsys.readouterr().err
    assert far_backend.CALLS == [["ab", "cd"], ["ef"]]
    assert far_backend.OPTIONS == [{"api_key": "far-key-123456", "timeout": 5.0}] * 2


def test_pytest_runs_never_use_the_cache() -> None:
    """One test = one self-contained cassette: neither the plugin nor the recording layer can reach the cache."""
    root = Path(__file__).resolve().parents[1] / "embedsim"
    users = [str(path.relative_to(root)) for folder in ("plugin", "recording") for path in (root / folder).rglob("*.py")
             if "backends.cache" in path.read_text(encoding="utf-8") or "CachedEmbedder" in path.read_text(encoding="utf-8")]
    assert users == []
