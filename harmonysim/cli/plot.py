"""``harmonysim plot RUN_DIR``: draw a run folder's timeline, messages, clients and B+ trees.

Files go to ``RUN_DIR/plots`` unless ``--out`` says otherwise, one per kind
(``timeline.png``, ...). ``--from`` / ``--to`` take virtual times such as ``5s`` or
``5200ms`` (``0`` is the start of the run); a missing bound is the start or the
end of the run. Bad input (not a run folder, an unknown kind, ``--from`` not
before ``--to``, a window past the end of the run) is one message and exit 2.

Failures first: the time plots mark each check's violation (``read_violations``),
and the message diagram draws the window asked for when it spans at most 1 s, else
300 ms around the first violation (else the first partition, else the first
election); its title says which window it shows and why.

The B+ tree plots: ``btree`` draws every replica's tree over the window (depth,
nodes and fill per level, splits/merges/borrows per second, hottest leaves);
``btree-structure`` draws one replica's tree at the end of the window, whole, or
from ``--subtree ID`` down (the ids are on its boxes and in ``btree``'s hottest
leaves); ``--replica`` picks the replica (default: the first one up).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from harmonysim.cli.common import EXIT_OK, BadInput, duration_ms, print_json

if TYPE_CHECKING:
    from rich.console import Console

NAME = "plot"
HELP = "draw a run folder's timeline, message diagram, client and B+ tree plots"

KIND_NAMES = ("timeline", "messages", "clients", "btree", "btree-structure")
FORMAT_NAMES = ("png", "svg")


def time_ms(text: str) -> float:
    """A point on the virtual clock: ``0`` or a duration since the start (``5s``)."""
    if text.strip() in ("0", "0s", "0ms", "0m"):
        return 0.0
    return duration_ms(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="a folder written by `harmonysim run`")
    parser.add_argument(
        "--out", type=Path, default=None, help="folder for the images (default RUN_DIR/plots)"
    )
    parser.add_argument(
        "--kind",
        dest="kinds",
        action="extend",
        nargs="+",
        choices=KIND_NAMES,
        metavar="KIND",
        help=f"plots to draw, any of {', '.join(KIND_NAMES)} (default: all)",
    )
    parser.add_argument(
        "--from",
        dest="from_ms",
        type=time_ms,
        default=None,
        metavar="T",
        help="start of the window, e.g. 5s or 5200ms (default: start of the run)",
    )
    parser.add_argument(
        "--to",
        dest="to_ms",
        type=time_ms,
        default=None,
        metavar="T",
        help="end of the window (default: end of the run)",
    )
    parser.add_argument(
        "--format", dest="fmt", choices=FORMAT_NAMES, default="png", help="image format"
    )
    parser.add_argument(
        "--replica",
        default=None,
        metavar="NODE",
        help="server whose tree btree-structure draws and whose hottest leaves btree lists "
        "(default: the first one up at the end of the window)",
    )
    parser.add_argument(
        "--subtree",
        type=int,
        default=None,
        metavar="ID",
        help="btree-structure: draw the subtree under this tree node id (default: the root)",
    )
    parser.add_argument("--json", action="store_true", help="print the files written as JSON")


def handle(args: argparse.Namespace, out: Console) -> int:
    import matplotlib
    from rich.table import Table

    matplotlib.use("Agg")
    from harmonysim.viz import PlotInputError, plot_run
    from harmonysim.viz.records import read_run_info

    window: tuple[float, float] | None = None
    if args.from_ms is not None or args.to_ms is not None:
        start_ms = args.from_ms if args.from_ms is not None else 0.0
        if args.to_ms is not None:
            end_ms = args.to_ms
        else:
            try:
                end_ms = read_run_info(args.run_dir).duration_ms
            except PlotInputError as error:
                raise BadInput(str(error)) from None
        if start_ms >= end_ms:
            raise BadInput(
                f"--from ({start_ms:g} ms) must be before --to ({end_ms:g} ms)"
                if args.to_ms is not None
                else f"--from ({start_ms:g} ms) is at or after the end of the run ({end_ms:g} ms)"
            )
        window = (start_ms, end_ms)
    kinds = list(dict.fromkeys(args.kinds)) if args.kinds else list(KIND_NAMES)
    out_dir = args.out if args.out is not None else args.run_dir / "plots"
    try:
        written = plot_run(
            args.run_dir,
            out_dir,
            kinds=kinds,
            window_ms=window,
            fmt=args.fmt,
            replica=args.replica,
            subtree=args.subtree,
        )
    except PlotInputError as error:
        raise BadInput(str(error)) from None
    if args.json:
        print_json({"files": [str(path) for path in written]})
        return EXIT_OK
    table = Table(title=f"plots of {args.run_dir}", show_header=True)
    table.add_column("kind")
    table.add_column("file")
    table.add_column("size", justify="right")
    for kind, path in zip(kinds, written, strict=True):
        table.add_row(kind, str(path), f"{path.stat().st_size / 1024:,.0f} KiB")
    out.print(table)
    return EXIT_OK
