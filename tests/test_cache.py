"""The opt-in embedding cache: keys, atomic files, processes, and resuming interrupted runs."""

from __future__ import annotations

import asyncio
import multiprocessing
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embedsim.backends.gemini.embedder import GeminiEmbedder
from embedsim.backends.cache import CacheWarning, EmbeddingCache
from embedsim.testing.gemini import GeminiEmulator
from embedsim.errors import BackendError
from embedsim.inputs.items import Item, text_item

MODEL = "gemini-embedding-2-preview"


def make(emulator: GeminiEmulator, cache: EmbeddingCache | None, **options: Any) -> GeminiEmbedder:
    options = {"api_key": "k", "base_url": emulator.base_url, "initial_delay": 0.01, "max_delay": 0.02, **options}
    return GeminiEmbedder(MODEL, dimension=128, cache=cache, **options)


def texts(n: int) -> list[Item]:
    return [text_item(f"text {i}", label=f"t{i}") for i in range(n)]


def requested(emulator: GeminiEmulator) -> int:
    return sum(len(r.body["requests"]) for r in emulator.embed_calls)


# -- the store itself ---------------------------------------------------------------------
def test_key_depends_on_model_dimension_task_kind_and_content() -> None:
    item = text_item("hello")
    base = EmbeddingCache.key(MODEL, 768, None, item)
    assert base == EmbeddingCache.key(MODEL, 768, None, text_item("hello", label="another label"))
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
    assert embedder.cache is None and requested(emulator) == 6


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
    GeminiEmbedder(MODEL, dimension=256, cache=cache, api_key="k", base_url=emulator.base_url).embed(texts(2))
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
    """Regression (issue 11): the failed call let the next one start before the run stopped; its
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
