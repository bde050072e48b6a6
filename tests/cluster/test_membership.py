"""Membership changes end to end (Ongaro's thesis §4.1): faults add and remove servers one
at a time through the leader, under load, and the database keeps serving clients."""

from __future__ import annotations

from pathlib import Path

import pytest

from harmonysim.check.result import CheckStatus
from harmonysim.runner import run_scenario
from harmonysim.scenario import load_scenario, resolve

from .support import Run, run_text

SHIPPED = Path(__file__).resolve().parents[2] / "scenarios" / "membership.yaml"

GROW_AND_SHRINK = """
name: grow-and-shrink
duration: 9s
cluster:
  nodes: 5
  members: 3
  raft: {election_timeout: [150ms, 300ms], heartbeat_interval: 50ms, snapshot_threshold: 100}
network: {latency: {distribution: lognormal, mean: 5ms, p99: 30ms}, loss: 0.01}
workload: {clients: 6, rate: 200/s, mix: {get: 0.4, put: 0.5, cas: 0.1}}
faults:
  - {at: 2s, add: n4}
  - {at: 3s, remove: leader}
  - {at: 4s, remove: n2}
"""


def changes(run: Run) -> list[dict[str, object]]:
    return run.of("membership")


def committed(run: Run, op: str) -> list[dict[str, object]]:
    return [e for e in changes(run) if e["op"] == op and e["result"] == "committed"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_leader_removes_itself_keeps_leading_until_it_commits_then_steps_down(
    tmp_path: Path, seed: int
) -> None:
    # Thesis §4.2.2: a leader removed from the configuration manages the cluster until the
    # change commits (its log holds the new configuration, in which it does not count),
    # then steps down; the remaining members elect a leader among themselves.
    run = run_text(GROW_AND_SHRINK, tmp_path, seed=seed)
    proposed = next(
        e for e in changes(run) if e.get("ref") == "leader" and e["result"] == "proposed"
    )
    old = str(proposed["target"])
    assert proposed["leader"] == old
    done = next(e for e in committed(run, "remove") if e["target"] == old)
    assert old not in done["voters"]  # type: ignore[operator]
    roles = [e for e in run.of("raft.role", old) if e["t"] >= proposed["t"]]
    assert roles and roles[0]["role"] == "follower"
    assert roles[0]["t"] >= done["t"] - 1.0  # not before its removal commits
    assert all(e["role"] == "follower" for e in roles)  # and never leads again
    successors = [(t, node) for t, node, _ in run.leaders() if t > done["t"]]
    assert successors and all(node != old for _, node in successors)
    assert successors[0][0] - float(done["t"]) <= 2 * 300 + 50
    # It stops applying (nobody replicates to it) and sends clients elsewhere, naming
    # no leader: it cannot know the current one.
    last_apply = max(e["t"] for e in run.of("raft.apply", old))
    assert last_apply < successors[0][0]
    redirects = [e for e in run.of("client.redirect") if e["from"] == old and e["t"] > last_apply]
    assert redirects and all(e["hint"] is None for e in redirects)
    # Clients are served on: the run passes every check.
    assert run.outcome.summary["ops_ok"] > 900
    assert all(r.status is not CheckStatus.VIOLATION for r in run.outcome.checks.values())
    assert run.outcome.checks["liveness"].status is CheckStatus.OK
    expected = {"n1", "n2", "n3", "n4"} - {old, "n2"}
    assert set(run.outcome.summary["members"]) == expected
    # The replica check still compares it, where it stopped, and says it is outside.
    replicas = run.outcome.checks["btree_invariants"]
    assert replicas.status is CheckStatus.OK
    assert old in replicas.details["outside_configuration"]
    assert replicas.details["applied_index"][old] < replicas.details["applied_index"]["n4"]


def test_an_added_server_catches_up_by_snapshot_and_then_by_replication(tmp_path: Path) -> None:
    # §7 / thesis §4.2.1: the leader compacted its log long before n4 joined, so n4's first
    # state is an InstallSnapshot; the entries after it arrive by AppendEntries. All of it
    # before n4 joins the configuration: the leader catches it up first.
    run = run_text(GROW_AND_SHRINK, tmp_path, seed=4)
    added = committed(run, "add")[0]
    assert added["target"] == "n4"
    (requested,) = [e for e in changes(run) if e["op"] == "add" and e["result"] == "requested"]
    (proposed,) = [e for e in changes(run) if e["op"] == "add" and e["result"] == "proposed"]
    catching_up = [e for e in changes(run) if e["op"] == "add" and e["result"] == "waiting"]
    assert catching_up and "catching up" in str(catching_up[0]["reason"])
    assert not run.of("raft.role", "n4") or all(
        e["t"] > added["t"] for e in run.of("raft.role", "n4") if e["role"] != "follower"
    )
    before = [e for e in run.of("raft.apply", "n4") if e["t"] < requested["t"]]
    assert before == []  # a spare applies nothing before it is asked to join
    restores = run.of("raft.restore", "n4")
    assert restores, "n4 did not receive a snapshot"
    first = restores[0]
    assert first["index"] >= 100 and requested["t"] <= first["t"] < proposed["t"]
    applied = [e for e in run.of("raft.apply", "n4") if e["index"] > first["index"]]
    assert len(applied) > 200
    assert applied[0]["index"] == first["index"] + 1  # contiguous after the snapshot
    details = run.outcome.checks["btree_invariants"].details
    assert run.outcome.checks["btree_invariants"].status is CheckStatus.OK
    assert "n4" in details["configuration"]


def test_changes_wait_for_a_leader_and_for_each_other(tmp_path: Path) -> None:
    # Requests are served one at a time, in order; one made before any leader is elected
    # waits for it, and the core's one-change-at-a-time rule is never what refuses.
    text = GROW_AND_SHRINK.replace("{at: 2s, add: n4}", "{at: 10ms, add: n4}").replace(
        "{at: 4s, remove: n2}", "{at: 3s, add: n5}"
    )
    run = run_text(text, tmp_path, seed=2)
    first = changes(run)[:3]
    assert [e["result"] for e in first[:2]] == ["requested", "waiting"]
    assert first[1]["reason"] == "no leader"
    assert first[2]["result"] in ("waiting", "proposed")
    same_instant = [e for e in changes(run) if e["t"] == 3000.0]
    assert [e["result"] for e in same_instant][:3] == ["requested", "proposed", "requested"]
    assert same_instant[2]["queued"] == 1
    results = [(e["op"], e["target"], e["result"]) for e in changes(run)]
    assert results.count(("add", "n4", "committed")) == 1
    assert results.count(("add", "n5", "committed")) == 1
    assert run.outcome.summary["membership_changes"] == 3
    assert len(run.outcome.summary["members"]) == 4


def test_membership_runs_are_deterministic(tmp_path: Path) -> None:
    scenario = resolve(load_scenario(SHIPPED), seed=7)
    first = run_scenario(scenario, tmp_path / "a")
    second = run_scenario(scenario, tmp_path / "b")
    assert first.event_hash == second.event_hash and first.event_count == second.event_count
    assert (tmp_path / "a" / "events.jsonl").read_bytes() == (
        tmp_path / "b" / "events.jsonl"
    ).read_bytes()
    assert first.summary["members"] == second.summary["members"]
    other = run_scenario(resolve(scenario, seed=8), tmp_path / "c")
    assert other.event_hash != first.event_hash


MEMBERSHIP_NEMESIS = """
name: membership-nemesis
duration: 14s
cluster:
  nodes: 5
  raft: {snapshot_threshold: 200}
network: {latency: {distribution: lognormal, mean: 5ms, p99: 30ms}, loss: 0.01}
workload: {clients: 6, rate: 150/s, mix: {get: 0.4, put: 0.5, cas: 0.1}}
faults:
  - at: 1s
    nemesis: {kinds: [membership, crash], interval: 1s, until: 9s, overlap: 2, target_leader: 0.5}
"""


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_membership_nemesis_removes_voters_for_a_while_and_adds_them_back(
    tmp_path: Path, seed: int
) -> None:
    run = run_text(MEMBERSHIP_NEMESIS, tmp_path, seed=seed)
    requested = [e for e in changes(run) if e["result"] == "requested"]
    removes = [e["target"] for e in requested if e["op"] == "remove"]
    adds = [e["target"] for e in requested if e["op"] == "add"]
    assert removes and sorted(removes) == sorted(adds)  # every removal is undone
    assert committed(run, "remove")
    assert not [e for e in changes(run) if e["result"] == "unfinished"]
    final = committed(run, "add")[-1]
    assert final["voters"] == ["n1", "n2", "n3", "n4", "n5"]
    failed = [name for name, c in run.outcome.checks.items() if c.status is not CheckStatus.OK]
    assert failed == []


CONCURRENT_REMOVALS = """
name: concurrent-removals
duration: 14s
cluster:
  nodes: 5
network: {latency: {distribution: lognormal, mean: 5ms, p99: 30ms}}
workload: {clients: 4, rate: 100/s, mix: {get: 0.5, put: 0.5}}
faults:
  - at: 1s
    nemesis: {kinds: [membership], interval: 500ms, until: 9s, overlap: 3}
"""


def test_the_membership_nemesis_holds_up_to_a_minority_of_removals_at_once(
    tmp_path: Path,
) -> None:
    # Five voters: two removals may hold at once (three would leave no majority of the
    # initial voters), never the same voter twice, and each is added back.
    run = run_text(CONCURRENT_REMOVALS, tmp_path, seed=1)
    outstanding: list[str] = []
    most = 0
    for event in changes(run):
        if event["result"] != "requested":
            continue
        if event["op"] == "remove":
            assert event["target"] not in outstanding
            outstanding.append(event["target"])
        else:
            outstanding.remove(event["target"])
        most = max(most, len(outstanding))
    assert most == 2
    assert outstanding == []
    failed = [name for name, c in run.outcome.checks.items() if c.status is not CheckStatus.OK]
    assert failed == []


IMPATIENT_NEMESIS = """
name: impatient-membership-nemesis
duration: 12s
cluster:
  nodes: 3
  membership: {wait: accepted}
network: {latency: {distribution: lognormal, mean: 5ms, p99: 30ms}, loss: 0.01}
workload: {clients: 4, rate: 100/s, mix: {get: 0.5, put: 0.5}}
faults:
  - at: 1s
    nemesis:
      kinds: [membership, crash, partition]
      interval: 500ms
      until: 10s
      overlap: 3
      target_leader: 0.5
      chain: 0.5
"""


@pytest.mark.parametrize("seed", [1, 6, 7])
def test_the_membership_nemesis_bounds_removals_by_the_configuration_as_it_is(
    tmp_path: Path, seed: int
) -> None:
    # An operator that does not wait for commits: an add-back the leader refuses leaves
    # its voter out. The nemesis used to count it back as soon as it asked, remove
    # another voter, and shrink three voters to one (at each of these seeds), past the
    # minority it may hold out: a cluster no fault model promises to keep alive. Every
    # configuration any server holds keeps a majority of the initial voters.
    run = run_text(IMPATIENT_NEMESIS, tmp_path, seed=seed)
    configurations = run.of("raft.config")
    assert configurations
    assert min(len(e["voters"]) for e in configurations) >= 2  # type: ignore[arg-type]
    failed = [name for name, c in run.outcome.checks.items() if c.status is not CheckStatus.OK]
    assert failed == []


def test_a_refused_add_back_is_asked_again_while_the_nemesis_runs(tmp_path: Path) -> None:
    # Seed 7: the add-back of n1 is refused at 7.7s (the leader has not committed an
    # entry of its term); the nemesis asks again a second later, as an operator's
    # script that reconciles the membership it wants would.
    run = run_text(IMPATIENT_NEMESIS, tmp_path, seed=7)
    adds = [e for e in changes(run) if e["op"] == "add" and e["target"] == "n1"]
    refused = [e for e in adds if e["result"] == "refused"]
    assert refused and refused[0]["t"] == 7700.0
    again = [e for e in adds if e["result"] == "requested" and e["t"] > 7700.0]  # type: ignore[operator]
    assert again and again[0]["t"] == 8700.0


IMPATIENT = """
name: impatient-operator
duration: 5s
cluster:
  nodes: 5
  membership: {wait: accepted}
network: {latency: {distribution: lognormal, mean: 5ms, p99: 30ms}}
workload: {clients: 4, rate: 100/s, mix: {get: 0.5, put: 0.5}}
faults:
  - {at: 2s, remove: n5}
  - {at: 2s, remove: n4}
  - {at: 3s, remove: n3}
  - {at: 3500ms, add: n5}
"""


def test_an_operator_that_does_not_wait_moves_on_once_a_leader_accepts(tmp_path: Path) -> None:
    # `cluster.membership.wait: accepted` (Jepsen's membership nemesis): a request ends
    # `accepted` when a leader took the proposal, and the next one is asked at once; the
    # core's one-change rule refuses it while the first is uncommitted, and the refusal
    # ends that request. A server to be added is still caught up first (thesis §4.2.1).
    run = run_text(IMPATIENT, tmp_path, seed=1)
    results = [(e["t"], e["op"], e["target"], e["result"]) for e in changes(run)]
    assert results[:4] == [
        (2000.0, "remove", "n5", "requested"),
        (2000.0, "remove", "n5", "accepted"),
        (2000.0, "remove", "n4", "requested"),
        (2000.0, "remove", "n4", "refused"),
    ]
    refused = changes(run)[3]
    assert refused["reason"] == "another change is not committed yet"
    asked = [r[1:] for r in results if r[0] >= 3000.0 and r[3] != "committed"]
    assert asked == [
        ("remove", "n3", "requested"),
        ("remove", "n3", "accepted"),
        ("add", "n5", "requested"),
        ("add", "n5", "waiting"),
        ("add", "n5", "accepted"),
    ]
    assert [e for e in changes(run) if e["result"] == "waiting"][-1]["reason"].startswith(
        "catching up"
    )
    assert "proposed" not in [r[3] for r in results]  # nobody waited for a commit
    assert run.outcome.summary["members"] == ["n1", "n2", "n4", "n5"]
    assert all(r.status is not CheckStatus.VIOLATION for r in run.outcome.checks.values())


def test_an_accepted_change_is_followed_to_its_commit(tmp_path: Path) -> None:
    # The operator moved on, but the change is still in flight: the record says when
    # the configuration really changed (a `committed` of the same change, with its
    # index and the voters), so the fold and liveness know the change is over.
    run = run_text(IMPATIENT, tmp_path, seed=1)
    accepted = [e for e in changes(run) if e["result"] == "accepted"]
    committed = [e for e in changes(run) if e["result"] == "committed"]
    assert [(e["target"], e["index"]) for e in committed] == [
        (e["target"], e["index"]) for e in accepted
    ]
    for before, after in zip(accepted, committed, strict=True):
        assert before["t"] <= after["t"] < before["t"] + 100.0
    assert committed[-1]["voters"] == ["n1", "n2", "n4", "n5"]
    assert run.outcome.summary["members"] == ["n1", "n2", "n4", "n5"]


LOST = """
name: lost-change
duration: 6s
cluster:
  nodes: 5
  membership: {wait: accepted}
network: {latency: {distribution: lognormal, mean: 5ms, p99: 30ms}}
workload: {clients: 4, rate: 100/s, mix: {get: 0.5, put: 0.5}}
faults:
  - {at: 2s, remove: n5}
  - {at: 2s, partition: {isolate: leader}, for: 2s}
"""


def test_an_accepted_change_truncated_with_its_leader_is_lost(tmp_path: Path) -> None:
    # The leader took the removal and was cut off at once: its entry never left it, the
    # majority elected another leader, whose no-op committed at that index (§5.3). The
    # change is `lost`, and the configuration stays whole.
    run = run_text(LOST, tmp_path, seed=1)
    results = [(e["t"], e["result"]) for e in changes(run)]
    assert [r for _, r in results] == ["requested", "accepted", "lost"]
    accepted, lost = changes(run)[1], changes(run)[2]
    assert lost["index"] == accepted["index"] and lost["term"] == accepted["term"]
    assert 2000.0 < lost["t"] < 3000.0
    assert run.outcome.summary["members"] == ["n1", "n2", "n3", "n4", "n5"]
    assert all(r.status is not CheckStatus.VIOLATION for r in run.outcome.checks.values())


STUCK_REMOVAL = """
name: stuck-removal
duration: 4s
cluster:
  nodes: 3
  raft: {election_timeout: [150ms, 300ms], heartbeat_interval: 50ms, check_quorum: false}
network: {latency: {distribution: constant, value: 2ms}}
workload: {clients: 2, rate: 50/s, mix: {get: 0.5, put: 0.5}}
faults:
  - {at: 1s, pause: n2, for: 2s}
  - {at: 1s, pause: n3, for: 2s}
  - {at: 1100ms, remove: n3}
"""


def test_a_change_waiting_to_commit_is_retried_once_per_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The operator retries an open request once per heartbeat interval. A change that
    # waits long to commit used to schedule two retries per attempt: their number doubled
    # every interval (2^40 after two seconds), and a sweep's run never ended.
    from harmonysim.cluster.membership import MembershipDriver

    original = MembershipDriver._attempt
    attempts: list[float] = []

    def attempt(self: MembershipDriver, request: object) -> None:
        attempts.append(self.world.env.now)
        if len(attempts) > 10_000:
            raise RuntimeError("the operator's retries multiply")
        original(self, request)  # type: ignore[arg-type]

    monkeypatch.setattr(MembershipDriver, "_attempt", attempt)
    run = run_text(STUCK_REMOVAL, tmp_path, seed=1)
    waits = [e for e in changes(run) if e["result"] == "waiting"]
    assert [e["reason"] for e in waits] == ["the change is not committed yet"]
    # Two seconds of waiting at a 50 ms interval: about 40 attempts, not thousands.
    assert 30 <= len(attempts) <= 60
    assert committed(run, "remove")


NEVER_CAUGHT_UP = """
name: never-caught-up
duration: 8s
cluster: {nodes: 4, members: 3}
network: {latency: {distribution: lognormal, mean: 5ms, p99: 30ms}}
workload: {clients: 4, rate: 100/s, mix: {get: 0.5, put: 0.5}}
faults:
  - {at: 1s, crash: n4}
  - {at: 2s, add: n4}
"""


def test_a_request_open_at_the_end_says_whether_a_change_is_in_flight(tmp_path: Path) -> None:
    # The spare is down, so it never catches up and no leader takes the add: the request
    # is open at the end with nothing in flight, and liveness is judged from when it was
    # asked for (before, the end of the run was its quiet point: nothing was judged).
    run = run_text(NEVER_CAUGHT_UP, tmp_path, seed=1)
    last = changes(run)[-1]
    assert last["result"] == "unfinished"
    assert last["in_flight"] is False and last["since"] == 2000.0
    liveness = run.outcome.checks["liveness"]
    assert liveness.status is CheckStatus.OK, liveness.summary
    assert liveness.details["quiet_from_ms"] == 2000.0


STRANDING = """
name: stranding
duration: 12s
cluster:
  nodes: 5
  membership: {wait: accepted}
network: {latency: {distribution: lognormal, mean: 5ms, p99: 30ms}}
workload: {clients: 4, rate: 100/s, mix: {get: 0.5, put: 0.5}}
faults:
  - at: 1s
    nemesis: {kinds: [partition, membership], interval: 1s, until: 9s, chain: 1.0, strand: 1.0}
"""


def test_a_removal_chained_to_a_stranded_leader_removes_the_servers_it_lost(
    tmp_path: Path,
) -> None:
    # Every partition strands the leader with one other server; a removal chained to it
    # asks that leader, at once, to remove the servers across the cut (while fewer than
    # two are out: a third would leave no majority of the initial voters), and each is
    # added back.
    run = run_text(STRANDING, tmp_path, seed=1)
    events = run.events
    strands = [e for e in events if e["kind"] == "net.partition" and "stranded" in e]
    assert strands
    cleanups = 0
    for strand in strands:
        minority, majority = strand["groups"]
        assert strand["stranded"] in minority and len(minority) == 2 and len(majority) == 3
        later = events[events.index(strand) + 1 :]
        chained = next((e for e in later if e["kind"] == "nemesis"), None)
        if chained is None or chained.get("fault") != "membership":
            continue
        asked = later[later.index(chained) + 1 :]
        removals = [e for e in asked if e["kind"] == "membership" and e["result"] == "requested"]
        removals = [e for e in removals if e["op"] == "remove" and e["t"] == chained["t"]]
        # Each server across the cut is asked for while fewer than two are out: the
        # correct leader refuses all but the first (one change at a time), so all three.
        assert len(removals) >= 2, removals
        assert {e["target"] for e in removals} <= set(majority)
        cleanups += 1
    assert cleanups
    requested = [e for e in changes(run) if e["result"] == "requested"]
    removes = sorted(e["target"] for e in requested if e["op"] == "remove")
    assert removes == sorted(e["target"] for e in requested if e["op"] == "add")
    failed = [name for name, c in run.outcome.checks.items() if c.status is not CheckStatus.OK]
    assert failed == []


def test_the_stranded_leader_takes_both_removals_only_with_the_bug(tmp_path: Path) -> None:
    # RedisLabs/redisraft#17 as the stranding nemesis meets it: the correct leader refuses
    # the second removal while the first is uncommitted; with the bug it shrinks its
    # configuration to the three servers it still counts and commits beside the
    # majority's leader, which raft_safety sees.
    clean = run_text(STRANDING, tmp_path / "clean", seed=1)
    refused = [e for e in changes(clean) if e["result"] == "refused"]
    assert any("another change" in str(e.get("reason")) for e in refused)
    buggy = run_text(STRANDING, tmp_path / "bug", seed=1, bugs=["removal_while_change_pending"])
    assert buggy.outcome.checks["raft_safety"].status is CheckStatus.VIOLATION
