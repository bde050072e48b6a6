"""Linearizability of run histories (rows -> kv model), and the replica/B+ tree check."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from harmonysim.check.replicas import check_replicas, first_difference
from harmonysim.check.result import CheckStatus
from harmonysim.check.run_history import check_run_history, history_events
from harmonysim.cluster.commands import Command, Op, Operation
from harmonysim.cluster.state_machine import KVStateMachine


def row(
    index: int, process: int, kind: str, f: str, key: str, value: Any, time: float
) -> dict[str, Any]:
    return {
        "process": process,
        "type": kind,
        "f": f,
        "key": key,
        "value": value,
        "time": time,
        "index": index,
    }


def history(*events: tuple[int, str, str, str, Any, float]) -> list[dict[str, Any]]:
    return [row(index, *event) for index, event in enumerate(events)]


def test_a_linearizable_history_with_cas_and_a_timed_out_put() -> None:
    rows = history(
        (1, "invoke", "put", "k1", 11, 0.0), (1, "ok", "put", "k1", 11, 5.0),
        (2, "invoke", "cas", "k1", [11, 12], 6.0), (2, "ok", "cas", "k1", [11, 12], 9.0),
        (1, "invoke", "put", "k1", 13, 10.0), (1, "info", "put", "k1", 13, 500.0),
        (2, "invoke", "get", "k1", None, 20.0), (2, "ok", "get", "k1", 13, 25.0),
    )  # fmt: skip
    result = check_run_history(rows)
    assert result.status is CheckStatus.OK, result.summary
    assert result.details["operations"] == 4


def test_a_stale_read_is_a_violation_with_an_explanation() -> None:
    rows = history(
        (1, "invoke", "put", "k1", 11, 0.0), (1, "ok", "put", "k1", 11, 5.0),
        (1, "invoke", "put", "k1", 12, 6.0), (1, "ok", "put", "k1", 12, 9.0),
        (2, "invoke", "get", "k1", None, 10.0), (2, "ok", "get", "k1", 11, 12.0),
    )  # fmt: skip
    result = check_run_history(rows)
    assert result.status is CheckStatus.VIOLATION
    assert "'k1'" in result.summary
    assert result.details["violated_keys"] == ["k1"]
    assert any("get() -> 11" in line for line in result.details["explanation"])


def test_scans_are_checked_not_excluded() -> None:
    rows = history(
        (1, "invoke", "put", "k1", 3, 0.0), (1, "ok", "put", "k1", 3, 1.0),
        (3, "invoke", "scan", "k1", "k5", 2.0), (2, "invoke", "put", "k2", 5, 2.5),
        (2, "ok", "put", "k2", 5, 3.5), (3, "ok", "scan", "k1", [["k1", 3], ["k2", 5]], 4.0),
        (4, "invoke", "put", "k9", 1, 3.0), (4, "ok", "put", "k9", 1, 4.0),
    )  # fmt: skip
    assert [event.f for event in history_events(rows)].count("scan") == 2
    result = check_run_history(rows)
    assert result.status is CheckStatus.OK, result.summary
    assert result.details["scans"] == 1 and result.details["operations"] == 4
    # k2, written while the scan ran, is checked with it; k1, written before, holds one
    # value throughout the scan and keeps its own part; k9 is out of range.
    assert result.details["partitions"] == 3 and result.details["merged_partitions"] == 1
    assert "excluded" not in result.summary
    seen_k2_absent = [dict(row, value=[["k1", 3]]) if row["index"] == 5 else row for row in rows]
    assert check_run_history(seen_k2_absent).status is CheckStatus.OK  # scan before the put
    seen_k1_absent = [dict(row, value=[["k2", 5]]) if row["index"] == 5 else row for row in rows]
    assert check_run_history(seen_k1_absent).status is CheckStatus.VIOLATION


def test_a_scan_reading_a_value_never_written_is_a_violation() -> None:
    rows = history(
        (1, "invoke", "scan", "k1", "k5", 0.0), (1, "ok", "scan", "k1", [["k1", 3]], 2.0),
        (2, "invoke", "put", "k1", 1, 3.0), (2, "ok", "put", "k1", 1, 4.0),
    )  # fmt: skip
    result = check_run_history(rows)
    assert result.status is CheckStatus.VIOLATION
    # No write to k1 overlaps the scan: its view of k1 is checked in k1's own part.
    assert result.details["violated_keys"] == ["k1"]
    assert any("scan('k1'..'k5') saw 'k1' -> 3" in line for line in result.details["explanation"])


def torn_scan(seen: list[list[Any]]) -> list[dict[str, Any]]:
    """k1 := 1 during [1, 2], then k2 := 2 during [3, 4]; a scan of k1..k2 spans [0, 10]."""
    return history(
        (9, "invoke", "scan", "k1", "k2", 0.0),
        (1, "invoke", "put", "k1", 1, 1.0), (1, "ok", "put", "k1", 1, 2.0),
        (1, "invoke", "put", "k2", 2, 3.0), (1, "ok", "put", "k2", 2, 4.0),
        (9, "ok", "scan", "k1", seen, 10.0),
    )  # fmt: skip


def test_a_torn_scan_is_a_violation_though_each_key_alone_is_fine() -> None:
    # k2 = 2 but k1 absent: each key alone has an instant that explains it (k1 before 1,
    # k2 after 3), but no single state of the store had both.
    result = check_run_history(torn_scan([["k2", 2]]))
    assert result.status is CheckStatus.VIOLATION, result.summary
    assert "keys 'k1', 'k2'" in result.summary
    assert any("scan('k1'..'k2') -> {'k2': 2}" in line for line in result.details["explanation"])
    for seen in ([], [["k1", 1]], [["k1", 1], ["k2", 2]]):
        assert check_run_history(torn_scan(seen)).status is CheckStatus.OK, seen


def test_a_failed_cas_alone_exposes_a_lost_write() -> None:
    # put k1 = 1 completes; later a cas expecting 1, with nothing concurrent, fails.
    rows = history(
        (1, "invoke", "put", "k1", 1, 0.0), (1, "ok", "put", "k1", 1, 1.0),
        (2, "invoke", "cas", "k1", [1, 2], 2.0), (2, "fail", "cas", "k1", [1, 2], 3.0),
    )  # fmt: skip
    result = check_run_history(rows)
    assert result.status is CheckStatus.VIOLATION, result.summary
    assert result.details["failed_cas"] == 1
    assert any("cas(1, 2) -> false" in line for line in result.details["explanation"])
    # The same cas failing while the put is still running is fine (it compared first).
    concurrent = [dict(row, time=0.5) if row["index"] == 2 else row for row in rows]
    assert check_run_history(concurrent).status is CheckStatus.OK


def test_a_tiny_budget_gives_unknown_not_a_guess() -> None:
    rows = []
    for process in range(1, 6):
        rows.append(row(len(rows), process, "invoke", "put", "k1", process, 0.0))
    for process in range(1, 6):
        rows.append(row(len(rows), process, "ok", "put", "k1", process, 10.0))
    result = check_run_history(rows, budget_steps=1)
    assert result.status is CheckStatus.UNKNOWN
    assert result.details["undecided_keys"] == ["k1"]


def test_first_difference_of_sorted_items() -> None:
    assert first_difference([("a", 1), ("b", 2)], [("a", 1), ("b", 2)]) is None
    assert first_difference([("a", 1), ("b", 2)], [("a", 1), ("b", 3)]) == ("b", 2, 3)
    assert first_difference([("a", 1), ("c", 2)], [("a", 1), ("b", 2)]) == ("b", None, 2)
    assert first_difference([("a", 1)], []) == ("a", 1, None)


def server(applied: int, puts: list[tuple[str, int]]) -> Any:
    machine = KVStateMachine(4)
    for seq, (key, value) in enumerate(puts, start=1):
        machine.apply(Command("c1", seq, Operation(Op.PUT, key, value)))
    return SimpleNamespace(machine=machine, raft=SimpleNamespace(applied_index=applied))


def test_replicas_at_equal_applied_index_must_hold_equal_stores() -> None:
    puts = [(f"k{n:02d}", n) for n in range(30)]  # enough to split leaves of order 4
    same = check_replicas([("n1", server(30, puts)), ("n2", server(30, puts))], 3)
    assert same.status is CheckStatus.OK
    assert same.details["replica_pairs_compared"] == 1 and same.details["nodes_down"] == 1
    lagging = check_replicas([("n1", server(30, puts)), ("n2", server(29, puts[:29]))], 2)
    assert lagging.status is CheckStatus.OK  # different applied index: not compared
    bad = [*puts[:10], ("k10", 999), *puts[11:]]
    differ = check_replicas([("n1", server(30, puts)), ("n2", server(30, bad))], 2)
    assert differ.status is CheckStatus.VIOLATION
    assert differ.details["violations"][0]["key"] == "k10"


def test_a_broken_tree_is_reported() -> None:
    broken = server(3, [("a", 1), ("b", 2), ("c", 3)])
    broken.machine.tree._len += 1  # corrupt the recorded length
    result = check_replicas([("n1", broken)], 1)
    assert result.status is CheckStatus.VIOLATION
    assert result.details["violations"][0]["rule"] == "btree_invariants"


def test_a_merged_part_out_of_budget_is_unknown_and_named_by_its_keys() -> None:
    rows = [row(0, 9, "invoke", "scan", "k1", "k2", 0.0)]
    for process in range(1, 6):
        rows.append(row(len(rows), process, "invoke", "put", f"k{1 + process % 2}", process, 1.0))
    for process in range(1, 6):
        rows.append(row(len(rows), process, "ok", "put", f"k{1 + process % 2}", process, 10.0))
    rows.append(row(len(rows), 9, "ok", "scan", "k1", [["k1", 4], ["k2", 5]], 20.0))
    result = check_run_history(rows, budget_steps=3)
    assert result.status is CheckStatus.UNKNOWN
    assert result.details["undecided_keys"] == [["k1", "k2"]]
    assert check_run_history(rows).status is CheckStatus.OK


def test_a_merged_part_out_of_budget_is_checked_key_by_key_and_says_what_it_missed() -> None:
    # With 6 steps the merged search (k1, k2 and the scan) runs out; each key alone fits.
    # A torn scan needs the merged search: key by key it passes, and the summary says
    # that the scans' atomicity across keys went unverified (never a plain "ok").
    torn = check_run_history(torn_scan([["k2", 2]]), budget_steps=6)
    assert torn.status is CheckStatus.OK
    assert torn.details["scans_checked_per_key"] == [["k1", "k2"]]
    assert "atomicity across keys is unverified" in torn.summary
    # A scan that saw a value never written is wrong for its key alone: still caught.
    never = check_run_history(torn_scan([["k1", 3], ["k2", 2]]), budget_steps=6)
    assert never.status is CheckStatus.VIOLATION
    assert never.details["violated_keys"] == ["k1"]
    # With the budget it needs, the torn scan is a violation.
    assert check_run_history(torn_scan([["k2", 2]])).status is CheckStatus.VIOLATION
