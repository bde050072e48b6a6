"""Placing each check's violations on the clock, one rule per check, from run.json's checks.

The linearizability rule reads the checker's own explanation, so it is tested on what
the real checker writes for small histories rather than on hand-written text.
"""

from __future__ import annotations

from typing import Any

from harmonysim.check.run_history import check_run_history
from harmonysim.runlog.violations import Violation, first_violation, violations_from_checks

DURATION_MS = 5000.0


def op(
    process: int, f: str, value: Any, call: float, ret: float | None, index: int
) -> list[dict[str, Any]]:
    """The history rows of one operation on key ``k`` (``ret`` None: it never completed)."""
    rows = [
        {
            "process": process,
            "type": "invoke",
            "f": f,
            "key": "k",
            "value": value if f != "get" else None,
            "time": call,
            "index": index,
        },
    ]
    if ret is not None:
        rows.append(
            {
                "process": process,
                "type": "ok",
                "f": f,
                "key": "k",
                "value": value,
                "time": ret,
                "index": index + 1,
            }
        )
    return rows


def test_a_run_whose_checks_pass_has_no_violations() -> None:
    checks = {
        "raft_safety": {"status": "ok", "summary": "", "details": {}},
        "linearizability": {"status": "skipped", "summary": "", "details": {}},
        "liveness": {"status": "unknown", "summary": "", "details": {}},
    }
    assert violations_from_checks(checks, DURATION_MS) == []
    assert first_violation([]) is None


def test_raft_safety_violations_are_at_their_event_times() -> None:
    details = {
        "violations": [
            {"rule": "election_safety", "time_ms": 812.5, "message": "two leaders in term 3"},
            {"rule": "commit_monotonic", "time_ms": 90.25, "message": "n2's commit index fell"},
        ]
    }
    found = violations_from_checks(
        {"raft_safety": {"status": "violation", "summary": "2", "details": details}}, DURATION_MS
    )
    assert [(v.time_ms, v.basis) for v in found] == [(90.25, "event"), (812.5, "event")]
    assert found[0].label == "commit_monotonic: n2's commit index fell"


def test_linearizability_is_at_the_call_of_the_first_operation_that_cannot_follow() -> None:
    rows = [*op(0, "put", 1, 0.0, 10.0, 0), *op(1, "get", None, 20.5, 31.25, 2)]
    rows[3]["value"] = None  # the read missed the completed put: a stale read
    result = check_run_history(rows)
    assert result.status.value == "violation"
    (found,) = violations_from_checks({"linearizability": result.to_json()}, DURATION_MS)
    assert (found.time_ms, found.end_ms, found.basis) == (20.5, 31.25, "operation")
    assert found.label.startswith("not linearizable on key 'k': process 1: get()")


def test_operations_of_the_linearizable_prefix_are_not_marks() -> None:
    # put(2) never completed (info) and is linearized in the prefix; the read of 3
    # that nothing wrote is what cannot follow it.
    rows = [*op(0, "put", 1, 0.0, 10.0, 0), *op(1, "get", 3, 20.0, 30.0, 2)]
    rows += [
        {
            "process": 2,
            "type": "invoke",
            "f": "put",
            "key": "k",
            "value": 2,
            "time": 15.0,
            "index": 4,
        },
        {
            "process": 2,
            "type": "info",
            "f": "put",
            "key": "k",
            "value": 2,
            "time": 45.0,
            "index": 5,
        },
    ]
    result = check_run_history(rows)
    assert "(call 15, indeterminate)" in "\n".join(result.details["explanation"])
    (found,) = violations_from_checks({"linearizability": result.to_json()}, DURATION_MS)
    assert (found.time_ms, found.end_ms) == (20.0, 30.0)


def test_linearizability_without_an_explanation_falls_back_to_the_summary_then_the_end() -> None:
    called = {
        "status": "violation",
        "summary": "not linearizable on key 'a'; e.g. process 3 get called at 1250.5 ms",
        "details": {},
    }
    malformed = {
        "status": "violation",
        "summary": "the history itself is malformed: x",
        "details": {"error": "x"},
    }
    assert [
        v.time_ms for v in violations_from_checks({"linearizability": called}, DURATION_MS)
    ] == [1250.5]
    (end,) = violations_from_checks({"linearizability": malformed}, DURATION_MS)
    assert (end.time_ms, end.basis) == (DURATION_MS, "end of run")


def test_liveness_is_at_the_deadline_it_missed() -> None:
    details = {
        "quiet_from_ms": 3000.0,
        "bound_ms": 1100.0,
        "before_first_fault": {"until_ms": 1000.0, "operations_checked": 4, "problems": 1},
        "violations": [
            "before the first fault: client process 1 get 'k' invoked at 400 ms timed out ...",
            "no leader among n1, n2, n3 within 600 ms of the last fault at 3000 ms: elected never",
        ],
    }
    found = violations_from_checks(
        {"liveness": {"status": "violation", "summary": "", "details": details}}, DURATION_MS
    )
    assert [(v.time_ms, v.basis) for v in found] == [(1000.0, "deadline"), (4100.0, "deadline")]
    late = dict(details, quiet_from_ms=4500.0, violations=details["violations"][1:])
    (capped,) = violations_from_checks(
        {"liveness": {"status": "violation", "summary": "", "details": late}}, DURATION_MS
    )
    assert capped.time_ms == DURATION_MS


def test_tree_and_replica_checks_are_at_the_end_of_the_run() -> None:
    checks = {
        "btree_invariants": {
            "status": "violation",
            "summary": "n2 and n3 disagree on 'k'",
            "details": {},
        }
    }
    assert violations_from_checks(checks, DURATION_MS) == [
        Violation("btree_invariants", DURATION_MS, "n2 and n3 disagree on 'k'", "end of run")
    ]


def test_violations_are_in_time_order_then_in_the_order_of_the_checks() -> None:
    checks = {
        "btree_invariants": {"status": "violation", "summary": "b", "details": {}},
        "raft_safety": {
            "status": "violation",
            "summary": "r",
            "details": {
                "violations": [
                    {"rule": "x", "time_ms": DURATION_MS, "message": "m"},
                    {"rule": "x", "time_ms": 5.0, "message": "m"},
                ]
            },
        },
    }
    found = violations_from_checks(checks, DURATION_MS)
    assert [(v.check, v.time_ms) for v in found] == [
        ("raft_safety", 5.0),
        ("btree_invariants", DURATION_MS),
        ("raft_safety", DURATION_MS),
    ]
    assert first_violation(found) == found[0]
    assert found[0].to_json() == {
        "check": "raft_safety",
        "time_ms": 5.0,
        "end_ms": None,
        "basis": "event",
        "label": "x: m",
    }
