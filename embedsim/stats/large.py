"""Group separation statistics of large matrices, in bounded memory and near-linear time in the cells.

Above :data:`LARGE_CELLS` scored cells the per-pair index arrays of :class:`~embedsim.stats.Pairs`
(one per resample and pair) would not fit, so :class:`GroupCells` works from the matrix itself,
its rows in blocks of about :data:`BLOCK_CELLS` cells, and from group sums:

* the mean margin's bootstrap is exact: a pair weighs ``w_i * w_j`` (all pairs), so its weighted
  sums are quadratic forms of the item weights, computed as one matrix product per block of
  resamples (the within-group part over each group's diagonal block, counts from group sums);
  rows x columns reduce to per-row sums;
* the AUC's point estimate is exact (ties half: two sorts and merges); its interval comes from the
  **linearised bootstrap** - each item's influence on the AUC (its pairs' placements), so a
  resample costs one dot product - stated in :attr:`GroupCells.note`;
* permutation p-values shuffle the items' group labels as for small matrices. Rows x columns use
  per-row group sums (every shuffle O(rows), all of them); all pairs need a pass over the matrix
  per shuffle, so they use :data:`LARGE_PERMUTATIONS` shuffles - p-value resolution
  ``1 / (1 + LARGE_PERMUTATIONS)``, stated in the note - and the AUC's shuffles read the cells'
  ranks as float32 quantiles on :data:`LEVELS` value levels.

The statistics treat an all-pairs matrix as symmetric (its symmetric part).
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Sequence

import numpy as np

from embedsim.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, Statistic

#: Above this many scored cells group statistics take this module's path.
LARGE_CELLS = 200_000
#: Label shuffles of an all-pairs permutation p-value above :data:`LARGE_CELLS` (resolution 0.01).
LARGE_PERMUTATIONS = 99
#: Value buckets of the tables of placements (the AUC's influence) and ranks (its permutations).
LEVELS = 1 << 20
#: Above this many items the all-pairs mean margin's interval is linearised (exact: one product of the
#: (n, n) matrix per block of resamples).
EXACT_MARGIN_ITEMS = 4000
MARGIN_NOTE = (f"mean-margin interval from the linearised bootstrap (each item's influence) above "
               f"{EXACT_MARGIN_ITEMS:,} items")
#: How the AUC's interval is computed above :data:`LARGE_CELLS`.
AUC_NOTE = (f"AUC interval from the linearised bootstrap (each item's influence, placements read on "
            f"{LEVELS:,} value levels) above {LARGE_CELLS:,} cells")
#: Cells per block of rows.
BLOCK_CELLS = 1 << 22


def scored_cells(shape: tuple[int, int], all_pairs: bool, n_excluded_offdiagonal: int = 0) -> int:
    """How many cells a group statistic scores (each unordered pair once for all pairs)."""
    rows, cols = shape
    return rows * (rows - 1) // 2 - n_excluded_offdiagonal if all_pairs else rows * cols - n_excluded_offdiagonal


def codes(groups: Sequence[str], names: dict[str, int]) -> np.ndarray:
    return np.fromiter((names.setdefault(g, len(names)) for g in groups), dtype=np.int64, count=len(groups))


class GroupCells:
    """The scored cells of one matrix under one grouping, read in blocks of rows.

    ``self_pairs``: cells ``(i, j)`` left out besides an all-pairs diagonal."""

    def __init__(self, values: np.ndarray, row_groups: Sequence[str], col_groups: Sequence[str], all_pairs: bool,
                 self_pairs: Sequence[tuple[int, int]] = ()) -> None:
        self.values = values if values.dtype in (np.float32, np.float64) else values.astype(np.float64)
        names: dict[str, int] = {}
        self.row_codes = codes(row_groups, names)
        self.col_codes = codes(col_groups, names)
        self.k = len(names)
        self.all_pairs = all_pairs
        self.n_rows, self.n_cols = values.shape
        self.n = self.n_rows  # items resampled
        cells = {(int(i), int(j)) for i, j in self_pairs if not (all_pairs and i == j)}
        if all_pairs:
            cells = {(min(i, j), max(i, j)) for i, j in cells}
        self.excluded = np.array(sorted(cells), dtype=np.int64).reshape(-1, 2)
        self.block_rows = max(1, BLOCK_CELLS // max(1, self.n_cols))
        self._cache: dict[str, object] = {}
        self.note_parts: list[str] = []

    # -- blocks ----------------------------------------------------------------------------
    def blocks(self, both: bool = False):
        """``(r0, values, same, valid)`` per block of rows (``valid``: scored cells; of an all-pairs
        matrix the upper triangle, or with ``both`` both triangles)."""
        for r0 in range(0, self.n_rows, self.block_rows):
            r1 = min(self.n_rows, r0 + self.block_rows)
            block = self.values[r0:r1]
            same = self.row_codes[r0:r1, None] == self.col_codes[None, :]
            if self.all_pairs:
                columns, rows = np.arange(self.n_cols)[None, :], np.arange(r0, r1)[:, None]
                valid = columns != rows if both else columns > rows
            else:
                valid = np.ones(block.shape, dtype=bool)
            pairs = (self.excluded, self.excluded[:, ::-1]) if both and self.all_pairs else (self.excluded,)
            for i, j in (p.T for p in pairs):
                inside = (i >= r0) & (i < r1)
                valid[i[inside] - r0, j[inside]] = False
            yield r0, block, same, valid

    def sums(self) -> np.ndarray:
        """Per row: within sum, within count, between sum, between count (float64); of an
        all-pairs matrix per item, each pair counted for both its items (so twice in all)."""
        if "sums" not in self._cache:
            per_row = np.zeros((self.n_rows, 4))
            for r0, block, same, valid in self.blocks(both=self.all_pairs):
                b = block.astype(np.float64)
                s, d = same & valid, ~same & valid
                rows = slice(r0, r0 + len(block))
                per_row[rows, 0] = np.where(s, b, 0.0).sum(axis=1)
                per_row[rows, 1] = s.sum(axis=1)
                per_row[rows, 2] = np.where(d, b, 0.0).sum(axis=1)
                per_row[rows, 3] = d.sum(axis=1)
            self._cache["sums"] = per_row
        return self._cache["sums"]  # type: ignore[return-value]

    def means(self) -> tuple[float, float, int, int]:
        within, n_within, between, n_between = self.sums().sum(axis=0) / (2 if self.all_pairs else 1)
        return within / n_within, between / n_between, int(round(n_within)), int(round(n_between))

    # -- the mean margin ---------------------------------------------------------------------
    def margin_statistic(self) -> Statistic:
        """The weighted mean margin as a function of ``(B, n)`` item weights (exact); its values
        are remembered per block of weights (a check and the statistics share them)."""
        if "margin" not in self._cache:
            statistic = self._margin_statistic()
            seen: dict[bytes, np.ndarray] = {}

            def remembered(w: np.ndarray) -> np.ndarray:
                key = hashlib.blake2b(np.ascontiguousarray(w).tobytes(), digest_size=16).digest() + \
                    repr(w.shape).encode()
                if key not in seen:
                    seen[key] = statistic(w)
                return seen[key]

            remembered.block = 512  # type: ignore[attr-defined]  # resamples per call: larger products
            self._cache["margin"] = remembered
        return self._cache["margin"]  # type: ignore[return-value]

    def _margin_statistic(self) -> Statistic:
        if self.all_pairs and self.n > EXACT_MARGIN_ITEMS:
            self.note(MARGIN_NOTE)
            within, between, n_within, n_between = self.means()
            ws, ns, wd, nd = self.sums().T  # per item: its pairs' sums and counts
            influence = (ws - within * ns) / n_within - (wd - between * nd) / n_between
            margin = within - between

            def linearised(w: np.ndarray) -> np.ndarray:
                return margin + (w - 1.0) @ influence

            return linearised
        if not self.all_pairs:
            per_row = self.sums()

            def rows_statistic(w: np.ndarray) -> np.ndarray:
                within, n_within, between, n_between = (w @ per_row).T
                with np.errstate(invalid="ignore", divide="ignore"):
                    return within / n_within - between / n_between

            return rows_statistic
        v = self.values
        diag = np.diagonal(v).astype(np.float64)
        members = [np.flatnonzero(self.row_codes == g) for g in range(self.k)]
        blocks = [np.ascontiguousarray(v[np.ix_(m, m)]) for m in members]
        ex_i, ex_j = self.excluded[:, 0], self.excluded[:, 1]
        ex_v = (v[ex_i, ex_j].astype(np.float64) + v[ex_j, ex_i]) / 2 if len(ex_i) else np.zeros(0)
        ex_same = self.row_codes[ex_i] == self.row_codes[ex_j]
        onehot = np.zeros((self.n, self.k))
        onehot[np.arange(self.n), self.row_codes] = 1.0

        def form(w32: np.ndarray, m: np.ndarray) -> np.ndarray:
            return np.einsum("bi,bi->b", (w32 @ m).astype(np.float64), w32.astype(np.float64))

        def statistic(w: np.ndarray) -> np.ndarray:
            w32 = np.ascontiguousarray(w, dtype=v.dtype)
            square = (w * w) @ diag
            total = 0.5 * (form(w32, v) - square)
            within = np.zeros(len(w))
            for m, block in zip(members, blocks, strict=True):
                within += 0.5 * (form(w32[:, m], block) - (w[:, m] * w[:, m]) @ diag[m])
            pairs_w = w[:, ex_i] * w[:, ex_j]
            total -= pairs_w @ ex_v
            within -= pairs_w[:, ex_same] @ ex_v[ex_same]
            squares = (w * w).sum(axis=1)
            n_total = 0.5 * (w.sum(axis=1) ** 2 - squares) - pairs_w.sum(axis=1)
            n_within = 0.5 * (((w @ onehot) ** 2).sum(axis=1) - squares) - pairs_w[:, ex_same].sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                return within / n_within - (total - within) / (n_total - n_within)

        return statistic

    # -- the AUC -------------------------------------------------------------------------------
    def _sorted(self) -> dict[str, np.ndarray]:
        """Same- and different-group values, each sorted (no per-pair indices are kept)."""
        if "sorted" not in self._cache:
            same_parts, diff_parts = [], []
            for _r0, block, same, valid in self.blocks():
                same_parts.append(block[same & valid])
                diff_parts.append(block[~same & valid])
            vs = np.concatenate(same_parts)
            del same_parts
            vs.sort()
            vd = np.concatenate(diff_parts)
            del diff_parts
            vd.sort()
            self._cache["sorted"] = {"vs": vs, "vd": vd}
        return self._cache["sorted"]  # type: ignore[return-value]

    def _grid(self) -> tuple[float, float]:
        """The value range cut into :data:`LEVELS` equal buckets (for tables of placements and ranks)."""
        s = self._sorted()
        low = float(min(s["vs"][0], s["vd"][0]))
        high = float(max(s["vs"][-1], s["vd"][-1]))
        return low, max(high - low, 1e-12) / LEVELS

    def _bucket(self, block: np.ndarray) -> np.ndarray:
        low, width = self._grid()
        return np.clip(((block - low) / width).astype(np.int64), 0, LEVELS - 1)

    def _centres(self) -> np.ndarray:
        low, width = self._grid()
        return low + (np.arange(LEVELS) + 0.5) * width

    def auc(self) -> tuple[float, Statistic]:
        """The exact AUC (ties half) and its linearised statistic of item weights: each item's
        influence from its pairs' placements, read from a table over :data:`LEVELS` value buckets."""
        if "auc" not in self._cache:
            s = self._sorted()
            vs, vd = s["vs"], s["vd"]
            n_s, n_d = vs.size, vd.size
            lo = np.searchsorted(vd, vs, "left")
            hi = np.searchsorted(vd, vs, "right")
            numerator = float((lo + 0.5 * (hi - lo)).sum())  # different-group pairs below each same-group pair
            del lo, hi
            auc = numerator / (n_s * n_d)
            centres = self._centres()
            below = np.searchsorted(vd, centres, "left") + 0.5 * (np.searchsorted(vd, centres, "right")
                                                                   - np.searchsorted(vd, centres, "left"))
            above = n_s - np.searchsorted(vs, centres, "right") + 0.5 * (np.searchsorted(vs, centres, "right")
                                                                          - np.searchsorted(vs, centres, "left"))
            table = np.concatenate([below, above])  # a same-group cell's placement, then a different-group one's
            d_num, d_same, d_diff = np.zeros(self.n), np.zeros(self.n), np.zeros(self.n)
            for r0, block, same, valid in self.blocks():
                placed = np.where(valid, table[self._bucket(block) + LEVELS * ~same], 0.0)
                s_valid, d_valid = same & valid, ~same & valid
                rows = slice(r0, r0 + len(block))
                d_num[rows] += placed.sum(axis=1)
                d_same[rows] += s_valid.sum(axis=1)
                d_diff[rows] += d_valid.sum(axis=1)
                if self.all_pairs:  # a pair (i, j) of the upper triangle counts for item j too
                    d_num += placed.sum(axis=0)
                    d_same += s_valid.sum(axis=0)
                    d_diff += d_valid.sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                influence = auc * (d_num / numerator - d_same / n_s - d_diff / n_d) if numerator else \
                    d_num / (n_s * n_d)
            influence = np.nan_to_num(influence)

            def statistic(w: np.ndarray) -> np.ndarray:
                return auc + (w - 1.0) @ influence

            self._cache["auc"] = (auc, statistic)
            self.note(AUC_NOTE)
        return self._cache["auc"]  # type: ignore[return-value]

    def _ranks(self) -> np.ndarray:
        """A float32 grid of each scored cell's rank quantile (ties averaged, read at its value
        bucket's centre); 0 elsewhere."""
        s = self._sorted()
        vs, vd = s["vs"], s["vd"]
        centres = self._centres()
        below = np.searchsorted(vs, centres, "left") + np.searchsorted(vd, centres, "left")
        upto = np.searchsorted(vs, centres, "right") + np.searchsorted(vd, centres, "right")
        table = ((below + 0.5 * (upto - below + 1)) / (vs.size + vd.size)).astype(np.float32)
        grid = np.zeros((self.n_rows, self.n_cols), dtype=np.float32)
        for r0, block, _same, valid in self.blocks(both=True):
            grid[r0:r0 + len(block)] = np.where(valid, table[self._bucket(block)], np.float32(0.0))
        return grid

    # -- permutation p-values ---------------------------------------------------------------------
    def permutation_p(self, statistic: str, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> float:
        """One-sided p-value of the same-group sum of values (``margin``) or ranks (``auc``) under
        shuffled labels, as :func:`embedsim.stats.permutation_p_value`."""
        key = f"p_{statistic}"
        if key in self._cache:
            return self._cache[key]  # type: ignore[return-value]
        if self.all_pairs and resamples > LARGE_PERMUTATIONS:
            resamples = LARGE_PERMUTATIONS
            self.note(self.permutation_note)
        if statistic == "margin":
            grid = np.array(self.values, dtype=np.float32)
            if self.all_pairs:
                np.fill_diagonal(grid, 0.0)
            for i, j in self.excluded:
                grid[i, j] = 0.0
                if self.all_pairs:
                    grid[j, i] = 0.0
        else:
            grid = self._ranks()
        rng = np.random.default_rng(seed)
        perms = rng.permuted(np.tile(np.arange(self.n, dtype=np.intp), (resamples, 1)), axis=1)
        identity = np.arange(self.n, dtype=np.intp)[None, :]
        if self.all_pairs:
            sums = self._pair_sums(grid, perms)
            observed = self._pair_sums(grid, identity)[0]
        else:
            order = np.argsort(self.col_codes, kind="stable")
            starts = np.flatnonzero(np.r_[True, np.diff(self.col_codes[order]) != 0])
            present = self.col_codes[order][starts]
            h = np.zeros((self.n_rows, self.k))
            for r0 in range(0, self.n_rows, self.block_rows):
                h[r0:r0 + self.block_rows, present] = np.add.reduceat(
                    grid[r0:r0 + self.block_rows][:, order].astype(np.float64), starts, axis=1)
            rows = np.arange(self.n_rows)[None, :]
            sums = np.concatenate([h[rows, self.row_codes[perms[b:b + 128]]].sum(axis=1)
                                   for b in range(0, resamples, 128)])
            observed = h[rows, self.row_codes[identity]].sum(axis=1)[0]
        del grid
        tolerance = 1e-6 * max(1.0, abs(float(observed)))
        p = float((1.0 + (sums >= observed - tolerance).sum()) / (1.0 + resamples))
        self._cache[key] = p
        return p

    def _pair_sums(self, grid: np.ndarray, perms: np.ndarray) -> np.ndarray:
        """Sum of the grid over same-group pairs (each once) with the items' labels shuffled."""
        per = max(1, 256 // max(1, self.k))
        out = []
        for b in range(0, len(perms), per):
            labels = self.row_codes[perms[b:b + per]]  # (p, n): item i's label in each shuffle
            onehot = np.zeros((self.n, len(labels), self.k), dtype=np.float32)
            onehot[np.arange(self.n)[:, None], np.arange(len(labels))[None, :], labels.T] = 1.0
            x = onehot.reshape(self.n, -1)
            y = (grid @ x).reshape(self.n, len(labels), self.k)
            picked = np.take_along_axis(y, labels.T[:, :, None], axis=2)[:, :, 0]
            out.append(0.5 * picked.sum(axis=0, dtype=np.float64))
        return np.concatenate(out)

    @property
    def margin_note(self) -> str:
        """How the mean margin's interval is computed, when not exactly."""
        return MARGIN_NOTE if self.all_pairs and self.n > EXACT_MARGIN_ITEMS else ""

    @property
    def permutation_note(self) -> str:
        """What the all-pairs p-values give up (empty for rows x columns: all shuffles)."""
        if not self.all_pairs:
            return ""
        return (f"permutation p from {LARGE_PERMUTATIONS} label shuffles (resolution "
                f"{1 / (1 + LARGE_PERMUTATIONS):.3g}) above {LARGE_CELLS:,} cells")

    # -- what is not exact ---------------------------------------------------------------------
    def note(self, text: str) -> None:
        if text not in self.note_parts:
            self.note_parts.append(text)

    @property
    def notes(self) -> str:
        return "; ".join(self.note_parts)


_CACHE: list[tuple[weakref.ref, tuple, GroupCells]] = []


def group_cells(matrix: object, values: np.ndarray, row_groups: Sequence[str], col_groups: Sequence[str],
                all_pairs: bool, self_pairs: Sequence[tuple[int, int]]) -> GroupCells:
    """The :class:`GroupCells` of ``matrix`` under this grouping, shared by the checks and statistics
    of one matrix (the last two kept while their matrix lives)."""
    key = (id(values), values.shape, tuple(row_groups), tuple(col_groups), all_pairs, tuple(self_pairs))
    for ref, k, cells in _CACHE:
        if ref() is matrix and k == key:
            return cells
    cells = GroupCells(values, row_groups, col_groups, all_pairs, self_pairs)
    _CACHE.append((weakref.ref(matrix), key, cells))
    del _CACHE[:-2]
    return cells
