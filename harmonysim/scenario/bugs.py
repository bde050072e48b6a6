"""The bug library: deliberate, named defects that a scenario can switch on.

Each bug breaks exactly one rule, so a run with the bug enabled shows that the
checkers notice the broken rule. A scenario names bugs in its `bugs:` list; the
names here are the closed vocabulary the schema accepts. The order is fixed and
is the order in which error messages and listings show them.
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
            "serve reads from local state without confirming leadership, allowing stale reads (§8)"
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
    }
)
"""Bug name -> one-line description, in library order."""

KNOWN_BUGS: Final[tuple[str, ...]] = tuple(BUG_DESCRIPTIONS)
"""Every bug name a scenario may enable, in library order."""
