"""Experiment 3 of the seed article and the identity control it lacked: image x image.

* :func:`test_five_people_and_tiles` - the article's 10 x 10: five different people plus
  five tiles of one of them. The article: photos of the same person were clearly more
  similar to each other than photos of different people.
* :func:`test_different_photos` - the control: the same people in *different* photos
  (other shoots, light, backdrop, age), so a shared shoot cannot give the answer away.
* :func:`test_five_people_and_tiles_cropped` and :func:`test_different_photos_cropped` -
  the same images cropped to their faces (:func:`embedsim.inputs.faces.crop_faces`, dlib's
  frontal face detector, 10% margin): does a result survive once the backdrop is cut away?

Groups are the items' ``person`` labels (``fixtures/faces/manifest.toml``); the diagonal
(self-similarity) is left out; each unordered pair counts once in the statistics.

THRESHOLDS FOR gemini-embedding-2-preview (AND ITS GA gemini-embedding-2) ARE HYPOTHESES: the article gives no numbers
("clearly more similar") and this repository holds no Gemini recording yet; until one
exists these tests skip for Gemini with the command that records them.
"""

from __future__ import annotations

from collections.abc import Mapping

from experiments import different_photos, different_photos_cropped, five_people_and_tiles, five_people_and_tiles_cropped

from embedsim.matrix import SimilarityMatrix
from embedsim.plugin.experiments import Experiment

# --- hypotheses for the Gemini models (not yet checked against a recording) ----------------------
#: Experiment 3 ("clearly"): same-person mean similarity above different-person mean by 0.10 ...
TILES_MARGIN = 0.10
#: ... and nearly every same-person pair above every different-person pair.
TILES_AUC = 0.95
#: Control, different photos: the same "clearly" margin. (Not lower: raw pixels already reach
#: a mean margin of 0.086 here - two similar Obama portraits - so 0.05 could not tell a model
#: from the baseline.)
PHOTOS_MARGIN = 0.10
#: ... same-person pairs mostly above different-person pairs ...
PHOTOS_AUC = 0.80
#: ... and 4 of the 6 photos of Obama / Jesper have another photo of the same person on top.
PHOTOS_TOP1 = 4 / 6

SAME_SHOOT = ("obama_3 and biden share the Blue Room shoot (backdrop, light, pose); "
              "raw pixels match the shoot, not the face")
NO_FACES = "raw thumbnails: different shoots of one person look unalike"
CROPPED_TILES = "raw thumbnails of face crops: one face16 tile is closer to another person's crop than to a tile"
NO_FACES_CROPPED = "raw thumbnails of face crops: different photos of one person still look unalike"


def test_five_people_and_tiles(experiment: Experiment, faces) -> None:
    """Experiment 3: five different people plus five more tiles of one of them (10 x 10); confounded by the shoot.

    obama_1, biden, collins, jesper_1 and face16_01 are the five people; face16_04 ... 16
    are five more frames of the face16 woman.

    Expected: same person (the 15 pairs among the six face16 tiles) above different people
    (the other 30 pairs) by a margin of 0.10, AUC >= 0.95, and every tile closer to all other
    tiles than to any other person.

    CONFOUND: the six tiles are frames of ONE video shoot (same light, backdrop, crop), so raw
    pixels already separate them - the pixel baseline passes all three expectations. This
    experiment cannot show that a model recognises faces; :func:`test_different_photos` can.
    """
    rows, _ = five_people_and_tiles(faces)
    expect_tiles(experiment, experiment.similarity(rows))


def test_different_photos(experiment: Experiment, faces) -> None:
    """Identity control: the same people in different photos, with three other people (9 x 9).

    obama_1..3 and jesper_1..3 - each photo from a different shoot (Jesper also at
    different ages) - with biden, collins and face16_01 as other people; all pairs:
    6 same-person pairs, 30 different-person pairs.

    Expected: same person above different people by 0.10 (means), AUC >= 0.80, 4 of the 6
    Obama/Jesper photos with another photo of the same person on top, and obama_3 closer to
    another Obama photo than to biden, who was photographed in the same Blue Room shoot.
    The pixel baseline fails all of them (measured): what it "found" in experiment 3 was the
    shoot, not the person.
    """
    rows, _ = different_photos(faces)
    expect_photos(experiment, experiment.similarity(rows), margin_xfail={"pixels": NO_FACES},
                  xfail={"pixels": NO_FACES}, obama_3_xfail={"pixels": SAME_SHOOT})


def test_five_people_and_tiles_cropped(experiment: Experiment, faces) -> None:
    """Crop control for experiment 3: the same 10 images cropped to their faces, same expectations.

    Cutting away the shared backdrop of the face16 shoot weakens the confound but does not
    remove it: the pixel baseline still passes the margin and AUC expectations (measured:
    margin 0.43, AUC 0.99 on crops against 0.62 and 1.00 uncropped) - the tiles share
    light, skin tone, pose and framing, not just the backdrop - and fails only the per-tile
    one (one tile's crop is closer to Jesper's crop than to another tile's).
    """
    rows, _ = five_people_and_tiles_cropped(faces)
    expect_tiles(experiment, experiment.similarity(rows), per_row_xfail={"pixels": CROPPED_TILES})


def test_different_photos_cropped(experiment: Experiment, faces) -> None:
    """Crop control for the identity control: the same 9 photos cropped to their faces, same expectations.

    Aligned face crops make raw pixels more alike for everyone and for the same person a
    little more (measured: the pixel baseline's margin rises from 0.09 to 0.18, which
    passes the 0.10 margin), but the pixel baseline still fails AUC, nearest-photo and the
    Blue Room pair. The margin alone cannot tell a face model from pixels on crops.
    """
    rows, _ = different_photos_cropped(faces)
    expect_photos(experiment, experiment.similarity(rows), margin_xfail=None,
                  xfail={"pixels": NO_FACES_CROPPED}, obama_3_xfail={"pixels": NO_FACES_CROPPED})


def expect_tiles(experiment: Experiment, m: SimilarityMatrix, per_row_xfail: Mapping[str, str] | None = None) -> None:
    """The expectations of experiment 3 (and its crop control) on its 10 x 10 matrix; snapshot."""
    experiment.expect_groups(m, by="person", margin=TILES_MARGIN,
                             name=f"same person above different people by {TILES_MARGIN:g} (means)")
    experiment.expect_auc(m, by="person", at_least=TILES_AUC,
                          name=f"same-person pairs above different-person pairs: AUC >= {TILES_AUC:g}")
    experiment.expect_groups(m, by="person", per_row=True, xfail=per_row_xfail,
                             name="every tile: least similar tile above most similar other person")
    experiment.snapshot(m)


def expect_photos(experiment: Experiment, m: SimilarityMatrix, *, margin_xfail: Mapping[str, str] | None,
                  xfail: Mapping[str, str], obama_3_xfail: Mapping[str, str]) -> None:
    """The expectations of the identity control (and its crop control) on its 9 x 9 matrix; snapshot."""
    obama_3, = (label for label in m.row_labels if label.startswith("obama_3"))
    others = {label for label in m.row_labels if label.startswith(("obama_1", "obama_2"))}
    experiment.expect_groups(m, by="person", margin=PHOTOS_MARGIN, xfail=margin_xfail,
                             name=f"same person above different people by {PHOTOS_MARGIN:g} (means)")
    experiment.expect_auc(m, by="person", at_least=PHOTOS_AUC, xfail=xfail,
                          name=f"same-person pairs above different-person pairs: AUC >= {PHOTOS_AUC:g}")
    experiment.expect_top1(m, by="person", at_least=PHOTOS_TOP1, xfail=xfail,
                           name=f"nearest other photo is the same person >= {PHOTOS_TOP1:.0%}")
    experiment.expect_top1(m, {obama_3: others}, at_least=1.0, xfail=obama_3_xfail,
                           name="obama_3 closer to another Obama photo than to biden (same shoot)")
    experiment.snapshot(m)
