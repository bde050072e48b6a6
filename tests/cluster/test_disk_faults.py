"""Storage faults in a running cluster (sim/disk.py, cluster/server.py, raft/node.py
"Repair"; "Protocol-Aware Recovery for Consensus-Based Storage", Alagappan et al.,
FAST 2018).

- A damaged committed entry on one follower, then the leader crashes: the correct server
  votes for nobody until repaired, so no acknowledged write is lost, a leader is elected
  and the damaged replica is repaired; with ``truncate_at_damaged_entry`` (PAR's finding)
  committed writes are lost and raft_safety and linearizability catch it.
- Torn writes, misdirected writes and read errors at a restart are survived the same way.
- The hard state is kept in two copies (cluster/server.py): a crash that tears the
  pending rewrite of one, or a copy damaged at rest, restarts the server on the other
  (the previous state, or the same newest one) and rewrites the damaged copy; only both
  copies damaged stop the server, with a diagnosis in the run summary.
- A log record torn by a crash is dropped and repaired, and the server serves on through
  a second failure; with ``refuse_start_on_torn_log`` (logcabin/logcabin#191) it never
  starts again, and after the second failure no majority is left.
- A restart after log compaction loads the entries after the snapshot at their indexes;
  with ``log_start_ignores_snapshot`` (canonical/raft#199) they are numbered from 1, the
  log ends behind the snapshot and the server refuses to start.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from harmonysim.cluster import Cluster
from harmonysim.cluster.server import HARD_STATE, HARD_STATE_B, HardStateCopy
from harmonysim.raft import HardState
from harmonysim.runner import run_scenario
from harmonysim.scenario import load_scenario, parse_scenario, resolve
from harmonysim.sim.events import EventRecord, read_events
from harmonysim.sim.world import World

from .support import run_text

ROOT = Path(__file__).resolve().parents[2]


def violations(checks: Mapping[str, object]) -> list[str]:
    return sorted(name for name, result in checks.items() if result.status == "violation")  # type: ignore[attr-defined]


@pytest.mark.parametrize("bug", [False, True], ids=["repair", "truncate_at_damaged_entry"])
def test_a_damaged_committed_entry_then_the_leader_crashes(bug: bool, tmp_path: Path) -> None:
    scenario = load_scenario(ROOT / "scenarios" / "disk-corruption.yaml")
    assert scenario.seed == 1
    if bug:
        # Shorter: once n1 is back, the cluster's committed logs disagree and its leader
        # and n1 trade rejected AppendEntries for the rest of the run (slow, and beside
        # the point: the loss is caught before).
        scenario = resolve(scenario, bugs=("truncate_at_damaged_entry",), duration_ms=7000.0)
    outcome = run_scenario(scenario, tmp_path / "run", failure_traces=False)
    events = read_events(tmp_path / "run" / "events.jsonl")
    damage = [e for e in events if e["kind"] == "disk.damage"]
    assert [(e["node"], e["file"], e["from_index"]) for e in damage] == [("n2", "log", 1)]
    leaders = [
        (e["t"], e["node"]) for e in events if e["kind"] == "raft.role" and e["role"] == "leader"
    ]
    after_crash = [node for t, node in leaders if t > 3200.0]
    if bug:
        # n2 took the damage as the end of its log and voted n3 in: the writes n1 and n2
        # had committed while n3 was cut off are gone.
        assert damage[0]["action"] == "truncate"
        assert after_crash[0] == "n3"
        assert violations(outcome.checks) == ["linearizability", "raft_safety"]
        return
    assert damage[0]["action"] == "repair"
    # The repair mark is written before the cut, in one fsync: a crash tearing it can
    # leave the mark without the cut, never the shorter log without the mark.
    fsync = next(
        e
        for e in events
        if e["kind"] == "disk.fsync" and e["node"] == "n2" and e["seq"] > damage[0]["seq"]
    )
    assert fsync["files"] == ["repair", "log"]
    recover = [e for e in events if e["kind"] == "raft.recover" and e["node"] == "n2"][-1]
    assert recover["last_index"] == 0 and recover["repair_until"] > 100
    # n3 never had the lost entries and n2 votes for nobody: no leader until n1 is back.
    assert after_crash[0] == "n1"
    repaired = [e for e in events if e["kind"] == "raft.repaired"]
    assert [(e["node"], e["leader"]) for e in repaired] == [("n2", "n1")]
    assert repaired[0]["last_index"] >= recover["repair_until"]
    assert violations(outcome.checks) == []
    assert outcome.checks["liveness"].status == "ok"


@pytest.mark.parametrize("bug", [False, True], ids=["repair", "refuse_start_on_torn_log"])
def test_a_torn_log_tail_then_the_leader_crashes_for_good(bug: bool, tmp_path: Path) -> None:
    scenario = load_scenario(ROOT / "scenarios" / "torn-log.yaml")
    assert scenario.seed == 51
    if bug:
        scenario = resolve(scenario, bugs=("refuse_start_on_torn_log",))
    outcome = run_scenario(scenario, tmp_path / "run", failure_traces=False)
    events = read_events(tmp_path / "run" / "events.jsonl")
    torn = [e for e in events if e["kind"] == "disk.fault" and e.get("outcome")]
    assert [(e["node"], e["outcome"], e["file"], e["damaged"]) for e in torn] == [
        ("n2", "partial", "log", True)
    ]
    damage = [e for e in events if e["kind"] == "disk.damage"]
    assert [(e["node"], e["file"], e["reason"]) for e in damage] == [("n2", "log", "checksum")]
    recoveries = [e for e in events if e["kind"] == "raft.recover" and e["node"] == "n2"]
    leaders_after = {
        e["node"]
        for e in events
        if e["kind"] == "raft.role" and e["role"] == "leader" and e["t"] > 4000.0
    }
    if bug:
        # The torn record is taken as fatal: n2 stops at its restart and recovers nothing;
        # once n1 crashes, n3 is alone and no leader is ever elected.
        assert damage[0]["action"] == "halt"
        assert len(recoveries) == 1  # the start of the run only
        halts = outcome.summary["disk_halts"]
        assert [h["node"] for h in halts] == ["n2"] and "torn" in halts[0]["halted"]
        assert leaders_after == set()
        assert violations(outcome.checks) == ["liveness"]
        liveness = outcome.checks["liveness"]
        # L7 names the needless halt first; the lost availability it caused (L1) follows.
        assert "n2 halted on a damaged log (checksum)" in liveness.summary
        assert any("no leader among n2, n3" in text for text in liveness.details["violations"])
        return
    # The correct server drops the torn record, is repaired by n1, and after n1 is gone
    # forms a majority with n3.
    assert damage[0]["action"] == "repair"
    assert len(recoveries) == 2 and recoveries[1]["repair_until"] > 0
    assert [e["node"] for e in events if e["kind"] == "raft.repaired"] == ["n2"]
    assert leaders_after and leaders_after <= {"n2", "n3"}
    assert "disk_halts" not in outcome.summary or not outcome.summary["disk_halts"]
    assert violations(outcome.checks) == []


@pytest.mark.parametrize("bug", [False, True], ids=["correct", "log_start_ignores_snapshot"])
def test_a_restart_after_compaction_then_the_leader_crashes_for_good(
    bug: bool, tmp_path: Path
) -> None:
    scenario = load_scenario(ROOT / "scenarios" / "snapshot-restart.yaml")
    if bug:
        scenario = resolve(scenario, bugs=("log_start_ignores_snapshot",))
    outcome = run_scenario(scenario, tmp_path / "run", failure_traces=False)
    events = read_events(tmp_path / "run" / "events.jsonl")
    snapshots = [e for e in events if e["kind"] == "raft.snapshot" and e["node"] == "n2"]
    snapshot = [e for e in snapshots if e["t"] < 3000.0][-1]  # the last before the crash
    assert snapshot["index"] >= 200
    recoveries = [e for e in events if e["kind"] == "raft.recover" and e["node"] == "n2"]
    damage = [e for e in events if e["kind"] == "disk.damage"]
    leaders_after = {
        e["node"]
        for e in events
        if e["kind"] == "raft.role" and e["role"] == "leader" and e["t"] > 5000.0
    }
    if bug:
        # n2's log after its snapshot, numbered from 1, ends behind the snapshot: refused.
        assert [(e["node"], e["reason"], e["action"]) for e in damage] == [
            ("n2", "behind_snapshot", "halt")
        ]
        assert len(recoveries) == 1  # the start of the run only
        halts = outcome.summary["disk_halts"]
        assert [h["node"] for h in halts] == ["n2"]
        assert f"behind last snapshot's index {snapshot['index']}" in halts[0]["halted"]
        assert leaders_after == set()
        assert violations(outcome.checks) == ["liveness"]
        return
    # The correct server loads the entries after its snapshot where they belong.
    assert damage == []
    assert recoveries[1]["snapshot_index"] == snapshot["index"]
    assert recoveries[1]["last_index"] > snapshot["index"]
    assert leaders_after and leaders_after <= {"n2", "n3"}
    assert violations(outcome.checks) == []


FAULTS = """
name: disk-faults
seed: 3
duration: 8s
cluster:
  nodes: 3
network:
  latency: {distribution: constant, value: 2ms}
workload:
  clients: 4
  rate: 100/s
  mix: {get: 0.5, put: 0.5}
  keys: {count: 10, distribution: uniform}
  timeout: 500ms
faults:
  - {at: 1s, disk: {node: n2, eio: {file: log, index: [3, 5]}}}
  - {at: 1s, crash: n2, for: 200ms}
  - {at: 2500ms, disk: {node: n3, torn: true}}
  - {at: 2500ms, disk: {node: n3, slow: {fsync: 30ms}}, for: 1s}
  - {at: 3s, crash: n3, for: 200ms}
  - {at: 4s, disk: {node: leader, misdirect: true}}
  - {at: 4500ms, crash: leader, for: 300ms}
  - {at: 6s, disk: {node: n1, write_error: true}}
checks: [raft_safety, linearizability, btree_invariants, liveness]
"""


def test_read_errors_torn_and_misdirected_writes_are_survived(tmp_path: Path) -> None:
    run = run_text(FAULTS, tmp_path)
    assert violations(run.outcome.checks) == []
    eio = run.of("disk.fault", "n2")
    assert [(e["fault"], e["indexes"]) for e in eio] == [("eio", [3, 5])]
    assert [(e["reason"], e["from_index"]) for e in run.of("disk.damage", "n2")] == [("eio", 3)]
    assert [e["node"] for e in run.of("raft.repaired")][:1] == ["n2"]
    faults = [e["fault"] for e in run.of("disk.fault")]
    assert {"torn", "misdirect", "slow"} <= set(faults)
    assert run.outcome.summary["disk_faults"]["eio"] == 1
    # A failed fsync: n1 fails-stop and is restarted from what its disk holds.
    failed = run.of("disk.fault", "n1")[-1]
    assert failed["fault"] == "write_error" and "armed" not in failed
    damage = run.of("disk.damage", "n1")[-1]
    assert (damage["reason"], damage["action"]) == ("eio", "restart")
    crash = [e for e in run.of("node.crash", "n1") if e.get("cause")]
    restart = [e for e in run.of("node.restart", "n1") if e.get("after") == "eio"]
    assert len(crash) == len(restart) == 1
    assert restart[0]["t"] - crash[0]["t"] == 100.0


def hard_state_before(events: list[EventRecord], node: str, t_ms: float) -> tuple[object, ...]:
    """(term, vote, commit) of the last hard state ``node`` made durable before ``t_ms``."""
    persisted = [
        e
        for e in events
        if e["kind"] == "raft.persist" and e["node"] == node and "term" in e and e["t"] <= t_ms
    ]
    return (persisted[-1]["term"], persisted[-1]["voted_for"], persisted[-1]["commit"])


def recovered(event: EventRecord) -> tuple[object, ...]:
    return (event["term"], event["voted_for"], event["commit"])


def test_a_torn_hard_state_write_restarts_on_the_previous_hard_state(tmp_path: Path) -> None:
    # torn-log seed 3: n2's crash tears the pending rewrite of copy A. That write was never
    # synced, so nothing was acted on it: n2 restarts on copy B (the previous state, the
    # last one it acted on) instead of stopping, and forms a majority with n3 after n1 is
    # gone.
    scenario = resolve(load_scenario(ROOT / "scenarios" / "torn-log.yaml"), seed=3)
    outcome = run_scenario(scenario, tmp_path / "run", failure_traces=False)
    events = read_events(tmp_path / "run" / "events.jsonl")
    torn = [e for e in events if e["kind"] == "disk.fault" and e.get("outcome")]
    assert [(e["node"], e["outcome"], e["file"], e["damaged"]) for e in torn] == [
        ("n2", "partial", HARD_STATE, True)
    ]
    damage = [e for e in events if e["kind"] == "disk.damage"]
    assert [(e["node"], e["file"], e["action"]) for e in damage] == [("n2", HARD_STATE, "rewrite")]
    recover = [e for e in events if e["kind"] == "raft.recover" and e["node"] == "n2"][-1]
    assert recovered(recover) == hard_state_before(events, "n2", torn[0]["t"])
    assert not outcome.summary.get("disk_halts")
    assert violations(outcome.checks) == []
    assert outcome.checks["liveness"].status == "ok"


@pytest.mark.parametrize("seed", [3, 19, 27])
def test_torn_log_runs_whose_crash_tears_the_hard_state_pass_every_check(
    seed: int, tmp_path: Path
) -> None:
    # At these seeds n2's crash tears a pending hard-state write (copy A at 3, B at 19 and
    # 27); with one copy of the hard state they stopped n2 for good, a false alarm.
    text = (ROOT / "scenarios" / "torn-log.yaml").read_text(encoding="utf-8")
    run = run_text(text, tmp_path, seed=seed)
    torn = [e for e in run.of("disk.fault", "n2") if e.get("outcome")]
    assert [e.get("file") for e in torn] in ([HARD_STATE], [HARD_STATE_B])
    assert {name: result.status for name, result in run.outcome.checks.items()} == {
        "raft_safety": "ok",
        "linearizability": "ok",
        "btree_invariants": "ok",
        "liveness": "ok",
    }


HARD_STATE_SCENARIO = """
name: hard-state
seed: 1
duration: 5s
cluster:
  nodes: 3
workload:
  clients: 2
  rate: 50/s
faults:
  - {at: 1s, disk: {node: n3, corrupt: {file: hard_state}}}
  - {at: 1s, crash: n3, for: 100ms}
checks: [raft_safety, linearizability, liveness]
"""


@pytest.mark.parametrize("copy", [HARD_STATE, HARD_STATE_B])
def test_one_copy_of_the_hard_state_damaged_at_rest_restarts_on_the_newest(
    copy: str, tmp_path: Path
) -> None:
    text = HARD_STATE_SCENARIO.replace("{file: hard_state}", f"{{file: {copy}}}")
    run = run_text(text, tmp_path)
    damage = run.of("disk.damage")
    assert [(e["node"], e["file"], e["action"]) for e in damage] == [("n3", copy, "rewrite")]
    recover = run.of("raft.recover", "n3")[-1]
    assert recovered(recover) == hard_state_before(run.events, "n3", 1000.0)
    assert recover["term"] > 0  # the newest state is a real one, not the initial state
    # Before it starts, the server writes the state again, the damaged copy first.
    other = HARD_STATE_B if copy == HARD_STATE else HARD_STATE
    fsync = next(e for e in run.of("disk.fsync", "n3") if e["seq"] > damage[0]["seq"])
    assert fsync["files"] == [copy, other]
    assert not run.outcome.summary.get("disk_halts")
    assert violations(run.outcome.checks) == []
    assert run.outcome.checks["liveness"].status == "ok"


def test_both_copies_of_the_hard_state_damaged_stop_the_server_with_a_diagnosis(
    tmp_path: Path,
) -> None:
    text = HARD_STATE_SCENARIO.replace(
        "  - {at: 1s, crash: n3",
        "  - {at: 1s, disk: {node: n3, corrupt: {file: hard_state.b}}}\n  - {at: 1s, crash: n3",
    )
    run = run_text(text, tmp_path)
    damage = run.of("disk.damage")
    assert [(e["file"], e["records"], e["action"]) for e in damage] == [(HARD_STATE, 2, "halt")]
    assert not run.of("raft.recover", "n3")[1:]  # the restart recovers nothing
    halts = run.outcome.summary["disk_halts"]
    assert [h["node"] for h in halts] == ["n3"] and "both copies" in halts[0]["halted"]
    assert violations(run.outcome.checks) == []


@pytest.mark.parametrize("newer", [HARD_STATE, HARD_STATE_B])
def test_a_restart_takes_the_valid_copy_with_the_highest_sequence_number(newer: str) -> None:
    # Both copies valid but different (what a disk that reorders writes could leave after
    # a crash between them): the newer one wins, whichever copy holds it.
    scenario = parse_scenario(HARD_STATE_SCENARIO.split("faults:")[0])
    world = World.from_scenario(scenario)
    cluster = Cluster(world, scenario)
    cluster.start()
    world.run(500.0)
    node = world.nodes["n3"]
    node.crash()
    disk = node.disk
    older = HARD_STATE_B if newer == HARD_STATE else HARD_STATE
    disk.write(older, HardStateCopy(40, HardState(7, "n1", 0)))
    disk.write(newer, HardStateCopy(41, HardState(8, None, 0)))
    disk.fsync()
    world.run(600.0)
    node.restart()
    server = cluster.server("n3")
    assert server is not None and not server.halted
    assert (server.raft.term, server.raft.voted_for) == (8, None)


def test_without_disk_faults_nothing_is_added_to_the_summary(tmp_path: Path) -> None:
    run = run_text(
        HARD_STATE_SCENARIO.replace("name: hard-state", "name: quiet").split("faults:")[0],
        tmp_path,
    )
    assert "disk_faults" not in run.outcome.summary
    assert not run.of("disk.fault") and not run.of("disk.damage")


SNAPSHOT = """
name: snapshot-damage
seed: 1
duration: 5s
cluster:
  nodes: 3
  raft: {snapshot_threshold: 50}
workload:
  clients: 4
  rate: 100/s
  mix: {get: 0.5, put: 0.4, cas: 0.1}
  keys: {count: 10, distribution: uniform}
faults:
  - {at: 2s, disk: {node: n2, corrupt: {file: snapshot}}}
  - {at: 2s, crash: n2, for: 200ms}
checks: [raft_safety, linearizability, btree_invariants, liveness]
"""


def test_a_damaged_snapshot_is_replaced_by_the_leaders(tmp_path: Path) -> None:
    run = run_text(SNAPSHOT, tmp_path)
    assert [(e["file"], e["action"]) for e in run.of("disk.damage")] == [("snapshot", "repair")]
    recover = run.of("raft.recover", "n2")[-1]
    assert (recover["snapshot_index"], recover["last_index"]) == (0, 0)  # nothing trusted
    restores = [e for e in run.of("raft.restore", "n2") if e["t"] > recover["t"]]
    repaired = run.of("raft.repaired", "n2")
    assert restores and repaired and restores[0]["t"] <= repaired[0]["t"]
    assert violations(run.outcome.checks) == []


NEMESIS = """
name: disk-nemesis
seed: 3
duration: 8s
cluster:
  nodes: 3
  disk: {faults: {torn: 1.0}}
workload:
  clients: 4
  rate: 100/s
  mix: {get: 0.5, put: 0.4, cas: 0.1}
  keys: {count: 10, distribution: uniform}
faults:
  - {at: 500ms, nemesis: {kinds: [disk, crash], interval: 400ms, until: 6s}}
checks: [raft_safety, linearizability, btree_invariants, liveness]
"""


def test_the_disk_nemesis_corrupts_tears_and_slows_and_the_cluster_survives(
    tmp_path: Path,
) -> None:
    run = run_text(NEMESIS, tmp_path)
    drawn = {e["fault"] for e in run.of("nemesis")}
    assert drawn == {"disk", "crash"}
    assert {"corrupt", "slow", "torn"} <= {e["fault"] for e in run.of("disk.fault")}
    # At this seed a node whose log was corrupted crashes later and reads it back.
    damaged = [e["node"] for e in run.of("disk.damage")]
    assert damaged and [e["node"] for e in run.of("raft.repaired")] == damaged
    assert violations(run.outcome.checks) == []
