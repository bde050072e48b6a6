"""``harmonysim mutants``: run every known bug until a check catches it.

Each bug of the bug library runs alone over seeds 1..N (default 200) of the shipped
fault-heavy scenarios (nemesis, crash-restart-churn, leader-isolation; ``--scenarios``
overrides), stopping at its first detection. Reports the check that caught each bug,
the seed of the first detection and the detection rate; keeps the detecting run
folder. Exit 1 if any bug goes undetected.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from harmonysim import __version__
from harmonysim.cli.common import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    BadInput,
    duration_ms,
    positive_int,
    print_json,
)
from harmonysim.cli.explore import (
    DURATION_HELP,
    add_pool_arguments,
    open_pool,
    sweep_progress,
    with_duration,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from harmonysim.explore import MutantReport, MutantsReport
    from harmonysim.scenario import Scenario

NAME = "mutants"
HELP = "run each known bug over many seeds and report which check catches it"

SCENARIO_DIR = Path("scenarios")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from harmonysim.explore.defaults import DEFAULT_MUTANT_SCENARIOS, DEFAULT_MUTANT_SEEDS

    parser.add_argument(
        "--seeds",
        type=positive_int,
        default=DEFAULT_MUTANT_SEEDS,
        help=f"seeds 1..N per bug and scenario ({DEFAULT_MUTANT_SEEDS})",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(DEFAULT_MUTANT_SCENARIOS),
        help="comma-separated scenario names (in ./scenarios) or files "
        f"({','.join(DEFAULT_MUTANT_SCENARIOS)})",
    )
    parser.add_argument("--bugs", help="comma-separated bugs to run (default: every known bug)")
    add_pool_arguments(parser)
    parser.add_argument("--duration", type=duration_ms, help=DURATION_HELP)
    parser.add_argument(
        "--every-seed",
        action="store_true",
        help="run all seeds instead of stopping at the first detection",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("runs") / "mutants", help="where detecting runs go"
    )
    parser.add_argument("--json", action="store_true", help="print one object per bug as JSON")


def scenario_path(name: str) -> Path:
    """A scenario given by file path, or by name in ./scenarios (then next to the package)."""
    if name.endswith((".yaml", ".yml")) or "/" in name:
        return Path(name)
    local = SCENARIO_DIR / f"{name}.yaml"
    if local.is_file():
        return local
    import harmonysim

    shipped = Path(harmonysim.__file__).resolve().parent.parent / "scenarios" / f"{name}.yaml"
    return shipped if shipped.is_file() else local


def load_scenarios(text: str, duration: float | None) -> list[Scenario]:
    from harmonysim.cli.run import load

    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise BadInput("--scenarios: expected at least one scenario name or file")
    scenarios = [with_duration(load(scenario_path(n), None, None, []), duration) for n in names]
    seen: list[str] = []
    for scenario in scenarios:
        if scenario.name in seen:
            raise BadInput(f"--scenarios: {scenario.name!r} is given twice")
        seen.append(scenario.name)
    return scenarios


def bug_list(text: str | None) -> tuple[str, ...]:
    from harmonysim.scenario import KNOWN_BUGS

    if text is None:
        return KNOWN_BUGS
    bugs = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    unknown = [bug for bug in bugs if bug not in KNOWN_BUGS]
    if unknown or not bugs:
        raise BadInput(
            f"--bugs: unknown bug {', '.join(unknown) or '(none given)'}; "
            f"known: {', '.join(KNOWN_BUGS)}"
        )
    return bugs


def handle(args: argparse.Namespace, out: Console) -> int:
    from rich.markup import escape

    from harmonysim.explore import hunt_mutants

    scenarios = load_scenarios(args.scenarios, args.duration)
    bugs = bug_list(args.bugs)
    show = not args.json
    with open_pool(args) as pool:
        if show:
            out.print(
                f"[bold]harmonysim {__version__}[/]  mutants: {len(bugs)} bugs x seeds "
                f"1..{args.seeds} x {', '.join(s.name for s in scenarios)}  on {pool.description}",
                highlight=False,
            )
        with sweep_progress(out, show, "runs") as progress:
            report = hunt_mutants(
                scenarios,
                pool,
                out_root=args.out,
                bugs=bugs,
                seeds=args.seeds,
                every_seed=args.every_seed,
                progress=progress,
            )
    if args.json:
        print_json([bug.to_json() for bug in report.bugs])
    else:
        out.print(mutants_table(report))
        for bug in report.bugs:
            if bug.first is not None and bug.first.error is not None:
                out.print(
                    f"[red]{bug.bug}[/]: seed {bug.first.seed} of {bug.first.scenario} raised "
                    f"{escape(bug.first.error)}",
                    highlight=False,
                    markup=True,
                    soft_wrap=True,
                )
        if report.undetected:
            out.print(f"[red]undetected:[/] {', '.join(report.undetected)}", highlight=False)
    return EXIT_CHECK_FAILED if report.undetected else EXIT_OK


def mutants_table(report: MutantsReport) -> Table:
    from rich.table import Table

    table = Table(
        title=f"bug library: seeds 1..{report.seeds} of {', '.join(report.scenarios)}, "
        f"{report.runs:,} runs in {report.wall_seconds:.1f} s"
    )
    table.add_column("bug", no_wrap=True)
    table.add_column("caught by")
    table.add_column("first seed", justify="right")
    table.add_column("scenario")
    table.add_column("runs", justify="right")
    table.add_column("detection rate", justify="right")
    for bug in report.bugs:
        table.add_row(
            bug.bug,
            _caught_by(bug),
            str(bug.first_seed) if bug.first_seed is not None else "-",
            bug.first.scenario if bug.first is not None else "-",
            f"{bug.runs:,}",
            f"{bug.detection_rate:.1%}",
        )
    return table


def _caught_by(bug: MutantReport) -> str:
    if bug.detected:
        return f"[green]{bug.check}[/]"
    if bug.first is not None:
        return "[red]undetected (a run raised)[/]"
    return "[red]undetected[/]"
