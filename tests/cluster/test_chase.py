"""A partition that chases leadership: the nemesis's ``chase``.

It isolates the leader and, while it holds, each leader elected after, half the time the
moment it is elected and half the time at its first commit; the one before rejoins.
Three such cuts are the Raft paper's Figure 8 (§5.4.2): a leader that counts replicas of
an earlier term's entries commits them, is cut off at that commit, and a server with a
later last term that never had them is elected and overwrites them."""

from __future__ import annotations

from pathlib import Path

from harmonysim.check.result import CheckStatus

from .support import Run, run_text

CHASE = """
name: chase-probe
duration: 14s
cluster:
  nodes: 3
  raft: {prevote: true, check_quorum: false, leader_noop: false}
network: {latency: {distribution: lognormal, mean: 5ms, p99: 30ms}}
workload:
  clients: 10
  rate: 200/s
  mix: {get: 0.4, put: 0.3, cas: 0.15, scan: 0.05, delete: 0.1}
  keys: {count: 50}
faults:
  - at: 2s
    nemesis:
      kinds: [partition]
      interval: 1s
      until: 8s
      overlap: 3
      chase: 1.0
"""


def _strikes(run: Run) -> list[dict[str, object]]:
    return [dict(e) for e in run.of("net.partition") if e.get("chase")]


def test_a_chasing_partition_isolates_each_leader_elected_while_it_holds(
    tmp_path: Path,
) -> None:
    run = run_text(CHASE, tmp_path, seed=2)
    strikes = _strikes(run)
    timed = [s for s in strikes if "timed" in s]
    assert {s["timed"] for s in timed} == {"leader_elected", "leader_commit"}
    leaders = run.leaders()
    for strike in timed:
        t, target = float(str(strike["t"])), strike["target"]
        # The node it isolates is the last one elected leader by then.
        last = max((e for e in leaders if e[0] <= t), key=lambda e: e[0])
        assert last[1] == target, (strike, last)
        if strike["timed"] == "leader_elected":
            assert last[0] == t
        else:  # at its first commit in its term: it committed nothing before
            elected = float(str(strike["elected_ms"]))
            assert elected == last[0] < t
            commits = [e["t"] for e in run.of("raft.commit", str(target)) if elected <= e["t"] <= t]
            assert commits and commits[0] == t
    # A chase is one nemesis fault: each begins at a step and every later strike in it
    # says when it began; nothing chases after the nemesis ends.
    steps = {float(e["t"]) for e in run.of("nemesis")}
    assert {float(str(s["chase_from_ms"])) for s in strikes} <= steps
    assert all(float(str(s["t"])) < 8000.0 for s in strikes)
    assert all(r.status is CheckStatus.OK for r in run.outcome.checks.values())


def test_a_leader_cut_off_at_its_first_commit_exposes_commit_by_count(tmp_path: Path) -> None:
    # Same seed, with the Figure 8 bug: a re-elected leader commits its earlier term's
    # entries by counting replicas, is cut off at that commit, and the server with a later
    # last term is elected without them (Leader Completeness).
    run = run_text(CHASE.replace("faults:", "bugs: [commit_prior_term_by_count]\nfaults:"),
                   tmp_path, seed=2)  # fmt: skip
    safety = run.outcome.checks["raft_safety"]
    assert safety.status is CheckStatus.VIOLATION, safety.summary
    assert "leader_completeness" in safety.details["violation_counts"]


def test_without_chase_the_nemesis_draws_as_before(tmp_path: Path) -> None:
    # `chase: 0` (the default) draws nothing for it: the same run as a nemesis without it.
    plain = run_text(CHASE.replace("      chase: 1.0\n", ""), tmp_path / "a", seed=2)
    zero = run_text(CHASE.replace("chase: 1.0", "chase: 0.0"), tmp_path / "b", seed=2)
    assert plain.outcome.event_hash == zero.outcome.event_hash
    assert not _strikes(plain)
