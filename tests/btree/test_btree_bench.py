"""The benchmark runs end to end on a small input and reports well-formed rows."""

from __future__ import annotations

import pytest
from rich.console import Console

from harmonysim.bench.btree import (
    GOALS,
    BenchOperation,
    print_btree_benchmark,
    run_btree_benchmark,
)


def test_small_benchmark_rows_are_well_formed() -> None:
    rows = run_btree_benchmark(n=20_000, order=32, seed=3)
    assert [row.operation for row in rows] == [
        BenchOperation.INSERT,
        BenchOperation.GET,
        BenchOperation.SCAN,
    ]
    for row in rows:
        assert row.btree_s > 0
        assert row.sorteddict_s > 0
        assert row.ratio == pytest.approx(row.sorteddict_s / row.btree_s)
        assert row.goal == GOALS[row.operation]
        assert row.met == (row.ratio >= row.goal)
    assert rows[0].operations == rows[1].operations == 20_000
    assert rows[2].operations == 2_000  # n // 10 scans

    console = Console(record=True, width=80)  # readable in an 80-column terminal
    print_btree_benchmark(rows, console)
    text = console.export_text()
    for operation in ("insert", "get", "scan"):
        assert operation in text
    for header in ("B+ tree", "SortedDict", "ratio", "goal"):
        assert header in text  # whole, not cut to "Sorted…"
    assert f"{rows[0].ratio:.2f}x" in text


def test_benchmark_rejects_tiny_inputs() -> None:
    with pytest.raises(ValueError):
        run_btree_benchmark(n=50)
