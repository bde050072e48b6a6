"""A server whose state machine raises stops for good, and btree_invariants reports it;
one whose Raft core raises on its own impossible state stops too, and raft_safety does.

A broken B+ tree (a bug switched on) can raise inside a server: a restore from a
snapshot with keys out of order, a tree operation on a corrupt node. The run goes on,
as a cluster goes on when one server panics, and the check that owns the store says
what failed, where and when, instead of the simulation ending in a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harmonysim.check.result import CheckStatus
from tests.cluster.support import run_text

UNCHAINED = Path(__file__).parent / "scenarios" / "nemesis-all-unchained.yaml"

SCENARIO = """
name: panic
duration: 3s
cluster: {nodes: 3}
network: {latency: {distribution: constant, value: 2ms}}
workload: {clients: 2, rate: 100/s, mix: {get: 0.5, put: 0.5}}
checks: [raft_safety, linearizability, btree_invariants, liveness]
"""


def test_a_state_machine_that_raises_stops_its_server_and_fails_btree_invariants(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harmonysim.cluster.server as server_module

    original = server_module.KVServer._apply
    applied: dict[str, int] = {}

    def apply(self: Any, entry: Any) -> None:
        node = self.node.id
        if node == "n2" and getattr(entry.data, "operation", None) is not None:
            applied[node] = applied.get(node, 0) + 1
            if applied[node] == 20:
                raise ValueError("bulk load needs strictly increasing keys")
        original(self, entry)

    monkeypatch.setattr(server_module.KVServer, "_apply", apply)
    run = run_text(SCENARIO, tmp_path, seed=1)
    [panic] = run.of("server.panic")
    assert panic["node"] == "n2" and panic["during"] == "apply"
    assert panic["error"] == "ValueError: bulk load needs strictly increasing keys"
    # n2 stopped: it applies nothing after its panic, while the others go on.
    later = [e for e in run.of("raft.apply", "n2") if e["t"] > panic["t"]]
    assert later == []
    assert [e for e in run.of("raft.apply", "n1") if e["t"] > panic["t"]]
    result = run.outcome.checks["btree_invariants"]
    assert result.status is CheckStatus.VIOLATION
    [problem] = result.details["violations"]
    assert problem["rule"] == "state_machine_failed"
    assert problem["nodes"] == ["n2"] and problem["at_ms"] == panic["t"]
    assert f"index {panic['index']}" in problem["message"]
    # Two servers of three keep the cluster safe and live.
    assert run.outcome.checks["raft_safety"].status is CheckStatus.OK
    assert run.outcome.checks["linearizability"].status is CheckStatus.OK


def test_a_raft_core_that_raises_stops_its_server_and_fails_raft_safety(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bug can drive the core into a state it asserts impossible (two leaders in a term,
    # entries to send below its log without a snapshot). The server panics as etcd's
    # does; the run goes on and raft_safety names the core's own words.
    import harmonysim.raft.node as node_module
    from harmonysim.raft import RaftInvariantError

    original = node_module.RaftNode.step
    steps: dict[int, int] = {}  # per core: a failing run is made again with its traces

    def step(self: Any, message: Any) -> None:
        if self.id == "n2":
            steps[id(self)] = steps.get(id(self), 0) + 1
            if steps[id(self)] == 200:
                raise RaftInvariantError("two leaders in term 1: n2 and n1")
        original(self, message)

    monkeypatch.setattr(node_module.RaftNode, "step", step)
    run = run_text(SCENARIO, tmp_path, seed=1)
    [panic] = run.of("server.panic")
    assert panic["node"] == "n2" and panic["during"] == "raft"
    assert panic["error"] == "RaftInvariantError: two leaders in term 1: n2 and n1"
    # n2 stopped for good: no message handled, no timer fired, nothing persisted after.
    assert set(steps.values()) == {200}
    assert [e for e in run.of("raft.persist", "n2") if e["t"] > panic["t"]] == []
    safety = run.outcome.checks["raft_safety"]
    assert safety.status is CheckStatus.VIOLATION
    [violation] = safety.details["violations"]
    assert violation["rule"] == "node_invariants" and violation["nodes"] == ["n2"]
    assert "two leaders in term 1" in violation["message"]
    # The store did not fail: that is btree_invariants' rule, not this one.
    assert run.outcome.checks["btree_invariants"].status is CheckStatus.OK
    assert run.outcome.checks["linearizability"].status is CheckStatus.OK


def test_a_run_without_a_failing_state_machine_has_no_panic(tmp_path: Path) -> None:
    run = run_text(SCENARIO, tmp_path, seed=1)
    assert run.of("server.panic") == []
    assert run.outcome.checks["btree_invariants"].status is CheckStatus.OK


def test_a_bug_that_unpersists_applied_entries_is_caught_not_raised() -> None:
    # snapshot_truncates_newer_entries on nemesis-all seed 10 (as it was: UNCHAINED)
    # leaves a follower that applied entries it no longer holds durably; its next
    # compaction finds the core's state impossible. That used to end the run in a
    # ValueError, which sweeps counted as a simulator failure rather than a detection.
    from harmonysim.explore.pool import SeedTask, run_task
    from harmonysim.scenario import load_scenario

    scenario = load_scenario(UNCHAINED)
    result = run_task(
        SeedTask(scenario=scenario, seed=10, bugs=("snapshot_truncates_newer_entries",))
    )
    assert result.error is None
    assert result.failed_checks == ("raft_safety",)


def test_a_restart_whose_snapshot_will_not_load_panics_its_server() -> None:
    # btree_borrow_wrong_separator on nemesis-all seed 8 (as it was): a snapshot of the broken tree
    # repeats a key; the server restarting from it cannot rebuild its store. It stops
    # (server.panic during restore) instead of the run ending in a ValueError.
    from harmonysim.explore.pool import SeedTask, run_task
    from harmonysim.scenario import load_scenario

    scenario = load_scenario(UNCHAINED)
    result = run_task(SeedTask(scenario=scenario, seed=8, bugs=("btree_borrow_wrong_separator",)))
    assert result.error is None
    assert "btree_invariants" in result.failed_checks
