"""A database server on a virtual node: Raft core + B+ tree state machine + disk + tick timer.

The path of one write (DESIGN.md): a ``ClientRequest`` arrives -> ``propose`` ->
the core's ``Ready`` -> entries and hard state written and fsynced -> messages
sent -> followers persist and ack -> the leader commits -> every server applies
the committed entry to its B+ tree -> the leader replies to the client.

Rules (the Ready contract of ``harmonysim.raft``):
- Persist before send: a Ready's hard state, entries and snapshot are written
  and fsynced before any of its messages leave, so no vote or acknowledgement is
  ever given for state a crash could lose (Raft §5.2, §5.3 "stable storage").
- Then apply committed entries in order, answer reads whose ReadIndex is applied,
  and ``advance``. One Ready is handled at a time; messages that arrive while an
  fsync is in flight are stepped into the core and wait for the next Ready.
- A restarted server rebuilds everything from its disk alone: hard state, the
  last snapshot, and the log entries after it. The state machine restarts from the
  snapshot; the core hands out the committed entries above it again.
- Reads (get, scan) are served by ReadIndex (thesis §6.4): only once the core has
  confirmed leadership for a commit index and this server has applied it.
- Disk files: ``hard_state`` and ``hard_state.b`` (copies A and B of the HardState,
  below), ``snapshot`` (a Snapshot), ``log`` (the Entry records after the snapshot, in
  index order), ``repair`` (below). ``cluster/storage.py`` owns them: it writes a Ready
  and checks the storage contract (no gap, no truncation below commit, a snapshot
  replaces the prefix), and reads them back; the test harnesses use the same module.
  What a damaged record means (repair, rewrite, halt) is decided here.
- Membership (thesis §4.1): ``propose_membership`` hands one add or remove to the
  core when this server leads; the configuration takes effect on each server as soon
  as its CONFIG entry is in the log, and ``raft.config`` records each change of a
  server's configuration once the entry that caused it is durable. A server outside
  its own configuration (a spare not yet added, a removed server) answers clients
  with a redirect that names no leader: it cannot know the current one.
- Tracing and metrics are its observer's (``cluster/server_observer.py``): the server
  tells a ``ServerObserver`` what happened, one call per event, and holds no span (an
  unobserved server's observer is the no-op ``NullServerObserver``). Requests awaiting
  an answer are ``PendingWrite`` (by log index), ``PendingRead`` (by ReadIndex request
  id) and ``ReadyRead`` (confirmed, awaiting the apply of its index).

Bug switches (``scenario.bugs``) that live here: ``forget_vote_on_restart`` (the
vote is not reloaded after a crash), ``ack_before_fsync`` (messages leave before
their Ready is durable), ``read_without_read_index`` (a server that believes it is
the leader serves reads from its own state at once), ``ticks_on_wall_clock`` (the
timers and the lease run on the node's wall clock instead of its monotonic clock), and
three storage ones (below).

Storage faults (``sim/disk.py``; "Protocol-Aware Recovery for Consensus-Based Storage",
Alagappan et al., FAST 2018): a restart reads every record back with its checksum. A log
entry that fails it, cannot be read (EIO) or sits at the wrong position (a misdirected
write) ends the intact prefix; a damaged snapshot ends it at the start. The server cannot
tell a torn record of the unsynced tail from an acknowledged one that rotted, so it treats
both alike and never silently: it persists a ``repair`` marker (the last index its disk
held), drops the damaged suffix from disk, and hands the core the intact prefix and that
mark; the core votes for nobody and asks the leader to forget its acknowledgements above
the prefix until it holds the leader's log up to the mark (``raft/node.py``, "Repair"),
then ``raft.repaired`` and the marker is cleared.

The hard state (term, vote, commit) is rewritten in place, so one copy of it would be
lost with the write a crash tears; as TigerBeetle's superblock and etcd's WAL records do,
it is kept twice. Copies A (``hard_state``) and B (``hard_state.b``) are each a
``HardStateCopy``: the state and a sequence number, under the disk's checksum. An update
takes the next sequence number and writes copy A, then copy B, with the same content;
the Ready counts as persisted (its messages leave) only once the fsync covering both
completes. One fsync is enough because the disk makes writes durable in the order they
were made (a crash keeps a prefix of the write journal, and tears at most the first write
it loses: ``sim/disk.py``); a disk that reorders writes would need an fsync between the
copies. A restart reads both and takes the valid copy with the highest sequence number
(a copy never written counts as sequence 0, the initial state: every update writes both,
so a missing copy means no update ever completed). Why this never falls back to a vote
the server may have acted on:
- a crash tears at most the copy being written, and that write was not yet durable, so
  nothing was acted on it: the other copy holds the previous state (A torn: B holds it)
  or the new one (B torn: A landed whole before it). Either is safe to restart on: the
  previous one is the last state acted on, the new one was chosen and only not sent;
- a copy rotting at rest (or unreadable) after a completed update leaves the other
  holding the same, newest state.
Only when both copies are damaged are the term and vote unknown (any vote could be a
second vote in some term) and no peer can give them back: the server stops
(``disk.damage`` on ``hard_state`` with ``records: 2`` and ``action: halt``, listed in the
run summary). One damaged copy is a ``disk.damage`` on that copy with ``action:
rewrite``: before the server starts, the state it restarts on is written again as a new
update, the damaged copy first, so a torn write at the next crash finds the other intact.
An fsync that fails (EIO) is not retried: what it covered may be gone from the page
cache (PostgreSQL's "fsyncgate"), so the server fails-stop and is restarted after
``EIO_RESTART_US`` to recover from what its disk really holds (``disk.damage`` with
``action: restart``).
Every detection is a ``disk.damage`` event and counts in
``harmonysim_disk_corruptions_detected_total``. The bug ``truncate_at_damaged_entry``
truncates the log at the damaged entry and carries on as if it never had the rest. The bug
``refuse_start_on_torn_log`` (logcabin/logcabin#191) takes a damaged log record -- at a
restart, most often the last record of an append the crash tore -- as fatal: the server
stops (``disk.damage`` with ``action: halt``) as on a hard state damaged in both copies,
though what it lost was never acknowledged or can be had again from the leader.
``log_start_ignores_snapshot`` (canonical/raft#199) numbers a log that holds only
entries written after the last snapshot from 1 at a restart; behind the snapshot, it is
refused as corrupt (``disk.damage``, reason ``behind_snapshot``, ``action: halt``).

Time: the server tells the core every whole tick of its node's monotonic clock that
passed (``_catch_up_clock``), on each tick timer and as the node resumes from a pause,
so a late timer ages the lease and the election timers by the whole gap.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import simpy

from harmonysim.cluster.commands import ClientReply, ClientRequest, Command, ReplyStatus
from harmonysim.cluster.server_observer import NullServerObserver, ServerObserver
from harmonysim.cluster.state_machine import KVStateMachine, MachineSnapshot
from harmonysim.cluster.storage import (
    HARD_STATE,
    HARD_STATE_B,
    LOG,
    REPAIR,
    SNAPSHOT,
    HardStateCopy,
    Storage,
    first_bad_position,
)
from harmonysim.raft import (
    Bug,
    ConfigChange,
    ConfigOp,
    Entry,
    EntryKind,
    HardState,
    RaftConfig,
    RaftInvariantError,
    RaftNode,
    Ready,
    Role,
    Snapshot,
)
from harmonysim.sim.events import EventKind
from harmonysim.sim.network import Envelope

if TYPE_CHECKING:
    from harmonysim.btree import NodeKind
    from harmonysim.scenario import Scenario
    from harmonysim.sim.node import SimNode

__all__ = [
    "HARD_STATE",
    "HARD_STATE_B",
    "HardStateCopy",
    "KVServer",
    "PendingRead",
    "PendingWrite",
    "ReadyRead",
]

RAFT_BUGS = frozenset(bug.value for bug in Bug)  # the bug switches that live in the core

UNKNOWN_MARK = 2**62  # a damaged repair marker: the leader's answer bounds the repair
EIO_RESTART_US = 100_000  # a failed fsync: the supervisor restarts the server this later


def entry_id(entry: Entry) -> str:
    """A short, deterministic name for an entry's command, for the event log."""
    if entry.kind is EntryKind.NORMAL:
        command: Command = entry.data  # type: ignore[assignment]
        return f"{command.client}:{command.seq}"
    if entry.kind is EntryKind.NOOP:
        return "noop"
    change: ConfigChange = entry.data  # type: ignore[assignment]
    return f"config:{change.op}:{change.node}"


@dataclass(slots=True)
class PendingWrite:
    """A client write this server proposed as leader, awaiting its apply (by log index)."""

    client: str
    seq: int
    reply_to: str  # where the request came from


@dataclass(slots=True)
class PendingRead:
    """A client read awaiting its ReadIndex round (by request id, thesis §6.4)."""

    request: ClientRequest
    reply_to: str


@dataclass(slots=True)
class ReadyRead:
    """A read whose round confirmed leadership at ``index``: served once it is applied."""

    index: int
    read_id: int
    request: ClientRequest
    reply_to: str


class _TreeEvents:
    """B+ tree observer: structural changes into the event log and to the server's observer."""

    def __init__(self, node: SimNode, server: KVServer) -> None:
        self._emit = node.emit
        self._server = server
        self._observer = server.observer

    def on_split(
        self, kind: NodeKind, node_id: int, new_node_id: int, separator_key: Any, reason: str
    ) -> None:
        self._observer.btree_split(kind.value, node_id, separator_key, reason)
        self._emit(
            EventKind.BTREE_SPLIT,
            {
                "node_kind": kind.value,
                "tree_node": node_id,
                "new_tree_node": new_node_id,
                "separator": separator_key,
                "reason": reason,
            },
        )

    def on_merge(
        self, kind: NodeKind, node_id: int, absorbed_node_id: int, separator_key: Any, reason: str
    ) -> None:
        self._observer.btree_merge(kind.value, node_id, separator_key, reason)
        self._emit(
            EventKind.BTREE_MERGE,
            {
                "node_kind": kind.value,
                "tree_node": node_id,
                "absorbed": absorbed_node_id,
                "separator": separator_key,
                "reason": reason,
            },
        )

    def on_borrow(
        self, kind: NodeKind, node_id: int, sibling_id: int, separator_key: Any, reason: str
    ) -> None:
        self._emit(
            EventKind.BTREE_BORROW,
            {
                "node_kind": kind.value,
                "tree_node": node_id,
                "sibling": sibling_id,
                "separator": separator_key,
                "reason": reason,
            },
        )

    def on_root_change(self, old_root_id: int, new_root_id: int, depth: int, reason: str) -> None:
        tree = self._server.machine.tree
        self._emit(
            EventKind.BTREE_ROOT,
            {
                "old_root": old_root_id,
                "new_root": new_root_id,
                "depth": depth,
                "reason": reason,
                "node_count": tree.node_count,
                "items": len(tree),
            },
        )
        self._observer.btree_root(depth, tree.node_count)


class KVServer:
    """The process a database node runs (see the module docstring)."""

    def __init__(
        self,
        node: SimNode,
        scenario: Scenario,
        voters: tuple[str, ...],
        stats: dict[str, int] | None = None,
        on_config_applied: Callable[[str, Entry], None] | None = None,
        diagnoses: list[dict[str, Any]] | None = None,
        observer: ServerObserver | None = None,
    ) -> None:
        self.node = node
        # Whoever observes this server (cluster/server_observer.py): its spans and metrics.
        self.observer: ServerObserver = observer if observer is not None else NullServerObserver()
        self.diagnoses = diagnoses if diagnoses is not None else []
        self.panic: dict[str, Any] | None = None  # how its state machine failed, if it did
        self.stats = stats if stats is not None else {}
        # Told (node id, entry) whenever this server applies a CONFIG entry: it is committed.
        self.on_config_applied = on_config_applied
        settings = scenario.cluster.raft
        self.tick_ms = settings.tick_ms
        self._tick_us = max(1, round(self.tick_ms * 1000.0))
        self._last_tick_us = 0  # local time of the last tick the core was told of
        self.bugs = frozenset(scenario.bugs)
        self._bug_wall_clock = "ticks_on_wall_clock" in self.bugs
        self._bug_refuse_torn_log = "refuse_start_on_torn_log" in self.bugs
        self._bug_log_from_one = "log_start_ignores_snapshot" in self.bugs
        self.snapshot_threshold = settings.snapshot_threshold
        # The scenario schema converts and validates the ticks (scenario.model.duration_ticks).
        election_ticks_min, election_ticks_max = settings.election_timeout_ticks
        self.config = RaftConfig(
            node_id=node.id,
            voters=voters,
            election_timeout_ticks_min=election_ticks_min,
            election_timeout_ticks_max=election_ticks_max,
            heartbeat_interval_ticks=settings.heartbeat_interval_ticks,
            prevote=settings.prevote,
            check_quorum=settings.check_quorum,
            lease_reads=settings.lease_reads,
            leader_noop=settings.leader_noop,
            catch_up_new_servers=settings.catch_up,
            max_clock_drift=settings.max_clock_drift,
            bugs=frozenset(bug for bug in self.bugs if bug in RAFT_BUGS),
        )
        self.machine = KVStateMachine(scenario.cluster.btree.order, self.bugs)
        self.machine.set_observer(_TreeEvents(node, self))
        self.storage = Storage(node.disk, strict=not self.bugs)  # module docstring of storage
        self.raft = self._recover()
        node.disk.on_write_error = self._on_write_error
        self._persisting = False
        self._next_read = 0
        self._pending_writes: dict[int, PendingWrite] = {}  # by log index
        self._pending_reads: dict[int, PendingRead] = {}  # by ReadIndex request id
        self._ready_reads: deque[ReadyRead] = deque()  # in the order confirmed
        self._role = self.raft.role
        self._term = self.raft.term
        self._commit = self.raft.commit_index
        self._voters = tuple(sorted(self.config.voters))  # as the core orders them
        self._note_config()  # a restart may recover another configuration from its log

    # -- recovery -------------------------------------------------------------------

    def _recover(self) -> RaftNode:
        hard_state, snapshot, stored, repair_until = self._read_disk()
        floor = snapshot.index if snapshot is not None else 0
        entries = [entry for entry in stored if entry.index > floor]
        last = entries[-1].index if entries else floor
        if hard_state is not None and hard_state.commit > last:  # a log cut by damage
            hard_state = replace(hard_state, commit=last)
        self.storage.recovered(hard_state, snapshot, stored)
        if hard_state is not None and "forget_vote_on_restart" in self.bugs:
            hard_state = replace(hard_state, voted_for=None)
        if snapshot is not None:
            data: MachineSnapshot = snapshot.data  # type: ignore[assignment]
            try:
                self.machine.restore(data)
            except Exception as error:  # a broken store: stop, as a real server panics
                self._panic("restore", snapshot.index, error)
            else:
                self.node.emit(
                    EventKind.RAFT_RESTORE, {"index": snapshot.index, "term": snapshot.term}
                )
        raft = RaftNode(
            self.config,
            self.node.stream("raft"),
            hard_state=hard_state,
            snapshot=snapshot,
            entries=entries,
            repair_until=repair_until,
        )
        if self._halted:
            return raft  # never driven: the server stopped (see _read_disk)
        fields: dict[str, Any] = {
            "term": raft.term,
            "voted_for": raft.voted_for,
            "commit": raft.commit_index,
            "snapshot_index": floor,
            "last_index": raft.last_index,
            "last_term": raft.last_term,
        }
        if raft.repair_until:
            fields["repair_until"] = raft.repair_until
        self._repairing = raft.repair_until > 0
        self.node.emit(EventKind.RAFT_RECOVER, fields)
        return raft

    # -- storage faults: reading back with checksums (module docstring) -------------------

    _halted = False
    _halted_by_damage = False
    _repairing = False

    @property
    def halted(self) -> bool:
        """Stopped for good (its disk lost what no peer can give back, or a bug switch
        refused to start it)."""
        return self._halted

    @property
    def halted_by_damage(self) -> bool:
        """Stopped for good because its hard state is damaged: the one stop the correct
        server makes, forced on it by the disk (a fault, not a failure to be live)."""
        return self._halted_by_damage

    def _read_disk(
        self,
    ) -> tuple[HardState | None, Snapshot | None, list[Entry], int]:
        """Hard state, snapshot, the intact prefix of the log, and the repair mark (0: none).
        The storage module reads the files and finds where damage lies; what to do about it
        is decided here (module docstring)."""
        storage = self.storage
        hard_state, hard_damaged = self._read_hard_state()
        snapshot, snapshot_problems = storage.read_snapshot()
        stored, log_problems = storage.read_log()
        mark, mark_problems = storage.read_repair_mark()
        repair_until = UNKNOWN_MARK if mark_problems else int(mark or 0)
        if mark_problems:
            self._detected(REPAIR, mark_problems[0].reason, 0, "repair")
        if hard_damaged:
            return None, None, [], 0
        held_last = stored[-1].index if stored else 0
        if snapshot is not None:
            held_last = max(held_last, snapshot.index)
        cut = first_bad_position(stored, log_problems, snapshot)
        if snapshot_problems:
            self._detected(SNAPSHOT, snapshot_problems[0].reason, 1, "repair")
            snapshot, cut = None, 0
        if cut is None:
            if (
                self._bug_log_from_one
                and snapshot is not None
                and stored
                and stored[0].index == snapshot.index + 1
            ):
                return self._load_from_one(hard_state, snapshot, stored)
            return hard_state, snapshot, stored, repair_until if repair_until > held_last else 0
        first = snapshot.index + 1 if snapshot is not None else 1
        if stored and cut > 0:
            first = stored[0].index
        held_last = max(held_last, first + len(stored) - 1)
        bad = len(stored) - cut
        if self._bug_refuse_torn_log and not snapshot_problems:
            # The bug (logcabin/logcabin#191): a torn log record is taken as fatal.
            reason = log_problems[0].reason if log_problems else "misplaced"
            self._detected(LOG, reason, bad, "halt")
            self._halt("a log record is damaged (torn by the crash); refusing to start")
            return None, None, [], 0
        if not snapshot_problems:
            self._detected(
                LOG,
                log_problems[0].reason if log_problems else "misplaced",
                bad,
                "truncate" if "truncate_at_damaged_entry" in self.bugs else "repair",
                first + cut,
            )
        disk = self.node.disk
        if "truncate_at_damaged_entry" in self.bugs:
            # The bug (PAR, FAST 2018): the damaged entry is taken as the end of the log.
            storage.cut_log(cut)
            if snapshot_problems:
                storage.drop_snapshot()
            disk.fsync()
            return hard_state, snapshot, stored[:cut], 0
        repair_until = max(repair_until if repair_until != UNKNOWN_MARK else 0, held_last)
        # The mark is written before the cut, under one fsync: writes land in order, so a
        # crash that tears this fsync leaves the mark without the cut (the next start cuts
        # again), never a shorter log that looks whole and may vote.
        storage.write_repair_mark(repair_until)
        storage.cut_log(cut)
        if snapshot_problems:
            storage.drop_snapshot()
        disk.fsync()
        return hard_state, snapshot, stored[:cut], repair_until

    def _read_hard_state(self) -> tuple[HardState | None, bool]:
        """The hard state to restart on (module docstring): the valid copy with the highest
        sequence number, a copy never written counting as sequence 0 (None: the initial
        state). One damaged copy is rewritten; both damaged stop the server (True)."""
        state, damaged = self.storage.read_hard_state()
        if len(damaged) == 2:
            self._detected(HARD_STATE, damaged[0][1], len(damaged), "halt")
            self._halted_by_damage = True
            self._halt(
                "both copies of the hard state (term and vote) are damaged; "
                "no peer can restore a vote"
            )
            return None, True
        if damaged:
            ((name, reason),) = damaged
            self._detected(name, reason, 1, "rewrite")
            self.storage.rewrite_hard_state(HardState(0, None, 0) if state is None else state, name)
            self.node.disk.fsync()
        return state, False

    def _load_from_one(
        self, hard_state: HardState | None, snapshot: Snapshot, stored: list[Entry]
    ) -> tuple[HardState | None, Snapshot | None, list[Entry], int]:
        """The bug ``log_start_ignores_snapshot`` (canonical/raft#199, fixed by #218): a log
        holding only entries written after the last snapshot (libraft's open segments,
        whose entries carry no index) is numbered from 1, not from the snapshot's index + 1.
        Ending behind the snapshot, it is refused as corrupt and the server never starts;
        otherwise its entries load at the wrong indexes."""
        last = len(stored)
        if last < snapshot.index:
            self._detected(LOG, "behind_snapshot", 0, "halt")
            self._halt(
                f"last entry on disk has index {last}, which is behind last snapshot's "
                f"index {snapshot.index}"
            )
            return None, None, [], 0
        renumbered = [replace(entry, index=position + 1) for position, entry in enumerate(stored)]
        return hard_state, snapshot, renumbered, 0

    def _detected(self, name: str, reason: str, records: int, action: str, index: int = 0) -> None:
        """A ``disk.damage`` event, counted in the corruption metric."""
        fields: dict[str, Any] = {"file": name, "reason": reason, "records": records}
        if index:
            fields["from_index"] = index
        fields["action"] = action
        self.node.emit(EventKind.DISK_DAMAGE, fields)
        self.observer.damage_detected(name, records)

    def _raft_failed(self, error: RaftInvariantError) -> None:
        """The Raft core found its own state impossible: the server stops for good, as a
        real one panics, and the run goes on; ``raft_safety`` reports it (rule
        ``node_invariants``). Only a bug reaches this: a correct core never raises."""
        self._panic("raft", self.raft.commit_index, error)

    def _panic(self, during: str, index: int, error: Exception) -> None:
        """The state machine raised (``during`` restore or apply, at log ``index``), or the
        Raft core did (``during`` raft): the server stops for good rather than serve; the
        run goes on and ``btree_invariants`` (the store) or ``raft_safety`` (the core)
        reports the failure."""
        what = f"{type(error).__name__}: {error}"
        self.panic = {"t_ms": self.node.now_ms, "during": during, "index": index, "error": what}
        self.node.emit(EventKind.SERVER_PANIC, {"during": during, "index": index, "error": what})
        self._halt(f"the state machine failed during {during} at index {index}: {what}")

    def _halt(self, why: str) -> None:
        """Stop this server for good: no timers, every message ignored."""
        self._halted = True
        self.diagnoses.append({"t_ms": self.node.now_ms, "node": self.node.id, "halted": why})

    def _on_write_error(self) -> None:
        """An fsync failed (module docstring): fail-stop, and be restarted shortly."""
        node = self.node
        if node.process is not self:
            return
        node.emit(
            EventKind.DISK_DAMAGE,
            {"file": None, "reason": "eio", "records": 0, "action": "restart"},
        )
        node.crash({"cause": "fsync failed (EIO)"})
        restart = simpy.Timeout(node.env, EIO_RESTART_US)
        restart.callbacks.append(lambda _: node.restart({"after": "eio"}))

    def _note_repair(self) -> None:
        """The core left repair: clear the durable marker and say so."""
        if self.raft.repair_until:
            return
        self._repairing = False
        self.storage.write_repair_mark(0)
        self.node.emit(
            EventKind.RAFT_REPAIRED,
            {"last_index": self.raft.last_index, "leader": self.raft.leader},
        )

    # -- the process interface ------------------------------------------------------------

    def _clock_us(self) -> int:
        """The clock the timers run on: the node's monotonic clock (its wall clock under
        the bug ``ticks_on_wall_clock``, so a step of the wall clock moves every timer)."""
        node = self.node
        return node.wall_us if self._bug_wall_clock else node.local_us

    def start(self) -> None:
        if self._halted:
            return
        self._last_tick_us = self._clock_us()
        self.node.set_timer(self.tick_ms, "tick", self._tick)
        self._drive()

    def on_resume(self) -> None:
        """The process runs again after a pause: its clock jumped, so the core learns how
        long before it handles a single held message (a lease must not outlive the pause)."""
        if self._halted:
            return
        try:
            if self._catch_up_clock():
                self._drive()
        except RaftInvariantError as error:
            self._raft_failed(error)

    def on_crash(self) -> None:
        """The node crashed: nothing of this server survives it (its observer ends its spans)."""
        self.observer.crashed()

    def _catch_up_clock(self, now_us: int | None = None) -> bool:
        """Tell the core every whole tick of local time since the last one it saw."""
        if now_us is None:
            now_us = self._clock_us()
        elapsed = (now_us - self._last_tick_us) // self._tick_us
        if elapsed <= 0:
            return False
        self._last_tick_us += elapsed * self._tick_us
        self.raft.tick(elapsed)
        return True

    def _tick(self) -> None:
        # Hot path (every node, every tick): the clock is read once, and
        # ``_clock_us`` and ``_catch_up_clock`` are inlined.
        if self._halted:  # stopped for good: the timer is not armed again
            return
        node = self.node
        now_us = node.wall_us if self._bug_wall_clock else node.local_us
        tick_us = self._tick_us
        try:
            elapsed = (now_us - self._last_tick_us) // tick_us
            if elapsed > 0:
                self._last_tick_us += elapsed * tick_us
                self.raft.tick(elapsed)
            next_us = self._last_tick_us + tick_us - now_us
            node.set_timer(next_us / 1000.0, "tick", self._tick)
            self._drive()
        except RaftInvariantError as error:
            self._raft_failed(error)

    def on_message(self, envelope: Envelope) -> None:
        if self._halted:  # every message ignored
            return
        payload = envelope.payload
        try:
            if isinstance(payload, ClientRequest):
                self._on_client_request(payload, envelope.src, envelope.trace)
            else:
                self.observer.received(envelope)
                self.raft.step(payload)
            self._drive()
        except RaftInvariantError as error:
            self._raft_failed(error)

    # -- client requests --------------------------------------------------------------

    def _reply(
        self,
        to: str,
        request: ClientRequest,
        status: ReplyStatus,
        result: Any = None,
        trace: Any = None,
    ) -> None:
        hint = None
        if status is ReplyStatus.REDIRECT and self.node.id in self.raft.voters:
            hint = self.raft.leader  # outside the configuration it cannot know the leader
        reply = ClientReply(request.client, request.seq, status, result, hint)
        self.node.send(to, reply, trace)

    def _on_client_request(self, request: ClientRequest, sender: str, trace: Any) -> None:
        raft = self.raft
        if raft.role is not Role.LEADER:
            self._reply(sender, request, ReplyStatus.REDIRECT, trace=trace)
            return
        operation = request.operation
        observer = self.observer
        serve = observer.serving(request, trace)
        if operation.f.is_read:
            if "read_without_read_index" in self.bugs:
                self._serve_read(request, sender, serve)
                return
            self._next_read += 1
            if raft.read_index(self._next_read):
                self._pending_reads[self._next_read] = PendingRead(request, sender)
                observer.read_index_started(self._next_read, raft.term, serve)
            else:
                observer.refused(serve)
                self._reply(sender, request, ReplyStatus.REDIRECT, trace=trace)
            return
        index = raft.propose(Command(request.client, request.seq, operation))
        if index is None:
            observer.refused(serve)
            self._reply(sender, request, ReplyStatus.REDIRECT, trace=trace)
            return
        self._pending_writes[index] = PendingWrite(request.client, request.seq, sender)
        observer.proposed(index, raft.term, serve)

    def transfer_leadership(self, target: str) -> bool:
        """Start handing leadership to ``target`` (thesis §3.10); False if the core refuses."""
        if self._halted:
            return False
        try:
            started = self.raft.transfer_leadership(target)
            if started:
                self._drive()
        except RaftInvariantError as error:
            self._raft_failed(error)
            return False
        return started

    def propose_membership(self, op: ConfigOp | str, node: str) -> int | None:
        """Propose adding or removing one server (thesis §4.1): the CONFIG entry's index,
        or None when the core refuses (not leader, a change pending, nothing committed in
        this term yet, a change that changes nothing)."""
        if self._halted:
            return None
        try:
            index = self.raft.propose_config_change(op, node)
            if index is not None:
                self._drive()
        except RaftInvariantError as error:
            self._raft_failed(error)
            return None
        return index

    def _serve_read(self, request: ClientRequest, sender: str, serve: Any) -> None:
        """Read the B+ tree and reply (``serve``: the observer's handle of the request)."""
        command = Command(request.client, request.seq, request.operation)
        result, trace = self.observer.read(self.machine, command, serve)
        self._reply(sender, request, ReplyStatus.OK, result, trace)

    # -- the Ready loop -----------------------------------------------------------------

    def _drive(self) -> None:
        if self._persisting or not self.raft.has_ready():
            return
        ready = self.raft.ready()
        if not self.storage.save(ready):  # snapshot, entries, hard state (storage.py)
            self._handle(ready)
            return
        if ready.entries:
            self.observer.entries_written(ready.entries)
        disk = self.node.disk
        incarnation = self.node.incarnation
        if "ack_before_fsync" in self.bugs:
            # The bug: act on the Ready (send votes and acks) before it is durable.
            disk.fsync(lambda: self._durable(ready, incarnation))
            self._handle(ready)
            return
        self._persisting = True
        disk.fsync(lambda: self._persisted(ready, incarnation))

    def _persisted(self, ready: Ready, incarnation: int) -> None:
        if incarnation != self.node.incarnation or self._halted:
            return
        self._durable(ready, incarnation)
        self._persisting = False
        try:
            self._handle(ready)
        except RaftInvariantError as error:
            self._raft_failed(error)

    def _durable(self, ready: Ready, incarnation: int) -> None:
        """Record what just became durable: checkers rebuild each node's stable log from these."""
        if incarnation != self.node.incarnation:
            return
        fields: dict[str, Any] = {}
        if ready.hard_state is not None:
            fields["term"] = ready.hard_state.term
            fields["voted_for"] = ready.hard_state.voted_for
            fields["commit"] = ready.hard_state.commit
        if ready.snapshot is not None:
            fields["snapshot"] = [ready.snapshot.index, ready.snapshot.term]
        if ready.entries:
            fields["entries"] = [
                [entry.index, entry.term, entry_id(entry)] for entry in ready.entries
            ]
            # Leader or not as the event log shows it (raft.role follows this record).
            self.observer.entries_durable(ready.entries, self._role is Role.LEADER)
        self.node.emit(EventKind.RAFT_PERSIST, fields)

    def _handle(self, ready: Ready) -> None:
        node = self.node
        raft = self.raft
        observer = self.observer
        observer.send_messages(node, ready.messages)
        if ready.snapshot is not None:
            try:
                self.machine.restore(ready.snapshot.data)  # type: ignore[arg-type]
            except Exception as error:  # a broken store: stop, as a real server panics
                self._panic("restore", ready.snapshot.index, error)
                return
            node.emit(
                EventKind.RAFT_RESTORE, {"index": ready.snapshot.index, "term": ready.snapshot.term}
            )
            self._ready_reads.clear()
            observer.ready_reads_dropped()
        for entry in ready.committed_entries:
            try:
                self._apply(entry)
            except Exception as error:  # a broken store: stop, as a real server panics
                self._panic("apply", entry.index, error)
                return
        for read_state in ready.read_states:
            read_id: int = read_state.request_id  # type: ignore[assignment]
            pending = self._pending_reads.pop(read_id, None)
            observer.read_confirmed(read_id, read_state.index)
            if pending is not None:
                self._ready_reads.append(
                    ReadyRead(read_state.index, read_id, pending.request, pending.reply_to)
                )
        self._note_state(ready)
        if ready.entries or ready.snapshot is not None:
            self._note_config()
        raft.advance(ready)
        if self._repairing:
            self._note_repair()
        if ready.committed_entries or ready.read_states or ready.snapshot is not None:
            # Only these move the applied index or queue reads (most Readys carry none).
            self._serve_reads()
            self._maybe_compact()
        self._drive()

    def _note_state(self, ready: Ready) -> None:
        raft = self.raft
        node = self.node
        if ready.soft_state is not None:
            role = ready.soft_state.role
            if role is not self._role:
                if self._role is Role.LEADER:
                    self._abandon_requests()
                self._role = role
                if role is Role.CANDIDATE:
                    self.stats["elections"] = self.stats.get("elections", 0) + 1
                elif role is Role.LEADER:
                    self.stats["leader_changes"] = self.stats.get("leader_changes", 0) + 1
            node.emit(
                EventKind.RAFT_ROLE,
                {"role": role.name.lower(), "term": raft.term, "leader": ready.soft_state.leader},
            )
        if ready.hard_state is not None:
            if ready.hard_state.term != self._term:
                self._term = ready.hard_state.term
                node.emit(
                    EventKind.RAFT_TERM,
                    {"term": self._term, "voted_for": ready.hard_state.voted_for},
                )
            if ready.hard_state.commit != self._commit:
                self._commit = ready.hard_state.commit
                node.emit(EventKind.RAFT_COMMIT, {"index": self._commit, "term": self._term})
                self.observer.committed(self._commit)
        if ready.soft_state is not None or ready.hard_state is not None:
            self.observer.raft_state(raft, ready.soft_state is not None)

    def _note_config(self) -> None:
        """``raft.config`` when this server's configuration changed (thesis §4.1: it takes
        effect as soon as its entry is in the log; recorded once that entry is durable)."""
        raft = self.raft
        voters = raft.voters
        if voters == self._voters:
            return
        self._voters = voters
        self.node.emit(
            EventKind.RAFT_CONFIG,
            {
                "voters": list(voters),
                # The CONFIG entry's index, or the snapshot's when it brought the configuration.
                "index": raft.config_index or raft.snapshot_index,
                "member": self.node.id in voters,
            },
        )

    def _apply(self, entry: Entry) -> None:
        node = self.node
        if entry.kind is not EntryKind.NORMAL:
            node.emit(
                EventKind.RAFT_APPLY,
                {
                    "index": entry.index,
                    "term": entry.term,
                    "entry_kind": entry.kind.name.lower(),
                    "entry": entry_id(entry),
                },
            )
            if entry.kind is EntryKind.CONFIG and self.on_config_applied is not None:
                self.on_config_applied(node.id, entry)
            return
        command: Command = entry.data  # type: ignore[assignment]
        status, result, trace = self.observer.apply(self.machine, entry, command)
        node.emit(
            EventKind.RAFT_APPLY,
            {
                "index": entry.index,
                "term": entry.term,
                "entry_kind": "normal",
                "entry": entry_id(entry),
                "f": command.operation.f.value,
                "key": command.operation.key,
                "status": status.value,
            },
        )
        write = self._pending_writes.pop(entry.index, None)
        if write is None:
            return
        request = ClientRequest(write.client, write.seq, command.operation)
        if write.client == command.client and write.seq == command.seq:
            self.observer.write_answered(entry.index, status.value)
            self._reply(write.reply_to, request, status, result, trace)
        else:
            self.observer.write_answered(entry.index, "retry", "another entry took its index")
            self._reply(write.reply_to, request, ReplyStatus.RETRY, trace=trace)

    def _serve_reads(self) -> None:
        applied = self.raft.applied_index
        reads = self._ready_reads
        while reads and reads[0].index <= applied:
            read = reads.popleft()
            self._serve_read(read.request, read.reply_to, self.observer.read_due(read.read_id))

    def _abandon_requests(self) -> None:
        """Leadership lost: tell waiting clients to retry elsewhere."""
        self.observer.leadership_lost()
        for index in sorted(self._pending_writes):
            write = self._pending_writes[index]
            self.node.send(write.reply_to, ClientReply(write.client, write.seq, ReplyStatus.RETRY))
        for read_id in sorted(self._pending_reads):
            read = self._pending_reads[read_id]
            self._reply(read.reply_to, read.request, ReplyStatus.RETRY)
        for ready in self._ready_reads:
            self._reply(ready.reply_to, ready.request, ReplyStatus.RETRY)
        self._pending_writes.clear()
        self._pending_reads.clear()
        self._ready_reads.clear()

    def _maybe_compact(self) -> None:
        raft = self.raft
        applied = min(raft.applied_index, raft.commit_index)
        if applied - raft.snapshot_index < self.snapshot_threshold:
            return
        snapshot = raft.compact(applied, self.machine.snapshot())
        self.storage.compact(snapshot, raft.entries(applied + 1, raft.last_index))
        self.node.disk.fsync()
        self.node.emit(EventKind.RAFT_SNAPSHOT, {"index": snapshot.index, "term": snapshot.term})
        self.observer.compacted(applied)

    # -- views for the cluster, checkers and dashboards -------------------------------------

    @property
    def role(self) -> Role:
        return self.raft.role
