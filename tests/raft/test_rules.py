"""One test per rule of the Raft paper (Ongaro & Ousterhout, extended version) and thesis.

Test names start with the section they check (``test_5_2_...`` is §5.2). Single-node tests
step crafted messages into a standalone ``RaftNode``; cluster tests use the harness, whose
safety checker runs on every Ready.
"""

from __future__ import annotations

import random

import pytest

from harmonysim.raft import (
    AppendEntries,
    AppendEntriesResponse,
    Entry,
    EntryKind,
    HardState,
    LogError,
    RaftConfig,
    RaftLog,
    RaftNode,
    RequestVote,
    RequestVoteResponse,
    Role,
)

from .harness import Cluster, ScriptedRand, between, drain, elect, make_config, sent, to

ABC = ("a", "b", "c")


def entries(*terms: int, start: int = 1) -> tuple[Entry, ...]:
    return tuple(
        Entry(term, index, EntryKind.NORMAL, f"x{index}.{term}")
        for index, term in enumerate(terms, start=start)
    )


def follower(
    log_terms: tuple[int, ...] = (),
    *,
    term: int | None = None,
    commit: int = 0,
    voted_for: str | None = None,
    **overrides: object,
) -> RaftNode:
    """Node "b" of a 3-node cluster, restarted from a disk holding the given log."""
    log = entries(*log_terms)
    current = term if term is not None else (log[-1].term if log else 0)
    node = RaftNode(
        make_config("b", ABC, **overrides),
        ScriptedRand([15]),
        hard_state=HardState(current, voted_for, commit),
        entries=log,
    )
    drain(node)
    return node


def append(
    term: int,
    prev: tuple[int, int],
    new: tuple[Entry, ...] = (),
    commit: int = 0,
    src: str = "a",
) -> AppendEntries:
    return AppendEntries(src, "b", term, prev[0], prev[1], new, commit, 0)


def only(messages: list[object], kind: type) -> list[object]:
    return [msg for msg in messages if isinstance(msg, kind)]


def three(**config: object) -> Cluster:
    rands = {"n1": ScriptedRand([10]), "n2": ScriptedRand([17]), "n3": ScriptedRand([19])}
    return Cluster(["n1", "n2", "n3"], rands=rands, **config)  # type: ignore[arg-type]


# ============================================================== §5.1 terms


def test_5_1_higher_term_turns_leader_into_follower() -> None:
    cluster = three(check_quorum=False)
    leader = elect(cluster, "n1")
    leader.step(RequestVote("n3", "n1", 7, False, 0, 0))
    assert leader.role is Role.FOLLOWER
    assert leader.term == 7
    assert leader.leader is None


def test_5_1_stale_request_is_rejected_with_current_term() -> None:
    node = follower((1, 2), term=3)
    node.step(append(2, (2, 2), entries(2, start=3)))
    replies = sent(drain(node))
    assert replies == [AppendEntriesResponse("b", "a", 3, False, 0, 0, 0, 0, 0)]
    assert node.last_index == 2
    node.step(RequestVote("c", "b", 2, False, 9, 2))
    assert sent(drain(node)) == [RequestVoteResponse("b", "c", 3, False, False)]
    assert node.voted_for is None


def test_5_1_stale_response_is_ignored() -> None:
    cluster = three()
    leader = elect(cluster, "n1")
    before = leader.progress()
    leader.step(AppendEntriesResponse("n2", "n1", 0, True, 1, 0, 0, 0))
    assert leader.progress() == before
    assert leader.role is Role.LEADER


# ============================================================== §5.2 leader election


def test_5_2_follower_times_out_into_candidate_within_drawn_timeout() -> None:
    node = RaftNode(make_config("b", ABC, prevote=False), ScriptedRand([13]))
    for _ in range(12):
        node.tick()
    assert node.role is Role.FOLLOWER
    node.tick()
    assert node.role is Role.CANDIDATE
    assert node.term == 1


def test_5_2_candidate_votes_for_itself_and_persists_it_before_asking() -> None:
    node = RaftNode(make_config("b", ABC, prevote=False), ScriptedRand([10]))
    for _ in range(10):
        node.tick()
    [ready] = drain(node)
    assert ready.hard_state == HardState(1, "b", 0)
    assert ready.must_sync
    assert ready.messages == (
        RequestVote("b", "a", 1, False, 0, 0),
        RequestVote("b", "c", 1, False, 0, 0),
    )


def test_5_2_election_timeout_is_redrawn_whenever_the_timer_resets() -> None:
    rand = ScriptedRand([20, 11])
    node = RaftNode(make_config("b", ABC, prevote=False), rand)
    assert rand.draws == 1
    for _ in range(5):
        node.tick()
    node.step(append(1, (0, 0)))  # hearing from a leader resets the timer: new draw (11)
    assert rand.draws == 2
    for _ in range(10):
        node.tick()
    assert node.role is Role.FOLLOWER
    node.tick()
    assert node.role is Role.CANDIDATE


def test_5_2_timeouts_are_drawn_from_the_configured_range() -> None:
    calls: list[tuple[int, int]] = []

    class Recording(random.Random):
        def randint(self, a: int, b: int) -> int:
            calls.append((a, b))
            return super().randint(a, b)

    node = RaftNode(make_config("b", ABC), Recording(5))
    node.campaign()
    assert len(calls) == 2 and set(calls) == {(10, 20)}  # start, then becoming pre-candidate


def test_5_2_one_vote_per_term() -> None:
    node = follower()
    node.step(RequestVote("a", "b", 1, False, 0, 0))
    node.step(RequestVote("c", "b", 1, False, 0, 0))
    node.step(RequestVote("a", "b", 1, False, 0, 0))  # a retransmission is granted again
    granted = [msg.granted for msg in only(sent(drain(node)), RequestVoteResponse)]  # type: ignore[attr-defined]
    assert granted == [True, False, True]
    assert node.voted_for == "a"


def test_5_2_vote_is_durable_before_the_response_is_sent() -> None:
    node = follower()
    node.step(RequestVote("a", "b", 4, False, 0, 0))
    ready = node.ready()
    assert ready.messages == (RequestVoteResponse("b", "a", 4, False, True),)
    assert ready.hard_state == HardState(4, "a", 0)
    assert ready.must_sync


def test_5_2_granting_a_vote_resets_the_election_timer() -> None:
    node = follower(prevote=False)
    for _ in range(14):
        node.tick()
    node.step(RequestVote("a", "b", 1, False, 0, 0))
    for _ in range(14):
        node.tick()
    assert node.role is Role.FOLLOWER


def test_5_2_candidate_needs_a_majority() -> None:
    ids = ["n1", "n2", "n3", "n4", "n5"]
    cluster = Cluster(ids, prevote=False)
    cluster.campaign("n1")
    cluster.deliver(to("n2"))
    cluster.drop(to("n3", "n4", "n5"))
    cluster.deliver()
    assert cluster.node("n1").role is Role.CANDIDATE  # 2 of 5 votes
    cluster.campaign("n1")
    cluster.deliver(to("n2", "n3"))
    cluster.drop(to("n4", "n5"))
    cluster.deliver(to("n1"))
    assert cluster.node("n1").role is Role.LEADER  # 3 of 5 votes
    assert cluster.node("n1").term == 2


def test_5_2_candidate_steps_down_for_a_leader_of_its_term() -> None:
    node = follower(prevote=False)
    node.campaign()
    assert node.role is Role.CANDIDATE
    node.step(append(1, (0, 0), src="c"))
    assert node.role is Role.FOLLOWER
    assert node.leader == "c"
    assert node.voted_for == "b"


def test_5_2_leader_sends_heartbeats_every_interval() -> None:
    cluster = three()
    elect(cluster, "n1")
    cluster.network.clear()
    heartbeats = []
    for _ in range(9):
        cluster.tick("n1")
        heartbeats.append(len([m for m in cluster.network if isinstance(m, AppendEntries)]))
        cluster.deliver()
    assert heartbeats == [0, 0, 2, 0, 0, 2, 0, 0, 2]


def test_5_2_split_vote_is_resolved_by_a_later_election() -> None:
    cluster = Cluster(["n1", "n2", "n3", "n4"], prevote=False, seed=11)
    cluster.campaign("n1")
    cluster.campaign("n2")
    cluster.deliver(lambda m: (m.src, m.dst) in {("n1", "n3"), ("n2", "n4")})
    cluster.deliver()
    assert {cluster.node(i).role for i in ("n1", "n2")} == {Role.CANDIDATE}
    assert cluster.leader() is None
    for _ in range(100):
        cluster.tick_all()
        cluster.deliver()
        if cluster.leader() is not None:
            break
    leader = cluster.leader()
    assert leader is not None
    assert cluster.node(leader).term >= 2


# ============================================================== §5.3 log replication


def test_5_3_follower_rejects_mismatched_prev_log_with_conflict_hint() -> None:
    node = follower((1, 1, 2, 2, 2))
    node.step(append(3, (5, 3)))
    [reply] = sent(drain(node))
    assert reply == AppendEntriesResponse(
        "b", "a", 3, False, 0, conflict_index=3, conflict_term=2, read_round=0, rejected_index=5
    )
    assert node.last_index == 5


def test_5_3_follower_with_short_log_hints_its_length() -> None:
    node = follower((1, 1))
    node.step(append(2, (6, 2)))
    [reply] = sent(drain(node))
    assert isinstance(reply, AppendEntriesResponse)
    assert (reply.success, reply.conflict_index, reply.conflict_term) == (False, 3, 0)


def test_5_3_conflicting_entries_and_all_after_them_are_deleted() -> None:
    node = follower((1, 1, 2, 2, 2))
    node.step(append(3, (2, 1), entries(3, start=3)))
    [ready] = drain(node)
    assert node.entries(1, node.last_index) == (*entries(1, 1), *entries(3, start=3))
    assert ready.entries == entries(3, start=3)  # the server truncates its disk from 3
    assert ready.messages == (AppendEntriesResponse("b", "a", 3, True, 3, 0, 0, 0),)


def test_5_3_existing_matching_entries_are_kept() -> None:
    node = follower((1, 1, 1, 1))
    node.step(append(1, (1, 1), entries(1, start=2)))  # a delayed, shorter copy
    assert node.last_index == 4
    [reply] = sent(drain(node))
    assert isinstance(reply, AppendEntriesResponse) and reply.match_index == 2


def test_5_3_follower_commit_is_min_of_leader_commit_and_last_new_entry() -> None:
    node = follower((1, 1, 1, 1, 1))
    node.step(append(1, (2, 1), commit=5))
    assert node.commit_index == 2  # entries 3..5 were not vouched for by this message
    node.step(append(1, (4, 1), entries(1, start=5), commit=3))
    assert node.commit_index == 3


def test_5_3_followers_learn_the_commit_index_from_later_append_entries() -> None:
    """§5.3: "the leader ... includes [commitIndex] in future AppendEntries RPCs (including
    heartbeats)". Committing sends no message of its own; the next heartbeat carries it."""
    cluster = three()
    elect(cluster, "n1")
    cluster.settle(ticks=3)
    cluster.propose("n1", "x")
    cluster.deliver()
    leader = cluster.node("n1")
    assert leader.commit_index == leader.last_index
    assert cluster.network == []  # the commit itself was not broadcast
    assert all(cluster.node(f).commit_index < leader.commit_index for f in ("n2", "n3"))
    for _ in range(3):
        cluster.tick("n1")
    beats = [m for m in cluster.network if isinstance(m, AppendEntries)]
    assert [(m.dst, m.leader_commit) for m in beats] == [
        ("n2", leader.commit_index),
        ("n3", leader.commit_index),
    ]
    cluster.deliver()
    assert all(cluster.node(f).commit_index == leader.commit_index for f in ("n2", "n3"))


def test_5_3_committed_entries_are_never_truncated() -> None:
    node = follower((1, 1, 1), commit=3)
    node.step(append(2, (1, 1), entries(2, 2, start=2)))  # would conflict below commit
    assert node.entries(1, 3) == entries(1, 1, 1)
    [reply] = sent(drain(node))
    assert isinstance(reply, AppendEntriesResponse) and (reply.success, reply.match_index) == (
        True,
        3,
    )
    log = RaftLog(None, entries(1, 1, 1))
    log.commit_to(3)
    with pytest.raises(LogError):
        log.truncate_after(2)


def test_5_3_leader_backs_up_in_few_round_trips() -> None:
    cluster = Cluster(["n1", "n2", "n3"], prevote=False)
    cluster.transcript = []
    cluster.load("n1", (1, 1, 1, 4, 4, 5, 5, 6, 6, 6), term=7)
    cluster.load("n2", (1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3), term=3)
    cluster.load("n3", (1, 1, 1, 4, 4, 5, 5, 6, 6, 6), term=7)
    cluster.campaign("n1")
    cluster.deliver()
    rejections = [
        line for line in cluster.transcript if "n2->n1 AppResp" in line and "reject" in line
    ]
    # Term 3 then term 2 are skipped whole: two rejections, not one per entry (eight).
    assert len(rejections) == 2
    assert cluster.node("n2").entries(1, 11) == cluster.node("n1").entries(1, 11)


# ============================================================== §5.4 safety


@pytest.mark.parametrize(
    ("candidate_last", "granted"),
    [((2, 2), False), ((4, 1), False), ((2, 3), True), ((3, 2), True), ((4, 2), True)],
)
def test_5_4_1_vote_only_for_an_up_to_date_log(
    candidate_last: tuple[int, int], granted: bool
) -> None:
    node = follower((1, 2, 2))  # last entry 3@2
    index, term = candidate_last
    node.step(RequestVote("a", "b", 5, False, index, term))
    [reply] = sent(drain(node))
    assert reply == RequestVoteResponse("b", "a", 5, False, granted)


def test_5_4_1_vote_denied_to_stale_log_in_a_cluster() -> None:
    cluster = three(prevote=False)
    elect(cluster, "n1")
    cluster.isolate("n3")
    cluster.propose("n1", "x")
    cluster.deliver()
    cluster.heal()
    cluster.crash("n1")
    cluster.tick_all(10)  # n2 no longer hears from a leader, but has not timed out (17)
    cluster.campaign("n3")
    cluster.deliver()
    assert cluster.node("n3").role is not Role.LEADER
    assert cluster.node("n2").term == 2  # it learned the term but refused the vote
    assert cluster.node("n2").voted_for is None


def test_5_4_2_leader_commits_only_entries_of_its_own_term_by_counting() -> None:
    cluster = three(prevote=False, max_entries_per_append=1)
    cluster.load("n1", (1, 2), term=3, commit=1)
    cluster.load("n2", (1,), term=3, commit=1)
    cluster.load("n3", (1,), term=3, commit=1)
    cluster.campaign("n1")
    cluster.deliver(lambda m: not isinstance(m, AppendEntries))  # votes only
    leader = cluster.node("n1")
    assert leader.role is Role.LEADER and (leader.term, leader.last_index) == (4, 3)
    cluster.drop(to("n3"))
    while leader.progress()["n2"][0] < 2:  # one entry per message: 2@2 reaches n2 first
        cluster.deliver_at(next(n for n, m in enumerate(cluster.network) if m.dst != "n3"))
    # 2@2 is now on a majority (n1, n2), but it is not of the leader's term: no commit.
    assert leader.commit_index == 1
    cluster.deliver(between("n1", "n2"))  # the NOOP 3@4 reaches n2: 2 commits with it
    assert leader.commit_index == 3


def test_5_4_3_new_leader_holds_every_committed_entry() -> None:
    cluster = Cluster(["n1", "n2", "n3", "n4", "n5"], seed=4)
    elect(cluster, "n1")
    for n in range(5):
        cluster.propose("n1", f"v{n}")
    cluster.deliver()
    committed = cluster.node("n1").commit_index
    cluster.crash("n1")
    cluster.settle(ticks=80)
    new_leader = cluster.leader()
    assert new_leader is not None and new_leader != "n1"
    assert cluster.node(new_leader).entries(1, committed) == cluster.node("n2").entries(
        1, committed
    )
    cluster.check_safety()


# ============================================================== §5.5 and restarts


def test_5_5_append_entries_is_idempotent() -> None:
    node = follower((1,))
    msg = append(1, (1, 1), entries(1, 1, start=2), commit=2)
    node.step(msg)
    node.step(msg)
    assert node.entries(1, 3) == entries(1, 1, 1)
    # The copy now lies below the commit index: acknowledged as matching up to commit.
    assert [r.match_index for r in only(sent(drain(node)), AppendEntriesResponse)] == [3, 2]  # type: ignore[attr-defined]


def test_restarted_node_recovers_term_vote_and_log_from_its_disk_alone() -> None:
    cluster = three(prevote=False)
    elect(cluster, "n1")
    cluster.propose("n1", "x")
    cluster.deliver()
    before = cluster.node("n3").status()
    cluster.crash("n3")
    restarted = cluster.restart("n3")
    assert (restarted.term, restarted.voted_for) == (before.term, "n1")
    assert restarted.entries(1, 2) == cluster.node("n1").entries(1, 2)
    assert restarted.commit_index == before.commit_index
    assert before.commit_index >= 1
    assert cluster.state_machines["n3"] == list(cluster.node("n1").entries(1, before.commit_index))
    # The persisted vote holds: another candidate of the same term is refused.
    restarted.step(RequestVote("n2", "n3", before.term, False, 9, before.term))
    cluster.process("n3")
    reply = cluster.network[-1]
    assert reply == RequestVoteResponse("n3", "n2", before.term, False, False)


# ============================================================== §6.2, §9.6: PreVote, CheckQuorum


def test_9_6_prevote_does_not_change_the_term() -> None:
    node = follower(term=4)
    node.campaign()
    [ready] = drain(node)
    assert node.role is Role.PRE_CANDIDATE
    assert node.term == 4 and ready.hard_state is None
    assert only(list(ready.messages), RequestVote) == [
        RequestVote("b", "a", 5, True, 0, 0),
        RequestVote("b", "c", 5, True, 0, 0),
    ]


def test_9_6_prevote_granted_only_without_a_recent_leader() -> None:
    node = follower(term=1, check_quorum=False)
    node.step(append(1, (0, 0)))
    node.step(RequestVote("c", "b", 2, True, 0, 0))
    for _ in range(10):
        node.tick()
    node.step(RequestVote("c", "b", 2, True, 0, 0))
    replies = only(sent(drain(node)), RequestVoteResponse)
    assert replies == [
        RequestVoteResponse("b", "c", 1, True, False),
        RequestVoteResponse("b", "c", 2, True, True),
    ]
    assert node.term == 1 and node.voted_for is None


def test_9_6_prevote_quorum_leads_to_a_real_election() -> None:
    cluster = three()
    cluster.campaign("n1")
    cluster.deliver(lambda m: isinstance(m, RequestVote | RequestVoteResponse) and m.term == 1)
    assert cluster.node("n1").role in (Role.CANDIDATE, Role.LEADER)
    assert cluster.node("n1").term == 1


def test_9_6_partitioned_node_rejoins_without_deposing_the_leader() -> None:
    cluster = three()
    elect(cluster, "n1")
    cluster.isolate("n3")
    for _ in range(100):
        cluster.tick_all()
        cluster.deliver()
    assert cluster.node("n3").term == 1  # pre-campaigns never raised its term
    cluster.heal()
    cluster.settle(ticks=40)
    assert cluster.leader() == "n1"
    assert {cluster.node(i).term for i in cluster.ids} == {1}


def test_6_2_check_quorum_leader_steps_down_without_a_majority() -> None:
    cluster = three()
    leader = elect(cluster, "n1")
    cluster.isolate("n1")
    for _ in range(9):
        cluster.tick("n1")
        cluster.deliver()
    assert leader.role is Role.LEADER
    for _ in range(11):
        cluster.tick("n1")
    assert leader.role is Role.FOLLOWER
    assert leader.term == 1


def test_6_2_follower_ignores_vote_requests_while_its_leader_is_alive() -> None:
    node = follower(term=1)
    node.step(append(1, (0, 0)))
    node.step(RequestVote("c", "b", 5, False, 0, 0))
    assert node.term == 1
    assert sent(drain(node)) == [AppendEntriesResponse("b", "a", 1, True, 0, 0, 0, 0)]


# ============================================================== §8: NOOP, ReadIndex


def test_8_new_leader_appends_a_noop_of_its_term() -> None:
    cluster = three()
    leader = elect(cluster, "n1")
    assert leader.entries(1, 1) == (Entry(1, 1, EntryKind.NOOP, None),)


def test_8_without_the_noop_prior_term_entries_wait_for_a_current_term_entry() -> None:
    # leader_noop off (the scenario switch behind leader-churn.yaml): a new leader
    # appends nothing on election, and an entry of an earlier term commits only once an
    # entry of the leader's own term does (§5.4.2), however many replicas hold it.
    cluster = three(leader_noop=False)
    elect(cluster, "n1")
    assert cluster.node("n1").last_index == 0  # no NOOP
    cluster.propose("n1", "x")
    cluster.deliver(lambda m: m.src == "n1" and m.dst == "n2")  # x@1 reaches n2 only
    cluster.drop(quiet=True)  # and n1 never hears back
    cluster.isolate("n1")
    for _ in range(40):
        cluster.tick("n2")
        cluster.tick("n3")
        cluster.deliver()
        if cluster.node("n2").role is Role.LEADER:
            break
    leader = cluster.node("n2")
    assert leader.role is Role.LEADER and leader.term >= 2
    assert leader.last_index == 1 and leader.term_at(1) == 1  # x, of term 1; no NOOP
    cluster.tick("n2", 5)
    cluster.deliver()
    assert cluster.node("n3").last_index == 1  # x is now on a majority...
    assert leader.commit_index == 0  # ...but not committed: it is not of this term
    cluster.propose("n2", "y")
    cluster.deliver()
    assert leader.commit_index == 2  # y (this term) commits, and x with it


def test_8_read_index_waits_for_the_heartbeat_round() -> None:
    cluster = three()
    elect(cluster, "n1")
    cluster.propose("n1", "x")
    cluster.deliver()
    assert cluster.read_index("n1", "r1")
    assert cluster.read_states["n1"] == []  # not before a majority confirms leadership
    heartbeats = [m for m in cluster.network if isinstance(m, AppendEntries)]
    assert [m.dst for m in heartbeats] == ["n2", "n3"]
    cluster.deliver(to("n2"))
    cluster.drop(to("n3"))
    cluster.deliver(to("n1"))
    [(read_state, _)] = cluster.read_states["n1"]
    assert (read_state.request_id, read_state.index) == ("r1", 2)


def test_8_read_index_waits_for_a_commit_in_the_leaders_term() -> None:
    cluster = three()
    cluster.campaign("n1")
    cluster.deliver(lambda m: not isinstance(m, AppendEntries | AppendEntriesResponse))
    assert cluster.node("n1").role is Role.LEADER and cluster.node("n1").commit_index == 0
    assert cluster.read_index("n1", "r1")
    cluster.deliver(lambda m: isinstance(m, AppendEntries) and m.read_round > 0)
    cluster.deliver(lambda m: isinstance(m, AppendEntriesResponse) and m.match_index == 0)
    assert cluster.read_states["n1"] == []  # leadership confirmed, but NOOP uncommitted
    cluster.deliver()
    [(read_state, _)] = cluster.read_states["n1"]
    assert read_state.index == 1


def test_8_read_index_refused_by_followers() -> None:
    cluster = three()
    elect(cluster, "n1")
    assert not cluster.read_index("n2", "r")


def test_6_4_lease_reads_skip_the_round_while_the_lease_holds() -> None:
    cluster = three(lease_reads=True)
    cluster.tick_all(10)  # a started node keeps no vote promise for a minimum timeout
    elect(cluster, "n1")
    cluster.tick_all(3)  # a heartbeat round confirms the lease
    cluster.deliver()
    cluster.read_index("n1", "lease")
    assert [state.request_id for state, _ in cluster.read_states["n1"]] == ["lease"]
    assert cluster.network == []
    cluster.isolate("n1")
    for _ in range(11):
        cluster.tick("n1")
        cluster.deliver()
    assert cluster.node("n1").role is Role.LEADER
    cluster.read_index("n1", "late")  # lease expired: falls back to a heartbeat round
    assert [state.request_id for state, _ in cluster.read_states["n1"]] == ["lease"]
    cluster.heal()
    cluster.deliver()
    assert [state.request_id for state, _ in cluster.read_states["n1"]] == ["lease", "late"]


@pytest.mark.parametrize("bug", [False, True], ids=["correct", "lease_ignores_pause"])
def test_6_4_a_late_tick_ages_the_lease_by_the_whole_gap(bug: bool) -> None:
    """A leader whose timer comes late (its process was paused) must count the whole gap
    against its lease: its followers' promise not to vote ran out in real time."""
    bugs = frozenset({"lease_ignores_pause"}) if bug else frozenset()
    cluster = three(lease_reads=True, bugs=bugs)
    cluster.tick_all(10)
    elect(cluster, "n1")
    cluster.tick_all(3)  # a heartbeat round confirms the lease
    cluster.deliver()
    cluster.read_index("n1", "before")
    assert [state.request_id for state, _ in cluster.read_states["n1"]] == ["before"]
    cluster.isolate("n1")
    cluster.node("n1").tick(elapsed_ticks=12)  # a pause longer than the minimum timeout
    cluster.process("n1")
    cluster.read_index("n1", "after")
    served = [state.request_id for state, _ in cluster.read_states["n1"]]
    assert served == (["before", "after"] if bug else ["before"])


def test_6_2_a_leader_stopped_for_a_whole_check_quorum_window_steps_down() -> None:
    cluster = three()
    elect(cluster, "n1")
    cluster.tick_all(3)
    cluster.deliver()  # every follower was active in this window
    cluster.node("n1").tick(elapsed_ticks=10)
    assert cluster.node("n1").role is Role.FOLLOWER


def test_5_2_a_late_tick_fires_an_expired_election_timer_once() -> None:
    cluster = three()
    cluster.node("n2").tick(elapsed_ticks=40)  # far past its timeout of 17 ticks
    assert cluster.node("n2").role is Role.PRE_CANDIDATE
    with pytest.raises(ValueError, match="elapsed_ticks"):
        cluster.node("n2").tick(elapsed_ticks=0)


# ============================================================== §3.10 leadership transfer


def test_3_10_leadership_transfer_hands_over_without_waiting_for_timeouts() -> None:
    cluster = three()
    elect(cluster, "n1")
    cluster.propose("n1", "x")
    cluster.deliver()
    assert cluster.node("n1").transfer_leadership("n3")
    assert cluster.node("n1").propose("y") is None  # proposals pause during a transfer
    cluster.process("n1")
    cluster.deliver()
    assert cluster.leader() == "n3"
    assert cluster.node("n3").term == 2


# ============================================================== configuration and Ready


def test_config_rejects_inconsistent_timing() -> None:
    with pytest.raises(ValueError, match="heartbeat"):
        RaftConfig("a", ABC, 5, 10, 5)
    with pytest.raises(ValueError, match="max"):
        RaftConfig("a", ABC, 10, 5, 2)
    with pytest.raises(ValueError, match="unknown raft bugs"):
        RaftConfig("a", ABC, 10, 20, 2, bugs=frozenset({"nope"}))
    with pytest.raises(ValueError, match="check_quorum"):
        RaftConfig("a", ABC, 10, 20, 2, check_quorum=False, lease_reads=True)


def test_ready_is_one_at_a_time() -> None:
    node = follower()
    node.step(RequestVote("a", "b", 1, False, 0, 0))
    assert node.has_ready()
    ready = node.ready()
    assert not node.has_ready()
    with pytest.raises(RuntimeError):
        node.ready()
    node.advance(ready)
    assert not node.has_ready()
    with pytest.raises(RuntimeError):
        node.advance(ready)


def test_commit_change_alone_does_not_require_fsync() -> None:
    node = follower((1, 1))
    node.step(append(1, (2, 1), commit=2))
    [ready] = drain(node)
    assert ready.hard_state == HardState(1, None, 2)
    assert not ready.must_sync
    assert ready.committed_entries == entries(1, 1)
