"""A node the nemesis deafens: it sends but hears no one for the rest of the run.

A gray failure (a network card that drops what it receives) that no healing undoes, so
the liveness check judges the cluster with it in place: the one fault behind
goraft/raft#58, where followers took a deposed leader's stale heartbeats for a live
leader's and never elected a successor."""

from __future__ import annotations

from pathlib import Path

from harmonysim.check.result import CheckStatus

from .support import run_text

DEAFEN = """
name: deafen-probe
duration: 22s
cluster:
  nodes: 5
  raft: {prevote: true, check_quorum: false}
network: {latency: {distribution: lognormal, mean: 5ms, p99: 30ms}}
workload: {clients: 4, rate: 100/s, mix: {get: 0.5, put: 0.5}}
faults:
  - at: 1s
    nemesis:
      kinds: [partition, crash, pause]
      interval: 1s
      until: 12s
      target_leader: 1.0
      deafen: 1.0
"""


def test_a_deafened_stale_leader_leaves_a_correct_cluster_live(tmp_path: Path) -> None:
    # Seed 6: a leader isolated and deposed is deafened; it goes on leading its old term
    # (no CheckQuorum) and sending heartbeats nobody heeds. Later leaders crash and are
    # elected again around it, and after the nemesis the others elect and serve.
    run = run_text(DEAFEN, tmp_path, seed=6)
    deafened = [e for e in run.of("net.partition") if e.get("deaf") is not None]
    assert deafened, "the nemesis deafened no one"
    deaf = deafened[0]["deaf"]
    assert all(e.get("deaf") == deaf for e in run.of("net.partition") if e["t"] >= deafened[0]["t"])
    assert not [e for e in run.of("net.heal") if e["t"] >= deafened[0]["t"]]
    liveness = run.outcome.checks["liveness"]
    assert liveness.status is CheckStatus.OK, liveness.summary
    assert deaf not in liveness.details["healthy_nodes"]
    assert all(r.status is not CheckStatus.VIOLATION for r in run.outcome.checks.values())


def test_followers_that_heed_stale_heartbeats_never_elect_past_a_deafened_leader(
    tmp_path: Path,
) -> None:
    # The same run with goraft/raft#58's bug: every AppendEntries restarts a follower's
    # election timer, the deaf leader's stale ones included, so once the leader the
    # others elected is gone no one times out: liveness fails.
    run = run_text(DEAFEN.replace("faults:", "bugs: [election_timer_on_stale_append]\nfaults:"),
                   tmp_path, seed=6)  # fmt: skip
    liveness = run.outcome.checks["liveness"]
    assert liveness.status is CheckStatus.VIOLATION, liveness.summary
    assert run.outcome.checks["raft_safety"].status is CheckStatus.OK
