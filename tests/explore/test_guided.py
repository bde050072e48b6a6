"""Guided exploration: coverage features, a corpus of schedules, deterministic mutations."""

from __future__ import annotations

from harmonysim.explore import LocalPool
from harmonysim.explore.coverage import coverage_of
from harmonysim.explore.edits import build
from harmonysim.explore.guided import explore_guided
from harmonysim.scenario import Scenario


def record(t: float, kind: str, node: str | None, **fields: object) -> dict[str, object]:
    return {"t": t, "kind": kind, "node": node, **fields}


def test_coverage_names_roles_under_faults_and_ignores_node_names() -> None:
    def run(node: str) -> frozenset[str]:
        return coverage_of(
            [
                record(1.0, "raft.role", node, role="candidate", term=1),
                record(2.0, "raft.role", node, role="leader", term=1),
                record(3.0, "node.pause", node),
                record(100.0, "raft.role", "n9", role="candidate", term=2),
                record(200.0, "raft.commit", "n9", index=3),
                record(900.0, "node.resume", node),
            ]
        )

    features = run("n1")
    assert features == run("n5")  # the same story on another node covers the same ground
    assert "role:start>candidate>leader" in features
    assert "under:pause:candidate" in features
    assert "after:pause:raft.role:candidate" in features
    assert "under:none:leader" in features and "term:2" in features
    assert run("n1") != coverage_of([record(1.0, "raft.role", "n1", role="leader", term=1)])


def test_guided_exploration_is_deterministic_grows_coverage_and_keeps_valid_schedules(
    small_scenario: Scenario,
) -> None:
    def explore(workers: int) -> tuple[object, ...]:
        with LocalPool(workers) as pool:
            report = explore_guided(small_scenario, pool, budget_runs=8, initial_seeds=3)
        return (report.runs, report.features, report.corpus, report.growth, report.first_failure)

    one, two = explore(1), explore(2)
    assert one == two  # a function of the scenario, budget and seed, not of the pool
    runs, features, corpus, growth, failure = one
    assert runs == 8 and failure is None
    assert 0 < corpus <= 8 and features == growth[-1]  # type: ignore[index]
    assert list(growth) == sorted(growth)  # type: ignore[call-overload]


def test_guided_exploration_finds_a_bug_and_writes_a_scenario_that_fails_again(
    small_scenario: Scenario,
) -> None:
    with LocalPool(2) as pool:
        report = explore_guided(
            small_scenario, pool, bugs=("apply_before_commit",), budget_runs=12, initial_seeds=3
        )
    assert report.first_failure is not None and report.failing_data is not None
    assert report.first_failure_run is not None and report.first_failure_run <= 12
    again = build(report.failing_data)
    assert again is not None and all(fault.nemesis is None for fault in again.faults)
