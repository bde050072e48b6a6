"""Placing each check's violations on the clock, one rule per check, from run.json's checks.

Linearizability and liveness record each problem's time (``details["problems"]``); they
are tested on what the real checks write. Older run.json files without those fields are
read by the text rules that served then, tested on hand-written and real text.
"""

from __future__ import annotations

import copy
from typing import Any

from harmonysim.check.liveness import LivenessMonitor
from harmonysim.check.run_history import check_run_history
from harmonysim.runlog.violations import Violation, first_violation, violations_from_checks
from harmonysim.scenario import parse_scenario

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
    assert result.details["problems"] == [
        {
            "at_ms": 20.5,
            "until_ms": 31.25,
            "key": "k",
            "text": "not linearizable on key 'k': process 1: get() -> nil",
        }
    ]
    (found,) = violations_from_checks({"linearizability": result.to_json()}, DURATION_MS)
    assert (found.time_ms, found.end_ms, found.basis) == (20.5, 31.25, "operation")
    assert found.label == "not linearizable on key 'k': process 1: get() -> nil"


def stale_read() -> dict[str, Any]:
    """run.json's entry for a history whose read at 20.5 ms missed a completed put."""
    rows = [*op(0, "put", 1, 0.0, 10.0, 0), *op(1, "get", None, 20.5, 31.25, 2)]
    rows[3]["value"] = None
    return check_run_history(rows).to_json()


def reworded(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` with its summary and explanation in other words."""
    changed = copy.deepcopy(result)
    changed["summary"] = changed["summary"].replace("called at", "invoked at")
    changed["details"]["explanation"] = [
        line.replace("(call ", "(invoked ").replace("Next,", "After that,")
        for line in changed["details"]["explanation"]
    ]
    return changed


def test_a_reworded_linearizability_explanation_moves_no_mark() -> None:
    result = stale_read()
    before = violations_from_checks({"linearizability": result}, DURATION_MS)
    assert violations_from_checks({"linearizability": reworded(result)}, DURATION_MS) == before
    # Read by the text rule alone (an older run.json), the same rewording loses the mark.
    older = reworded(result)
    del older["details"]["problems"]
    (lost,) = violations_from_checks({"linearizability": older}, DURATION_MS)
    assert (lost.time_ms, lost.basis) == (DURATION_MS, "end of run")


def test_an_older_linearizability_result_is_read_from_its_explanation() -> None:
    result = stale_read()
    older = copy.deepcopy(result)
    del older["details"]["problems"]
    assert violations_from_checks({"linearizability": older}, DURATION_MS) == (
        violations_from_checks({"linearizability": result}, DURATION_MS)
    )


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


def test_a_malformed_history_is_marked_at_the_end_of_the_run() -> None:
    put = op(0, "put", 1, 0.0, 10.0, 0)
    rows = [put[0], *op(0, "get", None, 5.0, 8.0, 2), put[1]]  # process 0 invokes twice
    result = check_run_history(rows).to_json()
    assert result["summary"].startswith("the history itself is malformed")
    assert result["details"]["problems"] == []
    (end,) = violations_from_checks({"linearizability": result}, DURATION_MS)
    assert (end.time_ms, end.basis) == (DURATION_MS, "end of run")


def test_an_older_linearizability_result_without_explanation_is_read_from_its_summary() -> None:
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


LIVE = """
name: live
duration: 5s
cluster: {nodes: 3, raft: {election_timeout: [150ms, 300ms], heartbeat_interval: 50ms}}
workload: {clients: 2, timeout: 500ms}
network: {latency: {distribution: constant, value: 5ms}}
"""


def stalled() -> dict[str, Any]:
    """run.json's liveness entry for a cluster that elected n1 at 100 ms, answered at 1 s,
    then answered nothing to the operations of 2 s and 2.1 s."""
    monitor = LivenessMonitor()
    monitor.observe({"t": 100.0, "seq": 0, "kind": "raft.role", "node": "n1", "role": "leader"})
    rows: list[dict[str, Any]] = []
    for process, start, kind, end in [
        (1, 1000.0, "ok", 1010.0),
        (2, 2000.0, "info", 2500.0),
        (1, 2100.0, "info", 2600.0),
    ]:
        row = {"process": process, "f": "put", "key": "k", "value": 1}
        rows += [{**row, "type": "invoke", "time": start}, {**row, "type": kind, "time": end}]
    rows.sort(key=lambda row: row["time"])
    return monitor.judge(parse_scenario(LIVE), rows, ("n1", "n2", "n3")).to_json()


def test_liveness_problems_are_at_the_deadlines_they_missed() -> None:
    found = violations_from_checks({"liveness": stalled()}, DURATION_MS)
    assert [(v.time_ms, v.end_ms, v.basis) for v in found] == [
        (2500.0, None, "deadline"),
        (2600.0, None, "deadline"),
    ]
    assert found[0].label.startswith("client process 2 put 'k' invoked at 2000 ms timed out")


def test_reworded_liveness_problems_move_no_mark() -> None:
    result = stalled()
    before = violations_from_checks({"liveness": result}, DURATION_MS)
    changed = copy.deepcopy(result)
    details = changed["details"]
    details["before_first_fault"] = {"until_ms": 1000.0}  # what the text rule looked for
    details["violations"] = [f"before the first fault: {text}" for text in details["violations"]]
    assert violations_from_checks({"liveness": changed}, DURATION_MS) == before
    del details["problems"]  # read by the text rule, the wording moves the mark
    assert [v.time_ms for v in violations_from_checks({"liveness": changed}, DURATION_MS)] == [
        1000.0
    ]


def test_problems_are_marked_where_they_say_never_past_the_end() -> None:
    problems = [
        {"at_ms": 7000.0, "until_ms": None, "key": None, "text": "late"},
        {"at_ms": 300.0, "until_ms": 450.0, "key": "k", "text": "early"},
        {"at_ms": None, "text": "no time: not a mark"},
    ]
    checks = {
        "linearizability": {"status": "violation", "summary": "", "details": {"problems": problems}}
    }
    assert violations_from_checks(checks, DURATION_MS) == [
        Violation("linearizability", 300.0, "early", "operation", 450.0),
        Violation("linearizability", DURATION_MS, "late", "operation"),
    ]


def test_an_older_liveness_result_is_read_by_its_text() -> None:
    details: dict[str, Any] = {
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
