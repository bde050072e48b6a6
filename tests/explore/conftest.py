"""Shared fixtures: a small, fast scenario with a nemesis, written to a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from harmonysim.scenario import Scenario, load_scenario

SMALL_SCENARIO = """\
name: small-nemesis
description: Three nodes, a few clients and a fast nemesis; a run takes a fraction of a second.
seed: 1
duration: 2s
cluster:
  nodes: 3
network:
  latency: {distribution: lognormal, mean: 5ms, p99: 30ms}
  loss: 0.01
workload:
  clients: 3
  rate: 60/s
  mix: {get: 0.5, put: 0.4, cas: 0.1}
  keys: {count: 20, distribution: uniform}
  timeout: 300ms
faults:
  - {at: 300ms, nemesis: {kinds: [partition, crash, clog, pause], interval: 250ms, until: 1800ms}}
"""


@pytest.fixture
def small_scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "small-nemesis.yaml"
    path.write_text(SMALL_SCENARIO)
    return path


@pytest.fixture
def small_scenario(small_scenario_file: Path) -> Scenario:
    return load_scenario(small_scenario_file)
