"""The ``embedsim`` command line: ``split`` a grid image into tiles, print and draw a ``matrix``.

:mod:`~embedsim.cli.parser` defines the commands and their options, :mod:`~embedsim.cli.commands`
runs them, :mod:`~embedsim.cli.inputs` turns arguments into items and checks the outputs,
:mod:`~embedsim.cli.table` prints a matrix.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence

from embedsim.cli.parser import build_parser
from embedsim.errors import EmbedsimError


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
