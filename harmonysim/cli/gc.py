"""``harmonysim gc RUNS_DIR --keep-last N --older-than D``: delete old run folders.

The N newest runs stay whatever their age; of the others, those older than D
(age: since their ``run.json`` was written) are deleted. Failing runs, the ones
``explore`` and ``mutants`` keep, stay unless ``--include-failing``.
``--dry-run`` only says what would go. See ``harmonysim.retention``.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING

from harmonysim.cli.common import EXIT_OK, BadInput, non_negative_int, print_json

if TYPE_CHECKING:
    from rich.console import Console

NAME = "gc"
HELP = "delete old run folders, keeping the newest and the failing ones"

_AGE = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d|w)$")
_AGE_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def age_seconds(text: str) -> float:
    """An age such as ``90s``, ``30m``, ``12h``, ``7d`` or ``2w``, in seconds."""
    match = _AGE.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(
            f"expected an age such as 30m, 12h, 7d or 2w, got {text!r}"
        )
    return float(match.group(1)) * _AGE_SECONDS[match.group(2)]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs_dir", type=Path, help="a folder of run folders (e.g. runs)")
    parser.add_argument(
        "--keep-last", type=non_negative_int, metavar="N", help="always keep the N newest runs"
    )
    parser.add_argument(
        "--older-than", type=age_seconds, metavar="D", help="delete only runs older than D (7d)"
    )
    parser.add_argument(
        "--include-failing",
        action="store_true",
        help="delete failing runs too (explore's and mutants' are kept by default)",
    )
    parser.add_argument("--dry-run", action="store_true", help="only list what would be deleted")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")


def handle(args: argparse.Namespace, out: Console) -> int:
    from harmonysim.retention import apply_plan, find_runs, plan_retention

    if args.keep_last is None and args.older_than is None:
        raise BadInput("gc: give --keep-last N, --older-than D or both")
    root: Path = args.runs_dir
    if not root.is_dir():
        raise BadInput(f"{root}: no such folder")
    plan = plan_retention(
        find_runs(root),
        keep_last=args.keep_last,
        older_than_s=args.older_than,
        include_failing=args.include_failing,
    )
    deleted = [] if args.dry_run else apply_plan(plan, root)
    if args.json:
        print_json(
            {
                "dry_run": args.dry_run,
                "delete": [str(run.path) for run in plan.delete],
                "deleted": [str(path) for path in deleted],
                "keep": [{"run": str(run.path), "why": why} for run, why in plan.keep],
            }
        )
    else:
        verb = "would delete" if args.dry_run else "deleted"
        for run in plan.delete:
            out.print(f"{verb} {run.path}", highlight=False)
        kept_failing = sum(1 for _, why in plan.keep if why.startswith("failing"))
        out.print(
            f"{verb} {len(plan.delete)} run(s), kept {len(plan.keep)}"
            + (f" ({kept_failing} failing)" if kept_failing else ""),
            highlight=False,
        )
    return EXIT_OK
