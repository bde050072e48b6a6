"""Each library bug's staged run: a shipped scenario and seed where it shows, and the
check that owns the rule it breaks.

`harmonysim mutants --scenario` measures each bug twice: on a generic scenario that knows
nothing of it, and on its staged scenario here, so the table shows what the staging is
worth. The test of the bug library (tests/explore/test_bug_library.py) runs every entry
with the bug (its check must fail, and only the checks listed may fail with it) and
without it (every check must pass), so a bug switch that does nothing, or a checker that
false-alarms at that seed, cannot pass for a detection. Every bug of the library must
have an entry. Importing nothing, for the command line's help.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

__all__ = ["STAGED", "Stage"]


@dataclass(frozen=True, slots=True)
class Stage:
    """Where a bug shows, and which check must catch it there."""

    scenario: str  # a name in scenarios/
    seed: int
    check: str
    also: frozenset[str] = frozenset()  # other checks the broken rule may fail too

    @property
    def run(self) -> tuple[str, int]:
        return (self.scenario, self.seed)


STAGED: Final = MappingProxyType(
    {
        # §5.4.1: a candidate with a stale log wins and overwrites committed entries.
        "vote_without_log_check": Stage(
            "nemesis", 6, "raft_safety", frozenset({"linearizability"})
        ),
        # §5.4.2: the staged Figure 8 schedule commits 2@1 by counting, then loses it.
        "commit_prior_term_by_count": Stage("figure-8", 1, "raft_safety"),
        # §5.3: a kept conflicting suffix breaks Log Matching.
        "no_conflict_truncation": Stage("nemesis", 32, "raft_safety"),
        # Figure 2: two votes in one term after a restart -> two leaders in a term.
        "forget_vote_on_restart": Stage("nemesis", 1, "raft_safety"),
        # §8: a deposed leader answers reads from its own state: stale reads.
        "read_without_read_index": Stage("stale-leader", 1, "linearizability"),
        # Figure 2: an acknowledged entry lost in a crash -> a committed entry disappears.
        "ack_before_fsync": Stage("nemesis", 1, "raft_safety"),
        # §5.3: applying uncommitted entries; clients may see the effects of lost writes.
        "apply_before_commit": Stage("nemesis", 1, "raft_safety", frozenset({"linearizability"})),
        # §6.4: a paused leader's lease outlives the pause: stale lease reads.
        "lease_ignores_pause": Stage("lease-pause", 9, "linearizability"),
        # §6.4: a wall clock stepped back freezes the lease while followers move on.
        "ticks_on_wall_clock": Stage("clock-drift", 2, "linearizability"),
        # PAR (FAST 2018): truncating at a damaged acknowledged entry loses committed writes.
        "truncate_at_damaged_entry": Stage(
            "disk-corruption", 1, "raft_safety", frozenset({"linearizability"})
        ),
        # The tree's own invariant; the lost key also makes later reads wrong.
        "btree_split_loses_key": Stage(
            "nemesis", 1, "btree_invariants", frozenset({"linearizability"})
        ),
        # etcd-io/etcd#7331: a new leader answers ReadIndex before committing in its term,
        # at a commit index behind its predecessor's: stale reads across a transfer.
        "read_index_before_term_commit": Stage("leader-transfers", 3, "linearizability"),
        # tikv/tikv#1593: the old leader, cut off just after its transfer, keeps its lease.
        "lease_survives_transfer": Stage("transfer-then-cut", 1, "linearizability"),
        # logcabin/logcabin#56: the removed n5's elections depose the members' leaders (L4).
        "vote_ignores_leader_stickiness": Stage("removed-while-cut-off", 1, "liveness"),
        # sofastack/sofa-jraft#34: a cut-off leader serves lease reads until it steps down.
        "lease_until_step_down": Stage("leases-leader-cut-off", 2, "linearizability"),
        # etcd-io/etcd#8334: pre-candidates refuse each other's pre-votes: no leader.
        "pre_candidate_keeps_leader": Stage("leader-cut-off-close-timers", 5, "liveness"),
        # canonical/raft#279: a node back one term behind has its pre-vote grants dropped
        # and never takes the survivor's term: no leader while its vote is needed.
        "pre_vote_reply_own_term": Stage("stale-term-rejoin", 1, "liveness"),
        # rabbitmq/ra#340: answers carrying an earlier leader's read round confirm a new
        # leader's reads after it is cut off: stale reads.
        "read_round_kept_across_terms": Stage("new-leader-cut-off", 1, "linearizability"),
        # goraft/raft#58: a deposed leader's stale heartbeats restart the followers' election
        # timers: no follower campaigns once its real leader is gone.
        "election_timer_on_stale_append": Stage("deposed-leader-one-way", 1, "liveness"),
        # logcabin/logcabin#191: a torn log tail stops n2 for good; after the leader's
        # crash n3 is alone, and no leader is elected.
        "refuse_start_on_torn_log": Stage("torn-log", 51, "liveness"),
        # RedisLabs/redisraft#17: n1, cut off with n2, takes two removals at once and
        # commits in {n1, n2, n3} beside the majority's leader.
        "removal_while_change_pending": Stage("removals-cut-off", 1, "raft_safety"),
        # canonical/raft#199: n2, restarted after compaction, refuses its own log; after
        # the leader's crash n3 is alone, and no leader is elected.
        "log_start_ignores_snapshot": Stage("snapshot-restart", 1, "liveness"),
        # The tree's own invariants; the dropped or hidden key also makes reads wrong.
        "btree_merge_drops_key": Stage(
            "btree-churn", 1, "btree_invariants", frozenset({"linearizability"})
        ),
        "btree_borrow_wrong_separator": Stage(
            "btree-churn", 1, "btree_invariants", frozenset({"linearizability"})
        ),
        # The tree's structure is intact; only a scan's answer shows the skipped key.
        "btree_scan_skips_leaf_boundary": Stage("btree-scans", 1, "linearizability"),
        # ktoso/akka-raft#66: a late AppendEntries truncates entries the follower
        # acknowledged; a leader elected without one loses a committed entry.
        # Clients waiting on the lost entries are not answered: liveness may fail too.
        "append_drops_later_entries": Stage(
            "crash-restart-churn", 1, "raft_safety", frozenset({"liveness"})
        ),
        # nats-io/nats-server#7600: a leader removing itself commits with one member of
        # the new configuration; the other two elect a leader without the entry.
        "removed_leader_counts_itself": Stage("removed-leader-cut", 2, "raft_safety"),
    }
)
"""Bug name -> its staged run, in library order."""
