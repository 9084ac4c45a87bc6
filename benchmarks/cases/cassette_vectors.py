"""Case ``vectors``: cassette bytes per 3072-d vector, compact format vs today's and plain vcrpy.

One batch call of 16 texts at d = 3072 goes through the real google-genai client to the loopback
emulator, three times, each recorded into its own cassette: plain vcrpy (default settings),
embedsim's settings with vcrpy's YAML serializer (the format before the compact cassettes) and embedsim's
settings as they are (:mod:`embedsim.recording.cassette_format`). The emulator answers as a float32
service prints its vectors (shortest float32 decimals); a vcr hook indents the JSON as Google's
APIs do - the values are the emulator's (pixel baseline), not Gemini's. The compact cassette is then replayed
offline and its vectors compared bit for bit with the YAML one's.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from embedsim.backends.gemini.embedder import GeminiEmbedder
from embedsim.inputs.items import text_item
from embedsim.recording.vcr_settings import register, vcr_config
from embedsim.testing.gemini import GeminiEmulator

NAME = "vectors"
TARGETS = {"cassette_bytes_per_vector": "<= 17 KB per 3072-d float32 vector in a cassette (bit-identical replay)"}
MODEL = "gemini-embedding-2-preview"
DIMENSION = 3072
BOUND = 17 * 1024


def indented(response: dict[str, Any]) -> dict[str, Any]:
    """vcr hook: the answer's JSON indented (as Google's APIs print it)."""
    response["body"]["string"] = json.dumps(json.loads(response["body"]["string"]), indent=2).encode()
    return response


def _vcr(folder: Path, mode: str, variant: str) -> Any:
    from vcr import VCR

    if variant == "plain vcrpy":
        config: dict[str, Any] = {"before_record_response": indented}
    else:
        config = {**vcr_config(), "before_record_response": indented}
        if variant == "embedsim, vcrpy YAML":
            config["serializer"] = "yaml"
    vcr = VCR(cassette_library_dir=str(folder), record_mode=mode, **config)
    register(vcr)  # embedsim's matchers and serializer
    return vcr


def run(quick: bool) -> dict[str, Any]:
    items = [text_item(f"text number {i}") for i in range(4 if quick else 16)]
    rows, replayed = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for variant in ("plain vcrpy", "embedsim, vcrpy YAML", "embedsim, compact"):
            folder = Path(tmp) / variant.replace(" ", "_").replace(",", "")
            with GeminiEmulator() as emulator:
                base_url = emulator.base_url
                with _vcr(folder, "once", variant).use_cassette("call.yaml"):
                    GeminiEmbedder(MODEL, dimension=DIMENSION, api_key="not-a-key", base_url=base_url).embed(items)
            with _vcr(folder, "none", variant).use_cassette("call.yaml"):  # emulator stopped: replay only
                replayed[variant] = GeminiEmbedder(MODEL, dimension=DIMENSION, api_key="not-a-key",
                                                   base_url=base_url).embed(items)
            size = (folder / "call.yaml").stat().st_size
            rows.append({"variant": variant, "vectors": len(items), "file_bytes": size,
                         "bytes_per_vector": size / len(items)})
    identical = all(v.tobytes() == replayed["embedsim, vcrpy YAML"].tobytes() for v in replayed.values())
    compact = rows[-1]["bytes_per_vector"]
    return {"rows": rows, "bit_identical_replay": identical, "targets": {"cassette_bytes_per_vector": {
        "value": compact, "goal": BOUND, "op": "<=", "valid": identical,
        "note": f"{compact / 1024:.1f} KB vs {rows[1]['bytes_per_vector'] / 1024:.1f} KB before and "
                f"{rows[0]['bytes_per_vector'] / 1024:.1f} KB with plain vcrpy; {len(items)} vectors per call"}}}


def table(result: dict[str, Any]) -> list[str]:
    lines = ["**Cassette bytes per 3072-d vector** (one call, float32 answers; replay bit-identical: "
             f"{'yes' if result['bit_identical_replay'] else '**no**'})", "",
             "| format | vectors | file bytes | bytes per vector |", "|---|---|---|---|"]
    lines += [f"| {r['variant']} | {r['vectors']} | {r['file_bytes']} | {r['bytes_per_vector']:.0f} |" for r in result["rows"]]
    return lines
