"""Liveness rule L6: a message storm ends the run early and is a liveness violation.

A cluster whose messages beget messages (a probe answered by a rejection answered by a
probe, each duplicate starting another loop) would run for hours and fill the disk with
its event log; the network stops it (``sim/network.py``) and the run says so, whatever
the scenario asked of liveness, at the moment the storm broke out.
"""

from __future__ import annotations

from pathlib import Path

from pytest import MonkeyPatch

from harmonysim.check.liveness import judge_storm
from harmonysim.check.result import CheckStatus
from harmonysim.runner import run_scenario
from harmonysim.scenario import parse_scenario
from harmonysim.sim import network as network_module

RUN = """
name: storm
duration: 3s
cluster: {nodes: 3}
network: {latency: {distribution: constant, value: 2ms}}
workload: {clients: 2, rate: 100/s, mix: {get: 0.5, put: 0.5}}
checks: [raft_safety, linearizability]
"""


def test_a_storm_is_a_violation_at_the_moment_it_broke_out() -> None:
    result = judge_storm(1234.5, "200,000 messages sent in 80 ms of virtual time")
    assert result.status is CheckStatus.VIOLATION
    [problem] = result.details["problems"]
    assert problem["at_ms"] == 1234.5 and problem["until_ms"] is None
    assert "cut short at 1234.5 ms by 200,000 messages" in problem["text"]


def test_a_run_a_storm_ends_fails_liveness_even_when_not_requested(
    tmp_path: Path, monkeypatch: MonkeyPatch
) -> None:
    # With the line lowered to 300 messages a virtual second, the ordinary traffic of a
    # three-node cluster under load is a storm: the run stops there.
    monkeypatch.setattr(network_module, "STORM_MESSAGES", 300)
    outcome = run_scenario(parse_scenario(RUN), tmp_path / "run")
    liveness = outcome.checks["liveness"]
    assert liveness.status is CheckStatus.VIOLATION
    at_ms = liveness.details["storm_at_ms"]
    assert 0 < at_ms < 1000.0
    assert outcome.summary["virtual_ms"] == at_ms < 3000.0
    assert "message storm" in outcome.summary["message_storm"]
    # What ran before the storm is judged as usual.
    assert outcome.checks["raft_safety"].status is CheckStatus.OK
    assert outcome.checks["linearizability"].status is CheckStatus.OK


def test_a_run_without_a_storm_says_nothing_of_one(tmp_path: Path) -> None:
    outcome = run_scenario(parse_scenario(RUN), tmp_path / "run")
    assert "message_storm" not in outcome.summary
    assert outcome.summary["virtual_ms"] == 3000.0
    assert outcome.checks["liveness"].status is CheckStatus.SKIPPED
