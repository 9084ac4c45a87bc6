"""Expectations over similarity matrices: statistics, thresholds and failure messages."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from embedsim.errors import InputError
from embedsim.expect import (
    AucError,
    ExpectationFailed,
    GroupSeparationError,
    Inconclusive,
    OrderError,
    Top1Error,
    check_auc,
    check_class,
    check_groups,
    check_order,
    check_top1,
)
from embedsim.inputs.items import text_item
from embedsim.matrix import SimilarityMatrix
from embedsim.plugin.experiments import Experiment

ENGLISH_WORDS = (("Angry", "angry"), ("Sad", "sad"), ("Happy", "happy"))
JAPANESE_WORDS = (("怒", "angry"), ("哀", "sad"), ("楽", "happy"))

LABELS = ("a1", "a2", "b1", "b2")
GROUPS = ["a", "a", "b", "b"]


def all_pairs(values: list[list[float]]) -> SimilarityMatrix:
    return SimilarityMatrix(np.asarray(values), LABELS, LABELS, all_pairs=True)


GOOD = all_pairs([[1, 0.9, 0.2, 0.1], [0.9, 1, 0.3, 0.2], [0.2, 0.3, 1, 0.8], [0.1, 0.2, 0.8, 1]])
# b1 looks more like a1 than like b2
BAD = all_pairs([[1, 0.5, 0.7, 0.1], [0.5, 1, 0.3, 0.2], [0.7, 0.3, 1, 0.4], [0.1, 0.2, 0.4, 1]])
WORDS = SimilarityMatrix(np.asarray([[0.30, 0.20, 0.10], [0.10, 0.25, 0.20], [0.30, 0.10, 0.05]]),
                         ("happy.jpg", "sad.jpg", "angry.jpg"), ("Happy", "Sad", "Angry"))


def test_every_failure_is_an_assertion_error() -> None:
    for cls in (GroupSeparationError, Top1Error, OrderError, AucError):
        assert issubclass(cls, ExpectationFailed) and issubclass(cls, AssertionError)


def test_groups_pass_with_statistic_and_pairs() -> None:
    check = check_groups(GOOD, GROUPS, margin=0.5).raise_if_failed()
    assert check.passed and check.statistic == pytest.approx(0.85 - 0.2)
    assert check.n == 6  # unordered pairs without the diagonal


def test_groups_failure_lists_offending_pairs_with_values() -> None:
    with pytest.raises(GroupSeparationError) as info:
        check_groups(BAD, GROUPS, margin=0.2).raise_if_failed()
    message = str(info.value)
    assert "mean margin 0.1250, threshold 0.2000, 6 pairs" in message
    assert "'a1' x 'b1' = 0.7000  different groups, above the same-group mean" in message
    assert info.value.check.statistic == pytest.approx((0.5 + 0.4) / 2 - (0.7 + 0.1 + 0.3 + 0.2) / 4)


def test_groups_per_row_names_the_row_and_the_gap() -> None:
    assert check_groups(GOOD, GROUPS, per_row=True, margin=0.4).passed
    with pytest.raises(GroupSeparationError) as info:
        check_groups(BAD, GROUPS, per_row=True).raise_if_failed()
    message = str(info.value)
    assert "'a1' x 'b1' = 0.7000" in message and "(gap -0.2000)" in message
    assert "'b1' x 'a1' = 0.7000" in message


def test_groups_need_both_kinds_of_pairs() -> None:
    for check in (check_groups, lambda m, g: check_auc(m, g, at_least=0.5)):
        with pytest.raises(InputError, match="one same-group and one different-group pair; got 6 and 0"):
            check(GOOD, ["a"] * 4)


def test_top1_share_and_misses() -> None:
    assert check_top1(WORDS, ["Happy", "Sad", "Angry"], at_least=0.6).raise_if_failed().statistic == pytest.approx(2 / 3)
    with pytest.raises(Top1Error) as info:
        check_top1(WORDS, {"happy.jpg": "Happy", "sad.jpg": "Sad", "angry.jpg": "Angry"}, at_least=1.0).raise_if_failed()
    message = str(info.value)
    assert "(2/3)" in message and "top-1 share 0.6667, threshold 1.0000, 3 rows" in message
    assert "'angry.jpg' x 'Happy' = 0.3000  top-1 instead of 'Angry' = 0.0500 (short by 0.2500)" in message


def test_top1_accepts_sets_and_skips_none() -> None:
    assert check_top1(WORDS, [{"Happy", "Sad"}, "Sad", None], at_least=1.0).raise_if_failed().statistic == 1.0
    with pytest.raises(InputError, match="not columns"):
        check_top1(WORDS, ["Joy", "Sad", "Angry"], at_least=1.0).raise_if_failed()


def test_top1_excludes_self_on_all_pairs() -> None:
    assert check_top1(GOOD, ["a2", "a1", "b2", "b1"], at_least=1.0).raise_if_failed().passed


def test_order_reports_the_broken_step() -> None:
    assert check_order(WORDS, "happy.jpg", ["Happy", "Sad", "Angry"], margin=0.05).raise_if_failed().passed
    with pytest.raises(OrderError) as info:
        check_order(WORDS, "sad.jpg", ["Sad", "Happy", "Angry"]).raise_if_failed()
    assert "'sad.jpg' x 'Angry' = 0.2000  not below 'Happy' = 0.1000" in str(info.value)
    with pytest.raises(InputError, match="no row"):
        check_order(WORDS, "joy.jpg", ["Sad", "Happy"]).raise_if_failed()


def test_auc_threshold() -> None:
    assert check_auc(GOOD, GROUPS, at_least=1.0).raise_if_failed().statistic == 1.0
    with pytest.raises(AucError) as info:
        check_auc(BAD, GROUPS, at_least=0.9).raise_if_failed()
    assert "AUC 0.7500, threshold 0.9000, 6 pairs" in str(info.value)


# --- chance levels, constant answers, intervals ---------------------------------------------------

SPEC = Path(__file__).resolve().parent / "spec"


class OneWordEmbedder:
    """A model that answers the same word for every image: each word gets its own axis, every
    image points mostly along ``words`` (one per language) and a little, by its digest, along
    the others - so each image's most similar word is always one of ``words``."""

    model_id = "one-word"
    dimension = 8

    def __init__(self, words: tuple[str, ...]) -> None:
        self.words = words
        self.axes = {w: k for k, w in enumerate(w for pair in (ENGLISH_WORDS, JAPANESE_WORDS) for w, _e in pair)}

    def embed(self, items) -> np.ndarray:
        out = np.zeros((len(items), self.dimension), dtype=np.float32)
        for row, item in enumerate(items):
            if item.kind == "text":
                out[row, self.axes[item.text]] = 1.0
                continue
            noise = np.frombuffer(bytes.fromhex(item.digest[:16]), dtype=np.uint8) / 255.0
            out[row, :6] = 0.3 * noise[:6]
            out[row, 6:] = 0.3 * noise[6:8]
            for word in self.words:
                out[row, self.axes[word]] = 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def load_spec_module(name: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(SPEC))
    spec = importlib.util.spec_from_file_location(f"spec_{name}", SPEC / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SPEC_EMOTION_TESTS = ["test_five_people_japanese", "test_five_people_english", "test_one_person_japanese",
                      "test_one_person_english", "test_emoji_japanese", "test_emoji_english"]


@pytest.mark.parametrize("words", [("Happy", "楽"), ("Sad", "哀"), ("Angry", "怒")])
def test_a_model_giving_every_image_one_word_fails_every_expression_expectation(
        faces, monkeypatch: pytest.MonkeyPatch, words: tuple[str, str]) -> None:
    emotions = load_spec_module("test_emotions", monkeypatch)
    embedder = OneWordEmbedder(words)
    checks = []
    for name in SPEC_EMOTION_TESTS:
        experiment = Experiment(embedder, name)
        monkeypatch.setattr(experiment, "snapshot", lambda matrix, **_: None)  # no snapshots for this model
        getattr(emotions, name)(experiment, faces)
        for record in experiment.matrices:  # the model does answer one word for every image
            assert {record.col_labels[j] for j in np.argmax(np.asarray(record.values), axis=1)} <= set(words)
        checks += experiment.checks
    assert len(checks) == 2 * len(SPEC_EMOTION_TESTS) + 1  # two per test, and the AUC of test_one_person_english
    assert [c.name for c in checks if c.outcome != "failed"] == []
    for c in checks:  # each threshold is above what a constant answer reaches
        assert c.constant_answer is not None and c.threshold > c.constant_answer, c.name


def test_a_top1_share_lets_a_constant_answer_pass_and_says_so(faces, monkeypatch: pytest.MonkeyPatch) -> None:
    experiments = load_spec_module("experiments", monkeypatch)
    rows, cols = experiments.five_people_words(faces, "english")
    from embedsim.matrix import similarity

    m = similarity(OneWordEmbedder(("Happy", "楽")), rows, cols)
    expected = [r.labels["expression"].capitalize() if r.labels["expression"] != "neutral" else None for r in rows]
    share = check_top1(m, expected, at_least=0.75)
    assert share.passed and share.statistic == 0.75 and share.constant_answer == 0.75 and share.chance == pytest.approx(1 / 3)
    assert "chance 0.3333; constant answer 0.7500" in share.message.splitlines()[1]
    balanced = check_top1(m, expected, at_least=0.75, measure="balanced")
    assert not balanced.passed and balanced.statistic == 0.5 and balanced.constant_answer == 0.5
    assert "Happy 3/3, Sad 0/1" in balanced.description
    happy = check_class(m, expected, "Happy", at_least=0.75)
    assert happy.statistic == 0.5 and not happy.passed
    assert "recall 3/3, precision 3/4, specificity 0/1" in happy.description


# Two groups of four items; same-group pairs mostly, not always, above different-group pairs.
EIGHT = np.array([[1.0, .80, .70, .65, .30, .40, .20, .62],
                  [.80, 1.0, .75, .60, .35, .25, .30, .20],
                  [.70, .75, 1.0, .55, .50, .30, .10, .30],
                  [.65, .60, .55, 1.0, .20, .45, .30, .35],
                  [.30, .35, .50, .20, 1.0, .70, .60, .55],
                  [.40, .25, .30, .45, .70, 1.0, .65, .50],
                  [.20, .30, .10, .30, .60, .65, 1.0, .72],
                  [.62, .20, .30, .35, .55, .50, .72, 1.0]])
EIGHT_LABELS = tuple(f"{g}{k}" for g in "ab" for k in range(4))
EIGHT_GROUPS = [label[0] for label in EIGHT_LABELS]


def eight() -> SimilarityMatrix:
    return SimilarityMatrix(EIGHT, EIGHT_LABELS, EIGHT_LABELS, all_pairs=True)


def test_every_check_reports_interval_items_chance_and_constant_levels() -> None:
    m = eight()
    margin, auc = check_groups(m, EIGHT_GROUPS, margin=0.1), check_auc(m, EIGHT_GROUPS, at_least=0.8)
    for check in (margin, auc):
        assert check.n_items == 8 and check.confidence == 0.95 and not check.confidence_required
        assert check.ci_low < check.statistic < check.ci_high and 0 < check.p_value < 0.05
    assert (margin.chance, margin.constant_answer, auc.chance, auc.constant_answer) == (0.0, 0.0, 0.5, 0.5)
    assert "95% CI [" in margin.message and "over 8 items" in margin.message and "permutation p" in margin.message
    top = check_top1(WORDS, ["Happy", "Sad", "Angry"], at_least=0.6)
    assert (top.n_items, top.chance, top.constant_answer) == (3, pytest.approx(1 / 3), pytest.approx(1 / 3))


def test_intervals_are_seeded_and_resample_items() -> None:
    from embedsim import stats
    from embedsim.matrix import group_mask

    m = eight()
    first, second = check_auc(m, EIGHT_GROUPS, at_least=0.8), check_auc(m, EIGHT_GROUPS, at_least=0.8)
    assert (first.ci_low, first.ci_high, first.p_value) == (second.ci_low, second.ci_high, second.p_value)
    pairs = stats.Pairs.from_masks(EIGHT, *group_mask(m, EIGHT_GROUPS), all_pairs=True)
    other = stats.interval(stats.bootstrap(stats.auc(pairs), 8, seed=1))
    assert (other.low, other.high) != (first.ci_low, first.ci_high)
    # each resample draws 8 items; a pair weighs the product of its items' counts, copies of one item pair with nothing
    weights = stats.item_weights(8, 5)
    assert (weights.sum(axis=1) == 8).all()
    samples = stats.auc(pairs)(weights)
    for w, sample in zip(weights, samples):
        within, between = [], []
        for i in range(8):
            for j in range(i + 1, 8):
                (within if EIGHT_GROUPS[i] == EIGHT_GROUPS[j] else between).append((EIGHT[i, j], w[i] * w[j]))
        wins = sum(pw * qw * (1.0 if p > q else 0.5 if p == q else 0.0) for p, pw in within for q, qw in between)
        total = sum(pw for _, pw in within) * sum(qw for _, qw in between)
        assert sample == pytest.approx(wins / total) if total else np.isnan(sample)


def test_permutation_p_value_shuffles_item_labels() -> None:
    from embedsim import stats
    from embedsim.matrix import group_mask
    from embedsim.stats import roc_auc

    m = eight()
    pairs = stats.Pairs.from_masks(EIGHT, *group_mask(m, EIGHT_GROUPS), all_pairs=True)
    p_margin, p_auc = (stats.permutation_p_value(pairs, s, resamples=300) for s in ("margin", "auc"))
    observed = roc_auc(*(EIGHT[mask] for mask in group_mask(m, EIGHT_GROUPS)))
    perms = np.random.default_rng(stats.DEFAULT_SEED).permuted(np.tile(np.arange(8), (300, 1)), axis=1)
    at_least = 0
    for perm in perms:
        shuffled = [EIGHT_GROUPS[k] for k in np.argsort(perm)]
        at_least += roc_auc(*(EIGHT[mask] for mask in group_mask(m, shuffled))) >= observed
    assert p_auc == (1 + at_least) / 301 and p_auc < 0.05 and p_margin < 0.05


def test_a_pass_without_enough_evidence_is_inconclusive_not_failed() -> None:
    m = eight()
    loose = check_auc(m, EIGHT_GROUPS, at_least=0.9)
    assert loose.passed and loose.outcome == "passed"  # the point estimate decides without confidence=
    confident = check_auc(m, EIGHT_GROUPS, at_least=0.9, confidence=0.95)
    assert confident.passed and confident.outcome == "inconclusive" and confident.ci_low < 0.9
    with pytest.raises(Inconclusive) as info:
        check_auc(m, EIGHT_GROUPS, at_least=0.9, confidence=0.95).raise_if_failed()
    message = str(info.value)
    assert "INCONCLUSIVE (AUC 0.9714, threshold 0.9000, 28 pairs)" in message
    assert "not enough evidence" in message and "with 8 items" in message
    assert not isinstance(info.value, AucError)
    assert check_auc(m, EIGHT_GROUPS, at_least=0.5, confidence=0.95).outcome == "passed"
    assert check_auc(m, EIGHT_GROUPS, at_least=0.99, confidence=0.95).outcome == "failed"
    assert confident.with_confidence(None).outcome == "passed"


def test_experiment_reports_inconclusive_apart_from_failures() -> None:
    from embedsim.backends.pixels import PixelEmbedder
    from embedsim.plugin.experiments import ExpectationsFailed, ExpectationsInconclusive

    exp = Experiment(PixelEmbedder(), "t", confidence=0.95)
    m = exp.add_matrix(eight())
    exp.expect_auc(m, by=EIGHT_GROUPS, at_least=0.9, name="auc")
    exp.expect_auc(m, by=EIGHT_GROUPS, at_least=0.9, name="point only", confidence=0)
    exp.expect_auc(m, by=EIGHT_GROUPS, at_least=0.9, name="declared", xfail={"pixels": "expected"})
    assert [c.outcome for c in exp.checks] == ["inconclusive", "passed", "xfailed"]
    record = exp.checks[0]
    assert record.ci_low is not None and record.ci_low < 0.9 <= record.statistic and record.confidence == 0.95
    assert record.confidence_required and record.n_items == 8 and record.chance == 0.5
    assert record.constant_answer == 0.5 and record.p_value is not None and 0 < record.p_value < 0.05
    with pytest.raises(ExpectationsInconclusive, match=r"\[auc\] at .*INCONCLUSIVE - not enough evidence \(n = 8"):
        exp._finish()
    exp.expect_auc(m, by=EIGHT_GROUPS, at_least=0.99, name="too high")
    with pytest.raises(ExpectationsFailed) as info:
        exp._finish()
    assert type(info.value) is ExpectationsFailed and "too high" in str(info.value)


def test_run_wide_confidence_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_conf="""
import numpy as np
from embedsim.inputs.items import text_item
from embedsim.matrix import SimilarityMatrix

def test_auc(experiment):
    values = np.array(%r)
    labels = tuple("abcdefgh")
    m = experiment.add_matrix(SimilarityMatrix(values, labels, labels, all_pairs=True))
    experiment.expect_auc(m, by=list("aaaabbbb"), at_least=0.9, name="separated")
""" % EIGHT.tolist())
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)
    result = pytester.runpytest("-p", "no:randomly", "--embedsim-confidence", "0.95")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*[[]separated[]] at test_conf.py:*: INCONCLUSIVE - not enough evidence (n = 8 items)*"])
    pytester.makepyprojecttoml("[tool.embedsim]\nconfidence = 0.99\n")
    pytester.runpytest("-p", "no:randomly").assert_outcomes(failed=1)
    pytester.makeini("[pytest]\nembedsim_confidence = 0\n")  # the ini key wins over [tool.embedsim]
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)
    assert "confidence must be below 1" in "\n".join(
        pytester.runpytest("--embedsim-confidence", "95").stderr.lines)


def test_top1_p_values_shuffle_the_labels_so_a_constant_answer_gets_1_and_four_faces_decide_little() -> None:
    four = SimilarityMatrix(np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.1], [0.1, 0.6]]),
                            ("h1", "h2", "h3", "s1"), ("Happy", "Sad"))
    labels = ["Happy", "Happy", "Happy", "Sad"]
    perfect = check_top1(four, labels, measure="balanced", at_least=0.8)
    assert perfect.statistic == 1.0 and perfect.ci_low == perfect.ci_high == 1.0  # the bootstrap sees no miss
    # ... but only 4 labelings of 3 happy + 1 sad exist: 1 in 4 shuffles is just as perfect
    assert perfect.p_value == pytest.approx(0.25, abs=0.03)
    constant = SimilarityMatrix(np.array([[0.9, 0.1]] * 4), ("h1", "h2", "h3", "s1"), ("Happy", "Sad"))
    for check in (check_top1(constant, labels, at_least=0.75), check_top1(constant, labels, measure="balanced", at_least=1.0),
                  check_class(constant, labels, "Happy", at_least=0.6)):
        assert check.p_value == 1.0  # every shuffle scores the same
    assert check_class(four, labels, "Happy", at_least=0.6).p_value == pytest.approx(0.25, abs=0.03)


# --- self-pairs never count ------------------------------------------------------------------------

def test_the_same_items_as_rows_and_columns_are_all_pairs(faces) -> None:
    """``similarity(faces, faces)`` let every row find itself (top-1 8/8, margin 0.39)."""
    from embedsim.backends.pixels import PixelEmbedder

    photos = list(faces.select(medium="photo"))
    results = []
    for cols in (None, photos, list(photos)):
        experiment = Experiment(PixelEmbedder(), "t")
        m = experiment.similarity(photos, cols)
        results.append((experiment.expect_top1(m, by="person", at_least=0.9).statistic,
                        experiment.expect_groups(m, by="person", margin=0.1).statistic,
                        experiment.stats(m, "person"), m.all_pairs))
    assert results[0] == results[1] == results[2]
    assert results[0][0] == pytest.approx(1 / 6) and results[0][1] == pytest.approx(0.0568, abs=1e-4)
    assert results[0][3] and m.excluded.sum() == len(photos)


def test_an_item_on_both_sides_of_a_matrix_never_pairs_with_itself(faces) -> None:
    """Rows x cols sharing some items: each shared item's cell with itself is left out of every
    expectation and statistic - as if that cell were not in the matrix."""
    from embedsim.backends.pixels import PixelEmbedder
    from embedsim.expect.groups import group_stats

    photos = list(faces.select(medium="photo"))
    rows, cols = photos[:6], photos[3:]  # photos 3, 4, 5 on both sides
    experiment = Experiment(PixelEmbedder(), "t")
    m = experiment.similarity(rows, cols)
    assert not m.all_pairs and m.self_pairs == ((3, 0), (4, 1), (5, 2))
    assert all(m.values[i, j] == pytest.approx(1.0) for i, j in m.self_pairs)
    persons = [p.labels["person"] for p in rows], [p.labels["person"] for p in cols]

    # the same matrix with the self-pairs made worthless: nothing may change
    poisoned = SimilarityMatrix(np.where(m.excluded, -1.0, m.values), m.row_labels, m.col_labels,
                                self_pairs=m.self_pairs)
    for matrix in (m, poisoned):
        assert matrix.top1() == SimilarityMatrix(np.where(m.excluded, -np.inf, m.values), m.row_labels,
                                                 m.col_labels).top1()
    expected = [{c.id for c in cols if c.labels["person"] == r.labels["person"] and c != r} or None for r in rows]
    for check in (lambda x: check_top1(x, expected, at_least=0.5),
                  lambda x: check_groups(x, *persons, margin=0.1),
                  lambda x: check_groups(x, *persons, per_row=True),
                  lambda x: check_auc(x, *persons, at_least=0.8)):
        a, b = check(m), check(poisoned)
        np.testing.assert_equal((a.statistic, a.ci_low, a.ci_high, a.p_value, a.chance),
                                (b.statistic, b.ci_low, b.ci_high, b.p_value, b.chance))
        assert a.n == check(SimilarityMatrix(m.values, m.row_labels, m.col_labels)).n - (
            len(m.self_pairs) if a.unit == "pairs" else 0)
        assert a.p_value is None or 0 < a.p_value <= 1
    a, b = group_stats(m, *persons), group_stats(poisoned, *persons)
    assert a == b and a.n_within + a.n_between == m.values.size - 3 and np.isfinite(a.p_value_margin)
    top1 = experiment.expect_top1(m, by="person", at_least=0.5)
    assert top1.n == sum(e is not None for e in expected)
    with pytest.raises(InputError, match="is the row's own item"):
        check_order(m, rows[3].id, [cols[1].id, cols[0].id]).raise_if_failed()


def test_a_permutation_test_with_cells_left_out_shuffles_the_items_as_the_complete_one() -> None:
    from embedsim import stats
    from embedsim.matrix import group_mask
    from embedsim.stats.permutation import _incomplete_p_value

    m = eight()
    for matrix in (m, SimilarityMatrix(EIGHT[:, :5], EIGHT_LABELS, EIGHT_LABELS[:5])):
        cols = EIGHT_GROUPS[:matrix.shape[1]]
        pairs = stats.Pairs.from_masks(matrix.values, *group_mask(matrix, EIGHT_GROUPS, cols), matrix.all_pairs)
        for statistic in ("margin", "auc"):
            assert _incomplete_p_value(pairs, statistic, 500, 7) == stats.permutation_p_value(
                pairs, statistic, 500, 7)


# --- ties are not evidence ------------------------------------------------------------------------

class ConstantEmbedder:
    """A model that cannot tell anything apart: one vector for every item."""

    model_id = "constant"
    dimension = 8

    def embed(self, items) -> np.ndarray:
        return np.full((len(items), self.dimension), 0.25, dtype=np.float32)


def test_a_tie_does_not_hold_a_margin_a_gap_or_an_order() -> None:
    """A constant embedder "held" check_groups(margin=0).raise_if_failed() (mean margin 0.0000,
    threshold 0.0000), even with confidence=0.95, and expect_order with a smallest gap of 0."""
    items = [text_item(t, labels={"g": g}) for t, g in (("a1", "a"), ("a2", "a"), ("b1", "b"), ("b2", "b"),
                                                        ("b3", "b"))]
    experiment = Experiment(ConstantEmbedder(), "t")
    m = experiment.similarity(items)
    words = experiment.similarity(items[:2], [text_item(w) for w in ("Happy", "Sad", "Angry")])
    checks = [experiment.expect_groups(m, by="g"), experiment.expect_groups(m, by="g", confidence=0.95),
              experiment.expect_groups(m, by="g", per_row=True), experiment.expect_order(words, "a1", ["Happy", "Sad", "Angry"]),
              experiment.expect_top1(m, by="g", at_least=0.1), experiment.expect_top1(words, ["Happy", "Sad"], at_least=0.5)]
    assert [c.outcome for c in experiment.checks] == ["failed"] * len(checks)
    assert all(abs(c.statistic - c.threshold) < 1e-9 or c.unit == "rows" for c in checks)
    assert "a tie is not evidence" in checks[0].message and "(tied: a tie is no answer)" in checks[-1].message
    with pytest.raises(GroupSeparationError):
        check_groups(m, ["a", "a", "b", "b", "b"], margin=0).raise_if_failed()
    with pytest.raises(OrderError):
        check_order(words, "a1", ["Happy", "Sad", "Angry"]).raise_if_failed()
    assert check_groups(GOOD, GROUPS).passed and check_groups(GOOD, GROUPS, margin=0.65 - 1e-6).passed  # not a tie


@pytest.mark.parametrize("images", ["five_people", "face16", "emoji16"])
def test_english_beats_japanese_fails_for_a_model_that_cannot_tell_anything_apart(
        faces, monkeypatch: pytest.MonkeyPatch, images: str) -> None:
    """The spec's English-vs-Japanese expectation passed for a constant answer
    (English and Japanese tie, "at least as good"); "better" is now a claim a tie does not meet."""
    emotions = load_spec_module("test_emotions", monkeypatch)
    experiment = Experiment(ConstantEmbedder(), "test_english_beats_japanese")
    monkeypatch.setattr(experiment, "snapshot", lambda matrix, **_: None)
    emotions.test_english_beats_japanese(experiment, faces, images)
    assert [(c.statistic, c.outcome) for c in experiment.checks] == [(0.0, "failed"), (0.0, "failed")]


# --- too few items: inconclusive, and the same words in the terminal and the report --------------

def test_too_few_items_to_say_anything_are_inconclusive_not_passed() -> None:
    """One row passed expect_top1 at confidence=0.95 with "[1.0000, 1.0000] over 1
    items"; 2 + 2 items passed expect_auc with [1, 1] and expect_groups with permutation p 0.32."""
    one = SimilarityMatrix(np.array([[0.9, 0.1]]), ("h1",), ("Happy", "Sad"))
    top1 = check_top1(one, ["Happy"], at_least=0.8, confidence=0.95)
    assert top1.passed and top1.outcome == "inconclusive"
    assert "CI undefined over 1 items" in top1.message and "lower end" not in top1.message
    assert "interval is undefined: 1 items are too few to resample" in top1.message
    four = SimilarityMatrix(np.array([[1, .9, .1, .2], [.9, 1, .2, .1], [.1, .2, 1, .8], [.2, .1, .8, 1]]),
                            LABELS, LABELS, all_pairs=True)
    for check in (check_auc(four, GROUPS, at_least=0.9, confidence=0.95),
                  check_groups(four, GROUPS, margin=0.1, confidence=0.95)):
        assert check.passed and check.p_value > 0.05 and check.outcome == "inconclusive", check.message
        assert "shuffled labels do as well" in check.message and "lower end" not in check.message
        with pytest.raises(Inconclusive):
            check.raise_if_failed()
        assert check.with_confidence(None).outcome == "passed"  # the point estimate alone decides
    assert check_auc(eight(), EIGHT_GROUPS, at_least=0.8, confidence=0.95).outcome == "passed"  # p < 0.05


def test_an_undefined_interval_reads_the_same_in_the_terminal_and_the_report() -> None:
    from embedsim.report.entries import check_line, evidence, interval
    from embedsim.report.records import CheckRecord

    one = SimilarityMatrix(np.array([[0.9, 0.1]]), ("h1",), ("Happy", "Sad"))
    check = check_top1(one, ["Happy"], at_least=0.8, confidence=0.95)
    record = CheckRecord.of(check, name="top1", matrix="matrix", outcome=check.outcome, reason="", where="")
    assert "95% CI undefined" in check.evidence and "95% CI undefined" in evidence(record)
    assert "CI undefined" in interval(record) and "nan" not in check_line(record).lower()


def test_groups_are_given_by_in_every_expectation_and_positionally_only_with_a_deprecation_warning() -> None:
    items = [text_item(t, labels={"g": t[0]}) for t in ("a1", "a2", "b1", "b2")]
    experiment = Experiment(ConstantEmbedder(), "t")
    m = experiment.similarity(items)
    by_key = experiment.expect_auc(m, by="g", at_least=0.5, name="by")
    with pytest.warns(DeprecationWarning, match=r"expect_auc\(matrix, by=\.\.\.\)"):
        positional = experiment.expect_auc(m, "g", at_least=0.5, name="positional")
    assert positional.statistic == by_key.statistic and positional.n == by_key.n
    with pytest.raises(InputError, match="not also positionally"):
        experiment.expect_groups(m, "g", by="g")
    with pytest.raises(InputError, match="needs by="):
        experiment.expect_groups(m)
    with pytest.raises(TypeError, match="at_least"):
        experiment.expect_top1(m, by="g")  # type: ignore[call-arg]  # at_least is required in every expectation
