"""Failures the bug-free sweeps of the generic nemeses found, each kept at its seed.

Pinned to the scenario as it was when swept (``tests/cluster/scenarios``): a seed
draws its settings and faults from the scenario, so a later edit of nemesis-all
would move every seed."""

from __future__ import annotations

from pathlib import Path

from harmonysim.runner import RunOutcome, run_scenario
from harmonysim.scenario import load_scenario, resolve
from harmonysim.sim.events import read_events

SCENARIOS = Path(__file__).parents[1] / "cluster" / "scenarios"
TIMED = SCENARIOS / "nemesis-all-timed.yaml"
LEASES = SCENARIOS / "nemesis-leases-swept.yaml"
CHASE = SCENARIOS / "nemesis-all-chase.yaml"


def swept_run(path: Path, seed: int, tmp_path: Path) -> RunOutcome:
    """Run the pinned copy at ``path`` at ``seed`` as the sweep did, into ``tmp_path/run``."""
    scenario = resolve(load_scenario(path), seed=seed)
    return run_scenario(scenario, tmp_path / "run", trace_sample=0, failure_traces=False)


def test_a_resumed_voter_that_persisted_only_a_later_term_still_counts_for_the_leader(
    tmp_path: Path,
) -> None:
    # Seed 328: n3 is resumed with 411 held messages, among them vote requests of terms
    # 35-48 from n1 and n2. One Ready grants n1 its vote in term 47, moves on to term 48
    # and persists only (48, nobody) before sending the answers; n1 leads term 47 with
    # that vote. election_quorum counted only votes persisted in the term and called it
    # a violation (a false alarm: on disk term 48 forbids another vote in 47).
    outcome = swept_run(TIMED, 328, tmp_path)
    events = read_events(tmp_path / "run" / "events.jsonl")
    persisted = [
        (e["term"], e["voted_for"])
        for e in events
        if e["kind"] == "raft.persist" and e["node"] == "n3" and 18000 <= e["t"] <= 18002
    ]
    assert persisted == [(35, None), (48, None)]
    leader = [
        e for e in events if e["kind"] == "raft.role" and e["role"] == "leader" and e["term"] == 47
    ]
    assert [e["node"] for e in leader] == ["n1"]
    assert outcome.checks["raft_safety"].status == "ok", outcome.checks["raft_safety"].summary


def test_an_accepted_change_still_uncommitted_holds_the_quiet_point_until_it_commits(
    tmp_path: Path,
) -> None:
    # nemesis-leases seed 739: at 24999.999 ms the chained membership nemesis removes the
    # leader n2 through an operator that does not wait (`accepted`, uncommitted); the
    # add-back at 25000 ms is refused and, the nemesis being over, not asked again. The
    # removal commits only after n2 wins term 49 (~26 s); liveness took the last
    # membership event (25000 ms) as its quiet point and cried "no leader among n1, n3
    # within 600 ms" while the configuration was still changing. The driver now follows
    # an accepted change to its commit, and the quiet point waits for it.
    outcome = swept_run(LEASES, 739, tmp_path)
    events = read_events(tmp_path / "run" / "events.jsonl")
    removal = [
        (e["t"], e["result"])
        for e in events
        if e["kind"] == "membership" and e["op"] == "remove" and e["t"] >= 24999.0
    ]
    assert [result for _, result in removal] == ["requested", "accepted", "committed"]
    committed_ms = removal[-1][0]
    assert committed_ms > 26000.0
    liveness = outcome.checks["liveness"]
    assert liveness.status == "ok", liveness.summary
    assert liveness.details["quiet_from_ms"] >= committed_ms


def test_a_voter_waiting_for_its_repair_is_no_part_of_a_healthy_majority(tmp_path: Path) -> None:
    # nemesis-leases seed 277: n1 is removed at 2 s, leaving voters n2 and n3, and its
    # add-back waits for a leader for the rest of the run. n2's log is damaged (a
    # corrupted record, then more at each restart): it votes for nobody until a leader
    # repairs it (CTRL), and no leader can be elected without its vote. Once the open
    # add-back no longer hid the tail, liveness cried "no leader among n2, n3"; a server
    # awaiting repair is not running for liveness, so no healthy majority is left.
    outcome = swept_run(LEASES, 277, tmp_path)
    events = read_events(tmp_path / "run" / "events.jsonl")
    add_back = [e for e in events if e["kind"] == "membership" and e["op"] == "add"]
    assert add_back[-1]["result"] == "unfinished" and add_back[-1]["in_flight"] is False
    damaged = {e["node"] for e in events if e["kind"] == "disk.damage"}
    repaired = {e["node"] for e in events if e["kind"] == "raft.repaired" and e["t"] > 21000}
    assert "n2" in damaged and "n2" not in repaired
    liveness = outcome.checks["liveness"]
    assert liveness.status == "skipped", liveness.summary
    assert "n2 still wait(s) for a leader to repair" in liveness.summary


DEAFEN = SCENARIOS / "nemesis-all-deafen.yaml"


def test_a_removed_server_unaware_of_its_removal_may_keep_a_cluster_from_electing(
    tmp_path: Path,
) -> None:
    # nemesis-all seed 871 (three nodes, CheckQuorum without PreVote): n2 is removed at
    # 9 s while cut off, so it never learns of it, and its add-back waits for a leader to
    # the end. n2 stands for election every 150-165 ms in ever higher terms; with no
    # leader, CheckQuorum's stickiness guards nothing, and n1 and n3 never elect one.
    # Judged once the open add-back no longer hid the tail, it was a false alarm.
    outcome = swept_run(DEAFEN, 871, tmp_path)
    liveness = outcome.checks["liveness"]
    assert liveness.status == "skipped", liveness.summary
    assert "removed server(s) n2 still run and no leader was elected" in liveness.summary


def test_two_voters_without_prevote_are_given_rounds_for_the_shorter_log_standing_in_vain(
    tmp_path: Path,
) -> None:
    # nemesis-all seed 953 (CheckQuorum, no PreVote): after n1's removal commits at 2017
    # ms, voters n2 and n3 are left; n3 (the shorter log) stands at terms 2, 3 and 4, n2
    # refuses each and restarts its timer at each new term, and wins term 5 at 2730.9
    # ms, past the two rounds (600 ms) a fault-free window allowed.
    outcome = swept_run(DEAFEN, 953, tmp_path)
    events = read_events(tmp_path / "run" / "events.jsonl")
    stood = [
        (e["node"], e["term"], e["voted_for"])
        for e in events
        if e["kind"] == "raft.term" and 2017 < e["t"] < 2735
    ]
    assert [term for node, term, vote in stood if node == "n3" and vote == "n3"] == [2, 3, 4]
    liveness = outcome.checks["liveness"]
    assert liveness.status == "ok", liveness.summary


def test_servers_too_far_behind_to_win_are_given_the_rounds_they_waste_without_prevote(
    tmp_path: Path,
) -> None:
    # nemesis-all seed 74 (five nodes, CheckQuorum without PreVote): a chasing partition
    # isolated n5, then n4 at its first commit, then n3 at its election, each leaving a
    # tail the others lack; n5 also crashed. Healed at 9 s, n1 and n5 (behind) cannot
    # win, yet each stands (n5 at term 23, n1 at 24 and 25), restarting every timer;
    # n4 wins term 26 at 9831 ms, past the two rounds (600 ms) the fault-free window
    # from 9 s allowed. With two servers in five that cannot win, E allows 18 rounds.
    outcome = swept_run(CHASE, 74, tmp_path)
    events = read_events(tmp_path / "run" / "events.jsonl")
    stood = [
        (e["node"], e["term"])
        for e in events
        if e["kind"] == "raft.role" and e["role"] == "candidate" and 9000 < e["t"] < 9831
    ]
    assert ("n5", 23) in stood and ("n1", 24) in stood and ("n1", 25) in stood
    elected = [
        (e["t"], e["node"]) for e in events if e["kind"] == "raft.role" and e["role"] == "leader"
    ]
    assert next(at for at in elected if at[0] > 9000) == (9830.997, "n4")
    liveness = outcome.checks["liveness"]
    assert liveness.status == "ok", liveness.summary
