"""Shrinking: a smaller, valid scenario that still fails the same check with the same seed."""

from __future__ import annotations

import pytest

from harmonysim.explore import SeedTask, ShrinkError, run_task, shrink_scenario
from harmonysim.scenario import ClusterSettings, Scenario, dump_scenario, parse_scenario, resolve
from tests.explore import doubles


def test_shrink_finds_a_smaller_scenario_failing_the_same_check(
    small_scenario: Scenario,
) -> None:
    seen: list[tuple[int, str, bool]] = []
    report = shrink_scenario(
        small_scenario,
        doubles.CRASH_CHECK,
        budget=60,
        judge=doubles.judge_crash_seen,
        on_run=lambda runs, budget, edit, fails: seen.append((runs, edit, fails)),
    )
    shrunk = report.shrunk
    # Valid: it survives a round trip through the file format.
    assert parse_scenario(dump_scenario(shrunk)) == shrunk
    # Same seed and bugs, and it still fails the same check when run again.
    assert (shrunk.seed, shrunk.bugs) == (small_scenario.seed, small_scenario.bugs)
    again = run_task(SeedTask(scenario=shrunk, seed=shrunk.seed, judge=doubles.judge_crash_seen))
    assert doubles.CRASH_CHECK in again.failed_checks
    # Smaller: the nemesis became one explicit crash, the run and the workload shrank.
    assert [fault.kind.value for fault in shrunk.faults] == ["crash"]
    assert report.after.nemeses == 0
    assert report.after.duration_ms < report.before.duration_ms
    assert report.after.clients == 1 < report.before.clients
    assert report.after.events < report.before.events / 2
    assert report.after.operations < report.before.operations
    # Every run was reported, the first being the original, and the count is honest.
    assert [runs for runs, _, _ in seen] == list(range(1, report.runs + 1))
    assert seen[0] == (1, "the original scenario", True)
    assert report.runs <= 60
    assert [step.edit for step in report.steps] == [edit for _, edit, fails in seen[1:] if fails]


def test_shrink_keeps_an_odd_cluster_of_at_least_three_nodes(
    small_scenario: Scenario,
) -> None:
    five = resolve(small_scenario.model_copy(update={"cluster": ClusterSettings(nodes=5)}))
    report = shrink_scenario(five, doubles.SERVED_CHECK, budget=60, judge=doubles.judge_served)
    assert report.before.nodes == 5
    assert report.after.nodes == 3
    assert report.shrunk.workload.clients == 1
    assert report.shrunk.workload.operations == 1
    assert report.after.operations == 1
    assert report.after.duration_ms < report.before.duration_ms
    assert not report.budget_spent


def test_shrink_is_deterministic_and_respects_its_budget(small_scenario: Scenario) -> None:
    first = shrink_scenario(
        small_scenario, doubles.CRASH_CHECK, budget=8, judge=doubles.judge_crash_seen
    )
    second = shrink_scenario(
        small_scenario, doubles.CRASH_CHECK, budget=8, judge=doubles.judge_crash_seen
    )
    assert first.runs == second.runs == 8
    assert first.budget_spent
    assert first.shrunk == second.shrunk
    assert first.after == second.after


def test_shrink_refuses_a_scenario_that_does_not_fail(small_scenario: Scenario) -> None:
    with pytest.raises(ShrinkError, match="does not fail"):
        shrink_scenario(small_scenario, "no_such_check", budget=5, judge=doubles.judge_crash_seen)
