"""The README's example project runs as written: manifest, experiment tests, configuration.

The code blocks of "A first experiment" are taken from README.md verbatim (each starts
with a ``# <path>`` comment naming its file), given images from the repo's
fixtures, and run for the pixel baseline and Gemini: pixels fails exactly the
expectations declared xfail for it (same-shoot tiles still pass "same person closer"),
and Gemini, with no cassette and no key, skips; the run's summary gives the command that records it.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from embedsim.inputs.grid import split_grid

ROOT = Path(__file__).resolve().parents[1]
FACES = ROOT / "fixtures" / "faces"
BLOCK = re.compile(r"```(?:toml|python)\n# (\S+)\n(.*?)```", re.S)


def readme_files() -> dict[str, str]:
    """``{path: text}`` of the README's code blocks that name their file."""
    return {path: body for path, body in BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8"))}


def test_the_readme_names_the_example_files() -> None:
    assert set(readme_files()) == {"fixtures/faces/manifest.toml", "tests/test_faces.py", "pyproject.toml"}


def write_example_project(root: Path) -> None:
    for path, text in readme_files().items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    faces = root / "fixtures" / "faces"
    shutil.copy(FACES / "obama_1.jpg", faces / "alice_1.jpg")
    shutil.copy(FACES / "obama_2.jpg", faces / "alice_2.jpg")
    shutil.copy(FACES / "jesper_2.jpg", faces / "bob_1.jpg")
    tiles = split_grid(FACES / "face16.jpg", 4, 4)
    grid = Image.new("RGB", (256, 256))
    for n, tile in enumerate(tiles[i] for i in (0, 1, 8, 9)):  # sad, sad, happy, happy
        with Image.open(io.BytesIO(tile.data)) as image:
            grid.paste(image, (n % 2 * 128, n // 2 * 128))
    grid.save(faces / "bob_grid.jpg", quality=90)


def readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_a_fresh_machine_sets_up_with_two_commands_and_ci_runs_the_test_command() -> None:
    """"Set up": one command runs the main job on the offline default, one runs the tests;
    .ci/run runs the test command verbatim."""
    setup = readme().split("\n## Set up (a fresh machine with Python 3.11+)\n", 1)[1].split("\n## ", 1)[0]
    commands = [line.strip() for line in setup.splitlines() if line.startswith("    python3 -m venv ")]
    assert len(commands) == 2
    main_job, tests = commands
    assert main_job.endswith("-m pytest tests/spec -p no:cacheprovider --embedsim-report report")
    assert tests in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_the_readme_is_a_first_read_that_links_every_docs_page() -> None:
    lines = len(readme().splitlines())
    assert lines <= 150, f"README.md has {lines} lines: move the detail to docs/"
    linked = set(re.findall(r"\]\((docs/[\w.]+\.md)", readme()))
    assert linked == {f"docs/{page.name}" for page in (ROOT / "docs").glob("*.md")}


@pytest.mark.slow
def test_readme_example_runs_as_written(pytester: pytest.Pytester) -> None:
    write_example_project(pytester.path)
    args = ("-p", "no:cacheprovider", "-rsx", "--embedsim-report", "report")
    first = pytester.runpytest_subprocess(*args, "--snapshot-update")
    first.assert_outcomes(xfailed=2, skipped=2)
    first.stdout.fnmatch_lines([
        "embedsim: gemini-embedding-2-preview: 2 tests not recorded yet; record them all with: GEMINI_API_KEY=... "
        "python -m pytest tests --embedsim-model gemini-embedding-2-preview --record-mode=once --snapshot-update",
        "XFAIL*test_same_person_closer*pixels*raw pixels do not recognise people*",
        "XFAIL*test_smiles_are_happy*pixels*no image/text alignment*",
    ])
    snapshots = sorted(p.name for p in (pytester.path / "tests" / "__snapshots__").rglob("*") if p.is_file())
    assert snapshots and all("[pixels]" in name for name in snapshots)

    again = pytester.runpytest_subprocess(*args)  # snapshots now match
    again.assert_outcomes(xfailed=2, skipped=2)
    assert (pytester.path / "report" / "index.html").is_file()


@pytest.mark.slow
def test_the_example_finds_its_fixtures_from_any_working_directory(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_example_project(pytester.path)
    monkeypatch.chdir(pytester.path / "tests")
    result = pytester.runpytest_subprocess(".", "-p", "no:cacheprovider", "--snapshot-update")
    result.assert_outcomes(xfailed=2, skipped=2)


# --- what a new user meets next: the first run without snapshots, colours in a pipe ---------------

SNAPSHOT_TEST = """
from embedsim.inputs.items import text_item


def test_words(experiment):
    experiment.snapshot(experiment.similarity([text_item("cat"), text_item("cats"), text_item("dog")]))
"""


@pytest.mark.slow
@pytest.mark.parametrize(("options", "environment", "coloured"), [
    ((), {}, False),                                      # a pipe is not a terminal
    (("--color=no",), {"FORCE_COLOR": "1"}, False),
    ((), {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
    (("--color=yes",), {}, True),                         # a terminal (or --color=yes) keeps its colours
])
def test_a_missing_snapshot_is_reported_in_colour_only_for_a_terminal(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, options: tuple[str, ...],
    environment: dict[str, str], coloured: bool,
) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "PY_COLORS", "ANSI_COLORS_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    pytester.makepyfile(test_words=SNAPSHOT_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *options)
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "does not exist" in output
    assert ("\x1b[" in output) == coloured
