"""A short run with every kind of state change the fold knows, made once per session."""

from __future__ import annotations

from typing import Any

import pytest

from harmonysim.runlog.folder import RunFolder
from harmonysim.sim.events import read_events
from tests.runs import make_run

CHURN = """
name: fold-churn
seed: 5
duration: 6s
cluster: {nodes: 5, btree: {order: 4}, raft: {snapshot_threshold: 60}}
network: {latency: {distribution: lognormal, mean: 4ms, p99: 20ms}, loss: 0.01}
workload: {clients: 4, rate: 150/s, mix: {get: 0.3, put: 0.4, delete: 0.2, cas: 0.1},
           keys: {count: 80, distribution: uniform}}
faults:
  - {at: 500ms, clock: {node: n3, rate: 0.9}, for: 1s}
  - {at: 600ms, clock: {node: n1, jump: 300ms}, for: 700ms}
  - {at: 700ms, clock: {node: n4, strobe: {delta: 50ms, period: 20ms}}, for: 500ms}
  - {at: 800ms, disk: {node: n5, slow: {fsync: 20ms}}, for: 1s}
  - {at: 900ms, transfer: {to: any}}
  - {at: 1s, crash: n2}
  - {at: 1200ms, disk: {node: n2, corrupt: {file: hard_state}}}
  - {at: 1200ms, disk: {node: n2, corrupt: {file: hard_state.b}}}
  - {at: 1500ms, partition: {isolate: leader}}
  - {at: 2500ms, heal: all}
  - {at: 2600ms, clog: {from: n3, to: n4, both_ways: true}}
  - {at: 3s, restart: n2}
  - {at: 3200ms, pause: n5}
  - {at: 3500ms, unclog: all}
  - {at: 3800ms, resume: n5}
  - {at: 4s, remove: n4}
  - {at: 5s, add: n4}
"""


@pytest.fixture(scope="session")
def churn_run(tmp_path_factory: pytest.TempPathFactory) -> RunFolder:
    return RunFolder(make_run(tmp_path_factory.mktemp("fold"), CHURN))


@pytest.fixture(scope="session")
def churn_events(churn_run: RunFolder) -> list[dict[str, Any]]:
    return read_events(churn_run.events)
