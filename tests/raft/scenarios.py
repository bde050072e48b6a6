"""Scripted interactions shared by the golden transcripts and the bug tests.

Every scenario builds its cluster with scripted election timeouts and drives the network
by hand, so the exchange is fixed; ``bugs`` switches a protocol bug on in every node to show
the very same schedule becoming unsafe.
"""

from __future__ import annotations

from collections.abc import Callable

from harmonysim.raft import AppendEntries, Message, RequestVote, Role

from .harness import Cluster, ScriptedRand, to

Scenario = Callable[[frozenset[str]], Cluster]


def deliver_until(
    cluster: Cluster, where: Callable[[Message], bool], done: Callable[[], bool]
) -> None:
    """Deliver the oldest matching message, one at a time, until ``done()``."""
    while not done():
        position = next((n for n, msg in enumerate(cluster.network) if where(msg)), None)
        if position is None:
            raise AssertionError("scenario stalled: no message left to deliver")
        cluster.deliver_at(position)


def _quiet_rands(ids: list[str], **timeouts: list[int]) -> dict[str, ScriptedRand]:
    return {node_id: ScriptedRand(timeouts.get(node_id, [20])) for node_id in ids}


def election_3_nodes(bugs: frozenset[str] = frozenset()) -> Cluster:
    """§5.2: n1 times out first, pre-votes, wins the election and commits its NOOP."""
    ids = ["n1", "n2", "n3"]
    cluster = Cluster(ids, rands=_quiet_rands(ids, n1=[10], n2=[17], n3=[19]), bugs=bugs)
    cluster.transcript = ["# §5.2 election of a 3-node cluster (PreVote, then the vote)"]
    cluster.note("> tick all x10")
    cluster.tick_all(10)
    cluster.note("> deliver")
    cluster.deliver()
    cluster.show_state()
    cluster.expect_leader("n1", term=1)
    cluster.expect_committed("1@1 noop")
    return cluster


def split_vote(bugs: frozenset[str] = frozenset()) -> Cluster:
    """§5.2: two candidates split a 4-node cluster; a re-drawn timeout breaks the tie."""
    ids = ["n1", "n2", "n3", "n4"]
    rands = _quiet_rands(ids, n1=[10, 12], n2=[10, 18], n3=[20], n4=[20])
    cluster = Cluster(ids, rands=rands, prevote=False, bugs=bugs)
    cluster.transcript = ["# §5.2 split vote: n1 and n2 time out together, n3 and n4 split"]
    cluster.note("> tick all x10")
    cluster.tick_all(10)
    cluster.note("> deliver n1->n3 and n2->n4 first")
    cluster.deliver(lambda m: (m.src, m.dst) in {("n1", "n3"), ("n2", "n4")})
    cluster.note("> deliver")
    cluster.deliver()
    cluster.show_state()
    cluster.expect_leader(None)
    cluster.expect_committed()
    cluster.note("> tick all x12 (n1 re-drew the shorter timeout: 12 ticks against 18)")
    for _ in range(12):
        cluster.tick_all()
        cluster.deliver()
    cluster.show_state()
    cluster.expect_leader("n1", term=2)
    cluster.expect_committed("1@2 noop")
    return cluster


FIGURE_7 = {
    "leader": (1, 1, 1, 4, 4, 5, 5, 6, 6, 6),
    "a": (1, 1, 1, 4, 4, 5, 5, 6, 6),
    "b": (1, 1, 1, 4),
    "c": (1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6),
    "d": (1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7),
    "e": (1, 1, 1, 4, 4, 4, 4),
    "f": (1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3),
}


def figure_7(bugs: frozenset[str] = frozenset()) -> Cluster:
    """§5.3 Figure 7: the term-8 leader brings followers (a)-(f) up to date."""
    cluster = Cluster(list(FIGURE_7), prevote=False, bugs=bugs)
    for node_id, terms in FIGURE_7.items():
        cluster.load(node_id, terms, term=7 if node_id in ("leader", "d") else terms[-1])
    cluster.transcript = ["# §5.3 Figure 7: a new leader (term 8) and followers (a)-(f)"]
    cluster.show_state()
    cluster.campaign("leader")
    cluster.note("> deliver")
    cluster.deliver()
    cluster.show_state()
    cluster.expect_leader("leader", term=8)
    # The leader's log wins everywhere and commits with its term-8 NOOP (§5.4.2).
    cluster.expect_committed(
        *(f"{i}@{t} 'x{i}.{t}'" for i, t in enumerate(FIGURE_7["leader"], start=1)), "11@8 noop"
    )
    return cluster


def figure_8(bugs: frozenset[str] = frozenset()) -> Cluster:
    """§5.4.2 Figure 8, with the index-1 NOOP added: 2@1 reaches a majority in term 3 but
    must not commit, because s5 can still overwrite it in term 4."""
    ids = ["s1", "s2", "s3", "s4", "s5"]
    cluster = Cluster(
        ids,
        rands=_quiet_rands(ids),
        prevote=False,
        check_quorum=False,
        max_entries_per_append=1,
        strict=False,
        bugs=bugs,
    )
    cluster.transcript = ["# §5.4.2 Figure 8: a leader may not commit by counting an old term"]
    cluster.campaign("s1")
    cluster.deliver()
    cluster.note("# (a) s1 leads term 1 and replicates 2@1 to s2 only")
    cluster.propose("s1", "x")
    cluster.drop(to("s3", "s4", "s5"))
    cluster.deliver()
    cluster.crash("s1")
    cluster.note("# (b) s5 wins term 2 with votes of s3, s4 and appends 2@2 locally")
    cluster.campaign("s5")
    cluster.deliver(lambda m: isinstance(m, RequestVote) or m.dst == "s5")
    cluster.drop(lambda m: isinstance(m, AppendEntries))
    cluster.crash("s5")
    cluster.note("# (c) s1 restarts and wins term 3 (term 2 is lost: s3, s4 voted for s5)")
    cluster.restart("s1")
    for _ in range(2):
        cluster.campaign("s1")
        cluster.deliver(lambda m: not isinstance(m, AppendEntries))
    cluster.note("# (c) s1 replicates 2@1 to s3: on a majority (s1, s2, s3), yet uncommitted")
    cluster.note("#     (with commit_prior_term_by_count it would commit here)")
    cluster.drop(lambda m: m.dst not in ("s2", "s3"))
    s1 = cluster.node("s1")
    deliver_until(
        cluster,
        lambda m: "s1" in (m.src, m.dst),
        lambda: (
            s1.role is not Role.LEADER or min(s1.progress()["s3"][0], s1.progress()["s2"][0]) >= 2
        ),
    )
    cluster.drop(quiet=True)
    cluster.show_state()
    cluster.expect_leader("s1", term=3)
    cluster.expect_committed("1@1 noop")  # 2@1 is on a majority but must not commit
    cluster.note("# (d) s1 crashes; s5 restarts, wins term 4 and overwrites index 2")
    cluster.crash("s1")
    cluster.restart("s5")
    while cluster.node("s5").role is not Role.LEADER:  # term 3 is lost: all voted for s1
        cluster.campaign("s5")
        cluster.deliver(lambda m: not isinstance(m, AppendEntries))
    cluster.deliver()
    cluster.restart("s1")
    cluster.deliver()
    for _ in range(6):
        cluster.tick_all()
        cluster.deliver()
    cluster.show_state()
    cluster.expect_leader("s5", term=4)
    cluster.expect_committed("1@1 noop", "2@2 noop", "3@4 noop")
    if cluster.violations:
        cluster.note("# safety violations")
        for violation in cluster.violations:
            cluster.note(f"  {violation}")
    return cluster


def prevote_rejoin(bugs: frozenset[str] = frozenset()) -> Cluster:
    """Thesis §9.6: an isolated node pre-campaigns without raising its term, so when it
    rejoins it does not depose the healthy leader."""
    ids = ["n1", "n2", "n3"]
    cluster = Cluster(ids, rands=_quiet_rands(ids, n1=[10], n2=[17], n3=[12]), bugs=bugs)
    cluster.transcript = ["# §9.6 PreVote: a rejoining partitioned node does not disrupt"]
    cluster.tick_all(10)
    cluster.deliver()
    cluster.propose("n1", "x")
    cluster.deliver()
    cluster.isolate("n3")
    cluster.note("> tick all x30, delivering (n3's messages are lost)")
    for _ in range(30):
        cluster.tick_all()
        cluster.drop(lambda m: "n3" in (m.src, m.dst), quiet=True)
        cluster.deliver()
    cluster.show_state()
    cluster.expect_leader("n1", term=1)
    cluster.expect_committed("1@1 noop", "2@1 'x'")
    cluster.heal()
    cluster.note("> n3 pre-campaigns once more, now connected")
    while not any(isinstance(msg, RequestVote) for msg in cluster.network):
        cluster.tick("n3")
    cluster.note("> deliver n3's pre-votes (n1 and n2 hear from their leader: ignored)")
    cluster.deliver(lambda m: m.src == "n3")
    cluster.note("> tick all x3 (a heartbeat)")
    cluster.tick_all(3)
    cluster.deliver()
    cluster.show_state()
    cluster.expect_leader("n1", term=1)  # n3's pre-campaign deposed nobody
    cluster.expect_committed("1@1 noop", "2@1 'x'")
    return cluster


SCENARIOS: dict[str, Scenario] = {
    "election_3_nodes": election_3_nodes,
    "split_vote": split_vote,
    "figure_7": figure_7,
    "figure_8": figure_8,
    "prevote_rejoin": prevote_rejoin,
}
