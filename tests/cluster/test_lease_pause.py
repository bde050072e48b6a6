"""A leader paused while cut off must not serve reads from its lease when it resumes.

The shipped regression scenario `scenarios/lease-pause.yaml` at its own seed: clean with
the lease aged by elapsed time (thesis §6.4), and caught by the linearizability check
(only that one) with `lease_ignores_pause`, the lease counted in timer callbacks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harmonysim.runner import run_scenario
from harmonysim.scenario import load_scenario, resolve

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "lease-pause.yaml"


@pytest.mark.parametrize("bug", [False, True], ids=["correct", "lease_ignores_pause"])
def test_a_resumed_leader_serves_no_stale_lease_read(bug: bool, tmp_path: Path) -> None:
    scenario = load_scenario(SCENARIO)
    if bug:
        scenario = resolve(scenario, bugs=("lease_ignores_pause",))
    outcome = run_scenario(scenario, tmp_path / "run")
    failed = sorted(name for name, result in outcome.checks.items() if result.status == "violation")
    assert failed == (["linearizability"] if bug else [])
    resumes = [f for f in outcome.summary["faults"] if f == "node.resume"]
    assert resumes and outcome.summary["faults_without_effect"] == []
