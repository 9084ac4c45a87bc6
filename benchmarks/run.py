"""embedsim benchmarks: ratios measured in one run, on one machine.

    python benchmarks/run.py                 # full run (about 5-8 minutes on 2 cores)
    python benchmarks/run.py --quick         # tiny sizes, seconds (the smoke test uses it)
    python benchmarks/run.py --only matrix,large --out /tmp/results.json

Sections (``--only``, comma-separated; default all):

* ``matrix``   - embedsim's ``cosine_matrix`` vs the seed's Python double loop and vs a
  bare numpy normalised matrix product (the floor), N x N all pairs.
* ``calls``    - API calls and bytes to record the whole spec, counted at the loopback
  emulator: embedsim (one ``embed`` per test, identical items sent once) vs the seed's
  approach (one ``embed_content`` per item per experiment with the raw google-genai client).
* ``cassette`` - cassette bytes per image with and without embedsim's digest substitution.
* ``replay``   - the whole spec recorded against the emulator into a TEMPORARY cassette
  folder, then replayed offline (emulator stopped, ``--block-network``).
* ``large``    - 2,000 images through ``GeminiEmbedder`` against the emulator with a per-call
  latency: ``aembed`` (bounded concurrency) vs sequential ``embed``.
* ``memory``   - peak memory of the large run and of the N = 4096 matrix, each in a fresh
  subprocess, against the size of the data itself.
* ``stats``    - one expectation with its bootstrap interval (2,000 resamples of 100 items) and
  permutation p-value, per kind of check: all pairs of 100 items in 10 groups, and 100 images
  x 3 words (``bench_stats``, added by the stats helper).

The emulator is a test tool: its vectors are the pixel baseline's, NOT Gemini's. Nothing
here writes to the repository's ``cassettes/`` folder.

Prints a markdown table and writes JSON (default ``benchmarks/results.json``).
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import glob
import importlib.util
import io
import json
import math
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a clean clone without an editable install
    sys.path.insert(0, str(ROOT))

from benchmarks.timing import median_time  # noqa: E402
from embedsim.backends.gemini.embedder import GeminiEmbedder  # noqa: E402
from embedsim.inputs.datasets import Dataset  # noqa: E402
from embedsim.inputs.items import Item, text_item  # noqa: E402
from embedsim.matrix import cosine_matrix, similarity  # noqa: E402
from embedsim.testing.emulator import Answer  # noqa: E402
from embedsim.testing.gemini import GeminiEmulator  # noqa: E402

MODEL = "gemini-embedding-2-preview"
FAKE_KEY = "embedsim-benchmark-not-a-key"
BUILT_IN = ("matrix", "calls", "cassette", "replay", "large", "memory", "stats")
CASES_DIR = ROOT / "benchmarks" / "cases"


def load_cases() -> dict[str, Any]:
    """Every ``benchmarks/cases/*.py`` module (``NAME``, ``TARGETS``, ``run(quick)``, ``table(result)``),
    by name: a new case is a new file, run.py does not change (benchmarks/README.md)."""
    cases = {}
    for path in sorted(CASES_DIR.glob("[!_]*.py")):
        spec = importlib.util.spec_from_file_location(f"embedsim_benchmark_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        cases[module.NAME] = module
    return cases


CASES = load_cases()
SECTIONS = (*BUILT_IN, *CASES)
DEFAULT_OUT = ROOT / "benchmarks" / "results.json"

#: Targets from the issue: (key, description).
TARGETS = {
    "matrix_vs_loop_d768": ">= 100x faster than the seed's double loop at N = 1024, d = 768",
    "matrix_vs_loop_d3072": ">= 100x faster than the seed's double loop at N = 1024, d = 3072",
    "matrix_vs_loop_d128": ">= 100x faster than the seed's double loop (quick: N = 128, d = 128)",
    "matrix_vs_loop_d256": ">= 100x faster than the seed's double loop (quick: N = 128, d = 256)",
    "matrix_vs_floor": "within 1.3x of the bare normalised product",
    "calls_per_test": "at most one call per test per 100 unique items",
    "cassette_bytes_per_image": "<= 300 bytes per image in a cassette",
    "replay_time": "whole spec replays in under 10 s",
    "large_speedup": ">= 4x faster than sequential, calls in flight never above the bound",
    "stats_ms_per_expectation": "<= 50 ms per expectation with its interval (100 items, 2,000 resamples)",
}
for _case in CASES.values():
    TARGETS.update(_case.TARGETS)


# ---------------------------------------------------------------------------------------------
# helpers


def interleaved_times(fns: dict[str, Callable[[], Any]], repeats: int, warmup: int = 1) -> tuple[dict[str, float], dict[str, float]]:
    """Time ``fns`` round-robin, ``repeats`` rounds after ``warmup`` untimed ones.

    Returns the median time of each and, for each, the median over rounds of its time divided
    by the first function's time in the same round: a ratio that a load spike from another
    process shifts far less than a ratio of separately measured medians.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    first = next(iter(fns))
    ratios = {name: statistics.median(t / f for t, f in zip(times[name], times[first])) for name in fns}
    return {name: statistics.median(t) for name, t in times.items()}, ratios


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    """CPU, cores, memory, Python, numpy, BLAS and its threads."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gib = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": mem_gib,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "blas": blas_info(),
    }


def blas_info() -> dict[str, Any]:
    """Which BLAS numpy uses and with how many threads (threadpoolctl if installed)."""
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                      "MKL_NUM_THREADS") if k in os.environ}
    info: dict[str, Any] = {"env": env}
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = [
            {k: p.get(k) for k in ("internal_api", "version", "num_threads", "architecture", "threading_layer")}
            for p in threadpool_info()
        ]
        info["source"] = "threadpoolctl"
        return info
    except ImportError:
        info["source"] = "numpy.show_config + the OpenBLAS library itself (threadpoolctl not installed)"
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        info["name"], info["version"] = blas.get("name"), blas.get("version")
        info["configuration"] = " ".join(str(blas.get("openblas configuration", "")).split())
    except Exception as exc:  # show_config's layout is not an API
        info["name"] = f"unknown ({type(exc).__name__})"
    libs = glob.glob(str(Path(np.__file__).parent.parent / "numpy.libs" / "*openblas*"))
    for lib in libs:
        try:
            handle = ctypes.CDLL(lib)
        except OSError:
            continue
        for symbol in ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_", "openblas_get_num_threads"):
            fn = getattr(handle, symbol, None)
            if fn is not None:
                fn.restype = ctypes.c_int
                info["num_threads"] = int(fn())
                break
        for symbol in ("scipy_openblas_get_corename64_", "openblas_get_corename64_", "openblas_get_corename"):
            fn = getattr(handle, symbol, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                info["core"] = fn().decode()
                break
    return info


class CountingEmulator(GeminiEmulator):
    """The emulator, also counting the bytes of its answers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.response_bytes = 0

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Answer:
        answer = super().handle(method, target, headers, raw)
        with self._lock:
            self.response_bytes += len(answer.body)
        return answer

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.response_bytes = 0

    @property
    def request_bytes(self) -> int:
        return sum(int(r.headers.get("content-length") or 0) for r in self.embed_calls)


def embedder(base_url: str, dimension: int, **options: Any) -> GeminiEmbedder:
    options = {"api_key": FAKE_KEY, "base_url": base_url, "initial_delay": 0.05, "max_delay": 0.2, **options}
    return GeminiEmbedder(MODEL, dimension, **options)


# ---------------------------------------------------------------------------------------------
# 1. similarity matrices


def seed_cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """The seed's ``cosine_similarity``: dot / (norm a * norm b), 0 when a norm is 0."""
    norm_a, norm_b = np.linalg.norm(a), np.linalg.norm(b)
    if norm_a == 0 or norm_b == 0:
        return 0.0
    return float(np.dot(a, b) / (norm_a * norm_b))


def seed_similarity_matrix(rows: Sequence[np.ndarray], cols: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """The seed's ``build_similarity_matrix``: a Python double loop (cols default to rows)."""
    cols = rows if cols is None else cols
    return np.array([[seed_cosine_similarity(r, c) for c in cols] for r in rows])


def floor_product(x: np.ndarray) -> np.ndarray:
    """The floor: a bare normalised matrix product in the data's own dtype."""
    a = x / np.linalg.norm(x, axis=1, keepdims=True)
    return a @ a.T


def bench_matrix(quick: bool) -> dict[str, Any]:
    sizes = [64, 128] if quick else [256, 1024, 4096]
    dims = [128, 256] if quick else [768, 3072]
    loop_budget = 2.0 if quick else 60.0  # measure the double loop only where it is expected to take less
    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    for d in dims:
        loop_ref: tuple[int, float] | None = None
        for n in sizes:
            x = rng.standard_normal((n, d)).astype(np.float32)
            labels = [f"i{k}" for k in range(n)]
            repeats = 5 if n >= 4096 else 11
            times, ratios = interleaved_times({
                "floor": lambda: floor_product(x),
                "embedsim": lambda: cosine_matrix(x, labels),
            }, repeats)
            embedsim_t, floor_t = times["embedsim"], times["floor"]
            # agreement with the floor (a correctness sanity check, not a speed number)
            max_diff = float(np.max(np.abs(cosine_matrix(x, labels).values - floor_product(x))))
            expected_loop = None if loop_ref is None else loop_ref[1] * (n / loop_ref[0]) ** 2
            if expected_loop is None or expected_loop < loop_budget:
                vectors = [np.array(v, dtype=np.float32) for v in x]
                log(f"matrix: seed double loop N={n} d={d} (expected {expected_loop or 0:.1f} s)")
                start = time.perf_counter()
                seed_similarity_matrix(vectors)
                loop_t = time.perf_counter() - start
                loop_measured = True
                loop_ref = (n, loop_t)
            else:
                loop_t = expected_loop
                loop_measured = False
            rows.append({
                "n": n, "d": d,
                "embedsim_s": embedsim_t, "floor_s": floor_t,
                "seed_loop_s": loop_t, "seed_loop_measured": loop_measured,
                "seed_loop_extrapolated_from_n": None if loop_measured else loop_ref[0],  # type: ignore[index]
                "loop_over_embedsim": loop_t / embedsim_t,
                "embedsim_over_floor": ratios["embedsim"],
                "max_abs_diff_vs_floor": max_diff,
            })
            log(f"matrix: N={n} d={d} embedsim {embedsim_t * 1e3:.1f} ms, floor {floor_t * 1e3:.1f} ms, "
                f"loop {loop_t:.2f} s{'' if loop_measured else ' (extrapolated)'}")
    key_n = 128 if quick else 1024
    at_key = [r for r in rows if r["n"] == key_n]
    return {
        "rows": rows,
        "targets": {
            **{f"matrix_vs_loop_d{r['d']}": {
                "value": r["loop_over_embedsim"], "goal": 100.0, "op": ">=",
                "note": f"N = {key_n}, d = {r['d']}; the bare float32 product reaches "
                        f"{r['seed_loop_s'] / r['floor_s']:.0f}x",
            } for r in at_key},
            "matrix_vs_floor": {
                "value": max(r["embedsim_over_floor"] for r in rows if r["n"] >= (64 if quick else 1024)),
                "goal": 1.3, "op": "<=",
                "note": f"worst case over N >= {64 if quick else 1024} and both d, float32 floor",
            },
        },
    }


# ---------------------------------------------------------------------------------------------
# the spec's experiments (item lists)

WORDS_JA = ("怒", "哀", "楽")
WORDS_EN = ("Angry", "Sad", "Happy")


def spec_experiments() -> tuple[dict[str, tuple[list[Item], list[Item] | None]], str]:
    """``{test name: (rows, cols or None for all pairs)}`` and where the lists come from.

    Uses ``tests/spec/experiments.py`` (its ``SPEC``: test id -> function of the faces
    dataset returning ``(rows, cols)``) when it is there; otherwise the five experiments of the seed plus two controls, built here
    from ``fixtures/faces``.
    """
    spec = ROOT / "tests" / "spec" / "experiments.py"
    if spec.is_file():
        try:
            import importlib.util

            module_spec = importlib.util.spec_from_file_location("_embedsim_spec_experiments", spec)
            module = importlib.util.module_from_spec(module_spec)  # type: ignore[arg-type]
            module_spec.loader.exec_module(module)  # type: ignore[union-attr]
            dataset = Dataset.load(getattr(module, "FACES", ROOT / "fixtures" / "faces"))
            found = {str(test): build(dataset) for test, build in module.SPEC.items()}
            if found and all(isinstance(v, tuple) and len(v) == 2 and all(isinstance(i, Item) for i in v[0])
                             for v in found.values()):
                return {k: (list(v[0]), None if v[1] is None else list(v[1])) for k, v in found.items()}, \
                    "tests/spec/experiments.py (SPEC)"
            log("spec: tests/spec/experiments.py has no usable SPEC; using the stand-in")
        except Exception as exc:  # its shape is not settled yet: fall back, and say so
            log(f"spec: tests/spec/experiments.py not usable here ({type(exc).__name__}: {exc}); using the stand-in")
    faces = Dataset.load(ROOT / "fixtures" / "faces")
    tiles = faces.grid("face16")
    emoji = faces.grid("emoji16")
    people = [faces["obama_1"], faces["biden"], faces["collins"], faces["jesper_1"], tiles[8]]
    identity = people + [tiles[i] for i in (0, 3, 7, 11, 15)]
    ja = [text_item(w) for w in WORDS_JA]
    en = [text_item(w) for w in WORDS_EN]
    across = [faces[k] for k in ("obama_1", "obama_2", "obama_3", "jesper_1", "jesper_2", "jesper_3")] + tiles[:4]
    return {
        "test_experiment1_people_x_japanese_words": (people, ja),
        "test_experiment2_one_person_x_japanese_words": (tiles, ja),
        "test_experiment3_identity_all_pairs": (identity, None),
        "test_experiment4_people_x_english_words": (people, en),
        "test_experiment5_one_person_x_english_words": (tiles, en),
        "test_control_identity_across_shoots": (across, None),
        "test_control_emoji_x_english_words": (emoji, en),
    }, "stand-in: the seed's five experiments + two controls over fixtures/faces (no usable tests/spec/experiments.py)"


def unique_items(rows: Sequence[Item], cols: Sequence[Item] | None) -> int:
    return len({(i.kind, i.mime_type, i.digest) for i in [*rows, *(cols or ())]})


# ---------------------------------------------------------------------------------------------
# 2. calls and bytes to record the whole spec


def seed_embed_image(client: Any, item: Item) -> np.ndarray:
    """The seed's ``embed_image``: one ``embed_content`` call per image, default output size."""
    from google.genai import types

    result = client.models.embed_content(
        model=MODEL, contents=[types.Part.from_bytes(data=item.data, mime_type=item.mime_type)])
    return np.array(result.embeddings[0].values, dtype=np.float32)


def seed_embed_text(client: Any, text: str) -> np.ndarray:
    """The seed's ``embed_text``: one call per text."""
    result = client.models.embed_content(model=MODEL, contents=[text])
    return np.array(result.embeddings[0].values, dtype=np.float32)


def seed_experiment(client: Any, rows: Sequence[Item], cols: Sequence[Item] | None) -> np.ndarray:
    """One experiment the seed's way: every item embedded on its own, in this experiment."""

    def embed(item: Item) -> np.ndarray:
        return seed_embed_text(client, item.text) if item.kind == "text" else seed_embed_image(client, item)

    row_vectors = [embed(i) for i in rows]
    col_vectors = None if cols is None else [embed(i) for i in cols]
    return seed_similarity_matrix(row_vectors, col_vectors)


def bench_calls(quick: bool, dimension: int = 3072) -> dict[str, Any]:
    from google import genai
    from google.genai import types

    experiments, source = spec_experiments()
    tests: list[dict[str, Any]] = []
    with CountingEmulator() as emu:
        client = genai.Client(api_key=FAKE_KEY, http_options=types.HttpOptions(base_url=emu.base_url))
        emb = embedder(emu.base_url, dimension)
        totals = {"seed": [0, 0, 0, 0.0], "embedsim": [0, 0, 0, 0.0]}  # calls, request bytes, response bytes, s
        for name, (rows, cols) in experiments.items():
            entry: dict[str, Any] = {"test": name, "items": len(rows) + len(cols or ()),
                                     "unique_items": unique_items(rows, cols)}
            for who, run in (("seed", lambda: seed_experiment(client, rows, cols)),
                             ("embedsim", lambda: similarity(emb, rows, cols))):
                emu.reset()
                start = time.perf_counter()
                run()
                elapsed = time.perf_counter() - start
                calls = len(emu.embed_calls)
                entry[who] = {"calls": calls, "request_bytes": emu.request_bytes,
                              "response_bytes": emu.response_bytes, "seconds": elapsed}
                for k, v in enumerate((calls, emu.request_bytes, emu.response_bytes, elapsed)):
                    totals[who][k] += v
            entry["allowed_calls"] = math.ceil(entry["unique_items"] / 100)
            tests.append(entry)
        client.close()
        emb.close()
    summary = {who: dict(zip(("calls", "request_bytes", "response_bytes", "seconds"), t)) for who, t in totals.items()}
    worst = max(t["embedsim"]["calls"] / t["allowed_calls"] for t in tests)
    return {
        "source": source,
        "dimension": dimension,
        "tests": tests,
        "total": summary,
        "calls_ratio": summary["seed"]["calls"] / max(summary["embedsim"]["calls"], 1),
        "request_bytes_ratio": summary["seed"]["request_bytes"] / max(summary["embedsim"]["request_bytes"], 1),
        "targets": {
            "calls_per_test": {
                "value": worst, "goal": 1.0, "op": "<=",
                "note": "max over tests of calls / ceil(unique items / 100)",
            },
        },
    }


# ---------------------------------------------------------------------------------------------
# 3a. cassette size per image


def _cassette_parts(path: Path) -> dict[str, int]:
    """File bytes; the same cassette with every recorded answer body emptied, written by
    vcrpy's own serializer (so what remains is request and headers); images sent."""
    from vcr.serializers import yamlserializer

    text = path.read_text(encoding="utf-8")
    data = yamlserializer.deserialize(text)
    images = 0
    for interaction in data.get("interactions", []):
        body = interaction["request"].get("body")
        body = body.get("string", "") if isinstance(body, dict) else body
        body = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
        images += body.count("inline_data") + body.count("inlineData")
        if isinstance(interaction["response"].get("body"), dict):
            interaction["response"]["body"] = {"string": ""}
    file_bytes = len(text.encode("utf-8"))
    non_response = len(yamlserializer.serialize(data).encode("utf-8"))
    return {"file_bytes": file_bytes, "response_body_bytes": file_bytes - non_response, "images": images,
            "non_response_bytes": non_response}


def bench_cassette(quick: bool) -> dict[str, Any]:
    import vcr

    from embedsim import recording

    faces = Dataset.load(ROOT / "fixtures" / "faces")
    tiles = faces.grid("face16")
    cases = {"one tile per call": tiles[:1], "16 tiles in one call": tiles,
             "one photo per call (obama_1.jpg)": [faces["obama_1"]]}
    dims = [128] if quick else [768, 3072]
    rows = []
    with GeminiEmulator() as emu, tempfile.TemporaryDirectory(prefix="embedsim-bench-cassette-") as tmp:
        for number, (case, items) in enumerate(cases.items()):
            for d in dims:
                for digest in (True, False):
                    name = f"{'digest' if digest else 'plain'}-{d}-{number}.yaml"
                    if digest:
                        machine_vcr = recording.make_vcr(tmp, "once")
                    else:
                        machine_vcr = vcr.VCR(cassette_library_dir=tmp, record_mode="once",
                                              filter_headers=recording.vcr_config()["filter_headers"])
                    with machine_vcr.use_cassette(name):
                        emb = embedder(emu.base_url, d)
                        emb.embed(items)
                        emb.close()
                    parts = _cassette_parts(Path(tmp) / name)
                    n = len(items)
                    rows.append({
                        "case": case, "images": n, "dimension": d, "digest": digest,
                        "image_bytes": sum(len(i.data) for i in items) // n,
                        **parts,
                        "image_part_bytes_per_image": parts["non_response_bytes"] / n,
                        "total_bytes_per_image": parts["file_bytes"] / n,
                    })
                    log(f"cassette: {case} d={d} {'digest' if digest else 'plain'}: {parts['file_bytes']} bytes, "
                        f"without the answers {parts['non_response_bytes'] / n:.0f} B/image")
    digest_rows = [r for r in rows if r["digest"]]
    batched = [r for r in digest_rows if r["images"] > 1]
    single = [r for r in digest_rows if r["images"] == 1]
    marginal = None
    if batched and single:
        one = [r for r in single if r["case"] == "one tile per call"][0]
        many = [r for r in batched if r["dimension"] == one["dimension"]][0]
        marginal = (many["non_response_bytes"] - one["non_response_bytes"]) / (many["images"] - 1)
    return {
        "rows": rows,
        "marginal_bytes_per_image": marginal,
        "fixed_bytes_per_call": None if marginal is None else one["non_response_bytes"] - marginal,
        "targets": {
            "cassette_bytes_per_image": {
                "value": max(r["image_part_bytes_per_image"] for r in batched), "goal": 300.0, "op": "<=",
                "note": "digest cassette as the plugin writes it, minus the recorded answers, per image, "
                        "16 images per call (one image per call: "
                        f"{max(r['image_part_bytes_per_image'] for r in single):.0f} B, most of it the call's URI and headers)",
            },
        },
    }


# ---------------------------------------------------------------------------------------------
# 3b. replay time of the whole spec

STANDIN_SPEC = '''\
"""Stand-in spec written by benchmarks/run.py: the seed's experiments as embedsim tests."""
import importlib.util

import pytest

_spec = importlib.util.spec_from_file_location("embedsim_benchmark_run", {run_py!r})
_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_run)
EXPERIMENTS, _SOURCE = _run.spec_experiments()


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_experiment(experiment, name):
    rows, cols = EXPERIMENTS[name]
    matrix = experiment.similarity(rows, cols)
    assert matrix.shape == (len(rows), len(cols if cols is not None else rows))
    experiment.snapshot(matrix)
'''


def _pytest(args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> dict[str, Any]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    elapsed = time.perf_counter() - start
    tail = [line for line in proc.stdout.strip().splitlines() if line.strip()][-1:] or [""]
    return {"seconds": elapsed, "returncode": proc.returncode, "summary": tail[0].strip("= "),
            "output": proc.stdout[-3000:] + proc.stderr[-2000:]}


def heatmap_render_seconds() -> float:
    """Median time to render one spec-sized (16 x 6) heatmap PNG in this process."""
    from embedsim.snapshot.heatmap import render_heatmap

    x = np.random.default_rng(0).standard_normal((16, 768)).astype(np.float32)
    m = cosine_matrix(x, [f"face16_{k:02d}" for k in range(16)], x[:6], list(WORDS_JA + WORDS_EN))
    return median_time(lambda: render_heatmap(m), 3)


def bench_replay(quick: bool) -> dict[str, Any]:
    from embedsim.recording import ALLOW_EMULATOR

    real_spec = ROOT / "tests" / "spec"
    with tempfile.TemporaryDirectory(prefix="embedsim-bench-replay-") as tmp_name:
        tmp = Path(tmp_name)
        cassettes = tmp / "cassettes"
        if real_spec.is_dir() and any(real_spec.glob("test_*.py")):
            # The real spec, copied with the root conftest.py (and a link to fixtures/) into a
            # temporary tree laid out like the repository, so that its snapshots and the
            # repository's cassettes/ stay untouched.
            target = tmp / "tests" / "spec"
            shutil.copytree(real_spec, target, ignore=shutil.ignore_patterns("__snapshots__", "__pycache__"))
            if (ROOT / "conftest.py").is_file():
                shutil.copy2(ROOT / "conftest.py", tmp / "conftest.py")
            (tmp / "fixtures").symlink_to(ROOT / "fixtures", target_is_directory=True)
            source = "tests/spec (copied to a temporary folder)"
        else:
            target = tmp / "spec"
            target.mkdir()
            (target / "test_standin_spec.py").write_text(
                STANDIN_SPEC.format(run_py=str(Path(__file__).resolve())), encoding="utf-8")
            source = "stand-in spec written by benchmarks/run.py (tests/spec absent)"
        common = ["-p", "no:cacheprovider", "--embedsim-model", MODEL,
                  "--embedsim-cassette-dir", str(cassettes), "--rootdir", str(tmp), str(target)]
        env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        with GeminiEmulator() as emu:
            # a throwaway recording of the emulator's answers: embedsim refuses them under a vendor's
            # model id unless told (the provenance guard), and nothing here reaches cassettes/
            record_env = {**env, "GEMINI_API_KEY": FAKE_KEY, "GOOGLE_GEMINI_BASE_URL": emu.base_url,
                          ALLOW_EMULATOR: "1"}
            log("replay: recording the spec against the emulator into a temporary folder")
            recorded = _pytest([*common, "--record-mode", "once", "--snapshot-update"], tmp, record_env, 600)
            base_url = emu.base_url
            record_calls = len(emu.embed_calls)
        # the emulator is stopped now: replay offline
        replay_env = {**env, "GOOGLE_GEMINI_BASE_URL": base_url}
        log("replay: replaying with the emulator stopped and --block-network")
        replays = [_pytest([*common, "--record-mode", "none", "--block-network"], tmp, replay_env, 600)
                   for _ in range(1 if quick else 3)]
        collect = _pytest([*common, "--collect-only"], tmp, replay_env, 600)
        xdist = None
        if importlib.util.find_spec("xdist") is not None:
            log("replay: again with -n 2 (pytest-xdist)")
            xdist = _pytest([*common, "--record-mode", "none", "--block-network", "-n", "2"], tmp, replay_env, 600)
        cassette_files = sorted(cassettes.rglob("*.yaml"))
        if not cassette_files:  # nothing to replay: the numbers below would measure skips
            raise RuntimeError(f"recording the spec against the emulator wrote no cassette:\n{recorded['output']}")
        parts = [_cassette_parts(p) for p in cassette_files]
        images = sum(p["images"] for p in parts)
        heatmaps = sum(1 for _ in (tmp / "tests" / "spec" if (tmp / "tests").is_dir() else target).rglob("*.png"))
        result = {
            "source": source,
            "record": {k: v for k, v in recorded.items() if k != "output"},
            "record_calls": record_calls,
            "cassettes": len(cassette_files),
            "cassette_bytes": sum(p.stat().st_size for p in cassette_files),
            "replay_seconds": [r["seconds"] for r in replays],
            "replay_summary": replays[-1]["summary"],
            "replay_returncode": replays[-1]["returncode"],
            "collect_only_seconds": collect["seconds"],
            "replay_xdist_seconds": None if xdist is None else xdist["seconds"],
            "replay_xdist_summary": None if xdist is None else xdist["summary"],
            "cassette_images": images,
            "cassette_image_part_per_image": sum(p["non_response_bytes"] for p in parts) / max(images, 1),
            "cassette_total_per_image": sum(p["file_bytes"] for p in parts) / max(images, 1),
            "heatmaps": heatmaps,
            "heatmap_render_s": heatmap_render_seconds(),
        }
        if recorded["returncode"] != 0 or replays[-1]["returncode"] != 0:
            result["output"] = {"record": recorded["output"][-1500:], "replay": replays[-1]["output"][-1500:]}
        last = replays[-1]
        # expectations may fail on the emulator's (pixel) vectors; the replay itself must not:
        # no cassette miss, no network, nothing skipped for want of a recording
        counts = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", last["summary"])}
        ran = sum(counts.get(k, 0) for k in ("passed", "failed", "xfailed", "xpassed"))
        result["replay_tests_run"] = ran
        replay_ok = (len(cassette_files) > 0 and last["returncode"] in (0, 1) and ran >= len(cassette_files)
                     and not counts.get("error") and not counts.get("errors")
                     and not any(word in last["output"] for word in ("CassetteMismatch", "CannotOverwrite",
                                                                     "does not match this test's request",
                                                                     "BlockedHost", "network is disabled")))
        result["replay_clean"] = replay_ok
        median = statistics.median(result["replay_seconds"])
        result["targets"] = {
            "replay_time": {"value": median, "goal": 10.0, "op": "<",
                            "note": "wall time of the pytest process (interpreter start and imports included), median",
                            "valid": replay_ok},
        }
        return result


# ---------------------------------------------------------------------------------------------
# 4. the large run


def make_images(count: int, size: int = 16, seed: int = 0) -> list[Item]:
    """``count`` distinct small PNGs (random pixels, so no two are equal)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    items = []
    for k in range(count):
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels, "RGB").save(buffer, format="PNG")
        items.append(Item("image", buffer.getvalue(), "image/png", f"img{k:05d}"))
    return items


def large_config(quick: bool) -> dict[str, Any]:
    if quick:
        return {"images": 40, "batch_size": 10, "latency": 0.02, "max_concurrency": 4, "dimension": 128,
                "stock_images": 20}
    return {"images": 2000, "batch_size": 20, "latency": 0.25, "max_concurrency": 8, "dimension": 768,
            "stock_images": 400}


class ServiceEmulator:
    """The emulator in its own process, as a service would be: it does not share the client's
    GIL, its OpenBLAS runs one thread per call (``OPENBLAS_NUM_THREADS=1``) and its listen
    backlog is 128. See :func:`bench_large` for why. ``stats()`` / ``reset()`` talk to it over
    its stdin/stdout."""

    def __init__(self, latency: float) -> None:
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(["emulator", latency])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.base_url = json.loads(self.proc.stdout.readline())["base_url"]  # type: ignore[union-attr]

    def _ask(self, command: str) -> dict[str, Any]:
        self.proc.stdin.write(command + "\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        return json.loads(self.proc.stdout.readline())  # type: ignore[union-attr]

    def stats(self) -> dict[str, Any]:
        return self._ask("stats")

    def reset(self) -> None:
        self._ask("reset")

    def __enter__(self) -> ServiceEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.stdin.close()  # type: ignore[union-attr]
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def child_emulator(latency: float) -> dict[str, Any]:
    """``--child ["emulator", latency]``: serve until stdin closes, answering stats/reset."""
    emu = GeminiEmulator(latency=latency).start()
    try:
        print(json.dumps({"base_url": emu.base_url}), flush=True)
        for line in sys.stdin:
            if line.strip() == "reset":
                emu.reset()
                print(json.dumps({"ok": True}), flush=True)
            else:
                print(json.dumps({"calls": len(emu.embed_calls), "max_in_flight": emu.max_in_flight}), flush=True)
    finally:
        emu.stop()
    return {"stopped": True}


def _large_pair(server: Any, items: list[Item], cfg: dict[str, Any]) -> dict[str, Any]:
    """Sequential ``embed`` then ``aembed`` of ``items`` against ``server``."""
    runs: dict[str, Any] = {}
    vectors = {}
    for mode in ("sequential", "async"):
        server.reset()
        emb = embedder(server.base_url, cfg["dimension"], batch_size=cfg["batch_size"],
                       max_concurrency=cfg["max_concurrency"])
        log(f"large: {mode}, {len(items)} images, latency {cfg['latency']} s per call")
        start = time.perf_counter()
        if mode == "sequential":
            vectors[mode] = emb.embed(items)
        else:
            async def go() -> np.ndarray:
                try:
                    return await emb.aembed(items)
                finally:
                    await emb.aclose()

            vectors[mode] = asyncio.run(go())
        elapsed = time.perf_counter() - start
        emb.close()
        stats = server.stats() if hasattr(server, "stats") else {"calls": len(server.embed_calls),
                                                                  "max_in_flight": server.max_in_flight}
        runs[mode] = {"seconds": elapsed, **stats, "shape": list(vectors[mode].shape)}
    runs["same_vectors"] = bool(np.allclose(vectors["sequential"], vectors["async"], atol=1e-6))
    runs["speedup"] = runs["sequential"]["seconds"] / runs["async"]["seconds"]
    return runs


def bench_large(quick: bool) -> dict[str, Any]:
    """The large run against the emulator in its own process (see :class:`ServiceEmulator`).

    A diagnosis run on fewer images uses the emulator as shipped, in this process: there its
    request threads call OpenBLAS (2 threads) concurrently for the pixel vectors, which
    thrashes, and its listen backlog (socketserver's default, 5) drops connections beyond it
    (the client retries after 1 s and 3 s) - the emulator, not embedsim, is then the bottleneck.
    """
    cfg = large_config(quick)
    items = make_images(cfg["images"])
    result: dict[str, Any] = {"config": cfg, "image_bytes": sum(len(i.data) for i in items)}
    with ServiceEmulator(cfg["latency"]) as server:
        runs = _large_pair(server, items, cfg)
    result.update(runs)
    with GeminiEmulator(latency=cfg["latency"]) as stock:
        result["stock_emulator"] = _large_pair(stock, items[: cfg["stock_images"]], cfg)
    calls = runs["async"]["calls"]
    result["ideal_async_seconds"] = math.ceil(calls / cfg["max_concurrency"]) * cfg["latency"]
    result["targets"] = {
        "large_speedup": {"value": runs["speedup"], "goal": 4.0, "op": ">=",
                          "note": f"max in flight {runs['async']['max_in_flight']} <= bound {cfg['max_concurrency']}",
                          "valid": runs["async"]["max_in_flight"] <= cfg["max_concurrency"] and runs["same_vectors"]},
    }
    return result


# ---------------------------------------------------------------------------------------------
# 5. memory (each measurement in a fresh subprocess)


def _maxrss_bytes() -> int:
    """Peak resident memory of this process image. ``VmHWM`` from /proc where there is one:
    Linux's ``ru_maxrss`` survives exec, so a child started by a big parent would inherit
    the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def child_matrix(n: int, d: int, traced: bool) -> dict[str, Any]:
    x = np.random.default_rng(0).standard_normal((n, d)).astype(np.float32)
    labels = [f"i{k}" for k in range(n)]
    before = _maxrss_bytes()
    if traced:
        tracemalloc.start()
    m = cosine_matrix(x, labels)
    out: dict[str, Any] = {"input_bytes": x.nbytes, "output_bytes": m.values.nbytes,
                           "output_dtype": str(m.values.dtype)}
    if traced:
        out["tracemalloc_peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    out["maxrss_delta"] = _maxrss_bytes() - before
    return out


def child_large(base_url: str, cfg: dict[str, Any], traced: bool) -> dict[str, Any]:
    items = make_images(cfg["images"])
    emb = embedder(base_url, cfg["dimension"], batch_size=cfg["batch_size"], max_concurrency=cfg["max_concurrency"])
    before = _maxrss_bytes()
    if traced:
        tracemalloc.start()

    async def go() -> np.ndarray:
        try:
            return await emb.aembed(items)
        finally:
            await emb.aclose()

    vectors = asyncio.run(go())
    out: dict[str, Any] = {"image_bytes": sum(len(i.data) for i in items),
                           "base64_bytes": sum(4 * math.ceil(len(i.data) / 3) for i in items),
                           "output_bytes": vectors.nbytes}
    if traced:
        out["tracemalloc_peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    out["maxrss_delta"] = _maxrss_bytes() - before
    emb.close()
    return out


def _child(args: list[str]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(args)],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"memory child {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_stats(quick: bool) -> dict[str, Any]:
    """Time each kind of expectation, interval and p-value included, at 100 items and the
    default 2,000 resamples (quick: fewer repeats, same sizes). Wall and CPU time, medians."""
    from embedsim import expect, stats
    from embedsim.matrix import SimilarityMatrix

    rng = np.random.default_rng(7)
    n, groups = 100, 10
    centres = rng.normal(size=(groups, 64))
    x = centres[np.arange(n) % groups] + 1.5 * rng.normal(size=(n, 64))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = [f"item{k}" for k in range(n)]
    pairs_m = SimilarityMatrix(x @ x.T, tuple(labels), tuple(labels), all_pairs=True)
    person = [f"g{k % groups}" for k in range(n)]
    words = ("Happy", "Sad", "Angry")
    expression = [words[k % 3] for k in range(n)]
    scores = rng.normal(size=(n, 3)) * 0.05 + 0.3 * np.eye(3)[np.arange(n) % 3]
    words_m = SimilarityMatrix(scores, tuple(labels), words)
    gains = rng.normal(0.01, 0.05, size=n)
    cases: dict[str, Callable[[], Any]] = {
        "all pairs: mean margin": lambda: expect.check_groups(pairs_m, person, margin=0.1),
        "all pairs: AUC": lambda: expect.check_auc(pairs_m, person, at_least=0.8),
        "all pairs: per-row gap": lambda: expect.check_groups(pairs_m, person, per_row=True),
        "all pairs: top-1 balanced": lambda: expect.check_top1(pairs_m, [
            {labels[j] for j in range(n) if j != i and person[j] == person[i]} for i in range(n)],
            at_least=0.5, measure="balanced", classes=person),
        "images x words: top-1 share": lambda: expect.check_top1(words_m, expression, at_least=0.6),
        "images x words: top-1 balanced": lambda: expect.check_top1(words_m, expression, at_least=0.6,
                                                                     measure="balanced"),
        "images x words: one word (class)": lambda: expect.check_class(words_m, expression, "Happy", at_least=0.7),
        "images x words: AUC": lambda: expect.check_auc(words_m, expression, list(words), at_least=0.7),
        "images x words: mean margin": lambda: expect.check_groups(words_m, expression, list(words), margin=0.1),
        "gain (mean of 100 differences)": lambda: expect.check_statistic("gain", "gain", stats.weighted_mean(gains),
                                                                          n, at_least=0.0),
    }
    repeats = 3 if quick else 15
    rows = []
    for name, fn in cases.items():
        first, second = fn(), fn()
        walls, cpus = [], []
        for _ in range(repeats):
            w, c = time.perf_counter(), time.process_time()
            fn()
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
        rows.append({"case": name, "wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus),
                     "ci": [first.ci_low, first.ci_high], "p_value": first.p_value,
                     "same_interval_twice": (first.ci_low, first.ci_high, first.p_value) ==
                                            (second.ci_low, second.ci_high, second.p_value)})
        log(f"stats {name}: {rows[-1]['wall_s'] * 1e3:.1f} ms wall, {rows[-1]['cpu_s'] * 1e3:.1f} ms CPU")
    # The statistics run in one thread (numpy loops, no threaded BLAS), so their CPU time is the wall
    # time they take on an idle core; on a shared machine the wall time adds the waits for a core.
    worst = max(rows, key=lambda r: r["cpu_s"])
    return {"items": n, "resamples": stats.DEFAULT_RESAMPLES, "seed": stats.DEFAULT_SEED, "repeats": repeats,
            "rows": rows, "load_average": os.getloadavg(),
            "targets": {"stats_ms_per_expectation": {
                "value": worst["cpu_s"] * 1e3, "goal": 50, "op": "<=",
                "valid": all(r["same_interval_twice"] for r in rows),
                "note": f"slowest: {worst['case']}, median CPU time (single-threaded); wall "
                        f"{worst['wall_s'] * 1e3:.1f} ms at load average {os.getloadavg()[0]:.1f}"}}}


def bench_memory(quick: bool) -> dict[str, Any]:
    n, dims = (128, [128]) if quick else (4096, [768, 3072])
    result: dict[str, Any] = {"matrix": [], "large": {}}
    for d in dims:
        log(f"memory: matrix N={n} d={d}")
        traced = _child(["matrix", n, d, True])
        rss = _child(["matrix", n, d, False])
        data = traced["input_bytes"] + traced["output_bytes"]
        result["matrix"].append({
            "n": n, "d": d, **traced, "maxrss_delta": rss["maxrss_delta"],
            "peak_over_data": traced["tracemalloc_peak"] / data,
        })
    cfg = large_config(quick)
    with ServiceEmulator(cfg["latency"]) as emu:
        log(f"memory: large run, {cfg['images']} images")
        traced = _child(["large", emu.base_url, cfg, True])
        rss = _child(["large", emu.base_url, cfg, False])
    data = traced["image_bytes"] + traced["output_bytes"]
    result["large"] = {**traced, "maxrss_delta": rss["maxrss_delta"], "peak_over_data": traced["tracemalloc_peak"] / data}
    return result


# ---------------------------------------------------------------------------------------------
# report


def _fmt_s(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def _met(target: dict[str, Any]) -> bool:
    value, goal, op = target["value"], target["goal"], target["op"]
    ok = {">=": value >= goal, "<=": value <= goal, "<": value < goal}[op]
    return bool(ok and target.get("valid", True))


def tables(results: dict[str, Any]) -> str:
    """The results as markdown: targets (ratios) first, then the absolute numbers."""
    out = ["| target | measured | goal | met |", "|---|---|---|---|"]
    for section in SECTIONS:
        for key, target in results.get(section, {}).get("targets", {}).items():
            value = target["value"]
            shown = f"{value:.1f}x" if key.startswith("matrix_vs_loop") or key == "large_speedup" else (
                f"{value:.1f} ms" if key == "stats_ms_per_expectation" else
                f"{value:.2f}x" if key == "matrix_vs_floor" else (
                    f"{value:.2f} s" if key == "replay_time" else f"{value:.1f}" if isinstance(value, float) else str(value)))
            out.append(f"| {TARGETS[key]} | {shown} ({target.get('note', '')}) | {target['op']} {target['goal']:g} | "
                       f"{'yes' if _met(target) else '**no**'} |")
    if "matrix" in results:
        out += ["", "**Similarity matrices** (all pairs, float32 input; ratios = median over interleaved rounds, times = medians; loop = the seed's "
                "Python double loop, *extrapolated* quadratically where marked)", "",
                "| N | d | loop / embedsim | embedsim / floor | embedsim | floor | seed loop |",
                "|---|---|---|---|---|---|---|"]
        for r in results["matrix"]["rows"]:
            loop = _fmt_s(r["seed_loop_s"]) + ("" if r["seed_loop_measured"] else
                                                f" (extrapolated from N={r['seed_loop_extrapolated_from_n']})")
            out.append(f"| {r['n']} | {r['d']} | {r['loop_over_embedsim']:,.0f}x | {r['embedsim_over_floor']:.2f}x | "
                       f"{_fmt_s(r['embedsim_s'])} | {_fmt_s(r['floor_s'])} | {loop} |")
    if "calls" in results:
        c = results["calls"]
        out += ["", f"**Recording the whole spec** ({c['source']}; output dimension {c['dimension']}; "
                "counted at the emulator)", "",
                "| test | items | unique | seed calls | embedsim calls | seed request bytes | embedsim request bytes |",
                "|---|---|---|---|---|---|---|"]
        for t in c["tests"]:
            out.append(f"| {t['test']} | {t['items']} | {t['unique_items']} | {t['seed']['calls']} | "
                       f"{t['embedsim']['calls']} | {t['seed']['request_bytes']:,} | {t['embedsim']['request_bytes']:,} |")
        s, e = c["total"]["seed"], c["total"]["embedsim"]
        out.append(f"| **total** | | | **{s['calls']}** | **{e['calls']}** | **{s['request_bytes']:,}** | "
                   f"**{e['request_bytes']:,}** |")
        out.append("")
        out.append(f"Ratios: {c['calls_ratio']:.1f}x fewer calls, {c['request_bytes_ratio']:.2f}x fewer request bytes; "
                   f"response bytes {s['response_bytes']:,} (seed) vs {e['response_bytes']:,} (embedsim); "
                   f"time against the emulator {_fmt_s(s['seconds'])} vs {_fmt_s(e['seconds'])}.")
    if "cassette" in results:
        c = results["cassette"]
        out += ["", "**Cassette size** (one recorded call, bytes of YAML; \"without answers\" = the file minus the "
                "recorded response with its vectors: request and headers)", "",
                "| case | d | cassette | without answers / image | total / image | file | image file |",
                "|---|---|---|---|---|---|---|"]
        for r in c["rows"]:
            kind = "digests (plugin)" if r["digest"] else "plain vcrpy"
            out.append(f"| {r['case']} | {r['dimension']} | {kind} | "
                       f"{r['image_part_bytes_per_image']:,.0f} | {r['total_bytes_per_image']:,.0f} | "
                       f"{r['file_bytes']:,} | {r['image_bytes']:,} |")
        if c.get("marginal_bytes_per_image") is not None:
            out += ["", f"With digests each further image adds {c['marginal_bytes_per_image']:.0f} bytes; each call "
                    f"adds a fixed {c['fixed_bytes_per_call']:.0f} bytes (URI and headers)."]
    if "replay" in results:
        r = results["replay"]
        out += ["", f"**Replay of the whole spec** ({r['source']}): recorded {r['cassettes']} cassettes "
                f"({r['cassette_bytes']:,} bytes, {r['record_calls']} calls, {r['cassette_images']} images: "
                f"{r['cassette_image_part_per_image']:.0f} bytes per image without the answers) in "
                f"{_fmt_s(r['record']['seconds'])}; replay offline with --block-network: "
                f"{', '.join(_fmt_s(s) for s in r['replay_seconds'])} ({r['replay_summary']}; test outcomes are "
                f"those of the emulator's pixel vectors); with `-n 2` (pytest-xdist): "
                f"{_fmt_s(r['replay_xdist_seconds']) if r.get('replay_xdist_seconds') else 'n/a'}; "
                f"`--collect-only` alone: {_fmt_s(r['collect_only_seconds'])}; heatmap PNGs rendered: "
                f"{r['heatmaps']} x {_fmt_s(r['heatmap_render_s'])} each = {_fmt_s(r['heatmaps'] * r['heatmap_render_s'])}."]
    if "large" in results:
        g = results["large"]
        cfg = g["config"]
        out += ["", f"**Large run**: {cfg['images']} distinct PNGs ({_mb(g['image_bytes'])} in all), batch size "
                f"{cfg['batch_size']}, latency {cfg['latency']} s per call, d = {cfg['dimension']}", "",
                "| mode | time | calls | max in flight |", "|---|---|---|---|",
                f"| sequential `embed` | {_fmt_s(g['sequential']['seconds'])} | {g['sequential']['calls']} | "
                f"{g['sequential']['max_in_flight']} |",
                f"| `aembed`, max_concurrency={cfg['max_concurrency']} | {_fmt_s(g['async']['seconds'])} | "
                f"{g['async']['calls']} | {g['async']['max_in_flight']} |",
                "", f"Speedup {g['speedup']:.1f}x (ideal with this bound and latency: "
                f"{g['sequential']['seconds'] / max(g['ideal_async_seconds'], 1e-9):.1f}x); identical vectors: "
                f"{g['same_vectors']}. Emulator in its own process, one OpenBLAS thread, listen backlog 128."]
        st = g["stock_emulator"]
        out += ["", f"Diagnosis, the emulator as shipped in the client's process ({st['sequential']['shape'][0]} "
                f"images): sequential {_fmt_s(st['sequential']['seconds'])}, `aembed` "
                f"{_fmt_s(st['async']['seconds'])} (max in flight {st['async']['max_in_flight']}): "
                f"{st['speedup']:.1f}x."]
    if "memory" in results:
        m = results["memory"]
        out += ["", "**Memory** (tracemalloc peak in a fresh subprocess; maxrss delta from a second, untraced one)", "",
                "| what | data | tracemalloc peak | peak / data | maxrss delta |", "|---|---|---|---|---|"]
        for r in m["matrix"]:
            rss = "n/a" if r["maxrss_delta"] is None else _mb(r["maxrss_delta"])
            out.append(f"| matrix N={r['n']} d={r['d']} | {_mb(r['input_bytes'])} in + "
                       f"{_mb(r['output_bytes'])} out ({r['output_dtype']}) | {_mb(r['tracemalloc_peak'])} | "
                       f"{r['peak_over_data']:.2f}x | {rss} |")
        g = m["large"]
        out.append(f"| large run (client side) | {_mb(g['image_bytes'])} images + {_mb(g['output_bytes'])} vectors | "
                   f"{_mb(g['tracemalloc_peak'])} | {g['peak_over_data']:.1f}x | {_mb(g['maxrss_delta'])} |")
    if "stats" in results:
        st = results["stats"]
        out += ["", f"**Expectations with intervals** ({st['items']} items, {st['resamples']:,} bootstrap resamples and "
                f"as many label shuffles, seed {st['seed']}; median of {st['repeats']} runs)", "",
                "| check | wall | CPU | 95% CI | permutation p | same interval twice |", "|---|---|---|---|---|---|"]
        for r in st["rows"]:
            p = "" if r["p_value"] is None else f"{r['p_value']:.4f}"
            out.append(f"| {r['case']} | {_fmt_s(r['wall_s'])} | {_fmt_s(r['cpu_s'])} | "
                       f"{r['ci'][0]:.4f} .. {r['ci'][1]:.4f} | {p} | {r['same_interval_twice']} |")
    for name, case in CASES.items():
        if name in results:
            out += ["", *case.table(results[name])]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds), for the smoke test")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {', '.join(SECTIONS)}")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON output (default {DEFAULT_OUT})")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, *rest = json.loads(args.child)
        children = {"matrix": child_matrix, "large": child_large, "emulator": child_emulator}
        result = children[kind](*rest)
        print(json.dumps(result))
        return 0
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; use {', '.join(SECTIONS)}")
    runners = {"matrix": bench_matrix, "calls": bench_calls, "cassette": bench_cassette, "replay": bench_replay,
               "large": bench_large, "memory": bench_memory, "stats": bench_stats,
               **{name: case.run for name, case in CASES.items()}}
    results: dict[str, Any] = {"quick": args.quick, "command": " ".join(["python", "benchmarks/run.py", *(argv or sys.argv[1:])]),
                               "machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                               "load_average_at_start": os.getloadavg()}
    start = time.perf_counter()
    for section in SECTIONS:
        if section in sections:
            t = time.perf_counter()
            results[section] = runners[section](args.quick)
            results[section]["section_seconds"] = time.perf_counter() - t
    results["total_seconds"] = time.perf_counter() - start
    results["load_average_at_end"] = os.getloadavg()
    results["targets_met"] = {key: _met(target) for s in SECTIONS for key, target in
                              results.get(s, {}).get("targets", {}).items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=float) + "\n", encoding="utf-8")
    m = results["machine"]
    blas = m["blas"]
    print(f"machine: {m['cpu']}, {m['usable_cores']} cores, {m['memory_gib']} GiB, Python {m['python']}, "
          f"numpy {m['numpy']}, BLAS {blas.get('name', blas.get('threadpools'))} {blas.get('version', '')} "
          f"threads={blas.get('num_threads', '?')} core={blas.get('core', '?')} env={blas.get('env')}; "
          f"load average {results['load_average_at_start'][0]:.1f} at start, {results['load_average_at_end'][0]:.1f} at end")
    print(tables(results))
    print(f"\n{'quick' if args.quick else 'full'} run in {results['total_seconds']:.0f} s; JSON: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
