"""Guards over what this repository stores: no API key in a cassette or a report, and
nothing but real Gemini responses under ``cassettes/gemini*``.

The ``test_repository_*`` tests scan this repository; the others prove each scan finds
what it looks for, on cassettes recorded from the emulator in a temporary folder.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from embedsim.backends import find
from embedsim.plugin.settings import Settings
from embedsim.recording import PROVENANCE_FILE, read_provenance
from embedsim.recording.wire import is_official, shown_hosts
from embedsim.testing.gemini import EMULATOR_HEADER, GeminiEmulator

ROOT = Path(__file__).resolve().parents[1]
MODEL = "gemini-embedding-2-preview"
FAKE_KEY = "AIzaSyC-embedsimNotARealKey_0123456789x"
assert re.fullmatch(r"AIza[0-9A-Za-z_-]{35}", FAKE_KEY)


pytestmark = pytest.mark.usefixtures("outside_xdist")

SECRETS = [
    (re.compile(r"AIza[0-9A-Za-z_\-]{35}"), "Google API key"),
    (re.compile(r"^\s*-?\s*['\"]?(x-goog-api-key|authorization)['\"]?\s*:", re.IGNORECASE | re.MULTILINE),
     "unredacted auth header"),
    (re.compile(r"Bearer\s+[0-9A-Za-z._~+/-]{8,}"), "bearer token"),
    (re.compile(r"[?&]key=(?!\.\.\.)[^&\s'\"]+"), "key query parameter"),
]


def find_secrets(*folders: Path) -> list[str]:
    """``file:line: what`` for every key-like string in the files under ``folders``."""
    found = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            text = path.read_bytes().decode("utf-8", errors="ignore")
            for pattern, what in SECRETS:
                for match in pattern.finditer(text):
                    line = text.count("\n", 0, match.start()) + 1
                    found.append(f"{path}:{line}: {what}")
    return found


def test_repository_cassettes_and_reports_hold_no_keys(embedsim_settings: Settings) -> None:
    folders = [embedsim_settings.cassette_dir, ROOT / "cassettes", ROOT / "report", ROOT / "reports"]
    if embedsim_settings.report_dir is not None:
        folders.append(embedsim_settings.report_dir)
    found = find_secrets(*dict.fromkeys(folders))
    assert not found, "API keys or auth headers in recorded files - remove them and rotate the key:\n" + "\n".join(found)


def test_the_scan_finds_planted_secrets(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        f"headers:\n  x-goog-api-key:\n  - {FAKE_KEY}\n  authorization:\n  - Bearer abc.def-ghi_jkl\n"
        f"uri: https://host/v1/models/m:batchEmbedContents?key=secret\n", encoding="utf-8")
    found = "\n".join(find_secrets(tmp_path))
    for what in ("Google API key", "unredacted auth header", "bearer token", "key query parameter"):
        assert what in found


def test_recording_with_a_realistic_key_filters_headers_and_query(pytester: pytest.Pytester,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makeini(f"[pytest]\nembedsim_models = {MODEL}\n")
    pytester.makepyfile(test_keys=f"""
        import os
        import httpx2
        from embedsim.inputs.items import text_item

        def test_keys(experiment):
            experiment.similarity([text_item("hello"), text_item("world")])
            # a hand-made call with the key in every place a key can go, through the same cassette
            key = os.environ["GEMINI_API_KEY"]
            url = os.environ["GOOGLE_GEMINI_BASE_URL"] + "/v1/models/{MODEL}:batchEmbedContents?key=" + key
            body = {{"requests": [{{"model": "models/{MODEL}", "content": {{"parts": [{{"text": "x"}}]}}}}]}}
            answer = httpx2.post(url, json=body, headers={{"x-goog-api-key": key, "Authorization": "Bearer " + key}})
            assert answer.status_code == 200
    """)
    with GeminiEmulator() as emulator:
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
        monkeypatch.setenv("GEMINI_API_KEY", FAKE_KEY)
        result = pytester.runpytest("--record-mode=once", "--embedsim-report", "rep")
    result.assert_outcomes(passed=1)
    assert [r.headers.get("x-goog-api-key") for r in emulator.embed_calls] == [FAKE_KEY, FAKE_KEY]  # it was sent
    cassette = pytester.path / "cassettes" / MODEL / "test_keys" / "test_keys.yaml"
    text = cassette.read_text(encoding="utf-8")
    assert text.count("- request:") == 2 and "key=" not in text
    assert find_secrets(pytester.path / "cassettes", pytester.path / "rep") == []



def test_repository_runs_block_the_network_except_loopback(pytestconfig: pytest.Config) -> None:
    """pyproject's addopts: nothing in a test run reaches a real host (recording with a key is
    exempt, see test_recording); the loopback emulator stays reachable."""
    assert pytestconfig.getoption("--block-network")
    with socket.socket() as sock, pytest.raises(RuntimeError, match="Network is disabled for host '192.0.2.1'"):
        sock.connect(("192.0.2.1", 9))  # TEST-NET-1: refused before a packet leaves
    with GeminiEmulator() as emulator:
        host, port = emulator.base_url.removeprefix("http://").split(":")
        socket.create_connection((host, int(port)), timeout=5).close()


# --- provenance: the emulator is never a source of Gemini data ------------------------------------


def _official_hosts(cassette_dir: Path) -> dict[Path, tuple[str, ...]]:
    """``{model folder: official host patterns}`` for the folders of a vendor's model ids (the
    backend registry's ``wire.official_hosts``)."""
    folders = sorted(p for p in cassette_dir.iterdir() if p.is_dir()) if cassette_dir.is_dir() else []
    return {folder: spec.wire.official_hosts for folder in folders
            if (spec := find(folder.name)) is not None and spec.wire is not None and spec.wire.official_hosts}


def emulator_traces(cassette_dir: Path) -> list[str]:
    """``file: what`` for every file under a vendor's model folders (``cassette_dir/<model id>``)
    that was not answered by the vendor's official host: an endpoint host in a cassette or
    in ``provenance.json`` other than the official one (whatever its spelling: no URI
    patterns), the emulator's header, or not a readable cassette."""
    found = []
    for folder, patterns in _official_hosts(cassette_dir).items():
        official = shown_hosts(patterns)
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            text = path.read_bytes().decode("utf-8", errors="replace")
            if path.name == PROVENANCE_FILE:
                for cassette, entry in read_provenance(path.parent).items():
                    endpoints = entry.get("endpoint")
                    for endpoint in endpoints if isinstance(endpoints, list) else [endpoints]:
                        if not is_official(urlsplit(str(endpoint)).hostname or "", patterns):
                            found.append(f"{path}: {cassette} recorded from {endpoint}, not {official}")
                    if entry.get("emulator"):
                        found.append(f"{path}: {cassette} answered by the embedsim emulator")
                continue
            if EMULATOR_HEADER.lower() in text.lower():
                found.append(f"{path}: {EMULATOR_HEADER} header (answered by the embedsim emulator)")
            try:
                interactions = yaml.safe_load(text)["interactions"]
                uris = [interaction["request"]["uri"] for interaction in interactions]
            except (yaml.YAMLError, TypeError, KeyError):
                found.append(f"{path}: not a vcr cassette")
                continue
            found += [f"{path}: endpoint {urlsplit(uri).hostname} is not {official}" for uri in uris
                      if not is_official(urlsplit(uri).hostname or "", patterns)]
    return found


def test_repository_gemini_cassettes_come_from_the_real_service(embedsim_settings: Settings) -> None:
    found = emulator_traces(ROOT / "cassettes") + emulator_traces(embedsim_settings.cassette_dir)
    assert not found, ("only real Gemini responses may be stored under a Gemini model id - delete these and "
                       "record them with a key:\n" + "\n".join(dict.fromkeys(found)))


def test_the_provenance_scan_finds_emulator_cassettes(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makeini(f"[pytest]\nembedsim_models = {MODEL}\n")
    pytester.makepyfile(test_planted="""
        from embedsim.inputs.items import text_item

        def test_planted(experiment):
            experiment.similarity([text_item("hello"), text_item("world")])
    """)
    with GeminiEmulator() as emulator:
        base_url = emulator.base_url
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", base_url)
        monkeypatch.setenv("GEMINI_API_KEY", FAKE_KEY)
        pytester.runpytest("--record-mode=once").assert_outcomes(passed=1)
    from embedsim.recording import provenance as module

    assert module.EMULATOR_HEADER == EMULATOR_HEADER  # the recording layer knows the emulator's marker
    cassettes = pytester.path / "cassettes"
    planted = cassettes / MODEL / "test_planted" / "test_planted.yaml"
    provenance = cassettes / MODEL / PROVENANCE_FILE
    host = urlsplit(base_url).hostname
    assert emulator_traces(cassettes) == [
        f"{provenance}: test_planted/test_planted.yaml recorded from {base_url}, not generativelanguage.googleapis.com",
        f"{provenance}: test_planted/test_planted.yaml answered by the embedsim emulator",
        f"{planted}: {EMULATOR_HEADER} header (answered by the embedsim emulator)",
        f"{planted}: endpoint {host} is not generativelanguage.googleapis.com"]
    # without the header and the provenance, the host still gives it away, however it is spelt
    provenance.unlink()
    text = planted.read_text(encoding="utf-8")
    planted.write_text(re.sub(rf"\s+{EMULATOR_HEADER}:\n\s+- not-gemini", "", text, flags=re.IGNORECASE),
                       encoding="utf-8")
    assert [t.split(": ", 1)[1][:9] for t in emulator_traces(cassettes)] == ["endpoint "]
    for spelling in ("127.1", "2130706433", "0x7f000001", "localhost.", "127.000.000.001", "[::1]", "0.0.0.0",
                     "generativelanguage.googleapis.com.evil.example", "googleapis.com"):
        planted.write_text(text.replace(base_url, f"http://{spelling}:9"), encoding="utf-8")
        assert any("is not generativelanguage.googleapis.com" in t for t in emulator_traces(cassettes)), spelling
    planted.write_text(text.replace(base_url, "https://generativelanguage.googleapis.com")
                       .replace(EMULATOR_HEADER.lower(), "x-other"), encoding="utf-8")
    assert emulator_traces(cassettes) == []
    planted.write_text("interactions: [", encoding="utf-8")
    assert emulator_traces(cassettes) == [f"{planted}: not a vcr cassette"]
    (cassettes / MODEL).rename(cassettes / "pixels")  # a local model: no official host to come from
    assert emulator_traces(cassettes) == []
