"""The database under faults: the issue's must-shows for leader isolation and crashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from harmonysim.cluster import Cluster
from harmonysim.cluster.server import entry_id
from harmonysim.scenario import parse_scenario, resolve
from harmonysim.sim.events import EventKind, EventRecord
from harmonysim.sim.world import World

from .support import run_text

ISOLATION = """
name: isolation
duration: 9s
cluster: {nodes: 5, raft: {election_timeout: [150ms, 300ms], heartbeat_interval: 50ms}}
network: {latency: {distribution: lognormal, mean: 5ms, p99: 30ms}, loss: 0.01}
workload: {clients: 6, rate: 150/s, mix: {get: 0.4, put: 0.5, cas: 0.1}}
faults:
  - {at: 3s, partition: {isolate: leader}}
  - {at: 6s, heal: all}
"""


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_leader_isolation_elects_a_new_leader_and_the_old_one_steps_down(
    tmp_path: Path, seed: int
) -> None:
    run = run_text(ISOLATION, tmp_path, seed=seed)
    cut = run.of("net.partition")[0]
    old_leader, cut_ms = cut["target"], cut["t"]
    heal_ms = run.of("net.heal")[0]["t"]
    old_term = max(term for t, node, term in run.leaders() if t < cut_ms and node == old_leader)

    # A new leader, elsewhere, within two (maximum) election timeouts of the cut.
    successors = [(t, node, term) for t, node, term in run.leaders() if cut_ms < t < heal_ms]
    assert successors, "no leader elected during the isolation"
    first_ms, new_leader, new_term = successors[0]
    assert new_leader != old_leader and new_term > old_term
    assert first_ms - cut_ms <= 2 * 300

    # ... which keeps committing while the old leader is cut off.
    commits = [e for e in run.of("raft.commit", new_leader) if first_ms < e["t"] < heal_ms]
    assert len(commits) > 20

    # Entries the old leader appended in its old term after the cut were never committed:
    # nobody applies them, and the old leader's log is overwritten after the heal.
    stranded = {
        (index, term, entry)
        for e in run.of("raft.persist", old_leader)
        if cut_ms < e["t"] < heal_ms
        for index, term, entry in e.get("entries", [])
        if term == old_term
    }
    # (A client may retry the same command at the new leader: it then commits at the
    # same index in the new term, which is a different entry.)
    applied = {(e["index"], e["term"], e["entry"]) for e in run.of("raft.apply")}
    assert stranded, "the isolated leader should have accepted some writes"
    assert not stranded & applied
    after_heal = [e for e in run.of("raft.role", old_leader) if e["t"] > cut_ms]
    assert after_heal and after_heal[0]["role"] == "follower"
    rewritten = [
        e for e in run.of("raft.persist", old_leader)
        if e["t"] > heal_ms and e.get("entries")
        and e["entries"][0][0] <= max(index for index, _, _ in stranded)
    ]  # fmt: skip
    assert rewritten, "the old leader's uncommitted suffix was not replaced"


CRASHES = """
name: crashes
duration: 12s
cluster: {nodes: 5}
network: {latency: {distribution: lognormal, mean: 5ms, p99: 30ms}, loss: 0.01}
workload: {clients: 6, rate: 200/s, mix: {get: 0.3, put: 0.6, cas: 0.1}}
faults:
  - {at: 3s, crash: n2}
  - {at: 5s, restart: n2}
"""


def run_with_leader_crashes(seed: int) -> tuple[list[EventRecord], Cluster]:
    """Crash the leader the instant it has acknowledged a write, three times, restarting it
    a second later; a follower (n2) also crashes and restarts."""
    scenario = resolve(parse_scenario(CRASHES), seed=seed)
    world = World.from_scenario(scenario)
    cluster = Cluster(world, scenario)
    world.faults.schedule(scenario.faults)
    events: list[EventRecord] = []
    world.log.subscribers.append(events.append)
    armed_at_ms = [2000.0, 4500.0, 7000.0]

    def on_ok(record: EventRecord) -> None:
        if armed_at_ms and record["t"] >= armed_at_ms[0] and record["f"] in ("put", "cas"):
            leader = world.leader()
            if leader is not None:
                armed_at_ms.pop(0)
                world.nodes[leader].crash()
                timeout = world.env.timeout(1_000_000)  # one virtual second
                timeout.callbacks.append(lambda _: world.nodes[leader].restart())

    world.log.watch([EventKind.CLIENT_OK], on_ok)
    cluster.start()
    world.run(scenario.duration_ms)
    cluster.finish()
    world.finish()
    assert armed_at_ms == [], "not every planned leader crash happened"
    return events, cluster


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_acknowledged_write_is_lost_when_leaders_crash_right_after_acknowledging(
    seed: int,
) -> None:
    events, cluster = run_with_leader_crashes(seed)
    crashes = [e for e in events if e["kind"] == "node.crash"]
    assert len(crashes) >= 3  # n2 may be the crashed leader already at 3s
    acknowledged = {
        f"{e['node']}:{e['request']}"
        for e in events
        if e["kind"] == "client.ok" and e["f"] in ("put", "cas")
    }
    assert len(acknowledged) > 300
    applies = [e for e in events if e["kind"] == "raft.apply"]
    at_index: dict[int, set[str]] = {}
    for e in applies:
        at_index.setdefault(e["index"], set()).add(e["entry"])
    # State Machine Safety: one entry per index, whoever applied it.
    assert all(len(entries) == 1 for entries in at_index.values())
    # Durability: every acknowledged write was applied, and at the end a majority of the
    # servers hold it in their logs (or in a snapshot that covers it).
    first_index: dict[str, int] = {}
    for e in applies:
        first_index.setdefault(e["entry"], e["index"])
    assert sorted(acknowledged - first_index.keys()) == []

    def holders(entry: str) -> int:
        index = first_index[entry]
        count = 0
        for _, server in cluster.servers():
            raft = server.raft
            if index <= raft.snapshot_index:
                count += 1  # committed, applied and compacted into the snapshot
            elif index <= raft.last_index:
                count += entry_id(raft.entries(index, index)[0]) == entry
        return count

    assert all(holders(entry) >= 3 for entry in acknowledged)
    final = {node.id: server.raft.applied_index for node, server in cluster.servers()}
    assert len(final) == 5
    horizon = min(final.values())
    assert horizon > max(first_index.values()) - 50
    # And the replicas hold the same data at equal applied index.
    states = {server.machine.tree.snapshot() for _, server in cluster.servers()
              if server.raft.applied_index == horizon}  # fmt: skip
    assert len(states) <= 1


ON_ELECTION = """
name: on-election
duration: 10s
cluster: {nodes: 5, raft: {election_timeout: [150ms, 300ms], heartbeat_interval: 50ms}}
network: {latency: {distribution: lognormal, mean: 5ms, p99: 30ms}}
workload: {clients: 4, rate: 100/s, mix: {get: 0.5, put: 0.5}}
faults:
  - at: 1s
    nemesis:
      {kinds: [crash], interval: 500ms, until: 8s, overlap: 2, target_leader: 1, on_election: 1}
"""


def test_a_fault_timed_on_election_strikes_the_new_leader_the_moment_it_is_elected(
    tmp_path: Path,
) -> None:
    # Every crash is aimed at the leader, so a crash is followed by an election that the
    # next step waits for: it strikes the new leader at the same virtual time.
    run = run_text(ON_ELECTION, tmp_path, seed=2)
    elected = {(e["t"], e["node"]) for e in run.of("raft.role") if e["role"] == "leader"}
    timed = [step for step in run.of("nemesis") if step.get("timed") == "leader_elected"]
    assert len(timed) >= 3
    crashes = run.of("node.crash")
    for step in timed:
        crash = next(e for e in crashes if e["seq"] > step["seq"])
        assert crash["t"] == step["t"] and (crash["t"], crash["node"]) in elected
    assert run.outcome.checks["raft_safety"].status.value == "ok"
