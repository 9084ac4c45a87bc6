"""GeminiEmbedder driven through the real google-genai client against the loopback emulator.

The emulator's vectors come from the pixel baseline: these tests check plumbing
(one vector per item, batching, options, errors), never what Gemini would answer.
"""

from __future__ import annotations

import asyncio
import io
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from embedsim.backends import gemini, get_embedder, is_local
from embedsim.backends.gemini import MissingKeyError
from embedsim.backends.gemini import payload as gemini_requests
from embedsim.backends.gemini.embedder import GeminiEmbedder
from embedsim.errors import BackendError, InputError
from embedsim.inputs.items import Item, estimate_tokens, text_item
from embedsim.testing.gemini import GeminiEmulator

MODEL = "gemini-embedding-2-preview"
FAKE_KEY = "AIza" + "Sy0123456789abcdefghijklmnopqrstuvw"  # realistic shape (39 chars), not a key


def make(emulator: GeminiEmulator, model: str = MODEL, dimension: int = 256, **options: Any) -> GeminiEmbedder:
    options = {"api_key": FAKE_KEY, "base_url": emulator.base_url, "initial_delay": 0.01, "max_delay": 0.02, **options}
    return GeminiEmbedder(model, dimension=dimension, **options)


def png_item(label: str, color: tuple[int, int, int]) -> Item:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), color).save(buffer, format="PNG")
    return Item("image", buffer.getvalue(), "image/png", label)


def texts(n: int, prefix: str = "t") -> list[Item]:
    return [text_item(f"{prefix} {i}", id=f"{prefix}{i}") for i in range(n)]


def requests_per_call(emulator: GeminiEmulator) -> list[int]:
    return [len(r.body["requests"]) for r in emulator.embed_calls]


# -- one vector per item, in order (the grouping trap) -------------------------------------
def test_three_items_give_three_different_unit_vectors_from_three_requests(emulator: GeminiEmulator) -> None:
    vectors = make(emulator).embed(texts(3))
    assert vectors.shape == (3, 256) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert not np.allclose(vectors[0], vectors[1]) and not np.allclose(vectors[1], vectors[2])
    (call,) = emulator.embed_calls
    assert call.path == f"/v1beta/models/{MODEL}:batchEmbedContents"
    assert [len(r["content"]["parts"]) for r in call.body["requests"]] == [1, 1, 1]


def test_rows_follow_input_order_for_every_kind(emulator: GeminiEmulator) -> None:
    items = [
        text_item("a cat", id="text"),
        png_item("red", (220, 20, 20)),
        png_item("blue", (20, 20, 220)),
        Item("audio", b"RIFF\x24\0\0\0WAVEfmt audio bytes", "audio/wav", "audio"),
        Item("video", b"\0\0\0\x18ftypmp42 video bytes", "video/mp4", "video"),
        Item("pdf", b"%PDF-1.4 a tiny document", "application/pdf", "pdf"),
    ]
    embedder = make(emulator)
    forward = embedder.embed(items)
    backward = embedder.embed(items[::-1])
    assert np.allclose(forward, backward[::-1], atol=1e-6)
    singles = np.vstack([embedder.embed([item]) for item in items])
    assert np.allclose(forward, singles, atol=1e-6)
    mimes = [r["content"]["parts"][0].get("inline_data", {}).get("mime_type") for r in emulator.embed_calls[0].body["requests"]]
    assert mimes == [None, "image/png", "image/png", "audio/wav", "video/mp4", "application/pdf"]


def test_grouping_the_items_into_one_content_would_be_caught(emulator: GeminiEmulator) -> None:
    """What the regression looks like at the emulator: one content -> one vector."""
    from google.genai import types

    client = make(emulator).client
    flat = client.models.embed_content(model=MODEL, contents=["a", "b", "c"])
    assert len(flat.embeddings or []) == 1  # the trap, reproduced
    separate = client.models.embed_content(
        model=MODEL, contents=[types.Content(parts=[types.Part(text=t)]) for t in "abc"]
    )
    assert len(separate.embeddings or []) == 3


# -- batching and de-duplication ----------------------------------------------------------
def test_250_items_take_three_calls_of_at_most_100(emulator: GeminiEmulator) -> None:
    vectors = make(emulator).embed(texts(250))
    assert vectors.shape == (250, 256)
    assert requests_per_call(emulator) == [100, 100, 50]


def test_batch_size_option(emulator: GeminiEmulator) -> None:
    make(emulator, batch_size=40).embed(texts(100))
    assert requests_per_call(emulator) == [40, 40, 20]
    with pytest.raises(InputError, match="batch_size"):
        make(emulator, batch_size=101)


def test_payload_size_splits_calls(emulator: GeminiEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gemini_requests, "MAX_REQUEST_BYTES", 3000)
    items = [Item("pdf", b"%PDF-" + bytes([i]) * 1000, "application/pdf", f"doc{i}") for i in range(5)]
    make(emulator).embed(items)
    assert requests_per_call(emulator) == [2, 2, 1]  # 1,340 base64 bytes each


def test_identical_items_are_sent_once_per_call(emulator: GeminiEmulator) -> None:
    a, b = text_item("same", id="first"), text_item("other")
    again = text_item("same", id="second")
    vectors = make(emulator).embed([a, b, again, a])
    assert requests_per_call(emulator) == [2]
    assert np.array_equal(vectors[0], vectors[2]) and np.array_equal(vectors[0], vectors[3])


_EMBEDDERS: dict[str, GeminiEmbedder] = {}  # one client for all examples (creating one costs ~0.1 s)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from(["apple", "pear", "fig", "kiwi", "lime", "plum"]), min_size=1, max_size=30))
def test_any_list_maps_rows_to_items(emulator: GeminiEmulator, words: list[str]) -> None:
    emulator.reset()
    embedder = _EMBEDDERS.get(emulator.base_url) or _EMBEDDERS.setdefault(emulator.base_url, make(emulator, batch_size=4))
    vectors = embedder.embed([text_item(w) for w in words])
    unique = sorted(set(words), key=words.index)
    assert requests_per_call(emulator) == [len(unique[i : i + 4]) for i in range(0, len(unique), 4)]
    reference = dict(zip(unique, embedder.embed([text_item(w) for w in unique])))
    assert all(np.array_equal(row, reference[w]) for row, w in zip(vectors, words))


def test_no_items_no_call(emulator: GeminiEmulator) -> None:
    assert make(emulator).embed([]).shape == (0, 256)
    assert asyncio.run(make(emulator).aembed([])).shape == (0, 256)
    assert emulator.embed_calls == []


# -- options --------------------------------------------------------------------------------
@pytest.mark.parametrize("dimension", [128, 768, 3072])
def test_dimension_is_sent_and_honoured(emulator: GeminiEmulator, dimension: int) -> None:
    vectors = make(emulator, dimension=dimension).embed(texts(2))
    assert vectors.shape == (2, dimension)
    assert {r["outputDimensionality"] for r in emulator.embed_calls[0].body["requests"]} == {dimension}


@pytest.mark.parametrize("dimension", [127, 3073, 0, "768"])
def test_dimension_out_of_range_is_an_input_error(emulator: GeminiEmulator, dimension: Any) -> None:
    with pytest.raises(InputError, match="128 to 3072"):
        make(emulator, dimension=dimension)


def test_api_version_is_a_setting_with_a_documented_default(emulator: GeminiEmulator,
                                                             clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("GOOGLE_GENAI_API_VERSION", "v1alpha")  # the SDK's variable does not move it
    make(emulator).embed(texts(1))
    make(emulator, api_version="v1").embed(texts(1))
    assert [r.path.split("/")[1] for r in emulator.embed_calls] == [gemini.DEFAULT_API_VERSION, "v1"] == ["v1beta", "v1"]


def test_task_goes_into_the_text_for_embedding_2(emulator: GeminiEmulator) -> None:
    make(emulator, task="sentence similarity").embed([text_item("hello")])
    make(emulator, task="SEMANTIC_SIMILARITY").embed([text_item("hello")])
    for call in emulator.embed_calls:
        (request,) = call.body["requests"]
        assert "taskType" not in request and "embedContentConfig" not in request
        assert request["content"]["parts"] == [{"text": "task: sentence similarity | query: hello"}]


def test_retrieval_documents_get_the_document_format_for_embedding_2(emulator: GeminiEmulator) -> None:
    make(emulator, task="RETRIEVAL_DOCUMENT").embed([text_item("the sky is blue")])
    make(emulator, task="RETRIEVAL_QUERY").embed([text_item("why is the sky blue")])
    parts = [call.body["requests"][0]["content"]["parts"] for call in emulator.embed_calls]
    assert parts == [[{"text": "title: none | text: the sky is blue"}],
                     [{"text": "task: search result | query: why is the sky blue"}]]


def test_a_misspelt_task_type_is_refused_for_every_model(emulator: GeminiEmulator) -> None:
    for model in ("gemini-embedding-2-preview", "gemini-embedding-001"):
        with pytest.raises(InputError, match="unknown task 'SEMANTIC_SIMILARTY'"):
            make(emulator, model=model, task="SEMANTIC_SIMILARTY")
    assert emulator.requests == []


def test_task_type_for_embedding_001(emulator: GeminiEmulator) -> None:
    make(emulator, model="gemini-embedding-001", task="sentence similarity").embed([text_item("hello")])
    (request,) = emulator.embed_calls[0].body["requests"]
    assert request["taskType"] == "SEMANTIC_SIMILARITY"
    assert request["content"]["parts"] == [{"text": "hello"}]
    with pytest.raises(InputError, match="unknown task"):
        make(emulator, model="gemini-embedding-001", task="poetry")


def test_embedding_001_refuses_images_before_sending(emulator: GeminiEmulator) -> None:
    with pytest.raises(InputError, match="text only"):
        make(emulator, model="gemini-embedding-001").embed([png_item("red", (255, 0, 0))])
    assert emulator.requests == []


def test_get_embedder_routes_gemini_ids(emulator: GeminiEmulator) -> None:
    embedder = get_embedder("gemini-embedding-2", 768, api_key="k", base_url=emulator.base_url)
    assert isinstance(embedder, GeminiEmbedder) and not is_local(embedder.model_id)
    assert (embedder.model_id, embedder.dimension) == ("gemini-embedding-2", 768)
    assert embedder.embed(texts(1)).shape == (1, 768)


# -- keys and environment -------------------------------------------------------------------


def test_missing_key_names_the_variable(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(MissingKeyError, match="GEMINI_API_KEY") as caught:
        GeminiEmbedder(MODEL)
    assert isinstance(caught.value, BackendError)


def test_key_from_environment_and_explicit_key_wins(emulator: GeminiEmulator, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("GEMINI_API_KEY", "from-env")
    GeminiEmbedder(MODEL, base_url=emulator.base_url).embed(texts(1))
    GeminiEmbedder(MODEL, api_key="explicit", base_url=emulator.base_url).embed(texts(1))
    assert [r.headers["x-goog-api-key"] for r in emulator.embed_calls] == ["from-env", "explicit"]


def test_with_both_key_variables_set_the_key_sent_is_named_once(emulator: GeminiEmulator,
                                                                 clean_env: pytest.MonkeyPatch,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    """With GEMINI_API_KEY and GOOGLE_API_KEY set, the SDK's "Using GOOGLE_API_KEY." is
    wrong (embedsim sends GEMINI_API_KEY's key): embedsim says which it sends, once per process."""
    import warnings

    from embedsim.backends.gemini import embedder as module

    clean_env.setattr(module, "_SAID", {"which key": False}, raising=False)  # a fresh process
    clean_env.setenv("GEMINI_API_KEY", "gemini-key")
    clean_env.setenv("GOOGLE_API_KEY", "google-key")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        GeminiEmbedder(MODEL, base_url=emulator.base_url).embed(texts(1))
        GeminiEmbedder(MODEL, base_url=emulator.base_url).embed(texts(1))
    assert "Using GOOGLE_API_KEY" not in caplog.text  # the SDK's notice, wrong here, is not shown
    assert [str(w.message) for w in said if "KEY" in str(w.message)] == [
        "GEMINI_API_KEY and GOOGLE_API_KEY are both set: embedsim sends GEMINI_API_KEY's key "
        "(unset GEMINI_API_KEY to send GOOGLE_API_KEY's)"]
    assert [r.headers["x-goog-api-key"] for r in emulator.embed_calls] == ["gemini-key", "gemini-key"]


def test_base_url_from_sdk_environment(emulator: GeminiEmulator, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("GOOGLE_API_KEY", "k")
    clean_env.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
    assert GeminiEmbedder(MODEL, dimension=128).embed(texts(1)).shape == (1, 128)
    assert len(emulator.embed_calls) == 1


def test_key_is_never_in_messages_or_logs(emulator: GeminiEmulator, caplog: pytest.LogCaptureFixture) -> None:
    import logging
    import traceback

    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    for fault in ("400", "403", "429", "500", "malformed", "truncated", "wrong_count", "nan", "empty"):
        emulator.inject(fault, times=None)
        with pytest.raises(BackendError) as caught:
            make(emulator, attempts=2).embed(texts(2))
        seen += [str(caught.value), repr(caught.value), "".join(traceback.format_exception(caught.value))]
        emulator.reset()
    with GeminiEmulator(api_key="another") as strict, pytest.raises(BackendError, match="API key not valid") as caught:
        make(strict).embed(texts(1))
    seen.append(str(caught.value))
    closed = GeminiEmbedder(MODEL, api_key=FAKE_KEY, base_url="http://127.0.0.1:9", attempts=1)  # nothing listens
    with pytest.raises(BackendError) as caught:
        closed.embed(texts(1))
    seen += [str(caught.value), caplog.text]
    assert all(FAKE_KEY not in text for text in seen)
    assert all(FAKE_KEY[:-4] not in text for text in seen)


# -- input limits, checked before sending -----------------------------------------------------
def test_text_over_the_token_limit_is_refused_naming_the_item(emulator: GeminiEmulator) -> None:
    with pytest.raises(InputError, match="long essay.*8192-token"):  # refused for every model, when built
        make(emulator).embed([text_item("fine"), text_item("word " * 9000, id="long essay")])
    with pytest.raises(InputError, match="2048-token"):
        make(emulator, model="gemini-embedding-001").embed([text_item("word " * 2100, id="x")])
    assert emulator.requests == []


def test_cjk_text_counts_about_a_token_per_character(emulator: GeminiEmulator) -> None:
    assert estimate_tokens("怒" * 10_000) >= 10_000 and estimate_tokens("word " * 100) == 125
    with pytest.raises(InputError, match="8192-token"):
        make(emulator).embed([text_item("怒" * 9000, id="long japanese")])
    assert emulator.requests == []


def test_image_over_the_inline_limit_is_refused_naming_the_item(emulator: GeminiEmulator) -> None:
    huge = Item("image", b"\x89PNG\r\n\x1a\n" + bytes(16 * 1024 * 1024), "image/png", "huge scan")
    with pytest.raises(InputError, match="huge scan.*20 MB inline request limit"):
        make(emulator).embed([huge])
    assert emulator.requests == []


def test_unsupported_or_empty_items_are_refused(emulator: GeminiEmulator) -> None:
    with pytest.raises(InputError, match="unsupported MIME type 'image/gif'"):
        make(emulator).embed([Item("image", b"GIF89a", "image/gif", "anim")])
    with pytest.raises(InputError, match="empty"):
        make(emulator).embed([Item("text", b"   ", "text/plain", "blank")])
    with pytest.raises(InputError, match="expected embedsim.inputs.items.Item"):
        make(emulator).embed(["just a string"])  # type: ignore[list-item]
    assert emulator.requests == []


# -- errors name the failed call's items --------------------------------------------------------
def test_api_error_carries_status_message_and_labels(emulator: GeminiEmulator) -> None:
    emulator.inject("500", times=None, after=1)
    with pytest.raises(gemini.GeminiAPIError) as caught:
        make(emulator, attempts=1).embed(texts(250))
    error = caught.value
    assert error.code == 500 and error.status == "INTERNAL"
    assert error.labels == [f"t{i}" for i in range(100, 200)]
    assert "call 2 of 3" in str(error) and "'t100'" in str(error) and "internal error" in str(error)


# -- async, concurrency, progress ------------------------------------------------------------------
def test_aembed_matches_embed(emulator: GeminiEmulator) -> None:
    items = texts(120) + [png_item("red", (200, 0, 0))]
    embedder = make(emulator)
    sync = embedder.embed(items)
    asynchronous = asyncio.run(embedder.aembed(items))
    assert np.allclose(sync, asynchronous, atol=1e-6)
    assert requests_per_call(emulator) == [100, 21, 100, 21] or sorted(requests_per_call(emulator)) == [21, 21, 100, 100]


def test_aembed_keeps_at_most_max_concurrency_calls_in_flight() -> None:
    with GeminiEmulator(latency=0.1) as emulator:
        embedder = make(emulator, batch_size=10, max_concurrency=3)

        async def run() -> np.ndarray:
            async with embedder:
                return await embedder.aembed(texts(100))

        vectors = asyncio.run(run())
        assert vectors.shape == (100, 256) and len(emulator.embed_calls) == 10
        assert 2 <= emulator.max_in_flight <= 3


def test_embed_is_sequential(emulator: GeminiEmulator) -> None:
    make(emulator, batch_size=10).embed(texts(50))
    assert emulator.max_in_flight == 1
    first_texts = [r.body["requests"][0]["content"]["parts"][0]["text"] for r in emulator.embed_calls]
    assert first_texts == [f"t {i}" for i in range(0, 50, 10)]  # deterministic order for cassettes


def test_progress_callback_and_quiet_off_a_tty(emulator: GeminiEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[tuple[int, int]] = []
    make(emulator, batch_size=100, progress=lambda done, total: calls.append((done, total))).embed(texts(250))
    assert calls == [(100, 250), (200, 250), (250, 250)]
    make(emulator).embed(texts(5))  # progress=None and stderr is not a TTY here
    assert capsys.readouterr().err == ""


def test_progress_bar_when_forced(emulator: GeminiEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    make(emulator, progress=True).embed(texts(3))
    assert "gemini-embedding-2-preview" in capsys.readouterr().err  # a tqdm bar on stderr


def test_close_and_context_manager(emulator: GeminiEmulator) -> None:
    with make(emulator) as embedder:
        embedder.embed(texts(1))
    assert repr(embedder) == "GeminiEmbedder('gemini-embedding-2-preview', dimension=256)"
    assert math.isclose(float(np.linalg.norm(make(emulator).embed(texts(1)))), 1.0, rel_tol=1e-6)


def test_images_are_sent_as_they_are(emulator: GeminiEmulator, tmp_path) -> None:
    """Transparency and 16-bit depth reach the service untouched (only ``pixels`` composites
    on white and reads 16 bits for itself)."""
    import base64

    from embedsim.inputs.items import load_item

    transparent = Image.new("RGBA", (16, 16), (200, 10, 10, 0))
    transparent.paste((10, 200, 10, 255), (0, 0, 8, 16))
    deep = Image.fromarray((np.arange(256).reshape(16, 16) * 257).astype(np.uint16))
    files = {}
    for name, image in (("transparent", transparent), ("deep", deep)):
        path = tmp_path / f"{name}.png"
        image.save(path)
        files[name] = path.read_bytes()
    make(emulator).embed([load_item(tmp_path / f"{name}.png") for name in files])
    sent = [base64.urlsafe_b64decode(r["content"]["parts"][0]["inline_data"]["data"])
            for r in emulator.embed_calls[0].body["requests"]]
    assert sent == list(files.values())
