"""The item lists of every spec experiment, in one importable place.

Each function takes the faces :class:`~embedsim.inputs.datasets.Dataset` and returns
``(rows, cols)`` (``cols`` is ``None`` for an all-pairs matrix). The test modules
build their matrices from these functions only, so a script can count what the whole
spec sends to a model without running pytest::

    python tests/spec/experiments.py         # distinct inputs per test, and the total

    # or, from a script (the folder holds no __init__.py: load the file by path)
    import importlib.util
    spec = importlib.util.spec_from_file_location("spec_experiments", "tests/spec/experiments.py")
    experiments = importlib.util.module_from_spec(spec); spec.loader.exec_module(experiments)
    experiments.api_inputs(Dataset.load(experiments.FACES))   # {test id: distinct inputs}

One test = one cassette = one ``embed`` call of at most 100 distinct items, which the
Gemini backend sends as one ``batchEmbedContents`` request (see
``embedsim/backends/gemini/__init__.py``): the whole spec is ``len(SPEC)`` requests per model.

Experiments (numbered as in the seed article):

1. five different people x Japanese words 怒 哀 楽 (5 x 3)
2. one person's 16 tiles (``face16`` grid, cut at test time) x Japanese words (16 x 3);
   also the emoji grid (``emoji16``, which has angry faces)
3. five different people + five tiles of one person, all pairs (10 x 10)
4. = 1 with English words Angry Sad Happy
5. = 2 with English words

plus the controls the article lacked: identity across *different photos* of the same
people, and English vs Japanese on the same images in one test.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from embedsim.inputs.datasets import Dataset
from embedsim.inputs.items import Item, text_item

FACES = Path(__file__).resolve().parents[2] / "fixtures" / "faces"

#: (word, expression label) - the article's three emotion words; 喜 was left out as too close to 楽.
JAPANESE_WORDS: tuple[tuple[str, str], ...] = (("怒", "angry"), ("哀", "sad"), ("楽", "happy"))
ENGLISH_WORDS: tuple[tuple[str, str], ...] = (("Angry", "angry"), ("Sad", "sad"), ("Happy", "happy"))
LANGUAGES = {"japanese": JAPANESE_WORDS, "english": ENGLISH_WORDS}

#: The tile of face16 that stands in as the fifth "different person" (a sad frame).
FIFTH_PERSON_TILE = "face16_01"
#: The five tiles of one person in experiment 3 (two sad, three happy frames; not the fifth person's).
IDENTITY_TILES = ("face16_04", "face16_07", "face16_10", "face16_13", "face16_16")

Pair = tuple[list[Item], list[Item] | None]


def words(language: str) -> list[Item]:
    """The three emotion words of ``language`` (``japanese`` / ``english``) as text items
    labelled with their ``expression`` and ``language``."""
    return [text_item(word, id=word, labels={"expression": expression, "language": language})
            for word, expression in LANGUAGES[language]]


def five_people(dataset: Dataset) -> list[Item]:
    """Five different people (the article's face1-5): four photos and one face16 tile."""
    return [dataset["obama_1"], dataset["biden"], dataset["collins"], dataset["jesper_1"],
            dataset[FIFTH_PERSON_TILE]]


def image_set(dataset: Dataset, name: str) -> list[Item]:
    """``five_people``, ``face16`` (16 tiles of one woman) or ``emoji16`` (16 emoji tiles)."""
    if name == "five_people":
        return five_people(dataset)
    return dataset.grid(name)


# --- experiments 1, 2, 4, 5: images x emotion words -------------------------------------------

def with_expression(items: Sequence[Item]) -> list[Item]:
    """The items relabelled ``<id> (<expression>)`` - ``face16_09 (happy)`` - so that matrices,
    heatmaps and failure messages show what each face is expected to match. Only the label
    changes: the bytes sent to a model (and so the cassettes) stay the same."""
    return [replace(i, id=f"{i.id} ({i.labels['expression']})") if "expression" in i.labels else i
            for i in items]


def five_people_words(dataset: Dataset, language: str) -> Pair:
    """Experiments 1 (japanese) and 4 (english): 5 x 3."""
    return with_expression(five_people(dataset)), words(language)


def one_person_words(dataset: Dataset, language: str) -> Pair:
    """Experiments 2 (japanese) and 5 (english) on the real-photo grid: 16 x 3."""
    return with_expression(dataset.grid("face16")), words(language)


def emoji_words(dataset: Dataset, language: str) -> Pair:
    """Experiments 2 and 5 on the emoji grid (which has angry faces): 16 x 3."""
    return with_expression(dataset.grid("emoji16")), words(language)


def both_languages(dataset: Dataset, images: str) -> Pair:
    """English vs Japanese on one image set: images x (3 Japanese + 3 English words)."""
    return with_expression(image_set(dataset, images)), words("japanese") + words("english")


# --- experiment 3 and the identity control: images x images -------------------------------------

def five_people_and_tiles(dataset: Dataset) -> Pair:
    """Experiment 3: the five different people plus five tiles of one of them, all pairs (10 x 10)."""
    tiles = [dataset[name] for name in IDENTITY_TILES]
    return five_people(dataset) + tiles, None


def different_photos(dataset: Dataset) -> Pair:
    """Identity control: Obama x 3 and Jesper x 3, each photo from a different shoot, with
    Biden (same Blue Room shoot as obama_3), Collins and one face16 tile as other people;
    all pairs (9 x 9)."""
    names = ["obama_1", "obama_2", "obama_3", "jesper_1", "jesper_2", "jesper_3", "biden", "collins"]
    return [dataset[n] for n in names] + [dataset[FIFTH_PERSON_TILE]], None


def five_people_and_tiles_cropped(dataset: Dataset) -> Pair:
    """Experiment 3 on face crops (:func:`embedsim.inputs.faces.crop_faces`: the largest face, 10% margin)."""
    from embedsim.inputs.faces import crop_faces

    return crop_faces(five_people_and_tiles(dataset)[0]), None


def different_photos_cropped(dataset: Dataset) -> Pair:
    """The identity control on face crops."""
    from embedsim.inputs.faces import crop_faces

    return crop_faces(different_photos(dataset)[0]), None


# --- the whole spec -----------------------------------------------------------------------------

#: test id (``module::test[param]``, without the model) -> the function building its items.
SPEC: dict[str, Callable[[Dataset], Pair]] = {
    "test_emotions.py::test_five_people_japanese": lambda d: five_people_words(d, "japanese"),
    "test_emotions.py::test_five_people_english": lambda d: five_people_words(d, "english"),
    "test_emotions.py::test_one_person_japanese": lambda d: one_person_words(d, "japanese"),
    "test_emotions.py::test_one_person_english": lambda d: one_person_words(d, "english"),
    "test_emotions.py::test_emoji_japanese": lambda d: emoji_words(d, "japanese"),
    "test_emotions.py::test_emoji_english": lambda d: emoji_words(d, "english"),
    "test_emotions.py::test_english_beats_japanese[five_people]": lambda d: both_languages(d, "five_people"),
    "test_emotions.py::test_english_beats_japanese[face16]": lambda d: both_languages(d, "face16"),
    "test_emotions.py::test_english_beats_japanese[emoji16]": lambda d: both_languages(d, "emoji16"),
    "test_identity.py::test_five_people_and_tiles": five_people_and_tiles,
    "test_identity.py::test_different_photos": different_photos,
    "test_identity.py::test_five_people_and_tiles_cropped": five_people_and_tiles_cropped,
    "test_identity.py::test_different_photos_cropped": different_photos_cropped,
}


def distinct(items: Sequence[Item]) -> int:
    """How many distinct inputs (kind + content digest) ``items`` holds."""
    return len({(i.kind, i.digest) for i in items})


def api_inputs(dataset: Dataset) -> dict[str, int]:
    """Distinct inputs each spec test sends to a model (one batch request per test)."""
    out = {}
    for test, build in SPEC.items():
        rows, cols = build(dataset)
        out[test] = distinct([*rows, *(cols or [])])
    return out


if __name__ == "__main__":  # python tests/spec/experiments.py
    counts = api_inputs(Dataset.load(FACES))
    for test, n in counts.items():
        print(f"{n:4d}  {test}")
    print(f"{sum(counts.values()):4d}  inputs in {len(counts)} requests per model")
