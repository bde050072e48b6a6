"""Liveness between faults, on whole runs: a stall in a fault-free window between two
faults is caught there, even when the run's tail is too short to judge."""

from __future__ import annotations

from pathlib import Path

from harmonysim.check.result import CheckStatus
from harmonysim.runner import run_scenario
from harmonysim.scenario import parse_scenario, resolve

# logcabin/logcabin#56: n5 is cut off and removed without hearing of it; once
# reconnected it times out and asks for votes in ever higher terms. With leader
# stickiness (thesis §4.2.3) the members ignore it; with the bug each request deposes
# the leader, and the cluster stops answering for whole timeouts. The last fault, a
# crash 500 ms before the end, leaves no tail to judge: only the window from the heal
# at 4s to that crash can show the stall.
REMOVED_THEN_RECONNECTED = """\
name: removed-then-reconnected
seed: 3
duration: 9s
cluster:
  nodes: 5
  raft: {election_timeout: [150ms, 300ms], heartbeat_interval: 50ms, prevote: false}
network:
  latency: {distribution: lognormal, mean: 5ms, p99: 30ms}
workload:
  clients: 8
  rate: 200/s
  mix: {get: 0.5, put: 0.5}
  keys: {count: 20, distribution: uniform}
  timeout: 500ms
faults:
  - {at: 2s, partition: {isolate: n5}}
  - {at: 2500ms, remove: n5}
  - {at: 4s, heal: all}
  - {at: 8500ms, crash: n1}
checks: [raft_safety, linearizability, btree_invariants, liveness]
"""


def liveness(bugs: tuple[str, ...], out: Path) -> tuple[CheckStatus, str, dict[str, object]]:
    scenario = resolve(parse_scenario(REMOVED_THEN_RECONNECTED, "gap.yaml"), bugs=bugs)
    outcome = run_scenario(scenario, out, trace_sample=0, failure_traces=False)
    others = {name: result.status for name, result in outcome.checks.items()}
    del others["liveness"]
    assert set(others.values()) == {CheckStatus.OK}, others
    result = outcome.checks["liveness"]
    return CheckStatus(result.status), result.summary, result.details


def test_a_disrupted_cluster_between_two_faults_is_caught_in_the_gap(tmp_path: Path) -> None:
    status, summary, details = liveness(("vote_ignores_leader_stickiness",), tmp_path / "bug")
    assert status is CheckStatus.VIOLATION, summary
    assert "first: in the fault-free window 4000-8500 ms: client process" in summary
    assert "answered no operation" in summary
    assert details["tail_ms"] == 500.0  # the tail alone could not have caught it
    windows = details["windows"]
    assert isinstance(windows, list)
    assert [(w["from_ms"], w["until_ms"]) for w in windows] == [(0.0, 2000.0), (4000.0, 8500.0)]
    assert windows[0]["problems"] == 0 and windows[1]["problems"] > 0


def test_the_same_schedule_without_the_bug_is_live_in_the_gap(tmp_path: Path) -> None:
    status, summary, details = liveness((), tmp_path / "clean")
    assert status is CheckStatus.SKIPPED and "quiet tail" in summary, summary
    assert details["windows_judged"] == 2
    windows = details["windows"]
    assert isinstance(windows, list)
    assert all(w["problems"] == 0 and w["operations_checked"] > 0 for w in windows)
