"""harmonysim.testing: generated scenarios are valid, round-trip and run clean; the
cluster state machine keeps Raft safe without bugs and finds (and shrinks) a bug."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from harmonysim.check.result import CheckStatus
from harmonysim.runner import run_scenario
from harmonysim.scenario import (
    FaultKind,
    FaultTrigger,
    PartitionKind,
    Scenario,
    dump_scenario,
    parse_scenario,
    scenario_to_data,
)
from harmonysim.testing.cluster_machine import RaftClusterMachine, cluster_machine
from harmonysim.testing.strategies import partition_data, scenarios


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(quiet_tail_ms=1500))
def test_generated_scenarios_validate_and_round_trip(scenario: Scenario) -> None:
    assert parse_scenario(dump_scenario(scenario)) == scenario
    data = scenario_to_data(scenario)
    assert data["name"] == scenario.name and data["checks"] == list(scenario.checks)
    for fault in scenario.faults:
        end = fault.nemesis.until_ms if fault.nemesis is not None else fault.at_ms
        assert end <= scenario.duration_ms - 1500


@pytest.mark.parametrize("kind", list(FaultKind), ids=[kind.value for kind in FaultKind])
def test_generated_fault_schedules_cover_every_kind(kind: FaultKind) -> None:
    # find() searches until the strategy yields a scenario with this kind of fault:
    # every kind is reachable, whatever order the other tests ran in.
    found = find(
        scenarios(quiet_tail_ms=1500),
        lambda scenario: any(fault.kind is kind for fault in scenario.faults),
        settings=settings(max_examples=2000, database=None, derandomize=True),
    )
    assert any(fault.kind is kind for fault in found.faults)


@pytest.mark.parametrize("trigger", list(FaultTrigger), ids=[t.value for t in FaultTrigger])
def test_generated_fault_schedules_wait_for_every_trigger(trigger: FaultTrigger) -> None:
    found = find(
        scenarios(quiet_tail_ms=1500),
        lambda scenario: any(fault.when is trigger for fault in scenario.faults),
        settings=settings(max_examples=2000, database=None, derandomize=True),
    )
    for fault in found.faults:
        if fault.when is not None:
            # It strikes the leader of its event, and waits no later than the faulty period.
            assert fault.until_ms is not None
            assert fault.until_ms <= found.duration_ms - 1500
            assert "leader" in (fault.crash, fault.pause) or (
                fault.partition is not None and fault.partition.kind is PartitionKind.ISOLATE
            )


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_partitions_of_every_shape(data: st.DataObject) -> None:
    nodes = data.draw(st.integers(4, 7))
    spec = data.draw(partition_data(nodes))
    text = f"name: p\nduration: 2s\ncluster: {{nodes: {nodes}}}\nfaults:\n  - at: 1s\n"
    text += "    partition: " + repr(spec).replace("'", "") + "\n"
    fault = parse_scenario(text).faults[0]
    assert fault.partition is not None and fault.partition.kind in set(PartitionKind)


@settings(max_examples=3, deadline=None, derandomize=True, database=None)
@given(scenarios(nodes=st.integers(3, 5), duration_ms=st.integers(2500, 3500), quiet_tail_ms=1700))
def test_generated_scenarios_run_clean(scenario: Scenario) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        outcome = run_scenario(scenario, Path(scratch))
    failed = {
        name: result.summary
        for name, result in outcome.checks.items()
        if result.status is CheckStatus.VIOLATION
    }
    assert not failed, dump_scenario(scenario)
    assert outcome.checks["raft_safety"].status is CheckStatus.OK


def test_cluster_machine_keeps_raft_safe_without_bugs() -> None:
    run_state_machine_as_test(
        RaftClusterMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


def test_cluster_machine_finds_and_shrinks_vote_without_log_check() -> None:
    machine = cluster_machine(3, bugs=frozenset({"vote_without_log_check"}))
    with pytest.raises(AssertionError) as caught:
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=200,
                stateful_step_count=20,
                deadline=None,
                derandomize=True,
                database=None,
                report_multiple_bugs=False,
                suppress_health_check=list(HealthCheck),
            ),
        )
    message = str(caught.value)
    assert message.startswith(("leader_completeness", "state_machine_safety", "log_matching"))
    program = machine.last_program  # type: ignore[attr-defined]
    assert program[0].startswith("start(")
    assert len(program) <= 8, program
    assert any(step.startswith(("partition(", "crash(")) for step in program), program
