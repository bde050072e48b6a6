"""The Raft safety monitor: one test per rule on crafted event streams, plus the legal
cases that must stay quiet (truncation of uncommitted entries, restarts, re-applies)."""

from __future__ import annotations

from typing import Any

from harmonysim.check.raft_safety import RaftSafetyMonitor, SafetyRule
from harmonysim.raft import RaftNode, Role
from harmonysim.testing.cluster_machine import ClusterModel


class Events:
    """Builds event records with increasing seq numbers and times."""

    def __init__(self, monitor: RaftSafetyMonitor) -> None:
        self.monitor = monitor
        self.seq = 0

    def __call__(self, kind: str, node: str, **fields: Any) -> int:
        seq = self.seq
        self.seq += 1
        self.monitor.observe({"t": float(seq), "seq": seq, "kind": kind, "node": node, **fields})
        return seq

    def recover(self, node: str, term: int = 0, vote: str | None = None, commit: int = 0,
                last_index: int = 0, last_term: int = 0) -> int:  # fmt: skip
        return self(
            "raft.recover", node, term=term, voted_for=vote, commit=commit, snapshot_index=0,
            last_index=last_index, last_term=last_term,
        )  # fmt: skip

    def persist(self, node: str, **fields: Any) -> int:
        return self("raft.persist", node, **fields)

    def leader(self, node: str, term: int) -> int:
        return self("raft.role", node, role="leader", term=term, leader=node)

    def apply(self, node: str, index: int, term: int, entry: str) -> int:
        return self("raft.apply", node, index=index, term=term, entry_kind="normal", entry=entry)


def fresh(*nodes: str) -> tuple[RaftSafetyMonitor, Events]:
    monitor = RaftSafetyMonitor()
    events = Events(monitor)
    for node in nodes:
        events.recover(node)
    return monitor, events


def rules(monitor: RaftSafetyMonitor) -> list[SafetyRule]:
    return [violation.rule for violation in monitor.violations]


def test_election_safety_two_leaders_in_one_term_names_both_and_their_events() -> None:
    monitor, ev = fresh("n1", "n2", "n3")
    ev.persist("n1", term=2, voted_for="n1", commit=0)
    first = ev.leader("n1", 2)
    ev.persist("n2", term=2, voted_for="n2", commit=0)
    second = ev.leader("n2", 2)
    assert rules(monitor) == [SafetyRule.ELECTION_SAFETY]
    violation = monitor.violations[0]
    assert violation.nodes == ("n1", "n2")
    assert violation.term == 2
    assert violation.seqs == (first, second)
    assert violation.time_ms == float(second)


def test_leaders_of_different_terms_are_fine_and_recorded() -> None:
    monitor, ev = fresh("n1", "n2")
    ev.persist("n1", term=1, voted_for="n1", commit=0)
    ev.leader("n1", 1)
    ev.persist("n2", term=2, voted_for="n2", commit=0)
    ev.leader("n2", 2)
    ev.leader("n2", 2)  # the same leader reported again
    assert monitor.ok
    assert monitor.leaders == {1: "n1", 2: "n2"}


def test_log_matching_same_index_and_term_different_command() -> None:
    monitor, ev = fresh("n1", "n2")
    ev.persist("n1", entries=[[1, 1, "c1:1"]])
    ev.persist("n2", entries=[[1, 1, "c2:1"]])
    assert rules(monitor) == [SafetyRule.LOG_MATCHING]
    assert monitor.violations[0].index == 1 and monitor.violations[0].term == 1


def test_log_matching_same_entry_after_different_histories() -> None:
    monitor, ev = fresh("n1", "n2")
    ev.persist("n1", entries=[[1, 1, "noop"], [2, 3, "c1:1"]])
    ev.persist("n2", entries=[[1, 2, "noop"], [2, 3, "c1:1"]])
    assert rules(monitor) == [SafetyRule.LOG_MATCHING]
    assert "term 2 at index 1" in monitor.violations[0].message


def test_follower_truncating_an_uncommitted_suffix_is_legal() -> None:
    monitor, ev = fresh("n1", "n2", "n3")
    ev.persist("n2", entries=[[1, 1, "noop"], [2, 1, "c1:1"], [3, 1, "c1:2"]])
    ev.persist("n3", entries=[[1, 1, "noop"], [2, 2, "c2:1"]])
    ev.persist("n2", entries=[[2, 2, "c2:1"]])  # replaces 2@1 and drops 3@1
    ev.persist("n2", entries=[[3, 2, "c2:2"]])
    ev.persist("n3", entries=[[3, 2, "c2:2"]])
    assert monitor.ok, monitor.violations


def test_state_machine_safety_different_entries_applied_at_one_index() -> None:
    monitor, ev = fresh("n1", "n2")
    first = ev.apply("n1", 5, 2, "c1:7")
    ev.apply("n1", 5, 2, "c1:7")  # re-applied after a restart: the same entry
    second = ev.apply("n2", 5, 3, "c2:1")
    assert rules(monitor) == [SafetyRule.STATE_MACHINE_SAFETY]
    assert monitor.violations[0].seqs == (first, second)


def test_leader_completeness_new_leader_without_a_committed_entry() -> None:
    monitor, ev = fresh("n1", "n2", "n3")
    for node in ("n1", "n2"):
        ev.persist(node, term=1, voted_for="n1", commit=0, entries=[[1, 1, "noop"]])
    ev.apply("n1", 1, 1, "noop")
    ev("raft.commit", "n1", index=1, term=1)
    ev.persist("n3", term=2, voted_for="n3", commit=0, entries=[[1, 2, "noop"]])
    ev.leader("n3", 2)
    assert rules(monitor) == [SafetyRule.LEADER_COMPLETENESS]
    assert monitor.violations[0].nodes == ("n1", "n3")
    assert monitor.violations[0].index == 1


def test_a_stale_leader_of_an_older_term_is_not_held_to_later_commits() -> None:
    monitor, ev = fresh("n1", "n2")
    ev.persist("n1", term=3, voted_for="n1", commit=0, entries=[[1, 3, "noop"]])
    ev.apply("n1", 1, 3, "noop")
    ev("raft.commit", "n1", index=1, term=3)
    ev.persist("n2", term=2, voted_for="n2", commit=0)
    ev.leader("n2", 2)  # term 2 < 3: Leader Completeness says nothing about it
    assert monitor.ok


def test_term_going_back_across_a_restart() -> None:
    monitor, ev = fresh("n1")
    before = ev("raft.term", "n1", term=5, voted_for=None)
    after = ev.recover("n1", term=4)
    assert rules(monitor) == [SafetyRule.TERM_MONOTONIC]
    assert monitor.violations[0].seqs == (before, after)
    assert "restarted with term 4" in monitor.violations[0].message


def test_commit_going_back_across_a_restart() -> None:
    monitor, ev = fresh("n1")
    ev("raft.commit", "n1", index=9, term=1)
    ev.recover("n1", term=1, commit=7, last_index=9, last_term=1)
    assert rules(monitor) == [SafetyRule.COMMIT_MONOTONIC]
    assert monitor.violations[0].index == 7


def test_two_votes_in_one_term() -> None:
    monitor, ev = fresh("n1")
    ev.persist("n1", term=3, voted_for="n2", commit=0)
    ev.persist("n1", term=3, voted_for="n2", commit=1)
    ev.persist("n1", term=3, voted_for="n3", commit=1)
    assert rules(monitor) == [SafetyRule.SINGLE_VOTE]
    assert monitor.violations[0].nodes == ("n1", "n2", "n3")


def test_a_vote_forgotten_by_a_restart() -> None:
    monitor, ev = fresh("n1")
    ev.persist("n1", term=3, voted_for="n2", commit=0)
    ev.recover("n1", term=3, vote=None)
    assert rules(monitor) == [SafetyRule.SINGLE_VOTE]
    assert "restarts in term 3" in monitor.violations[0].message


def test_durable_log_losing_committed_entries_at_restart() -> None:
    monitor, ev = fresh("n1")
    ev.persist("n1", term=1, voted_for="n1", commit=3,
               entries=[[1, 1, "noop"], [2, 1, "c1:1"], [3, 1, "c1:2"]])  # fmt: skip
    ev.recover("n1", term=1, vote="n1", commit=3, last_index=2, last_term=1)
    assert rules(monitor) == [SafetyRule.DURABLE_LOG]


def test_a_restart_with_an_uncommitted_suffix_replaced_is_legal() -> None:
    monitor, ev = fresh("n1", "n2")
    ev.persist("n1", term=1, voted_for="n2", commit=1,
               entries=[[1, 1, "noop"], [2, 1, "c1:1"], [3, 1, "c1:2"]])  # fmt: skip
    ev.recover("n1", term=2, vote=None, commit=1, last_index=2, last_term=2)
    ev.persist("n1", entries=[[3, 2, "c2:1"]])
    ev.persist("n2", entries=[[1, 1, "noop"], [2, 2, "c2:0"], [3, 2, "c2:1"]])
    assert monitor.ok, monitor.violations


def test_violations_are_capped_per_rule_but_all_counted() -> None:
    monitor = RaftSafetyMonitor(max_per_rule=2)
    ev = Events(monitor)
    for index in range(1, 6):
        ev.apply("n1", index, 1, f"a:{index}")
        ev.apply("n2", index, 1, f"b:{index}")
    assert len(monitor.violations) == 2
    assert monitor.counts == {SafetyRule.STATE_MACHINE_SAFETY: 5}


def test_leader_append_only_with_a_probe() -> None:
    core: dict[str, RaftNode | None] = {}
    cluster = ClusterModel(3)
    cluster.settle(40)
    leader = cluster.leader()
    assert leader is not None
    core[leader] = cluster.cores[leader]
    monitor = RaftSafetyMonitor(lambda node: core.get(node))
    ev = Events(monitor)
    ev.persist(leader, entries=[[1, 1, "noop"], [2, 1, "c1:1"]])
    ev.persist(leader, entries=[[2, 1, "c1:9"]])
    # Found first as the leader overwriting its own entry (and also as two different
    # entries persisted at 2@1).
    assert rules(monitor) == [SafetyRule.LEADER_APPEND_ONLY, SafetyRule.LOG_MATCHING]
    assert monitor.violations[0].index == 2


def test_applying_beyond_the_commit_index_with_a_probe() -> None:
    cluster = ClusterModel(3)
    cluster.settle(40)
    node = "n1"
    core = cluster.cores[node]
    assert core is not None
    monitor = RaftSafetyMonitor(lambda _: core)
    Events(monitor).apply(node, core.commit_index + 1, core.term, "c1:1")
    assert rules(monitor) == [SafetyRule.STATE_MACHINE_SAFETY]
    assert "before committing it" in monitor.violations[0].message


def test_final_states_of_a_healthy_cluster_pass_and_two_final_leaders_fail() -> None:
    cluster = ClusterModel(3, seed=4)
    cluster.settle(40)
    for key in ("k1", "k2", "k3"):
        leader = cluster.leader()
        assert leader is not None
        cluster.put(leader, key)
        cluster.settle(3)
    cluster.check()
    assert cluster.monitor.ok
    cores = cluster.live()
    leader = cluster.leader()
    assert leader is not None and sum(core.role is Role.LEADER for _, core in cores) == 1
    # The same final states with a forged second leader of the same term:
    impostor = next(node for node, core in cores if node != leader)
    forged = [(node, core) for node, core in cores]
    forged.append((impostor + "x", dict(cores)[leader]))
    monitor = RaftSafetyMonitor()
    monitor.check_final(forged, 100.0)
    assert SafetyRule.ELECTION_SAFETY in rules(monitor)


# -- majorities follow the configuration (thesis §4.1) ------------------------------------


def shrunk_cluster() -> tuple[ClusterModel, str, tuple[str, ...]]:
    """A five-node model cluster whose leader removed two followers, one at a time
    (thesis §4.1), then committed a write in the three-member configuration. PreVote and
    CheckQuorum keep the removed servers, which never learn of their removal, from
    disrupting it (thesis §4.2.3)."""
    cluster = ClusterModel(5, seed=3, prevote=True, check_quorum=True)
    cluster.settle(40)
    leader = cluster.leader()
    assert leader is not None
    for victim in [node for node in reversed(cluster.ids) if node != leader][:2]:
        core = cluster.cores[leader]
        assert core is not None
        assert core.propose_config_change("remove", victim) is not None
        cluster.process(leader)
        cluster.settle(10)
    cluster.put(leader, "k1")
    cluster.settle(10)
    core = cluster.cores[leader]
    assert core is not None and core.role is Role.LEADER
    assert len(core.voters) == 3 and core.config_index <= core.commit_index
    return cluster, leader, core.voters


def test_quorum_rules_stay_quiet_through_real_membership_changes() -> None:
    # The model cluster's own monitor watched every persist, vote, election and commit
    # of two removals: majorities of three after them are not majorities of five.
    cluster, _, _ = shrunk_cluster()
    cluster.check()
    assert cluster.monitor.ok, cluster.monitor.violations


def probe_monitor(cluster: ClusterModel) -> tuple[RaftSafetyMonitor, Events]:
    monitor = RaftSafetyMonitor(cluster.core)
    events = Events(monitor)
    for node in cluster.ids:
        events.recover(node)
    return monitor, events


def test_commit_quorum_counts_the_configuration_in_effect() -> None:
    # §5.3 / thesis §4.1: an entry is committed once durable on a majority of the leader's
    # configuration. After two removals, two of the three members are enough...
    cluster, leader, voters = shrunk_cluster()
    core = cluster.cores[leader]
    assert core is not None
    index, term = core.commit_index, core.term
    entry = [[index, term, "c1:1"]]
    follower = next(node for node in voters if node != leader)
    monitor, ev = probe_monitor(cluster)
    ev.persist(leader, entries=entry)
    ev.persist(follower, entries=entry)
    ev("raft.commit", leader, index=index, term=term)
    assert monitor.ok, monitor.violations  # 2 of 5 nodes, but 2 of the 3 members
    # ... but the leader alone is not, even counting removed servers that hold it.
    monitor, ev = probe_monitor(cluster)
    ev.persist(leader, entries=entry)
    for removed in (node for node in cluster.ids if node not in voters):
        ev.persist(removed, entries=entry)
    seq = ev("raft.commit", leader, index=index, term=term)
    assert rules(monitor) == [SafetyRule.COMMIT_QUORUM]
    violation = monitor.violations[0]
    assert violation.nodes == (leader,) and violation.index == index and violation.seqs == (seq,)
    assert "not a majority" in violation.message


def test_election_quorum_counts_votes_of_members_only() -> None:
    # §5.2 / thesis §4.1: a leader holds votes of a majority of its configuration. The
    # votes of servers it no longer counts do not make one.
    cluster, leader, voters = shrunk_cluster()
    core = cluster.cores[leader]
    assert core is not None
    term = core.term
    removed = [node for node in cluster.ids if node not in voters]
    monitor, ev = probe_monitor(cluster)
    for node in (leader, *removed):
        ev.persist(node, term=term, voted_for=leader, commit=0)
    ev.leader(leader, term)
    assert rules(monitor) == [SafetyRule.ELECTION_QUORUM]
    assert monitor.violations[0].term == term
    monitor, ev = probe_monitor(cluster)
    for node in voters[:2]:
        ev.persist(node, term=term, voted_for=leader, commit=0)
    ev.leader(leader, term)
    assert monitor.ok, monitor.violations


def test_election_quorum_counts_a_voter_that_persisted_only_a_later_term() -> None:
    # A server resumed with a burst of held vote requests handles them in one Ready: it
    # grants a vote in term T, moves on to a later term in the same batch and persists
    # only that (as etcd's Ready does). Safe: on disk the later term forbids another
    # vote in T. Such a voter counts; one that persisted a vote in T for another does not.
    cluster, leader, voters = shrunk_cluster()
    core = cluster.cores[leader]
    assert core is not None
    term = core.term
    ahead, other = [node for node in voters if node != leader][:2]
    monitor, ev = probe_monitor(cluster)
    ev.persist(leader, term=term, voted_for=leader, commit=0)
    ev.persist(ahead, term=term + 1, voted_for=None, commit=0)
    ev.leader(leader, term)
    assert monitor.ok, monitor.violations
    monitor, ev = probe_monitor(cluster)
    ev.persist(leader, term=term, voted_for=leader, commit=0)
    ev.persist(ahead, term=term, voted_for=other, commit=0)
    ev.persist(ahead, term=term + 1, voted_for=None, commit=0)
    ev.leader(leader, term)
    assert rules(monitor) == [SafetyRule.ELECTION_QUORUM]
