"""B+ tree bugs of the library, each caught in a staged run by the checks named for it.

The staged scenario deletes and scans over a tree of order 4 (so leaves split, borrow
and merge all the time) with no faults. At seed 1 the bug-free run is clean, and each
bug-on run fails exactly the pinned checks: ``btree_invariants`` (the structure is
wrong) and ``linearizability`` (a get misses a key that was put).

The Raft-core bugs of the library drawn from real implementations are reproduced by
scripted schedules in ``tests/raft/test_real_bugs.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harmonysim.runner import run_scenario
from harmonysim.scenario import parse_scenario, resolve

STAGED = """\
name: btree-churn
description: Puts, deletes and scans over a B+ tree of order 4, no faults.
seed: 1
duration: 3s
cluster:
  nodes: 3
  btree: {order: 4}
network:
  latency: {distribution: lognormal, mean: 2ms, p99: 10ms}
workload:
  clients: 4
  rate: 200/s
  mix: {get: 0.3, put: 0.3, delete: 0.25, scan: 0.15}
  keys: {count: 60, distribution: uniform}
  timeout: 500ms
checks: [raft_safety, linearizability, btree_invariants, liveness]
"""

CAUGHT_BY = {
    "btree_merge_drops_key": ["btree_invariants", "linearizability"],
    "btree_borrow_wrong_separator": ["btree_invariants", "linearizability"],
}


def failed_checks(bugs: tuple[str, ...], out_dir: Path) -> list[str]:
    scenario = resolve(parse_scenario(STAGED, "btree-churn.yaml"), bugs=bugs)
    outcome = run_scenario(scenario, out_dir, trace_sample=0, failure_traces=False)
    return sorted(name for name, result in outcome.checks.items() if result.status == "violation")


def test_the_staged_run_is_clean_without_a_bug(tmp_path: Path) -> None:
    assert failed_checks((), tmp_path / "run") == []


@pytest.mark.parametrize("bug", sorted(CAUGHT_BY))
def test_each_btree_bug_fails_its_checks(bug: str, tmp_path: Path) -> None:
    assert failed_checks((bug,), tmp_path / "run") == CAUGHT_BY[bug]
