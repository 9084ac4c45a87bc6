"""The API key is never shown: terminal output at every ``--tb`` style with ``-l``,
``--full-trace``, junit XML, log files, the report, cassettes and the CLI - for 4xx and 5xx
answers that echo the key, timeouts and connection errors, sync and async."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from embedsim.backends.gemini.calls import redact
from embedsim.backends.redaction import RedactingFilter
from embedsim.cli import main
from embedsim.testing.gemini import GeminiEmulator

#: A realistic fake key: ``AIza`` + 35 characters, as Google issues them.
KEY = "AIza" + "SyD3m0-FakeKey_ForTests1234567890ab"
MODEL = "gemini-embedding-2-preview"

INNER = f'''
import asyncio, os
import pytest
from embedsim.inputs.items import text_item
from embedsim.backends.gemini.embedder import GeminiEmbedder

ITEMS = [text_item("a"), text_item("b")]


def direct(base_url, **options):
    return GeminiEmbedder("{MODEL}", 128, attempts=2, initial_delay=0.01, max_delay=0.02, base_url=base_url,
                          **options)


def test_recording_through_the_fixture(embedder):  # 400 echoing the key, key from the environment
    embedder.embed(ITEMS)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("fault", ["400", "500", "timeout", "refused"])
def test_direct(fault, mode):
    base = os.environ["BASE_" + fault.upper()]
    embedder = direct(base, timeout=0.2)
    if mode == "sync":
        embedder.embed(ITEMS)
    else:
        asyncio.run(embedder.aembed(ITEMS))
'''


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch):
    """Emulators answering 400 / 500 with the key in the message, one that never answers in time,
    and a closed port - and the key in the environment."""
    for name in ("GOOGLE_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT"):
        monkeypatch.delenv(name, raising=False)
    with GeminiEmulator() as bad, GeminiEmulator() as broken, GeminiEmulator() as slow:
        bad.inject("400", times=None, message=f"API key not valid: {KEY}")
        broken.inject("500", times=None, message=f"internal error for key {KEY}")
        slow.inject("delay", times=None, seconds=1.0)
        monkeypatch.setenv("GEMINI_API_KEY", KEY)
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", bad.base_url)
        for name, url in (("400", bad.base_url), ("500", broken.base_url), ("TIMEOUT", slow.base_url),
                          ("REFUSED", "http://127.0.0.1:9")):
            monkeypatch.setenv(f"BASE_{name}", url)
        yield


def leaks(root: Path, text: str) -> list[str]:
    found = [f"output line: {line[:200]}" for line in text.splitlines() if KEY in line]
    for path in root.rglob("*"):
        if path.is_file() and KEY.encode() in path.read_bytes():
            found.append(f"file: {path.relative_to(root)}")
    return found


@pytest.mark.usefixtures("servers")
@pytest.mark.parametrize("style", [("--tb=auto", "-l"), ("--tb=long", "-l", "-vv"), ("--tb=short", "-l"),
                                   ("--tb=line",), ("--tb=native", "-l"), ("--tb=no", "-rA"),
                                   ("--full-trace", "-l")])
def test_the_key_appears_nowhere(pytester: pytest.Pytester, style: tuple[str, ...]) -> None:
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest(
        *style, "--record-mode=once", "--embedsim-model", MODEL, "--embedsim-report", "report",
        "--junitxml=junit.xml", "--log-file=run.log", "--log-file-level=DEBUG", "--log-level=DEBUG",
        "-o", "log_cli=true", "-o", "log_cli_level=DEBUG", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=9, skipped=1)  # the pixels run of the fixture test is not selected
    output = result.stdout.str() + result.stderr.str()
    assert "[redacted]" in output or style == ("--tb=no", "-rA")  # the echoed key was there, and is gone
    assert leaks(pytester.path, output) == []
    assert (pytester.path / "junit.xml").is_file() and (pytester.path / "run.log").stat().st_size


@pytest.mark.usefixtures("servers")
def test_the_cli_never_prints_the_key(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["matrix", "--rows", "text:a", "text:b", "--model", MODEL, "--dimension", "128",
                 "--csv", str(tmp_path / "m.csv")])
    captured = capsys.readouterr()
    assert code != 0 and "[redacted]" in captured.err
    assert leaks(tmp_path, captured.out + captured.err) == []


def test_log_records_that_carry_a_key_are_rewritten() -> None:
    assert len(KEY) == 39
    record = logging.LogRecord("google_genai._api_client", logging.INFO, __file__, 1,
                               "Retrying as it raised %s", (f"ClientError: bad key {KEY}",), None)
    assert RedactingFilter().filter(record) and KEY not in record.getMessage()
    assert redact(f"x-goog-api-key: {KEY}") == "x-goog-api-key: [redacted]"


@pytest.mark.usefixtures("servers")
def test_a_setup_error_while_recording_shows_no_key(pytester: pytest.Pytester) -> None:
    """The frames of the recorder hold the key (and once held ``os.environ``): ``-l -vv`` shows
    them in full."""
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest("-l", "-vv", "--tb=long", "--record-mode=once", "--embedsim-model", MODEL,
                                "--embedsim-dimension", "64", "-k", "fixture", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1, skipped=1, deselected=8)
    output = result.stdout.str() + result.stderr.str()
    assert "output dimension 64 is out of range" in output and "key        = '[redacted]'" in output
    assert leaks(pytester.path, output) == []


# --- credentials in a base URL -----------------------------------------------------

USERINFO = "gwuser:GWSECRET123"
USERINFO_EXPERIMENT = """
from embedsim.inputs.items import text_item

def test_words(experiment):
    experiment.similarity([text_item("apple"), text_item("boat")])
"""


@pytest.mark.usefixtures("outside_xdist", "clean_env")
def test_credentials_in_the_base_url_are_written_and_shown_nowhere(pytester: pytest.Pytester,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A gateway's ``user:password@`` in the base URL: not in the cassette (URI nor the
    ``Authorization: Basic`` it becomes), provenance.json, report.json, index.html, index.md, nor a
    connection error's message."""
    pytester.makeini(f"[pytest]\nembedsim_models = {MODEL}\nembedsim_report = report\n")
    pytester.makepyfile(test_gateway=USERINFO_EXPERIMENT)
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    with GeminiEmulator() as emulator:
        port = emulator.base_url.rsplit(":", 1)[1]
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", f"http://{USERINFO}@127.0.0.1:{port}")
        result = pytester.runpytest("--record-mode=once")
        result.assert_outcomes(passed=1)
        assert emulator.embed_calls  # the call went through the gateway URL
    written = [pytester.path / "cassettes" / MODEL / "test_gateway" / "test_words.yaml",
               pytester.path / "cassettes" / MODEL / "provenance.json",
               *(pytester.path / "report" / name for name in ("report.json", "index.html", "index.md"))]
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert f"127.0.0.1:{port}" in text, path  # the endpoint is written ...
        assert "GWSECRET123" not in text and "gwuser" not in text, path  # ... without its userinfo
    assert "GWSECRET123" not in result.stdout.str() + result.stderr.str()

    # the gateway is gone: the connection error names the endpoint, not its credentials
    from embedsim.backends.gemini.embedder import GeminiEmbedder
    from embedsim.errors import BackendError
    from embedsim.inputs.items import text_item

    gone = GeminiEmbedder(MODEL, api_key=KEY, base_url=f"http://{USERINFO}@127.0.0.1:{port}", attempts=1)
    with pytest.raises(BackendError, match=f"cannot connect to http://127.0.0.1:{port}/v1beta") as caught:
        gone.embed([text_item("apple")])
    assert "GWSECRET123" not in str(caught.value) and "gwuser" not in str(caught.value)
    # a provenance.json written before this fix is shown without its userinfo too
    from embedsim.report.origin import rows

    (row,) = rows({"t/a.yaml": {"endpoint": [f"http://{USERINFO}@127.0.0.1:{port}"]}}, ())
    assert row.cells["endpoint"] == [f"http://127.0.0.1:{port}"] and "GWSECRET123" not in row.flag


def test_no_filter_is_left_on_global_loggers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: making an embedder added a filter to google-genai's, vcrpy's and the
    HTTP clients' loggers (process-wide) that nothing removed. The filter is there during a call only."""
    from embedsim.backends.gemini.embedder import GeminiEmbedder
    from embedsim.inputs.items import text_item

    def carrying() -> list[str]:
        return sorted(name for name, logger in list(logging.root.manager.loggerDict.items())
                      if isinstance(logger, logging.Logger) and any(isinstance(f, RedactingFilter) for f in logger.filters))

    seen: list[list[str]] = []
    with GeminiEmulator() as emulator:
        embedder = GeminiEmbedder(MODEL, 128, api_key=KEY, base_url=emulator.base_url)
        real = embedder.client.models.embed_content
        monkeypatch.setattr(embedder.client.models, "embed_content", lambda **kw: seen.append(carrying()) or real(**kw))
        embedder.embed([text_item("a")])
        embedder.close()
    assert "google_genai" in seen[0] and "httpx" in seen[0]  # during the call
    assert carrying() == []


# --- every other vendor (Voyage, Cohere, Jina, OpenAI) ----------------------------------------------

VENDOR_INNER = '''
import os
import pytest
from embedsim.inputs.items import text_item
from vendor_cases import VENDORS

CASE = VENDORS[os.environ["VENDOR"]]


def test_recording_through_the_fixture(embedder):  # 400 echoing the key, key from the environment
    embedder.embed([text_item("a"), text_item("b")])


@pytest.mark.parametrize("fault", ["400", "500", "timeout", "refused"])
def test_direct(fault):
    embedder = CASE.load(CASE.embedder)(CASE.model, base_url=os.environ["BASE_" + fault.upper()], timeout=0.2,
                                        attempts=2, initial_delay=0.01, max_delay=0.02)
    embedder.embed([text_item("a"), text_item("b")])
'''


@pytest.mark.parametrize("name", ["voyage", "cohere", "jina", "openai"])
@pytest.mark.parametrize("style", [("--tb=long", "-l", "-vv"), ("--full-trace", "-l"), ("--tb=native", "-l")])
def test_no_vendor_key_appears_anywhere(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, name: str,
                                        style: tuple[str, ...]) -> None:
    from vendor_cases import FAKE_KEYS, VENDOR_ENVIRONMENT, VENDORS

    case = VENDORS[name]
    case.skip_without_sdk()
    key = FAKE_KEYS[name]
    for variable in (*VENDOR_ENVIRONMENT, "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(Path(__file__).parent),
                                                                   os.environ.get("PYTHONPATH")])))
    with case.make_emulator() as bad, case.make_emulator() as broken, case.make_emulator() as slow:
        bad.inject("400", times=None, message=f"API key not valid: {key}")
        broken.inject("500", times=None, message=f"internal error for Bearer {key}")
        slow.inject("delay", times=None, seconds=1.0)
        monkeypatch.setenv("VENDOR", name)
        monkeypatch.setenv(case.key_env, key)
        monkeypatch.setenv(case.base_url_env, bad.base_url)
        for fault, url in (("400", bad.base_url), ("500", broken.base_url), ("TIMEOUT", slow.base_url),
                           ("REFUSED", "http://127.0.0.1:9")):
            monkeypatch.setenv(f"BASE_{fault}", url)
        pytester.makepyfile(test_inner=VENDOR_INNER)
        result = pytester.runpytest(
            *style, "--record-mode=once", "--embedsim-model", case.model, "--embedsim-report", "report",
            "--junitxml=junit.xml", "--log-file=run.log", "--log-file-level=DEBUG", "--log-level=DEBUG",
            "-o", "log_cli=true", "-o", "log_cli_level=DEBUG", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=5, skipped=1)  # as above: the pixels run of the fixture test is not selected
    output = result.stdout.str() + result.stderr.str()
    assert "[redacted]" in output
    found = [f"output line: {line[:200]}" for line in output.splitlines() if key in line]
    found += [f"file: {p.relative_to(pytester.path)}" for p in pytester.path.rglob("*")
              if p.is_file() and key.encode() in p.read_bytes()]
    assert found == []


# --- cloud credentials: AWS keys and session tokens, OAuth tokens, service-account files ---


@pytest.mark.parametrize("family", ["titan", "vertex"])
@pytest.mark.parametrize("fault", [None, "expired", "500"])
def test_cloud_credentials_appear_nowhere(pytester: pytest.Pytester, family: str, fault: str | None,
                                          tmp_path: Path) -> None:
    """Recording with a cloud SDK's chain - AWS's secret key and session token (SigV4), a service
    account's private key and OAuth access token - writes none of them, nor the service-account
    file's path, in a cassette, provenance.json, the report, junit XML, a log file or the output
    (``-l``: every frame's locals), whether the call succeeds or fails."""
    from test_cloud_recording import FAMILIES, cloud_environment

    from embedsim.recording import ALLOW_EMULATOR

    spec = FAMILIES[family]
    pytester.makeini(f"[pytest]\nembedsim_models = {spec.model}\n")
    pytester.makepyfile(test_cloud=USERINFO_EXPERIMENT)
    with pytest.MonkeyPatch.context() as env:
        cloud_environment(env, tmp_path)
        with spec.record(env, tmp_path) as server:
            env.setenv(ALLOW_EMULATOR, "1")
            if fault is not None:
                server.inject(fault, times=None)  # type: ignore[attr-defined]
            result = pytester.runpytest(
                "--record-mode=once", "-l", "-vv", "--tb=long", "--embedsim-report", "report",
                "--junitxml=junit.xml", "--log-file=run.log", "--log-file-level=DEBUG", "-p", "no:cacheprovider")
            secrets = spec.secrets(server, tmp_path)
    result.assert_outcomes(passed=1) if fault is None else result.assert_outcomes(failed=1)
    assert secrets and all(len(s) >= 5 for s in secrets)
    output = result.stdout.str() + result.stderr.str()
    found = [f"output: {s[:12]}..." for s in secrets if s in output]
    for path in pytester.path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.relative_to(pytester.path)}: {s[:12]}..." for s in secrets if s.encode() in data]
    assert found == []
    if fault is None:
        assert (pytester.path / "report" / "report.json").is_file() and list(pytester.path.rglob("provenance.json"))
