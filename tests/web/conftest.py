"""Shared runs for the dashboard tests: two short scenario runs, made once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from harmonysim.runner import run_scenario
from harmonysim.scenario import parse_scenario

ISOLATION = """
name: leader-isolation
seed: 7
duration: 8s
cluster: {nodes: 5, btree: {order: 8}}
network: {latency: {distribution: lognormal, mean: 5ms, p99: 30ms}, loss: 0.01}
workload: {clients: 4, rate: 100/s, mix: {get: 0.4, put: 0.5, cas: 0.1}, keys: {count: 80}}
faults:
  - {at: 5s, partition: {isolate: leader}}
"""

CHURN = """
name: crash-restart-churn
seed: 23
duration: 9s
cluster: {nodes: 5, btree: {order: 6}, raft: {snapshot_threshold: 150}}
workload: {clients: 4, rate: 120/s, mix: {get: 0.3, put: 0.5, delete: 0.1, cas: 0.1},
           keys: {count: 120, distribution: uniform}}
faults:
  - {at: 3s, crash: n2}
  - {at: 6s, restart: n2}
"""


def make_run(root: Path, text: str) -> Path:
    scenario = parse_scenario(text, source="<test>")
    out = root / scenario.name
    run_scenario(scenario, out)
    return out


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of two runs: the leader isolated at 5 s, and crash/restart churn."""
    root = tmp_path_factory.mktemp("runs")
    make_run(root, ISOLATION)
    make_run(root, CHURN)
    return root


@pytest.fixture(scope="session")
def isolation_run(runs_root: Path) -> Path:
    return runs_root / "leader-isolation"


@pytest.fixture(scope="session")
def churn_run(runs_root: Path) -> Path:
    return runs_root / "crash-restart-churn"


DEEP = """
name: btree-deep
seed: 3
duration: 5s
cluster: {nodes: 3, btree: {order: 4}}
workload: {clients: 8, rate: 600/s, mix: {put: 0.6, delete: 0.25, get: 0.15},
           keys: {count: 2000, distribution: uniform}}
checks: []
"""

ONE_LEAF = """
name: btree-one-leaf
seed: 1
duration: 2s
cluster: {nodes: 3}
workload: {clients: 2, rate: 50/s, mix: {get: 0.5, put: 0.5}, keys: {count: 20}}
checks: []
"""


@pytest.fixture(scope="session")
def btree_runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of two B+ tree runs: a deep tree (order 4, 2000 keys, deletes), one leaf."""
    root = tmp_path_factory.mktemp("btree-runs")
    make_run(root, DEEP)
    make_run(root, ONE_LEAF)
    return root


LOADED = """
name: loaded
seed: 5
duration: 3s
cluster: {nodes: 3, btree: {order: 8}, raft: {snapshot_threshold: 8}}
network: {latency: {distribution: lognormal, mean: 5ms, p99: 30ms}, loss: 0.01}
workload: {clients: 3, rate: 100/s, mix: {get: 0.3, put: 0.4, delete: 0.3},
           keys: {distribution: uniform}, load: {records: 3000, batch: 100}}
faults:
  - {at: 400ms, crash: n3}
  - {at: 900ms, restart: n3}
checks: []
"""


@pytest.fixture(scope="session")
def loaded_runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of one run that loads 3,000 records through Raft in 30 batches (n3 crashes
    during the load and restarts from snapshots taken in it)."""
    root = tmp_path_factory.mktemp("loaded-runs")
    make_run(root, LOADED)
    return root


FAILING = """
name: stale-reads
seed: 3
duration: 3s
cluster:
  nodes: 5
  raft: {election_timeout: [150ms, 300ms], heartbeat_interval: 50ms}
network: {latency: {distribution: lognormal, mean: 5ms, p99: 30ms}}
workload:
  clients: 4
  rate: 200/s
  mix: {get: 0.5, put: 0.5}
  keys: {count: 5, distribution: uniform}
  timeout: 300ms
faults:
  - {at: 1s, partition: {isolate: leader}, for: 1s}
bugs: [read_without_read_index, apply_before_commit]
checks: [raft_safety, linearizability, btree_invariants]
"""

PASSING = """
name: passing
seed: 4
duration: 2s
cluster: {nodes: 3}
workload: {clients: 2, rate: 50/s, mix: {get: 0.5, put: 0.5}, keys: {count: 20}}
checks: [raft_safety, linearizability, btree_invariants]
"""


@pytest.fixture(scope="session")
def violation_runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of two runs: entries applied before they commit (raft_safety fails from
    about 0.2 s) and stale reads from an isolated leader (linearizability fails after
    1 s), and a run whose checks pass."""
    root = tmp_path_factory.mktemp("violation-runs")
    make_run(root, FAILING)
    make_run(root, PASSING)
    return root
