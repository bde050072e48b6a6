"""Leadership transfer as a fault (thesis §3.10): asked of whoever leads when it fires."""

from __future__ import annotations

from pathlib import Path

from .support import run_text

TRANSFERS = """
name: transfers
seed: 1
duration: 5s
cluster:
  nodes: 5
  raft: {lease_reads: true}
network:
  latency: {distribution: constant, value: 5ms}
workload:
  clients: 4
  rate: 100/s
  mix: {get: 0.6, put: 0.4}
  keys: {count: 10}
faults:
  - {at: 1s, transfer: {to: any}}
  - {at: 2s, transfer: {to: n4}}
  - {at: 3s, transfer: {to: n4}}
checks: [raft_safety, linearizability, liveness]
"""


def test_a_transfer_hands_leadership_over_and_a_transfer_to_the_leader_does_nothing(
    tmp_path: Path,
) -> None:
    run = run_text(TRANSFERS, tmp_path)
    checks = {name: str(result.status) for name, result in run.outcome.checks.items()}
    assert {name: checks[name] for name in ("raft_safety", "linearizability", "liveness")} == {
        "raft_safety": "ok",
        "linearizability": "ok",
        "liveness": "ok",
    }
    first_leader = run.leaders()[0][1]
    transfers = run.of("leader.transfer")
    assert next((e["t"], e["node"]) for e in transfers) == (1000.0, first_leader)
    assert [e["t"] for e in transfers] == [1000.0, 2000.0]
    # Each transfer makes its target leader of the next term well within an election
    # timeout, sooner than any election timer could fire.
    for transfer in transfers:
        after = next(leader for leader in run.leaders() if leader[0] > transfer["t"])
        assert after[1] == transfer["to"] and after[0] - transfer["t"] < 150.0
    assert transfers[1]["to"] == "n4"
    [noop] = run.of("fault.noop")
    assert (noop["t"], noop["reason"]) == (3000.0, "the target already leads")
    assert run.outcome.summary["faults"]["leader.transfer"] == 2
