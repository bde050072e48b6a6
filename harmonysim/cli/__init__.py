"""The ``harmonysim`` command: one module per subcommand, assembled here.

Each command module has ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``handle(args, console) -> int``. Exit statuses everywhere: 0 ok, 1 a check
failed (or a replay differed), 2 bad input, 3 inconclusive. Bad input is one
clear message on stderr, never a traceback. Text that comes from the user or the
run (messages, paths, names, endpoints) is never read as rich markup: it is
printed with ``markup=False``, as ``rich.text.Text``, or through ``escape``.

Startup: every command, ``--help`` included, imports this package and all the
command modules, so those import only argparse and what their arguments need.
Each ``handle`` imports its own work (the runner, the checkers, matplotlib, the web
app, Dask, rich's tables and progress bars) when it runs; rich's console itself is
imported only once the arguments parsed. ``tests/test_startup.py`` holds this.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from harmonysim import __version__
from harmonysim.cli import (
    alerts,
    bench,
    check_history,
    explore,
    export,
    gc,
    mutants,
    plot,
    replay,
    run,
    serve,
    shrink,
)
from harmonysim.cli.common import EXIT_BAD_INPUT, BadInput

__all__ = ["build_parser", "main"]

COMMANDS: tuple[ModuleType, ...] = (
    run,
    replay,
    explore,
    shrink,
    mutants,
    check_history,
    plot,
    export,
    serve,
    bench,
    alerts,
    gc,
)


class _Parser(argparse.ArgumentParser):
    """argparse with exit status 2 and one line of error for bad flags."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="harmonysim",
        description="A deterministic testbed for a Raft-replicated B+ tree key-value store.",
    )
    parser.add_argument("--version", action="version", version=f"harmonysim {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for module in COMMANDS:
        sub = commands.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(handler=module.handle)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from rich.console import Console  # after parsing: --help and bad flags never need it
    from rich.text import Text

    try:
        return int(args.handler(args, Console()))
    except BadInput as error:
        # The message is plain text, never markup: `[n1, n2]` in it must print as written.
        message = Text.assemble(("error:", "bold red"), " ", str(error))
        Console(stderr=True).print(message, highlight=False, soft_wrap=True)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted")
        return 130
