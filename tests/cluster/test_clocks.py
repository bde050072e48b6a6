"""Clocks in a running cluster: leases under drift (thesis §6.4) and wall-clock steps.

- Within the drift the servers are told to tolerate (`max_clock_drift`), a slowed leader
  ends its lease before its followers stop refusing votes: lease reads stay linearizable.
- Beyond it, the stale read is caught by the linearizability check.
- The timers run on the monotonic clock, so a stepped wall clock changes nothing; with
  the bug `ticks_on_wall_clock` a step back freezes the lease and a stale read is caught.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harmonysim.runner import run_scenario
from harmonysim.scenario import load_scenario, resolve

from .support import run_text

ROOT = Path(__file__).resolve().parents[2]

SLOWED = """
name: slowed-leader
seed: 1
duration: 12s
cluster:
  nodes: 5
  raft: {lease_reads: true, max_clock_drift: 0.05}
network:
  latency: {distribution: lognormal, mean: 5ms, p99: 30ms}
workload:
  clients: 8
  rate: 200/s
  mix: {get: 0.6, put: 0.3, cas: 0.1}
  keys: {count: 10, distribution: uniform}
  timeout: 500ms
faults:
  - {at: 2s, clock: {node: leader, rate: RATE}, for: 2s}
  - {at: 2500ms, partition: {isolate: leader}, for: 1s}
  - {at: 6s, clock: {node: leader, rate: RATE}, for: 2s}
  - {at: 6500ms, partition: {isolate: leader}, for: 1s}
checks: [raft_safety, linearizability, liveness]
"""


def violations(checks: dict[str, object]) -> list[str]:
    return sorted(name for name, result in checks.items() if result.status == "violation")  # type: ignore[attr-defined]


@pytest.mark.parametrize(("rate", "caught"), [("0.96", False), ("0.4", True)])
def test_a_leader_whose_clock_runs_slow_beyond_the_bound_serves_a_stale_lease_read(
    rate: str, caught: bool, tmp_path: Path
) -> None:
    run = run_text(SLOWED.replace("RATE", rate), tmp_path)
    assert violations(run.outcome.checks) == (["linearizability"] if caught else [])
    assert [e["rate"] for e in run.of("node.clock")] == [float(rate), 1.0] * 2


@pytest.mark.parametrize("bug", [False, True], ids=["monotonic", "ticks_on_wall_clock"])
def test_a_wall_clock_step_back_matters_only_to_timers_on_the_wall_clock(
    bug: bool, tmp_path: Path
) -> None:
    scenario = load_scenario(ROOT / "scenarios" / "clock-drift.yaml")
    if bug:
        scenario = resolve(scenario, bugs=("ticks_on_wall_clock",))
    outcome = run_scenario(scenario, tmp_path / "run")
    assert violations(outcome.checks) == (["linearizability"] if bug else [])
