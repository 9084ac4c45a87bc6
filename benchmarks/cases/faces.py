"""Case ``faces``: the ``dlib-face`` backend on the distinct images of the spec's identity tests
(crops included): weight loading, face detection, the whole embedding and a face crop per image
(medians), each identity test's embedding as the plugin makes it (one call, identical items
once), and the largest difference between two runs' vectors."""

from __future__ import annotations

import importlib.util
import statistics
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.timing import median_time
from embedsim.backends import dlib_face
from embedsim.inputs import faces
from embedsim.inputs.datasets import Dataset
from embedsim.matrix import similarity

NAME = "faces"
TARGETS: dict[str, str] = {}
SPEC_FILE = Path(__file__).resolve().parents[2] / "tests" / "spec" / "experiments.py"


def _identity_tests() -> dict[str, list[Any]]:
    spec = importlib.util.spec_from_file_location("embedsim_benchmark_spec_experiments", SPEC_FILE)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    dataset = Dataset.load(module.FACES)
    return {name: build(dataset)[0] for name, build in module.SPEC.items() if name.startswith("test_identity.py")}


def run(quick: bool) -> dict[str, Any]:
    tests = _identity_tests()
    images = list({i.digest: i for rows in tests.values() for i in rows}.values())[: 3 if quick else None]
    repeats = 1 if quick else 3
    dlib_face._models.cache_clear()
    load = median_time(dlib_face._models, 1, warmup=0)
    embedder = dlib_face.DlibFaceEmbedder()
    pixels = {i.digest: faces.rgb_pixels(i) for i in images}

    def crop(item: Any) -> None:
        faces._crop.cache_clear()
        faces.crop_face(item)

    detect = [median_time(lambda i=i: faces.largest_face(pixels[i.digest]), repeats, warmup=0) for i in images]
    embed = [median_time(lambda i=i: embedder.embed([i]), repeats, warmup=0) for i in images]
    crops = [median_time(lambda i=i: crop(i), repeats, warmup=0) for i in images]
    per_test = {}
    for name, rows in list(tests.items())[: 1 if quick else None]:
        per_test[name] = {"items": len(rows), "unique_items": len({i.digest for i in rows}),
                          "seconds": median_time(lambda rows=rows: similarity(embedder, rows), 1, warmup=0)}
    first, again = embedder.embed(images), embedder.embed(images)
    return {"images": len(images), "image_sizes": sorted({f"{p.shape[1]}x{p.shape[0]}" for p in pixels.values()}),
            "load_seconds": load, "detect_seconds_median": statistics.median(detect),
            "embed_seconds_median": statistics.median(embed), "embed_seconds_max": max(embed),
            "crop_seconds_median": statistics.median(crops), "tests": per_test,
            "max_abs_diff_between_runs": float(np.abs(first - again).max()), "targets": {}}


def _s(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def table(result: dict[str, Any]) -> list[str]:
    lines = [f"**dlib-face** ({result['images']} distinct images of the identity tests, crops included; "
             "medians per image)", "",
             "| weights load | detect | embed (detect + align + descriptor) | crop | two runs differ by |",
             "|---|---|---|---|---|",
             f"| {_s(result['load_seconds'])} | {_s(result['detect_seconds_median'])} | "
             f"{_s(result['embed_seconds_median'])} (max {_s(result['embed_seconds_max'])}) | "
             f"{_s(result['crop_seconds_median'])} | {result['max_abs_diff_between_runs']:g} |", "",
             "| identity test | items | unique | embed time |", "|---|---|---|---|"]
    lines += [f"| {name} | {t['items']} | {t['unique_items']} | {_s(t['seconds'])} |" for name, t in result["tests"].items()]
    return lines
