"""The linearizability checker starts from a load phase's records (the history leaves the
load out), and checks a large history within its budget."""

from __future__ import annotations

import time
from typing import Any

from harmonysim.bench.checks import LINEARIZABILITY_BUDGET_S, synthetic_history
from harmonysim.check.result import CheckStatus
from harmonysim.check.run_history import check_run_history

LOADED = {"k0000": 0, "k0001": 1, "k0002": 2, "k0003": 3}


def history(*operations: tuple[int, str, str, Any, Any, float, float]) -> list[dict[str, Any]]:
    """Rows from (process, f, key, invoke value, ok value, call, return)."""
    timed = []
    for process, f, key, given, answer, call, ret in operations:
        timed.append(
            (call, {"process": process, "type": "invoke", "f": f, "key": key, "value": given})
        )
        timed.append((ret, {"process": process, "type": "ok", "f": f, "key": key, "value": answer}))
    timed.sort(key=lambda pair: pair[0])
    return [{**row, "time": at, "index": index} for index, (at, row) in enumerate(timed)]


def test_a_read_of_a_loaded_key_sees_its_loaded_value() -> None:
    rows = history((1, "get", "k0002", None, 2, 1.0, 2.0))
    assert check_run_history(rows, initial=LOADED).status is CheckStatus.OK
    # Without the load the same read saw a value nobody wrote.
    assert check_run_history(rows).status is CheckStatus.VIOLATION


def test_a_loaded_key_read_as_absent_is_a_violation() -> None:
    rows = history((1, "get", "k0001", None, None, 1.0, 2.0))
    result = check_run_history(rows, initial=LOADED)
    assert result.status is CheckStatus.VIOLATION
    assert result.details["violated_keys"] == ["k0001"]


def test_a_write_replaces_the_loaded_value() -> None:
    rows = history(
        (1, "put", "k0003", 1_000_001, 1_000_001, 1.0, 2.0),
        (2, "get", "k0003", None, 1_000_001, 3.0, 4.0),
    )
    assert check_run_history(rows, initial=LOADED).status is CheckStatus.OK
    stale = history(
        (1, "put", "k0003", 1_000_001, 1_000_001, 1.0, 2.0),
        (2, "get", "k0003", None, 3, 3.0, 4.0),
    )
    assert check_run_history(stale, initial=LOADED).status is CheckStatus.VIOLATION


def test_a_scan_that_misses_a_loaded_key_no_one_else_names_is_a_violation() -> None:
    whole = [["k0001", 1], ["k0002", 2], ["k0003", 3]]
    rows = history((1, "scan", "k0001", "k0003", whole, 1.0, 2.0))
    assert check_run_history(rows, initial=LOADED).status is CheckStatus.OK
    missing = [["k0001", 1], ["k0003", 3]]  # k0002 was loaded and never deleted
    rows = history((1, "scan", "k0001", "k0003", missing, 1.0, 2.0))
    assert check_run_history(rows, initial=LOADED).status is CheckStatus.VIOLATION


def test_a_large_history_is_checked_within_a_tenth_of_the_budget() -> None:
    # The budget: 100,000 keys and 100,000 operations in LINEARIZABILITY_BUDGET_S of CPU
    # (measured with `harmonysim bench checks`); a tenth of both here within a tenth of it,
    # and the search exact: one step per operation, one partition per key used.
    rows, initial = synthetic_history(10_000, 10_000)
    started = time.process_time()
    result = check_run_history(rows, initial=initial)
    elapsed = time.process_time() - started
    assert result.status is CheckStatus.OK, result.summary
    assert result.details["steps"] == 10_000
    assert result.details["partitions"] == len({row["key"] for row in rows})
    assert elapsed < LINEARIZABILITY_BUDGET_S / 10
    # And it is no rubber stamp: one read of a value never written fails it.
    for row in rows:
        if row["type"] == "ok" and row["f"] == "get":
            row["value"] = -1
            break
    assert check_run_history(rows, initial=initial).status is CheckStatus.VIOLATION


def test_a_scan_racing_a_delete_is_judged_with_the_loaded_keys_around_it() -> None:
    # The delete overlaps the scan, so k0002 is merged with it; k0001 and k0003 are loaded
    # keys of its range that nothing else names, checked in their own partitions.
    def racing(seen: list[list[Any]]) -> list[dict[str, Any]]:
        return history(
            (1, "delete", "k0002", None, None, 1.0, 5.0),
            (2, "scan", "k0001", "k0003", seen, 2.0, 4.0),
        )

    before = [["k0001", 1], ["k0002", 2], ["k0003", 3]]
    after = [["k0001", 1], ["k0003", 3]]
    assert check_run_history(racing(before), initial=LOADED).status is CheckStatus.OK
    assert check_run_history(racing(after), initial=LOADED).status is CheckStatus.OK
    lost = [["k0001", 1], ["k0002", 2]]  # k0003 vanished
    assert check_run_history(racing(lost), initial=LOADED).status is CheckStatus.VIOLATION
