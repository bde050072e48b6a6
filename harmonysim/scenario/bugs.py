"""The bug library: deliberate, named defects that a scenario can switch on.

Each bug breaks exactly one rule, so a run with the bug enabled shows that the
checkers notice the broken rule. A scenario names bugs in its `bugs:` list; the
names here are the closed vocabulary the schema accepts. The order is fixed and
is the order in which error messages and listings show them. The textbook bugs come
first; after them, bugs that shipped in real Raft implementations (each description ends
with its public report, and the switch reproduces that mechanism, not an approximation),
then B+ tree rebalancing slips.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

BUG_DESCRIPTIONS: Final = MappingProxyType(
    {
        "vote_without_log_check": (
            "grant votes without the up-to-date log check of the election restriction (§5.4.1)"
        ),
        "commit_prior_term_by_count": (
            "commit entries from earlier terms by counting replicas, the Figure 8 hazard (§5.4.2)"
        ),
        "no_conflict_truncation": (
            "append entries without deleting a conflicting suffix first (§5.3, Figure 2 rule 3)"
        ),
        "forget_vote_on_restart": (
            "keep votedFor only in memory, so a restarted node can vote twice in a term (Figure 2)"
        ),
        "read_without_read_index": (
            "serve reads (get, scan) from local state without confirming leadership, "
            "allowing stale reads (§8)"
        ),
        "ack_before_fsync": (
            "acknowledge appends and votes before the write is durable on disk (Figure 2)"
        ),
        "apply_before_commit": (
            "apply log entries to the state machine before they are committed (§5.3)"
        ),
        "lease_ignores_pause": (
            "age the read lease by timer callbacks, not elapsed time, so a leader paused "
            "while cut off serves stale lease reads on resume (thesis §6.4)"
        ),
        "ticks_on_wall_clock": (
            "drive the Raft timers and the lease from the wall clock, so a clock stepped "
            "back freezes a leader's lease while its followers' promises run out"
        ),
        "truncate_at_damaged_entry": (
            "treat a log entry that fails its checksum at a restart as the end of the log and "
            "truncate there, then vote as usual; loses committed writes (Protocol-Aware "
            "Recovery for Consensus-Based Storage, Alagappan et al., FAST 2018)"
        ),
        "btree_split_loses_key": ("drop the separator key when a B+ tree node splits"),
        "vote_response_term_unchecked": (
            "count a granted vote whatever term its response carries, so a late vote from an "
            "earlier term elects a second leader in a term (xnnyygn/xraft#33)"
        ),
        "follower_commit_beyond_match": (
            "a follower commits up to the leader's commit index bounded by its own last "
            "index, not by what the AppendEntries matched, committing a stale suffix "
            "(atomix/copycat#265)"
        ),
        "read_index_before_term_commit": (
            "answer ReadIndex from a new leader's commit index before it committed an entry "
            "of its term, which may lag the old leader's (etcd-io/etcd#7331)"
        ),
        "lease_survives_transfer": (
            "keep the read lease after sending TimeoutNow, so a leader cut off during a "
            "transfer serves lease reads while its successor writes (tikv/tikv#1593)"
        ),
        "config_change_before_term_commit": (
            "accept a membership change before the leader committed an entry of its term, so "
            "an uncommitted change of an earlier term can come back and undo it "
            "(atomix/copycat#23, baidu/braft#182)"
        ),
        "vote_ignores_leader_stickiness": (
            "honour RequestVote of a higher term within the minimum election timeout of "
            "hearing from a leader, so a removed server keeps deposing leaders "
            "(logcabin/logcabin#56, hashicorp/raft#524)"
        ),
        "lease_until_step_down": (
            "take the read lease as valid while the periodic CheckQuorum step-down check passes, "
            "so a cut-off leader serves lease reads after its successor is elected "
            "(sofastack/sofa-jraft#34, tikv/tikv#964)"
        ),
        "snapshot_truncates_newer_entries": (
            "an InstallSnapshot for a prefix of the follower's log keeps the prefix and drops the "
            "entries after it, which the leader counted as replicated (camunda/camunda#6092)"
        ),
        "pre_candidate_keeps_leader": (
            "a pre-candidate keeps its leader id and so refuses its peers' pre-votes as if it "
            "still heard from that leader (etcd-io/etcd#8334, #9586)"
        ),
        "pre_vote_reply_own_term": (
            "answer a pre-vote with the voter's own term, which the pre-candidate drops when "
            "it is lower, and take no term from a refused pre-vote one term ahead: a node "
            "restarted one term behind never catches up, and no leader is elected while its "
            "vote is needed (canonical/raft#279)"
        ),
        "read_round_kept_across_terms": (
            "a follower answers each heartbeat with the highest ReadIndex round it heard from "
            "any leader in any term, so a new leader whose round counter is lower confirms "
            "rounds nobody acknowledged and, once cut off, serves stale reads (rabbitmq/ra#340)"
        ),
        "election_timer_on_stale_append": (
            "restart a follower's election timer on every AppendEntries it receives, one of a "
            "stale term included, so a deposed leader that hears no answers keeps its old "
            "followers from electing a successor (goraft/raft#58)"
        ),
        "refuse_start_on_torn_log": (
            "take a log record torn by a crash (it fails its checksum at the restart) as fatal "
            "and refuse to start, instead of dropping the tail no one counted on, so a second "
            "failure leaves no majority (logcabin/logcabin#191)"
        ),
        "removal_while_change_pending": (
            "accept a membership removal while an earlier change is uncommitted, so a cut-off "
            "leader asked to remove servers shrinks its configuration until its minority is a "
            "majority, and commits beside the real leader (RedisLabs/redisraft#17)"
        ),
        "log_start_ignores_snapshot": (
            "at a restart, number a log that holds only entries written after the last "
            "snapshot from 1, not from the snapshot's index + 1, and refuse to start when it "
            "then ends behind the snapshot (canonical/raft#199)"
        ),
        "append_drops_later_entries": (
            "a follower replaces everything after an AppendEntries' previous entry with the "
            "entries it carries, conflicting or not, so a delayed or repeated AppendEntries "
            "deletes entries it acknowledged and the leader counted toward a commit "
            "(ktoso/akka-raft#66, lerna-stack/akka-entity-replication#152)"
        ),
        "removed_leader_counts_itself": (
            "a leader that removed itself from the configuration still counts its own log "
            "toward commit majorities, so its removal and the entries after it commit on a "
            "minority of the new configuration (nats-io/nats-server#7600, "
            "camunda/camunda#15232)"
        ),
        "btree_merge_drops_key": (
            "drop the absorbed leaf's first key when two B+ tree leaves merge"
        ),
        "btree_borrow_wrong_separator": (
            "make the borrowed key the separator when a B+ tree leaf borrows from its right "
            "sibling, so that key routes to the wrong leaf"
        ),
        "btree_scan_skips_leaf_boundary": (
            "resume an ascending range scan at the second key of each leaf it moves on to, "
            "so a scan that crosses a leaf boundary misses a key"
        ),
    }
)
"""Bug name -> one-line description, in library order."""

KNOWN_BUGS: Final[tuple[str, ...]] = tuple(BUG_DESCRIPTIONS)
"""Every bug name a scenario may enable, in library order."""
