"""Remote-model settings: per-call timeout and API version, from the command line, the ini
file, ``[tool.embedsim]`` and the CLI; documented defaults."""

from __future__ import annotations

import pytest

from embedsim.backends.gemini import DEFAULT_API_VERSION, DEFAULT_TIMEOUT
from embedsim.backends.gemini.embedder import GeminiEmbedder
from embedsim.cli import main
from embedsim.testing.gemini import GeminiEmulator

MODEL = "gemini-embedding-2-preview"
TEST = """
from embedsim.inputs.items import text_item

def test_words(embedder):
    embedder.embed([text_item("a"), text_item("b")])
"""


@pytest.fixture
def recording_env(monkeypatch: pytest.MonkeyPatch, emulator: GeminiEmulator) -> GeminiEmulator:
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "GOOGLE_API_KEY", "GOOGLE_GENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GEMINI_API_KEY", "AIza" + "T" * 35)
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
    return emulator


def test_documented_defaults(emulator: GeminiEmulator) -> None:
    embedder = GeminiEmbedder(MODEL, 128, api_key="k", base_url=emulator.base_url)
    assert (embedder.timeout, embedder.api_version) == (DEFAULT_TIMEOUT, DEFAULT_API_VERSION) == (60.0, "v1beta")
    assert GeminiEmbedder(MODEL, 128, api_key="k", base_url=emulator.base_url, timeout=0).timeout is None


@pytest.mark.parametrize("where", ["option", "ini", "pyproject"])
def test_api_version_setting_reaches_the_calls(pytester: pytest.Pytester, recording_env: GeminiEmulator,
                                                where: str) -> None:
    pytester.makepyfile(test_x=TEST)
    args = ["--record-mode=once", "--embedsim-model", MODEL, "-p", "no:cacheprovider"]
    if where == "option":
        args += ["--embedsim-api-version", "v1"]
    elif where == "ini":
        pytester.makeini("[pytest]\nembedsim_api_version = v1\n")
    else:
        pytester.makepyprojecttoml('[tool.embedsim]\napi_version = "v1"\n')
    pytester.runpytest(*args).assert_outcomes(passed=1, skipped=1)  # skipped: the pixels run
    assert [call.path.split("/")[1] for call in recording_env.embed_calls] == ["v1"]


def test_a_bad_api_version_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--embedsim-api-version", "latest")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*api_version must be an API version such as v1 or v1beta, got 'latest'*"])


def test_timeout_setting_applies_and_the_sdk_retries(pytester: pytest.Pytester, recording_env: GeminiEmulator) -> None:
    """A server that does not answer in time: the attempt is cut at the set timeout and retried."""
    pytester.makepyfile(test_x=TEST)
    recording_env.inject("delay", times=1, seconds=3.0)
    result = pytester.runpytest("--record-mode=once", "--embedsim-model", MODEL, "--embedsim-timeout", "1",
                                "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=1)
    assert len(recording_env.embed_calls) == 2


#: An answer sent in 30 pieces 0.2 s apart: each piece within any read timeout, the whole past the
#: 1 s deadline (which the retry has whole, however busy the machine).
SLOW = {"chunks": 30, "seconds": 0.2}


def test_the_timeout_is_a_deadline_on_each_attempt_while_recording(pytester: pytest.Pytester,
                                                                   recording_env: GeminiEmulator) -> None:
    """Regression: httpx's read timeout is per piece, so a server answering in
    slow pieces held an attempt past ``--embedsim-timeout`` (the whole answer was taken, once). Now
    the attempt ends at the deadline, part-way through the answer, and the SDK's retry gets the
    next one - through vcrpy's recorder (``--record-mode=once``)."""
    pytester.makepyfile(test_x=TEST)
    recording_env.inject("slow_body", times=1, **SLOW)
    result = pytester.runpytest("--record-mode=once", "--embedsim-model", MODEL, "--embedsim-timeout", "1",
                                "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=1)
    assert len(recording_env.embed_calls) == 2  # the slow attempt was cut, the retry answered
    assert recording_env.chunks_sent < SLOW["chunks"]


def test_the_cli_timeout_is_a_deadline(recording_env: GeminiEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    """Regression: the same for the CLI's ``--timeout``."""
    recording_env.inject("slow_body", times=1, **SLOW)
    code = main(["matrix", "--rows", "text:a", "text:b", "--model", MODEL, "--dimension", "128", "--timeout", "1"])
    assert code == 0, capsys.readouterr().err
    assert len(recording_env.embed_calls) == 2 and recording_env.chunks_sent < SLOW["chunks"]


def test_the_cli_takes_timeout_and_api_version(recording_env: GeminiEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    recording_env.inject("delay", times=1, seconds=3.0)
    code = main(["matrix", "--rows", "text:a", "text:b", "--model", MODEL, "--dimension", "128",
                 "--timeout", "1", "--api-version", "v1"])
    assert code == 0, capsys.readouterr().err
    assert [call.path.split("/")[1] for call in recording_env.embed_calls] == ["v1", "v1"]
    assert main(["matrix", "--rows", "text:a", "--timeout", "soon"]) == 2


@pytest.mark.parametrize(("option", "value", "wanted"), [
    ("--api-version", "latest", "an API version such as v1 or v1beta"),
    ("--timeout", "nan", "a finite number"),
    ("--timeout", "-1", "not negative"),
    ("--timeout", "1e10", "at most 86400 seconds (a day; 0: no limit)"),
    ("--dimension", "0", "at least 1"),
])
def test_the_cli_checks_a_setting_as_the_plugin_does(capsys: pytest.CaptureFixture[str], option: str, value: str,
                                                      wanted: str) -> None:
    """Regression: the CLI checked its settings with its own code (``--api-version latest``
    went to the service); both now use :mod:`embedsim.settings` and say what is wanted in the same words."""
    from embedsim import settings

    assert main(["matrix", "--rows", "text:a", "--model", MODEL, option, value]) == 2
    refusal = f"{value} must be {wanted}" if option == "--dimension" else f"expected {wanted}, got {value!r}"
    assert f"argument {option}: {refusal}" in capsys.readouterr().err
    check = {"--api-version": settings.api_version, "--timeout": settings.seconds, "--dimension": settings.positive_int}
    with pytest.raises(settings.BadValue) as refused:
        check[option](value)
    assert refused.value.wanted == wanted


def test_the_cli_imports_no_pytest() -> None:
    import subprocess
    import sys

    code = "import sys, embedsim.cli.parser, embedsim.settings; print('pytest' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
