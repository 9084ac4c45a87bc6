"""The argument parser: the ``split`` and ``matrix`` commands, their options and help."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from embedsim import __version__
from embedsim import settings as values
from embedsim.backends import DEFAULT_DIMENSION, DEFAULT_MODEL, backends, remote_defaults
from embedsim.cli.commands import run_matrix, run_split
from embedsim.settings import BadValue

_DESCRIPTION = "Test multimodal embedding models the way software is tested."

_EPILOG = """\
examples:
  embedsim split face16.jpg --rows 4 --cols 4 -o tiles/
  embedsim matrix --rows tiles/ --cols text:怒 text:哀 text:楽 -o out/
  embedsim matrix --rows face1.jpg face2.jpg face3.jpg --model gemini-embedding-2-preview

Run 'embedsim COMMAND --help' for the options of a command.
"""

_MATRIX_DESCRIPTION = """\
Embed the ROW and COL inputs with one model and print their cosine-similarity
matrix as a table; with -o, --png or --csv also write a heatmap PNG and a CSV.
Without --cols the matrix is all pairs of the rows (diagonal = 1).

Each input is one of:
  text:WORDS  a text to embed; the prefix always means text (text:怒, "text:a sad face")
  FILE        an image, audio, video, PDF or UTF-8 .txt file (label = file stem)
  DIR         every non-hidden file in the folder, sorted by name
Anything else is an error; write text:... to embed a text. Labels must be unique:
files with the same stem are labelled by their path as given (a/photo.png, b/photo.png).
Outputs never replace an input nor each other, and are not written into a row/column folder.
Instead of --rows, --dataset DIR takes the rows from a fixture folder's manifest.toml.
"""


def _models_help() -> str:
    """One entry per installed backend: its model ids, what it is, and the key it needs."""
    lines = ["models:"]
    for spec in backends():
        ids = ", ".join(spec.model_ids) + (f" (any {spec.id_pattern})" if spec.id_pattern else "")
        what = ", ".join(filter(None, [spec.description, "local, no network" if spec.local else "remote API"]))
        key = f"; set {' or '.join(spec.key_env)}" if spec.key_env else ""
        default = " (default)" if DEFAULT_MODEL in spec.model_ids else ""
        lines += [f"  {ids}{default}", f"      {spec.name}: {what}{key}."]
    return "\n".join(lines) + "\n\n"


_MATRIX_EXAMPLES = """\
examples:
  embedsim matrix --rows tiles/ --cols text:怒 text:哀 text:楽 -o out/
  embedsim matrix --rows face1.jpg face2.jpg tiles/face16_01.png --png faces.png
  embedsim matrix --dataset fixtures/faces --select medium=photo --cols text:Happy text:Sad
  embedsim matrix --rows a.png b.png --cols text:Angry text:Happy \\
      --model gemini-embedding-2-preview --dimension 3072 --csv sims.csv
  embedsim matrix --rows photos/ --model gemini-embedding-2-preview --cache ~/.cache/embedsim
  embedsim matrix --rows catalogue/ --model gemini-embedding-2 --batch --cache ~/.cache/embedsim
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with the ``split`` and ``matrix`` subcommands."""
    parser = argparse.ArgumentParser(
        prog="embedsim", description=_DESCRIPTION, epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command", required=True)

    split = commands.add_parser(
        "split",
        help="cut a grid image into tiles",
        description="Cut an R x C grid image into tiles in reading order (left to right, then\n"
        "top to bottom), write them as DIR/<stem>_01.png, DIR/<stem>_02.png, ... and\n"
        "print the paths written.",
        epilog="example:\n  embedsim split face16.jpg --rows 4 --cols 4 -o tiles/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    split.add_argument("grid", metavar="GRID", type=Path, help="the grid image")
    split.add_argument("--rows", type=_positive_int, required=True, help="number of tile rows")
    split.add_argument("--cols", type=_positive_int, required=True, help="number of tile columns")
    split.add_argument("-o", "--out", type=Path, required=True, metavar="DIR", help="folder for the tiles")
    split.add_argument(
        "--trim", action="store_true",
        help="drop left-over pixels at the right/bottom edges when the size does not divide evenly",
    )
    split.set_defaults(run=run_split)

    matrix = commands.add_parser(
        "matrix",
        help="print and draw the similarity matrix of files and texts",
        description=_MATRIX_DESCRIPTION,
        epilog=_models_help() + _MATRIX_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    row_source = matrix.add_mutually_exclusive_group(required=True)
    row_source.add_argument("--rows", nargs="+", metavar="ROW", help="inputs for the rows")
    row_source.add_argument(
        "--dataset", type=Path, metavar="DIR",
        help="rows = the [[item]]s of the fixture folder DIR (with a manifest.toml), filtered by --select",
    )
    matrix.add_argument(
        "--select", action="append", default=[], metavar="NAME=VALUE[,VALUE...]",
        help="with --dataset: keep items whose label NAME is one of the VALUEs (repeatable; all must match)",
    )
    matrix.add_argument("--cols", nargs="+", metavar="COL", help="inputs for the columns (default: all pairs of the rows)")
    matrix.add_argument(
        "--model", default=DEFAULT_MODEL,
        help=f"embedding model id (default: {DEFAULT_MODEL}, the offline baseline - not a semantic model)",
    )
    matrix.add_argument(
        "--dimension", type=_positive_int, default=None,
        help=f"embedding dimension (default: the backend's own, {DEFAULT_DIMENSION} for pixels and Gemini)",
    )
    matrix.add_argument(
        "--cache", type=Path, metavar="DIR",
        help="keep remote models' vectors in this content-addressed cache folder and request only "
        "inputs not already in it (an interrupted run keeps what it received; off by default)",
    )
    matrix.add_argument(
        "--timeout", type=_seconds, metavar="SECONDS",
        help=f"seconds one call attempt of a remote model may take, retried like any transient error; "
        f"0: no limit (default: the backend's own, {remote_defaults('default_timeout', ' s')})",
    )
    matrix.add_argument(
        "--api-version", type=_api_version, metavar="VERSION",
        help=f"API version remote models are asked on (default: the backend's own, "
        f"{remote_defaults('default_api_version')})",
    )
    matrix.add_argument(
        "--batch", action="store_true",
        help="send the items as batch jobs of the model's batch service (Gemini Developer API: google-genai's "
        "experimental batches.create_embeddings; half the online price, answers within hours) and wait for them; "
        "the jobs' names are kept in --cache DIR/batch-jobs.json (default ~/.cache/embedsim/batch-jobs.json), "
        "so an interrupted run resumes its jobs instead of paying twice",
    )
    matrix.add_argument(
        "--batch-poll", type=_seconds, metavar="SECONDS", default=None,
        help="with --batch: seconds between two polls of a running job (default: 30)",
    )
    matrix.add_argument("-o", "--out", type=Path, metavar="DIR", help="write DIR/matrix.png and DIR/matrix.csv")
    matrix.add_argument("--png", type=Path, metavar="PATH", help="write the heatmap PNG here (overrides -o)")
    matrix.add_argument("--csv", type=Path, metavar="PATH", help="write the CSV here (overrides -o)")
    matrix.add_argument("--title", help="heatmap title (default: the model id and the matrix shape)")
    matrix.set_defaults(run=run_matrix)
    return parser


def _argument(check: Callable[[Any], Any], refusal: str = "{text} must be {wanted}") -> Callable[[str], Any]:
    """The shared check of :mod:`embedsim.settings` as an argument type, its refusal worded by
    ``refusal`` (``--dimension: -3 must be at least 1``)."""

    def parse(text: str) -> Any:
        try:
            return check(text)
        except BadValue as exc:
            raise argparse.ArgumentTypeError(refusal.format(text=text, quoted=repr(text), wanted=exc.wanted)) from None

    parse.__name__ = check.__name__  # argparse names the type in its own messages
    return parse


_positive_int = _argument(values.positive_int)
_seconds = _argument(values.seconds, "expected {wanted}, got {quoted}")
_api_version = _argument(values.api_version, "expected {wanted}, got {quoted}")
