"""``harmonysim shrink RUN_DIR``: a smaller scenario that fails the same check, same seed.

Reads a failing run folder, searches (greedy delta debugging, `harmonysim.explore.shrink`)
and writes the smallest failing scenario found as YAML (default ``RUN_DIR/shrunk.yaml``).
Exit 0 when it wrote a scenario (smaller, or the original when nothing smaller fails),
2 for bad input: not a run folder, a run that did not fail, or one that no longer does.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from harmonysim.cli.common import EXIT_OK, BadInput, positive_int, print_json

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from harmonysim.explore import ShrinkReport

NAME = "shrink"
HELP = "search for a smaller scenario that fails the same check with the same seed"

SHRUNK_FILE = "shrunk.yaml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from harmonysim.explore.defaults import DEFAULT_BUDGET

    parser.add_argument("run_dir", type=Path, help="a failing run folder")
    parser.add_argument("--out", type=Path, help=f"scenario file to write (RUN_DIR/{SHRUNK_FILE})")
    parser.add_argument(
        "--budget",
        type=positive_int,
        default=DEFAULT_BUDGET,
        help=f"most runs to try ({DEFAULT_BUDGET})",
    )
    parser.add_argument("--check", help="the check to keep failing (default: the first failed)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def handle(args: argparse.Namespace, out: Console) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from harmonysim.explore import ShrinkError, shrink_scenario
    from harmonysim.explore.verdict import CheckStatus, checks_with_status
    from harmonysim.runner import RunFolderError, load_run

    try:
        scenario, recorded = load_run(args.run_dir)
    except RunFolderError as error:
        raise BadInput(str(error)) from None
    checks = recorded.get("checks")
    failed = checks_with_status(checks, CheckStatus.VIOLATION) if isinstance(checks, dict) else []
    if not failed:
        raise BadInput(f"{args.run_dir}: the run did not fail any check; nothing to shrink")
    check: str = args.check if args.check is not None else failed[0]
    if check not in failed:
        raise BadInput(f"{args.run_dir}: the run did not fail {check!r} (it failed {failed})")
    show = not args.json
    if show:
        out.print(
            f"shrinking [cyan]{scenario.name}[/] seed [bold yellow]{scenario.seed}[/]: "
            f"keep failing [red]{check}[/], at most {args.budget} runs",
            highlight=False,
        )
    try:
        if show and out.is_terminal:
            with Progress(
                TextColumn("runs"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[edit]}"),
                TimeElapsedColumn(),
                console=out,
                transient=True,
            ) as progress:
                task = progress.add_task("shrink", total=args.budget, edit="")

                def on_run(runs: int, budget: int, edit: str, fails: bool) -> None:
                    mark = "[red]still fails[/]" if fails else "passes"
                    progress.update(task, completed=runs, edit=f"{edit}: {mark}")

                report = shrink_scenario(scenario, check, budget=args.budget, on_run=on_run)
        else:
            report = shrink_scenario(scenario, check, budget=args.budget)
    except ShrinkError as error:
        raise BadInput(str(error)) from None
    out_file: Path = args.out if args.out is not None else args.run_dir / SHRUNK_FILE
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(shrunk_yaml(report))
    if args.json:
        print_json(
            {
                "check": report.check,
                "seed": report.original.seed,
                "bugs": list(report.original.bugs),
                "before": report.before.as_dict(),
                "after": report.after.as_dict(),
                "runs": report.runs,
                "budget_spent": report.budget_spent,
                "edits": [step.edit for step in report.steps],
                "out": str(out_file),
            }
        )
        return EXIT_OK
    out.print(size_table(report))
    verdict = "smaller scenario" if report.steps else "nothing smaller fails; the original"
    spent = " (budget spent)" if report.budget_spent else ""
    out.print(
        f"{verdict} written to {out_file} after {report.runs} runs{spent}; "
        f"reproduce with: harmonysim run {out_file}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    return EXIT_OK


def shrunk_yaml(report: ShrinkReport) -> str:
    """The shrunk scenario as a file: renamed, described, and validated again."""
    from harmonysim.explore.edits import build
    from harmonysim.scenario import dump_scenario, scenario_to_data

    data = scenario_to_data(report.shrunk)
    name = report.original.name
    if report.steps and not name.endswith("-shrunk"):
        data["name"] = f"{name}-shrunk"
    bugs = f" with bugs {', '.join(report.original.bugs)}" if report.original.bugs else ""
    data["description"] = (
        f"{name} seed {report.original.seed}{bugs}, shrunk: still fails {report.check}. "
        f"{report.original.description}".strip()
    )
    scenario = build(data, source="shrunk scenario")
    if scenario is None:  # pragma: no cover - the name and description are always valid
        raise AssertionError("the shrunk scenario no longer validates")
    return dump_scenario(scenario)


def size_table(report: ShrinkReport) -> Table:
    from rich.table import Table

    table = Table(title=f"shrink: fails {report.check}")
    table.add_column("")
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    before, after = report.before.as_dict(), report.after.as_dict()
    for key in before:
        left, right = before[key], after[key]
        table.add_row(
            key,
            f"{left:,}" if isinstance(left, int) else str(left),
            f"{right:,}" if isinstance(right, int) else str(right),
        )
    table.add_row("runs tried", "", f"{report.runs}")
    return table
