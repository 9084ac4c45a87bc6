"""Recording and replaying remote models with vcrpy cassettes (against the emulator, in tmp_path).

Nothing here writes under the repository's ``cassettes/``: every cassette is recorded
from the loopback emulator into a pytester directory.
"""

from __future__ import annotations

import base64
import inspect
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import hypothesis
import pytest
import vcr
import yaml

from embedsim import files
from embedsim.backends.gemini import DEFAULT_API_VERSION
from embedsim.inputs.items import item_from_bytes
from embedsim.recording import (
    AtomicPersister,
    NotRecorded,
    body_matcher,
    cassette_path,
    digest_media,
    key_names,
    record_command,
    recorded_embedder,
)
from embedsim.testing.gemini import GeminiEmulator

MODEL = "gemini-embedding-2-preview"
FAKE_KEY = "AIzaSyD-embedsimFakeKey0123456789abcdEx"  # realistic shape: AIza + 35 characters


pytestmark = pytest.mark.usefixtures("outside_xdist")

EXPERIMENT = """
import io, json, os
from pathlib import Path
import numpy as np
from PIL import Image
from embedsim.inputs.items import item_from_bytes, text_item

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
    assert record_command("tests/test_x.py::test_y[gemini]", key_name=key_names(MODEL)[0]) == (
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
from embedsim.inputs.items import text_item

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


STOPS_BETWEEN_CALLS = """
from pathlib import Path
from embedsim.inputs.items import text_item

def test_two_calls(embedder):
    embedder.embed([text_item("apple"), text_item("car")])
    assert Path("ready").exists(), "the test fails between its calls"
    if not Path("one-call-only").exists():
        embedder.embed([text_item("boat")])
"""


def test_a_test_failing_between_its_calls_records_nothing_and_a_short_cassette_says_so(
        project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that fails for a non-recording reason between two calls while recording
    commits no one-call cassette; a replay making more calls than the cassette holds says exactly that."""
    project.makepyfile(test_exp=STOPS_BETWEEN_CALLS)
    path = project.path / "cassettes" / MODEL / "test_exp" / "test_two_calls.yaml"
    record(project, monkeypatch, "--record-mode=once")[0].assert_outcomes(failed=1)
    assert not path.exists()  # not a one-call cassette
    (project.path / "ready").touch()
    (project.path / "one-call-only").touch()
    record(project, monkeypatch, "--record-mode=once")[0].assert_outcomes(passed=1)  # a whole test of one call
    (project.path / "one-call-only").unlink()  # the test now makes a second call
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        f"E*the cassette cassettes/{MODEL}/test_exp/test_two_calls.yaml holds fewer calls than this test makes: "
        "its 1 recorded call(s) were all replayed, and call 2 is not recorded*", "E*- text 'boat'", "E*re-record it with:*"])
    assert "no longer sent" not in result.stdout.str()


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
    # test_faces_again has no cassette while the model has recordings: it fails with the record command
    result = project.runpytest("-rs", "-k", "faces_again or faces")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([f"no cassette cassettes/{MODEL}/test_exp/test_faces_again.yaml for this test, but "
                                 f"{MODEL} has recordings in cassettes/{MODEL} (a renamed or new test?); record it "
                                 "with: GEMINI_API_KEY=... pytest 'test_exp.py::test_faces_again*' --record-mode=once*"])
    assert "During handling" not in result.stdout.str()

    cassette(project).rename(cassette(project).with_name("test_more.yaml"))
    result = project.runpytest("-k", "test_more")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["E*CassetteMismatch:*", "E*- text 'one more call'", "E*--record-mode=rewrite*"])


def test_live_calls_are_exempt_from_block_network_the_rest_of_the_test_is_not(
        project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    project.makepyfile(test_live="""
        import os, socket, pytest
        from urllib.parse import urlsplit
        from embedsim.inputs.items import text_item

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
import vcr
from embedsim.inputs.items import text_item

@pytest.mark.parametrize("n", range(6))
def test_a(experiment, n):
    experiment.similarity([text_item(f"{experiment.test_name} a"), text_item(f"{experiment.test_name} b")])

@pytest.mark.parametrize("n", range(6))
def test_b(experiment, n):
    experiment.similarity([text_item(f"{experiment.test_name} c"), text_item(f"{experiment.test_name} d")])
"""


@pytest.mark.slow
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


# --- pytest-recording's public fixtures and hook ------------------------------------------------


def test_a_users_vcr_config_cassette_dir_name_and_hook_are_honoured(project: pytest.Pytester,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    project.makeconftest("""
        import os, pytest
        from pathlib import Path

        @pytest.fixture(scope="module")
        def vcr_config():
            def mark(response):
                response["headers"]["x-user-hook"] = ["seen"]
                return response
            return {"filter_headers": ["user-agent"], "before_record_response": mark}

        def pytest_recording_configure(config, vcr):
            Path("configured.txt").write_text("yes")
    """)
    project.makepyfile(test_named="""
        import os, pytest
        from embedsim.inputs.items import text_item

        @pytest.fixture(scope="module")
        def vcr_cassette_dir(request):
            return os.path.join(str(request.config.rootpath), "recordings")

        @pytest.mark.default_cassette("hello")
        def test_named(embedder):
            embedder.embed([text_item("hello")])
    """)
    record(project, monkeypatch, "--record-mode=once", "test_named.py")[0].assert_outcomes(passed=1)
    path = project.path / "recordings" / MODEL / "hello.yaml"
    text = path.read_text(encoding="utf-8")
    assert "user-agent" not in text and "x-goog-api-key" not in text  # theirs and embedsim's filters
    assert "x-user-hook" in text and text.count('"data":') == 0  # their hook ran after embedsim's
    assert (project.path / "configured.txt").read_text() == "yes"
    assert not (project.path / "cassettes" / MODEL / "test_named").exists()
    project.runpytest("--block-network", "test_named.py").assert_outcomes(passed=1)


# --- integrity: all or nothing, never lose the committed cassette ---------------------------------


def test_a_failed_first_recording_writes_no_partial_cassette(project: pytest.Pytester,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = two_call_project(project, ["apple", "car"], ["boat"])
    with GeminiEmulator() as emulator, monkeypatch.context() as env:
        emulator.inject("400", after=1)  # the first call is answered, the second refused
        env.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
        env.setenv("GEMINI_API_KEY", FAKE_KEY)
        project.runpytest("--record-mode=once").assert_outcomes(failed=1)
    assert not path.exists() and not list(path.parent.glob("*"))
    result = project.runpytest("-rs")
    result.assert_outcomes(skipped=1)  # still "not recorded yet", not a wrong "no longer sent"
    result.stdout.fnmatch_lines(["*not recorded yet; record them all with:*--record-mode=once*"])


KILLED = """
import json, signal
from pathlib import Path
from embedsim.inputs.items import text_item

def test_two_calls(embedder):
    first, second = json.loads(Path("words.json").read_text())
    embedder.embed([text_item(w) for w in first])
    Path("first-call-done").write_text("")
    signal.pause()  # killed here, in the middle of the recording
"""


def test_a_killed_rewrite_keeps_the_committed_cassette(project: pytest.Pytester,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = two_call_project(project, ["apple", "car"], ["boat"])
    record(project, monkeypatch, "--record-mode=once")[0].assert_outcomes(passed=1)
    before = path.read_bytes()
    project.makepyfile(test_exp=KILLED)
    (project.path / "words.json").write_text(json.dumps([["pear"], ["ship"]]))
    with GeminiEmulator() as emulator:
        env = {**os.environ, "GOOGLE_GEMINI_BASE_URL": emulator.base_url, "GEMINI_API_KEY": FAKE_KEY}
        run = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--record-mode=rewrite"],
                               cwd=project.path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            marker = project.path / "first-call-done"
            for _ in range(1200):
                if marker.exists() or run.poll() is not None:
                    break
                time.sleep(0.05)
            assert marker.exists(), "the recording did not start"
            assert path.read_bytes() == before  # mid-recording, the committed cassette is in place
        finally:
            run.kill()  # SIGKILL: no finally, no atexit
            run.wait()
        assert len(emulator.embed_calls) == 1
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary file either
    project.makepyfile(test_exp=TWO_CALLS)
    (project.path / "words.json").write_text(json.dumps([["apple", "car"], ["boat"]]))
    project.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize("content", [b"", b"  \n\t\n", b"\xff\xfe\x00bad", b"interactions: [", b"version: 1\n",
                                     b"interactions:\n- request: {}\n", b"- just\n- a list\n"],
                         ids=["empty", "whitespace", "not-utf8", "truncated", "no-interactions", "no-request-fields",
                              "a-list"])
def test_an_unreadable_cassette_is_an_error_never_a_live_call(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                              content: bytes) -> None:
    path = cassette(project)
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    for args, key in ((["--record-mode=once"], True), (["--record-mode=once"], False), ([], False)):
        with GeminiEmulator() as emulator, monkeypatch.context() as env:
            env.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
            if key:
                env.setenv("GEMINI_API_KEY", FAKE_KEY)
            result = project.runpytest(*args)
            assert emulator.requests == []  # no call at all, so never the placeholder key
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines([f"the cassette {path}*: restore it from version control "
                                     f"(git checkout -- {path}) or delete it and record it again with: "
                                     "GEMINI_API_KEY=... pytest 'test_exp.py::test_faces*' --record-mode=rewrite*"])
        assert "Traceback" not in result.stdout.str()
        assert path.read_bytes() == content


def test_a_replay_never_connects_anywhere(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    record(project, monkeypatch, "--record-mode=once")[0].assert_outcomes(passed=1)
    text = cassette(project).read_text(encoding="utf-8")
    cassette(project).write_text(text.replace('"text":"bright"', '"text":"brighter"'), encoding="utf-8")
    with GeminiEmulator() as emulator, monkeypatch.context() as env:  # a server that would answer
        env.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
        result = project.runpytest("--record-mode=none", "-p", "no:randomly")
        assert emulator.requests == []
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["E*CassetteMismatch*"])


# --- provenance -------------------------------------------------------------------------------------


def test_an_emulator_answer_under_a_vendor_model_id_is_refused(project: pytest.Pytester,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMBEDSIM_ALLOW_EMULATOR_RECORDINGS")
    result = record(project, monkeypatch, "--record-mode=once")[0]
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"E*EmulatorAnswer: refused to record *test_faces.yaml: the answer came from the "
                                 f"embedsim emulator (a test tool), not from the service of {MODEL}*"])
    assert not cassette(project).exists()


@pytest.mark.parametrize("workers", [(), ("-n", "2")])
def test_a_recording_from_a_foreign_host_is_named_in_the_summary(project: pytest.Pytester,
                                                                 monkeypatch: pytest.MonkeyPatch, workers: tuple[str, ...]) -> None:
    """Recording under a vendor's id through another host (a gateway, here the emulator,
    allowed) warns in the terminal summary, naming the model and the host - in any project, also
    from xdist workers - and records anyway; a replay says nothing."""
    with GeminiEmulator() as emulator, monkeypatch.context() as env:
        env.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
        env.setenv("GEMINI_API_KEY", FAKE_KEY)
        host = emulator.base_url.split("//")[1]
        run = project.runpytest_subprocess if workers else project.runpytest  # xdist workers need a process
        result = run("--record-mode=once", *workers)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"*WARNING: {MODEL} recorded from {host}, not generativelanguage.googleapis.com: "
                                 f"1 cassette(s) (test_exp.py::test_faces[[]{MODEL}[]])*"])
    assert cassette(project).is_file()
    assert "recorded from" not in project.runpytest().stdout.str()


def test_every_recording_states_its_provenance(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    from embedsim.recording import read_provenance

    result = record(project, monkeypatch, "--record-mode=once", "--embedsim-dimension", "256")[0]
    result.assert_outcomes(passed=1)
    entries = read_provenance(project.path / "cassettes" / MODEL)
    assert list(entries) == ["test_exp/test_faces.yaml"]
    entry = entries["test_exp/test_faces.yaml"]
    assert entry["sdk"].startswith("google-genai-sdk/") and entry["embedsim"]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", entry["endpoint"])  # the emulator, with its port
    assert (entry["api_version"], entry["dimension"], entry["task"], entry["emulator"], entry["interactions"]) == (
        DEFAULT_API_VERSION, 256, None, True, 1)
    assert entry["recorded_at"].endswith("+00:00")


def test_provenance_describes_the_written_cassette_not_the_requests(project: pytest.Pytester,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """``--record-mode=all`` through another endpoint replaces the interaction (the
    file holds 1): provenance says what the written cassette holds, not every request made."""
    from embedsim.recording import read_provenance

    record(project, monkeypatch, "--record-mode=once")[0].assert_outcomes(passed=1)
    with GeminiEmulator() as second, monkeypatch.context() as env:  # another endpoint (port)
        env.setenv("GOOGLE_GEMINI_BASE_URL", endpoint := second.base_url)
        env.setenv("GEMINI_API_KEY", FAKE_KEY)
        project.runpytest("--record-mode=all").assert_outcomes(passed=1)
    assert len(yaml.safe_load(cassette(project).read_text())["interactions"]) == 1
    entry = read_provenance(project.path / "cassettes" / MODEL)["test_exp/test_faces.yaml"]
    assert (entry["interactions"], entry["endpoint"]) == (1, endpoint)


@pytest.mark.skipif("before_save_interaction" not in inspect.signature(vcr.VCR).parameters,
                    reason="vcrpy < 9.2 has no before_save_interaction")
def test_provenance_counts_what_a_users_before_save_interaction_kept(project: pytest.Pytester,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's ``before_save_interaction`` drops an interaction: provenance counts the
    interactions the written cassette holds."""
    from embedsim.recording import read_provenance

    path = two_call_project(project, ["apple"], ["boat"])
    project.makeconftest("""
import pytest
import vcr

@pytest.fixture
def vcr_config():
    return {"before_save_interaction": lambda request, response: None if b"boat" in request.body else (request, response)}
""")
    record(project, monkeypatch, "--record-mode=once")[0].assert_outcomes(passed=1)
    assert len(yaml.safe_load(path.read_text())["interactions"]) == 1
    assert read_provenance(project.path / "cassettes" / MODEL)["test_exp/test_two_calls.yaml"]["interactions"] == 1


def test_provenance_describes_the_cassette_vcr_wrote_after_dropping_unused_requests(
        project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """vcr's ``drop_unused_requests``: a ``new_episodes`` run that replays one recorded
    call, records a new one and no longer makes the third writes two interactions; provenance
    counts the two the file holds (not the three the cassette held, nor the one request made)."""
    from embedsim.recording import read_provenance

    path = two_call_project(project, ["apple"], ["boat"])
    record(project, monkeypatch, "--record-mode=once")[0].assert_outcomes(passed=1)
    two_call_project(project, ["apple"], ["car"])
    project.makeconftest("""
import pytest

@pytest.fixture
def vcr_config():
    return {"drop_unused_requests": True}
""")
    result, emulator = record(project, monkeypatch, "--record-mode=new_episodes")
    result.assert_outcomes(passed=1)
    assert len(emulator.embed_calls) == 1  # "apple" replayed, "car" sent
    written = path.read_text(encoding="utf-8")
    assert len(yaml.safe_load(written)["interactions"]) == 2 and "boat" not in written and "car" in written
    entry = read_provenance(project.path / "cassettes" / MODEL)["test_exp/test_two_calls.yaml"]
    assert entry["interactions"] == 2


def test_provenance_follows_a_renamed_tests_moved_cassette_and_forgets_deleted_ones(
        project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rename a test and move its cassette (docs/recording.md: "Rename a test without re-recording"): the replay passes
    without re-recording, and provenance.json names the new cassette, never the old one."""
    from embedsim.recording import read_provenance

    record(project, monkeypatch, "--record-mode=once")[0].assert_outcomes(passed=1)
    folder = project.path / "cassettes" / MODEL
    before = read_provenance(folder)["test_exp/test_faces.yaml"]
    project.makepyfile(test_exp=EXPERIMENT.replace("def test_faces(", "def test_smiles("))
    cassette(project).rename(folder / "test_exp" / "test_smiles.yaml")  # git mv
    project.runpytest("--block-network").assert_outcomes(passed=1)  # replayed, no key
    assert read_provenance(folder) == {"test_exp/test_smiles.yaml": before}

    project.makepyfile(test_exp=EXPERIMENT.replace("def test_faces(", "def test_smiles(") + """
def test_other(experiment):
    test_smiles(experiment)
""")
    record(project, monkeypatch, "--record-mode=once")[0].assert_outcomes(passed=2)  # writes provenance.json
    written = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))
    assert sorted(written) == ["test_exp/test_other.yaml", "test_exp/test_smiles.yaml"]
    assert written["test_exp/test_smiles.yaml"] == before
    (folder / "test_exp" / "test_other.yaml").unlink()  # a deleted test's cassette
    assert list(read_provenance(folder)) == ["test_exp/test_smiles.yaml"]


def test_recordings_replay_whatever_the_api_version(tmp_path: Path, emulator: GeminiEmulator,
                                                    clean_env: pytest.MonkeyPatch) -> None:
    from embedsim.inputs.items import text_item

    clean_env.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
    path = tmp_path / MODEL / "m" / "t.yaml"
    words = [text_item("apple"), text_item("boat")]
    environ = {"GEMINI_API_KEY": FAKE_KEY, "EMBEDSIM_ALLOW_EMULATOR_RECORDINGS": "1"}
    with recorded_embedder(MODEL, 128, path, "once", "t.py::t", environ=environ, api_version="v1beta") as e:
        recorded = e.embed(words)
    assert "/v1beta/models/" in path.read_text(encoding="utf-8")
    for version in ("v1", "v1beta"):
        with recorded_embedder(MODEL, 128, path, "none", "t.py::t", environ={}, api_version=version) as e:
            assert (e.embed(words) == recorded).all()
    assert len(emulator.embed_calls) == 1


def test_a_recording_through_a_gateway_prefix_replays_against_the_default_base_url(
        project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """What identifies a call is the backend's ``Wire.call_path`` (model and method),
    not a gateway's path prefix; provenance states the API version actually asked for."""
    with GeminiEmulator(path_prefix="/gateway/google") as gateway, monkeypatch.context() as env:
        env.setenv("GOOGLE_GEMINI_BASE_URL", gateway.base_url)
        env.setenv("GEMINI_API_KEY", FAKE_KEY)
        project.runpytest("--record-mode=once").assert_outcomes(passed=1)
        assert [r.path for r in gateway.embed_calls] == [f"/gateway/google/v1beta/models/{MODEL}:batchEmbedContents"]
    assert "/gateway/google/v1beta/models/" in cassette(project).read_text(encoding="utf-8")
    from embedsim.recording import read_provenance

    entry = read_provenance(project.path / "cassettes" / MODEL)["test_exp/test_faces.yaml"]
    assert entry["api_version"] == DEFAULT_API_VERSION == "v1beta"
    # replay with the default base URL (no gateway, no key, nothing listening, the network blocked)
    project.runpytest("--block-network").assert_outcomes(passed=1)
    project.runpytest("--block-network", "--embedsim-api-version", "v1").assert_outcomes(passed=1)


# --- names and commands -----------------------------------------------------------------------------


def test_long_test_ids_get_short_deterministic_cassette_names(project: pytest.Pytester,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    project.makepyfile(test_exp="""
        import pytest
        from embedsim.inputs.items import text_item

        @pytest.mark.parametrize("word", ["w" * 300, "é" * 200], ids=["w" * 300, "é" * 200])
        def test_long(embedder, word):
            embedder.embed([text_item(word[:20])])
    """)
    record(project, monkeypatch, "--record-mode=once")[0].assert_outcomes(passed=2)
    names = sorted(p.name for p in (project.path / "cassettes" / MODEL / "test_exp").iterdir())
    assert len(names) == 2 and all(len(n.encode()) <= 240 and n.endswith(".yaml") for n in names)
    assert all(re.search(r"-[0-9a-f]{16}\.yaml$", n) for n in names)
    project.runpytest("--block-network").assert_outcomes(passed=2)  # the same names are found again


def test_the_rerecord_hint_repeats_the_runs_options(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    options = ("--embedsim-model", MODEL, "--embedsim-dimension", "256", "--embedsim-cassette-dir", "rec")
    record(project, monkeypatch, "--record-mode=once", *options)[0].assert_outcomes(passed=1)
    (project.path / "inputs.json").write_text(json.dumps({**INPUTS, "words": [["dim", "a"], ["bright", "b"]]}))
    result = project.runpytest(*options)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"E*re-record it with: GEMINI_API_KEY=... pytest 'test_exp.py::test_faces[[]{MODEL}[]]' "
                                 f"--embedsim-model {MODEL} --embedsim-dimension 256 --embedsim-cassette-dir rec "
                                 "--record-mode=rewrite --snapshot-update"])


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(hypothesis.strategies.text(max_size=40) | hypothesis.strategies.text(min_size=130, max_size=400))
def test_cassette_names_fit_any_file_system_and_stay_distinct(name: str) -> None:
    path = cassette_path("c", MODEL, "test_m", name)
    assert all(len(part.encode("utf-8")) <= 240 for part in path.parts)
    assert path == cassette_path("c", MODEL, "test_m", name) and path.parent == Path(f"c/{MODEL}/test_m")
    assert "/" not in path.name and path.name.endswith(".yaml")
    if len(name.encode("utf-8")) > 235:
        assert path != cassette_path("c", MODEL, "test_m", name + "x")


def test_a_one_item_per_call_mismatch_names_only_the_changed_item() -> None:
    """A backend sending each item alone (Bedrock's Titan): the first call's miss must not call the
    items of the calls still to come "no longer sent" - only the item that changed."""
    from vcr.cassette import Cassette
    from vcr.request import Request

    from embedsim.backends.bedrock import WIRE
    from embedsim.inputs.items import text_item
    from embedsim.recording import describe_mismatch

    def call(text: str) -> Request:
        return Request("POST", "https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.titan-embed-image-v1/invoke",
                       json.dumps({"inputText": text, "embeddingConfig": {"outputEmbeddingLength": 256}}), {})

    cassette = Cassette("c.yaml")
    for word in ("apple", "boat", "car"):
        cassette.append(call(word), {"status": {"code": 200, "message": "OK"}, "headers": {}, "body": {"string": b"{}"}})
    miss = SimpleNamespace(failed_request=call("ship"), cassette=cassette, reason="no_match")
    text = describe_mismatch(miss, [text_item(t) for t in ("ship", "boat", "car")], Path("c.yaml"),
                             "test_x.py::test_x", wires=[WIRE])
    assert "- text 'ship'" in text and "- text 'apple'" in text
    assert "text 'boat'" not in text and "text 'car'" not in text
