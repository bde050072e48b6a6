"""The Raft paper's Figure 8, staged by `scenarios/figure-8.yaml`: a leader that commits an
earlier term's entries by counting replicas (the `commit_prior_term_by_count` bug) is
caught, and the same seed runs clean without the bug (§5.4.2)."""

from __future__ import annotations

from pathlib import Path

from harmonysim.check.result import CheckStatus
from harmonysim.runner import run_scenario
from harmonysim.scenario import load_scenario, resolve

FIGURE_8 = Path(__file__).resolve().parents[2] / "scenarios" / "figure-8.yaml"
SEED = 3


def test_counting_replicas_of_an_old_term_breaks_leader_completeness(tmp_path: Path) -> None:
    scenario = resolve(load_scenario(FIGURE_8), seed=SEED, bugs=["commit_prior_term_by_count"])
    outcome = run_scenario(scenario, tmp_path / "bug")
    assert outcome.exit_code == 1
    safety = outcome.checks["raft_safety"]
    assert safety.status is CheckStatus.VIOLATION
    rules = [violation["rule"] for violation in safety.details["violations"]]
    assert rules[0] == "leader_completeness"
    assert "state_machine_safety" in rules  # the overwritten entries were applied


def test_the_same_seed_runs_clean_without_the_bug(tmp_path: Path) -> None:
    scenario = resolve(load_scenario(FIGURE_8), seed=SEED)
    outcome = run_scenario(scenario, tmp_path / "clean")
    assert outcome.exit_code == 0
    assert {name: result.status for name, result in outcome.checks.items()} == {
        "raft_safety": CheckStatus.OK,
        "linearizability": CheckStatus.OK,
        "btree_invariants": CheckStatus.OK,
        "liveness": CheckStatus.OK,
    }
    # The schedule did happen: the faults waiting for an election and a commit fired.
    events = (tmp_path / "clean" / "events.jsonl").read_text(encoding="utf-8")
    assert '"when":"leader_elected"' in events
    assert '"when":"leader_commit"' in events
