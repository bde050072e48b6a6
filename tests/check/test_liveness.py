"""Liveness: bounds from the scenario, applicability, election after the quiet point,
and service (no stall) after it."""

from __future__ import annotations

from typing import Any

from harmonysim.check.liveness import LivenessMonitor, healthy_majority, liveness_bounds
from harmonysim.check.result import CheckStatus
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


def steps(monitor: LivenessMonitor, *events: tuple[float, str, str, str | None]) -> None:
    for seq, (time, node, kind, role) in enumerate(events):
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


def elected(at: float = 100.0) -> LivenessMonitor:
    monitor = LivenessMonitor()
    steps(monitor, (at, "n1", "raft.role", "leader"))
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


def test_a_stall_before_the_first_fault_is_a_violation() -> None:
    # Served until 2s, then nothing answered for 3s, then a crash at 6s and a quiet
    # tail: the stall is before the quiet point, and must not hide behind the fault.
    with_fault = scenario("faults: [{at: 6s, crash: n5}]")
    rows = ops(
        (1, 1000.0, "ok", 1010.0),
        (2, 3000.0, "info", 3500.0),
        (1, 3100.0, "info", 3600.0),
        (1, 7000.0, "ok", 7010.0),
    )
    result = elected().judge(with_fault, rows, ("n1", "n2", "n3", "n4"))
    assert result.status is CheckStatus.VIOLATION, result.summary
    assert result.summary.startswith("2 liveness problem(s); first: before the first fault:")
    assert result.details["before_first_fault"]["until_ms"] == 6000.0
    # The same history served throughout is live.
    served = ops((1, 1000.0, "ok", 1010.0), (2, 3000.0, "ok", 3010.0), (1, 7000.0, "ok", 7010.0))
    assert elected().judge(with_fault, served, ("n1", "n2", "n3", "n4")).status is CheckStatus.OK


def test_no_leader_before_the_first_fault_is_a_violation() -> None:
    late_leader = elected(at=4000.0)
    result = late_leader.judge(scenario("faults: [{at: 5s, crash: n5}]"), [], NODES)
    assert result.status is CheckStatus.VIOLATION
    assert "of the start, before the first fault at 5000 ms: elected only at 4000 ms" in (
        result.summary
    )


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
    assert monitor.disruptions(members, 760.0) == []  # before the bound: not judged
    assert monitor.disruptions(NODES, 0.0) == []  # n5 a member: an ordinary election
    assert monitor.judge(scenario(), [], members).status is CheckStatus.OK  # L4 not asked
