"""What the commands do: ``split`` writes tiles, ``matrix`` embeds, prints the table and writes PNG / CSV."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from embedsim.backends import Embedder, get_embedder, is_local, resolve
from embedsim.cli.inputs import TEXT_PREFIX, check_outputs, dataset_rows, resolve_inputs
from embedsim.cli.table import format_table
from embedsim.errors import InputError
from embedsim.files import atomic_write
from embedsim.matrix import similarity


def run_split(args: argparse.Namespace) -> int:
    """``embedsim split``: write the tiles and print their paths."""
    from embedsim.inputs.grid import split_grid, write_tiles

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
    if args.batch_poll is not None and not args.batch:
        raise InputError("--batch-poll sets how often a batch job is polled; give --batch too")
    batch = _batch_mode(args.model, args.cache, args.batch_poll) if args.batch else None
    embedder = _embedder(args.model, args.dimension, args.cache, timeout=args.timeout, api_version=args.api_version,
                         batch=batch)
    result = similarity(embedder, rows, cols)
    print(format_table(result))
    if resolve(args.model).baseline and len({item.kind for item in [*rows, *(cols or ())]}) > 1:
        print(f"note: {args.model} is a baseline without semantics; across media its values are noise",
              file=sys.stderr)

    if png:
        from embedsim.snapshot.heatmap import save_heatmap

        _write_output(png, lambda: save_heatmap(result, png, args.title))
    if csv:
        _write_output(csv, lambda: atomic_write(csv, result.to_csv().encode("utf-8")))
    return 0


def _embedder(model: str, dimension: int | None, cache: Path | None, **remote: Any) -> Embedder:
    """The model's embedder with the set ``remote`` options (timeout, API version: remote backends
    only, :meth:`~embedsim.backends.base.BackendSpec.create`); a remote one behind the embedding
    cache when asked for (any backend: :class:`~embedsim.backends.cache.CachedEmbedder`)."""
    _check_key(model)
    embedder = get_embedder(model, dimension, **{k: v for k, v in remote.items() if v is not None})
    if cache is None or is_local(model):
        return embedder
    from embedsim.backends.cache import CachedEmbedder, EmbeddingCache

    return CachedEmbedder(embedder, EmbeddingCache(cache))


def _batch_mode(model: str, cache: Path | None, poll: float | None) -> Any:
    """``--batch``: the model's backend must have a batch service; its jobs' names go into the cache folder."""
    from embedsim.backends import resolve
    from embedsim.backends.batch_mode import DEFAULT_POLL_INTERVAL, STATE_FILE, BatchMode, check_batch, user_state_file

    spec = resolve(model)
    check_batch(spec, model, "--batch")
    if spec.local:
        return None
    state = cache / STATE_FILE if cache is not None else user_state_file()
    return BatchMode(state, DEFAULT_POLL_INTERVAL if poll is None else poll)


def _check_key(model: str) -> None:
    """A model whose backend authenticates with a key only (no other credentials) and finds none:
    an error naming the variables to set - not the Python API's ``api_key=``."""
    import os

    from embedsim.backends import find
    from embedsim.errors import EmbedsimError

    spec = find(model)
    if spec is None or spec.local or not spec.key_env or spec.credentials is not None:
        return
    if spec.api_key(os.environ) is None:
        names = spec.key_env
        alternatives = f" (or {' or '.join(names[1:])})" if len(names) > 1 else ""
        raise EmbedsimError(f"{model} needs an API key: set the environment variable {names[0]}{alternatives}, "
                            f"e.g. {names[0]}=... embedsim matrix --model {model} ...")


def _output_option(args: argparse.Namespace, kind: str) -> str:
    return f"--{kind}" if getattr(args, kind) else "-o"


def _write_output(path: Path, write: Callable[[], object]) -> None:
    """Run ``write`` and say so on stderr; an OS error becomes an :class:`InputError` naming ``path``."""
    try:
        write()
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror or exc}); check the path") from None
    print(f"wrote {path}", file=sys.stderr)
