"""The Gemini Batch API mode against the emulator's batch endpoints (never Gemini data):
vectors as online, the job's name kept so a rerun resumes it, failures named, recording and an
offline replay with as many polls as the recording, the plugin's and the CLI's options."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from embedsim.backends import get_embedder
from embedsim.backends.batch_mode import BatchMode, JobNames
from embedsim.backends.gemini import WIRE
from embedsim.errors import BackendError, InputError
from embedsim.inputs.items import text_item
from embedsim.recording import recorded_embedder
from embedsim.recording.wire import call_of
from embedsim.testing.gemini_batch import GeminiBatchEmulator

MODEL = "gemini-embedding-2"
KEY = "AIzaSyD-embedsimFakeKey0123456789abcdEx"  # realistic shape, not a key
WORDS = [text_item(w) for w in ("a cat", "a dog", "a cat", "a tree")]


@pytest.fixture
def service(clean_env: pytest.MonkeyPatch) -> Iterator[GeminiBatchEmulator]:
    with GeminiBatchEmulator(pending_polls=2) as server:
        clean_env.setenv("GOOGLE_GEMINI_BASE_URL", server.base_url)
        yield server


def batch_embedder(tmp_path: Path, **options: object):
    return get_embedder(MODEL, 128, api_key=KEY, batch=BatchMode(tmp_path / "jobs.json", 0.0), **options)


def test_a_batch_job_gives_the_online_vectors_with_one_creation_and_its_polls(
        service: GeminiBatchEmulator, tmp_path: Path) -> None:
    vectors = batch_embedder(tmp_path).embed(WORDS)
    online = get_embedder(MODEL, 128, api_key=KEY).embed(WORDS)
    assert np.array_equal(vectors, online) and vectors.dtype == np.float32
    calls = [(c.method, c.path) for c in service.batch_calls]
    assert calls == [("POST", f"/v1beta/models/{MODEL}:asyncBatchEmbedContent")] + [
        ("GET", "/v1beta/batches/emulated-1")] * 3  # two pending polls, then the succeeded job
    sent = service.batch_calls[0].body["batch"]["inputConfig"]["requests"]["requests"]
    assert [r["request"]["content"]["parts"] for r in sent] == [[{"text": w}] for w in ("a cat", "a dog", "a tree")]
    assert set(JobNames(tmp_path / "jobs.json")._read().values()) == {"batches/emulated-1"}


def test_an_interrupted_run_resumes_its_job_instead_of_creating_another(
        service: GeminiBatchEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from embedsim.backends.gemini import batch

    service.pending_polls = 4
    waits: list[float] = []

    def interrupted(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            raise KeyboardInterrupt

    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(batch.time, "sleep", interrupted)
        batch_embedder(tmp_path).embed(WORDS)
    assert len(service.jobs) == 1 and service.jobs["batches/emulated-1"].polls == 2
    vectors = batch_embedder(tmp_path).embed(WORDS)  # the rerun
    assert len(service.jobs) == 1  # not paid twice
    creations = [c for c in service.batch_calls if c.method == "POST"]
    assert len(creations) == 1 and service.jobs["batches/emulated-1"].polls == 5
    assert np.array_equal(vectors, get_embedder(MODEL, 128, api_key=KEY).embed(WORDS))


def test_other_items_are_another_job(service: GeminiBatchEmulator, tmp_path: Path) -> None:
    batch_embedder(tmp_path).embed(WORDS)
    batch_embedder(tmp_path).embed(WORDS[:2])
    assert sorted(service.jobs) == ["batches/emulated-1", "batches/emulated-2"]
    assert len(JobNames(tmp_path / "jobs.json")._read()) == 2


@pytest.mark.parametrize("state", ["BATCH_STATE_FAILED", "BATCH_STATE_EXPIRED"])
def test_a_job_that_ends_without_answers_is_named_and_forgotten(
        service: GeminiBatchEmulator, tmp_path: Path, state: str) -> None:
    service.final_state = state
    with pytest.raises(BackendError, match=rf"batch job batches/emulated-1 ended {state.replace('BATCH', 'JOB')} "
                                           r"after 3 poll\(s\).*a rerun creates a new job"):
        batch_embedder(tmp_path).embed(WORDS)
    assert JobNames(tmp_path / "jobs.json")._read() == {}
    service.final_state = "BATCH_STATE_SUCCEEDED"
    batch_embedder(tmp_path).embed(WORDS)
    assert sorted(service.jobs) == ["batches/emulated-1", "batches/emulated-2"]


def test_a_job_the_service_no_longer_knows_is_created_again(service: GeminiBatchEmulator, tmp_path: Path) -> None:
    first = batch_embedder(tmp_path).embed(WORDS)
    service.forget("batches/emulated-1")
    again = batch_embedder(tmp_path).embed(WORDS)
    assert np.array_equal(first, again)
    assert set(JobNames(tmp_path / "jobs.json")._read().values()) == {"batches/emulated-2"}


def test_an_unreadable_state_file_names_itself_and_what_to_do(service: GeminiBatchEmulator, tmp_path: Path) -> None:
    (tmp_path / "jobs.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(BackendError, match=r"jobs\.json.*delete it \(a rerun then creates new batch jobs\)"):
        batch_embedder(tmp_path).embed(WORDS)
    assert service.batch_calls == []


def test_an_api_error_is_redacted_and_names_the_items(service: GeminiBatchEmulator, tmp_path: Path) -> None:
    service.inject("403", message=f"key {KEY} was blocked")
    with pytest.raises(BackendError) as caught:
        batch_embedder(tmp_path, attempts=1).embed(WORDS)
    assert KEY not in str(caught.value) and "HTTP 403" in str(caught.value) and "'a cat'" in str(caught.value)


def test_vertex_ai_is_refused_before_any_call(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="Gemini Developer API only, not on Vertex AI"):
        get_embedder("vertex:gemini-embedding-2", 128, api_key="express-key-0123456789",
                     batch=BatchMode(tmp_path / "jobs.json"))


def test_the_wire_identifies_batch_calls_whatever_the_prefix() -> None:
    assert call_of("/gw/v1beta/batches/emulated-1", [WIRE]) == ("batches/emulated-1", "v1beta")
    assert call_of(f"/v1/models/{MODEL}:asyncBatchEmbedContent", [WIRE]) == (
        f"models/{MODEL}:asyncBatchEmbedContent", "v1")


def test_a_recording_replays_offline_with_the_recorded_polls_and_no_waiting(
        service: GeminiBatchEmulator, tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    path = tmp_path / MODEL / "m" / "t.yaml"
    environ = {"GEMINI_API_KEY": KEY, "EMBEDSIM_ALLOW_EMULATOR_RECORDINGS": "1"}
    state = tmp_path / "t.batch.json"
    with recorded_embedder(MODEL, 128, path, "once", "t.py::t", environ=environ,
                           batch=BatchMode(state, 0.01)) as recording:
        recorded = recording.embed(WORDS)
    text = path.read_text(encoding="utf-8")
    assert text.count("/v1beta/batches/emulated-1") == 3 and ":asyncBatchEmbedContent" in text
    assert KEY not in text and KEY not in state.read_text(encoding="utf-8")
    service.stop()  # offline from here on
    for kept_state in (True, False):  # resumed from the kept job name, or created again from the cassette
        if not kept_state:
            state.unlink()
        mode = BatchMode(state, 3600.0)  # a replay must not wait
        with recorded_embedder(MODEL, 128, path, "none", "t.py::t", environ={}, batch=mode) as replay:
            assert np.array_equal(replay.embed(WORDS), recorded)
            assert mode.poll_interval == 0.0
            assert replay.cassette.play_count == (3 if kept_state else 4)  # (creation and) the 3 recorded polls


def test_the_plugin_records_and_replays_a_batch_run(pytester: pytest.Pytester, clean_env: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_words="""
        from embedsim.inputs.items import text_item

        def test_words(experiment):
            m = experiment.similarity([text_item(w) for w in ("a cat", "a dog", "a tree")])
            assert m.shape == (3, 3)
    """)
    pytester.makeini(f"[pytest]\nembedsim_models = {MODEL}\nembedsim_dimension = 128\n")
    with GeminiBatchEmulator(pending_polls=1) as server:
        clean_env.setenv("GOOGLE_GEMINI_BASE_URL", server.base_url)
        clean_env.setenv("GEMINI_API_KEY", KEY)
        clean_env.setenv("EMBEDSIM_ALLOW_EMULATOR_RECORDINGS", "1")
        pytester.runpytest("--embedsim-batch", "0.01", "--record-mode=once", "-p", "no:randomly").assert_outcomes(
            passed=1)
        assert [c.method for c in server.batch_calls] == ["POST", "GET", "GET"] and server.embed_calls == []
    folder = pytester.path / "cassettes" / MODEL / "test_words"
    assert sorted(p.name for p in folder.iterdir()) == ["test_words.batch.json", "test_words.yaml"]
    clean_env.delenv("GEMINI_API_KEY")
    pytester.runpytest("--embedsim-batch", "60", "--block-network", "-p", "no:randomly").assert_outcomes(passed=1)


def test_batch_mode_with_a_backend_without_a_batch_service_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x(embedder):\n    pass\n")
    result = pytester.runpytest("--embedsim-batch", "30", "--embedsim-model", "pixels,vertex:gemini-embedding-2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*vertex:gemini-embedding-2: --embedsim-batch asks for batch jobs, but the "
                                 "vertex backend sends none*"])


def test_the_cli_batch_option(service: GeminiBatchEmulator, tmp_path: Path, clean_env: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    from embedsim.cli import main

    clean_env.setenv("GEMINI_API_KEY", KEY)
    args = ["matrix", "--rows", "text:a cat", "text:a dog", "--model", MODEL, "--dimension", "128"]
    assert main([*args, "--batch", "--batch-poll", "0", "--cache", str(tmp_path)]) == 0
    batch_out = capsys.readouterr().out
    assert [c.method for c in service.batch_calls] == ["POST", "GET", "GET", "GET"] and service.embed_calls == []
    assert json.loads((tmp_path / "batch-jobs.json").read_text())["jobs"]
    assert main(args) == 0 and capsys.readouterr().out == batch_out  # the same table as online calls
    assert main(["matrix", "--rows", "text:a", "--batch-poll", "5"]) == 2
    assert "give --batch too" in capsys.readouterr().err
    assert main(["matrix", "--rows", "text:a", "--batch"]) == 2
    assert "pixels: --batch asks for batch jobs, but the pixels backend sends none" in capsys.readouterr().err


def test_the_progress_bar_shows_the_jobs_state(service: GeminiBatchEmulator, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # tqdm cuts the line at the terminal's width, read from COLUMNS and LINES when stderr is captured
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv("LINES", "50")
    batch_embedder(tmp_path, progress=True).embed(WORDS)
    assert "job 1/1 batches/emulated-1: succeeded, poll 3" in capsys.readouterr().err


def test_more_than_the_inline_limit_becomes_several_jobs_and_aembed_waits_for_them(
        service: GeminiBatchEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from embedsim.backends.gemini import payload

    monkeypatch.setattr(payload, "MAX_REQUEST_BYTES", 6)  # each text alone in a job
    vectors = asyncio.run(batch_embedder(tmp_path).aembed(WORDS))
    assert sorted(service.jobs) == ["batches/emulated-1", "batches/emulated-2", "batches/emulated-3"]
    assert [len(job.answers) for job in service.jobs.values()] == [1, 1, 1]
    assert np.array_equal(vectors, get_embedder(MODEL, 128, api_key=KEY).embed(WORDS))
