"""``harmonysim replay RUN_DIR``: re-run a recorded run; exit 0 if its event log matches.

It matches when the re-run's event log has the hash ``run.json`` recorded and equals
the ``events.jsonl`` on disk, so an edited log is reported as a difference."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from harmonysim.cli.common import EXIT_CHECK_FAILED, EXIT_OK, BadInput, print_json

if TYPE_CHECKING:
    from rich.console import Console

NAME = "replay"
HELP = "re-run a run folder and compare event hashes"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="a folder written by `harmonysim run`")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")


def handle(args: argparse.Namespace, out: Console) -> int:
    from harmonysim.runner import RunFolderError, replay_run

    try:
        outcome = replay_run(args.run_dir)
    except RunFolderError as error:
        raise BadInput(str(error)) from None
    if args.json:
        print_json(
            {
                "matched": outcome.matched,
                "expected_hash": outcome.expected_hash,
                "got_hash": outcome.got_hash,
                "expected_count": outcome.expected_count,
                "got_count": outcome.got_count,
                "events_file_hash": outcome.recorded_file_hash,
                "first_difference": outcome.first_difference,
            }
        )
    elif outcome.matched:
        out.print(
            f"[green]replay matches[/]: {outcome.got_count:,} events, hash {outcome.got_hash[:16]}",
            highlight=False,
        )
    else:
        if outcome.recorded_file_hash != outcome.expected_hash:
            found = (
                "is missing"
                if outcome.recorded_file_hash is None
                else f"has hash {outcome.recorded_file_hash[:16]}"
            )
            out.print(
                f"[red]the recorded events.jsonl does not match run.json[/]: it {found}, "
                f"run.json says {outcome.expected_hash[:16]} (was the log edited or cut short?)",
                highlight=False,
                soft_wrap=True,
            )
        out.print(
            f"[red]replay differs[/]: expected {outcome.expected_count:,} events "
            f"(hash {outcome.expected_hash[:16]}), got {outcome.got_count:,} "
            f"(hash {outcome.got_hash[:16]})",
            highlight=False,
        )
        if outcome.first_difference is not None:
            index, expected, got = outcome.first_difference
            out.print(f"first differing event #{index}", highlight=False)
            out.print(f"  expected: {expected}", highlight=False, soft_wrap=True, markup=False)
            out.print(f"  got:      {got}", highlight=False, soft_wrap=True, markup=False)
    return EXIT_OK if outcome.matched else EXIT_CHECK_FAILED
