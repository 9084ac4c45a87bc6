"""Experiments over many items: the large-matrix statistics agree with the exact ones and
say what they give up, top-1 and expected columns without (rows x rows) loops, the record keeps
the array, compact tables and image heatmaps of large matrices, an incremental report build.
No timing here: performance is measured by ``benchmarks/cases/scale.py``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from embedsim import expect, report
from embedsim.expect import labels
from embedsim.expect.groups import group_stats
from embedsim.matrix import SimilarityMatrix, cosine_matrix
from embedsim.report.codec import TABLE_MAX_CELLS, from_json, to_json
from embedsim.report.records import MatrixRecord
from embedsim.snapshot import heatmap
from embedsim.snapshot.extensions import compare_matrices, matrix_to_table, table_to_matrix
from embedsim.stats import large


def _grouped(n: int, k: int = 6, d: int = 24, signal: float = 0.4, seed: int = 1) -> tuple[SimilarityMatrix, list[str]]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, k, n)
    centres = rng.normal(size=(k, d))
    x = (centres[codes] * signal + rng.normal(size=(n, d))).astype(np.float32)
    return cosine_matrix(x, [f"i{i}" for i in range(n)]), [f"g{c}" for c in codes]


@pytest.fixture
def exact_and_large(monkeypatch: pytest.MonkeyPatch):
    """Run a function twice: on the exact (small-matrix) path and on the large path."""
    def both(fn):
        monkeypatch.setattr(large, "LARGE_CELLS", 10**12)
        exact = fn()
        large._CACHE.clear()
        monkeypatch.setattr(large, "LARGE_CELLS", 10)
        big = fn()
        large._CACHE.clear()
        return exact, big
    return both


@pytest.mark.parametrize("all_pairs", [True, False])
def test_large_group_statistics_agree_with_the_exact_ones(exact_and_large, all_pairs: bool) -> None:
    m, groups = _grouped(120)
    col_groups = None
    if not all_pairs:
        m = SimilarityMatrix(m.values[:, :30].copy(), m.row_labels, m.col_labels[:30])
        col_groups = groups[:30]
    exact, big = exact_and_large(lambda: group_stats(m, groups, col_groups))
    for name in ("within_mean", "between_mean", "margin", "auc"):
        assert getattr(big, name) == pytest.approx(getattr(exact, name), abs=1e-6), name
    assert (big.n_within, big.n_between, big.n_items) == (exact.n_within, exact.n_between, exact.n_items)
    # the margin's bootstrap is exact (same resamples); the AUC's is linearised, close
    assert big.margin_low == pytest.approx(exact.margin_low, abs=1e-6)
    assert big.margin_high == pytest.approx(exact.margin_high, abs=1e-6)
    assert big.auc_low == pytest.approx(exact.auc_low, abs=0.01) and big.auc_high == pytest.approx(exact.auc_high, abs=0.01)
    assert "linearised bootstrap" in big.note and exact.note == ""
    if all_pairs:  # fewer shuffles, said so; a clear separation reaches the best p-value of each
        assert "99 label shuffles (resolution 0.01)" in big.note
        assert big.p_value_margin == big.p_value_auc == pytest.approx(0.01)
    else:  # rows x columns keep every shuffle, from per-row group sums
        assert big.p_value_margin == pytest.approx(exact.p_value_margin)


def test_large_p_values_of_no_separation_are_not_small(exact_and_large) -> None:
    m, groups = _grouped(150, signal=0.0, seed=4)
    exact, big = exact_and_large(lambda: group_stats(m, groups))
    # 99 shuffles estimate the same p-value as 2,000 (within their Monte Carlo error)
    assert abs(big.p_value_margin - exact.p_value_margin) < 0.1 and abs(big.p_value_auc - exact.p_value_auc) < 0.1
    assert big.p_value_margin > 0.01 and big.p_value_auc > 0.01


def test_large_checks_say_what_is_not_exact_and_keep_the_most_offending_pairs(exact_and_large) -> None:
    m, groups = _grouped(120)
    exact, big = exact_and_large(lambda: expect.check_groups(m, groups, margin=0.9))
    assert not big.passed and big.statistic == pytest.approx(exact.statistic, abs=1e-9)
    assert "resolution 0.01" in big.message
    assert big.pairs[0].value == pytest.approx(exact.pairs[0].value)
    exact, big = exact_and_large(lambda: expect.check_auc(m, groups, at_least=0.5, confidence=0.95))
    assert big.statistic == pytest.approx(exact.statistic) and big.outcome == exact.outcome == "passed"
    assert "linearised" in big.message and "linearised" not in exact.message


def test_large_statistics_leave_self_pairs_out(exact_and_large) -> None:
    m, groups = _grouped(60)
    rows = SimilarityMatrix(m.values[:, :20].copy(), m.row_labels, m.col_labels[:20], self_pairs=((0, 0), (5, 5)))
    exact, big = exact_and_large(lambda: group_stats(rows, groups, groups[:20]))
    assert (big.n_within + big.n_between) == 60 * 20 - 2 == (exact.n_within + exact.n_between)
    assert big.margin == pytest.approx(exact.margin) and big.auc == pytest.approx(exact.auc)


def _old_expected_columns(matrix, rows, cols):
    excluded = matrix.excluded
    return [frozenset(c for j, c in enumerate(matrix.col_labels) if cols[j] == group and not excluded[i, j]) or None
            for i, group in enumerate(rows)]


def test_expected_columns_match_the_cell_by_cell_definition() -> None:
    values = np.random.default_rng(0).random((6, 5))
    m = SimilarityMatrix(values, tuple("abcdef"), ("a", "b", "b", "x", "y"), self_pairs=((0, 0), (1, 1), (2, 2)))
    rows, cols = ["p", "p", "q", "q", "r", "p"], ["p", "p", "p", "q", "q"]
    assert labels.expected_columns(m, rows, cols) == _old_expected_columns(m, rows, cols)
    square, groups = _grouped(30)
    assert labels.expected_columns(square, groups, groups) == _old_expected_columns(square, groups, groups)


def test_top1_by_label_over_hundreds_of_items_runs_and_agrees_with_itself() -> None:
    m, groups = _grouped(400)
    expected = labels.expected_columns(m, groups, groups)
    check = expect.check_top1(m, expected, at_least=0.3, measure="balanced", classes=groups)
    hits = [m.col_labels.index(m.top1()[i]) for i in range(400)]
    share = np.mean([groups[j] == groups[i] for i, j in enumerate(hits)])
    assert 0 < check.statistic <= 1 and abs(check.statistic - share) < 0.1
    assert check.p_value == pytest.approx(1 / 2001)


def test_the_record_keeps_the_array_and_writes_large_matrices_compactly() -> None:
    small = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
    record = MatrixRecord("m", ["a", "b"], ["x", "y", "z"], small, False)
    assert record.values is small
    data = to_json(record)
    assert data["values"] == np.asarray(small, dtype=np.float64).round(6).tolist()
    n = int(TABLE_MAX_CELLS ** 0.5) + 1
    big = np.random.default_rng(0).random((n, n)).astype(np.float32)
    data = json.loads(json.dumps(to_json(MatrixRecord("m", [str(i) for i in range(n)], [str(i) for i in range(n)],
                                                      big, True))))
    assert data["values"] == [] and np.array_equal(from_json(MatrixRecord, data).values, big.astype(np.float64))


def test_large_matrix_tables_are_compact_and_still_compared_with_the_tolerance() -> None:
    m, _groups = _grouped(150)
    text = matrix_to_table(m)
    assert "float32 base64" in text.split("\n", 1)[0] and text.count("\n") == 152
    back = table_to_matrix(text)
    assert back.row_labels == m.row_labels and back.all_pairs and not compare_matrices(m, back, 1e-6)
    moved = m.values.copy()
    moved[3, 7] += 0.01
    lines = compare_matrices(SimilarityMatrix(moved, m.row_labels, m.col_labels, True), back, 1e-4)
    assert lines[0].startswith("1 of 22500 cells moved") and "i3" in lines[2] and "i7" in lines[2]
    small, _ = _grouped(12)
    assert "base64" not in matrix_to_table(small)


def test_a_large_obtained_table_is_compared_as_it_would_be_read_back() -> None:
    """The matrix snapshot extension compares a compact table it made without parsing it: the same
    verdicts and lines as comparing the parsed table, a moved cell and a corrupt stored row included."""
    from embedsim.snapshot.extensions import MatrixSnapshotExtension, ObtainedTable

    extension = MatrixSnapshotExtension()
    m, _groups = _grouped(150)
    obtained = extension.serialize(m)
    assert isinstance(obtained, ObtainedTable) and obtained == matrix_to_table(m)
    moved = m.values.copy()
    moved[3, 7] += 0.01
    stored = matrix_to_table(SimilarityMatrix(moved, m.row_labels, m.col_labels, True))
    for snapshot, match in ((obtained, True), (stored, False)):
        assert extension.matches(serialized_data=obtained, snapshot_data=snapshot) is match
        assert list(extension.diff_lines(obtained, snapshot)) == list(extension.diff_lines(str(obtained), snapshot))
    lines = stored.split("\n")
    lines[5] = lines[5][:-8] + "*" + lines[5][-7:]  # not base64
    assert extension.matches(serialized_data=obtained, snapshot_data="\n".join(lines)) is False
    assert not isinstance(extension.serialize(_grouped(12)[0]), ObtainedTable)  # small: decimals, parsed


@pytest.mark.parametrize("shape", [(600, 600), (700, 40)])
def test_large_heatmaps_are_images_without_per_cell_text(shape: tuple[int, int]) -> None:
    m, _groups = _grouped(shape[0])
    if shape[1] != shape[0]:
        m = SimilarityMatrix(m.values[:, :shape[1]].copy(), m.row_labels, m.col_labels[:shape[1]])
    figure = heatmap.heatmap_figure(m)
    assert len(figure.axes[0].texts) == 0 and not figure.axes[0].get_yticklabels()[0].get_text().startswith("i")
    assert heatmap.render_heatmap(m)[:8] == b"\x89PNG\r\n\x1a\n"
    assert heatmap.downsampled(m.values, 100).shape == (100, min(100, shape[1]))


def _fragment(test: str, value: float) -> report.Fragment:
    return report.Fragment("tests/test_a.py", test, "pixels", "passed", matrices=[
        MatrixRecord("matrix", ["a", "b"], ["x", "y"], np.array([[value, 0.5], [0.5, value]]), False)])


def test_a_report_build_renders_only_new_or_changed_heatmaps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report.prepare(tmp_path)
    for k in range(3):
        report.write_fragment(tmp_path, _fragment(f"test_{k}", 0.1 * k), None)
    drawn: list[str] = []
    render = heatmap.render_heatmap

    def spy(matrix, title=None, **kwargs):
        drawn.append(title.split("\n")[0])
        return render(matrix, title, **kwargs)

    monkeypatch.setattr(heatmap, "render_heatmap", spy)
    report.build_index(tmp_path, ["pixels"])
    assert sorted(drawn) == ["test_0", "test_1", "test_2"]
    drawn.clear()
    report.write_fragment(tmp_path, _fragment("test_1", 0.9), None)  # one result changed
    report.build_index(tmp_path, ["pixels"])
    assert drawn == ["test_1"]
    assert len(list((tmp_path / "heatmaps").rglob("*.png"))) == 3  # the kept ones are still the report's
    drawn.clear()
    next((tmp_path / "heatmaps").rglob("*.png")).unlink()  # a missing file is drawn again
    report.build_index(tmp_path, ["pixels"])
    assert len(drawn) == 1 and len(list((tmp_path / "heatmaps").rglob("*.png"))) == 3


# --- per-row group separation in bounded memory -------------------------------------------------


def _naive_smallest_row_gap(values: np.ndarray, same: np.ndarray, different: np.ndarray, all_pairs: bool,
                            w: np.ndarray) -> np.ndarray:
    """The statistic by its definition, one resample and row at a time (the reference)."""
    out = []
    for weights in w:
        present = weights > 0
        columns = present if all_pairs else np.ones(values.shape[1], dtype=bool)
        gaps = [values[i, same[i] & columns].min() - values[i, different[i] & columns].max()
                for i in np.flatnonzero(present) if (same[i] & columns).any() and (different[i] & columns).any()]
        out.append(min(gaps) if gaps else np.nan)
    return np.asarray(out)


@pytest.mark.parametrize("ranked", [1, 2, 32])
@pytest.mark.parametrize("all_pairs", [True, False])
def test_smallest_row_gap_keeps_few_ranked_columns_and_stays_exact(monkeypatch: pytest.MonkeyPatch, ranked: int,
                                                                   all_pairs: bool) -> None:
    """Per-row group separation in bounded memory: each row keeps only its first ranked columns; a resample that draws
    none of them reads the row whole - the same values as the definition (ties included)."""
    from embedsim.stats import pairs
    from embedsim.stats.bootstrap import item_weights

    monkeypatch.setattr(pairs, "RANKED_COLUMNS", ranked)
    rng = np.random.default_rng(7)
    n, m = 40, (40 if all_pairs else 9)
    values = np.round(rng.normal(size=(n, m)), 1).astype(np.float32)  # rounded: many ties
    rows, cols = rng.integers(0, 4, n), rng.integers(0, 4, m)
    if all_pairs:
        cols = rows
    same = (rows[:, None] == cols[None, :]) & ~np.eye(n, m, dtype=bool) if all_pairs else rows[:, None] == cols[None, :]
    different = rows[:, None] != cols[None, :]
    w = item_weights(n, 300, seed=3)
    got = pairs.smallest_row_gap(values, same, different, all_pairs)(w)
    np.testing.assert_array_equal(got, _naive_smallest_row_gap(values.astype(np.float64), same, different,
                                                               all_pairs, w))


def test_per_row_check_memory_does_not_grow_with_rows_times_columns_per_resample() -> None:
    """``check_groups(per_row=True)`` at 1,500 items allocated 609 MB (68x the matrix: a
    resample block x rows x columns array) before; now the matrix, its masks and the resample weights."""
    import tracemalloc

    matrix, groups = _grouped(1500, k=10)
    tracemalloc.start()
    try:
        check = expect.check_groups(matrix, groups, margin=0.0, per_row=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert check.kind == "smallest per-row gap" and np.isfinite(check.statistic)
    assert peak < 20 * matrix.values.nbytes


def test_average_ranks_by_one_sort_match_their_definition() -> None:
    """The report's Spearman over millions of pairs: ranks from one stable sort; tied
    values (signed zeros alike, NaNs with each other) share their mean rank."""
    from embedsim.stats import average_ranks

    rng = np.random.default_rng(5)
    for k in range(60):
        x = np.round(rng.normal(size=int(rng.integers(0, 40))), int(rng.integers(0, 3)))
        if k % 3 == 0 and x.size > 4:
            x[:2], x[2:4] = -0.0, 0.0
            x[rng.integers(0, x.size, 2)] = np.nan
        nan = np.isnan(x)
        expected = [(np.sum(nan) + 1) / 2 + np.sum(~nan) if nan[i] else
                    np.sum(x[~nan] < x[i]) + (np.sum(x[~nan] == x[i]) + 1) / 2 for i in range(x.size)]
        np.testing.assert_array_equal(average_ranks(x), np.asarray(expected, dtype=np.float64))
