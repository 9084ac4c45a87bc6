"""Experiments 1, 2, 4 and 5 of the seed article: face images x emotion words.

Each test embeds images and three emotion words (Japanese 怒 哀 楽 or English Angry Sad
Happy) with the current model and checks the article's findings on the image x word
cosine-similarity matrix:

* **top-1 by expression** - over the images with an expression among the three words
  (happy / sad / angry; neutral, surprise, ... are left out): is the most similar word
  the word of their expression? Scored as *balanced accuracy* - the mean over the
  expressions present of the share of their images that get their word - so that a
  model answering the same word for every image scores 1 / (expressions present)
  (0.5 on the five people, 3 happy and 1 sad), not the share of the commonest
  expression (a plain top-1 share gives such a model 75% there). Uniform chance: 1/3.
* **Happy on top for the happy faces, not for the others** - one word's balanced
  accuracy: (share of happy images with Happy on top + share of the other labelled
  images without it) / 2. Always answering Happy scores 0.5, whatever the label mix.
* statistics by expression (recorded, not asserted): mean similarity of matching vs
  non-matching (image, word) pairs, their margin and ROC-AUC.

Every statistic is reported with its 95% bootstrap interval (images resampled), the
number of images, its chance level and the level of a constant answer; the thresholds
below sit above the constant answer's level, so a model that gives every image the same
word fails each expectation that says the model matches expressions
(``tests/test_expect.py`` shows it with such a model). With 4-16 labelled images the
intervals are wide: ``tests/spec/README.md`` says which claims this fixture set can
decide at all.
* **English beats Japanese** - one test embeds both word sets; see
  :func:`test_english_beats_japanese`.

THRESHOLDS FOR gemini-embedding-2-preview (AND ITS GA gemini-embedding-2) ARE HYPOTHESES. The article gives no
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
from experiments import LANGUAGES, both_languages, emoji_words, five_people_words, one_person_words

from embedsim.expect import Check, Pair, check_statistic
from embedsim.matrix import SimilarityMatrix
from embedsim.plugin.experiments import Experiment
from embedsim.stats import weighted_mean

#: The article tried the preview; its GA release has no recording or source of its own, so it is
#: held to the same hypotheses (tests/spec/README.md) - a difference shows as a strict XPASS and
#: in the report's preview -> GA comparison.
GEMINI = ("gemini-embedding-2-preview", "gemini-embedding-2")
NO_ALIGNMENT = "no image/text alignment: its image x word scores are noise around 0"

# --- hypotheses for the Gemini models (not yet checked against a recording) ----------------------
# Balanced accuracies; a constant answer scores 1/(expressions present) on the first kind and
# 0.5 on the second, so every threshold below is above it.
#: Five people, English (experiment 4, "usable, roughly"; 3 happy + 1 sad labelled faces):
#: 2 of the 3 happy faces and the sad face get their word: (2/3 + 1) / 2.
FIVE_PEOPLE_BALANCED = 5 / 6
#: ... Happy on top for 2 of the 3 happy faces and not for the sad one: (2/3 + 1) / 2.
FIVE_PEOPLE_HAPPY = 5 / 6
#: One person, 16 tiles (experiments 2 and 5, "felt more accurate"; 8 happy + 8 sad):
#: 6 of 8 tiles right in each expression.
ONE_PERSON_BALANCED = 0.75
#: ... Happy / 楽 on top for 6 of the 8 happy tiles and at most 2 of the 8 sad ones.
ONE_PERSON_HAPPY = 0.75
#: ... matching (tile, word) pairs above non-matching ones (English only). Not 0.75: scores
#: that depend on the word alone (Happy > Sad > Angry for every tile) already reach 0.75 here.
ONE_PERSON_AUC = 0.80
#: Emoji grid (not in the article; clear cartoon expressions; 4 happy, 2 sad, 2 angry):
#: e.g. 3/4 happy, 2/2 sad, 1/2 angry.
EMOJI_BALANCED = 0.75
#: ... Happy / 楽 on top for all 4 happy emoji and at most 1 of the 4 sad or angry ones.
EMOJI_HAPPY = 0.875
#: English minus Japanese: mean label margin and top-1 share above this (English better; a tie is not).
ENGLISH_GAIN = 0.0


def happy_word(language: str) -> str:
    return dict((e, w) for w, e in LANGUAGES[language])["happy"]


def emotion_expectations(experiment: Experiment, m: SimilarityMatrix, language: str, *,
                         balanced: float, happy: float, xfail_top1=None, xfail_happy=None) -> None:
    """The two top-1 expectations (balanced accuracies) and the statistics by expression of an
    images x words matrix."""
    experiment.stats(m, by="expression")
    experiment.expect_top1(m, by="expression", measure="balanced", at_least=balanced, xfail=xfail_top1,
                           name=f"top-1 word is the image's expression: balanced accuracy >= {balanced:.0%}")
    word = happy_word(language)
    experiment.expect_class(m, word, by="expression", at_least=happy, xfail=xfail_happy,
                            name=f"{word} on top for the happy faces, not the others: balanced accuracy >= {happy:.0%}")


# --- experiments 1 and 4: five different people -------------------------------------------------

def test_five_people_japanese(experiment: Experiment, faces) -> None:
    """Experiment 1: five different people x 怒 哀 楽 (5 x 3).

    The article: Japanese words matched the faces poorly. So the English bar (2 of the 3
    happy faces and the sad face) is declared xfail for Gemini too - strict: if Japanese
    reaches it, the article's finding did not reproduce and the test says so. 楽 on top for
    2 of 3 happy faces and not for the sad one.
    """
    rows, cols = five_people_words(faces, "japanese")
    m = experiment.similarity(rows, cols)
    emotion_expectations(
        experiment, m, "japanese", balanced=FIVE_PEOPLE_BALANCED, happy=FIVE_PEOPLE_HAPPY,
        xfail_top1={**dict.fromkeys(GEMINI, "the article: Japanese words matched the faces poorly (hypothesis)"),
                    "pixels": NO_ALIGNMENT},
        xfail_happy={"pixels": NO_ALIGNMENT},
    )
    experiment.snapshot(m)


def test_five_people_english(experiment: Experiment, faces) -> None:
    """Experiment 4: five different people x Angry Sad Happy (5 x 3).

    The article: somewhat better than Japanese, "usable, roughly": of the 4 labelled faces
    (3 happy, 1 sad; biden is neutral) 2 of the happy ones and the sad one get their word
    on top; Happy on top for 2 of 3 happy faces and not for the sad one.
    """
    rows, cols = five_people_words(faces, "english")
    m = experiment.similarity(rows, cols)
    emotion_expectations(experiment, m, "english", balanced=FIVE_PEOPLE_BALANCED, happy=FIVE_PEOPLE_HAPPY,
                         xfail_top1={"pixels": NO_ALIGNMENT}, xfail_happy={"pixels": NO_ALIGNMENT})
    experiment.snapshot(m)


# --- experiments 2 and 5: one person's 16 tiles ------------------------------------------------

def test_one_person_japanese(experiment: Experiment, faces) -> None:
    """Experiment 2: one woman's 16 face16 tiles (8 sad, 8 happy frames) x 怒 哀 楽 (16 x 3).

    The tiles are cut from the ``face16`` grid at test time. The article: with one person
    the matching "felt more accurate" (identity noise is gone)."""
    rows, cols = one_person_words(faces, "japanese")
    m = experiment.similarity(rows, cols)
    emotion_expectations(experiment, m, "japanese", balanced=ONE_PERSON_BALANCED, happy=ONE_PERSON_HAPPY,
                         xfail_top1={"pixels": NO_ALIGNMENT}, xfail_happy={"pixels": NO_ALIGNMENT})
    experiment.snapshot(m)


def test_one_person_english(experiment: Experiment, faces) -> None:
    """Experiment 5: the 16 face16 tiles x Angry Sad Happy (16 x 3), plus the AUC of matching pairs.

    Matching (tile, word) pairs are expected to score above non-matching ones."""
    rows, cols = one_person_words(faces, "english")
    m = experiment.similarity(rows, cols)
    emotion_expectations(experiment, m, "english", balanced=ONE_PERSON_BALANCED, happy=ONE_PERSON_HAPPY,
                         xfail_top1={"pixels": NO_ALIGNMENT}, xfail_happy={"pixels": NO_ALIGNMENT})
    experiment.expect_auc(m, by="expression", at_least=ONE_PERSON_AUC, xfail={"pixels": NO_ALIGNMENT},
                          name=f"matching (tile, word) pairs above non-matching: AUC >= {ONE_PERSON_AUC:g}")
    experiment.snapshot(m)


def test_emoji_japanese(experiment: Experiment, faces) -> None:
    """Experiment 2 on the emoji grid: 16 Noto emoji x 怒 哀 楽 (16 x 3).

    Not in the article: the emoji grid (4 happy, 2 sad, 2 angry and 8 other expressions)
    is the only fixture with angry faces. The 8 happy/sad/angry tiles are scored."""
    rows, cols = emoji_words(faces, "japanese")
    m = experiment.similarity(rows, cols)
    emotion_expectations(experiment, m, "japanese", balanced=EMOJI_BALANCED, happy=EMOJI_HAPPY,
                         xfail_top1={"pixels": NO_ALIGNMENT}, xfail_happy={"pixels": NO_ALIGNMENT})
    experiment.snapshot(m)


def test_emoji_english(experiment: Experiment, faces) -> None:
    """Experiment 5 on the emoji grid x Angry Sad Happy (16 x 3)."""
    rows, cols = emoji_words(faces, "english")
    m = experiment.similarity(rows, cols)
    emotion_expectations(experiment, m, "english", balanced=EMOJI_BALANCED, happy=EMOJI_HAPPY,
                         xfail_top1={"pixels": NO_ALIGNMENT}, xfail_happy={"pixels": NO_ALIGNMENT})
    experiment.snapshot(m)


# --- English vs Japanese on the same images ---------------------------------------------------

def language_scores(m: SimilarityMatrix, rows, language: str) -> tuple[dict[str, float], dict[str, bool]]:
    """Per labelled image (expression among the three words): its *label margin* in
    ``language`` - similarity to its expression's word minus the mean similarity to the
    other two words of that language - and whether that word alone is its top-1 among the three
    (a tie is no answer)."""
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
        margins[item.id] = float(scores[right] - np.delete(scores, right).mean())
        top1[item.id] = bool(scores[right] > np.delete(scores, right).max())
    return margins, top1


def english_vs_japanese(m: SimilarityMatrix, rows, gain: float) -> tuple[Check, Check]:
    """Two checks: English mean label margin minus Japanese above ``gain``, and English top-1
    share minus Japanese above ``gain``, each with its bootstrap interval (the labelled images
    resampled, both languages on the same resample). The offending pairs are the images
    where Japanese did better. A model blind to the images scores 0 on both (chance and
    constant answer alike): a claim of improvement, so a tie fails (``strict``)."""
    ja_margin, ja_top = language_scores(m, rows, "japanese")
    en_margin, en_top = language_scores(m, rows, "english")
    labels = list(en_margin)
    n = len(labels)
    margin_gains = np.array([en_margin[k] - ja_margin[k] for k in labels])
    top_gains = np.array([float(en_top[k]) - float(ja_top[k]) for k in labels])
    margin_gain = float(np.mean(list(en_margin.values())) - np.mean(list(ja_margin.values())))
    share_en, share_ja = sum(en_top.values()) / n, sum(ja_top.values()) / n
    margin_pairs = tuple(
        Pair(label, "english - japanese label margin", en_margin[label] - ja_margin[label],
             f"Japanese margin {ja_margin[label]:+.4f} above English {en_margin[label]:+.4f}")
        for label in en_margin if en_margin[label] < ja_margin[label])
    top_pairs = tuple(
        Pair(label, "top-1", 0.0, "right word on top in Japanese, not in English")
        for label in en_top if ja_top[label] and not en_top[label])
    margin_check = check_statistic(
        "English - Japanese mean label margin",
        f"English labels closer to the right word than Japanese: mean label margin "
        f"{np.mean(list(en_margin.values())):+.4f} (English) vs {np.mean(list(ja_margin.values())):+.4f} "
        f"(Japanese) over {n} labelled images", weighted_mean(margin_gains), n, at_least=gain,
        pairs=sorted(margin_pairs, key=lambda p: p.value), unit="images", chance=0.0, constant_answer=0.0,
        value=margin_gain, strict=True)
    top_check = check_statistic(
        "English - Japanese top-1 share",
        f"English top-1 share {share_en:.0%} above Japanese {share_ja:.0%} over {n} labelled images",
        weighted_mean(top_gains), n, at_least=gain, pairs=top_pairs, unit="images", chance=0.0, constant_answer=0.0,
        value=share_en - share_ja, strict=True)
    return margin_check, top_check


@pytest.mark.parametrize("images", ["five_people", "face16", "emoji16"])
def test_english_beats_japanese(experiment: Experiment, faces, images: str) -> None:
    """English labels match the faces better than Japanese (experiments 4 vs 1 and 5 vs 2).

    One matrix: the images x 怒 哀 楽 Angry Sad Happy (both word sets embedded in one call).
    For each image whose expression is among the three words, its *label margin* in a
    language = similarity to its expression's word minus the mean similarity to the other
    two words of that language. Expected: English mean label margin - Japanese > 0, and
    English top-1 share (right word alone first among the three) - Japanese > 0: "better" is
    a claim of improvement, and a tie - what a model blind to the images gets - is not
    evidence of it (with 4-16 labelled images ties are common). The article
    reported this for the five people ("somewhat better"); for the tiles it is our hypothesis.
    """
    rows, cols = both_languages(faces, images)
    m = experiment.similarity(rows, cols)
    experiment.stats(m, by="expression")
    margin_check, top_check = english_vs_japanese(m, rows, ENGLISH_GAIN)
    experiment.expect(margin_check, m, name="English label margin > Japanese", xfail=PIXELS_XFAIL_MARGIN.get(images))
    experiment.expect(top_check, m, name="English top-1 share > Japanese", xfail=PIXELS_XFAIL_TOP1.get(images))
    experiment.snapshot(m)


# Where the pixel baseline fails "English beats Japanese" - measured, not assumed. Its two
# word sets are hashed characters with no meaning, so which language "wins" is a coin toss:
# it loses the margin on the five people, ties the top-1 share on the five people and the
# emoji (a tie is not "better"), and wins everywhere else. That is the point of the control:
# with 3 words and 4-16 labelled images, "English is better" can come out right by chance.
_LANGUAGE_NOISE = "both word sets are hashed characters; which language 'wins' is chance"
PIXELS_XFAIL_MARGIN: dict[str, dict[str, str]] = {
    "five_people": {"pixels": _LANGUAGE_NOISE},  # -0.0147
    # face16: +0.0019 and emoji16: +0.0015 - pass by chance, not marked
}
PIXELS_XFAIL_TOP1: dict[str, dict[str, str]] = {
    "five_people": {"pixels": _LANGUAGE_NOISE + "; here a tie (25% vs 25%)"},
    "emoji16": {"pixels": _LANGUAGE_NOISE + "; here a tie (25% vs 25%)"},
    # face16: 38% vs 31% - passes by chance, not marked
}
