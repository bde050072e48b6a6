"""A short, eventful run folder shared by the exporter tests (made once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harmonysim.runner import run_scenario
from harmonysim.scenario import parse_scenario
from harmonysim.sim.events import read_events

SCENARIO = """
name: obs-fixture
description: Isolate the leader, heal, with loss and duplication, so every exporter has work.
seed: 11
duration: 4s
cluster:
  nodes: 5
  raft: {election_timeout: [150ms, 300ms], heartbeat_interval: 50ms}
  btree: {order: 4}
network:
  latency: {distribution: lognormal, mean: 5ms, p99: 30ms}
  loss: 0.02
  duplicate: 0.02
workload:
  clients: 4
  rate: 120/s
  mix: {get: 0.4, put: 0.5, cas: 0.1}
  keys: {count: 60, distribution: uniform}
  timeout: 500ms
faults:
  - {at: 1500ms, partition: {isolate: leader}}
  - {at: 3s, heal: all}
"""


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("obs-run")
    run_scenario(parse_scenario(SCENARIO, source="obs-fixture"), out)
    return out


@pytest.fixture(scope="session")
def records(run_dir: Path) -> list[dict[str, object]]:
    return read_events(run_dir / "events.jsonl")


@pytest.fixture(scope="session")
def exported(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from harmonysim.obs.export import export_run

    out = tmp_path_factory.mktemp("obs-export")
    export_run(run_dir, ["all"], out)
    return out
