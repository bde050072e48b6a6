"""``harmonysim explore SCENARIO --seeds 1-1000``: one scenario over many seeds, in parallel.

Runs on a local pool of processes (all cores by default) or on a Dask cluster; keeps
every failing seed as a run folder (``runs/explore/<scenario>/seed-N``) that
``harmonysim replay`` reproduces. Exit 1 if any seed fails, 3 if any is inconclusive.
The pool and progress helpers here are shared with ``harmonysim mutants``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from harmonysim import __version__
from harmonysim.cli.common import (
    EXIT_CHECK_FAILED,
    EXIT_INCONCLUSIVE,
    EXIT_OK,
    BadInput,
    duration_ms,
    positive_int,
    print_json,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from harmonysim.explore import ExploreReport, SeedPool, SweepProgress
    from harmonysim.scenario import Scenario

NAME = "explore"
HELP = "run a scenario over many seeds in parallel; keep failing seeds as run folders"

FAILING_SEEDS_SHOWN = 20


DURATION_HINT = (
    "; --duration keeps every fault of the scenario, so the run must end after them "
    "(choose a longer duration, or edit the scenario's faults)"
)
DURATION_HELP = (
    "run for this long instead, e.g. 10s; every fault is kept, so a fault at or after the "
    "new end (or a nemesis running past it) is an error"
)


def seed_list(text: str) -> tuple[int, ...]:
    from harmonysim.explore import SeedSpecError, parse_seeds

    try:
        return parse_seeds(text)
    except SeedSpecError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_pool_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers", type=positive_int, help="worker processes (default: every core)"
    )
    parser.add_argument(
        "--dask",
        metavar="ADDRESS|local",
        help="run on the Dask scheduler at ADDRESS, or on a new local cluster of --workers",
    )
    parser.add_argument(
        "--dask-timeout",
        type=duration_ms,
        default=10_000.0,
        help="how long to try to reach a Dask scheduler (10s)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", type=Path, help="scenario YAML file")
    parser.add_argument(
        "--seeds", type=seed_list, default="1-100", help="seeds, e.g. 1-1000 or 1,5,9 (1-100)"
    )
    add_pool_arguments(parser)
    parser.add_argument("--bug", action="append", default=[], help="switch on a named bug")
    parser.add_argument("--duration", type=duration_ms, help=DURATION_HELP)
    parser.add_argument(
        "--out",
        type=Path,
        help="where failing seeds go, a new or empty folder (default runs/explore/<scenario>, "
        "or the first free runs/explore/<scenario>-N when an earlier sweep holds it)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace the --out folder of an earlier sweep"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--guided",
        type=positive_int,
        metavar="RUNS",
        help="guided exploration instead of seeds: RUNS runs, the first ten random seeds, "
        "then mutations of the fault schedules that reached new coverage; stops at the "
        "first failure and writes its scenario (run it with harmonysim run)",
    )


@contextmanager
def open_pool(args: argparse.Namespace) -> Iterator[SeedPool]:
    """The pool the flags ask for: local processes, or Dask (an address or ``local``)."""
    from harmonysim.explore import DaskPool, LocalPool

    if args.dask is None:
        with LocalPool(args.workers) as local:
            yield local
        return
    try:
        dask = DaskPool(args.dask, args.workers, connect_timeout_s=args.dask_timeout / 1000)
    except (OSError, TimeoutError, ValueError) as error:
        raise BadInput(f"cannot reach the Dask scheduler {args.dask!r}: {error}") from None
    with dask:
        yield dask


@contextmanager
def sweep_progress(
    out: Console, show: bool, what: str
) -> Iterator[Callable[[SweepProgress], None] | None]:
    """A progress bar for a sweep (only on a terminal), as a callback for `sweep`."""
    if not (show and out.is_terminal):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn(what),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[red]{task.fields[failures]} failing"),
        TimeElapsedColumn(),
        console=out,
        transient=True,
    ) as progress:
        task = progress.add_task(what, total=None, failures=0)

        def update(state: SweepProgress) -> None:
            progress.update(task, completed=state.done, total=state.total, failures=state.failures)

        yield update


def with_duration(scenario: Scenario, duration: float | None) -> Scenario:
    """``scenario`` run for ``duration`` ms, faults as written: as ``run --duration`` does.

    A fault at or after the new end (or a nemesis running past it) is bad input, never
    dropped or cut short in silence (a cut nemesis would leave no quiet time to judge
    liveness by).
    """
    if duration is None:
        return scenario
    from harmonysim.scenario import ScenarioError, resolve

    try:
        return resolve(scenario, duration_ms=duration)
    except ScenarioError as error:
        raise BadInput(f"{error}{DURATION_HINT}") from None


def sweep_root(args: argparse.Namespace, default: Path) -> Path:
    """The folder this sweep keeps its runs in: ``--out`` (free, or replaced with
    ``--force``) or the first free default (``runner.claim_sweep_root``)."""
    from harmonysim.runner import RunFolderError, claim_sweep_root

    named = args.out is not None
    try:
        return claim_sweep_root(args.out if named else default, named=named, replace=args.force)
    except RunFolderError as error:
        raise BadInput(str(error)) from None


def handle(args: argparse.Namespace, out: Console) -> int:
    from rich.markup import escape

    from harmonysim.cli.run import load
    from harmonysim.explore import default_explore_root, explore

    scenario = with_duration(load(args.scenario, None, None, args.bug), args.duration)
    out_root = sweep_root(args, default_explore_root(scenario))
    if args.guided is not None:
        return guided(args, scenario, out_root, out)
    show = not args.json
    with open_pool(args) as pool:
        if show:
            bugs = f"  bugs {', '.join(scenario.bugs)}" if scenario.bugs else ""
            out.print(
                f"[bold]harmonysim {__version__}[/]  explore [cyan]{scenario.name}[/]  "
                f"{len(args.seeds):,} seeds  on {pool.description}{bugs}",
                highlight=False,
            )
        with sweep_progress(out, show, "seeds") as progress:
            report = explore(scenario, args.seeds, pool, out_root=out_root, progress=progress)
    if args.json:
        print_json(report_json(report))
    else:
        out.print(summary_table(report))
        shown = list(report.failures.items())[:FAILING_SEEDS_SHOWN]
        for seed, checks in shown:
            run_dir = next(r.run_dir for r in report.results if r.seed == seed)
            where = run_dir or f"(not kept: harmonysim run {args.scenario} --seed {seed})"
            out.print(
                f"[red]seed {seed}[/] failed {', '.join(checks)}: {escape(str(where))}",
                highlight=False,
                soft_wrap=True,
            )
        if len(report.failures) > len(shown):
            out.print(f"... and {len(report.failures) - len(shown)} more failing seeds")
        if report.failures:
            out.print("replay one with: harmonysim replay <run folder>", highlight=False)
    if report.failures:
        return EXIT_CHECK_FAILED
    return EXIT_INCONCLUSIVE if report.unknown else EXIT_OK


def report_json(report: ExploreReport) -> dict[str, object]:
    return {
        "scenario": report.scenario,
        "seeds": len(report.results),
        "failures": {str(seed): list(checks) for seed, checks in report.failures.items()},
        "unknown": {str(seed): list(checks) for seed, checks in report.unknown.items()},
        "failures_by_check": report.failures_by_check,
        "skipped_by_check": report.skipped_by_check,
        "runs_per_second": round(report.runs_per_second, 3),
        "wall_seconds": round(report.wall_seconds, 3),
        "workers": report.workers,
        "results": [
            {
                "seed": result.seed,
                "status": result.status.value,
                "failed_checks": list(result.failed_checks),
                "unknown_checks": list(result.unknown_checks),
                "skipped_checks": list(result.skipped_checks),
                "event_count": result.event_count,
                "event_hash": result.event_hash,
                "run_dir": result.run_dir,
                "error": result.error,
            }
            for result in report.results
        ],
    }


def summary_table(report: ExploreReport) -> Table:
    from rich.table import Table

    passed = len(report.results) - len(report.failures) - len(report.unknown)
    table = Table(title=f"explore {report.scenario}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    table.add_row("seeds", f"{len(report.results):,}")
    table.add_row("passed", f"[green]{passed:,}[/]")
    table.add_row("failed", f"[red]{len(report.failures):,}[/]" if report.failures else "0")
    table.add_row("inconclusive", f"{len(report.unknown):,}")
    for check, count in report.failures_by_check.items():
        table.add_row(f"  failed {check}", f"{count:,}")
    for check, count in report.skipped_by_check.items():  # passed, judged by fewer checks
        table.add_row(f"  {check} not applicable", f"{count:,}")
    table.add_row("runs per second", f"{report.runs_per_second:.2f}")
    table.add_row("wall time", f"{report.wall_seconds:.2f} s")
    table.add_row("workers", f"{report.workers}")
    return table


def guided(args: argparse.Namespace, scenario: Scenario, out_root: Path, out: Console) -> int:
    """``explore --guided RUNS``: coverage-guided exploration (harmonysim.explore.guided)."""
    import yaml

    from harmonysim.explore.guided import explore_guided

    show = not args.json
    with open_pool(args) as pool:
        if show:
            out.print(
                f"[bold]harmonysim {__version__}[/]  explore --guided [cyan]{scenario.name}[/]"
                f"  {args.guided:,} runs  on {pool.description}",
                highlight=False,
            )
        report = explore_guided(scenario, pool, bugs=scenario.bugs, budget_runs=args.guided)
    saved: Path | None = None
    if report.failing_data is not None:
        out_root.mkdir(parents=True, exist_ok=True)
        saved = out_root / f"guided-failure-run-{report.first_failure_run}.yaml"
        saved.write_text(yaml.safe_dump(report.failing_data, sort_keys=False), encoding="utf-8")
    if args.json:
        print_json({**report.to_json(), "scenario_file": str(saved) if saved else None})
    else:
        failure = report.first_failure
        found = (
            f"run {report.first_failure_run} failed {', '.join(failure.failed_checks)} after "
            f"{report.cpu_seconds_to_first or 0:.1f} CPU s"
            if failure is not None
            else "no failure"
        )
        out.print(
            f"{report.runs} runs, {report.features} coverage features, corpus of "
            f"{report.corpus} schedules: {found}",
            highlight=False,
        )
        if saved is not None:
            out.print(f"run it again: harmonysim run {saved}", highlight=False, markup=False)
    return EXIT_CHECK_FAILED if report.first_failure is not None else EXIT_OK
