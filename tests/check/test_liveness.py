"""Liveness: bounds from the scenario, applicability, election after the quiet point,
and service (no stall) after it."""

from __future__ import annotations

import math
from typing import Any

import pytest

from harmonysim.check.liveness import (
    LivenessMonitor,
    election_rounds,
    healthy_majority,
    hopeless_share,
    liveness_bounds,
    split_vote_chance,
)
from harmonysim.check.result import CheckResult, CheckStatus
from harmonysim.scenario import Scenario, parse_scenario

BASE = """
name: live
duration: 10s
cluster: {nodes: 5, raft: {election_timeout: [150ms, 300ms], heartbeat_interval: 50ms}}
workload: {clients: 2, timeout: 500ms}
network:
  latency: {distribution: constant, value: 5ms}
"""


def scenario(extra: str = "") -> Scenario:
    return parse_scenario(BASE + extra)


def test_bounds_come_from_the_scenario() -> None:
    bounds = liveness_bounds(scenario(
        "faults: [{at: 2s, crash: n1}, {at: 3s, restart: n1},"
        " {at: 1s, nemesis: {kinds: [clog], interval: 1s, until: 6s}}]"
    ))  # fmt: skip
    assert bounds.quiet_from_ms == 6000.0
    assert bounds.election_bound_ms == 600.0
    assert bounds.bound_ms == 1100.0
    assert bounds.tail_ms == 4000.0


def test_narrow_election_timeouts_allow_more_split_votes() -> None:
    # Wide spread against a 5 ms delay: two timeouts (one split vote, §5.2).
    assert election_rounds(scenario()) == 2
    # 150-165 ms against 5 ms: a split chance of 2/3 per round, so a correct cluster
    # needs many rounds (§9.3) before a run of splits is below one in a million.
    narrow = scenario().model_copy(
        update={"cluster": parse_scenario(BASE.replace("300ms", "165ms")).cluster}
    )
    assert split_vote_chance(narrow) == pytest.approx(2 * 5 / 15)
    rounds = election_rounds(narrow)
    assert (2 / 3) ** (rounds - 2) < 1e-6 <= (2 / 3) ** (rounds - 3)
    assert liveness_bounds(narrow).election_bound_ms == rounds * 165.0
    # A spread narrower than the delay: the chance is capped, the bound stays finite.
    jittery = parse_scenario(BASE.replace("300ms", "165ms") + "  jitter: 40ms\n")
    assert split_vote_chance(jittery) == 0.75
    assert election_rounds(jittery) == 2 + math.ceil(math.log(1e-6) / math.log(0.75))


def test_a_fault_waiting_for_an_event_may_act_until_its_wait_ends() -> None:
    bounded = liveness_bounds(scenario(
        "faults: [{at: 2s, when: leader_commit, until: 7s, crash: leader},"
        " {at: 5s, heal: all}]"
    ))  # fmt: skip
    assert bounded.quiet_from_ms == 7000.0
    open_ended = liveness_bounds(scenario("faults: [{at: 2s, when: leader_elected, crash: n1}]"))
    assert open_ended.quiet_from_ms == 10000.0 and open_ended.tail_ms == 0.0


def test_healthy_majority_under_partitions_clogs_and_slow_links() -> None:
    plain = scenario()
    nodes = ["n1", "n2", "n3", "n4", "n5"]
    assert healthy_majority(plain, nodes, []) == tuple(nodes)
    cut = [(a, b) for a in ("n1", "n2") for b in ("n3", "n4", "n5")]
    cut += [(b, a) for a, b in cut]
    assert healthy_majority(plain, nodes, cut) == ("n3", "n4", "n5")
    assert healthy_majority(plain, ["n1", "n2", "n3"], [("n3", "n1")]) == ()
    slow = scenario(
        "  links: [{from: n1, to: n2, both_ways: true,"
        " latency: {distribution: uniform, min: 40ms, max: 120ms}}]"
    )
    # n1 and n2 cannot be in one majority, but each is in some majority.
    assert healthy_majority(slow, nodes, []) == tuple(nodes)
    assert healthy_majority(slow, ["n1", "n2", "n3"], []) == ()


def steps(
    monitor: LivenessMonitor, *events: tuple[float, str, str, str | None], first_seq: int = 0
) -> None:
    for seq, (time, node, kind, role) in enumerate(events, first_seq):
        record: dict[str, Any] = {"t": time, "seq": seq, "kind": kind, "node": node}
        if role is not None:
            record["role"] = role
        monitor.observe(record)


def test_leader_time_after_the_quiet_point() -> None:
    monitor = LivenessMonitor()
    steps(
        monitor,
        (100.0, "n1", "raft.role", "leader"),
        (2000.0, "n1", "node.crash", None),
        (2300.0, "n2", "raft.role", "leader"),
    )
    healthy = ("n2", "n3", "n4")
    assert monitor.leader_time(healthy, 50.0) == (2300.0, "n2")
    assert monitor.leader_time(("n1", "n2"), 1000.0) == (1000.0, "n1")  # already leading
    assert monitor.leader_time(("n1", "n2"), 2100.0) == (2300.0, "n2")
    assert monitor.leader_time(("n3",), 0.0) is None


def ops(*spans: tuple[int, float, str, float]) -> list[dict[str, Any]]:
    """(process, invoke time, completion type, completion time) -> history rows."""
    rows: list[dict[str, Any]] = []
    for process, start, kind, end in sorted(spans, key=lambda span: span[1]):
        rows.append({"process": process, "type": "invoke", "f": "put", "key": "k", "value": 1,
                     "time": start})  # fmt: skip
        rows.append({"process": process, "type": kind, "f": "put", "key": "k", "value": 1,
                     "time": end})  # fmt: skip
    rows.sort(key=lambda row: row["time"])
    return rows


def elected(*later: tuple[float, str, str, str | None], at: float = 100.0) -> LivenessMonitor:
    """n1 leads from ``at``; then the ``later`` steps."""
    monitor = LivenessMonitor()
    steps(monitor, (at, "n1", "raft.role", "leader"), *later)
    return monitor


NODES = ("n1", "n2", "n3", "n4", "n5")


def test_served_run_is_live_and_a_lost_operation_while_others_answer_is_tolerated() -> None:
    rows = ops((1, 1000.0, "ok", 1010.0), (2, 1000.0, "info", 1500.0), (1, 1200.0, "ok", 1210.0))
    result = elected().judge(scenario(), rows, NODES)
    assert result.status is CheckStatus.OK, result.summary
    assert result.details["operations_checked"] == 3
    assert result.details["operations_timed_out"] == 1


def test_a_stall_after_recovery_is_a_violation() -> None:
    rows = ops((1, 1000.0, "ok", 1010.0), (2, 2000.0, "info", 2500.0), (1, 2100.0, "info", 2600.0))
    result = elected().judge(scenario(), rows, NODES)
    assert result.status is CheckStatus.VIOLATION
    assert "answered no operation" in result.summary


def test_no_leader_within_the_election_bound_is_a_violation() -> None:
    result = elected(at=900.0).judge(scenario(), [], NODES)
    assert result.status is CheckStatus.VIOLATION
    assert "only at 900 ms" in result.summary


def problems(result: CheckResult) -> list[tuple[float, Any]]:
    """(at_ms, key) of each problem the result records on the clock, in order."""
    recorded = result.details["problems"]
    assert [problem["text"] for problem in recorded] == result.details["violations"]
    assert all(problem["until_ms"] is None for problem in recorded)
    return [(problem["at_ms"], problem["key"]) for problem in recorded]


def test_an_election_too_late_after_the_last_fault_is_at_the_election_bound() -> None:
    # Q = 2 s, E = 600 ms: a leader was due by 2.6 s; n2 took over at 2.9 s.
    faulted = scenario("faults: [{at: 2s, crash: n1}]")
    late = elected((2000.0, "n1", "node.crash", None), (2900.0, "n2", "raft.role", "leader"))
    assert problems(late.judge(faulted, [], ("n2", "n3", "n4", "n5"))) == [(2600.0, None)]


def test_a_stall_is_at_the_end_of_each_timeout_the_cluster_answered_nothing_in() -> None:
    rows = ops((1, 1000.0, "ok", 1010.0), (2, 2000.0, "info", 2500.0), (1, 2100.0, "info", 2600.0))
    assert problems(elected().judge(scenario(), rows, NODES)) == [(2500.0, "k"), (2600.0, "k")]


def test_an_operation_hung_past_the_last_fault_is_at_the_bound_after_it() -> None:
    # Pending at the crash at 2 s and never completed: due by Q + B = 3.1 s.
    faulted = scenario("faults: [{at: 2s, crash: n5}]")
    rows = ops((1, 1000.0, "ok", 1010.0), (1, 4000.0, "ok", 4010.0))
    rows.insert(2, {"process": 2, "type": "invoke", "f": "get", "key": "h", "value": None,
                    "time": 1900.0})  # fmt: skip
    crash = (2000.0, "n5", "node.crash", None)
    assert problems(elected(crash).judge(faulted, rows, NODES[:4])) == [(3100.0, "h")]


def test_not_applicable_without_a_majority_or_without_a_quiet_tail() -> None:
    no_majority = elected().judge(scenario(), [], ())
    assert no_majority.status is CheckStatus.SKIPPED
    assert no_majority.summary.startswith("not applicable")
    late = scenario("faults: [{at: 9.5s, crash: n1}]")
    no_tail = elected().judge(late, [], NODES)
    assert no_tail.status is CheckStatus.SKIPPED
    assert "quiet tail" in no_tail.summary


def test_majorities_are_of_the_configuration_not_of_the_nodes() -> None:
    # Thesis §4.1: after n4 and n5 left, n1..n3 are the whole cluster: two of them are a
    # majority, and the removed servers, running or not, are in no majority.
    plain = scenario()
    members = ("n1", "n2", "n3")
    assert healthy_majority(plain, ["n1", "n2", "n4", "n5"], [], members) == ("n1", "n2")
    assert healthy_majority(plain, ["n1", "n2", "n4", "n5"], []) == ("n1", "n2", "n4", "n5")
    assert healthy_majority(plain, ["n1", "n4", "n5"], [], members) == ()
    spares = parse_scenario(BASE.replace("{nodes: 5,", "{nodes: 5, members: 3,"))
    assert healthy_majority(spares, list(NODES), []) == members


def test_the_quiet_point_waits_for_the_last_membership_change() -> None:
    # A removed leader steps down only once its removal commits; the successor's
    # election is measured from then, not from the fault's `at`.
    late = scenario("faults: [{at: 2s, remove: leader}]")
    monitor = LivenessMonitor()
    steps(
        monitor,
        (100.0, "n1", "raft.role", "leader"),
        (2000.0, None, "membership", None),  # type: ignore[arg-type]
        (2900.0, None, "membership", None),  # type: ignore[arg-type]
        (2950.0, "n1", "raft.role", "follower"),
        (3300.0, "n2", "raft.role", "leader"),
    )
    result = monitor.judge(late, [], ("n2", "n3", "n4", "n5"))
    assert result.status is CheckStatus.OK, result.summary
    assert result.details["quiet_from_ms"] == 2900.0
    assert result.details["leader"] == "n2"
    # Measured from the fault's own time, the same election would be late (bound 600 ms).
    unaware = LivenessMonitor()
    steps(
        unaware,
        (100.0, "n1", "raft.role", "leader"),
        (2950.0, "n1", "raft.role", "follower"),
        (3300.0, "n2", "raft.role", "leader"),
    )
    assert unaware.judge(late, [], ("n2", "n3", "n4", "n5")).status is CheckStatus.VIOLATION


def test_an_open_request_counts_from_when_it_was_asked_unless_a_change_is_in_flight() -> None:
    # An add-back that waits the whole tail (its server never caught up, or no leader
    # took it) changed nothing: the run is judged from when it was asked for, so a
    # cluster that stalls the whole tail with it open is caught. A change a leader took
    # and that is still uncommitted at the end may keep the cluster from electing
    # (§4.1: a server uses the latest configuration in its log): not judged.
    late = parse_scenario(
        BASE.replace("{nodes: 5,", "{nodes: 5, members: 4,") + "faults: [{at: 2s, add: n5}]"
    )
    for in_flight, quiet, status in (
        (False, 2000.0, CheckStatus.OK),
        (True, 10000.0, CheckStatus.SKIPPED),
    ):
        monitor = LivenessMonitor()
        for event in [
            record(100.0, "raft.role", "n1", role="leader"),
            record(2000.0, "membership", op="add", target="n5", result="requested"),
            record(2050.0, "membership", op="add", target="n5", result="waiting", reason="x"),
            record(
                10000.0,
                "membership",
                op="add",
                target="n5",
                result="unfinished",
                in_flight=in_flight,
                since=2000.0,
            ),
        ]:
            monitor.observe(event)
        result = monitor.judge(late, [], ("n1", "n2", "n3", "n4"))
        assert result.status is status, result.summary
        assert result.details["quiet_from_ms"] == quiet


def test_a_stall_before_the_first_fault_is_a_violation() -> None:
    # Served until 2s, then nothing answered for 3s, then a crash at 6s and a quiet
    # tail: the stall is in the window before the first fault, and must not hide
    # behind the fault.
    with_fault = scenario("faults: [{at: 6s, crash: n5}]")
    rows = ops(
        (1, 1000.0, "ok", 1010.0),
        (2, 3000.0, "info", 3500.0),
        (1, 3100.0, "info", 3600.0),
        (1, 7000.0, "ok", 7010.0),
    )
    crash = (6000.0, "n5", "node.crash", None)
    result = elected(crash).judge(with_fault, rows, ("n1", "n2", "n3", "n4"))
    assert result.status is CheckStatus.VIOLATION, result.summary
    assert result.summary.startswith(
        "2 liveness problem(s); first: in the fault-free window 0-6000 ms: client process 2"
    )
    assert result.details["windows"] == [
        {"from_ms": 0.0, "until_ms": 6000.0, "operations_checked": 3, "problems": 2}
    ]
    # The same history served throughout is live.
    served = ops((1, 1000.0, "ok", 1010.0), (2, 3000.0, "ok", 3010.0), (1, 7000.0, "ok", 7010.0))
    assert elected(crash).judge(with_fault, served, ("n1", "n2", "n3", "n4")).status is (
        CheckStatus.OK
    )


def test_no_leader_before_the_first_fault_is_a_violation() -> None:
    late_leader = elected((5000.0, "n5", "node.crash", None), at=4000.0)
    result = late_leader.judge(scenario("faults: [{at: 5s, crash: n5}]"), [], NODES)
    assert result.status is CheckStatus.VIOLATION
    assert (
        "in the fault-free window 0-5000 ms: no leader among n1, n2, n3, n4, n5 within 600 ms "
        "of its start: elected only at 4000 ms (n1)"
    ) in result.summary


GAP = "faults: [{at: 2s, crash: n1}, {at: 3s, restart: n1}, {at: 8s, crash: n5}]"


def test_a_stall_between_faults_is_a_violation() -> None:
    # n1 leads, crashes at 2s and comes back at 3s; n2 leads from 2.4s. From 3s to the
    # crash at 8s nothing is wrong, yet nothing is answered from 4s to 6s.
    faults = ((2000.0, "n1", "node.crash", None), (2400.0, "n2", "raft.role", "leader"))
    monitor = elected(*faults, (3000.0, "n1", "node.restart", None))
    steps(monitor, (8000.0, "n5", "node.crash", None), first_seq=10)
    rows = ops(
        (1, 1000.0, "ok", 1010.0),
        (1, 3700.0, "ok", 3710.0),
        (2, 4000.0, "info", 4500.0),
        (1, 4100.0, "info", 4600.0),
        (1, 6000.0, "ok", 6010.0),
        (1, 9000.0, "ok", 9010.0),
    )
    result = monitor.judge(scenario(GAP), rows, ("n1", "n2", "n3", "n4"))
    assert result.status is CheckStatus.VIOLATION, result.summary
    assert result.details["violations"] == [
        "in the fault-free window 3000-8000 ms: client process 2 put 'k' invoked at 4000 ms "
        "timed out and the cluster answered no operation until 4500 ms",
        "in the fault-free window 3000-8000 ms: client process 1 put 'k' invoked at 4100 ms "
        "timed out and the cluster answered no operation until 4600 ms",
    ]
    assert [(w["from_ms"], w["until_ms"]) for w in result.details["windows"]] == [
        (0.0, 2000.0),
        (3000.0, 8000.0),
    ]
    # No leader in the window: n2 never took over, n1 came back and led only at 4s.
    leaderless = elected((2000.0, "n1", "node.crash", None), (3000.0, "n1", "node.restart", None))
    steps(leaderless, (4000.0, "n1", "raft.role", "leader"), first_seq=10)
    steps(leaderless, (8000.0, "n5", "node.crash", None), first_seq=20)
    late = leaderless.judge(scenario(GAP), [], ("n1", "n2", "n3", "n4"))
    assert late.status is CheckStatus.VIOLATION
    assert late.details["violations"] == [
        "in the fault-free window 3000-8000 ms: no leader among n1, n2, n3, n4, n5 within "
        "600 ms of its start: elected only at 4000 ms (n1)"
    ]


def test_a_stall_between_faults_is_at_the_deadlines_of_its_window() -> None:
    # As above: the timeouts of 4 s and 4.1 s end unanswered at 4.5 s and 4.6 s; with no
    # leader, one was due E = 600 ms after the window opened at 3 s.
    monitor = elected(
        (2000.0, "n1", "node.crash", None),
        (2400.0, "n2", "raft.role", "leader"),
        (3000.0, "n1", "node.restart", None),
    )
    steps(monitor, (8000.0, "n5", "node.crash", None), first_seq=10)
    rows = ops((1, 3700.0, "ok", 3710.0), (2, 4000.0, "info", 4500.0),
               (1, 4100.0, "info", 4600.0), (1, 9000.0, "ok", 9010.0))  # fmt: skip
    stalled = monitor.judge(scenario(GAP), rows, ("n1", "n2", "n3", "n4"))
    assert problems(stalled) == [(4500.0, "k"), (4600.0, "k")]
    leaderless = elected((2000.0, "n1", "node.crash", None), (3000.0, "n1", "node.restart", None))
    steps(leaderless, (4000.0, "n1", "raft.role", "leader"), first_seq=10)
    steps(leaderless, (8000.0, "n5", "node.crash", None), first_seq=20)
    late = leaderless.judge(scenario(GAP), [], ("n1", "n2", "n3", "n4"))
    assert problems(late) == [(3600.0, None)]


def test_a_stall_between_faults_is_reported_even_without_a_quiet_tail() -> None:
    # The last fault leaves too short a tail to judge; the stall before it still counts.
    short = scenario("faults: [{at: 2s, crash: n1}, {at: 3s, restart: n1}, {at: 9.5s, crash: n5}]")
    monitor = elected((2000.0, "n1", "node.crash", None), (3000.0, "n1", "node.restart", None))
    steps(monitor, (9500.0, "n5", "node.crash", None), first_seq=10)
    stalled = monitor.judge(short, [], ("n1", "n2", "n3", "n4"))
    assert stalled.status is CheckStatus.VIOLATION
    assert "window 3000-9500 ms: no leader" in stalled.summary
    served = elected((2000.0, "n1", "node.crash", None), (2400.0, "n2", "raft.role", "leader"))
    steps(served, (3000.0, "n1", "node.restart", None), (9500.0, "n5", "node.crash", None),
          first_seq=10)  # fmt: skip
    result = served.judge(short, [], ("n1", "n2", "n3", "n4"))
    assert result.status is CheckStatus.SKIPPED and "quiet tail" in result.summary
    assert result.details["windows_judged"] == 2


def test_a_window_shorter_than_the_bound_is_not_judged() -> None:
    # From the restart at 3s to the next crash at 3.8s: 800 ms, below B = 1100 ms.
    short = scenario("faults: [{at: 2s, crash: n1}, {at: 3s, restart: n1}, {at: 3.8s, crash: n5}]")
    monitor = elected((2000.0, "n1", "node.crash", None), (3000.0, "n1", "node.restart", None))
    steps(monitor, (3800.0, "n5", "node.crash", None), (4000.0, "n2", "raft.role", "leader"),
          first_seq=10)  # fmt: skip
    result = monitor.judge(short, [], ("n1", "n2", "n3", "n4"))
    assert result.status is CheckStatus.OK, result.summary
    assert [(w["from_ms"], w["until_ms"]) for w in result.details["windows"]] == [(0.0, 2000.0)]
    # n1 down: the others, a majority, run unharmed while it is silent (1000 ms, not judged).
    assert [(w.from_ms, w.until_ms, w.fault_free) for w in monitor.windows(short, 3800.0)] == [
        (0.0, 2000.0, True),
        (2000.0, 3000.0, False),
        (3000.0, 3800.0, True),
    ]


def record(time: float, kind: str, node: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"t": time, "seq": 0, "kind": kind, "node": node, **fields}


def test_faults_in_effect_close_windows_until_they_are_undone() -> None:
    drifting = parse_scenario(BASE.replace("heartbeat_interval: 50ms", "heartbeat_interval: 50ms,"
                                           " max_clock_drift: 0.05"))  # fmt: skip
    monitor = LivenessMonitor()
    for event in [
        record(1000.0, "net.clog", links=[["n1", "n2"]]),
        record(1500.0, "net.unclog", links=[["n1", "n2"]]),
        record(1600.0, "node.clock", "n3", rate=0.97),  # within the servers' bound
        record(1700.0, "node.clock", "n3", rate=1.0, after="clock"),
        record(2000.0, "node.clock", "n3", rate=0.9),  # beyond it
        record(2500.0, "node.clock", "n3", rate=1.0, after="clock"),
        record(2600.0, "node.clock", "n2", jump_ms=-500.0),
        record(2700.0, "node.clock", "n2", rate=1.0, after="clock"),
        record(2800.0, "node.clock", "n4", strobe={"delta_ms": 50.0, "period_ms": 10.0}),
        record(2900.0, "node.clock", "n4", rate=1.0, after="clock"),
        record(3000.0, "disk.fault", "n4", fault="slow", fsync_ms=40.0),
        record(3500.0, "disk.fault", "n4", fault="slow", fsync_ms=1.0, after="slow"),
        record(3600.0, "disk.fault", "n4", fault="torn", armed=True),  # acts on a crash only
        record(4000.0, "membership", op="remove", target="n5", result="requested"),
        record(4100.0, "membership", op="remove", target="n5", result="proposed"),
        record(
            4200.0,
            "membership",
            op="remove",
            target="n5",
            result="committed",
            voters=["n1", "n2", "n3", "n4"],
        ),
        record(5000.0, "leader.transfer", "n1", to="n2"),
        record(5100.0, "raft.role", "n2", role="leader", term=3, leader="n2"),
        record(6000.0, "leader.transfer", "n2", to="n3"),  # never ends: aborted after 300 ms
        record(6500.0, "net.partition", shape="isolate", cut=[["n1", "n2"], ["n2", "n1"]]),
        record(6600.0, "net.heal"),
        record(7000.0, "node.pause", "n3"),  # never resumed
    ]:
        monitor.observe(event)
    found = [(w.from_ms, w.until_ms, w.members) for w in monitor.windows(drifting, 9000.0)]
    assert found == [
        (0.0, 1000.0, None),
        (1500.0, 2000.0, None),
        (2500.0, 2600.0, None),
        (2700.0, 2800.0, None),
        (2900.0, 3000.0, None),
        (3500.0, 4000.0, None),
        (4200.0, 5000.0, ("n1", "n2", "n3", "n4")),
        (5100.0, 6000.0, ("n1", "n2", "n3", "n4")),
        (6300.0, 6500.0, ("n1", "n2", "n3", "n4")),
        (6600.0, 7000.0, ("n1", "n2", "n3", "n4")),
        # n3 paused: a fault, but n1, n2 and n4 are a majority of the four, unharmed,
        # and n3 sends nothing (every fault before it left a faulty node running).
        (7000.0, 9000.0, ("n1", "n2", "n3", "n4")),
    ]
    assert monitor.windows(drifting, 9000.0)[-1].healthy == ("n1", "n2", "n4")
    # Windows are cut off at the quiet point: the tail is judged by L1-L3.
    assert [(w.from_ms, w.until_ms) for w in monitor.windows(drifting, 1200.0)] == [(0.0, 1000.0)]


def test_links_that_rule_out_a_majority_are_named_as_the_reason() -> None:
    lossy = scenario().model_copy(
        update={"network": scenario().network.model_copy(update={"loss": 0.5})}
    )
    result = elected().judge(lossy, [], ())
    assert result.status is CheckStatus.SKIPPED
    assert "link settings" in result.summary and "every node up" in result.summary
    assert "no majority of nodes is up" not in result.summary
    # Healthy links and no majority at the end: nodes are down or cut.
    down = elected().judge(scenario(), [], ())
    assert "no majority of nodes is up and connected" in down.summary


def test_a_timeout_below_the_round_trip_cannot_be_live() -> None:
    # 5 ms each way, four delays and a 1 ms fsync: 21 ms; a 15 ms timeout never suffices.
    hasty = parse_scenario(BASE.replace("timeout: 500ms", "timeout: 15ms"))
    rows = ops(*((n % 2, 1000.0 + n * 20, "info", 1015.0 + n * 20) for n in range(200)))
    result = elected().judge(hasty, rows, NODES)
    assert result.status is CheckStatus.SKIPPED
    assert "cannot be live" in result.summary and "about 21 ms" in result.summary
    # A timeout above the round trip is judged as usual.
    patient = parse_scenario(BASE.replace("timeout: 500ms", "timeout: 30ms"))
    assert elected().judge(patient, rows, NODES).status is CheckStatus.VIOLATION


def test_a_member_taking_a_removed_servers_term_after_the_bound_is_a_disruption() -> None:
    monitor = elected()
    for time, node, kind, term in [
        (700.0, "n5", "raft.role", 7),  # n5, outside the final configuration, stands in 7
        (750.0, "n1", "raft.term", 7),  # the leader takes n5's term: deposed
        (800.0, "n2", "raft.term", 8),  # a term n5 never stood in
    ]:
        record: dict[str, Any] = {"t": time, "seq": 0, "kind": kind, "node": node, "term": term}
        if kind == "raft.role":
            record["role"] = "candidate"
        monitor.observe(record)
    members = ("n1", "n2", "n3", "n4")
    result = monitor.judge(scenario(), [], members, members)
    assert result.status is CheckStatus.VIOLATION
    assert result.details["violations"] == [
        "removed server n5 disrupted member n1: it took n5's term 7 at 750 ms"
    ]
    assert problems(result) == [(750.0, None)]  # when it took the term
    assert monitor.disruptions(members, 760.0) == []  # before the bound: not judged
    assert monitor.disruptions(NODES, 0.0) == []  # n5 a member: an ordinary election
    assert monitor.judge(scenario(), [], members).status is CheckStatus.OK  # L4 not asked


def test_disruption_is_judged_only_where_the_servers_defend_against_it() -> None:
    # Without CheckQuorum's stickiness and without PreVote, Raft lets a removed server
    # depose leaders (thesis §4.2.3): the same records are no violation there.
    monitor = elected()
    monitor.observe({"t": 700.0, "seq": 0, "kind": "raft.role", "node": "n5", "term": 7,
                     "role": "candidate"})  # fmt: skip
    monitor.observe({"t": 750.0, "seq": 0, "kind": "raft.term", "node": "n1", "term": 7})
    members = ("n1", "n2", "n3", "n4")
    undefended = parse_scenario(
        BASE.replace("heartbeat_interval: 50ms}", "heartbeat_interval: 50ms, "
                     "check_quorum: false, prevote: false}")
    )  # fmt: skip
    result = monitor.judge(undefended, [], members, members)
    assert result.status is CheckStatus.OK
    assert "not judged" in result.details["disruption"]
    for defence in ("check_quorum: true, prevote: false", "check_quorum: false, prevote: true"):
        defended = parse_scenario(
            BASE.replace("heartbeat_interval: 50ms}", f"heartbeat_interval: 50ms, {defence}}}")
        )
        assert monitor.judge(defended, [], members, members).status is CheckStatus.VIOLATION


def test_a_server_halted_by_its_disk_or_awaiting_repair_closes_windows_until_it_is_back() -> None:
    # A halted server takes no part until it restarts; one whose damaged log waits for a
    # leader's repair votes for nobody until `raft.repaired` (CTRL).
    monitor = LivenessMonitor()
    for event in [
        record(1000.0, "disk.damage", "n2", file="log", reason="checksum", action="repair"),
        record(1500.0, "raft.repaired", "n2", last_index=40, leader="n1"),
        record(2000.0, "disk.damage", "n3", file="hard_state", reason="checksum", action="halt"),
        record(5000.0, "node.crash", "n3"),
        record(5000.0, "node.restart", "n3"),  # read back repaired: it runs again
    ]:
        monitor.observe(event)
    found = [(w.from_ms, w.until_ms, w.healthy) for w in monitor.windows(scenario(), 9000.0)]
    assert found == [
        (0.0, 1000.0, NODES),
        (1500.0, 2000.0, NODES),
        # n3 halted sends nothing: the other four are a healthy majority (n2, awaiting its
        # repair before, ran and could campaign: no window then).
        (2000.0, 5000.0, ("n1", "n2", "n4", "n5")),
        (5000.0, 9000.0, NODES),
    ]


def test_an_undefended_cluster_with_a_removed_server_running_is_not_judged() -> None:
    # Thesis §4.2.3: without CheckQuorum or PreVote a removed server that still runs may
    # depose leaders for ever; Raft promises no liveness then. With CheckQuorum alone it
    # may still restart the others' elections while there is no leader to stick to: a
    # tail that never elected is skipped, one that did is judged. With PreVote, judged.
    rows = ops((1, 1000.0, "info", 1500.0))  # timed out, nothing else answered
    members = ("n1", "n2", "n3", "n4")
    undefended = parse_scenario(
        BASE.replace(
            "heartbeat_interval: 50ms}",
            "heartbeat_interval: 50ms, check_quorum: false, prevote: false}",
        )
    )
    result = elected().judge(undefended, rows, members, members, removed_running=("n5",))
    assert result.status is CheckStatus.SKIPPED
    assert "removed server(s) n5 still run" in result.summary
    assert elected().judge(undefended, rows, members, members).status is CheckStatus.VIOLATION
    check_quorum_only = parse_scenario(
        BASE.replace("heartbeat_interval: 50ms}", "heartbeat_interval: 50ms, prevote: false}")
    )
    # A leader was elected: CheckQuorum's stickiness must hold it, so the stall is judged.
    result = elected().judge(check_quorum_only, rows, members, members, removed_running=("n5",))
    assert result.status is CheckStatus.VIOLATION
    # None ever was: the removed server's terms may have restarted every election.
    never = LivenessMonitor()
    result = never.judge(check_quorum_only, rows, members, members, removed_running=("n5",))
    assert result.status is CheckStatus.SKIPPED and "no leader was elected" in result.summary
    defended = parse_scenario(BASE)  # PreVote
    result = elected().judge(defended, rows, members, members, removed_running=("n5",))
    assert result.status is CheckStatus.VIOLATION


def test_a_deaf_server_that_stands_for_election_unchecked_makes_the_tail_not_applicable() -> None:
    # n3 hears no one but still sends (the nemesis's deafen): outside every healthy
    # majority, like any cut-off node. Not leading, it times out and stands in ever
    # higher terms; without PreVote they restart the others' elections (CheckQuorum's
    # stickiness guards only a leader they hear from): liveness is not promised. With
    # PreVote, or still leading without CheckQuorum (it never campaigns), the rest of
    # the cluster must elect and serve.
    deaf_cut = [[other, "n3"] for other in ("n1", "n2", "n4", "n5")]
    bare = "faults: [{at: 2s, crash: n1}]"

    def settings(prevote: bool, check_quorum: bool) -> Scenario:
        options = f"prevote: {str(prevote).lower()}, check_quorum: {str(check_quorum).lower()}"
        return parse_scenario(
            BASE.replace("heartbeat_interval: 50ms", f"heartbeat_interval: 50ms, {options}") + bare
        )

    healthy = ("n1", "n2", "n4", "n5")
    for role, config, status in (
        ("follower", settings(False, False), CheckStatus.SKIPPED),
        ("follower", settings(False, True), CheckStatus.SKIPPED),
        ("leader", settings(False, True), CheckStatus.SKIPPED),
        ("leader", settings(False, False), CheckStatus.OK),
        ("follower", settings(True, False), CheckStatus.OK),
    ):
        monitor = LivenessMonitor()
        for event in [
            record(100.0, "raft.role", "n3", role=role),
            record(200.0, "raft.role", "n2", role="leader"),
            record(1000.0, "net.partition", shape="one_way", deaf="n3", cut=deaf_cut),
        ]:
            monitor.observe(event)
        result = monitor.judge(config, [], healthy)
        assert result.status is status, (role, result.summary)
        if status is CheckStatus.SKIPPED:
            assert "n3 hear(s) no one" in result.summary


def test_two_voters_without_prevote_may_waste_many_rounds() -> None:
    # The voter with the shorter log stands in vain, and each of its terms restarts the
    # other's timer: a round is wasted about half the time (nemesis-all seed 953 wasted
    # three). E allows as many rounds as make a longer run of them a one-in-a-million.
    plain = scenario()  # PreVote on by default
    assert election_rounds(plain) == 2 and election_rounds(plain, 2) == 2
    bare = parse_scenario(BASE.replace("heartbeat_interval: 50ms}",
                                       "heartbeat_interval: 50ms, prevote: false}"))  # fmt: skip
    assert election_rounds(bare, 3) == 2
    assert election_rounds(bare, 2) == 2 + math.ceil(math.log(1e-6) / math.log(0.5))


def test_a_server_that_cannot_win_is_a_wasted_round_without_prevote() -> None:
    # §5.4.1: a vote goes only to a log at least as up-to-date. With logs (term, index)
    # n1 (5, 9), n2 (5, 9), n3 (4, 12), n4 (3, 20), n5 (3, 1): n1, n2 win with any three
    # of the five, n3 with n3, n4, n5, but n4 has only itself and n5 (two of five) and n5
    # only itself. Without PreVote they stand anyway and restart every timer.
    logs = {"n1": (5, 9), "n2": (5, 9), "n3": (4, 12), "n4": (3, 20), "n5": (3, 1)}
    assert hopeless_share(logs, NODES, 5) == 2 / 5
    # Among the healthy only: with n1 and n2 down, n3 wins n3, n4, n5; no one else does.
    assert hopeless_share(logs, ("n3", "n4", "n5"), 5) == 2 / 3
    assert hopeless_share({node: (1, 1) for node in NODES}, NODES, 5) == 0.0
    bare = parse_scenario(BASE.replace("heartbeat_interval: 50ms}",
                                       "heartbeat_interval: 50ms, prevote: false}"))  # fmt: skip
    assert election_rounds(bare, 5, 0.4) == 2 + math.ceil(math.log(1e-6) / math.log(0.4))
    assert election_rounds(scenario(), 5, 0.4) == 2  # with PreVote it never raises its term


def persist(monitor: LivenessMonitor, at: float, logs: dict[str, tuple[int, int]]) -> None:
    for seq, (node, (term, index)) in enumerate(sorted(logs.items()), 1000 + int(at)):
        entry = {"t": at, "seq": seq, "kind": "raft.persist", "node": node,
                 "entries": [[index, term, "x"]]}  # fmt: skip
        monitor.observe(entry)


def test_a_window_whose_logs_drifted_apart_allows_the_wasted_rounds_without_prevote() -> None:
    # A crash of n5 from 2 s to 3 s; the window from 3 s opens with n4 and n5 unable to
    # win. Without PreVote, an election at 3.9 s is within what Raft promises then
    # (E = 18 rounds); with PreVote, or with logs alike, E stays two timeouts (600 ms).
    events = ((2000.0, "n5", "node.crash", None), (3000.0, "n5", "node.restart", None))
    faults = "faults: [{at: 2s, crash: n5}, {at: 3s, restart: n5}, {at: 9s, crash: n5}]\n"
    late = (3900.0, "n1", "raft.role", "leader")

    def judge(prevote: bool, logs: dict[str, tuple[int, int]]) -> CheckResult:
        setting = f"heartbeat_interval: 50ms, prevote: {str(prevote).lower()}}}"
        text = BASE.replace("heartbeat_interval: 50ms}", setting)
        monitor = elected(events[0])
        persist(monitor, 2500.0, logs)
        steps(monitor, (2500.0, "n1", "node.crash", None), first_seq=10)  # n1 leads no more
        steps(monitor, (2990.0, "n1", "node.restart", None), events[1], first_seq=20)
        steps(monitor, late, (9000.0, "n5", "node.crash", None), first_seq=30)
        return monitor.judge(parse_scenario(text + faults), [], NODES)

    drifted = {"n1": (5, 9), "n2": (5, 9), "n3": (4, 12), "n4": (3, 20), "n5": (3, 1)}
    alike = {node: (5, 9) for node in NODES}
    patient = judge(False, drifted)
    assert patient.status is not CheckStatus.VIOLATION, patient.summary
    assert (3000.0, 9000.0, 0) in [
        (w["from_ms"], w["until_ms"], w["problems"]) for w in patient.details["windows"]
    ]
    for prevote, logs in ((True, drifted), (False, alike)):
        result = judge(prevote, logs)
        assert result.status is CheckStatus.VIOLATION, (prevote, result.summary)
        assert "in the fault-free window 3000-9000 ms: no leader" in result.summary


def cut_all(*pairs: tuple[str, str]) -> list[list[str]]:
    return [list(pair) for pair in pairs]


def test_a_majority_running_unharmed_while_the_others_are_silent_must_elect_and_serve() -> None:
    # Raft promises progress while a majority runs and talks (§5.6), not only when
    # nothing is wrong: n1 (the leader) crashes at 2s and stays down to 6s; n2-n5 must
    # elect within E of the crash. Here no one leads until 4s: a stall in that window.
    crash = scenario("faults: [{at: 2s, crash: n1}, {at: 6s, restart: n1}]")
    stalled = elected((2000.0, "n1", "node.crash", None), (4000.0, "n2", "raft.role", "leader"))
    steps(stalled, (6000.0, "n1", "node.restart", None), first_seq=10)
    result = stalled.judge(crash, [], NODES)
    assert result.status is CheckStatus.VIOLATION, result.summary
    assert result.details["violations"] == [
        "in the window 2000-6000 ms in which n2, n3, n4, n5 ran unharmed (the others silent): "
        "no leader among n2, n3, n4, n5 within 600 ms of its start: elected only at 4000 ms (n2)"
    ]
    assert result.details["windows"][1]["healthy"] == ["n2", "n3", "n4", "n5"]
    assert problems(result) == [(2600.0, None)]
    # n2 taking over at 2.4s is live.
    live = elected((2000.0, "n1", "node.crash", None), (2400.0, "n2", "raft.role", "leader"))
    steps(live, (6000.0, "n1", "node.restart", None), first_seq=10)
    assert live.judge(crash, [], NODES).status is CheckStatus.OK


def test_without_prevote_a_window_with_a_fault_in_effect_is_not_judged() -> None:
    # A bare majority may elect late without PreVote (a member whose log is behind stands
    # in vain and its terms restart the others' timers): only fault-free windows then.
    no_prevote = parse_scenario(
        BASE.replace("heartbeat_interval: 50ms}", "heartbeat_interval: 50ms, prevote: false}")
        + "faults: [{at: 2s, crash: n1}, {at: 6s, restart: n1}]"
    )
    stalled = elected((2000.0, "n1", "node.crash", None), (4000.0, "n2", "raft.role", "leader"))
    steps(stalled, (6000.0, "n1", "node.restart", None), first_seq=10)
    assert [(w.from_ms, w.until_ms) for w in stalled.windows(no_prevote, 6000.0)] == [(0.0, 2000.0)]
    assert stalled.judge(no_prevote, [], NODES).status is CheckStatus.OK


@pytest.mark.parametrize(
    ("cut", "window"),
    [
        # n1 isolated both ways: silent toward the rest, who must elect.
        (cut_all(*[(a, b) for b in NODES[1:] for a, b in ((("n1", b)), (b, "n1"))]), True),
        # n1 deaf (it hears no one but still sends): it may disturb them; not judged.
        (cut_all(*[(b, "n1") for b in NODES[1:]]), False),
        # n1 mute (it hears them, sends to no one): as good as silent.
        (cut_all(*[("n1", b) for b in NODES[1:]]), True),
        # A bridge: n3 joins {n1, n2} and {n4, n5}; majorities overlap, none is the one.
        (
            cut_all(
                ("n1", "n4"),
                ("n4", "n1"),
                ("n1", "n5"),
                ("n5", "n1"),
                ("n2", "n4"),
                ("n4", "n2"),
                ("n2", "n5"),
                ("n5", "n2"),
            ),
            False,
        ),
        # {n1, n2} cut from {n3, n4, n5} both ways: the three must elect.
        (
            cut_all(
                *[
                    pair
                    for a in ("n1", "n2")
                    for b in ("n3", "n4", "n5")
                    for pair in ((a, b), (b, a))
                ]
            ),
            True,
        ),
    ],
)
def test_only_nodes_silent_toward_the_healthy_majority_leave_it_a_window(
    cut: list[list[str]], window: bool
) -> None:
    monitor = LivenessMonitor()
    monitor.observe(record(1000.0, "net.partition", shape="test", cut=cut))
    monitor.observe(record(5000.0, "net.heal"))
    found = [(w.from_ms, w.until_ms) for w in monitor.windows(scenario(), 9000.0)]
    expected = [(0.0, 1000.0), (1000.0, 5000.0), (5000.0, 9000.0)]
    assert found == (expected if window else [expected[0], expected[2]])


def test_a_server_outside_the_configuration_may_run_beside_the_healthy_majority() -> None:
    # n5 removed (committed), n4 crashed: n1-n3 are a majority of {n1..n4}; n5 runs as
    # if nothing failed (the removed-server rules judge it), so the window is open.
    monitor = LivenessMonitor()
    for event in [
        record(1000.0, "membership", op="remove", target="n5", result="requested"),
        record(
            1100.0,
            "membership",
            op="remove",
            target="n5",
            result="committed",
            voters=["n1", "n2", "n3", "n4"],
        ),
        record(2000.0, "node.crash", "n4"),
        record(2500.0, "net.partition", shape="test", cut=[["n5", "n1"]]),
    ]:
        monitor.observe(event)
    found = [(w.from_ms, w.until_ms, w.healthy) for w in monitor.windows(scenario(), 9000.0)]
    assert found == [
        (0.0, 1000.0, NODES),
        (1100.0, 2000.0, ("n1", "n2", "n3", "n4")),
        (2000.0, 2500.0, ("n1", "n2", "n3")),
        # n5 half cut from n1 sends to n2 and n3 with a fault in effect: not judged.
    ]
