"""Faults from scenario files: scheduled actions, "the leader", and the seeded nemesis."""

from __future__ import annotations

import itertools

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


LASTING = """
name: lasting
duration: 3s
cluster: {nodes: 5}
faults:
  - {at: 100ms, crash: leader, for: 200ms}
  - {at: 400ms, pause: leader, for: 100ms}
  - {at: 600ms, partition: {isolate: leader}, for: 300ms}
  - {at: 1s, clog: {from: n1, to: n2}, for: 50ms}
  - {at: 1200ms, partition: {isolate: n2}, for: 300ms}
  - {at: 1300ms, partition: {isolate: n3}}
"""


def trail_of(events: list[EventRecord]) -> list[tuple[float, str, object]]:
    return [
        (e["t"], str(e["kind"]), e.get("target") or e["node"])
        for e in events
        if str(e["kind"]).split(".")[0] in ("net", "node", "fault")
    ]


def test_a_fault_with_for_is_undone_on_the_node_it_struck() -> None:
    world, events = build(LASTING)
    leaders = iter(["n2", "n4", "n5"])  # the leader changes between faults
    world.leader_oracle = lambda: next(leaders)
    world.run(2000)
    assert trail_of(events) == [
        (100.0, "node.crash", "n2"),
        (300.0, "node.restart", "n2"),
        (400.0, "node.pause", "n4"),
        (500.0, "node.resume", "n4"),
        (600.0, "net.partition", "n5"),
        (900.0, "net.heal", None),
        (1000.0, "net.clog", None),
        (1050.0, "net.unclog", None),
        (1200.0, "net.partition", "n2"),
        (1300.0, "net.partition", "n3"),
        (1500.0, "fault.noop", None),  # the n2 cut was replaced: its undo heals nothing
    ]
    assert world.network.partition is not None  # the n3 cut stands
    noop = kinds(events, "fault.noop")[0]
    assert noop["fault"] == "heal" and "replaced" in noop["reason"]


ALL_DOWN = """
name: all-down
duration: 3s
cluster: {nodes: 5}
faults:
  - {at: 100ms, crash: n1}
  - {at: 100ms, crash: n2}
  - {at: 200ms, pause: n3}
  - {at: 300ms, restart: crashed}
  - {at: 300ms, resume: paused}
  - {at: 400ms, restart: n4}
  - {at: 400ms, resume: all}
  - {at: 500ms, crash: n5}
  - {at: 500ms, crash: n5}
"""


def test_restart_crashed_and_resume_paused_need_no_node_ids_and_noops_say_why() -> None:
    world, events = build(ALL_DOWN)
    world.run(1000)
    assert trail_of(events) == [
        (100.0, "node.crash", "n1"),
        (100.0, "node.crash", "n2"),
        (200.0, "node.pause", "n3"),
        (300.0, "node.restart", "n1"),
        (300.0, "node.restart", "n2"),
        (300.0, "node.resume", "n3"),
        (400.0, "fault.noop", "n4"),
        (400.0, "fault.noop", None),
        (500.0, "node.crash", "n5"),
        (500.0, "fault.noop", "n5"),
    ]
    reasons = [(noop["fault"], noop["reason"]) for noop in world.faults.noops]
    assert reasons == [
        ("restart", "the node is up"),
        ("resume", "no node is paused"),
        ("crash", "the node is already down"),
    ]
    assert world.faults.counts["node.crash"] == 3  # the no-op crash is not counted
    assert world.faults.counts["node.restart"] == 2


def test_a_triggered_fault_that_never_fired_is_reported_at_the_end() -> None:
    text = """
name: never
duration: 1s
cluster: {nodes: 3}
faults:
  - {at: 100ms, when: leader_elected, crash: leader}
"""
    world, _ = build(text)
    world.run(1000)
    world.faults.finish()
    assert [noop["reason"] for noop in world.faults.noops] == [
        "its trigger leader_elected never came"
    ]


OVERLAPPING = """
name: overlapping
duration: 12s
cluster: {nodes: 5}
faults:
  - at: 1s
    nemesis: {kinds: [partition, pause], interval: 200ms, until: 10s, overlap: 3, target_leader: 1}
"""


def test_an_overlapping_nemesis_pauses_the_leader_while_a_partition_holds() -> None:
    world, events = build(OVERLAPPING)
    world.leader_oracle = lambda: "n3"
    world.run(12000)
    paused: set[str] = set()
    partitioned = False
    overlaps = 0
    for event in events:
        kind = str(event["kind"])
        if kind == "node.pause":
            paused.add(str(event["node"]))
            overlaps += partitioned
        elif kind == "node.resume":
            paused.discard(str(event["node"]))
        elif kind == "net.partition":
            partitioned = True
            overlaps += bool(paused)
        elif kind == "net.heal":
            partitioned = False
    assert overlaps > 0
    assert {str(e["node"]) for e in kinds(events, "node.pause")} == {"n3"}  # aimed at it
    assert all(node.up and not node.paused for node in world.nodes.values())
    assert world.network.partition is None


def test_for_is_refused_on_a_fault_that_cannot_be_undone() -> None:
    import pytest

    from harmonysim.scenario import ScenarioError

    text = """
name: bad
duration: 1s
faults:
  - {at: 100ms, heal: all, for: 1s}
"""
    with pytest.raises(ScenarioError, match="cannot be undone"):
        parse_scenario(text)


SWARM = """
name: swarm
duration: 8s
cluster: {nodes: 5}
faults:
  - at: 1s
    nemesis:
      kinds: [partition, crash, clog, pause]
      interval: 100ms
      until: 7s
      overlap: 3
      target_leader: 1
      swarm: true
"""


def test_a_swarm_nemesis_strikes_only_the_kinds_its_seed_drew_and_says_which() -> None:
    action_kinds = {
        "partition": "net.partition",
        "crash": "node.crash",
        "clog": "net.clog",
        "pause": "node.pause",
    }
    draws: list[tuple[str, ...]] = []
    for seed in range(1, 9):
        world, events = build(SWARM, seed=seed)
        world.run(8000)
        steps = kinds(events, "nemesis")
        swarm = steps[0]["swarm"]
        assert all("swarm" not in step for step in steps[1:])  # announced once
        drawn = tuple(swarm["kinds"])
        assert drawn and set(drawn) <= set(action_kinds)
        assert 1 <= swarm["overlap"] <= 3 and swarm["target_leader"] in (0.0, 1)
        assert {step["fault"] for step in steps} == set(drawn)
        struck = {kind for kind in action_kinds.values() if kinds(events, kind)}
        assert struck == {action_kinds[kind] for kind in drawn}
        assert all(node.up and not node.paused for node in world.nodes.values())
        draws.append(drawn)
    assert len(set(draws)) > 2  # seeds differ in what they combine


def test_a_swarm_draw_is_a_function_of_the_seed() -> None:
    first, events = build(SWARM, seed=5)
    first.run(8000)
    second, again = build(SWARM, seed=5)
    second.run(8000)
    assert again == events


CHAINED = """
name: chained
duration: 8s
cluster: {nodes: 5}
faults:
  - at: 1s
    nemesis: {kinds: [pause, partition], interval: 200ms, until: 6s, overlap: 2, chain: 1}
"""


def test_a_chained_fault_strikes_the_same_node_within_20ms_and_is_undone_with_it() -> None:
    world, events = build(CHAINED)
    world.run(8000)

    def struck(step: EventRecord) -> str:
        """The node the action of a nemesis step struck (the event right after it)."""
        action = events[events.index(step) + 1]
        return str(action["target"] if action["kind"] == "net.partition" else action["node"])

    steps = kinds(events, "nemesis")
    chained = [(parent, step) for parent, step in itertools.pairwise(steps) if "chained_to" in step]
    assert len(chained) > 3
    for parent, step in chained:
        assert step["fault"] != parent["fault"]
        assert struck(step) == struck(parent) == step["chained_to"]
        assert 1.0 <= float(step["t"]) - float(parent["t"]) <= 20.0
    isolations = [e for e in kinds(events, "net.partition") if e["shape"] == "isolate"]
    assert any(e["target"] in {step["chained_to"] for _, step in chained} for e in isolations)
    assert all(node.up and not node.paused for node in world.nodes.values())
    assert world.network.partition is None


def test_a_nemesis_without_chain_or_election_timing_draws_as_before() -> None:
    # The new knobs draw nothing when off: the swarm announces only what it had.
    world, events = build(SWARM, seed=3)
    world.run(8000)
    swarm = kinds(events, "nemesis")[0]["swarm"]
    assert sorted(swarm) == ["kinds", "overlap", "target_leader"]
    assert not [
        step for step in kinds(events, "nemesis") if "chained_to" in step or "timed" in step
    ]


DEAFEN = """
name: deafen
duration: 6s
cluster: {nodes: 5}
faults:
  - at: 1s
    nemesis: {kinds: [partition], interval: 200ms, until: 5s, target_leader: 1.0, deafen: 1.0}
"""


def test_a_deposed_isolated_node_is_healed_only_one_way_and_stays_deaf() -> None:
    # The oracle names n1 the leader, then n2 once the first isolation holds: the
    # isolated n1 is deposed by the time its isolation ends, so the heal leaves the links
    # to it cut for good, and every later partition and heal keeps them cut.
    world, events = build(DEAFEN, seed=1)
    leaders = iter(itertools.chain(["n1"], itertools.repeat("n2")))
    world.leader_oracle = lambda: next(leaders)
    world.run(6000)
    cuts = [e for e in events if e["kind"] in ("net.partition", "net.heal")]
    first = next(i for i, e in enumerate(cuts) if e.get("deaf") is not None)
    deaf = cuts[first]["deaf"]
    isolated = [e for e in cuts[:first] if e.get("shape") == "isolate"]
    assert isolated and isolated[-1]["target"] == deaf
    assert cuts[first]["shape"] == "one_way" and cuts[first]["to"] == [deaf]
    others = [node for node in world.nodes if node != deaf]
    assert all(e["kind"] == "net.partition" for e in cuts[first:])  # no whole heal again
    for event in cuts[first:]:
        assert all([other, deaf] in event["cut"] for other in others), event
    assert sorted(world.network.cut_links()) == sorted((other, deaf) for other in others)


def test_a_node_still_leading_when_its_isolation_ends_is_healed_whole() -> None:
    world, events = build(DEAFEN, seed=1)
    world.leader_oracle = lambda: "n1"  # no one deposes anyone
    world.run(6000)
    isolations = [e for e in events if e.get("shape") == "isolate"]
    assert isolations and all(e["target"] == "n1" for e in isolations)
    assert not [e for e in events if e.get("deaf") is not None]
    assert world.network.partition is None
