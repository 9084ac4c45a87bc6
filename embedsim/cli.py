"""The ``embedsim`` command line: ``split`` a grid image into tiles, print and draw a ``matrix``."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import unicodedata
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from embedsim import __version__
from embedsim.backends import DEFAULT_DIMENSION, DEFAULT_MODEL, Embedder, backends, get_embedder, is_local
from embedsim.backends.gemini import DEFAULT_API_VERSION, DEFAULT_TIMEOUT
from embedsim.errors import EmbedsimError, InputError
from embedsim.files import atomic_write
from embedsim.items import Item, load_item, text_item
from embedsim.matrix import SimilarityMatrix, similarity

TEXT_PREFIX = "text:"

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
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (2 for any embedsim error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, usage errors
        return int(exit_.code or 0)
    try:
        with warnings.catch_warnings():  # embedsim's warnings (an unwritable cache, ...) as one line each
            warnings.simplefilter("default")
            warnings.showwarning = _show_warning
            return args.run(args)
    except EmbedsimError as error:
        print(f"embedsim: error: {error}", file=sys.stderr)
        return 2


def _show_warning(message: Warning | str, *_: object, **__: object) -> None:
    print(f"embedsim: warning: {message}", file=sys.stderr)


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
        f"0: no limit (default: the backend's own, {DEFAULT_TIMEOUT:g} s for Gemini)",
    )
    matrix.add_argument(
        "--api-version", metavar="VERSION",
        help=f"API version remote models are asked on (default: the backend's own, {DEFAULT_API_VERSION} for Gemini)",
    )
    matrix.add_argument("-o", "--out", type=Path, metavar="DIR", help="write DIR/matrix.png and DIR/matrix.csv")
    matrix.add_argument("--png", type=Path, metavar="PATH", help="write the heatmap PNG here (overrides -o)")
    matrix.add_argument("--csv", type=Path, metavar="PATH", help="write the CSV here (overrides -o)")
    matrix.add_argument("--title", help="heatmap title (default: the model id and the matrix shape)")
    matrix.set_defaults(run=run_matrix)
    return parser


def run_split(args: argparse.Namespace) -> int:
    """``embedsim split``: write the tiles and print their paths."""
    from embedsim.grid import split_grid, write_tiles

    tiles = split_grid(args.grid, args.rows, args.cols, trim=args.trim, trim_hint="pass --trim")
    for path in write_tiles(tiles, args.out):
        print(path)
    return 0


def run_matrix(args: argparse.Namespace) -> int:
    """``embedsim matrix``: embed, print the table, write the requested PNG and CSV."""
    if args.select and not args.dataset:
        raise InputError("--select filters a --dataset; give --dataset DIR too")
    rows = dataset_rows(args.dataset, args.select) if args.dataset else resolve_inputs(args.rows)
    cols = resolve_inputs(args.cols) if args.cols else None
    png = args.png or (args.out / "matrix.png" if args.out else None)
    csv = args.csv or (args.out / "matrix.csv" if args.out else None)
    outputs = {_output_option(args, "png"): png, _output_option(args, "csv"): csv}
    folders = [Path(a) for a in [*(args.rows or ()), *(args.cols or ())] if not a.startswith(TEXT_PREFIX)]
    folders += [args.dataset] if args.dataset else []
    check_outputs({option: path for option, path in outputs.items() if path},
                  [*rows, *(cols or ())], [f for f in folders if f.is_dir()])
    embedder = _embedder(args.model, args.dimension, args.cache, timeout=args.timeout, api_version=args.api_version)
    result = similarity(embedder, rows, cols)
    print(format_table(result))
    if embedder.local and len({item.kind for item in [*rows, *(cols or ())]}) > 1:
        print(f"note: {args.model} is a baseline without semantics; across media its values are noise",
              file=sys.stderr)

    if png:
        from embedsim.heatmap import save_heatmap

        _write_output(png, lambda: save_heatmap(result, png, args.title))
    if csv:
        _write_output(csv, lambda: atomic_write(csv, result.to_csv().encode("utf-8")))
    return 0


def _embedder(model: str, dimension: int | None, cache: Path | None, **remote: Any) -> Embedder:
    """The model's embedder; remote models get the set ``remote`` options (timeout, API version)
    and the embedding cache when asked for."""
    if is_local(model):
        return get_embedder(model, dimension)
    options = {k: v for k, v in remote.items() if v is not None}
    if cache is not None:
        from embedsim.cache import EmbeddingCache

        options["cache"] = EmbeddingCache(cache)
    return get_embedder(model, dimension, **options)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds (0 or more), got {text!r}")
    return value


def resolve_inputs(arguments: Sequence[str]) -> list[Item]:
    """Items for ``text:...`` arguments, files and folders (see ``embedsim matrix --help``),
    with unique labels: files sharing a stem are labelled by their path as given."""
    items: list[Item] = []
    for argument in arguments:
        if argument.startswith(TEXT_PREFIX):
            items.append(text_item(argument[len(TEXT_PREFIX):]))
            continue
        path = Path(argument)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            if not files:
                raise InputError(f"{path}: folder has no files to embed")
            items.extend(load_item(p) for p in files)
        elif path.exists():
            items.append(load_item(path))
        else:
            raise InputError(
                f"{argument}: no such file or folder; to embed it as text, write {TEXT_PREFIX}{argument}"
            )
    return _unique_labels(items)


def _unique_labels(items: Sequence[Item]) -> list[Item]:
    """Relabel files whose stems clash by their path; refuse an input given twice."""
    stems = Counter(item.label for item in items)
    items = [dataclasses.replace(item, label=item.source) if stems[item.label] > 1 and item.source else item
             for item in items]
    labels = Counter(item.label for item in items)
    twice = [item for item in items if labels[item.label] > 1]
    if twice:
        what = twice[0].source or f"{TEXT_PREFIX}{twice[0].text}"
        raise InputError(f"{what}: given more than once (as {len([i for i in twice if i.label == twice[0].label])} "
                         "inputs with one label); give each input once")
    return items


def check_outputs(outputs: dict[str, Path], inputs: Iterable[Item], folders: Iterable[Path]) -> None:
    """Refuse an output path (``{option: path}``) that is an input file, another output or
    a file directly in an input folder (the next run over that folder would embed it)."""
    sources = {Path(item.source).resolve(): item.source for item in inputs if item.source}
    seen: dict[Path, str] = {}
    for option, path in outputs.items():
        where = path.resolve()
        if where in sources:
            raise InputError(f"{option} {path}: is the input {sources[where]}; writing it would replace the "
                             "input - choose another path")
        if where in seen:
            raise InputError(f"{option} {path}: is also the {seen[where]} output; give each output its own path")
        for folder in folders:
            if where.parent == folder.resolve():
                raise InputError(f"{option} {path}: is inside the input folder {folder}, so the next run over "
                                 "it would embed the output; write it elsewhere")
        seen[where] = option
    for option, path in outputs.items():
        if path.is_dir():
            raise InputError(f"{option} {path}: is a folder; give a file path")


def _output_option(args: argparse.Namespace, kind: str) -> str:
    return f"--{kind}" if getattr(args, kind) else "-o"


def dataset_rows(folder: Path, selections: Sequence[str]) -> list[Item]:
    """The items of the dataset in ``folder`` matching every ``NAME=VALUE[,VALUE...]``."""
    from embedsim.datasets import Dataset

    query: dict[str, list[str]] = {}
    for selection in selections:
        name, equals, values = selection.partition("=")
        if not (name and equals and values) or name in query:
            raise InputError(f"--select {selection!r}: write NAME=VALUE[,VALUE...], each NAME once")
        query[name] = values.split(",")
    dataset = Dataset.load(folder)
    if not dataset.items:
        raise InputError(f"{folder}: the manifest lists no [[item]] (grids are not rows); cut a grid with "
                         "'embedsim split' and pass the tiles' folder to --rows")
    items = dataset.select(**query)
    if not items:
        raise InputError(f"{folder}: no item matches {' '.join(selections)}")
    return items


def format_table(matrix: SimilarityMatrix, digits: int = 3) -> str:
    """The matrix as an aligned text table; wide (CJK) characters count as two columns."""
    cells = [[f"{v:.{digits}f}" for v in row] for row in matrix.values]
    label_width = max(_display_width(label) for label in matrix.row_labels)
    widths = [
        max(_display_width(label), *(len(row[j]) for row in cells))
        for j, label in enumerate(matrix.col_labels)
    ]
    header = [_pad("", label_width, left=True), *(_pad(col, w) for col, w in zip(matrix.col_labels, widths, strict=True))]
    lines = ["  ".join(header).rstrip()]
    for label, row in zip(matrix.row_labels, cells, strict=True):
        lines.append("  ".join([_pad(label, label_width, left=True), *(_pad(c, w) for c, w in zip(row, widths, strict=True))]))
    return "\n".join(lines)


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, left: bool = False) -> str:
    """Pad to ``width`` display columns: labels left-aligned, numbers right-aligned."""
    space = " " * (width - _display_width(text))
    return text + space if left else space + text


def _write_output(path: Path, write: Callable[[], object]) -> None:
    """Run ``write`` and say so on stderr; an OS error becomes an :class:`InputError` naming ``path``."""
    try:
        write()
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror or exc}); check the path") from None
    print(f"wrote {path}", file=sys.stderr)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value

