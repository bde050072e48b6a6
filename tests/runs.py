"""Runs that tests of several packages share (the plots and the dashboard), and how a
test makes a run: its scenario text run into a folder of runs, under the scenario's name.

The session fixtures that make these once for the whole test session are in
``tests/conftest.py``.

- ``LOADED``: 3,000 records loaded through Raft in 30 batches; n3 crashes during the
  load (0.4 s) and restarts (0.9 s) from snapshots taken in it.
- ``FAILING``: entries applied before they commit (raft_safety fails from about
  0.2 s) and stale reads from a leader isolated at 1 s (linearizability fails after
  1 s); ``PASSING`` a short run whose checks pass.
- ``DEEP``: a deep B+ tree (order 4, 2000 keys, deletes: many splits, merges and
  borrows); ``ONE_LEAF``: a tree that never outgrows its root leaf.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harmonysim.runner import run_scenario
from harmonysim.scenario import parse_scenario

__all__ = ["DEEP", "FAILING", "LOADED", "ONE_LEAF", "PASSING", "make_run", "make_runs"]

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


def make_run(root: Path, text: str) -> Path:
    """Run the scenario ``text`` into ``root / <its name>``; that folder."""
    scenario = parse_scenario(text, source="<test>")
    out = root / scenario.name
    run_scenario(scenario, out)
    return out


def make_runs(factory: pytest.TempPathFactory, folder: str, *texts: str) -> Path:
    """A new folder of runs (named after ``folder``), one run per scenario text."""
    root = factory.mktemp(folder)
    for text in texts:
        make_run(root, text)
    return root
