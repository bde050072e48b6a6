"""Liveness rule L5: a load phase that did not finish never passes silently.

The clients start only when the load's last batch is acknowledged, so a run whose load
was cut off has an empty history, and every other check passes over nothing. The rule
is held on verdicts of the liveness check itself (a healthy cluster that never
acknowledged a batch, one that was not due yet, an earlier violation, a check not
applicable or not requested), then on whole runs.
"""

from __future__ import annotations

from pathlib import Path

from harmonysim.check.liveness import LivenessMonitor, LoadProgress, judge_load
from harmonysim.check.result import CheckResult, CheckStatus
from harmonysim.runner import run_scenario
from harmonysim.scenario import Scenario, parse_scenario

BASE = """
name: live
duration: 10s
cluster: {nodes: 5, raft: {election_timeout: [150ms, 300ms], heartbeat_interval: 50ms}}
workload: {clients: 2, timeout: 500ms, load: {records: 5000, batch: 100}}
network:
  latency: {distribution: constant, value: 5ms}
"""
NODES = ("n1", "n2", "n3", "n4", "n5")


def scenario(extra: str = "") -> Scenario:
    return parse_scenario(BASE + extra)


def verdict(live: Scenario, healthy: tuple[str, ...] = NODES) -> CheckResult:
    """The liveness verdict over an empty history, with n1 leading from 100 ms."""
    monitor = LivenessMonitor()
    monitor.observe({"t": 100.0, "seq": 1, "kind": "raft.role", "node": "n1", "role": "leader"})
    return monitor.judge(live, [], healthy)


def test_a_finished_load_changes_nothing() -> None:
    result = verdict(scenario())
    assert result.status is CheckStatus.OK
    assert judge_load(result, LoadProgress(50, 0, 1000.0), 10_000.0) is result


def test_a_batch_never_acknowledged_on_a_healthy_cluster_is_a_violation() -> None:
    # No fault: Q = 0, B = 600 + 500 ms; the batch sent at 2 s was due by 3.1 s.
    result = judge_load(verdict(scenario()), LoadProgress(50, 17, 2000.0), 10_000.0)
    assert result.status is CheckStatus.VIOLATION
    assert result.summary == (
        "1 liveness problem(s); first: the load phase's batch 17 of 50 (client c0, request "
        "17), first sent at 2000 ms, was never acknowledged (due by 3100 ms): the clients "
        "never started"
    )
    assert result.implicated.requests == (("c0", 17),)
    assert result.details["load_pending_batch"] == 17
    (problem,) = result.details["problems"]
    assert (problem["at_ms"], problem["until_ms"], problem["key"]) == (3100.0, None, None)
    assert problem["text"] == result.details["violations"][0]


def test_an_unfinished_load_comes_first_among_the_problems() -> None:
    # n1 leads only at 900 ms, past E = 600 ms: two problems, the load's first.
    monitor = LivenessMonitor()
    monitor.observe({"t": 900.0, "seq": 1, "kind": "raft.role", "node": "n1", "role": "leader"})
    late = monitor.judge(scenario(), [], NODES)
    result = judge_load(late, LoadProgress(50, 17, 2000.0), 10_000.0)
    assert [problem["at_ms"] for problem in result.details["problems"]] == [3100.0, 600.0]


def test_a_batch_sent_before_the_last_fault_is_due_a_bound_after_it() -> None:
    faulted = scenario("faults: [{at: 5s, crash: n5}]")
    due = judge_load(verdict(faulted, NODES[:4]), LoadProgress(50, 3, 600.0), 10_000.0)
    assert due.status is CheckStatus.VIOLATION
    assert "(due by 6100 ms)" in due.summary


def test_a_run_that_ends_before_the_batch_is_due_is_inconclusive() -> None:
    result = judge_load(verdict(scenario()), LoadProgress(50, 48, 9500.0), 10_000.0)
    assert result.status is CheckStatus.UNKNOWN
    assert result.summary == (
        "inconclusive: the load phase's batch 48 of 50 (client c0, request 48), first sent "
        "at 9500 ms, was never acknowledged by the end of the run at 10000 ms, so the "
        "clients never started and the checks judged no operation; the run ended before it "
        "was due (10600 ms)"
    )


def test_an_earlier_violation_stays_one() -> None:
    failed = verdict(scenario("faults: [{at: 1s, crash: n5}]"), NODES[:4])
    failed = CheckResult(
        failed.name,
        CheckStatus.VIOLATION,
        "1 liveness problem(s); first: something",
        {**failed.details, "violations": ["something"], "violation_count": 1},
    )
    not_due = judge_load(failed, LoadProgress(50, 48, 9500.0), 10_000.0)
    assert not_due.status is CheckStatus.VIOLATION
    assert not_due.summary == failed.summary
    assert not_due.details["load_pending_batch"] == 48
    due = judge_load(failed, LoadProgress(50, 3, 600.0), 10_000.0)
    assert due.details["violation_count"] == 2
    assert due.details["violations"][1] == "something"
    assert due.summary.startswith("2 liveness problem(s); first: the load phase's batch 3")


def test_not_applicable_or_not_requested_is_inconclusive_with_the_reason() -> None:
    skipped = verdict(scenario(), ())
    assert skipped.status is CheckStatus.SKIPPED
    result = judge_load(skipped, LoadProgress(50, 3, 600.0), 10_000.0)
    assert result.status is CheckStatus.UNKNOWN
    assert result.summary.endswith(
        "; liveness is not applicable: no majority of nodes is up and connected after the "
        "last fault"
    )
    unrequested = CheckResult(
        "liveness", CheckStatus.SKIPPED, "not requested by the scenario's checks"
    )
    result = judge_load(unrequested, LoadProgress(50, 3, 600.0), 10_000.0)
    assert result.status is CheckStatus.UNKNOWN
    assert result.summary.endswith("; liveness was not requested by the scenario's checks")


# -- whole runs ---------------------------------------------------------------------------

RUN = """
name: load-cut-off
seed: 2
duration: 3s
cluster: {{nodes: 5}}
network: {{latency: {{distribution: lognormal, mean: 5ms, p99: 30ms}}, loss: 0.01}}
workload: {{clients: 3, rate: 100/s, mix: {{get: 0.5, put: 0.5}},
           keys: {{distribution: uniform}}, load: {{records: {records}, batch: 100}}}}
{faults}
"""
SPLIT = "faults: [{at: 300ms, partition: {groups: [[n1, n2], [n3, n4], [n5]]}}]"


def test_a_load_cut_off_by_a_partition_to_the_end_is_inconclusive(tmp_path: Path) -> None:
    live = parse_scenario(RUN.format(records=5000, faults=SPLIT))
    outcome = run_scenario(live, tmp_path, trace_sample=0.0)
    assert outcome.summary["load"]["done_ms"] is None
    assert outcome.summary["ops_ok"] == 0
    liveness = outcome.checks["liveness"]
    assert liveness.status is CheckStatus.UNKNOWN
    assert liveness.summary.startswith("inconclusive: the load phase's batch ")
    assert liveness.summary.endswith(
        "; liveness is not applicable: no majority of nodes is up and connected after the "
        "last fault"
    )
    assert outcome.checks["linearizability"].status is CheckStatus.OK  # over nothing
    assert outcome.exit_code == 3


def test_a_run_too_short_for_its_load_is_inconclusive(tmp_path: Path) -> None:
    live = parse_scenario(RUN.format(records=50_000, faults=""))
    outcome = run_scenario(live, tmp_path, trace_sample=0.0)
    liveness = outcome.checks["liveness"]
    assert liveness.status is CheckStatus.UNKNOWN
    assert "the run ended before it was due" in liveness.summary
    assert outcome.exit_code == 3


def test_a_load_that_finishes_passes(tmp_path: Path) -> None:
    live = parse_scenario(RUN.format(records=2000, faults=""))
    outcome = run_scenario(live, tmp_path, trace_sample=0.0)
    assert outcome.summary["load"]["done_ms"] is not None
    assert outcome.checks["liveness"].status is CheckStatus.OK
    assert outcome.exit_code == 0
