"""Bugs that shipped in real Raft implementations, each reproduced by a scripted schedule.

Each schedule follows the public report of the bug (named in the docstring) on the pure
core, through the harness: without the bug the schedule is safe, with it the harness'
checker reports the named violation (a Figure 3 property, or a stale read: a ReadState
below an index committed before the read was asked).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harmonysim.raft import (
    AppendEntries,
    Bug,
    ConfigOp,
    InstallSnapshot,
    RequestVoteResponse,
    Role,
    TimeoutNow,
)

from .harness import Cluster, ScriptedRand, between, to

THREE = ["n1", "n2", "n3"]
FOUR = ["n1", "n2", "n3", "n4"]
FIVE = ["n1", "n2", "n3", "n4", "n5"]


def cluster_of(ids: list[str], bugs: frozenset[str], **config: object) -> Cluster:
    rands = {node_id: ScriptedRand([20]) for node_id in ids}
    return Cluster(ids, rands=rands, strict=False, bugs=bugs, **config)  # type: ignore[arg-type]


def win(cluster: Cluster, node_id: str) -> None:
    """Campaign and deliver the election's messages only, until ``node_id`` leads."""
    for _ in range(3):
        cluster.campaign(node_id)
        cluster.deliver(lambda m: not isinstance(m, AppendEntries | TimeoutNow))
        if cluster.node(node_id).role is Role.LEADER:
            return
    raise AssertionError(f"{node_id} could not win: {cluster.state_lines()}")


def vote_response_term_unchecked(bugs: frozenset[str]) -> Cluster:
    """xnnyygn/xraft#33: n2's grant for n1 in term 1 arrives after n1 campaigned again in
    term 2, where n2 leads; counted, it makes n1 a second leader of term 2."""
    cluster = cluster_of(THREE, bugs, prevote=False, check_quorum=False)
    cluster.campaign("n1")  # term 1
    cluster.drop(to("n3"))
    cluster.deliver(to("n2"))  # n2 grants; its response stays in flight
    late_grant = [m for m in cluster.network if isinstance(m, RequestVoteResponse)]
    cluster.network = [m for m in cluster.network if m not in late_grant]
    cluster.campaign("n2")  # term 2: n3 votes for n2
    cluster.drop(to("n1"))
    cluster.deliver(lambda m: not isinstance(m, AppendEntries))
    assert cluster.node("n2").role is Role.LEADER
    cluster.campaign("n1")  # term 2 as well; its requests are lost
    cluster.drop()
    cluster.network.extend(late_grant)
    cluster.deliver(to("n1"))
    return cluster


def follower_commit_beyond_match(bugs: frozenset[str]) -> Cluster:
    """atomix/copycat#265: n2 holds 1@1 and 2@1 that never commit; the next leader's empty
    AppendEntries matches at 0 and carries commit 2, so n2 commits its own stale entries."""
    cluster = cluster_of(FIVE, bugs)
    win(cluster, "n1")
    cluster.propose("n1", "a")
    cluster.drop(to("n3", "n4", "n5"))
    cluster.deliver(to("n2"))  # 1@1 and 2@1 reach n2 only; its commit index stays 0
    cluster.drop()
    cluster.crash("n1")
    cluster.isolate("n2")
    cluster.tick_all(10)
    win(cluster, "n3")  # term 2 with n4 and n5
    cluster.propose("n3", "b")
    cluster.deliver()  # 1@2 and 2@2 committed on n3, n4, n5
    assert cluster.node("n3").commit_index == 2
    cluster.heal()
    cluster.read_index("n3", "read")  # a heartbeat round: empty appends at match 0
    cluster.deliver(lambda m: isinstance(m, AppendEntries) and not m.entries)
    cluster.settle(ticks=5)
    return cluster


def read_index_before_term_commit(bugs: frozenset[str]) -> Cluster:
    """etcd-io/etcd#7331: n1 commits 2 with n2 and crashes before n2 learns it; n2 leads,
    and a read it answers before committing its NOOP uses its commit index 1."""
    cluster = cluster_of(THREE, bugs, check_quorum=False)
    win(cluster, "n1")
    cluster.deliver()
    cluster.propose("n1", "x")
    cluster.drop(to("n3"))
    cluster.deliver(between("n1", "n2"))
    assert cluster.node("n1").commit_index == 2 and cluster.node("n2").commit_index == 1
    cluster.crash("n1")
    cluster.tick_all(10)
    win(cluster, "n2")  # term 2; its NOOP (3@2) is not delivered yet
    cluster.drop(lambda m: isinstance(m, AppendEntries) and bool(m.entries))
    cluster.read_index("n2", "read")
    cluster.deliver(lambda m: not (isinstance(m, AppendEntries) and m.entries))
    cluster.settle(ticks=10)
    return cluster


def lease_survives_transfer(bugs: frozenset[str]) -> Cluster:
    """tikv/tikv#1593: n1 hands leadership to n2 and is cut off before n2's election
    reaches it; n2 commits a write, and n1 still answers a read from its lease."""
    cluster = cluster_of(THREE, bugs, lease_reads=True)
    cluster.tick_all(10)  # past the promise a (re)started node keeps before voting
    win(cluster, "n1")
    cluster.deliver()
    cluster.tick("n1", 3)  # a heartbeat round, acknowledged: the lease starts
    cluster.deliver()
    assert cluster.node("n1").transfer_leadership("n2")
    cluster.process("n1")
    cluster.deliver(lambda m: isinstance(m, TimeoutNow))
    cluster.isolate("n1")
    cluster.deliver()  # n2 wins term 2 with n3 and commits its NOOP
    cluster.propose("n2", "y")
    cluster.deliver()
    assert cluster.node("n2").commit_index == 3
    cluster.read_index("n1", "read")
    cluster.deliver()
    return cluster


def config_change_before_term_commit(bugs: frozenset[str]) -> Cluster:
    """atomix/copycat#23, baidu/braft#182 (Ongaro, raft-dev, 2015): of {n1..n4}, n1 adds
    n5 but only n5 gets it; n2 leads term 2 and at once removes n1 with n3 (committed, a
    majority of {n2,n3,n4}); n1 then wins term 3 with n4 and n5 under {n1..n5} and
    overwrites the committed removal."""
    cluster = cluster_of(
        FIVE, bugs, voters=["n1", "n2", "n3", "n4"], prevote=False, check_quorum=False
    )
    win(cluster, "n1")
    cluster.deliver()
    cluster.propose_config_change("n1", ConfigOp.ADD, "n5")
    cluster.tick("n1", 3)  # a heartbeat probes n5
    cluster.deliver(between("n1", "n5"))  # 2@1 (add n5) reaches n5 only
    cluster.drop()
    cluster.crash("n1")
    cluster.tick_all(10)
    win(cluster, "n2")  # term 2 with n3 and n4
    cluster.drop()  # its NOOP is lost
    cluster.propose_config_change("n2", ConfigOp.REMOVE, "n1")
    cluster.tick("n2", 3)
    cluster.deliver(between("n2", "n3"))  # committed by n2 and n3 under {n2, n3, n4}
    cluster.drop()
    cluster.crash("n2")
    cluster.restart("n1")
    cluster.partition(["n1", "n4", "n5"], ["n3"])
    cluster.tick_all(10)
    win(cluster, "n1")  # with n4 and n5, a majority of {n1..n5}
    cluster.restart("n2")
    cluster.heal()
    cluster.settle(ticks=30)
    return cluster


def snapshot_truncates_newer_entries(bugs: frozenset[str]) -> Cluster:
    """camunda/camunda#6092: a retransmitted InstallSnapshot for a prefix of n3's log
    arrives after n3 acknowledged entry 4, which n1 then committed with n3; n3 keeps the
    prefix and drops 4, and wins the next election without it."""
    cluster = cluster_of(THREE, bugs, prevote=False, check_quorum=False)
    win(cluster, "n1")
    cluster.deliver()
    cluster.propose("n1", "a")
    cluster.propose("n1", "b")
    cluster.drop(to("n3"))
    cluster.deliver(between("n1", "n2"))  # 2 and 3 committed with n2
    cluster.compact("n1")  # snapshot at 3
    cluster.tick("n1", 6)  # n3 stalled: probed below the snapshot, so sent it
    cluster.drop(to("n2"))
    retransmitted = [m for m in cluster.network if isinstance(m, InstallSnapshot)]
    assert retransmitted
    cluster.deliver(between("n1", "n3"))
    cluster.propose("n1", "c")
    cluster.drop(to("n2"))
    cluster.deliver(between("n1", "n3"))  # 4 committed with n3
    assert cluster.node("n1").commit_index == 4
    cluster.network.extend(retransmitted)  # the copy sent again arrives late
    cluster.deliver(to("n3"))
    cluster.drop()
    cluster.crash("n1")
    win(cluster, "n3")
    cluster.deliver()
    cluster.settle(ticks=5)
    return cluster


def read_round_kept_across_terms(bugs: frozenset[str]) -> Cluster:
    """rabbitmq/ra#340: n1 leads for a dozen heartbeat rounds, then hands leadership to n2,
    whose round counter starts at zero; n3 answers n2's heartbeat with n1's highest round.
    n2 is cut off, n3 leads term 3 with n1 and commits a write, and n2 answers a read
    at once: n3's answer already confirmed every round up to n1's."""
    cluster = cluster_of(THREE, bugs, prevote=False, check_quorum=False)
    win(cluster, "n1")
    cluster.deliver()
    for _ in range(12):
        cluster.tick("n1", 3)  # one heartbeat round, answered
        cluster.deliver()
    assert cluster.node("n1").transfer_leadership("n2")
    cluster.process("n1")
    cluster.deliver()  # n2 leads term 2 and commits its NOOP
    cluster.tick("n2", 3)  # n2's first heartbeat round, answered
    cluster.deliver()
    assert cluster.node("n2").role is Role.LEADER and cluster.node("n2").commit_index == 2
    cluster.isolate("n2")
    win(cluster, "n3")  # term 3 with n1
    cluster.propose("n3", "y")
    cluster.deliver()
    assert cluster.node("n3").commit_index == 4
    cluster.read_index("n2", "read")
    cluster.deliver()
    return cluster


def removal_while_change_pending(bugs: frozenset[str]) -> Cluster:
    """RedisLabs/redisraft#17: n1 leads {n1..n5} and is cut off with n2; asked to remove n5
    and then n4, it takes the second removal while the first is uncommitted, so its
    configuration {n1, n2, n3} has the majority n1, n2 and commits "a" at the index where
    n3, elected by n3, n4 and n5 under {n1..n5}, commits "b"."""
    cluster = cluster_of(FIVE, bugs, prevote=False, check_quorum=False)
    win(cluster, "n1")
    cluster.deliver()  # the NOOP of term 1 commits
    cluster.partition(["n1", "n2"], ["n3", "n4", "n5"])
    assert cluster.propose_config_change("n1", ConfigOp.REMOVE, "n5") is not None
    second = cluster.propose_config_change("n1", ConfigOp.REMOVE, "n4")
    assert (second is not None) == bool(bugs)  # the one-change rule refuses it when correct
    cluster.propose("n1", "a")
    cluster.deliver()  # within {n1, n2}
    cluster.tick_all(10)
    win(cluster, "n3")  # term 2 with n4 and n5
    cluster.propose("n3", "b")
    cluster.deliver()
    cluster.settle(ticks=5)
    return cluster


def append_drops_later_entries(bugs: frozenset[str]) -> Cluster:
    """ktoso/akka-raft#66, lerna-stack/akka-entity-replication#152: n1's AppendEntries of
    entry 2 reaches n2 twice, the copy late: after entry 3, which n1 committed with n2.
    The copy (previous entry 1, entries [2]) makes n2 drop 3; n1 crashes, and n2 wins
    term 2 with n3 and puts its NOOP at index 3."""
    cluster = cluster_of(THREE, bugs, prevote=False, check_quorum=False)
    win(cluster, "n1")
    cluster.deliver()
    cluster.propose("n1", "a")
    cluster.drop(to("n3"))
    copy = [m for m in cluster.network if isinstance(m, AppendEntries) and m.entries]
    cluster.deliver(to("n2"))  # 2@1 on n2, acknowledged
    cluster.propose("n1", "b")
    cluster.drop(to("n3"))
    cluster.deliver(between("n1", "n2"))  # 3@1 on n2, acknowledged: committed
    assert cluster.node("n1").commit_index == 3
    cluster.network.extend(copy)  # the first AppendEntries, delivered again
    cluster.deliver(to("n2"))
    cluster.drop()
    cluster.crash("n1")
    win(cluster, "n2")
    cluster.deliver()
    cluster.settle(ticks=5)
    return cluster


def removed_leader_counts_itself(bugs: frozenset[str]) -> Cluster:
    """nats-io/nats-server#7600, camunda/camunda#15232: of {n1..n4}, n1 removes itself
    (entry 2, reaching n3 and n4 unanswered) and appends 3, which only n2 acknowledges;
    counting itself, n1 takes 3 as committed by two of {n2, n3, n4} and steps down. n2
    crashes, and n3 wins term 2 with n4 and puts its NOOP at index 3."""
    cluster = cluster_of(FOUR, bugs, prevote=False, check_quorum=False)
    win(cluster, "n1")
    cluster.deliver()
    cluster.propose_config_change("n1", ConfigOp.REMOVE, "n1")
    cluster.drop(to("n2"))
    cluster.deliver(to("n3", "n4"))  # 2 (n1 removed) on n3 and n4
    cluster.drop()  # their acknowledgements are lost
    cluster.propose("n1", "x")
    cluster.drop(to("n3", "n4"))
    cluster.deliver(between("n1", "n2"))  # 2 and 3 on n2, acknowledged
    cluster.drop()
    cluster.crash("n2")
    cluster.tick_all(10)
    win(cluster, "n3")  # term 2 with n4, a majority of {n2, n3, n4}
    cluster.deliver()
    cluster.settle(ticks=5)
    return cluster


SCHEDULES: dict[Bug, Callable[[frozenset[str]], Cluster]] = {
    Bug.VOTE_RESPONSE_TERM_UNCHECKED: vote_response_term_unchecked,
    Bug.FOLLOWER_COMMIT_BEYOND_MATCH: follower_commit_beyond_match,
    Bug.READ_INDEX_BEFORE_TERM_COMMIT: read_index_before_term_commit,
    Bug.LEASE_SURVIVES_TRANSFER: lease_survives_transfer,
    Bug.CONFIG_CHANGE_BEFORE_TERM_COMMIT: config_change_before_term_commit,
    Bug.SNAPSHOT_TRUNCATES_NEWER_ENTRIES: snapshot_truncates_newer_entries,
    Bug.READ_ROUND_KEPT_ACROSS_TERMS: read_round_kept_across_terms,
    Bug.REMOVAL_WHILE_CHANGE_PENDING: removal_while_change_pending,
    Bug.APPEND_DROPS_LATER_ENTRIES: append_drops_later_entries,
    Bug.REMOVED_LEADER_COUNTS_ITSELF: removed_leader_counts_itself,
}

EXPECTED = {
    Bug.VOTE_RESPONSE_TERM_UNCHECKED: "election safety",
    Bug.FOLLOWER_COMMIT_BEYOND_MATCH: "state machine safety",
    Bug.READ_INDEX_BEFORE_TERM_COMMIT: "stale read",
    Bug.LEASE_SURVIVES_TRANSFER: "stale read",
    Bug.CONFIG_CHANGE_BEFORE_TERM_COMMIT: "committed entry changed",
    Bug.SNAPSHOT_TRUNCATES_NEWER_ENTRIES: "committed entry changed",
    Bug.READ_ROUND_KEPT_ACROSS_TERMS: "stale read",
    Bug.REMOVAL_WHILE_CHANGE_PENDING: "state machine safety",
    Bug.APPEND_DROPS_LATER_ENTRIES: "committed entry changed",
    Bug.REMOVED_LEADER_COUNTS_ITSELF: "committed entry changed",
}


def pre_vote_reply_own_term(bugs: frozenset[str]) -> Cluster:
    """canonical/raft#279: n3 crashes in term 1; n1 hands leadership to n2 (term 2), then n2
    crashes and n3 restarts one term behind n1. n3's grants of n1's pre-votes carry term 1
    and are dropped as stale; n1's refusal of n3's pre-vote (term 2, n3's log is behind)
    does not raise n3's term, since n3 asked for that term."""
    cluster = cluster_of(THREE, bugs)
    win(cluster, "n1")
    cluster.deliver()
    cluster.crash("n3")
    assert cluster.node("n1").transfer_leadership("n2")
    cluster.process("n1")
    cluster.deliver()  # n2 leads term 2 with n1 and commits its NOOP with it
    assert cluster.node("n2").role is Role.LEADER and cluster.node("n1").term == 2
    cluster.crash("n2")
    cluster.restart("n3")
    assert cluster.node("n3").term == 1
    cluster.settle(ticks=200)  # ten election timeouts or more
    return cluster


def election_timer_on_stale_append(bugs: frozenset[str]) -> Cluster:
    """goraft/raft#58: n1 leads term 1 without CheckQuorum, is cut off, and n2 leads term 2;
    then n1's messages get through again but nothing reaches n1, and n2 crashes. n1's
    heartbeats of term 1 are refused, yet each restarts the followers' election timers,
    so none of n3, n4, n5 ever campaigns (nor grants a pre-vote: to PreVote's clock it
    heard from a leader recently)."""
    timeouts = {"n1": 20, "n2": 20, "n3": 12, "n4": 16, "n5": 20}  # no endless split vote
    rands = {node_id: ScriptedRand([timeout]) for node_id, timeout in timeouts.items()}
    cluster = Cluster(FIVE, rands=rands, strict=False, bugs=bugs, check_quorum=False)
    win(cluster, "n1")
    cluster.deliver()
    cluster.isolate("n1")
    cluster.tick_all(10)  # a minimum election timeout without hearing from n1
    cluster.drop()
    win(cluster, "n2")  # term 2
    cluster.deliver()
    cluster.heal()
    cluster.blocked = {(peer, "n1") for peer in FIVE if peer != "n1"}
    cluster.crash("n2")
    cluster.settle(ticks=200)  # ten election timeouts or more; n1 heartbeats every 3 ticks
    return cluster


def current_leader(cluster: Cluster) -> str | None:
    """A live leader of the highest term any live node holds (a deposed leader that never
    heard of the later terms does not count)."""
    top = max(cluster.node(node_id).term for node_id in cluster.live())
    leaders = [i for i in cluster.leaders() if cluster.node(i).term == top]
    return leaders[0] if leaders else None


LIVENESS_SCHEDULES: dict[Bug, Callable[[frozenset[str]], Cluster]] = {
    Bug.PRE_VOTE_REPLY_OWN_TERM: pre_vote_reply_own_term,
    Bug.ELECTION_TIMER_ON_STALE_APPEND: election_timer_on_stale_append,
}
"""Schedules that end with a majority up and connected: a leader must have been elected
(§5.2; with PreVote, thesis §9.6)."""


@pytest.mark.parametrize("bug", sorted(LIVENESS_SCHEDULES, key=lambda bug: bug.value))
def test_liveness_schedule_elects_a_leader_without_the_bug(bug: Bug) -> None:
    cluster = LIVENESS_SCHEDULES[bug](frozenset())
    assert current_leader(cluster) is not None, cluster.state_lines()
    cluster.check_safety()


@pytest.mark.parametrize("bug", sorted(LIVENESS_SCHEDULES, key=lambda bug: bug.value))
def test_bug_leaves_its_liveness_schedule_without_a_leader(bug: Bug) -> None:
    cluster = LIVENESS_SCHEDULES[bug](frozenset({bug.value}))
    assert current_leader(cluster) is None, cluster.state_lines()
    assert cluster.violations == []  # a liveness bug: nothing unsafe happened


@pytest.mark.parametrize("bug", sorted(SCHEDULES, key=lambda bug: bug.value))
def test_schedule_is_safe_without_the_bug(bug: Bug) -> None:
    cluster = SCHEDULES[bug](frozenset())
    assert cluster.violations == []
    cluster.check_safety()


@pytest.mark.parametrize("bug", sorted(SCHEDULES, key=lambda bug: bug.value))
def test_bug_breaks_its_schedule_as_reported(bug: Bug) -> None:
    cluster = SCHEDULES[bug](frozenset({bug.value}))
    assert any(EXPECTED[bug] in violation for violation in cluster.violations), cluster.violations
