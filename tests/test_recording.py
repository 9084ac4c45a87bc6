"""Recording and replaying remote models with vcrpy cassettes (against the emulator, in tmp_path).

Nothing here writes under the repository's ``cassettes/``: every cassette is recorded
from the loopback emulator into a pytester directory.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

# pytester's inline runs drop modules first imported inside them; import the heavy ones here once
import embedsim.backends.gemini_embedder  # noqa: F401
import embedsim.heatmap  # noqa: F401
import hypothesis  # noqa: F401
import vcr  # noqa: F401
import yaml
from embedsim import files
from embedsim.emulator import GeminiEmulator
from embedsim.items import item_from_bytes
from embedsim.recording import (
    AtomicPersister,
    NotRecorded,
    body_matcher,
    cassette_path,
    digest_media,
    record_command,
    recorded_embedder,
)

MODEL = "gemini-embedding-2-preview"
FAKE_KEY = "AIzaSyD-embedsimFakeKey0123456789abcdEx"  # realistic shape: AIza + 35 characters


pytestmark = pytest.mark.usefixtures("outside_xdist")

EXPERIMENT = """
import io, json, os
from pathlib import Path
import numpy as np
from PIL import Image
from embedsim.items import item_from_bytes, text_item

def png(shade, size=64):
    rng = np.random.default_rng(shade)
    pixels = rng.integers(0, 255, (size, size, 3), dtype=np.uint8) if size > 64 else np.full((size, size, 3), shade, np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()

def items():
    settings = json.loads(Path("inputs.json").read_text())
    images = [item_from_bytes(png(shade, settings.get("size", 64)), name, {"g": group})
              for name, shade, group in settings["images"]]
    return images, [text_item(w, labels={"g": g}) for w, g in settings["words"]]

def test_faces(experiment):
    images, words = items()
    m = experiment.similarity(images, words)
    Path(f"vectors-{experiment.model_id}.json").write_text(json.dumps(np.round(m.values, 7).tolist()))
    experiment.expect_top1(m, by="g", at_least=0.0)
"""

INPUTS = {"images": [["face1", 40, "a"], ["face2", 200, "b"]], "words": [["dark", "a"], ["bright", "b"]]}


@pytest.fixture
def project(pytester: pytest.Pytester, clean_env: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makeini(f"[pytest]\nembedsim_models = {MODEL}\n")
    pytester.makepyfile(test_exp=EXPERIMENT)
    (pytester.path / "inputs.json").write_text(json.dumps(INPUTS))
    return pytester


def record(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[pytest.RunResult, GeminiEmulator]:
    with GeminiEmulator() as emulator:
        with monkeypatch.context() as env:
            env.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
            env.setenv("GEMINI_API_KEY", FAKE_KEY)
            result = project.runpytest(*args)
    return result, emulator


def cassette(project: pytest.Pytester) -> Path:
    return project.path / "cassettes" / MODEL / "test_exp" / "test_faces.yaml"


# --- units ------------------------------------------------------------------------------------


def test_digest_media_uses_the_item_digest() -> None:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, format="PNG")
    item = item_from_bytes(buffer.getvalue(), "swatch")
    body = json.dumps({"requests": [{"content": {"parts": [
        {"inline_data": {"data": base64.urlsafe_b64encode(item.data).decode(), "mime_type": "image/png"}},
        {"inlineData": {"data": base64.b64encode(item.data).decode(), "mimeType": "image/png"}},
        {"text": "怒"}]}}]}, ensure_ascii=False)
    parts = json.loads(digest_media(body.encode()))["requests"][0]["content"]["parts"]
    assert parts[0]["inline_data"]["data"] == parts[1]["inlineData"]["data"] == f"sha256:{item.digest}"
    assert parts[2] == {"text": "怒"}
    assert digest_media(digest_media(body.encode())) == digest_media(body.encode())  # idempotent
    assert digest_media(b"not json") == b"not json"


def test_body_matcher_compares_normalised_json() -> None:
    data = base64.b64encode(b"image bytes").decode()
    a = SimpleNamespace(body=json.dumps({"x": 1, "p": {"inline_data": {"data": data}}}).encode())
    b = SimpleNamespace(body=digest_media(json.dumps({"p": {"inline_data": {"data": data}}, "x": 1})))
    body_matcher(a, b)
    c = SimpleNamespace(body=json.dumps({"x": 1, "p": {"inline_data": {"data": base64.b64encode(b"other").decode()}}}))
    with pytest.raises(AssertionError, match="media compared by sha256"):
        body_matcher(a, c)


def test_paths_and_commands() -> None:
    assert cassette_path("cassettes", MODEL, "test_faces", "test_x[a/b]") == Path(
        f"cassettes/{MODEL}/test_faces/test_x[a-b].yaml")
    assert record_command("tests/test_x.py::test_y[gemini]", model_id=MODEL) == (
        "GEMINI_API_KEY=... pytest 'tests/test_x.py::test_y[gemini]' --record-mode=once --snapshot-update")


def test_no_cassette_and_no_way_to_record_is_not_recorded(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    for mode, env in (("none", {"GEMINI_API_KEY": FAKE_KEY}), ("once", {}), ("rewrite", {})):
        with pytest.raises(NotRecorded, match="record"):
            with recorded_embedder(MODEL, 768, path, mode, "t.py::t", environ=env):
                pass


# --- record, replay, mismatch ------------------------------------------------------------------


def test_record_then_replay_offline_gives_identical_vectors(project: pytest.Pytester,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    result, emulator = record(project, monkeypatch, "--record-mode=once", "--block-network")  # recording is exempt
    result.assert_outcomes(passed=1)
    assert len(emulator.embed_calls) == 1  # one batch call for 4 distinct items
    recorded = (project.path / f"vectors-{MODEL}.json").read_text()
    text = cassette(project).read_text(encoding="utf-8")
    assert FAKE_KEY not in text and "x-goog-api-key" not in text
    assert text.count('"data":"sha256:') == 2 and "iVBOR" not in text  # digests, no base64 PNG

    (project.path / f"vectors-{MODEL}.json").unlink()
    result = project.runpytest("--block-network", "-p", "no:randomly")  # emulator stopped, no key
    result.assert_outcomes(passed=1)
    assert (project.path / f"vectors-{MODEL}.json").read_text() == recorded  # replay time: benchmarks/


def test_changed_item_fails_with_the_items_and_the_rerecord_command(project: pytest.Pytester,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    record(project, monkeypatch, "--record-mode=once")[0].assert_outcomes(passed=1)
    changed = {"images": [["face1", 40, "a"], ["face2", 201, "b"]], "words": [["dark", "a"], ["light", "b"]]}
    (project.path / "inputs.json").write_text(json.dumps(changed))
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        f"E*CassetteMismatch: the cassette cassettes/{MODEL}/test_exp/test_faces.yaml does not match "
        "this test's request (1 recorded interaction(s)):",
        "E*items whose content changed:",
        "E*- image 'face2': image/png, sha256:* now, image/png, sha256:* in the cassette",
        "E*items sent now but not in the cassette (new or changed):",
        "E*- text 'light'",
        "E*items in the cassette that are no longer sent:",
        "E*- text 'bright'",
        f"E*re-record it with: GEMINI_API_KEY=... pytest 'test_exp.py::test_faces[[]{MODEL}[]]' --record-mode=rewrite --snapshot-update",
    ])
    # re-recording with the command's mode makes the test pass again
    record(project, monkeypatch, "--record-mode=rewrite")[0].assert_outcomes(passed=1)
    project.runpytest().assert_outcomes(passed=1)


def test_failed_rerecording_keeps_the_old_cassette(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    record(project, monkeypatch, "--record-mode=once")[0].assert_outcomes(passed=1)
    before = cassette(project).read_bytes()
    with GeminiEmulator() as emulator, monkeypatch.context() as env:
        emulator.inject("400", times=None)  # the service refuses every call
        env.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
        env.setenv("GEMINI_API_KEY", FAKE_KEY)
        project.runpytest("--record-mode=rewrite").assert_outcomes(failed=1)
    assert cassette(project).read_bytes() == before
    project.runpytest().assert_outcomes(passed=1)


TWO_CALLS = """
import json
from pathlib import Path
from embedsim.items import text_item

def test_two_calls(embedder):
    first, second = json.loads(Path("words.json").read_text())
    embedder.embed([text_item(w) for w in first])
    embedder.embed([text_item(w) for w in second])
"""


def two_call_project(project: pytest.Pytester, first: list[str], second: list[str]) -> Path:
    project.makepyfile(test_exp=TWO_CALLS)
    (project.path / "words.json").write_text(json.dumps([first, second]))
    return project.path / "cassettes" / MODEL / "test_exp" / "test_two_calls.yaml"


def test_a_rewrite_that_fails_midway_keeps_the_old_cassette(project: pytest.Pytester,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = two_call_project(project, ["apple", "car"], ["boat"])
    record(project, monkeypatch, "--record-mode=once")[0].assert_outcomes(passed=1)
    before = path.read_bytes()
    with GeminiEmulator() as emulator, monkeypatch.context() as env:
        emulator.inject("400", after=1)  # the first call is answered, the second refused
        env.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
        env.setenv("GEMINI_API_KEY", FAKE_KEY)
        project.runpytest("--record-mode=rewrite").assert_outcomes(failed=1)
    assert path.read_bytes() == before  # not a one-call cassette
    project.runpytest().assert_outcomes(passed=1)


def test_a_mismatch_in_a_later_call_lists_only_what_changed(project: pytest.Pytester,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    two_call_project(project, ["apple", "car"], ["boat"])
    record(project, monkeypatch, "--record-mode=once")[0].assert_outcomes(passed=1)
    (project.path / "words.json").write_text(json.dumps([["apple", "car"], ["ship"]]))
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["E*items sent now but not in the cassette*", "E*- text 'ship'",
                                 "E*items in the cassette that are no longer sent:", "E*- text 'boat'"])
    assert "- text 'apple'" not in result.stdout.str() and "- text 'car'" not in result.stdout.str()


def test_a_retried_error_is_not_recorded(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    with GeminiEmulator() as emulator, monkeypatch.context() as env:
        emulator.inject("429")  # the SDK retries it and then gets the vectors
        env.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
        env.setenv("GEMINI_API_KEY", FAKE_KEY)
        project.runpytest("--record-mode=once").assert_outcomes(passed=1)
        assert len(emulator.embed_calls) == 2
    statuses = [i["response"]["status"]["code"] for i in yaml.safe_load(cassette(project).read_text())["interactions"]]
    assert statuses == [200]
    project.runpytest("--block-network").assert_outcomes(passed=1)


def test_unrecorded_extra_call_in_replay_fails(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    record(project, monkeypatch, "--record-mode=once")[0].assert_outcomes(passed=1)
    project.makepyfile(test_exp=EXPERIMENT + """
def test_faces_again(experiment):
    pass

def test_more(experiment):
    test_faces(experiment)
    experiment.embedder.embed([text_item("one more call")])
""")
    # test_faces_again has no cassette: skipped with the record command; test_more: new calls
    result = project.runpytest("-rs", "-k", "faces_again or faces")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*--record-mode=once*"])

    cassette(project).rename(cassette(project).with_name("test_more.yaml"))
    result = project.runpytest("-k", "test_more")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["E*CassetteMismatch:*", "E*- text 'one more call'", "E*--record-mode=rewrite*"])


def test_live_calls_are_exempt_from_block_network_the_rest_of_the_test_is_not(
        project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    project.makepyfile(test_live="""
        import os, socket, pytest
        from urllib.parse import urlsplit
        from embedsim.items import text_item

        def test_live(embedder):
            assert embedder.embed([text_item("hello")]).shape == (1, 768)
            url = urlsplit(os.environ["GOOGLE_GEMINI_BASE_URL"])
            with pytest.raises(RuntimeError, match="Network is disabled"):
                socket.create_connection((url.hostname, url.port))
    """)
    result, emulator = record(project, monkeypatch, "--disable-recording", "--block-network", "test_live.py")
    result.assert_outcomes(passed=1)
    assert len(emulator.embed_calls) == 1
    assert not (project.path / "cassettes").exists()


def test_media_digests_keep_cassettes_small(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    (project.path / "inputs.json").write_text(json.dumps({**INPUTS, "size": 320}))  # two ~300 KB noise PNGs
    record(project, monkeypatch, "--record-mode=once")[0].assert_outcomes(passed=1)
    size = cassette(project).stat().st_size
    assert size < 80_000, size  # 4 x 768 floats dominate; the 600 KB of images are 2 digests


def test_local_models_need_no_cassette(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(embedder):\n    assert embedder.embed([]).shape == (0, 768)\n")
    pytester.runpytest("--block-network", "--record-mode=once").assert_outcomes(passed=1)
    assert not (pytester.path / "cassettes").exists()


# --- atomic, parallel-safe cassettes ------------------------------------------------------------


def test_an_interrupted_cassette_write_keeps_the_previous_cassette(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from vcr.request import Request
    from vcr.serializers import yamlserializer

    path = tmp_path / "new" / "c.yaml"  # the folder is created
    AtomicPersister.save_cassette(path, {"requests": [], "responses": []}, yamlserializer)
    before = path.read_bytes()

    def interrupted(source: str, target: str) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(files.os, "replace", interrupted)
        with pytest.raises(KeyboardInterrupt):
            AtomicPersister.save_cassette(path, {"requests": [Request("POST", "https://x/", b"{}", {})],
                                                 "responses": [{"status": {"code": 200}, "body": {"string": ""}}]},
                                          yamlserializer)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["c.yaml"]  # no temporary file left
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == {"interactions": [], "version": 1}


MANY = """
import pytest
from embedsim.items import text_item

@pytest.mark.parametrize("n", range(6))
def test_a(experiment, n):
    experiment.similarity([text_item(f"{experiment.test_name} a"), text_item(f"{experiment.test_name} b")])

@pytest.mark.parametrize("n", range(6))
def test_b(experiment, n):
    experiment.similarity([text_item(f"{experiment.test_name} c"), text_item(f"{experiment.test_name} d")])
"""


def test_parallel_recorders_write_complete_cassettes_into_one_folder(project: pytest.Pytester,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    project.makepyfile(test_two=MANY, test_xdist=MANY)
    run = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--record-mode=once"]
    with GeminiEmulator() as emulator:
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
        monkeypatch.setenv("GEMINI_API_KEY", FAKE_KEY)
        # two runs at once, recording different tests into one (not yet existing) folder
        runs = [subprocess.Popen([*run, "test_two.py", "-k", k], cwd=project.path, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, env=os.environ.copy()) for k in ("test_a", "test_b")]
        outputs = [r.communicate(timeout=120)[0].decode() for r in runs]
        assert [r.returncode for r in runs] == [0, 0], outputs
        # two pytest-xdist workers
        project.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--record-mode=once",
                                     "test_xdist.py").assert_outcomes(passed=12)
        assert len(emulator.embed_calls) == 24
    monkeypatch.delenv("GOOGLE_GEMINI_BASE_URL")
    monkeypatch.delenv("GEMINI_API_KEY")
    folder = project.path / "cassettes" / MODEL
    for module in ("test_two", "test_xdist"):
        names = sorted(p.name for p in (folder / module).iterdir())
        assert names == sorted(f"test_{t}[{n}].yaml" for t in "ab" for n in range(6))  # no temporary files
        for name in names:
            interactions = yaml.safe_load((folder / module / name).read_text(encoding="utf-8"))["interactions"]
            assert len(interactions) == 1 and name[:-5] in interactions[0]["request"]["body"]
    project.runpytest("--block-network", "test_two.py", "test_xdist.py").assert_outcomes(passed=24)
