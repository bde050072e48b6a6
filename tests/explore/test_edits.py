"""Scenario edits used by the shrinker: each result is a valid scenario that means the same."""

from __future__ import annotations

from typing import Any

import pytest

from harmonysim.explore import SeedTask, run_task
from harmonysim.explore.edits import (
    build,
    remove_faults,
    restrict_nodes,
    set_fault_at,
    undo_pairs,
    unroll_nemesis,
    with_duration,
)
from harmonysim.scenario import Scenario, load_scenario, scenario_to_data

FAULTS: list[dict[str, Any]] = [
    {"at": "1s", "crash": "n5"},
    {"at": "2s", "partition": {"groups": [["n1", "n4"], ["n2", "n5"]]}},
    {"at": "3s", "partition": {"one_way": {"from": ["n5"], "to": ["n1"]}}},
    {"at": "4s", "clog": {"from": "n1", "to": "n4"}},
    {"at": "5s", "restart": "n5"},
    {"at": "6s", "partition": {"ring": True}},
    {"at": "7s", "heal": "all"},
    {"at": "8s", "crash": "leader"},
    {"at": "9s", "nemesis": {"kinds": ["crash"], "interval": "1s", "until": "20s"}},
]


def five_nodes() -> dict[str, Any]:
    data = scenario_to_data(load_scenario("scenarios/standard.yaml"))
    data["faults"] = [dict(fault) for fault in FAULTS]
    data["network"]["links"] = [
        {"from": "n1", "to": "n4", "loss": 0.5},
        {"from": "n1", "to": "n2", "loss": 0.5},
    ]
    assert build(data) is not None
    return data


def test_shorter_runs_drop_later_faults_and_stop_the_nemesis_at_the_end() -> None:
    data = five_nodes()
    shorter = build(with_duration(data, 8500.0))
    assert shorter is not None
    assert shorter.duration_ms == 8500.0
    assert [fault.at_ms for fault in shorter.faults] == [1000.0 * n for n in range(1, 9)]
    still = build(with_duration(data, 12000.0))
    assert still is not None
    nemesis = still.faults[-1].nemesis
    assert nemesis is not None and nemesis.until_ms == 12000.0
    assert data["duration"] == "30s"  # the input is not changed


def test_shorter_runs_end_the_wait_of_a_triggered_fault_at_the_end() -> None:
    data = five_nodes()
    data["faults"] = [
        {"at": "1s", "when": "leader_elected", "until": "20s", "crash": "leader"},
        {"at": "2s", "when": "leader_commit", "until": "4s", "partition": {"isolate": "leader"}},
    ]
    shorter = build(with_duration(data, 6000.0))
    assert shorter is not None
    assert [(fault.at_ms, fault.until_ms) for fault in shorter.faults] == [
        (1000.0, 6000.0),
        (2000.0, 4000.0),
    ]


def test_three_nodes_drop_what_refers_to_the_others() -> None:
    smaller = build(restrict_nodes(five_nodes(), 3))
    assert smaller is not None
    assert smaller.cluster.nodes == 3
    kinds = [(fault.kind.value, fault.at_ms) for fault in smaller.faults]
    # crash n5, restart n5, the one-way cut from n5 and the ring (needs 4 nodes) are gone;
    # the groups lose n4 and n5, the clog to n4 is gone, leader stays.
    assert kinds == [
        ("partition", 2000.0),
        ("heal", 7000.0),
        ("crash", 8000.0),
        ("nemesis", 9000.0),
    ]
    assert smaller.faults[0].partition is not None
    assert smaller.faults[0].partition.groups == (("n1",), ("n2",))
    assert [(link.from_node, link.to_node) for link in smaller.network.links] == [("n1", "n2")]


def test_removing_and_moving_faults() -> None:
    data = five_nodes()
    fewer = build(remove_faults(data, [0, 4]))
    assert fewer is not None and len(fewer.faults) == len(FAULTS) - 2
    assert (0, 4) in undo_pairs(data)  # crash n5 .. restart n5
    assert (3, len(FAULTS)) not in undo_pairs(data)
    assert (5, 6) in undo_pairs(data)  # ring .. heal
    moved = build(set_fault_at(data, 4, 1500.0))
    assert moved is not None
    assert [fault.kind.value for fault in moved.faults[:2]] == ["crash", "restart"]
    assert moved.faults[1].at_ms == 1500.0


def _effects(events: tuple[dict[str, Any], ...]) -> list[tuple[Any, ...]]:
    """What the faults did, without log positions or how targets were chosen."""
    ignored = {"seq", "ref", "fallback"}
    return [
        tuple((key, str(value)) for key, value in event.items() if key not in ignored)
        for event in events
        if event["kind"] != "nemesis"
    ]


def test_an_unrolled_nemesis_does_exactly_what_the_nemesis_did(small_scenario: Scenario) -> None:
    ran = run_task(SeedTask(scenario=small_scenario, seed=small_scenario.seed, fault_events=True))
    steps = [event for event in ran.fault_events if event["kind"] == "nemesis"]
    assert len(steps) == 3  # at 300ms, 800ms, 1300ms (the others undo)
    unrolled_data = unroll_nemesis(scenario_to_data(small_scenario), 0, ran.fault_events)
    unrolled = build(unrolled_data) if unrolled_data is not None else None
    assert unrolled is not None
    assert all(fault.nemesis is None for fault in unrolled.faults)
    assert len(unrolled.faults) == 6  # three faults and their three undos
    again = run_task(SeedTask(scenario=unrolled, seed=unrolled.seed, fault_events=True))
    assert _effects(again.fault_events) == _effects(ran.fault_events)


def test_an_unrolled_nemesis_is_refused_when_steps_cannot_be_attributed(
    small_scenario: Scenario,
) -> None:
    data = scenario_to_data(small_scenario)
    data["faults"] = [data["faults"][0], dict(data["faults"][0])]
    twin = build(data)
    assert twin is not None
    ran = run_task(SeedTask(scenario=twin, seed=twin.seed, fault_events=True))
    assert unroll_nemesis(data, 0, ran.fault_events) is None
    assert unroll_nemesis(data, 5, ran.fault_events) is None


OVERLAPPING = """
name: overlapping
seed: 2
duration: 6s
cluster:
  nodes: 5
  raft: {lease_reads: true, max_clock_drift: 0.05}
network:
  latency: {distribution: constant, value: 2ms}
workload:
  clients: 2
  rate: 50/s
  mix: {get: 0.5, put: 0.5}
  keys: {count: 5}
faults:
  - at: 500ms
    nemesis:
      kinds: [partition, crash, clog, pause, transfer, clock]
      interval: 300ms
      until: 4s
      overlap: 3
      target_leader: 0.5
"""


def _struck(events: tuple[dict[str, Any], ...]) -> list[tuple[Any, ...]]:
    """What struck whom when, in log order (not how the nemesis chose the target)."""
    return [
        (event["t"], event["kind"], event["node"] or "", event.get("target") or "")
        for event in events
        if event["kind"] != "nemesis"
    ]


def test_an_overlapping_nemesis_of_every_kind_unrolls_into_what_it_did() -> None:
    from harmonysim.scenario import parse_scenario

    scenario = parse_scenario(OVERLAPPING)
    ran = run_task(SeedTask(scenario=scenario, seed=scenario.seed, fault_events=True))
    kinds = {str(e["kind"]) for e in ran.fault_events}
    assert {"node.clock", "node.crash", "node.pause", "net.partition", "leader.transfer"} <= kinds
    unrolled_data = unroll_nemesis(scenario_to_data(scenario), 0, ran.fault_events)
    assert unrolled_data is not None
    unrolled = build(unrolled_data)
    assert unrolled is not None and all(fault.nemesis is None for fault in unrolled.faults)
    again = run_task(SeedTask(scenario=unrolled, seed=unrolled.seed, fault_events=True))

    # Sorted: a clock fault's `for` undo runs after the faults written for its instant,
    # where the nemesis undoes before it strikes (see `unroll_nemesis`).
    assert sorted(_struck(again.fault_events)) == sorted(_struck(ran.fault_events))


@pytest.mark.parametrize("overlap", [3, 1], ids=["lasting", "undone-at-next-step"])
def test_faults_timed_on_an_election_and_chained_unroll_into_what_they_did(overlap: int) -> None:
    # Off the nemesis's interval: a fault that waited for the next election struck the
    # new leader the moment it was elected, and up to two more followed it 1-20ms later.
    # Unrolled, they are struck at the same instants on the same nodes and undone when
    # they were (with their own length, or at the nemesis's next step).
    from harmonysim.scenario import parse_scenario

    # (No clock faults: a clock's undo can only be written as `for`, which runs after
    # the faults written for its instant, so a clock reset and a restart at one instant
    # may swap; see `unroll_nemesis`.)
    text = OVERLAPPING.replace(
        "      overlap: 3\n",
        f"      overlap: {overlap}\n      chain: 1.0\n      on_election: 1.0\n",
    ).replace("transfer, clock]", "transfer]")
    scenario = parse_scenario(text)
    ran = run_task(SeedTask(scenario=scenario, seed=scenario.seed, fault_events=True))
    steps = [e for e in ran.fault_events if e["kind"] == "nemesis"]
    assert any(e.get("chained_to") or e.get("chained") for e in steps)
    assert any(e.get("timed") for e in steps) or overlap == 1  # it waited in vain there
    unrolled_data = unroll_nemesis(scenario_to_data(scenario), 0, ran.fault_events)
    assert unrolled_data is not None
    unrolled = build(unrolled_data)
    assert unrolled is not None and all(fault.nemesis is None for fault in unrolled.faults)
    again = run_task(SeedTask(scenario=unrolled, seed=unrolled.seed, fault_events=True))

    assert _struck(again.fault_events) == _struck(ran.fault_events)  # in the same order


def test_a_membership_nemesis_unrolls_into_removals_and_the_adds_that_undo_them() -> None:
    from harmonysim.scenario import parse_scenario

    text = OVERLAPPING.replace(
        "kinds: [partition, crash, clog, pause, transfer, clock]", "kinds: [membership, pause]"
    )
    scenario = parse_scenario(text)
    ran = run_task(SeedTask(scenario=scenario, seed=scenario.seed, fault_events=True))
    requested = [
        e for e in ran.fault_events if e["kind"] == "membership" and e["result"] == "requested"
    ]
    assert {e["op"] for e in requested} == {"remove", "add"}
    unrolled_data = unroll_nemesis(scenario_to_data(scenario), 0, ran.fault_events)
    assert unrolled_data is not None
    removes = [f for f in unrolled_data["faults"] if "remove" in f]
    adds = [f for f in unrolled_data["faults"] if "add" in f]
    assert removes and [f["remove"] for f in removes] == [f["add"] for f in adds]
    unrolled = build(unrolled_data)
    assert unrolled is not None and all(fault.nemesis is None for fault in unrolled.faults)
    again = run_task(SeedTask(scenario=unrolled, seed=unrolled.seed, fault_events=True))

    def effects(events: tuple[dict[str, Any], ...]) -> list[tuple[Any, ...]]:
        return sorted(
            (
                event["t"],
                event["kind"],
                event["node"] or "",
                event.get("target") or "",
                event.get("result") or "",
            )
            for event in events
            if event["kind"] != "nemesis"
        )

    assert effects(again.fault_events) == effects(ran.fault_events)


def test_a_nemesis_that_deafened_a_node_is_not_unrolled() -> None:
    # No fault of a file keeps a node deaf through later partitions and heals, so a run
    # whose nemesis deafened one cannot be written out as the faults it made.
    from harmonysim.scenario import parse_scenario, resolve
    from tests.cluster.test_deafen import DEAFEN

    scenario = resolve(parse_scenario(DEAFEN), seed=6)
    ran = run_task(SeedTask(scenario=scenario, seed=6, fault_events=True))
    assert any(event.get("deaf") is not None for event in ran.fault_events)
    assert unroll_nemesis(scenario_to_data(scenario), 0, ran.fault_events) is None
    plain = resolve(parse_scenario(DEAFEN.replace("deafen: 1.0", "deafen: 0.0")), seed=6)
    again = run_task(SeedTask(scenario=plain, seed=6, fault_events=True))
    assert unroll_nemesis(scenario_to_data(plain), 0, again.fault_events) is not None


def test_a_chasing_partition_unrolls_into_faults_waiting_for_what_it_struck_at() -> None:
    # A chase's first cut is its nemesis step's; each later one waited for an election or
    # a new leader's first commit. Unrolled, the file strikes the same leaders at the
    # same instants, and heals when the chase ended.
    from harmonysim.scenario import parse_scenario, resolve
    from tests.cluster.test_chase import CHASE

    scenario = resolve(parse_scenario(CHASE), seed=2)
    ran = run_task(SeedTask(scenario=scenario, seed=2, fault_events=True))
    timed = {e.get("timed") for e in ran.fault_events if e.get("chase")}
    assert {"leader_elected", "leader_commit"} <= timed
    unrolled_data = unroll_nemesis(scenario_to_data(scenario), 0, ran.fault_events)
    assert unrolled_data is not None
    assert any(f.get("when") == "leader_commit" for f in unrolled_data["faults"])
    unrolled = build(unrolled_data)
    assert unrolled is not None and all(fault.nemesis is None for fault in unrolled.faults)
    again = run_task(SeedTask(scenario=unrolled, seed=2, fault_events=True))

    assert _struck(again.fault_events) == _struck(ran.fault_events)
