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


# canonical/raft#279 between faults: stale-term-rejoin, with the crashed leader back at
# 7.5s. From n3's restart at 5s to then, n1 and n3 are a majority running unharmed while
# the crashed leader n2 is silent; with the bug n3, one term behind, never takes n1's term
# and no leader is elected there, though one is once the leader is back: only that
# window shows the stall.
STALE_TERM_BETWEEN_FAULTS = (
    (Path(__file__).resolve().parents[2] / "scenarios" / "stale-term-rejoin.yaml")
    .read_text()
    .replace("duration: 8s", "duration: 10s")
    .replace(
        "  - {at: 5s, restart: n3}", "  - {at: 5s, restart: n3}\n  - {at: 7.5s, restart: crashed}"
    )
)


def stale_term_run(bugs: tuple[str, ...], out: Path) -> dict[str, object]:
    scenario = resolve(parse_scenario(STALE_TERM_BETWEEN_FAULTS, "stale.yaml"), bugs=bugs)
    outcome = run_scenario(scenario, out, trace_sample=0, failure_traces=False)
    result = outcome.checks["liveness"]
    return {"status": result.status, "summary": result.summary, **result.details}


def test_a_majority_left_running_between_faults_must_elect(tmp_path: Path) -> None:
    bug = stale_term_run(("pre_vote_reply_own_term",), tmp_path / "bug")
    assert bug["status"] is CheckStatus.VIOLATION, bug["summary"]
    assert "in the window 5000-7500 ms in which n1, n3 ran unharmed" in str(bug["summary"])
    assert bug.get("leader_at_ms") is not None  # elected once the leader was back
    clean = stale_term_run((), tmp_path / "clean")
    assert clean["status"] is CheckStatus.OK, clean["summary"]
    windows = clean["windows"]
    assert isinstance(windows, list)
    assert {"from_ms": 5000.0, "until_ms": 7500.0} in [
        {"from_ms": w["from_ms"], "until_ms": w["until_ms"]} for w in windows
    ]
