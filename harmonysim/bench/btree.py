"""B+ tree benchmark: ``BPlusTree`` beside ``sortedcontainers.SortedDict`` in one process.

Rules of this file:

- Both structures get the same work, in the same process, one after the other: ``n`` random
  integer keys from ``random.Random(seed)`` inserted in draw order, then every key looked up in
  draw order, then range scans of 100 consecutive keys (``irange`` between the 1st and 100th
  key of a run of the sorted keys, from seeded start positions), every scan consumed fully.
- The B+ tree runs with an idle observer attached (a no-op ``NullObserver``), so the cost of
  the hook checks is part of what is measured.
- With ``repeat`` rounds, each round builds fresh structures and each side keeps its best
  time per phase.
- Each phase is timed with ``time.perf_counter`` with the garbage collector paused, as
  ``timeit`` does; wall time never reaches simulation output. ``ratio`` is
  ``sorteddict_s / btree_s``: above 1 the B+ tree is faster. ``goal`` is the ratio to reach.
- The scans are cross-checked: both structures must yield the same number of keys, otherwise the
  benchmark raises instead of reporting a number for wrong work.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table
from sortedcontainers import SortedDict

from harmonysim.btree import DEFAULT_ORDER, BPlusTree, NullObserver

__all__ = [
    "GOALS",
    "BenchOperation",
    "BenchRow",
    "main",
    "print_btree_benchmark",
    "run_btree_benchmark",
]

SCAN_LENGTH = 100
"""Keys per range scan."""

DEFAULT_SCANS = 10_000
"""Number of range scans at full size (fewer when ``n`` is small)."""


class BenchOperation(StrEnum):
    """The measured phases."""

    INSERT = "insert"
    GET = "get"
    SCAN = "scan"


GOALS: dict[BenchOperation, float] = {
    BenchOperation.INSERT: 0.9,
    BenchOperation.GET: 0.2,
    BenchOperation.SCAN: 2.0,
}
"""Minimum ratio (SortedDict time over B+ tree time) each phase should reach."""


@dataclass(frozen=True, slots=True)
class BenchRow:
    """One phase: wall seconds on each side, their ratio (>1: B+ tree faster) and the goal.

    ``operations`` counts inserts, gets or scans (each scan yields 100 keys).
    """

    operation: BenchOperation
    btree_s: float
    sorteddict_s: float
    ratio: float
    goal: float
    operations: int

    @property
    def met(self) -> bool:
        """Whether the ratio reaches the goal."""
        return self.ratio >= self.goal


def _timed(work: Callable[[], int]) -> tuple[float, int]:
    """Run ``work`` with the garbage collector paused; return seconds and its result."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        result = work()
        elapsed_s = time.perf_counter() - start
    finally:
        if was_enabled:
            gc.enable()
    return elapsed_s, result


def _insert_all(setitem: Callable[[int, int], None], keys: list[int]) -> Callable[[], int]:
    def work() -> int:
        for key in keys:
            setitem(key, key)
        return len(keys)

    return work


def _get_all(getitem: Callable[[int], int], keys: list[int]) -> Callable[[], int]:
    def work() -> int:
        for key in keys:
            getitem(key)
        return len(keys)

    return work


def _scan_all(
    irange: Callable[..., Iterator[Any]], bounds: list[tuple[int, int]]
) -> Callable[[], int]:
    def work() -> int:
        seen = 0
        for low, high in bounds:
            for _ in irange(low, high):
                seen += 1
        return seen

    return work


def _one_round(
    keys: list[int], bounds: list[tuple[int, int]], order: int
) -> list[tuple[BenchOperation, float, float, int]]:
    """Fresh structures, every phase once: (operation, btree_s, sorteddict_s, operations).

    Each phase's work returns a count of what it did (keys written, read or scanned); both
    sides must agree on it.
    """
    tree: BPlusTree[int, int] = BPlusTree(order)
    tree.observer = NullObserver()
    sorted_dict: Any = SortedDict()
    phases: list[tuple[BenchOperation, Callable[[], int], Callable[[], int]]] = [
        (
            BenchOperation.INSERT,
            _insert_all(tree.__setitem__, keys),
            _insert_all(sorted_dict.__setitem__, keys),
        ),
        (
            BenchOperation.GET,
            _get_all(tree.__getitem__, keys),
            _get_all(sorted_dict.__getitem__, keys),
        ),
        (
            BenchOperation.SCAN,
            _scan_all(tree.irange, bounds),
            _scan_all(sorted_dict.irange, bounds),
        ),
    ]
    operations = {
        BenchOperation.INSERT: len(keys),
        BenchOperation.GET: len(keys),
        BenchOperation.SCAN: len(bounds),
    }
    timings = []
    for operation, btree_work, sorteddict_work in phases:
        sorteddict_s, sorteddict_count = _timed(sorteddict_work)
        btree_s, btree_count = _timed(btree_work)
        if btree_count != sorteddict_count:
            raise AssertionError(
                f"{operation}: B+ tree did {btree_count} units of work, "
                f"SortedDict {sorteddict_count}"
            )
        timings.append((operation, btree_s, sorteddict_s, operations[operation]))
    if len(tree) != len(sorted_dict):
        raise AssertionError(f"B+ tree holds {len(tree)} keys, SortedDict {len(sorted_dict)}")
    return timings


def run_btree_benchmark(
    n: int = 1_000_000, order: int | None = None, seed: int = 1, *, repeat: int = 1
) -> list[BenchRow]:
    """Measure insert, get and 100-key scans on ``n`` random int keys; one row per phase.

    With ``repeat > 1`` the whole round (fresh structures) runs that many times and each side
    keeps its best time per phase, which damps noise from other processes on the machine.
    """
    if n < 2 * SCAN_LENGTH:
        raise ValueError(f"n must be at least {2 * SCAN_LENGTH}, got {n}")
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    rng = random.Random(seed)
    keys = [rng.randrange(1 << 62) for _ in range(n)]
    sorted_keys = sorted(set(keys))
    scans = min(DEFAULT_SCANS, max(1, n // 10))
    starts = [rng.randrange(len(sorted_keys) - SCAN_LENGTH + 1) for _ in range(scans)]
    bounds = [(sorted_keys[start], sorted_keys[start + SCAN_LENGTH - 1]) for start in starts]

    rounds = [
        _one_round(keys, bounds, order if order is not None else DEFAULT_ORDER)
        for _ in range(repeat)
    ]
    rows: list[BenchRow] = []
    for phase, (operation, _, _, operations) in enumerate(rounds[0]):
        btree_s = min(timings[phase][1] for timings in rounds)
        sorteddict_s = min(timings[phase][2] for timings in rounds)
        rows.append(
            BenchRow(
                operation=operation,
                btree_s=btree_s,
                sorteddict_s=sorteddict_s,
                ratio=sorteddict_s / btree_s,
                goal=GOALS[operation],
                operations=operations,
            )
        )
    return rows


def print_btree_benchmark(rows: list[BenchRow], console: Console) -> None:
    """Show the rows as a rich table, readable at 80 columns (times per operation)."""
    table = Table(title="B+ tree vs SortedDict, µs per operation (ratio > 1: B+ tree faster)")
    table.add_column("operation", no_wrap=True)
    table.add_column("count", justify="right", no_wrap=True)
    table.add_column("B+ tree", justify="right", no_wrap=True)
    table.add_column("SortedDict", justify="right", no_wrap=True)
    table.add_column("ratio", justify="right", no_wrap=True)
    table.add_column("goal", justify="right", no_wrap=True)
    table.add_column("met", no_wrap=True)
    for row in rows:
        table.add_row(
            row.operation.value,
            f"{row.operations:,}",
            f"{row.btree_s / row.operations * 1e6:.3f}",
            f"{row.sorteddict_s / row.operations * 1e6:.3f}",
            f"{row.ratio:.2f}x",
            f">= {row.goal:g}x",
            "[green]yes[/green]" if row.met else "[red]no[/red]",
        )
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    """``python -m harmonysim.bench.btree [--n N] [--order M] [--seed S] [--repeat R]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=1_000_000, help="number of random keys")
    parser.add_argument("--order", type=int, default=None, help="B+ tree order")
    parser.add_argument("--seed", type=int, default=1, help="seed of the key draw")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; best time per side")
    arguments = parser.parse_args(argv)
    rows = run_btree_benchmark(
        arguments.n, arguments.order, arguments.seed, repeat=arguments.repeat
    )
    print_btree_benchmark(rows, Console())
    return 0 if all(row.met for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
