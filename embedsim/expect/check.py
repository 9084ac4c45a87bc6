"""One expectation's outcome: :class:`Check` (statistic, threshold, interval, chance
levels, offending pairs) and the errors an ``expect_*`` raises.

``Check.outcome`` is ``passed``, ``failed`` or ``inconclusive``: with
``confidence_required`` the threshold must be cleared by the lower end of the
statistic's bootstrap interval (:mod:`embedsim.stats`, items resampled) and, where the
check has one, its permutation p-value must be at most ``1 - confidence``; a point
estimate that passes while either does not (or the interval is undefined: too few items)
is inconclusive - not enough evidence for its n - and raises :class:`Inconclusive`, not
the check's own error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from embedsim import stats
from embedsim.errors import ExpectationFailed  # there: the plugin names it without importing numpy
from embedsim.stats import DEFAULT_CONFIDENCE

#: At most this many offending pairs are listed in a message.
MAX_LISTED = 12
#: Differences this small are ties - the float noise of equal similarities - never evidence of an order.
TIE = 1e-9


def clears(value: float, threshold: float, strict: bool) -> bool:
    """``value`` meets ``threshold``; ``strict`` (a claim of order): exceeds it by more than :data:`TIE`."""
    return bool(value - threshold > TIE if strict else value >= threshold)


class GroupSeparationError(ExpectationFailed):
    """Same-group pairs were not more similar than different-group pairs by the margin."""


class Top1Error(ExpectationFailed):
    """Too few rows had the expected column as their most similar one."""


class OrderError(ExpectationFailed):
    """A row's columns were not in the expected order of similarity."""


class AucError(ExpectationFailed):
    """The within- vs between-group ROC-AUC was below the threshold."""


class ClassError(ExpectationFailed):
    """One column was not on top for its rows only (recall and specificity too low)."""


class Inconclusive(ExpectationFailed):
    """The point estimate met the threshold, its confidence interval did not: not enough evidence."""


@dataclass(frozen=True)
class Pair:
    """One offending pair: ``value`` = similarity of ``row`` and ``col``; ``note`` says why."""

    row: str
    col: str
    value: float
    note: str = ""

    def __str__(self) -> str:
        return f"{self.row!r} x {self.col!r} = {self.value:.4f}" + (f"  {self.note}" if self.note else "")


@dataclass(frozen=True)
class Check:
    """The outcome of one expectation with everything a report needs.

    ``passed``: the point estimate ``statistic`` meets ``threshold``. ``outcome`` adds the
    interval: ``"passed"``, ``"failed"`` or, when ``confidence_required`` and the lower
    end ``ci_low`` of the ``confidence`` interval is below the threshold (or undefined) or
    the permutation p-value above ``1 - confidence``, ``"inconclusive"``
    (:attr:`not_enough_evidence` says why). ``chance``: the statistic's expected value for
    answers that ignore the items; ``constant_answer``: its value for one constant answer (the best one); ``None``
    where not defined. ``n_items``: how many items the bootstrap resamples. ``strict``: a
    claim of order (a margin, a gap, a gain) - the statistic and the interval's lower end must
    *exceed* the threshold: a tie is not evidence (:func:`clears`)."""

    kind: str
    description: str
    passed: bool
    statistic: float
    threshold: float
    n: int
    pairs: tuple[Pair, ...] = ()
    error: type[ExpectationFailed] = field(default=ExpectationFailed, repr=False, compare=False)
    #: What :attr:`n` counts: ``pairs`` of cells, or ``rows`` (top-1), or anything a custom check scores.
    unit: str = "pairs"
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float = DEFAULT_CONFIDENCE
    confidence_required: bool = False
    chance: float | None = None
    constant_answer: float | None = None
    p_value: float | None = None
    n_items: int | None = None
    #: The bootstrap distribution of the statistic (for :meth:`with_confidence`).
    samples: np.ndarray | None = field(default=None, repr=False, compare=False)
    strict: bool = False
    #: What is not exact at this size (e.g. fewer label shuffles, a linearised interval): part of the evidence.
    note: str = ""

    @property
    def outcome(self) -> str:
        """``passed``, ``failed`` or ``inconclusive`` (see the class docstring)."""
        if not self.passed:
            return "failed"
        return "inconclusive" if self.not_enough_evidence else "passed"

    @property
    def not_enough_evidence(self) -> str:
        """Why a passing estimate is not enough evidence at the required confidence (empty when
        it is, or when no confidence is required): the interval is undefined (too few items to
        resample), or its lower end does not clear the threshold, or shuffled labels do as well
        more often than ``1 - confidence`` (the permutation p-value: a handful of items whose
        every resample agrees gives a collapsed interval such as [1, 1], never a verdict)."""
        if not (self.passed and self.confidence_required and self.samples is not None):
            return ""
        level = f"{self.confidence:.0%}"
        if self.ci_low is None or not np.isfinite(self.ci_low):
            return f"its {level} interval is undefined: {self.n_items} items are too few to resample"
        if not clears(self.ci_low, self.threshold, self.strict):
            return (f"the estimate meets the threshold but the lower end of its {level} interval "
                    f"({self.ci_low:.4f}) does not, with {self.n_items} items")
        if self.p_value is not None and self.p_value > 1 - self.confidence + 1e-12:
            return (f"shuffled labels do as well in a share p = {self.p_value:.4f} of permutations, above "
                    f"{1 - self.confidence:.2g}, with {self.n_items} items - the interval "
                    f"[{self.ci_low:.4f}, {self.ci_high:.4f}] only says no resample saw otherwise")
        return ""

    def with_confidence(self, confidence: float | None) -> Check:
        """This check with its interval at ``confidence``, which the threshold must then clear;
        ``None`` or ``0``: the point estimate decides (interval at the default level)."""
        required = bool(confidence)
        level = stats.check_confidence(confidence) if confidence else DEFAULT_CONFIDENCE
        low, high = self.ci_low, self.ci_high
        if self.samples is not None:
            ci = stats.interval(self.samples, level)
            low, high = _rounded(ci.low), _rounded(ci.high)
        return replace(self, ci_low=low, ci_high=high, confidence=level, confidence_required=required)

    @property
    def evidence(self) -> str:
        """Interval, items, chance and constant-answer levels, p-value - what is known of them."""
        parts = []
        if self.ci_low is not None and self.ci_high is not None:
            ci = ("undefined" if not (np.isfinite(self.ci_low) and np.isfinite(self.ci_high))
                  else f"[{self.ci_low:.4f}, {self.ci_high:.4f}]")
            parts.append(f"{self.confidence:.0%} CI {ci} over {self.n_items} items")
        if self.chance is not None:
            parts.append(f"chance {self.chance:.4f}")
        if self.constant_answer is not None:
            parts.append(f"constant answer {self.constant_answer:.4f}")
        if self.p_value is not None:
            parts.append(f"permutation p {self.p_value:.4f}")
        if self.note:
            parts.append(self.note)
        return "; ".join(parts)

    @property
    def summary(self) -> str:
        """One line: description, verdict, statistic vs threshold and how many pairs (or rows) it covers."""
        verdict = {"passed": "holds", "failed": "FAILED", "inconclusive": "INCONCLUSIVE"}[self.outcome]
        return (f"{self.description}: {verdict} ({self.kind} {self.statistic:.4f}, "
                f"threshold {self.threshold:.4f}, {self.n} {self.unit})")

    @property
    def message(self) -> str:
        """The summary, the evidence, and the offending pairs (at most :data:`MAX_LISTED`)."""
        lines = [self.summary]
        if self.evidence:
            lines.append(f"evidence: {self.evidence}")
        if self.strict and not self.passed and abs(self.statistic - self.threshold) <= TIE:
            lines.append(f"a tie is not evidence: the {self.kind} must exceed the threshold, not equal it")
        if self.outcome == "inconclusive":
            lines.append(f"not enough evidence: {self.not_enough_evidence}")
        if self.pairs:
            lines.append("offending pairs:")
            lines += [f"  {pair}" for pair in self.pairs[:MAX_LISTED]]
            if len(self.pairs) > MAX_LISTED:
                lines.append(f"  ... and {len(self.pairs) - MAX_LISTED} more")
        return "\n".join(lines)

    def raise_if_failed(self) -> Check:
        """Raise :attr:`error` when the check failed, :class:`Inconclusive` when it is
        inconclusive; return ``self`` otherwise."""
        if self.outcome == "failed":
            raise self.error(self)
        if self.outcome == "inconclusive":
            raise Inconclusive(self)
        return self


def _rounded(value: float) -> float:
    """Interval ends rounded to 10 decimals: the same on machines whose float sums differ in the last bit."""
    return round(value, 10) if np.isfinite(value) else value


def check_statistic(kind: str, description: str, statistic: stats.Statistic, n_items: int, *,
                    at_least: float, n: int | None = None, pairs: Sequence[Pair] = (),
                    error: type[ExpectationFailed] = ExpectationFailed, unit: str = "items",
                    chance: float | None = None, constant_answer: float | None = None, p_value: float | None = None,
                    confidence: float | None = None, value: float | None = None, strict: bool = False,
                    note: str = "") -> Check:
    """A check of any statistic of ``n_items`` items written as a function of item weights
    (see :mod:`embedsim.stats`): point estimate, bootstrap interval and outcome.

    ``statistic(weights)`` maps a ``(B, n_items)`` array of item counts to ``B`` values;
    ``confidence`` (e.g. 0.95) asks that the interval clear ``at_least``; ``value``, when
    given, is the point estimate as computed elsewhere (it must equal ``statistic`` with
    every item once, up to rounding); ``strict``: a claim of order, which a tie does not meet
    (:attr:`Check.strict`)."""
    value = stats.point(statistic, n_items) if value is None else float(value)
    samples = stats.bootstrap(statistic, n_items)
    check = Check(kind, description, clears(value, at_least, strict), value, at_least, n_items if n is None else n,
                  tuple(pairs), error, unit, chance=chance, constant_answer=constant_answer, p_value=p_value, n_items=n_items,
                  samples=samples, strict=strict, note=note)
    return check.with_confidence(confidence)
