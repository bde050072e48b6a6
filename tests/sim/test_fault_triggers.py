"""Faults that wait for an event (`when`): which event fires them, when, and on whom."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from harmonysim.scenario import parse_scenario, resolve
from harmonysim.sim.events import EventKind, EventRecord
from harmonysim.sim.world import World

from .pingpong import PingPong, Recorder

TRIGGERED = """
name: triggered
duration: 3s
cluster: {nodes: 5}
faults:
  - {at: 100ms, when: leader_elected, partition: {isolate: leader}}
  - {at: 100ms, when: leader_commit, heal: all}
  - {at: 100ms, when: leader_elected, until: 250ms, restart: n1}
  - {at: 350ms, when: leader_elected, until: 2s, crash: leader}
  - {at: 650ms, when: leader_commit, until: 2s, pause: leader}
"""

# What the servers would report: (time ms, kind, node, fields).
REPORTS: list[tuple[float, EventKind, str, dict[str, Any]]] = [
    (200.0, EventKind.RAFT_COMMIT, "n2", {"index": 1, "term": 1}),  # n2 not leader yet
    (300.0, EventKind.RAFT_ROLE, "n2", {"role": "leader", "term": 2, "leader": "n2"}),
    (400.0, EventKind.RAFT_COMMIT, "n3", {"index": 2, "term": 2}),  # a follower commits
    (500.0, EventKind.RAFT_COMMIT, "n2", {"index": 2, "term": 2}),  # the leader commits
    (600.0, EventKind.RAFT_ROLE, "n4", {"role": "leader", "term": 3, "leader": "n4"}),
    (700.0, EventKind.RAFT_COMMIT, "n2", {"index": 3, "term": 2}),  # n2 still says leader
]


def build() -> tuple[World, list[EventRecord]]:
    scenario = resolve(parse_scenario(TRIGGERED), seed=1)
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
    world.leader_oracle = lambda: "n5"  # triggered faults must not ask the oracle

    def report() -> Iterator[Any]:
        for at_ms, kind, node, fields in REPORTS:
            yield world.env.timeout(round(at_ms * 1000) - world.env.now)
            world.log.emit(kind, node, fields)

    world.env.process(report())
    world.start()
    return world, events


FAULT_KINDS = {"net.partition", "net.heal", "node.crash", "node.restart", "node.pause"}


def test_each_fault_fires_once_at_its_first_trigger_on_the_node_of_that_event() -> None:
    world, events = build()
    world.run(1000)
    faults = [
        (e["t"], str(e["kind"]), e.get("target") or e["node"], e.get("when"))
        for e in events
        if str(e["kind"]) in FAULT_KINDS
    ]
    assert faults == [
        (300.0, "net.partition", "n2", "leader_elected"),
        (500.0, "net.heal", None, "leader_commit"),
        (600.0, "node.crash", "n4", "leader_elected"),
        (700.0, "node.pause", "n2", "leader_commit"),
    ]
    # Fired right after the event that triggered it, at the same virtual time.
    by_time = {e["t"]: e for e in events if str(e["kind"]).startswith("raft.")}
    for t, kind, _, _ in faults:
        fault = next(e for e in events if e["t"] == t and str(e["kind"]) == kind)
        assert fault["seq"] > by_time[t]["seq"]
    isolate = next(e for e in events if str(e["kind"]) == "net.partition")
    assert isolate["ref"] == "leader" and isolate["shape"] == "isolate"


def test_a_crash_forgets_that_the_node_led() -> None:
    world, events = build()
    world.run(650)
    world.nodes["n2"].crash()
    world.nodes["n2"].restart()
    world.run(1000)
    assert not any(str(e["kind"]) == "node.pause" for e in events)


def test_triggered_faults_replay_identically() -> None:
    def trail() -> list[tuple[Any, ...]]:
        world, events = build()
        world.run(1000)
        return [(e["t"], e["seq"], e["kind"], e["node"]) for e in events]

    assert trail() == trail()
