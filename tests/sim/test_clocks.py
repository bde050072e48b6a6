"""Each node's clock: a monotonic clock at its own rate, and a wall clock that can step."""

from __future__ import annotations

import pytest

from harmonysim.sim.world import World

from .test_faults import build, kinds


def test_a_fast_clock_fires_timers_early_and_reads_ahead() -> None:
    world, _ = build("name: c\nduration: 1s\ncluster: {nodes: 1}\n")
    node = world.nodes["n1"]
    node.set_clock_rate(2.0)
    fired: list[int] = []
    node.set_timer(100.0, "t", lambda: fired.append(world.env.now))
    world.run(1000)
    assert fired == [50_000]  # 100 ms of its clock are 50 ms of real time
    assert node.local_us == 2_000_000 and node.wall_us == node.local_us


def test_a_rate_change_keeps_the_monotonic_clock_continuous() -> None:
    world, _ = build("name: c\nduration: 1s\ncluster: {nodes: 1}\n")
    node = world.nodes["n1"]
    world.run(100)
    node.set_clock_rate(0.5)
    world.run(300)
    assert node.local_us == 100_000 + 100_000  # 200 ms real at half speed: 100 ms
    with pytest.raises(ValueError, match="positive"):
        node.set_clock_rate(0.0)


def test_clock_faults_step_the_wall_clock_only_and_are_undone() -> None:
    text = """
name: clocks
duration: 2s
cluster: {nodes: 3}
faults:
  - {at: 100ms, clock: {node: n1, jump: -50ms}, for: 100ms}
  - {at: 300ms, clock: {node: n2, rate: 1.5}, for: 200ms}
  - {at: 600ms, clock: {node: n3, strobe: {delta: 10ms, period: 5ms}}, for: 22ms}
"""
    world, events = build(text)
    world.run(150)
    n1 = world.nodes["n1"]
    assert n1.wall_us == n1.local_us - 50_000 and n1.local_us == 150_000
    world.run(1000)
    assert [n.wall_us - n.local_us for n in world.nodes.values()] == [0, 0, 0]
    assert world.nodes["n2"].local_us == 1_000_000 + 100_000  # ran fast for 200 ms
    clocks = kinds(events, "node.clock")
    assert [(e["t"], e["node"], e.get("after")) for e in clocks] == [
        (100.0, "n1", None),
        (200.0, "n1", "clock"),
        (300.0, "n2", None),
        (500.0, "n2", "clock"),
        (600.0, "n3", None),
        (622.0, "n3", "clock"),
    ]
    assert (clocks[0]["local_ms"], clocks[0]["wall_ms"]) == (100.0, 50.0)


def test_cluster_drift_gives_each_node_a_seeded_rate_within_the_bound() -> None:
    from harmonysim.cluster import Cluster
    from harmonysim.scenario import parse_scenario

    text = "name: d\nduration: 1s\ncluster: {nodes: 3, clocks: {drift_ppm: 50000}}\n"
    scenario = parse_scenario(text)
    rates = []
    for _ in range(2):
        world = World.from_scenario(scenario)
        cluster = Cluster(world, scenario)
        rates.append(cluster.clock_rates)
    assert rates[0] == rates[1] and sorted(rates[0]) == ["n1", "n2", "n3"]
    assert all(0.95 <= rate <= 1.05 and rate != 1.0 for rate in rates[0].values())
