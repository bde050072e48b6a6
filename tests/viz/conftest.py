"""One short run with every fault the plots draw, shared by the plot tests; the run
that loads 3,000 records through Raft (a replica crashes during the load and restarts
from a snapshot taken in it) and the run whose checks fail are the dashboard's too
(``tests.runs``).

The scenario isolates the leader (1 s .. 2 s), pauses n4 inside that partition,
crashes n2 (2.2 s .. 3 s) and clogs n4 <-> n5 (3.2 s .. 3.5 s); a small B+ tree
order and frequent snapshots give splits, deeper trees and restores.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harmonysim.runner import run_scenario
from harmonysim.scenario import parse_scenario
from harmonysim.sim.events import EventRecord, read_events
from harmonysim.viz import RunRecords, load_run_records

SCENARIO = """
name: viz-faults
description: Isolate the leader, pause, crash and restart a node, clog a link.
seed: 11
duration: 4s
cluster:
  nodes: 5
  raft: {election_timeout: [150ms, 300ms], heartbeat_interval: 50ms, prevote: true,
         check_quorum: true, snapshot_threshold: 200}
  btree: {order: 4}
network:
  latency: {distribution: lognormal, mean: 5ms, p99: 30ms}
  loss: 0.01
  duplicate: 0.01
workload:
  clients: 4
  rate: 200/s
  mix: {get: 0.3, put: 0.6, cas: 0.1}
  keys: {count: 300, distribution: uniform}
  timeout: 300ms
faults:
  - {at: 1s, partition: {isolate: leader}}
  - {at: 1300ms, pause: n4}
  - {at: 1500ms, resume: n4}
  - {at: 2s, heal: all}
  - {at: 2200ms, crash: n2}
  - {at: 3s, restart: n2}
  - {at: 3200ms, clog: {from: n4, to: n5, both_ways: true}}
  - {at: 3500ms, unclog: all}
checks: []
"""


@pytest.fixture(scope="session")
def loaded_run_dir(loaded_runs_root: Path) -> Path:
    """The run that loads 3,000 records (``tests.runs.LOADED``)."""
    return loaded_runs_root / "loaded"


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("viz") / "run"
    run_scenario(parse_scenario(SCENARIO), out)
    return out


@pytest.fixture(scope="session")
def records(run_dir: Path) -> RunRecords:
    return load_run_records(run_dir)


@pytest.fixture(scope="session")
def all_events(run_dir: Path) -> list[EventRecord]:
    """The event log read independently of the plotting code."""
    return read_events(run_dir / "events.jsonl")


@pytest.fixture(scope="session")
def failing_run_dir(violation_runs_root: Path) -> Path:
    """A run that fails raft_safety (applies before commit, from about 0.2 s) and
    linearizability (a stale read from the isolated leader, after 1 s):
    ``tests.runs.FAILING``."""
    return violation_runs_root / "stale-reads"
