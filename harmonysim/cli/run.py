"""``harmonysim run SCENARIO``: run a scenario file, write its run folder, report its checks.

The exit status is the run's: 0 when every check the scenario lists passed (or was
not applicable), 1 when one found a violation, 3 when none did but one could not
decide; bad input is 2. A run folder that already holds a run is bad input unless
``--force`` (``runner.claim_run_folder``); ``--duration`` keeps every fault."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from harmonysim import __version__
from harmonysim.cli.common import BadInput, duration_ms, print_json, ratio, seed_value
from harmonysim.obs.tracing import DEFAULT_SAMPLE_RATIO as DEFAULT_TRACE_SAMPLE

DEFAULT_METRICS_EVERY_MS = 1000.0  # harmonysim.runner's (not imported: it loads the simulator)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from harmonysim.check.result import CheckResult
    from harmonysim.runner import RunOutcome
    from harmonysim.scenario import Scenario

NAME = "run"
HELP = "run a scenario file and write a run folder"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", type=Path, help="scenario YAML file")
    parser.add_argument("--seed", type=seed_value, help="override the scenario's seed")
    parser.add_argument(
        "--out",
        type=Path,
        help="run folder (default runs/<name>/seed-<N>); it must be new or empty, see --force",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace the run already in the run folder (the whole folder: plots, exports and "
        "shrunk scenarios go too); without it such a run is kept and nothing is run",
    )
    parser.add_argument(
        "--duration",
        type=duration_ms,
        help="run for this long instead, e.g. 10s; every fault is kept, so a fault at or after "
        "the new end (or a nemesis running past it) is an error",
    )
    parser.add_argument("--bug", action="append", default=[], help="switch on a named bug")
    parser.add_argument(
        "--trace-sample",
        type=ratio,
        default=DEFAULT_TRACE_SAMPLE,
        metavar="R",
        help=f"fraction of client operations traced, 0..1 (0: off); default {DEFAULT_TRACE_SAMPLE}",
    )
    parser.add_argument(
        "--metrics-every",
        type=duration_ms,
        default=DEFAULT_METRICS_EVERY_MS,
        metavar="D",
        help="virtual time between two samples of every metric in metrics.jsonl, e.g. "
        "100ms; default 1s",
    )
    parser.add_argument(
        "--no-failure-traces",
        dest="failure_traces",
        action="store_false",
        help="when a check fails, do not run again to keep the traces of what failed",
    )
    parser.add_argument(
        "--keep-traces",
        choices=("failures", "errors"),
        default="failures",
        help="whose whole traces a sampled run keeps by running again: a failed check's "
        "(default), or also every request that ended in error even when all checks pass",
    )
    parser.add_argument(
        "--otlp-endpoint",
        metavar="URL",
        help="after the run, POST its traces and metrics to this OTLP/HTTP receiver "
        "(e.g. http://localhost:4318, Jaeger or an OpenTelemetry Collector)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print run.json, and the run folder as run_dir"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")


def load(path: Path, seed: int | None, duration: float | None, bugs: list[str]) -> Scenario:
    """A scenario file with command-line overrides; ScenarioError becomes BadInput."""
    from harmonysim.scenario import ScenarioError, load_scenario, resolve

    scenario = None
    try:
        scenario = load_scenario(path)
        return resolve(scenario, seed=seed, duration_ms=duration, bugs=bugs)
    except ScenarioError as error:
        if (
            scenario is not None
            and duration is not None
            and (error.field or "").startswith("faults")
        ):
            from harmonysim.cli.explore import DURATION_HINT

            raise BadInput(f"{error}{DURATION_HINT}") from None
        raise BadInput(str(error)) from None


def claim(out_dir: Path, *, replace: bool) -> None:
    """The run folder is free for a new run (``runner.claim_run_folder``), else BadInput."""
    from harmonysim.runner import RunFolderError, claim_run_folder

    try:
        claim_run_folder(out_dir, replace=replace)
    except RunFolderError as error:
        raise BadInput(str(error)) from None


def handle(args: argparse.Namespace, out: Console) -> int:
    from harmonysim.runner import default_out_dir, run_scenario

    endpoint: str | None = args.otlp_endpoint
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        raise BadInput(f"--otlp-endpoint {endpoint}: an OTLP/HTTP endpoint starts with http://")
    scenario = load(args.scenario, args.seed, args.duration, args.bug)
    out_dir: Path = args.out if args.out is not None else default_out_dir(scenario)
    claim(out_dir, replace=args.force)
    show = not args.quiet and not args.json
    if show:
        bugs = f"  bugs {', '.join(scenario.bugs)}" if scenario.bugs else ""
        out.print(
            f"[bold]harmonysim {__version__}[/]  scenario [cyan]{scenario.name}[/]  "
            f"seed [bold yellow]{scenario.seed}[/]  duration {scenario.duration_ms / 1000:g}s  "
            f"nodes {scenario.cluster.nodes}  clients {scenario.workload.clients}{bugs}",
            highlight=False,
        )
        out.print(f"run folder {out_dir}", highlight=False, markup=False, soft_wrap=True)
    if show and out.is_terminal:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(
            TextColumn("virtual time"),
            BarColumn(),
            TextColumn("{task.completed:.0f}/{task.total:.0f} ms"),
            TimeElapsedColumn(),
            console=out,
            transient=True,
        ) as progress:
            task = progress.add_task("run", total=scenario.duration_ms)
            outcome = run_scenario(
                scenario,
                out_dir,
                progress=lambda now_ms: progress.update(task, completed=now_ms),
                trace_sample=args.trace_sample,
                failure_traces=args.failure_traces,
                metrics_every_ms=args.metrics_every,
                error_traces=args.keep_traces == "errors",
            )
    else:
        outcome = run_scenario(
            scenario,
            out_dir,
            trace_sample=args.trace_sample,
            failure_traces=args.failure_traces,
            metrics_every_ms=args.metrics_every,
            error_traces=args.keep_traces == "errors",
        )
    if endpoint is not None:
        push(endpoint, out_dir, out, quiet=args.quiet or args.json)
    if args.json:
        print_json({**outcome.to_json(), "run_dir": str(out_dir)})
    elif not args.quiet:
        out.print(summary_table(outcome))
        out.print(checks_table(outcome))
        for result in outcome.checks.values():
            print_problems(result, out)
    return outcome.exit_code


def push(endpoint: str, out_dir: Path, out: Console, *, quiet: bool) -> None:
    """POST the run folder's OTLP files to ``endpoint``; BadInput (exit 2) if it refuses."""
    from harmonysim.obs.otlp import OtlpPushError, push_otlp
    from harmonysim.runlog.folder import RunFolder

    folder = RunFolder(out_dir)

    try:
        pushed = push_otlp(endpoint, folder.traces, folder.metrics_otlp)
    except OtlpPushError as error:
        raise BadInput(
            f"the run is saved in {out_dir}, but pushing it to {endpoint} failed: {error}"
        ) from None
    if not quiet:
        out.print(
            f"pushed {pushed.trace_requests} trace and {pushed.metric_requests} metric "
            f"request(s) to {endpoint}",
            highlight=False,
            markup=False,
        )


STATUS_STYLES = {"ok": "green", "violation": "bold red", "unknown": "yellow", "skipped": "dim"}


def print_problems(result: CheckResult, out: Console, *, limit: int = 5) -> None:
    """The first recorded problems of a failed or undecided check, one line each."""
    if result.status.value not in ("violation", "unknown"):
        return
    lines: list[str] = []
    for item in result.details.get("violations", ()):
        lines.append(str(item["message"]) if isinstance(item, dict) else str(item))
    lines.extend(str(line) for line in result.details.get("explanation", ()))
    if not lines:
        return
    style = STATUS_STYLES[result.status.value]
    out.print(f"[{style}]{result.name}[/]:", highlight=False)
    for line in lines[:limit] if not result.details.get("explanation") else lines[: limit * 4]:
        out.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)


def summary_table(outcome: RunOutcome) -> Table:
    from rich.table import Table

    summary = outcome.summary
    table = Table(title=f"{outcome.scenario.name} seed {outcome.scenario.seed}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    ops = f"{summary['ops_ok']:,} / {summary['ops_fail']:,} / {summary['ops_info']:,}"
    latency = f"{summary['latency_p50_ms']:.1f} / {summary['latency_p99_ms']:.1f} ms"
    rows: list[tuple[str, str]] = [
        ("events", f"{outcome.event_count:,}"),
        ("messages sent", f"{summary['messages_sent']:,}"),
        ("delivered", f"{summary['messages_delivered']:,}"),
        ("dropped", f"{summary['messages_dropped']:,}"),
        ("duplicated", f"{summary['messages_duplicated']:,}"),
        ("ops ok / fail / info", ops),
        ("throughput", f"{summary['throughput_ops_per_s']:.1f} ops/s"),
        ("latency p50 / p99", latency),
        ("elections / leader changes", f"{summary['elections']} / {summary['leader_changes']}"),
    ]
    members = summary.get("members")
    if members is not None and (
        summary.get("membership_changes") or len(members) != outcome.scenario.cluster.nodes
    ):
        changes = summary.get("membership_changes", 0)
        rows.append(("final configuration", f"{', '.join(members)} ({changes} change(s))"))
    load = summary.get("load")
    if load is not None:
        done = load["done_ms"]
        when = f"done at {done / 1000:.2f} s" if done is not None else "[red]unfinished[/]"
        rows.append(
            ("load phase", f"{load['records']:,} records, {load['batches']} batches, {when}")
        )
        trees = list(summary.get("btree", {}).values())
        if trees:

            def spread(field: str) -> str:
                low = min(tree[field] for tree in trees)
                high = max(tree[field] for tree in trees)
                return f"{low:,}" if low == high else f"{low:,}-{high:,}"

            rows.append(
                (
                    "B+ trees (per replica)",
                    f"depth {spread('depth')}, splits {spread('splits')}, "
                    f"merges {spread('merges')}, borrows {spread('borrows')}",
                )
            )
    kept = outcome.telemetry.get("kept_for_failure")
    if kept is not None:
        what = f"{kept['requests']} request(s), {len(kept['election_terms'])} election term(s)"
        if kept.get("error"):
            what = f"not kept: {kept['error']}"
        elif kept.get("replayed"):
            what += f", run again in {kept['wall_seconds']:.2f} s"
            first = next(iter(kept.get("trace_ids", {}).items()), None)
            if first is not None:
                what += f"; {first[0]} is trace {first[1]}"
        rows.append(("traces kept for the failure", what))
    rows += [
        ("virtual time", f"{summary['virtual_ms'] / 1000:.1f} s"),
        ("wall time", f"{outcome.wall_seconds:.2f} s"),
        ("speed-up over real time", f"{outcome.speedup:.1f}x"),
        ("event hash", outcome.event_hash[:16]),
    ]
    for what, value in rows:
        table.add_row(what, value)
    return table


def checks_table(outcome: RunOutcome) -> Table:
    """One coloured row per check, then the overall result."""
    from rich.markup import escape
    from rich.table import Table

    overall = outcome.status.value
    table = Table(
        title=f"checks: [{STATUS_STYLES[overall]}]{overall}[/]", title_justify="left", expand=False
    )
    table.add_column("check", style="bold", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("summary", overflow="fold")
    for name, result in outcome.checks.items():
        style = STATUS_STYLES[result.status.value]
        table.add_row(name, f"[{style}]{result.status.value}[/]", escape(result.summary))
    return table
