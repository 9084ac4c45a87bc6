"""The recording layer knows no vendor: a remote backend embedsim has never seen, installed
through the ``embedsim.backends`` entry point, declares its HTTP facts in its ``Wire`` - and
its cassettes hold no key, digests instead of image bytes, replay offline, and explain a
changed image, exactly as Gemini's do.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from embedsim.backends import GROUP

MODEL = "acme-embed-1"
KEY = "acme-live-0123456789abcdefSECRET"
DIMENSION = 8

#: The vendor's package: a BackendSpec with its Wire, and an embedder over plain httpx2.
ACME_BACKEND = '''
import base64, os

import httpx2
import numpy as np

from embedsim.backends.base import BackendSpec, Wire

SPEC = BackendSpec(
    name="acme", model_ids=("acme-embed-1",), id_pattern=None, modalities=frozenset({"text", "image"}),
    local=False, key_env=("ACME_API_KEY",), dimensions=(8, 8), default_dimension=8,
    grouping="all items in one POST /v2/embed", factory="acme_backend:AcmeEmbedder",
    wire=Wire(
        official_hosts=(r"api\\.acme\\.example",),
        credential_headers=("x-api-key",),
        credential_params=("api_key",),
        media_paths=("inputs[].content[].image_base64",),
        call_path=r"/(?P<version>v\\d+)/(?P<call>embed)$",
        base_url_env=("ACME_BASE_URL",),
        default_api_version="v2",
        default_timeout=10.0,
    ),
)


class AcmeEmbedder:
    def __init__(self, model_id, dimension, api_key=None, timeout=None, api_version=None):
        self.model_id, self.dimension, self.key = model_id, dimension, api_key
        self.url = os.environ.get("ACME_BASE_URL", "https://api.acme.example") + "/" + (api_version or "v2") + "/embed"
        self.client = httpx2.Client(timeout=timeout or 10.0)

    def _content(self, item):
        if item.kind == "text":
            return {"type": "text", "text": item.text}
        data = base64.b64encode(item.data).decode()
        return {"type": "image_base64", "image_base64": f"data:{item.mime_type};base64,{data}"}

    def embed(self, items):
        body = {"model": self.model_id, "inputs": [{"content": [self._content(i)]} for i in items]}
        answer = self.client.post(self.url, params={"api_key": self.key}, headers={"x-api-key": self.key}, json=body)
        answer.raise_for_status()
        rows = np.asarray(answer.json()["embeddings"], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    def close(self):
        self.client.close()
'''

EXPERIMENT = """
import io, json
from pathlib import Path
from PIL import Image
from embedsim.inputs.items import item_from_bytes, text_item

def png(shade):
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (shade, 20, 20)).save(buffer, format="PNG")
    return buffer.getvalue()

def test_swatches(experiment):
    shades = json.loads(Path("shades.json").read_text())
    images = [item_from_bytes(png(shade), name, {"tone": name}) for name, shade in shades.items()]
    words = [text_item("warm", labels={"tone": "red"}), text_item("cold", labels={"tone": "dark"})]
    m = experiment.similarity(images, words)
    Path("vectors.json").write_text(json.dumps(m.values.round(6).tolist()))
"""


def install_acme(root: Path) -> Path:
    """The vendor's module and its dist-info (with the entry point) in ``root``."""
    root.mkdir()
    (root / "acme_backend.py").write_text(ACME_BACKEND, encoding="utf-8")
    info = root / "acme_backend-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-backend\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[{GROUP}]\nacme = acme_backend:SPEC\n", encoding="utf-8")
    return root


class AcmeServer:
    """The vendor's service, on loopback: checks the key in both places, answers a vector per input."""

    def __init__(self) -> None:
        self.seen: list[dict[str, object]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                url = urlsplit(self.path)
                server.seen.append({"path": url.path, "body": body})
                if self.headers.get("x-api-key") != KEY or parse_qs(url.query).get("api_key") != [KEY]:
                    return self._send(401, {"error": "bad key"})
                rows = []
                for entry in body["inputs"]:
                    (content,) = entry["content"]
                    seed = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).digest()
                    rows.append([b / 255 + 0.01 for b in seed[:DIMENSION]])
                self._send(200, {"embeddings": rows})

            def _send(self, status: int, payload: object) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_port}"

    def __enter__(self) -> AcmeServer:
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def acme(pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.Pytester]:
    for name in ("ACME_API_KEY", "ACME_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    pytester.syspathinsert(install_acme(tmp_path / "site"))
    pytester.makeini(f"[pytest]\nembedsim_models = {MODEL}\nembedsim_report = report\n")
    pytester.makepyfile(test_acme=EXPERIMENT)
    (pytester.path / "shades.json").write_text(json.dumps({"red": 200, "dark": 40}))
    yield pytester


def cassette(project: pytest.Pytester) -> Path:
    return project.path / "cassettes" / MODEL / "test_acme" / "test_swatches.yaml"


@pytest.mark.usefixtures("outside_xdist")
def test_an_unknown_vendor_records_no_key_digests_its_images_and_replays_offline(
        acme: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    with AcmeServer() as server, monkeypatch.context() as env:
        env.setenv("ACME_BASE_URL", server.base_url)
        env.setenv("ACME_API_KEY", KEY)
        acme.runpytest("--record-mode=once", "--block-network").assert_outcomes(passed=1)
    assert len(server.seen) == 1
    sent = server.seen[0]["body"]["inputs"][0]["content"][0]["image_base64"]  # type: ignore[index]
    assert sent.startswith("data:image/png;base64,iVBOR")  # what went over the wire: the image
    recorded = (acme.path / "vectors.json").read_text()

    text = cassette(acme).read_text(encoding="utf-8")
    assert KEY not in text and "x-api-key" not in text.lower() and "api_key=" not in text
    assert text.count("sha256:") == 2 and "iVBOR" not in text and "base64," not in text  # digests, no image bytes
    provenance = json.loads((acme.path / "cassettes" / MODEL / "provenance.json").read_text(encoding="utf-8"))
    entry = provenance["test_acme/test_swatches.yaml"]
    assert (entry["api_version"], entry["endpoint"], entry["interactions"]) == ("v2", server.base_url, 1)
    report = json.loads((acme.path / "report" / "report.json").read_text(encoding="utf-8"))
    (row,) = report["provenance"][MODEL]
    assert row["flag"] == "answered by 127.0.0.1, not api.acme.example" and not row["official"]
    for path in acme.path.rglob("*"):  # no file anywhere holds the key
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path

    # CI: no key, no server, the network blocked - the cassette answers
    (acme.path / "vectors.json").unlink()
    acme.runpytest("--block-network").assert_outcomes(passed=1)
    assert (acme.path / "vectors.json").read_text() == recorded

    # a changed image: the message names it and says how to re-record
    (acme.path / "shades.json").write_text(json.dumps({"red": 201, "dark": 40}))
    result = acme.runpytest("--block-network")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        f"E*CassetteMismatch: the cassette cassettes/{MODEL}/test_acme/test_swatches.yaml does not match this "
        "test's request (1 recorded interaction(s)):",
        "E*items whose content changed:",
        "E*- image 'red': image/png, sha256:* now, sha256:* in the cassette",
        f"E*re-record it with: ACME_API_KEY=... pytest 'test_acme.py::test_swatches[[]{MODEL}[]]' "
        "--record-mode=rewrite --snapshot-update",
    ])
    assert "'dark'" not in result.stdout.str().split("items whose content changed:")[1].split("re-record")[0]


def test_the_unknown_vendors_media_paths_and_call_path_are_read_from_its_wire() -> None:
    from embedsim.backends.base import Wire
    from embedsim.recording.bodies import digest_media
    from embedsim.recording.wire import call_of

    wire = Wire(official_hosts=(), media_paths=("inputs[].content[].image_base64", "images[]"),
                call_path=r"/(?P<version>v\d+)/(?P<call>embed)$")
    png = b"\x89PNG\r\n\x1a\n fake"
    uri = "data:image/png;base64," + base64.b64encode(png).decode()
    body = {"inputs": [{"content": [{"image_base64": uri}, {"text": uri}]}], "images": [base64.b64encode(png).decode()]}
    digested = json.loads(digest_media(json.dumps(body), wire.media_paths))
    expected = "sha256:" + hashlib.sha256(png).hexdigest()
    assert digested == {"inputs": [{"content": [{"image_base64": expected}, {"text": uri}]}], "images": [expected]}
    assert call_of("/gateway/acme/v2/embed", [wire]) == call_of("/v1/embed", [wire])[:1] + ("v2",) == ("embed", "v2")
    assert call_of("/v2/other", [wire]) == ("/v2/other", None)  # not the vendor's call: the whole path
