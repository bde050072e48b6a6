"""The one fold of the cluster state over the event log: what every reader of a run sees.

Rules:
- ``ClusterState.apply(record)`` folds one record in, through ``TRANSITIONS`` (kind ->
  how it changes the state; kinds not listed leave it alone). Records come in log
  order; the state after a record is the state "up to" that record. Readers (the
  dashboard's index, the plots, metric derivation, liveness, the Perfetto export,
  the alert scorer) fold with it and read what they need, instead of replaying the
  log on their own.
- It only reads what the run recorded: it never steps a Raft core or a network.
- Health: every server is up from the start; ``node.crash`` takes it down,
  ``node.restart`` brings it up, ``node.pause`` / ``node.resume`` pause and resume
  it (a crash also ends a pause).
- Roles (Raft §5.1): a server is a follower from the start and again when it
  restarts or reads its state back (``raft.recover``); ``raft.role`` sets the role,
  the term and the leader it knows. A crashed server has no role (``None``) and
  knows no leader until it restarts.
- Terms, votes, indexes: ``raft.role``, ``raft.term`` and ``raft.recover`` carry the
  term (the latter two the vote); ``raft.commit`` and ``raft.recover`` the commit
  index; ``raft.apply``, ``raft.restore`` (a snapshot loaded into the state machine)
  and ``raft.recover`` (the snapshot's index) the applied index; ``raft.persist`` the
  last index and its term (its last new entry, else its installed snapshot; a
  ``raft.recover`` also carries both) and the snapshot index, which ``raft.snapshot``
  (a compaction, §7) and ``raft.restore`` also move.
- B+ tree shape: a server's tree starts, and restarts with the server, as one leaf
  (depth 1, one node); a split adds a node, a merge removes one, ``btree.root``
  sets the depth and, by its ``reason``, adds the new root (``root_split``), removes
  the old one (``root_collapse``), empties the tree (``clear``: one node) or replaces
  it (``restore``: the ``node_count`` it records; unknown, ``None``, for a record
  without one). While the server is down its shape is unknown. ``splits`` and
  ``merges`` count since the start of the run, across restarts.
- Network: a ``net.partition`` replaces the cut (the directed links that drop) and a
  ``net.heal`` clears it; ``net.clog`` / ``net.unclog`` add and remove clogged links.
- Membership (thesis §4.1): the configuration is the ``members`` of ``run.start``
  (``None``: every server), then the ``voters`` of each ``membership`` record whose
  ``result`` is ``committed``. ``membership_open`` counts the changes asked for and
  not over: a ``requested`` step opens one, ``committed``, ``lost``, ``unchanged``,
  ``refused`` and ``unfinished`` close one (an ``accepted`` change is still in flight:
  its ``committed`` or ``lost`` comes later).
- Clock faults (``node.clock``): a record with ``after`` gives the clock back (no
  clock fault in effect); otherwise its ``rate`` sets ``clock_rate``, its ``jump_ms``
  adds to ``clock_step_ms`` and a ``strobe`` sets ``clock_strobe``.
- Halted servers: a ``disk.damage`` whose ``action`` is ``halt`` sets ``halted`` (the
  server stopped for good: its host is up, it takes no part); a crash or a restart
  clears it (a restart reads the disk again, and halts again if it must).
- Slow disks: a ``disk.fault`` of ``fault: slow`` sets ``disk_slow_ms`` to its
  ``fsync_ms``; with ``after`` (the undo) it clears it. Other disk faults act once.
- Leadership transfer (thesis §3.10): a ``leader.transfer`` record sets
  ``transfer_from`` (its node) and ``transfer_since_ms``; it is over when that node
  records a role other than leader or crashes, or another node records the leader
  role. A transfer that times out leaves no record: readers bound it themselves.
- A field a record leaves out (a hand-written log, an older one) leaves what it would
  set as it was.
- ``t_ms`` and ``seq`` are those of the last record folded. Nothing here depends on
  hashing order: ``to_json`` sorts nodes and links.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, cast

from harmonysim.btree.observer import StructureReason
from harmonysim.raft.types import Role
from harmonysim.runlog.vocabulary import (
    BtreeRoot,
    EventKind,
    EventRecord,
    Membership,
    NetClog,
    NetPartition,
    RaftPersist,
    RaftRecover,
    RaftRole,
    RaftTerm,
)

__all__ = [
    "STATE_KINDS",
    "TRANSITIONS",
    "ClusterState",
    "Health",
    "NodeState",
    "fold",
]

_FOLLOWER = Role.FOLLOWER.value
_LEADER = Role.LEADER.value
_MEMBERSHIP_OVER = frozenset({"committed", "lost", "unchanged", "refused", "unfinished"})


class Health(StrEnum):
    """Whether a node's host runs: the faults layer crashes, restarts, pauses and resumes it."""

    UP = "up"
    DOWN = "down"
    PAUSED = "paused"


@dataclass(slots=True)
class NodeState:
    """One server as its events describe it at some instant (see the module rules)."""

    role: str | None = _FOLLOWER
    term: int = 0
    leader: str | None = None
    voted_for: str | None = None
    commit_index: int = 0
    applied_index: int = 0
    last_index: int = 0
    snapshot_index: int = 0
    health: Health = Health.UP
    tree_depth: int | None = 1
    tree_nodes: int | None = 1
    splits: int = 0
    merges: int = 0
    clock_rate: float | None = None
    clock_step_ms: float = 0.0
    clock_strobe: bool = False
    disk_slow_ms: float | None = None
    halted: bool = False
    last_term: int = 0  # the term of the entry at last_index (of the snapshot if none)

    def copy(self) -> NodeState:
        return NodeState(
            self.role,
            self.term,
            self.leader,
            self.voted_for,
            self.commit_index,
            self.applied_index,
            self.last_index,
            self.snapshot_index,
            self.health,
            self.tree_depth,
            self.tree_nodes,
            self.splits,
            self.merges,
            self.clock_rate,
            self.clock_step_ms,
            self.clock_strobe,
            self.disk_slow_ms,
            self.halted,
            self.last_term,
        )

    @property
    def running(self) -> bool:
        """Up and not paused: the server takes part."""
        return self.health is Health.UP

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "term": self.term,
            "leader": self.leader,
            "voted_for": self.voted_for,
            "commit_index": self.commit_index,
            "applied_index": self.applied_index,
            "last_index": self.last_index,
            "snapshot_index": self.snapshot_index,
            "health": self.health.value,
            "tree_depth": self.tree_depth,
            "tree_nodes": self.tree_nodes,
            "splits": self.splits,
            "merges": self.merges,
            "clock_rate": self.clock_rate,
            "clock_step_ms": self.clock_step_ms,
            "clock_strobe": self.clock_strobe,
            "disk_slow_ms": self.disk_slow_ms,
            "halted": self.halted,
        }


@dataclass(slots=True)
class ClusterState:
    """The whole cluster at one instant: every server, the cut links and the clogged links."""

    t_ms: float
    seq: int
    nodes: dict[str, NodeState]
    cut: set[tuple[str, str]] = field(default_factory=set)
    clogged: set[tuple[str, str]] = field(default_factory=set)
    partition: str | None = None
    members: tuple[str, ...] | None = None
    membership_open: int = 0
    transfer_from: str | None = None
    transfer_since_ms: float | None = None

    @classmethod
    def initial(cls, nodes: Iterable[str] = ()) -> ClusterState:
        """The state before any event: ``nodes`` up, followers, nothing cut."""
        return cls(0.0, -1, {node: NodeState() for node in nodes})

    def copy(self) -> ClusterState:
        return ClusterState(
            self.t_ms,
            self.seq,
            {node: state.copy() for node, state in self.nodes.items()},
            set(self.cut),
            set(self.clogged),
            self.partition,
            self.members,
            self.membership_open,
            self.transfer_from,
            self.transfer_since_ms,
        )

    @property
    def leader(self) -> str | None:
        """The up node that leads in the highest term, if any (two may believe it briefly)."""
        best: tuple[int, str] | None = None
        for node in sorted(self.nodes):
            state = self.nodes[node]
            if state.role == _LEADER and state.health is Health.UP:
                candidate = (state.term, node)
                if best is None or candidate[0] > best[0]:
                    best = candidate
        return best[1] if best is not None else None

    def apply(self, record: EventRecord) -> None:
        """Fold one record into this state (the transition table ``TRANSITIONS``)."""
        self.t_ms = float(record["t"])
        self.seq = int(record["seq"])
        handler = TRANSITIONS.get(record["kind"])
        if handler is not None:
            handler(self, record)

    def to_json(self) -> dict[str, Any]:
        return {
            "t_ms": self.t_ms,
            "seq": self.seq,
            "leader": self.leader,
            "nodes": [{"id": node, **self.nodes[node].to_json()} for node in sorted(self.nodes)],
            "cut": [list(link) for link in sorted(self.cut)],
            "clogged": [list(link) for link in sorted(self.clogged)],
            "partition": self.partition,
            "members": None if self.members is None else list(self.members),
            "membership_open": self.membership_open,
            "transfer_from": self.transfer_from,
            "transfer_since_ms": self.transfer_since_ms,
        }

    # -- transitions --------------------------------------------------------------------

    def _node(self, record: EventRecord) -> NodeState:
        node = str(record["node"])
        state = self.nodes.get(node)
        if state is None:
            state = self.nodes[node] = NodeState()
        return state

    def _start(self, record: EventRecord) -> None:
        members = record.get("members")
        self.members = None if members is None else tuple(str(node) for node in members)

    def _membership(self, record: EventRecord) -> None:
        payload = cast(Membership, record)
        result = payload.get("result")
        if result == "committed" and "voters" in payload:
            self.members = tuple(str(node) for node in payload["voters"])
        if result == "requested":
            self.membership_open += 1
        elif result in _MEMBERSHIP_OVER:
            self.membership_open = max(0, self.membership_open - 1)

    def _role(self, record: EventRecord) -> None:
        payload = cast(RaftRole, record)
        state = self._node(record)
        state.role = str(payload["role"])
        if "term" in payload:
            state.term = int(payload["term"])
        state.leader = payload.get("leader")
        if self.transfer_from is not None and (
            (record["node"] == self.transfer_from) != (state.role == _LEADER)
        ):
            self._transfer_over()

    def _transfer_over(self) -> None:
        self.transfer_from = None
        self.transfer_since_ms = None

    def _transfer(self, record: EventRecord) -> None:
        self.transfer_from = str(record["node"])
        self.transfer_since_ms = float(record["t"])

    def _clock(self, record: EventRecord) -> None:
        state = self._node(record)
        if "after" in record:
            state.clock_rate, state.clock_step_ms, state.clock_strobe = None, 0.0, False
            return
        if record.get("rate") is not None:
            state.clock_rate = float(record["rate"])
        if record.get("jump_ms") is not None:
            state.clock_step_ms += float(record["jump_ms"])
        if record.get("strobe") is not None:
            state.clock_strobe = True

    def _damage(self, record: EventRecord) -> None:
        if record.get("action") == "halt":
            self._node(record).halted = True

    def _panic(self, record: EventRecord) -> None:
        self._node(record).halted = True  # its state machine failed: stopped for good

    def _disk_fault(self, record: EventRecord) -> None:
        if record.get("fault") != "slow":
            return
        state = self._node(record)
        state.disk_slow_ms = None if "after" in record else float(record["fsync_ms"])

    def _term(self, record: EventRecord) -> None:
        payload = cast(RaftTerm, record)
        state = self._node(record)
        state.term = int(payload["term"])
        state.voted_for = payload.get("voted_for")

    def _commit(self, record: EventRecord) -> None:
        self._node(record).commit_index = int(record["index"])

    def _apply_entry(self, record: EventRecord) -> None:
        self._node(record).applied_index = int(record["index"])

    def _persist(self, record: EventRecord) -> None:
        payload = cast(RaftPersist, record)
        state = self._node(record)
        snapshot = payload.get("snapshot")
        if snapshot is not None:
            state.snapshot_index = int(snapshot[0])
            state.last_index = int(snapshot[0])
            state.last_term = int(snapshot[1])
        entries = payload.get("entries")
        if entries:
            state.last_index = int(entries[-1][0])
            state.last_term = int(entries[-1][1])

    def _recover(self, record: EventRecord) -> None:
        payload = cast(RaftRecover, record)
        state = self._node(record)
        state.role = _FOLLOWER
        state.leader = None
        state.term = int(payload["term"])
        state.voted_for = payload.get("voted_for")
        state.commit_index = int(payload["commit"])
        # Older logs and hand-written ones may leave out the log's extent: kept as is.
        if "snapshot_index" in payload:
            state.snapshot_index = state.applied_index = int(payload["snapshot_index"])
        if "last_index" in payload:
            state.last_index = int(payload["last_index"])
        if "last_term" in payload:
            state.last_term = int(payload["last_term"])

    def _restore(self, record: EventRecord) -> None:
        state = self._node(record)
        state.snapshot_index = int(record["index"])
        state.applied_index = int(record["index"])

    def _compact(self, record: EventRecord) -> None:
        self._node(record).snapshot_index = int(record["index"])

    def _crash(self, record: EventRecord) -> None:
        if record["node"] == self.transfer_from:
            self._transfer_over()
        state = self._node(record)
        state.health = Health.DOWN
        state.halted = False
        state.role = None
        state.leader = None
        state.tree_depth = None
        state.tree_nodes = None

    def _restart(self, record: EventRecord) -> None:
        state = self._node(record)
        state.health = Health.UP
        state.halted = False
        state.role = _FOLLOWER
        state.leader = None
        state.tree_depth = 1
        state.tree_nodes = 1

    def _pause(self, record: EventRecord) -> None:
        self._node(record).health = Health.PAUSED

    def _resume(self, record: EventRecord) -> None:
        self._node(record).health = Health.UP

    def _split(self, record: EventRecord) -> None:
        state = self._node(record)
        state.splits += 1
        if state.tree_nodes is not None:
            state.tree_nodes += 1

    def _merge(self, record: EventRecord) -> None:
        state = self._node(record)
        state.merges += 1
        if state.tree_nodes is not None:
            state.tree_nodes -= 1

    def _root(self, record: EventRecord) -> None:
        payload = cast(BtreeRoot, record)
        state = self._node(record)
        state.tree_depth = int(payload["depth"])
        reason = payload.get("reason")
        count = state.tree_nodes
        if reason == StructureReason.ROOT_SPLIT:
            state.tree_nodes = None if count is None else count + 1
        elif reason == StructureReason.ROOT_COLLAPSE:
            state.tree_nodes = None if count is None else count - 1
        elif reason == StructureReason.CLEAR:
            state.tree_nodes = 1
        elif reason == StructureReason.RESTORE:
            recorded = payload.get("node_count")
            state.tree_nodes = int(recorded) if recorded is not None else None

    def _partition(self, record: EventRecord) -> None:
        payload = cast(NetPartition, record)
        self.cut = {(str(a), str(b)) for a, b in payload.get("cut", [])}
        self.partition = str(payload.get("shape", "partition"))

    def _heal(self, record: EventRecord) -> None:
        self.cut = set()
        self.partition = None

    def _clog(self, record: EventRecord) -> None:
        self.clogged |= {(str(a), str(b)) for a, b in cast(NetClog, record).get("links", [])}

    def _unclog(self, record: EventRecord) -> None:
        self.clogged -= {(str(a), str(b)) for a, b in cast(NetClog, record).get("links", [])}


TRANSITIONS: dict[str, Callable[[ClusterState, EventRecord], None]] = {
    EventKind.RUN_START: ClusterState._start,
    EventKind.MEMBERSHIP: ClusterState._membership,
    EventKind.RAFT_ROLE: ClusterState._role,
    EventKind.RAFT_TERM: ClusterState._term,
    EventKind.RAFT_COMMIT: ClusterState._commit,
    EventKind.RAFT_APPLY: ClusterState._apply_entry,
    EventKind.RAFT_PERSIST: ClusterState._persist,
    EventKind.RAFT_RECOVER: ClusterState._recover,
    EventKind.RAFT_RESTORE: ClusterState._restore,
    EventKind.RAFT_SNAPSHOT: ClusterState._compact,
    EventKind.NODE_CRASH: ClusterState._crash,
    EventKind.NODE_RESTART: ClusterState._restart,
    EventKind.NODE_PAUSE: ClusterState._pause,
    EventKind.NODE_RESUME: ClusterState._resume,
    EventKind.BTREE_SPLIT: ClusterState._split,
    EventKind.BTREE_MERGE: ClusterState._merge,
    EventKind.BTREE_ROOT: ClusterState._root,
    EventKind.NET_PARTITION: ClusterState._partition,
    EventKind.NET_HEAL: ClusterState._heal,
    EventKind.NET_CLOG: ClusterState._clog,
    EventKind.NET_UNCLOG: ClusterState._unclog,
    EventKind.NODE_CLOCK: ClusterState._clock,
    EventKind.DISK_FAULT: ClusterState._disk_fault,
    EventKind.DISK_DAMAGE: ClusterState._damage,
    EventKind.SERVER_PANIC: ClusterState._panic,
    EventKind.LEADER_TRANSFER: ClusterState._transfer,
}
"""Event kind -> how it changes the cluster state; kinds not listed leave it alone."""

STATE_KINDS: frozenset[str] = frozenset(TRANSITIONS)
"""The kinds that change the cluster state."""


def fold(records: Iterable[EventRecord], nodes: Iterable[str] = ()) -> ClusterState:
    """The state after every record of ``records`` (``nodes`` known from the start)."""
    state = ClusterState.initial(nodes)
    for record in records:
        state.apply(record)
    return state
