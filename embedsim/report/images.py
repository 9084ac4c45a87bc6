"""The report's PNGs: each model's heatmaps (one colour scale per test and matrix, shared
by all models) and each comparison's difference heatmaps (new minus old, a diverging
scale centred on 0). Deterministic, as :mod:`embedsim.snapshot.heatmap`."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from embedsim.files import atomic_write
from embedsim.matrix import SimilarityMatrix
from embedsim.report.compare import matrix_of
from embedsim.report.entries import model_label
from embedsim.report.folder import HEATMAPS, claim
from embedsim.report.records import Fragment, MatrixRecord
from embedsim.report.schema import Comparison, MatrixChange
from embedsim.report.slugs import slug, slug_key

#: Diverging colour map of difference heatmaps: blue = lower, red = higher with the new model.
DIFFERENCE_COLORMAP = "RdBu_r"
#: Part of every render key: a change of how heatmaps are drawn renders them all again.
RENDER_VERSION = "heatmap 2"
#: The smallest half-range of a difference scale, so equal matrices do not stretch noise.
MIN_DIFFERENCE_SCALE = 0.01


def render_key(matrix: SimilarityMatrix, *args: Any) -> str:
    """A digest of everything a heatmap is drawn from: values, labels and the render's arguments."""
    digest = hashlib.sha256(repr((RENDER_VERSION, matrix.row_labels, matrix.col_labels, matrix.all_pairs, matrix.shape,
                                  args)).encode("utf-8"))
    digest.update(np.ascontiguousarray(matrix.values, dtype=np.float64).tobytes())
    return digest.hexdigest()


def _write(report_dir: Path, relative: str, record: MatrixRecord | MatrixChange, render: Any, key: str = "",
           cache: Cache | None = None) -> list[str]:
    """Render into ``relative``, noting its path (or the error) on ``record``. With a ``cache``
    (earlier keys in, this build's keys out) a PNG already drawn from the same inputs is kept."""
    if cache is not None and key:
        cache.now[relative] = key
        if cache.before.get(relative) == key and (report_dir / relative).is_file():
            record.heatmap = relative
            return [relative]
    try:
        png = render()
    except Exception as exc:  # one unusable matrix must not cost the whole report
        record.heatmap_error = str(exc)
        return []
    claim(report_dir, relative)  # listed before it exists: an interrupted build leaves no unlisted file
    atomic_write(report_dir / relative, png)
    record.heatmap = relative
    return [relative]


class Cache:
    """The render keys of the heatmaps an earlier build drew (``before``) and this one's (``now``):
    a build renders only what is new or changed (incremental)."""

    def __init__(self, before: dict[str, str] | None = None) -> None:
        self.before = dict(before or {})
        self.now: dict[str, str] = {}


def render_heatmaps(report_dir: Path, per_model: dict[str, Fragment], cache: Cache | None = None) -> list[str]:
    """One PNG per model and matrix of a test; sets ``heatmap`` (or ``heatmap_error``) on the
    matrix records and returns the written paths (relative to ``report_dir``)."""
    from embedsim.snapshot import heatmap

    by_name: dict[str, list[tuple[Fragment, MatrixRecord, SimilarityMatrix]]] = {}
    for entry in per_model.values():
        for record in entry.matrices:
            by_name.setdefault(record.name, []).append((entry, record, matrix_of(record)))
    written = []
    for name, matrices in by_name.items():
        ranges = [heatmap.colour_range(m) for _e, _r, m in matrices if np.all(np.isfinite(m.values)) and m.values.size]
        low, high = (min(r[0] for r in ranges), max(r[1] for r in ranges)) if ranges else (None, None)
        for entry, record, matrix in matrices:
            title = entry.test if name == "matrix" else f"{entry.test} - {name}"
            relative = f"{HEATMAPS}/{slug(entry.model)}/{slug_key(entry.module, entry.test, name)}.png"
            full_title = f"{title}\n{model_label(entry.model)}"
            written += _write(report_dir, relative, record, lambda m=matrix, t=full_title, lo=low, hi=high: heatmap.render_heatmap(
                m, t, vmin=lo, vmax=hi), render_key(matrix, full_title, low, high), cache)
    return written


def render_differences(report_dir: Path, comparison: Comparison, cache: Cache | None = None) -> list[str]:
    """One difference PNG per compared matrix of a comparison (``heatmap`` on its record)."""
    from embedsim.snapshot import heatmap

    old, new = comparison.old, comparison.new
    folder = f"{HEATMAPS}/{slug(old)}..{slug(new)}"
    written = []
    for section in comparison.tests:
        for record in section.matrices:
            if record.difference is None:
                continue
            matrix = SimilarityMatrix(record.difference, tuple(record.row_labels), tuple(record.col_labels),
                                      record.all_pairs)
            scale = max(record.max_abs, MIN_DIFFERENCE_SCALE)
            name = record.name
            title = (section.test if name == "matrix" else f"{section.test} - {name}") + f"\n{new} minus {old}"
            relative = f"{folder}/{slug_key(section.module, section.test, name)}.png"
            label = f"difference ({new} - {old})"
            written += _write(report_dir, relative, record, lambda m=matrix, t=title, s=scale, lb=label: heatmap.render_heatmap(
                m, t, vmin=-s, vmax=s, cmap=DIFFERENCE_COLORMAP, label=lb),
                render_key(matrix, title, -scale, scale, DIFFERENCE_COLORMAP, label), cache)
    return written
