"""The ``experiment`` fixture's object: one test's experiment with one model.

:class:`Experiment` embeds with the current model and records every matrix, statistic
and expectation outcome (:mod:`embedsim.report.records`, for the ``--embedsim-report``); it can
snapshot matrices and heatmaps (:class:`MatrixSnapshots`). Expectations and
snapshots are soft: the plugin calls :meth:`Experiment._finish` when the test function returns.
"""

from __future__ import annotations

import itertools
import os
import re
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from embedsim import expect
from embedsim.backends import check_model_id, naming
from embedsim.backends.base import Embedder
from embedsim.errors import EmbedsimError, InputError
from embedsim.expect import Check, ExpectationFailed
from embedsim.expect import labels as label_groups
from embedsim.expect.groups import GroupStats, group_stats
from embedsim.expect.labels import Groups
from embedsim.inputs.items import Item
from embedsim.matrix import SimilarityMatrix, similarity
from embedsim.report.records import CheckRecord, MatrixRecord
from embedsim.stats import DEFAULT_CONFIDENCE


class ExpectationsFailed(ExpectationFailed):
    """One or more of an experiment's expectations failed (or passed against a declared xfail,
    or were inconclusive)."""

    def __init__(self, records: Sequence[CheckRecord]) -> None:
        AssertionError.__init__(self, "\n\n".join(r.failure_text() for r in records))
        self.records = list(records)


class ExpectationsInconclusive(ExpectationsFailed):
    """Every failing expectation was inconclusive: its estimate met the threshold, its interval did not."""


class Experiment:
    """One test's experiment with one model (the ``experiment`` fixture).

    ::

        def test_identity(experiment, faces):
            m = experiment.similarity(faces)                        # all pairs
            experiment.expect_groups(m, by="person", margin=0.05)    # by the items' labels
            experiment.expect_auc(m, by="person", at_least=0.9,
                                  xfail={"pixels": "no semantics"})
            experiment.snapshot(m)                                  # matrix table + heatmap PNG

    Expectations are *soft*: each outcome is recorded, the test goes on, and when it
    ends the test fails with every failed expectation listed (or is reported as
    xfailed when only expectations declared ``xfail`` for this model failed). An
    expectation declared ``xfail`` for this model that holds fails the test
    (strict XPASS). Each ``expect_*`` returns its :class:`~embedsim.expect.Check`;
    :meth:`expect` records a check the test computed itself the same way.

    ``by=`` takes a label key of the items (``"person"``: each item's ``labels["person"]``)
    in every expectation; :meth:`expect_groups`, :meth:`expect_auc` and :meth:`stats` also take
    an explicit sequence of group names, one per row (``col_by=``: one per column).
    """

    def __init__(self, embedder: Embedder, test_name: str = "", nodeid: str = "",
                 snapshot: Callable[[type], Any] | None = None, matrix_tolerance: float | None = None,
                 image_tolerance: float | None = None, confidence: float | None = None,
                 colour: bool = True, model: str | None = None) -> None:
        self.embedder = embedder
        #: Run-wide confidence (``--embedsim-confidence``) for expectations that give none.
        self.confidence = confidence
        #: The model id the test runs with: a variant ``id@dimension`` as such (``model``), else the embedder's.
        self.model_id: str = model or embedder.model_id
        self.test_name = test_name
        self.nodeid = nodeid
        self.matrices: list[MatrixRecord] = []
        self.checks: list[CheckRecord] = []
        self._items: dict[int, tuple[SimilarityMatrix, Sequence[Item] | None, Sequence[Item] | None, MatrixRecord]] = {}
        #: The key of each grouping's statistics on its matrix: (matrix, row groups, column groups) -> key.
        self._stats_keys: dict[tuple[str, tuple[str, ...], tuple[str, ...]], str] = {}
        self._snapshots = None if snapshot is None else MatrixSnapshots(snapshot, matrix_tolerance, image_tolerance,
                                                                        colour)
        #: One text per snapshot that did not match (see :meth:`snapshot`).
        self.snapshot_mismatches: list[str] = []
        self._weights_compared = False

    def __repr__(self) -> str:
        return f"<Experiment {self.test_name!r} with {self.model_id}>"

    # -- matrices ---------------------------------------------------------------------
    def similarity(self, rows: Sequence[Item], cols: Sequence[Item] | None = None, *,
                   name: str | None = None) -> SimilarityMatrix:
        """Embed ``rows`` (and ``cols``) with this model in one call and return the cosine
        similarity matrix (all pairs of ``rows`` when ``cols`` is omitted), recorded under
        ``name`` (default: the first of ``matrix``, ``matrix_2``, ... not taken)."""
        rows, cols = list(rows), None if cols is None else list(cols)  # generators are read once
        matrix = similarity(self.embedder, rows, cols)
        return self.add_matrix(matrix, name=name, rows=rows, cols=cols if cols is not None else rows)

    def add_matrix(self, matrix: SimilarityMatrix, *, name: str | None = None,
                   rows: Sequence[Item] | None = None, cols: Sequence[Item] | None = None) -> SimilarityMatrix:
        """Record a matrix computed elsewhere (``rows``/``cols`` items enable label-key groups)."""
        if id(matrix) in self._items:
            return matrix
        taken = {m.name for m in self.matrices}
        if name is None:
            name = next(n for n in itertools.chain(["matrix"], (f"matrix_{i}" for i in itertools.count(2)))
                        if n not in taken)
        elif name in taken:
            raise InputError(f"the experiment already has a matrix named {name!r}; pass another name=")
        record = MatrixRecord(name, list(matrix.row_labels), list(matrix.col_labels), matrix.values,
                              matrix.all_pairs, self_pairs=list(matrix.self_pairs))
        self.matrices.append(record)
        self._items[id(matrix)] = (matrix, rows, cols, record)
        return matrix

    def _record(self, matrix: SimilarityMatrix) -> tuple[MatrixRecord, Sequence[Item] | None, Sequence[Item] | None]:
        if id(matrix) not in self._items:
            self.add_matrix(matrix)
        _m, rows, cols, record = self._items[id(matrix)]
        return record, rows, cols

    def groups(self, matrix: SimilarityMatrix, by: Groups,
               col_by: Groups | None = None) -> tuple[list[str], list[str]]:
        """Row and column group names; a string is a label key looked up in the items."""
        _record, rows, cols = self._record(matrix)
        return label_groups.row_and_column_groups(matrix, by, col_by, rows, cols)

    def stats(self, matrix: SimilarityMatrix, by: Groups, col_by: Groups | None = None) -> GroupStats:
        """Within- vs between-group statistics (means, margin, AUC), recorded for the report."""
        record, _rows, _cols = self._record(matrix)
        row_groups, column_groups = self.groups(matrix, by, col_by)
        result = group_stats(matrix, row_groups, column_groups, confidence=self.confidence or DEFAULT_CONFIDENCE)
        grouping = (record.name, tuple(row_groups), tuple(column_groups))
        if grouping not in self._stats_keys:  # another grouping never overwrites these statistics
            spec = _spec(by) if col_by is None else f"{_spec(by)} x {_spec(col_by)}"
            self._stats_keys[grouping] = _first_free(spec, set(self._stats_keys.values()) | set(record.stats))
        record.stats[self._stats_keys[grouping]] = result
        return result

    # -- expectations -------------------------------------------------------------------
    def expect_groups(self, matrix: SimilarityMatrix, groups: Groups | None = None, col_groups: Groups | None = None,
                      *, by: Groups | None = None, col_by: Groups | None = None, margin: float = 0.0,
                      per_row: bool = False, xfail: Mapping[str, str] | None = None, name: str | None = None,
                      confidence: float | None = None) -> Check:
        """Same-group pairs more similar than different-group pairs by ``margin`` (means, or
        every row with ``per_row=True``); see :func:`embedsim.expect.check_groups`.
        ``by``: a label key of the items or one group per row; ``col_by``: the columns' (default ``by``).
        (``groups`` / ``col_groups`` given positionally: deprecated spellings of ``by`` / ``col_by``.)"""
        by, col_by = _by(by, col_by, groups, col_groups, "expect_groups")
        self.stats(matrix, by, col_by)
        rows, cols = self.groups(matrix, by, col_by)
        check = expect.check_groups(matrix, rows, cols, margin=margin, per_row=per_row)
        return self._expect(check, matrix, name, f"groups({_spec(by)}, margin={margin:g})", xfail, confidence)

    def expect_auc(self, matrix: SimilarityMatrix, groups: Groups | None = None, col_groups: Groups | None = None,
                   *, by: Groups | None = None, col_by: Groups | None = None, at_least: float,
                   xfail: Mapping[str, str] | None = None, name: str | None = None,
                   confidence: float | None = None) -> Check:
        """Same-group vs different-group ROC-AUC at least ``at_least``; ``by`` / ``col_by`` as in
        :meth:`expect_groups`. See :func:`embedsim.expect.check_auc`."""
        by, col_by = _by(by, col_by, groups, col_groups, "expect_auc")
        self.stats(matrix, by, col_by)
        rows, cols = self.groups(matrix, by, col_by)
        check = expect.check_auc(matrix, rows, cols, at_least=at_least)
        return self._expect(check, matrix, name, f"auc({_spec(by)}) >= {at_least:g}", xfail, confidence)

    def expect_top1(self, matrix: SimilarityMatrix, expected: expect.Expected | None = None, *,
                    by: str | None = None, at_least: float, xfail: Mapping[str, str] | None = None,
                    name: str | None = None, measure: str = "share", confidence: float | None = None) -> Check:
        """Each row's most similar column is the expected one for at least ``at_least`` of rows.

        ``expected``: per row an expected column label (or a set of them, or None), as a
        sequence or a mapping from row label; or ``by="expression"``: a column is right
        when its item has the same ``labels["expression"]`` as the row's item (and the
        row's class, for ``measure="balanced"``, is that label).
        See :func:`embedsim.expect.check_top1`.
        """
        expected, classes = self._expected(matrix, expected, by, "expect_top1")
        check = expect.check_top1(matrix, expected, at_least=at_least, measure=measure, classes=classes)
        return self._expect(check, matrix, name, f"top1({by or 'expected'}) >= {at_least:.0%}", xfail, confidence)

    def expect_class(self, matrix: SimilarityMatrix, column: str, expected: expect.Expected | None = None, *,
                     by: str | None = None, at_least: float, xfail: Mapping[str, str] | None = None,
                     name: str | None = None, confidence: float | None = None) -> Check:
        """Column ``column`` on top for the rows expecting it and not for the others (balanced
        accuracy of that one column, 0.5 for a constant answer); ``expected`` / ``by`` as in
        :meth:`expect_top1`. See :func:`embedsim.expect.check_class`."""
        expected, _classes = self._expected(matrix, expected, by, "expect_class")
        check = expect.check_class(matrix, expected, column, at_least=at_least)
        return self._expect(check, matrix, name, f"class({column}) >= {at_least:.0%}", xfail, confidence)

    def _expected(self, matrix: SimilarityMatrix, expected: expect.Expected | None, by: str | None,
                  what: str) -> tuple[expect.Expected, list[str] | None]:
        """``expected`` as given, or built from the label ``by`` (with the rows' classes)."""
        if (expected is None) == (by is None):
            raise InputError(f"{what} needs either expected= or by=")
        if by is None:
            return expected, None  # type: ignore[return-value]
        rows, cols = self.groups(matrix, by, by)
        return label_groups.expected_columns(matrix, rows, cols), rows

    def expect_order(self, matrix: SimilarityMatrix, row: str, order: Sequence[str], *, margin: float = 0.0,
                     xfail: Mapping[str, str] | None = None, name: str | None = None) -> Check:
        """Row ``row`` is most similar to ``order[0]``, then ``order[1]``, ... (each by ``margin``)."""
        check = expect.check_order(matrix, row, order, margin=margin)
        return self._expect(check, matrix, name, f"order({row}: {' > '.join(order)})", xfail, None)

    def expect(self, check: Check, matrix: SimilarityMatrix, *, name: str | None = None,
               xfail: Mapping[str, str] | None = None, confidence: float | None = None) -> Check:
        """Record ``check`` - any :class:`~embedsim.expect.Check` over ``matrix``, e.g. one
        computed by the test itself - as a soft expectation of this experiment, under
        ``name`` (default: its description; a default name already taken on the matrix gets
        `` #2``, `` #3``, ...; a given one is refused). ``xfail`` maps model ids to the reason
        the check is expected to fail with that model (strict: a pass fails the test); a
        variant ``id@dimension`` is named by itself or by its base id, as in the
        ``embedsim_xfail`` marker (:func:`embedsim.backends.naming`).

        ``confidence`` (e.g. 0.95): the check's bootstrap interval must clear its threshold,
        else it is *inconclusive* - the test fails with "INCONCLUSIVE - not enough evidence";
        ``0``: the point estimate decides. Default: the check's own requirement, else the
        run-wide ``--embedsim-confidence``. With an ``xfail`` for this model an inconclusive
        check counts as xfailed (it was not shown to hold)."""
        return self._expect(check, matrix, name, check.description, xfail, confidence)

    def _expect(self, check: Check, matrix: SimilarityMatrix, name: str | None, default: str,
                xfail: Mapping[str, str] | None, confidence: float | None) -> Check:
        """:meth:`expect` with the ``default`` name of an ``expect_*`` method."""
        record, _rows, _cols = self._record(matrix)
        taken = {c.name for c in self.checks if c.matrix == record.name}
        if name is not None and name in taken:
            raise InputError(f"the experiment already has an expectation named {name!r} on {record.name!r}; "
                             "pass another name= (the report tells expectations apart by name)")
        for model in xfail or {}:
            check_model_id(model)
        if confidence is not None:
            check = check.with_confidence(confidence)
        elif not check.confidence_required and self.confidence:
            check = check.with_confidence(self.confidence)
        key = naming(self.model_id, xfail or {})
        reason = None if key is None else (xfail or {})[key]
        if reason is None:
            outcome = check.outcome
        else:
            outcome = "xpassed" if check.outcome == "passed" else "xfailed"
        self.checks.append(CheckRecord.of(check, name=name or _first_free(default, taken), matrix=record.name,
                                          outcome=outcome,
                                          reason=reason or "", where=_caller()))
        return check

    @property
    def failures(self) -> list[CheckRecord]:
        """Expectations that failed, were inconclusive, or passed although declared xfail for this model."""
        return [c for c in self.checks if c.outcome in ("failed", "xpassed", "inconclusive")]

    def _failure_text(self) -> str:
        """Every broken expectation, then every snapshot mismatch (empty when there is none)."""
        return "\n\n".join([*(r.failure_text() for r in self.failures), *self.snapshot_mismatches])

    def _finish(self) -> None:
        """Called by the plugin when the test function returns: raise :class:`SnapshotMismatch`
        when a snapshot differs (listing the broken expectations too), :class:`ExpectationsFailed`
        for failed expectations, or xfail the test when only declared-xfail expectations failed."""
        __tracebackhide__ = True
        if self.snapshot_mismatches:
            raise SnapshotMismatch(self._failure_text()).with_traceback(None)
        if self.failures:
            only_inconclusive = all(c.outcome == "inconclusive" for c in self.failures)
            error = ExpectationsInconclusive if only_inconclusive else ExpectationsFailed
            raise error(self.failures).with_traceback(None)
        expected = [c for c in self.checks if c.outcome == "xfailed"]
        if expected:
            import pytest

            pytest.xfail("; ".join(f"{self.model_id}: {c.reason} [{c.name}]" for c in expected))

    # -- snapshots ------------------------------------------------------------------------------
    def snapshot(self, matrix: SimilarityMatrix, *, heatmap: bool = True) -> None:
        """Compare ``matrix`` with its syrupy snapshots: the table (``.matrix.tsv``, absolute
        tolerance) and, with ``heatmap=True``, its heatmap (``.heatmap.png``, RMS tolerance).
        Named matrices give named snapshots. ``--snapshot-update`` writes them. Soft, like
        the expectations: a mismatch is recorded and the test fails at its end, listing
        every broken expectation and every mismatch."""
        __tracebackhide__ = True
        if self._snapshots is None:
            raise InputError("snapshots need syrupy: use the experiment fixture of the embedsim plugin")
        record, _rows, _cols = self._record(matrix)
        self.snapshot_mismatches += self._snapshots.compare(matrix, record.name, heatmap=heatmap)
        weights = self.weights()
        if weights is not None and not self._weights_compared:  # once per test, beside its matrices
            self._weights_compared = True
            self.snapshot_mismatches += self._snapshots.compare_weights(
                {key: weights[key] for key in ("model", "revision") if key in weights})

    def weights(self) -> dict[str, Any] | None:
        """The ``provenance`` of a model run from weights on this machine (revision, source,
        library, device), ``None`` for other models or weights that cannot be found."""
        try:
            found = getattr(self.embedder, "provenance", None)
        except EmbedsimError:
            return None
        return dict(found) if isinstance(found, Mapping) else None


class SnapshotMismatch(AssertionError):
    """A matrix or heatmap differs from its snapshot beyond the tolerance (the message also
    lists the test's broken expectations). Not an :class:`ExpectationFailed`, so an
    ``embedsim_xfail`` never hides it."""


def _spec(groups: Groups) -> str:
    return groups if isinstance(groups, str) else "groups"


def _by(by: Groups | None, col_by: Groups | None, groups: Groups | None, col_groups: Groups | None,
        what: str) -> tuple[Groups, Groups | None]:
    """``by`` / ``col_by``, or the deprecated positional ``groups`` / ``col_groups`` (with a warning)."""
    if groups is not None or col_groups is not None:
        if by is not None or col_by is not None:
            raise InputError(f"{what}: give the groups as by= (and col_by=), not also positionally")
        warnings.warn(f"{what}(matrix, groups) is deprecated: write {what}(matrix, by=...) "
                      "(and col_by= for the columns)", DeprecationWarning, stacklevel=3)
        by, col_by = groups, col_groups
    if by is None:
        raise InputError(f"{what} needs by=: a label key of the items (\"person\") or one group per row")
    return by, col_by


def _first_free(name: str, taken: set[str]) -> str:
    """``name``, else the first of ``name #2``, ``name #3``, ... not in ``taken``."""
    return next(n for n in itertools.chain([name], (f"{name} #{i}" for i in itertools.count(2))) if n not in taken)


def _caller() -> str:
    """``file:line`` of the test code that called the experiment."""
    frame = sys._getframe(1)
    here = os.path.abspath(__file__)
    while frame is not None and os.path.abspath(frame.f_code.co_filename) == here:
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return ""
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


#: A terminal colour/style escape sequence (SGR), as syrupy writes them.
_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


class MatrixSnapshots:
    """One test's matrix-table and heatmap snapshot assertions (made on first use from
    ``factory``, syrupy's ``snapshot.use_extension``)."""

    def __init__(self, factory: Callable[[type], Any], matrix_tolerance: float | None = None,
                 image_tolerance: float | None = None, colour: bool = True) -> None:
        self._factory = factory
        self._matrix_tolerance, self._image_tolerance = matrix_tolerance, image_tolerance
        self._colour = colour  # False: diffs without terminal escape sequences
        self._assertions: tuple[Any, Any] | None = None

    def compare(self, matrix: SimilarityMatrix, name: str, *, heatmap: bool = True) -> list[str]:
        """The mismatches of ``matrix`` (recorded as ``name``) with its table and, with
        ``heatmap=True``, its heatmap snapshot: one text each, empty when both match."""
        __tracebackhide__ = True
        from embedsim.snapshot.extensions import heatmap_extension, matrix_extension

        if self._assertions is None:
            self._assertions = (
                self._factory(matrix_extension() if self._matrix_tolerance is None
                              else matrix_extension(self._matrix_tolerance)),
                self._factory(heatmap_extension() if self._image_tolerance is None
                              else heatmap_extension(self._image_tolerance)))
        index = None if name == "matrix" else name
        mismatches = []
        for assertion, kind, wanted in zip(self._assertions, ("matrix table", "heatmap"), (True, heatmap)):
            if not wanted:
                continue
            target = assertion(name=index) if index else assertion
            if not target == matrix:  # noqa: SIM201 - syrupy's assertion is its ==; syrupy resets the name afterwards: name the matrix ourselves
                mismatches.append("\n".join([f"{kind} of {name!r} does not match its snapshot "
                                             "(update with --snapshot-update):", *self._diff(assertion)]))
        return mismatches

    def compare_weights(self, weights: dict[str, Any]) -> list[str]:
        """The mismatch of a local model's weights (model id, revision) with their snapshot."""
        __tracebackhide__ = True
        from embedsim.snapshot.extensions import WeightsSnapshotExtension

        assertion = self._factory(WeightsSnapshotExtension)
        if assertion == weights:
            return []
        return ["\n".join([f"the weights of {weights.get('model')} are not those of its snapshots (revision "
                           f"{weights.get('revision')}): a changed checkpoint is a new version - review the "
                           "matrices and update with --snapshot-update:", *self._diff(assertion)])]

    def _diff(self, assertion: Any) -> list[str]:
        """syrupy's diff lines, without escape sequences unless colours are on."""
        lines = assertion.get_assert_diff()
        return lines if self._colour else [_ESCAPE.sub("", line) for line in lines]
