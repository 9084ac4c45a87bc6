"""Experiments 1, 2, 4 and 5 of the seed article: face images x emotion words.

Each test embeds images and three emotion words (Japanese 怒 哀 楽 or English Angry Sad
Happy) with the current model and checks the article's findings on the image x word
cosine-similarity matrix:

* **top-1 by expression** - share of the images with an expression among the three
  words (happy / sad / angry; neutral, surprise, ... are left out) whose most similar
  word is the word of their expression. Per row, so an image that is close to every
  word does not distort it. Chance is 1/3.
* **happy faces closest to Happy** - the same share over the happy images only.
* statistics by expression (recorded, not asserted): mean similarity of matching vs
  non-matching (image, word) pairs, their margin and ROC-AUC.
* **English beats Japanese** - one test embeds both word sets; see
  :func:`test_english_beats_japanese`.

THRESHOLDS FOR gemini-embedding-2-preview ARE HYPOTHESES. The article gives no
numbers, only words ("Japanese matched poorly", English "somewhat better ... usable,
roughly", one person "felt more accurate"), and this repository holds no Gemini
recording yet: until one exists these tests skip for Gemini with the command that
records them, and the thresholds below must be revisited against the recording.

The pixel baseline has no text/image alignment at all: its image x word similarities
are noise around 0 (|s| < 0.1). Each expectation declares ``xfail`` for ``pixels``
only where the baseline was run and really fails it (strict: a pass would fail the
test); where noise happens to pass an expectation it is left unmarked and the comment
says so - the report then shows that the expectation alone cannot tell a model from
noise.
"""

from __future__ import annotations

import numpy as np
import pytest

from embedsim.expect import Check, ExpectationFailed, Pair
from embedsim.matrix import SimilarityMatrix
from embedsim.experiment import Experiment

from experiments import (LANGUAGES, both_languages, emoji_words, five_people_words, one_person_words)

GEMINI = "gemini-embedding-2-preview"
NO_ALIGNMENT = "no image/text alignment: its image x word scores are noise around 0"

# --- hypotheses for gemini-embedding-2-preview (not yet checked against a recording) -----------
#: Five people, English (experiment 4, "usable, roughly"): 3 of the 4 labelled faces.
FIVE_PEOPLE_TOP1 = 0.75
#: ... and 2 of the 3 happy faces closest to Happy.
FIVE_PEOPLE_HAPPY = 2 / 3
#: One person, 16 tiles (experiments 2 and 5, "felt more accurate"): 12 of 16 tiles.
ONE_PERSON_TOP1 = 0.75
#: ... and 6 of the 8 happy tiles closest to Happy / 楽.
ONE_PERSON_HAPPY = 0.75
#: ... matching (tile, word) pairs above non-matching ones (English only).
ONE_PERSON_AUC = 0.75
#: Emoji grid (not in the article; clear cartoon expressions): 6 of the 8 labelled tiles ...
EMOJI_TOP1 = 0.75
#: ... all 4 happy emoji closest to Happy / 楽.
EMOJI_HAPPY = 1.0
#: English minus Japanese: mean label margin and top-1 share at least this (English better).
ENGLISH_GAIN = 0.0


def happy_word(language: str) -> str:
    return dict((e, w) for w, e in LANGUAGES[language])["happy"]


def emotion_expectations(experiment: Experiment, m: SimilarityMatrix, rows, language: str, *,
                         top1: float, happy: float, xfail_top1=None, xfail_happy=None) -> None:
    """The two top-1 expectations and the statistics by expression of an images x words matrix."""
    experiment.stats(m, "expression")
    experiment.expect_top1(m, by="expression", at_least=top1, xfail=xfail_top1,
                           name=f"top-1 word is the image's expression >= {top1:.0%}")
    word = happy_word(language)
    experiment.expect_top1(m, {r.label: word for r in rows if r.labels.get("expression") == "happy"},
                           at_least=happy, xfail=xfail_happy,
                           name=f"happy faces closest to {word} >= {happy:.0%}")


# --- experiments 1 and 4: five different people -------------------------------------------------

def test_five_people_japanese(experiment: Experiment, faces) -> None:
    """Experiment 1: five different people x 怒 哀 楽 (5 x 3).

    The article: Japanese words matched the faces poorly. So the English bar (3 of the 4
    labelled faces) is declared xfail for Gemini too - strict: if Japanese reaches it, the
    article's finding did not reproduce and the test says so. Happy faces vs 楽: 2 of 3.
    """
    rows, cols = five_people_words(faces, "japanese")
    m = experiment.similarity(rows, cols)
    emotion_expectations(
        experiment, m, rows, "japanese", top1=FIVE_PEOPLE_TOP1, happy=FIVE_PEOPLE_HAPPY,
        xfail_top1={GEMINI: "the article: Japanese words matched the faces poorly (hypothesis)",
                    "pixels": NO_ALIGNMENT},
        xfail_happy={"pixels": NO_ALIGNMENT},
    )
    experiment.snapshot(m)


def test_five_people_english(experiment: Experiment, faces) -> None:
    """Experiment 4: five different people x Angry Sad Happy (5 x 3).

    The article: somewhat better than Japanese, "usable, roughly": 3 of the 4 labelled
    faces (3 happy, 1 sad; biden is neutral) get their word on top, 2 of 3 happy faces Happy.
    """
    rows, cols = five_people_words(faces, "english")
    m = experiment.similarity(rows, cols)
    emotion_expectations(experiment, m, rows, "english", top1=FIVE_PEOPLE_TOP1, happy=FIVE_PEOPLE_HAPPY,
                         xfail_top1={"pixels": NO_ALIGNMENT}, xfail_happy={"pixels": NO_ALIGNMENT})
    experiment.snapshot(m)


# --- experiments 2 and 5: one person's 16 tiles ------------------------------------------------

def test_one_person_japanese(experiment: Experiment, faces) -> None:
    """Experiment 2: one woman's 16 face16 tiles (8 sad, 8 happy frames) x 怒 哀 楽 (16 x 3).

    The tiles are cut from the ``face16`` grid at test time. The article: with one person
    the matching "felt more accurate" (identity noise is gone)."""
    rows, cols = one_person_words(faces, "japanese")
    m = experiment.similarity(rows, cols)
    emotion_expectations(experiment, m, rows, "japanese", top1=ONE_PERSON_TOP1, happy=ONE_PERSON_HAPPY,
                         xfail_top1={"pixels": NO_ALIGNMENT}, xfail_happy={"pixels": NO_ALIGNMENT})
    experiment.snapshot(m)


def test_one_person_english(experiment: Experiment, faces) -> None:
    """Experiment 5: the 16 face16 tiles x Angry Sad Happy (16 x 3), plus the AUC of matching pairs.

    Matching (tile, word) pairs are expected to score above non-matching ones."""
    rows, cols = one_person_words(faces, "english")
    m = experiment.similarity(rows, cols)
    emotion_expectations(experiment, m, rows, "english", top1=ONE_PERSON_TOP1, happy=ONE_PERSON_HAPPY,
                         xfail_top1={"pixels": NO_ALIGNMENT}, xfail_happy={"pixels": NO_ALIGNMENT})
    experiment.expect_auc(m, "expression", at_least=ONE_PERSON_AUC, xfail={"pixels": NO_ALIGNMENT},
                          name=f"matching (tile, word) pairs above non-matching: AUC >= {ONE_PERSON_AUC:g}")
    experiment.snapshot(m)


def test_emoji_japanese(experiment: Experiment, faces) -> None:
    """Experiment 2 on the emoji grid: 16 Noto emoji x 怒 哀 楽 (16 x 3).

    Not in the article: the emoji grid (4 happy, 2 sad, 2 angry and 8 other expressions)
    is the only fixture with angry faces. The 8 happy/sad/angry tiles are scored."""
    rows, cols = emoji_words(faces, "japanese")
    m = experiment.similarity(rows, cols)
    emotion_expectations(experiment, m, rows, "japanese", top1=EMOJI_TOP1, happy=EMOJI_HAPPY,
                         xfail_top1={"pixels": NO_ALIGNMENT}, xfail_happy={"pixels": NO_ALIGNMENT})
    experiment.snapshot(m)


def test_emoji_english(experiment: Experiment, faces) -> None:
    """Experiment 5 on the emoji grid x Angry Sad Happy (16 x 3)."""
    rows, cols = emoji_words(faces, "english")
    m = experiment.similarity(rows, cols)
    emotion_expectations(experiment, m, rows, "english", top1=EMOJI_TOP1, happy=EMOJI_HAPPY,
                         xfail_top1={"pixels": NO_ALIGNMENT}, xfail_happy={"pixels": NO_ALIGNMENT})
    experiment.snapshot(m)


# --- English vs Japanese on the same images ---------------------------------------------------

def language_scores(m: SimilarityMatrix, rows, language: str) -> tuple[dict[str, float], dict[str, bool]]:
    """Per labelled image (expression among the three words): its *label margin* in
    ``language`` - similarity to its expression's word minus the mean similarity to the
    other two words of that language - and whether that word is its top-1 among the three."""
    words = {e: w for w, e in LANGUAGES[language]}
    columns = [m.col_labels.index(w) for w in words.values()]
    margins: dict[str, float] = {}
    top1: dict[str, bool] = {}
    for i, item in enumerate(rows):
        expression = item.labels.get("expression")
        if expression not in words:
            continue
        scores = m.values[i, columns].astype(np.float64)
        right = list(words).index(expression)
        margins[item.label] = float(scores[right] - np.delete(scores, right).mean())
        top1[item.label] = bool(np.argmax(scores) == right)
    return margins, top1


def english_vs_japanese(m: SimilarityMatrix, rows, gain: float) -> tuple[Check, Check]:
    """Two checks: English mean label margin minus Japanese >= ``gain``, and English top-1
    share minus Japanese >= ``gain``. The offending pairs are the images where Japanese
    did better."""
    ja_margin, ja_top = language_scores(m, rows, "japanese")
    en_margin, en_top = language_scores(m, rows, "english")
    n = len(en_margin)
    margin_gain = float(np.mean(list(en_margin.values())) - np.mean(list(ja_margin.values())))
    share_en, share_ja = sum(en_top.values()) / n, sum(ja_top.values()) / n
    margin_pairs = tuple(
        Pair(label, "english - japanese label margin", en_margin[label] - ja_margin[label],
             f"Japanese margin {ja_margin[label]:+.4f} above English {en_margin[label]:+.4f}")
        for label in en_margin if en_margin[label] < ja_margin[label])
    top_pairs = tuple(
        Pair(label, "top-1", 0.0, "right word on top in Japanese, not in English")
        for label in en_top if ja_top[label] and not en_top[label])
    margin_check = Check(
        "English - Japanese mean label margin",
        f"English labels closer to the right word than Japanese: mean label margin "
        f"{np.mean(list(en_margin.values())):+.4f} (English) vs {np.mean(list(ja_margin.values())):+.4f} "
        f"(Japanese) over {n} labelled images", margin_gain >= gain, margin_gain, gain, n,
        tuple(sorted(margin_pairs, key=lambda p: p.value)), ExpectationFailed, "images")
    top_check = Check(
        "English - Japanese top-1 share",
        f"English top-1 share {share_en:.0%} at least Japanese {share_ja:.0%} over {n} labelled images",
        share_en - share_ja >= gain, share_en - share_ja, gain, n, top_pairs, ExpectationFailed, "images")
    return margin_check, top_check


@pytest.mark.parametrize("images", ["five_people", "face16", "emoji16"])
def test_english_beats_japanese(experiment: Experiment, faces, images: str) -> None:
    """English labels match the faces better than Japanese (experiments 4 vs 1 and 5 vs 2).

    One matrix: the images x 怒 哀 楽 Angry Sad Happy (both word sets embedded in one call).
    For each image whose expression is among the three words, its *label margin* in a
    language = similarity to its expression's word minus the mean similarity to the other
    two words of that language. Expected: English mean label margin - Japanese >= 0, and
    English top-1 share (right word first among the three) - Japanese >= 0 (at least as
    good: with 4-16 labelled images a tie is common). The article
    reported this for the five people ("somewhat better"); for the tiles it is our hypothesis.
    """
    rows, cols = both_languages(faces, images)
    m = experiment.similarity(rows, cols)
    experiment.stats(m, "expression")
    margin_check, top_check = english_vs_japanese(m, rows, ENGLISH_GAIN)
    experiment.expect(margin_check, m, name="English label margin >= Japanese", xfail=PIXELS_XFAIL_MARGIN.get(images))
    experiment.expect(top_check, m, name="English top-1 share >= Japanese", xfail=PIXELS_XFAIL_TOP1.get(images))
    experiment.snapshot(m)


# Where the pixel baseline fails "English beats Japanese" - measured, not assumed. Its two
# word sets are hashed characters with no meaning, so which language "wins" is a coin toss:
# it loses the margin on the five people, and wins (or ties, which counts as "at least as
# good") everywhere else. That is the point of the control: with 3 words and 4-16 labelled
# images, "English is better" can come out right by chance.
_LANGUAGE_NOISE = "both word sets are hashed characters; which language 'wins' is chance"
PIXELS_XFAIL_MARGIN: dict[str, dict[str, str]] = {
    "five_people": {"pixels": _LANGUAGE_NOISE},  # -0.0147
    # face16: +0.0019 and emoji16: +0.0015 - pass by chance, not marked
}
PIXELS_XFAIL_TOP1: dict[str, dict[str, str]] = {
    # five_people 25% vs 25%, face16 38% vs 31%, emoji16 25% vs 25% - pass by chance, not marked
}
