"""harmonysim.testing: generated scenarios are valid, round-trip and run clean. (The
cluster state machine has its own tests: ``tests/raft/test_cluster_machine.py``.)"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

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
        # No shrinking: the test asks only that the kind is reachable, and shrinking a
        # found schedule costs seconds of scenario validation.
        settings=settings(
            max_examples=2000, database=None, derandomize=True, phases=[Phase.generate]
        ),
    )
    assert any(fault.kind is kind for fault in found.faults)


@pytest.mark.parametrize("trigger", list(FaultTrigger), ids=[t.value for t in FaultTrigger])
def test_generated_fault_schedules_wait_for_every_trigger(trigger: FaultTrigger) -> None:
    found = find(
        scenarios(quiet_tail_ms=1500),
        lambda scenario: any(fault.when is trigger for fault in scenario.faults),
        settings=settings(
            max_examples=2000, database=None, derandomize=True, phases=[Phase.generate]
        ),
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
    (shape,) = spec  # the one shape key the strategy drew is the kind the loader read
    assert fault.partition is not None and fault.partition.kind is PartitionKind(shape)


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
