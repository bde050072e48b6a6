"""``harmonysim mutants``: run every known bug until a check catches it.

Each bug of the bug library runs alone over seeds 1-200 (``--seeds``, written as for
``explore``) of the shipped fault-heavy scenarios (``--scenarios`` overrides), stopping
at its first detection. Reports the check that caught each bug, the seed and scenario
of the first detection and where its run folder is kept; with ``--every-seed``, the
detection rate too. Exit 1 if any bug goes undetected. ``--list`` prints the bug
library instead.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harmonysim import __version__
from harmonysim.cli.common import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    BadInput,
    duration_ms,
    print_json,
)
from harmonysim.cli.explore import (
    DURATION_HELP,
    add_pool_arguments,
    open_pool,
    seed_list,
    sweep_progress,
    sweep_root,
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
        type=seed_list,
        default=f"1-{DEFAULT_MUTANT_SEEDS}",
        help=f"seeds per bug and scenario, e.g. 1-200 or 1,5,9 (1-{DEFAULT_MUTANT_SEEDS})",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(DEFAULT_MUTANT_SCENARIOS),
        help="comma-separated scenario names (in ./scenarios) or files "
        f"({','.join(DEFAULT_MUTANT_SCENARIOS)})",
    )
    parser.add_argument(
        "--scenario",
        metavar="FILE",
        help="measure power instead: every bug over every seed of this generic scenario "
        "(e.g. nemesis-all) and of its staged scenario; rate, first seed, median seeds "
        "to detection, CPU seconds to the first, and the check",
    )
    parser.add_argument(
        "--guided",
        action="store_true",
        help="with --scenario: also explore the generic scenario guided by coverage, with "
        "as many runs as seeds, and report its runs and CPU seconds to the first detection",
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
        "--out",
        type=Path,
        help="where detecting runs go, a new or empty folder (default runs/mutants, or the "
        "first free runs/mutants-N when an earlier sweep holds it)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace the --out folder of an earlier sweep"
    )
    parser.add_argument("--json", action="store_true", help="print one object per bug as JSON")
    parser.add_argument(
        "--list",
        action="store_true",
        help="list the bug library (name and what each bug breaks) and run nothing",
    )


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

    from harmonysim.explore import format_seeds, hunt_mutants

    if args.list:
        return list_bugs(out, as_json=args.json)
    if args.scenario is not None:
        return measure(args, out)
    scenarios = load_scenarios(args.scenarios, args.duration)
    bugs = bug_list(args.bugs)
    out_root = sweep_root(args, Path("runs") / "mutants")
    show = not args.json
    with open_pool(args) as pool:
        if show:
            out.print(
                f"[bold]harmonysim {__version__}[/]  mutants: {len(bugs)} bugs x seeds "
                f"{format_seeds(args.seeds)} x {', '.join(s.name for s in scenarios)}  "
                f"on {pool.description}",
                highlight=False,
            )
        with sweep_progress(out, show, "runs") as progress:
            report = hunt_mutants(
                scenarios,
                pool,
                out_root=out_root,
                bugs=bugs,
                seeds=args.seeds,
                every_seed=args.every_seed,
                progress=progress,
            )
    if args.json:
        print_json([bug.to_json() for bug in report.bugs])
    else:
        out.print(mutants_table(report))
        kept = [bug for bug in report.bugs if bug.first is not None and bug.first.run_dir]
        if kept:
            out.print("detecting runs (harmonysim replay FOLDER):", highlight=False)
        for bug in kept:
            assert bug.first is not None
            out.print(
                f"  {bug.bug}: {bug.first.run_dir}", highlight=False, markup=False, soft_wrap=True
            )
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


def list_bugs(out: Console, *, as_json: bool) -> int:
    """The bug library: each bug's name and the rule it breaks, in library order."""
    from rich.table import Table

    from harmonysim.scenario import BUG_DESCRIPTIONS

    if as_json:
        print_json([{"bug": bug, "description": text} for bug, text in BUG_DESCRIPTIONS.items()])
        return EXIT_OK
    table = Table(title="bug library (switch one on with run --bug NAME or bugs: [NAME])")
    table.add_column("bug", no_wrap=True)
    table.add_column("what it breaks")
    for bug, text in BUG_DESCRIPTIONS.items():
        table.add_row(bug, text)
    out.print(table)
    return EXIT_OK


def mutants_table(report: MutantsReport) -> Table:
    """One row per bug, readable at 80 columns: the check, the first detection, the runs."""
    from rich.table import Table

    from harmonysim.explore import format_seeds

    every_seed = any(bug.detection_rate is not None for bug in report.bugs)
    table = Table(
        title=f"bug library: seeds {format_seeds(list(report.seeds))} of "
        f"{', '.join(report.scenarios)}; {report.runs:,} runs in {report.wall_seconds:.1f} s"
    )
    table.add_column("bug", no_wrap=True)
    table.add_column("caught by", no_wrap=True)
    table.add_column("first detection", no_wrap=True)
    table.add_column("runs", justify="right", no_wrap=True)
    if every_seed:
        table.add_column("rate", justify="right", no_wrap=True)
    for bug in report.bugs:
        first = f"seed {bug.first.seed}, {bug.first.scenario}" if bug.first is not None else "-"
        row = [bug.bug, _caught_by(bug), first, f"{bug.runs:,}"]
        if every_seed:
            rate = bug.detection_rate
            row.append(f"{rate:.0%}" if rate is not None else "-")
        table.add_row(*row)
    return table


def _caught_by(bug: MutantReport) -> str:
    if bug.detected:
        return f"[green]{bug.check}[/]"
    if bug.first is not None:
        return "[red]undetected (a run raised)[/]"
    return "[red]undetected[/]"


def measure(args: argparse.Namespace, out: Console) -> int:
    """``--scenario``: the measured power of the generic scenario and the staged ones."""
    from harmonysim.explore import format_seeds
    from harmonysim.explore.power import measure_power
    from harmonysim.explore.staged import STAGED

    [generic] = load_scenarios(args.scenario, args.duration)
    bugs = bug_list(args.bugs)
    staged = {
        bug: load_scenarios(STAGED[bug].scenario, args.duration)[0]
        for bug in bugs
        if bug in STAGED and scenario_path(STAGED[bug].scenario).is_file()
    }
    staged = {bug: scenario for bug, scenario in staged.items() if scenario.name != generic.name}
    show = not args.json
    with open_pool(args) as pool:
        if show:
            out.print(
                f"[bold]harmonysim {__version__}[/]  mutants: power of {generic.name} and "
                f"the staged scenarios, {len(bugs)} bugs x seeds {format_seeds(args.seeds)} "
                f"on {pool.description}",
                highlight=False,
            )
        with sweep_progress(out, show, "runs") as progress:
            report = measure_power(
                generic, staged, pool, bugs=bugs, seeds=args.seeds, progress=progress
            )
        guided = {}
        if args.guided:
            from harmonysim.explore.guided import explore_guided

            for bug in bugs:
                guided[bug] = explore_guided(
                    generic, pool, bugs=(bug,), budget_runs=len(args.seeds), detections_only=True
                )
    undetected = [bug.bug for bug in report.bugs if bug.generic.detections == 0]
    if args.json:
        print_json(
            {
                "generic": report.generic,
                "seeds": format_seeds(list(report.seeds)),
                "median_seeds_to_detection": report.median_seeds_to_detection,
                "bugs": [
                    {**bug.to_json(), "guided": guided[bug.bug].to_json()}
                    if bug.bug in guided
                    else bug.to_json()
                    for bug in report.bugs
                ],
            }
        )
    else:
        out.print(power_table(report))
        if guided:
            out.print(guided_table(report, guided))
        median = report.median_seeds_to_detection
        out.print(
            f"median seeds to detection across the library on {report.generic}: "
            f"{median:g}"
            + (" (undetected bugs count as more than were run)" if undetected else ""),
            highlight=False,
        )
        out.print(
            "make a detection again with: harmonysim run SCENARIO --seed N --bug BUG",
            highlight=False,
        )
        if undetected:
            out.print(
                f"[red]not found by {report.generic}:[/] {', '.join(undetected)}", highlight=False
            )
    return EXIT_CHECK_FAILED if undetected else EXIT_OK


def power_table(report: Any) -> Table:
    """Per bug, two columns (generic, staged): detections/runs, first seed, median seeds
    to detection, CPU seconds to the first, the check; narrow enough for 80 columns."""
    from rich.table import Table

    table = Table(
        title=f"power over {len(report.seeds)} seeds: {report.generic} (generic) | staged; "
        f"{report.wall_seconds:.0f} s on {report.workers} worker(s)"
    )
    table.add_column("bug", no_wrap=True)
    table.add_column("generic: found\nfirst/median/cpu", no_wrap=True)
    table.add_column("staged: found\nfirst/median/cpu", no_wrap=True)
    table.add_column("check", no_wrap=True)
    for bug in report.bugs:
        check = bug.generic.check or (bug.staged.check if bug.staged is not None else None)
        table.add_row(
            bug.bug,
            _power_cell(bug.generic),
            _power_cell(bug.staged) if bug.staged is not None else "-",
            check or "[red]none[/]",
        )
    return table


def _power_cell(power: Any) -> str:
    found = f"{power.detections}/{power.runs}"
    if power.first_seed is None:
        return f"[red]{found}[/]"
    cpu = power.cpu_seconds_to_first
    return f"{found}\n{power.first_seed}/{power.median_seeds_to_detection:g}/{cpu:.0f}s"


def guided_table(report: Any, guided: dict[str, Any]) -> Table:
    """Per bug: runs and CPU seconds to the first detection, random seeds vs guided."""
    from rich.table import Table

    table = Table(title=f"to the first detection on {report.generic}: random seeds | guided")
    table.add_column("bug", no_wrap=True)
    table.add_column("random: run, cpu", no_wrap=True)
    table.add_column("guided: run, cpu", no_wrap=True)
    for bug in report.bugs:
        power = bug.generic
        random_cell = (
            f"{power.seeds.index(power.first_seed) + 1}, {power.cpu_seconds_to_first:.0f}s"
            if power.first_seed is not None and power.cpu_seconds_to_first is not None
            else f"[red]none in {power.runs}[/]"
        )
        explored = guided.get(bug.bug)
        guided_cell = "-"
        if explored is not None:
            guided_cell = (
                f"{explored.first_failure_run}, {explored.cpu_seconds_to_first:.0f}s"
                if explored.first_failure_run is not None
                else f"[red]none in {explored.runs}[/]"
            )
        table.add_row(bug.bug, random_cell, guided_cell)
    return table
