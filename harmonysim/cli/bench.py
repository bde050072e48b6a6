"""``harmonysim bench kernel|btree|tracing|cluster|checks``: hot paths beside bare baselines,
one run; ``checks``: the checkers on a large history, beside their budget."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harmonysim.cli.common import EXIT_OK, positive_int, print_json

if TYPE_CHECKING:
    from rich.console import Console

NAME = "bench"
HELP = "benchmarks beside their bare baselines"

KERNEL_GOAL = 3.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        choices=["kernel", "btree", "tracing", "cluster", "checks"],
        help="what to measure",
    )
    parser.add_argument(
        "--scenario",
        type=Path,
        default=Path("scenarios/standard.yaml"),
        help="tracing, cluster: the scenario to run (default scenarios/standard.yaml)",
    )
    parser.add_argument(
        "--repeat", type=positive_int, default=3, help="cluster: runs per figure (best kept)"
    )
    parser.add_argument(
        "--messages",
        type=positive_int,
        default=200_000,
        help="kernel, cluster: messages relayed by the kernel benchmark",
    )
    parser.add_argument(
        "--keys",
        type=positive_int,
        default=None,
        help="btree: keys (default 1,000,000); checks: loaded keys (default 100,000)",
    )
    parser.add_argument(
        "--operations",
        type=positive_int,
        default=100_000,
        help="checks: operations in the history (default 100,000)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the figures of the build this process runs (compiled or pure) as JSON",
    )


def handle(args: argparse.Namespace, out: Console) -> int:
    """Under the compiled build, the pure build's figures (a child process with the pure
    switch, measured first) beside the compiled build's; else the pure figures alone."""
    from harmonysim.compiled import build_kind

    if args.json or build_kind() != "compiled":
        status = _measure(args, out)
        if not args.json:
            out.print("pure build only: no current compiled build (make compile) or pure forced")
        return status
    pure = _figures_of_pure_child(args)
    captured = io.StringIO()
    json_args = argparse.Namespace(**{**vars(args), "json": True})
    with contextlib.redirect_stdout(captured):
        _measure(json_args, out)
    _print_side_by_side(args, _flat(pure), _flat(_loads(captured.getvalue())), out)
    return EXIT_OK


def _measure(args: argparse.Namespace, out: Console) -> int:
    if args.target == "kernel":
        return _kernel(args, out)
    if args.target == "tracing":
        return _tracing(args, out)
    if args.target == "cluster":
        return _cluster(args, out)
    if args.target == "checks":
        return _checks(args, out)
    return _btree(args, out)


def _checks(args: argparse.Namespace, out: Console) -> int:
    from rich.table import Table

    from harmonysim.bench.checks import LINEARIZABILITY_BUDGET_S, run_check_benchmark

    keys = args.keys if args.keys is not None else 100_000
    result = run_check_benchmark(keys, args.operations)
    if args.json:
        print_json({**dataclasses.asdict(result), "budget_seconds": LINEARIZABILITY_BUDGET_S})
        return EXIT_OK
    table = Table(title=f"checks: {keys:,} keys, {args.operations:,} operations")
    table.add_column("check")
    table.add_column("wall s", justify="right")
    table.add_column("CPU s", justify="right")
    table.add_column("what", justify="left")
    table.add_row(
        "linearizability",
        f"{result.linearizability_seconds:.2f}",
        f"{result.linearizability_cpu_seconds:.2f}",
        f"{result.verdict}; {result.partitions:,} partitions, {result.steps:,} steps; "
        f"budget {LINEARIZABILITY_BUDGET_S:g} CPU s at 100,000 x 100,000",
    )
    table.add_row(
        "replica agreement",
        f"{result.replica_seconds:.2f}",
        f"{result.replica_cpu_seconds:.2f}",
        f"{result.replicas} trees: invariants and items compared",
    )
    out.print(table)
    return EXIT_OK


def _loads(text: str) -> Any:
    import orjson

    return orjson.loads(text)


def _figures_of_pure_child(args: argparse.Namespace) -> Any:
    from harmonysim.compiled import PURE_ENV

    argv = [sys.executable, "-m", "harmonysim", "bench", args.target, "--json"]
    argv += ["--scenario", str(args.scenario), "--repeat", str(args.repeat)]
    argv += ["--messages", str(args.messages), "--operations", str(args.operations)]
    if args.keys is not None:
        argv += ["--keys", str(args.keys)]
    done = subprocess.run(
        argv, env={**os.environ, PURE_ENV: "1"}, check=True, capture_output=True, text=True
    )
    return _loads(done.stdout)


def _flat(figures: Any, prefix: str = "") -> dict[str, float]:
    """The numeric figures of a ``--json`` answer by path (btree rows by operation)."""
    if isinstance(figures, list):
        flat: dict[str, float] = {}
        for row in figures:
            flat.update(_flat({k: v for k, v in row.items() if k != "operation"}, row["operation"]))
        return flat
    flat = {}
    for key, value in figures.items():
        path = f"{prefix} {key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(_flat(value, path))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            flat[path] = float(value)
    return flat


def _print_side_by_side(
    args: argparse.Namespace, pure: dict[str, float], native: dict[str, float], out: Console
) -> None:
    from rich.table import Table

    table = Table(title=f"bench {args.target}: pure and compiled builds, one run")
    table.add_column("figure")
    table.add_column("pure", justify="right")
    table.add_column("compiled", justify="right")
    table.add_column("compiled / pure", justify="right")
    for name, value in pure.items():
        other = native.get(name)
        if other is None:
            continue
        ratio = f"{other / value:.2f}" if value else ""
        table.add_row(name, f"{value:.4g}", f"{other:.4g}", ratio)
    out.print(table)


def _cluster(args: argparse.Namespace, out: Console) -> int:
    from rich.table import Table

    from harmonysim.bench.cluster import SPEEDUP_GOAL, run_cluster_benchmark
    from harmonysim.cli.run import load

    scenario = load(args.scenario, None, None, [])
    result = run_cluster_benchmark(
        scenario, args.scenario, repeat=args.repeat, kernel_messages=args.messages
    )
    kernel = result.kernel
    if args.json:
        print_json(
            {
                "scenario": result.scenario,
                "virtual_seconds": result.virtual_seconds,
                "messages": result.messages,
                "events": result.events,
                "in_process_seconds": result.in_process_seconds,
                "whole_process_seconds": result.whole_process_seconds,
                "startup_seconds": result.startup_seconds,
                "us_per_message": result.us_per_message,
                "bare_us_per_message": kernel.bare_us_per_message,
                "kernel_us_per_message": kernel.kernel_us_per_message,
                "vs_bare": result.vs_bare,
                "vs_kernel": result.vs_kernel,
                "in_process_speedup": result.in_process_speedup,
                "whole_process_speedup": result.whole_process_speedup,
                "speedup_goal": SPEEDUP_GOAL,
            }
        )
        return EXIT_OK
    table = Table(
        title=f"{result.scenario}: {result.virtual_seconds:g} virtual s, "
        f"{result.messages:,} messages, {result.events:,} events; best of {args.repeat}"
    )
    table.add_column("")
    table.add_column("wall s", justify="right")
    table.add_column("µs / message", justify="right")
    table.add_column("x bare simpy", justify="right")
    table.add_column("x real time", justify="right")
    bare = kernel.bare_us_per_message
    table.add_row("bare simpy (relay)", "", f"{bare:.2f}", "1.0", "")
    table.add_row(
        "kernel: network + event log",
        "",
        f"{kernel.kernel_us_per_message:.2f}",
        f"{kernel.ratio:.1f}",
        "",
    )
    table.add_row(
        "whole run, in process",
        f"{result.in_process_seconds:.2f}",
        f"{result.us_per_message:.1f}",
        f"{result.vs_bare:.1f}",
        f"{result.in_process_speedup:.1f}",
    )
    table.add_row(
        "whole process (python -m harmonysim run)",
        f"{result.whole_process_seconds:.2f}",
        "",
        "",
        f"{result.whole_process_speedup:.1f}",
    )
    table.add_row("  of which interpreter start-up", f"{result.startup_seconds:.2f}", "", "", "")
    out.print(table)
    met = result.whole_process_speedup >= SPEEDUP_GOAL
    verdict = "[green]within goal[/]" if met else "[red]below goal[/]"
    out.print(
        f"whole process {result.whole_process_speedup:.1f}x real time "
        f"(goal >= {SPEEDUP_GOAL:g}x): {verdict}"
    )
    return EXIT_OK


def _tracing(args: argparse.Namespace, out: Console) -> int:
    from rich.table import Table

    from harmonysim.bench.tracing import RATIOS, run_tracing_benchmark
    from harmonysim.cli.run import load
    from harmonysim.obs.bench import bench_metrics, bench_tracing

    scenario = load(args.scenario, None, None, [])
    result = run_tracing_benchmark(scenario)
    metrics = bench_metrics()
    spans = bench_tracing()
    goals = {0.01: 1.03, 1.0: 1.15}
    if args.json:
        print_json(
            {
                "scenario": result.scenario,
                "wall_seconds": {str(k): v for k, v in result.wall_seconds.items()},
                "ratio_vs_off": {str(k): result.ratio(k) for k in RATIOS},
                "cpu_seconds": {str(k): v for k, v in result.cpu_seconds.items()},
                "cpu_ratio_vs_off": {str(k): result.cpu_ratio(k) for k in RATIOS},
                "spans_written": {str(k): v for k, v in result.spans_written.items()},
                "goals": {str(k): v for k, v in goals.items()},
                "metrics_ns": dataclasses.asdict(metrics),
                "spans_ns": dataclasses.asdict(spans),
            }
        )
        return EXIT_OK
    table = Table(title=f"tracing overhead: {result.scenario}, best of 3, one process")
    table.add_column("--trace-sample")
    table.add_column("wall s", justify="right")
    table.add_column("vs off", justify="right")
    table.add_column("cpu s", justify="right")
    table.add_column("cpu vs off", justify="right")
    table.add_column("spans written", justify="right")
    table.add_column("goal", justify="right")
    for sample in RATIOS:
        goal = goals.get(sample)
        table.add_row(
            f"{sample:g}",
            f"{result.wall_seconds[sample]:.2f}",
            f"{result.ratio(sample):.3f}x",
            f"{result.cpu_seconds[sample]:.2f}",
            f"{result.cpu_ratio(sample):.3f}x",
            f"{result.spans_written[sample]:,}",
            f"<= {goal:g}x" if goal else "",
        )
    out.print(table)
    costs = Table(title="per-update cost beside a bare Python call (ns)")
    costs.add_column("what")
    costs.add_column("ns", justify="right")
    costs.add_column("x bare call", justify="right")
    for what, value in [
        ("bare function call", metrics.bare_call_ns),
        ("counter inc (pre-bound)", metrics.counter_inc_ns),
        ("gauge set", metrics.gauge_set_ns),
        ("histogram observe", metrics.histogram_observe_ns),
        ("labels lookup + inc", metrics.labels_lookup_ns),
        ("span create + end, tracing on", spans.span_on_ns),
        ("span create + end, tracing off", spans.span_off_ns),
    ]:
        costs.add_row(what, f"{value:.0f}", f"{value / metrics.bare_call_ns:.1f}")
    out.print(costs)
    return EXIT_OK


def _kernel(args: argparse.Namespace, out: Console) -> int:
    from rich.table import Table

    from harmonysim.bench.kernel import run_kernel_benchmark

    result = run_kernel_benchmark(messages=args.messages)
    if args.json:
        print_json(
            {
                "messages": result.messages,
                "bare_us_per_message": result.bare_us_per_message,
                "kernel_us_per_message": result.kernel_us_per_message,
                "bare_messages_per_second": result.bare_messages_per_second,
                "kernel_messages_per_second": result.kernel_messages_per_second,
                "ratio": result.ratio,
                "goal": KERNEL_GOAL,
            }
        )
        return EXIT_OK
    table = Table(title=f"kernel: {result.messages:,} messages, best of 3")
    table.add_column("")
    table.add_column("messages / wall s", justify="right")
    table.add_column("µs / message", justify="right")
    table.add_row(
        "bare simpy",
        f"{result.bare_messages_per_second:,.0f}",
        f"{result.bare_us_per_message:.2f}",
    )
    table.add_row(
        "harmonysim network",
        f"{result.kernel_messages_per_second:,.0f}",
        f"{result.kernel_us_per_message:.2f}",
    )
    out.print(table)
    verdict = "[green]within goal[/]" if result.ratio <= KERNEL_GOAL else "[red]over goal[/]"
    out.print(f"cost ratio {result.ratio:.2f}x (goal <= {KERNEL_GOAL:g}x): {verdict}")
    return EXIT_OK


def _btree(args: argparse.Namespace, out: Console) -> int:
    from harmonysim.bench.btree import print_btree_benchmark, run_btree_benchmark

    rows = run_btree_benchmark(n=args.keys if args.keys is not None else 1_000_000)
    if args.json:
        print_json(
            [
                {
                    "operation": row.operation,
                    "btree_s": row.btree_s,
                    "sorteddict_s": row.sorteddict_s,
                    "ratio": row.ratio,
                    "goal": row.goal,
                }
                for row in rows
            ]
        )
    else:
        print_btree_benchmark(rows, out)
    return EXIT_OK
