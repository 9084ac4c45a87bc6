"""The remote vendor backends (Voyage, Cohere, Jina, OpenAI) against their loopback emulators:
request shapes, batching, identical items sent once, unit vectors, retries, faults and errors
naming the model and the items, base URL variables, task settings. One case per vendor
(``tests/vendor_cases.py``); a vendor whose SDK is not installed is skipped."""

from __future__ import annotations

import numpy as np
import pytest
from vendor_cases import FAKE_KEYS, VENDOR_ENVIRONMENT, VENDORS, Vendor, payload_bytes, png

from embedsim.backends import get_embedder, resolve
from embedsim.backends.remote import MissingKeyError, VendorAPIError
from embedsim.errors import BackendError, InputError, NotApplicable
from embedsim.inputs.items import Item, item_from_bytes, text_item


@pytest.fixture(params=sorted(VENDORS))
def vendor(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Vendor:
    case = VENDORS[request.param]
    case.skip_without_sdk()
    for name in VENDOR_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    return case


@pytest.fixture
def server(vendor: Vendor):
    with vendor.make_emulator() as emulator:
        yield emulator


def test_ids_resolve_through_the_registry() -> None:
    for model, backend in (("voyage-multimodal-3.5", "voyage"), ("voyage-multimodal-3", "voyage"),
                           ("voyage-multimodal-4", "voyage"), ("embed-v4.0", "cohere"), ("embed-v5.0", "cohere"),
                           ("jina-embeddings-v4", "jina"), ("jina-clip-v2", "jina"),
                           ("text-embedding-3-small", "openai"), ("text-embedding-3-large", "openai")):
        spec = resolve(model)
        assert spec.name == backend and not spec.local and spec.wire is not None
        assert spec.wire.credential_headers and spec.wire.base_url_env and spec.key_env
    assert resolve("text-embedding-3-small").modalities_of("text-embedding-3-small") == frozenset({"text"})
    assert resolve("jina-embeddings-v3").modalities_of("jina-embeddings-v3") == frozenset({"text"})


def test_one_call_identical_items_once_images_as_given_unit_vectors(vendor: Vendor, server) -> None:
    image = item_from_bytes(png(), "red")
    items = [text_item("hello"), image, text_item("hello"), image] if vendor.images else \
        [text_item("hello"), text_item("world"), text_item("hello")]
    vectors = vendor.make(server.base_url).embed(items)
    assert vectors.shape == (len(items), vendor.dimension) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert (vectors[0] == vectors[2]).all()
    [call] = server.embed_calls
    assert call.headers["authorization"] == f"Bearer {FAKE_KEYS[vendor.name]}"
    sent = vendor.inputs(call.body)
    if vendor.images:
        assert sent[0] == "hello" and payload_bytes(sent[1]) == image.data and len(sent) == 2  # bytes unchanged
    else:
        assert sent == ["hello", "world"]


def test_request_shapes(vendor: Vendor, server) -> None:
    vendor.make(server.base_url, dimension=256 if vendor.name != "jina" else 512).embed([text_item("a")])
    body = server.embed_calls[0].body
    expected = {
        "voyage": {"model": "voyage-multimodal-3.5", "input_type": None, "truncation": False, "output_dtype": None,
                   "output_dimension": 256, "encoding_format": "base64"},
        "cohere": {"model": "embed-v4.0", "input_type": "search_document", "output_dimension": 256,
                   "embedding_types": ["float"], "truncate": "NONE"},
        "jina": {"model": "jina-embeddings-v4", "dimensions": 512},
        "openai": {"model": "text-embedding-3-small", "dimensions": 256, "encoding_format": "base64"},
    }[vendor.name]
    assert {k: v for k, v in body.items() if k not in ("inputs", "input")} == expected


def test_batches_within_the_limit_in_order(vendor: Vendor, server) -> None:
    words = [f"word {i}" for i in range(5)]
    vectors = vendor.make(server.base_url, batch_size=2).embed([text_item(w) for w in words])
    assert [vendor.inputs(c.body) for c in server.embed_calls] == [words[:2], words[2:4], words[4:]]
    alone = vendor.make(server.base_url).embed([text_item(words[3])])
    assert np.allclose(vectors[3], alone[0])


def test_a_retried_429_then_vectors(vendor: Vendor, server) -> None:
    server.inject("429")
    assert vendor.make(server.base_url).embed([text_item("x")]).shape == (1, vendor.dimension)
    assert len(server.embed_calls) == 2


@pytest.mark.parametrize("fault, expected", [
    ("400", r"HTTP 400: Bad request\. \(call 1 of 1 with 2 item\(s\): 'a', 'b'\)"),
    ("401", r"HTTP 401: Invalid API key provided\. - the service refused the API key: check {key}"),
    ("429", r"HTTP 429: .*rate limit or quota exceeded.*gave up after 2 attempts"),
    ("503", r"HTTP 503: .*gave up after 2 attempts"),
    ("malformed", r"the answer is not valid JSON .*'a', 'b'"),
    ("truncated", r"the answer is not valid JSON"),
    ("wrong_count", r"asked for 2 vectors, got 1; refusing to guess"),
    ("empty", r"vector for item 'a' has 0 values, expected \d+"),
    ("nan", r"zero or non-finite vector for 'a'"),
    ("301", r".*redirect.*refused: embedsim never follows redirects"),
])
def test_failures_name_the_model_and_the_items(vendor: Vendor, server, fault: str, expected: str) -> None:
    server.inject(fault, times=None)
    with pytest.raises(BackendError, match=f"^{vendor.model}: " + expected.format(key=vendor.key_env)) as info:
        vendor.make(server.base_url, attempts=2).embed([text_item("a"), text_item("b")])
    assert info.value.__context__ is None and info.value.__cause__ is None  # no SDK exception kept
    if fault[0].isdigit() and fault != "301":
        assert isinstance(info.value, VendorAPIError) and info.value.labels == ["a", "b"]


def test_a_deadline_per_attempt(vendor: Vendor, server) -> None:
    server.inject("delay", times=None, seconds=1.0)
    with pytest.raises(BackendError, match=rf"^{vendor.model}: no answer within the 0\.2 s timeout"):
        vendor.make(server.base_url, timeout=0.2, attempts=2).embed([text_item("slow")])


def test_a_slowly_sent_answer_ends_at_the_deadline(vendor: Vendor, server, request: pytest.FixtureRequest) -> None:
    """Regression: an answer sent in 30 pieces 0.1 s apart, each within the read
    timeout, is cut at the attempt's 0.3 s deadline a few pieces in. Voyage's SDK calls through
    ``requests``, whose timeout stays per read: not covered (see ``backends/deadline.py``)."""
    if vendor.name == "voyage":  # runs, and must fail: the day it holds, this marker goes
        request.applymarker(pytest.mark.xfail(strict=True, reason="voyageai sends through requests, whose timeout "
                                                                  "is per read: not a deadline yet (known limit)"))
    server.inject("slow_body", times=None, chunks=30, seconds=0.1)
    with pytest.raises(BackendError, match=rf"^{vendor.model}: no answer within the 0\.3 s timeout"):
        vendor.make(server.base_url, timeout=0.3, attempts=1).embed([text_item("slow")])
    assert len(server.embed_calls) == 1 and server.chunks_sent < 15


def test_refused_before_any_call(vendor: Vendor, server) -> None:
    embedder = vendor.make(server.base_url)
    limit = embedder.text_limit()
    with pytest.raises(InputError, match=rf"^{vendor.model}: item 'long' is about \d+ tokens .* over the {limit}-token"):
        embedder.embed([Item("text", ("word " * (limit + 10)).encode(), "text/plain", "long")])
    image = item_from_bytes(png(), "face")
    if vendor.images:
        with pytest.raises(InputError, match=r"item 'scan' is image/tiff, which .* does not take"):
            embedder.embed([Item("image", b"II*\x00", "image/tiff", "scan")])
    else:
        with pytest.raises(NotApplicable, match=rf"item 'face' is image, but {vendor.model} embeds text only"):
            embedder.embed([text_item("a"), image])
    assert server.requests == []


def test_a_dimension_the_model_does_not_offer(vendor: Vendor) -> None:
    size = {"voyage": 300, "cohere": 768, "jina": 2048, "openai": 2000}[vendor.name]
    model = "jina-clip-v2" if vendor.name == "jina" else vendor.model
    with pytest.raises(InputError, match=rf"^{model}: output dimension {size} is not offered by {model}; use one of"):
        vendor.load(vendor.embedder)(model, size, api_key="k")


def test_no_key_names_the_variable(vendor: Vendor) -> None:
    with pytest.raises(MissingKeyError, match=rf"^{vendor.model}: no .* API key\. Set the environment variable "
                                              rf"{vendor.key_env}"):
        get_embedder(vendor.model)


def test_the_key_and_base_url_from_the_environment(vendor: Vendor, server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(vendor.key_env, "env-key-0123456789")
    monkeypatch.setenv(vendor.base_url_env, server.base_url)
    embedder = get_embedder(vendor.model, timeout=5.0, api_version="v1beta")  # a run-wide Gemini version is ignored
    assert embedder.embed([text_item("a")]).shape == (1, vendor.dimension)
    assert server.embed_calls[0].headers["authorization"] == "Bearer env-key-0123456789"


@pytest.mark.parametrize("task", [None, "RETRIEVAL_QUERY", "retrieval_document", "SEMANTIC_SIMILARITY"])
def test_the_task_setting(vendor: Vendor, server, task: str | None) -> None:
    vendor.make(server.base_url, task=task).embed([text_item("a")])
    sent = server.embed_calls[0].body.get(vendor.task_field) if vendor.task_field else None
    expected = {
        "voyage": {None: None, "RETRIEVAL_QUERY": "query", "retrieval_document": "document", "SEMANTIC_SIMILARITY": None},
        "cohere": {None: "search_document", "RETRIEVAL_QUERY": "search_query", "retrieval_document": "search_document",
                   "SEMANTIC_SIMILARITY": "search_document"},
        "jina": {None: None, "RETRIEVAL_QUERY": "retrieval.query", "retrieval_document": "retrieval.passage",
                 "SEMANTIC_SIMILARITY": "text-matching"},
        "openai": {None: None, "RETRIEVAL_QUERY": None, "retrieval_document": None, "SEMANTIC_SIMILARITY": None},
    }[vendor.name][task]
    assert sent == expected
    assert vendor.task_field is not None or set(server.embed_calls[0].body) == {"model", "input", "dimensions",
                                                                                "encoding_format"}


def test_an_unknown_task_is_refused(vendor: Vendor) -> None:
    with pytest.raises(InputError, match=rf"^{vendor.model}: unknown task 'RETREIVAL_QUERY'; use one of"):
        vendor.load(vendor.embedder)(vendor.model, api_key="k", task="RETREIVAL_QUERY")


def test_a_cassette_miss_passes_through_as_it_is(vendor: Vendor, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import vcr
    from vcr.errors import CannotOverwriteExistingCassetteException

    embedder = vendor.make("http://127.0.0.1:9")
    with vcr.VCR(record_mode="none").use_cassette(str(tmp_path / "none.yaml")):
        with pytest.raises(CannotOverwriteExistingCassetteException):
            embedder.embed([text_item("a")])
