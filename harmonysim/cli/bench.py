"""``harmonysim bench kernel|btree``: hot paths measured beside their bare baselines, in one run."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from harmonysim.cli.common import EXIT_OK, positive_int, print_json

NAME = "bench"
HELP = "benchmarks beside their bare baselines"

KERNEL_GOAL = 3.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", choices=["kernel", "btree"], help="what to measure")
    parser.add_argument("--messages", type=positive_int, default=200_000, help="kernel: messages")
    parser.add_argument("--keys", type=positive_int, default=1_000_000, help="btree: keys")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def handle(args: argparse.Namespace, out: Console) -> int:
    if args.target == "kernel":
        return _kernel(args, out)
    return _btree(args, out)


def _kernel(args: argparse.Namespace, out: Console) -> int:
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

    rows = run_btree_benchmark(n=args.keys)
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
