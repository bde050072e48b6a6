"""``SafetyRule.NODE_INVARIANTS``: the safety monitor reports a core whose own
``check_invariants`` fails, at both places it asks: at the end of a run, and right after a
node overwrote a conflicting suffix of its log (§5.3). Each case has its healthy twin."""

from __future__ import annotations

from typing import Any

from harmonysim.check.raft_safety import RaftSafetyMonitor, SafetyRule
from harmonysim.raft import RaftNode, Role
from harmonysim.sim.events import EventKind
from harmonysim.testing.cluster_machine import ClusterModel


def settled() -> ClusterModel:
    cluster = ClusterModel(3, seed=4)
    cluster.settle(40)
    leader = cluster.leader()
    assert leader is not None
    cluster.put(leader, "k1")
    cluster.settle(5)
    cluster.check()  # healthy so far: the monitor has seen the whole run
    return cluster


def a_follower(cluster: ClusterModel) -> tuple[str, RaftNode]:
    return next((node, core) for node, core in cluster.live() if core.role is Role.FOLLOWER)


def break_term(core: RaftNode) -> str:
    """Put the core's term below its last log term (what a lost term write would do)."""
    assert core.last_term >= 1
    core._term = 0  # a constructed violation
    return f"term 0 below last log term {core.last_term}"


def test_the_end_of_run_check_reports_a_core_that_breaks_its_invariants() -> None:
    cluster = settled()
    monitor = RaftSafetyMonitor()
    monitor.check_final(cluster.live(), 100.0)
    assert monitor.ok, monitor.violations  # the healthy twin
    node, core = a_follower(cluster)
    detail = break_term(core)
    monitor = RaftSafetyMonitor()
    monitor.check_final(cluster.live(), 100.0)
    found = [v for v in monitor.violations if v.rule is SafetyRule.NODE_INVARIANTS]
    assert len(found) == 1, monitor.violations
    assert found[0].nodes == (node,) and found[0].time_ms == 100.0
    assert detail in found[0].message


def persist(node: str, seq: int, entries: list[list[Any]]) -> dict[str, Any]:
    kind = EventKind.RAFT_PERSIST.value
    return {"t": float(seq), "seq": seq, "kind": kind, "node": node, "entries": entries}


def overwrite(core: RaftNode, node: str) -> RaftSafetyMonitor:
    """A node persists 1@1 2@1, then replaces 2@1 by 2@2 (a conflicting suffix)."""
    monitor = RaftSafetyMonitor(lambda name: core if name == node else None)
    monitor.observe(persist(node, 0, [[1, 1, "noop"], [2, 1, "c1:1"]]))
    monitor.observe(persist(node, 1, [[2, 2, "c1:2"]]))
    return monitor


def test_overwriting_a_log_suffix_checks_the_core_at_once() -> None:
    cluster = settled()
    node, core = a_follower(cluster)
    healthy = overwrite(core, node)
    assert SafetyRule.NODE_INVARIANTS not in healthy.counts, healthy.violations
    detail = break_term(core)
    monitor = overwrite(core, node)
    found = [v for v in monitor.violations if v.rule is SafetyRule.NODE_INVARIANTS]
    assert len(found) == 1, monitor.violations
    violation = found[0]
    assert violation.nodes == (node,) and violation.index == 2 and violation.seqs == (1,)
    assert f"{node} after overwriting its log from index 2" in violation.message
    assert detail in violation.message
