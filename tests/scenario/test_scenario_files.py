"""The scenarios shipped in `scenarios/`: they load, say what they promise, round-trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from harmonysim.scenario import (
    FaultKind,
    PartitionKind,
    Scenario,
    dump_scenario,
    load_scenario,
    parse_scenario,
    scenario_to_data,
)

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
SHIPPED = (
    "crash-restart-churn",
    "figure-8",
    "leader-isolation",
    "lossy-network",
    "nemesis",
    "partition-majority",
    "standard",
    "steady-state",
)
SHIPPED_PATHS = sorted(SCENARIO_DIR.glob("*.yaml"))
STAGED_MIXES = {
    "btree-churn": {"get", "put", "delete", "scan"},
    "leader-transfers": {"get", "put"},
    "transfer-then-cut": {"get", "put"},
    "leases-leader-cut-off": {"get", "put"},
    "removed-while-cut-off": {"get", "put"},
    "leader-cut-off-close-timers": {"get", "put"},
}


def load(name: str) -> Scenario:
    return load_scenario(SCENARIO_DIR / f"{name}.yaml")


def test_the_expected_scenarios_ship() -> None:
    assert set(SHIPPED) <= {path.stem for path in SHIPPED_PATHS}


@pytest.mark.parametrize("path", SHIPPED_PATHS, ids=lambda path: path.stem)
def test_shipped_scenario_loads_and_describes_itself(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    assert len(scenario.description.split()) >= 12
    # Figure 8, disk-corruption and stale-term-rejoin are staged on three nodes, where one
    # vote decides; so are torn-log and snapshot-restart, where a second failure must leave
    # no majority; btree-scans needs no more than three.
    three = (
        "figure-8",
        "disk-corruption",
        "stale-term-rejoin",
        "torn-log",
        "snapshot-restart",
        "btree-scans",
        "btree-churn",
        "leader-transfers",
        "transfer-then-cut",
        "leases-leader-cut-off",
        "leader-cut-off-close-timers",
    )
    assert scenario.cluster.nodes == (3 if scenario.name in three else 5)
    if scenario.name.startswith("ycsb-"):
        # YCSB's mixes (workload C reads only) on data loaded before the measured phase.
        assert {"get", "scan"} & set(scenario.workload.mix)
        assert scenario.workload.load is not None
    elif scenario.name in STAGED_MIXES:
        # Staged for one bug: the load that shows it (one hot key read and written, or
        # the deletes and scans that make a small tree merge and borrow).
        assert set(scenario.workload.mix) == STAGED_MIXES[scenario.name]
    else:
        assert {"get", "put", "cas"} <= set(scenario.workload.mix)
    assert scenario.bugs == ()


@pytest.mark.parametrize("path", SHIPPED_PATHS, ids=lambda path: path.stem)
def test_shipped_scenario_round_trips(path: Path) -> None:
    scenario = load_scenario(path)
    data = scenario_to_data(scenario)
    assert parse_scenario(yaml.safe_dump(data)) == scenario
    text = dump_scenario(scenario)
    assert parse_scenario(text) == scenario
    assert dump_scenario(parse_scenario(text)) == text
    # The data form is plain JSON, as run.json stores it.
    assert json.loads(json.dumps(data)) == data


def test_data_form_uses_yaml_keys_and_canonical_units() -> None:
    data = scenario_to_data(load("standard"))
    assert list(data) == [
        "name",
        "description",
        "seed",
        "duration",
        "cluster",
        "network",
        "workload",
        "faults",
        "checks",
        "bugs",
    ]
    assert data["duration"] == "30s"
    assert data["cluster"]["raft"]["election_timeout"] == ["150ms", "300ms"]
    assert data["cluster"]["disk"] == {
        "fsync_latency": "1ms",
        "write_latency": "0.05ms",
        "faults": {
            "corrupt": 0.0,
            "torn": 0.0,
            "misdirect": 0.0,
            "read_error": 0.0,
            "slow": 0.0,
            "slow_fsync": "50ms",
            "write_error": 0.0,
        },
    }
    assert data["workload"]["rate"] == "200/s"
    assert data["faults"][0] == {"at": "8s", "partition": {"isolate": "leader"}}
    assert data["faults"][1] == {"at": "14s", "heal": "all"}


def test_steady_state_is_the_faultless_baseline() -> None:
    scenario = load("steady-state")
    assert scenario.duration_ms == 10_000.0
    assert scenario.workload.clients == 10
    assert scenario.workload.rate_per_s == 200.0
    assert scenario.network.loss == 0.01
    assert scenario.faults == ()


def test_standard_scenario() -> None:
    scenario = load("standard")
    assert scenario.duration_ms == 30_000.0
    assert (scenario.workload.clients, scenario.workload.rate_per_s) == (10, 200.0)
    assert scenario.network.loss == 0.01
    faults = scenario.faults
    assert faults[0].partition is not None and faults[0].partition.isolate == "leader"
    kinds = [fault.kind for fault in faults]
    assert kinds == [FaultKind.PARTITION, FaultKind.HEAL, FaultKind.CRASH, FaultKind.RESTART]
    assert faults[2].crash == faults[3].restart


def test_leader_isolation_timing() -> None:
    scenario = load("leader-isolation")
    assert scenario.duration_ms == 20_000.0
    isolate, heal = scenario.faults
    assert isolate.at_ms == 5_000.0 and isolate.partition is not None
    assert isolate.partition.isolate == "leader"
    assert (heal.at_ms, heal.heal) == (12_000.0, "all")


def test_partition_majority_has_a_split_and_a_one_way_cut() -> None:
    scenario = load("partition-majority")
    shapes = [fault.partition.kind for fault in scenario.faults if fault.partition is not None]
    assert shapes == [PartitionKind.GROUPS, PartitionKind.ONE_WAY]
    split = scenario.faults[0].partition
    assert split is not None and split.groups == (("n1", "n2"), ("n3", "n4", "n5"))
    assert sum(fault.kind is FaultKind.HEAL for fault in scenario.faults) == 2


def test_churn_crashes_the_leader_and_pauses() -> None:
    scenario = load("crash-restart-churn")
    kinds = {fault.kind for fault in scenario.faults}
    assert {FaultKind.CRASH, FaultKind.RESTART, FaultKind.PAUSE, FaultKind.RESUME} <= kinds
    assert any(fault.crash == "leader" for fault in scenario.faults)
    crashed = [fault.crash for fault in scenario.faults if fault.crash not in (None, "leader")]
    restarted = [fault.restart for fault in scenario.faults if fault.restart is not None]
    assert sorted(crashed) == sorted(restarted)


def test_lossy_network() -> None:
    network = load("lossy-network").network
    assert (network.loss, network.duplicate, network.jitter_ms) == (0.1, 0.05, 20.0)
    (slow,) = network.links
    assert slow.both_ways and slow.latency is not None
    assert slow.latency.min_ms is not None and slow.latency.min_ms > 30.0


def test_nemesis_has_every_kind_and_a_quiet_tail() -> None:
    scenario = load("nemesis")
    (fault,) = scenario.faults
    assert fault.nemesis is not None
    assert set(fault.nemesis.kinds) == {"partition", "crash", "clog", "pause"}
    assert (fault.at_ms, fault.nemesis.until_ms) == (2_000.0, 25_000.0)
    assert scenario.duration_ms == 30_000.0
