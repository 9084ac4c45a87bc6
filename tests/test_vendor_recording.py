"""Each vendor (Voyage, Cohere, Jina, OpenAI) recorded against its loopback emulator and replayed
offline - no key, network blocked - exactly like Gemini (tests/test_recording.py): the key is in no
cassette, provenance, report or output, images are stored as digests, and a changed image is named
in the mismatch. Every cassette is written into a pytester directory, never under ``cassettes/``."""

from __future__ import annotations

import json
import re

import pytest
from vendor_cases import FAKE_KEYS, VENDOR_ENVIRONMENT, VENDORS, Vendor

pytestmark = pytest.mark.usefixtures("outside_xdist")

EXPERIMENT = """
import io, json
from pathlib import Path
import numpy as np
from PIL import Image
from embedsim.inputs.items import item_from_bytes, text_item

def png(shade):
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (shade, 255 - shade, 90)).save(buffer, format="PNG")
    return buffer.getvalue()

def test_faces(experiment):
    settings = json.loads(Path("inputs.json").read_text())
    rows = [item_from_bytes(png(shade), name, {"g": group}) for name, shade, group in settings["images"]]
    if not settings["with_images"]:
        rows = [text_item(f"face {shade}", id=name, labels={"g": group}) for name, shade, group in settings["images"]]
    words = [text_item(w, labels={"g": g}) for w, g in settings["words"]]
    m = experiment.similarity(rows, words)
    Path(f"vectors-{experiment.model_id}.json").write_text(json.dumps(np.round(m.values, 7).tolist()))
    experiment.expect_top1(m, by="g", at_least=0.0)
"""


def inputs(vendor: Vendor, second_shade: int = 200) -> str:
    return json.dumps({"images": [["face1", 40, "a"], ["face2", second_shade, "b"]],
                       "words": [["dark", "a"], ["bright", "b"]], "with_images": vendor.images})


@pytest.fixture(params=sorted(VENDORS))
def vendor(request: pytest.FixtureRequest) -> Vendor:
    case = VENDORS[request.param]
    case.skip_without_sdk()
    return case


@pytest.fixture
def project(pytester: pytest.Pytester, clean_env: pytest.MonkeyPatch, vendor: Vendor) -> pytest.Pytester:
    for name in VENDOR_ENVIRONMENT:
        clean_env.delenv(name, raising=False)
    pytester.makeini(f"[pytest]\nembedsim_models = {vendor.model}\n")
    pytester.makepyfile(test_exp=EXPERIMENT)
    (pytester.path / "inputs.json").write_text(inputs(vendor))
    return pytester


def test_record_then_replay_offline_with_no_key(project: pytest.Pytester, vendor: Vendor,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    key = FAKE_KEYS[vendor.name]
    with vendor.make_emulator() as emulator, monkeypatch.context() as env:
        env.setenv(vendor.base_url_env, emulator.base_url)
        env.setenv(vendor.key_env, key)
        result = project.runpytest("--record-mode=once", "--block-network", "--embedsim-report", "report")
        result.assert_outcomes(passed=1)
        assert len(emulator.embed_calls) == 1  # one call for the 4 distinct items
    recorded = (project.path / f"vectors-{vendor.model}.json").read_text()
    folder = project.path / "cassettes" / vendor.model
    text = (folder / "test_exp" / "test_faces.yaml").read_text(encoding="utf-8")
    assert "authorization" not in text.lower()
    [entry] = json.loads((folder / "provenance.json").read_text()).values()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", entry["endpoint"]) and entry["emulator"] is True
    # the User-Agent each SDK sends (voyageai drops every header but Authorization and Content-Type)
    sdk = {"voyage": "python-requests/", "cohere": "cohere/", "jina": "python-httpx2/", "openai": "OpenAI/Python "}
    assert entry["sdk"].startswith(sdk[vendor.name])
    # what was sent, read at the backend's Wire.dimension_paths / task_paths (recording names no vendor)
    sent_task = emulator.embed_calls[0].body.get(vendor.task_field) if vendor.task_field else None
    assert (entry["dimension"], entry["task"]) == (vendor.dimension, sent_task)

    (project.path / f"vectors-{vendor.model}.json").unlink()
    result = project.runpytest("--block-network", "--embedsim-report", "report2")  # emulator stopped, no key
    result.assert_outcomes(passed=1)
    assert (project.path / f"vectors-{vendor.model}.json").read_text() == recorded
    output = result.stdout.str() + result.stderr.str()
    leaks = [str(p.relative_to(project.path)) for p in project.path.rglob("*")
             if p.is_file() and key.encode() in p.read_bytes()]
    assert key not in output and leaks == []



def test_images_are_digests_and_a_changed_image_is_named(project: pytest.Pytester, vendor: Vendor,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    with vendor.make_emulator() as emulator, monkeypatch.context() as env:
        env.setenv(vendor.base_url_env, emulator.base_url)
        env.setenv(vendor.key_env, FAKE_KEYS[vendor.name])
        project.runpytest("--record-mode=once").assert_outcomes(passed=1)
    text = (project.path / "cassettes" / vendor.model / "test_exp" / "test_faces.yaml").read_text(encoding="utf-8")
    if vendor.images:
        assert len(re.findall(r"sha256:[0-9a-f]{64}", text)) == 2 and "iVBOR" not in text  # digests, no base64 PNG
    (project.path / "inputs.json").write_text(inputs(vendor, second_shade=201))
    result = project.runpytest("--block-network")
    result.assert_outcomes(failed=1)
    if vendor.images:
        result.stdout.fnmatch_lines(["E*CassetteMismatch*", "E*items whose content changed:",
                                     "E*- image 'face2': *sha256:* now, *sha256:* in the cassette",
                                     f"E*re-record it with: {vendor.key_env}=... pytest*--record-mode=rewrite*"])
    else:
        result.stdout.fnmatch_lines(["E*CassetteMismatch*", "E*face 201*",
                                     f"E*re-record it with: {vendor.key_env}=... pytest*--record-mode=rewrite*"])


def test_an_emulator_answer_under_a_vendor_model_id_is_refused(project: pytest.Pytester, vendor: Vendor,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMBEDSIM_ALLOW_EMULATOR_RECORDINGS")
    with vendor.make_emulator() as emulator, monkeypatch.context() as env:
        env.setenv(vendor.base_url_env, emulator.base_url)
        env.setenv(vendor.key_env, FAKE_KEYS[vendor.name])
        result = project.runpytest("--record-mode=once")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"E*EmulatorAnswer: refused to record *test_faces.yaml: the answer came from the "
                                 f"embedsim emulator (a test tool), not from the service of {vendor.model}*"])
    assert not (project.path / "cassettes" / vendor.model / "test_exp" / "test_faces.yaml").exists()
