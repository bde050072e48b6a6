"""Per-follower replication progress kept by a leader (§5.3 nextIndex/matchIndex).

Rules of this file:

- ``match_index`` only grows while a leader stays in its term; ``next_index`` is always
  greater than ``match_index``.
- Three states, as in etcd-io/raft's flow control:
  ``PROBE``: the follower's log position is unknown; at most one AppendEntries is in flight
  and ``next_index`` backs up on rejections (fast backup, §5.3 end).
  ``REPLICATE``: the position is known; appends are pipelined optimistically, at most
  ``max_inflight_appends`` un-acknowledged messages at a time.
  ``SNAPSHOT``: the entries the follower needs were compacted away (§7); an InstallSnapshot
  is in flight and nothing else is sent until it is acknowledged or times out.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum


class ProgressState(Enum):
    PROBE = "probe"
    REPLICATE = "replicate"
    SNAPSHOT = "snapshot"


@dataclass(slots=True)
class Progress:
    """Mutable replication bookkeeping for one follower (leader-side, volatile)."""

    match_index: int
    next_index: int
    state: ProgressState = ProgressState.PROBE
    probe_sent: bool = False
    """PROBE: an AppendEntries is outstanding; wait for its answer or the next heartbeat."""
    inflight: deque[int] = field(default_factory=deque)
    """REPLICATE: last index carried by each un-acknowledged AppendEntries, ascending."""
    recent_active: bool = False
    """Heard from since the last CheckQuorum round."""
    read_round_acked: int = 0
    """Highest ReadIndex round this follower acknowledged in the current term."""
    commit_sent: int = 0
    """Highest commit index this follower can have learned from us."""
    match_at_last_heartbeat: int = 0
    """``match_index`` at the previous heartbeat, to detect stalled pipelines."""
    snapshot_index: int = 0
    """SNAPSHOT: index of the snapshot in flight."""
    snapshot_wait_ticks: int = 0
    """SNAPSHOT: ticks since the snapshot was sent."""

    def become_probe(self) -> None:
        self.state = ProgressState.PROBE
        self.next_index = self.match_index + 1
        self.probe_sent = False
        self.inflight.clear()

    def become_replicate(self) -> None:
        self.state = ProgressState.REPLICATE
        self.next_index = self.match_index + 1
        self.probe_sent = False
        self.inflight.clear()

    def become_snapshot(self, snapshot_index: int) -> None:
        self.state = ProgressState.SNAPSHOT
        self.snapshot_index = snapshot_index
        self.snapshot_wait_ticks = 0
        self.probe_sent = False
        self.inflight.clear()

    def update_match(self, index: int) -> bool:
        """Record an acknowledgement up to ``index``; True if it is news."""
        advanced = index > self.match_index
        if advanced:
            self.match_index = index
        self.next_index = max(self.next_index, index + 1)
        while self.inflight and self.inflight[0] <= index:
            self.inflight.popleft()
        return advanced

    def is_paused(self, max_inflight: int) -> bool:
        if self.state is ProgressState.PROBE:
            return self.probe_sent
        if self.state is ProgressState.REPLICATE:
            return len(self.inflight) >= max_inflight
        return True
