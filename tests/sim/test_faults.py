"""Faults from scenario files: scheduled actions, "the leader", and the seeded nemesis."""

from __future__ import annotations

from harmonysim.scenario import parse_scenario, resolve
from harmonysim.sim.events import EventRecord
from harmonysim.sim.world import World

from .pingpong import PingPong, Recorder

SCHEDULED = """
name: scheduled
duration: 3s
cluster: {nodes: 5}
faults:
  - {at: 100ms, partition: {groups: [[n1, n2], [n3, n4, n5]]}}
  - {at: 200ms, partition: {isolate: leader}}
  - {at: 300ms, heal: all}
  - {at: 400ms, clog: {from: n1, to: n2, both_ways: true}}
  - {at: 500ms, unclog: all}
  - {at: 600ms, crash: leader}
  - {at: 700ms, restart: n3}
  - {at: 800ms, pause: n4}
  - {at: 900ms, resume: n4}
"""

NEMESIS = """
name: nemesis
duration: 6s
cluster: {nodes: 5}
faults:
  - {at: 1s, nemesis: {kinds: [partition, crash, clog, pause], interval: 100ms, until: 5s}}
"""


def build(text: str, seed: int = 1) -> tuple[World, list[EventRecord]]:
    scenario = resolve(parse_scenario(text), seed=seed)
    world = World.from_scenario(scenario)
    recorder = Recorder()
    peers = list(scenario.node_ids)
    for peer in peers:
        world.add_node(
            peer, lambda node: PingPong(node, peers, recorder, 20.0), fsync_latency_ms=1.0
        )
    events: list[EventRecord] = []
    world.log.subscribers.append(events.append)
    world.faults.schedule(scenario.faults)
    world.start()
    return world, events


def kinds(events: list[EventRecord], prefix: str) -> list[EventRecord]:
    return [e for e in events if str(e["kind"]).startswith(prefix)]


def test_scheduled_faults_fire_in_order_with_resolved_targets() -> None:
    world, events = build(SCHEDULED)
    world.leader_oracle = lambda: "n3"
    world.run(1000)
    faults = [
        (e["t"], str(e["kind"]), e.get("target") or e["node"])
        for e in events
        if str(e["kind"]).split(".")[0] in ("net", "node")
    ]
    assert faults == [
        (100.0, "net.partition", None),
        (200.0, "net.partition", "n3"),
        (300.0, "net.heal", None),
        (400.0, "net.clog", None),
        (500.0, "net.unclog", None),
        (600.0, "node.crash", "n3"),
        (700.0, "node.restart", "n3"),
        (800.0, "node.pause", "n4"),
        (900.0, "node.resume", "n4"),
    ]
    groups = kinds(events, "net.partition")[0]
    assert ["n1", "n3"] in groups["cut"] and ["n2", "n1"] not in groups["cut"]
    isolate = kinds(events, "net.partition")[1]
    assert isolate["ref"] == "leader" and len(isolate["cut"]) == 8
    crash = kinds(events, "node.crash")[0]
    assert crash["ref"] == "leader"


def test_leader_without_a_known_leader_falls_back_to_a_seeded_choice() -> None:
    world, events = build(SCHEDULED)
    world.run(700)
    crash = kinds(events, "node.crash")[0]
    assert crash["fallback"] == "no leader known"
    again, events_again = build(SCHEDULED)
    again.run(700)
    assert kinds(events_again, "node.crash")[0]["node"] == crash["node"]


def nemesis_faults(seed: int) -> tuple[World, list[tuple[float, str, object]]]:
    world, events = build(NEMESIS, seed=seed)
    world.run(6000)
    trail = [
        (e["t"], str(e["kind"]), e.get("fault") or e.get("shape") or e["node"])
        for e in events
        if str(e["kind"]).split(".")[0] in ("net", "node", "nemesis")
    ]
    return world, trail


def test_nemesis_alternates_faults_and_undoes_everything_by_until() -> None:
    world, trail = nemesis_faults(seed=1)
    starts = [entry for entry in trail if entry[1] == "nemesis"]
    assert len(starts) == 20  # 4 s of 100 ms steps, a fault every other step
    assert {kind for _, _, kind in starts} == {"partition", "crash", "clog", "pause"}
    assert all(1000.0 <= t < 5000.0 for t, _, _ in trail)
    # Everything is undone by `until`: nodes up and running, network whole.
    assert all(node.up and not node.paused for node in world.nodes.values())
    assert world.network.partition is None
    assert world.network.clogged_links() == []


def test_nemesis_is_a_function_of_the_seed() -> None:
    assert nemesis_faults(seed=1)[1] == nemesis_faults(seed=1)[1]
    assert nemesis_faults(seed=1)[1] != nemesis_faults(seed=2)[1]
