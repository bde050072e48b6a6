"""Each library bug's staged scenario: a shipped scenario whose faults aim at that bug.

`harmonysim mutants --scenario` measures each bug twice: on a generic scenario that
knows nothing of it, and on its staged scenario here (where one exists), so the table
shows how much the staging is worth. Importing nothing, for the command line's help.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

__all__ = ["STAGED"]

STAGED: Final = MappingProxyType(
    {
        "vote_without_log_check": "crash-restart-churn",
        "commit_prior_term_by_count": "figure-8",
        "no_conflict_truncation": "leader-isolation",
        "forget_vote_on_restart": "crash-restart-churn",
        "read_without_read_index": "stale-leader",
        "ack_before_fsync": "crash-restart-churn",
        "apply_before_commit": "leader-isolation",
        "lease_ignores_pause": "lease-pause",
        "ticks_on_wall_clock": "clock-drift",
        "btree_split_loses_key": "standard",
    }
)
"""Bug name -> the name of its staged scenario in ``scenarios/``."""
