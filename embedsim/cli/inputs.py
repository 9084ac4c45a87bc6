"""Command-line arguments as items (``text:...``, files, folders, a dataset's rows) with
unique labels, and the output paths checked against them."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from embedsim.errors import InputError
from embedsim.inputs.items import Item, load_item, text_item

TEXT_PREFIX = "text:"


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
    stems = Counter(item.id for item in items)
    items = [dataclasses.replace(item, id=item.source) if stems[item.id] > 1 and item.source else item
             for item in items]
    labels = Counter(item.id for item in items)
    twice = [item for item in items if labels[item.id] > 1]
    if twice:
        what = twice[0].source or f"{TEXT_PREFIX}{twice[0].text}"
        raise InputError(f"{what}: given more than once (as {len([i for i in twice if i.id == twice[0].id])} "
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



def dataset_rows(folder: Path, selections: Sequence[str]) -> list[Item]:
    """The items of the dataset in ``folder`` matching every ``NAME=VALUE[,VALUE...]``."""
    from embedsim.inputs.datasets import Dataset

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
