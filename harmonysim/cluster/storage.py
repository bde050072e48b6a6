"""A Raft server's durable storage: what a ``Ready`` writes, and what a restart reads back.

One module for the three drivers of a Raft core -- the simulated server
(``cluster/server.py``), the pure test harness and the hypothesis cluster machine -- so
all three write the same files in the same order and check the same contract (the role
of etcd-io/raft's ``Storage``, here with the writes too).

Files (the on-disk format):
- ``hard_state`` and ``hard_state.b``: copies A and B of the hard state, each a
  ``HardStateCopy`` (the state and its update's sequence number). An update takes the
  next sequence number and writes A, then B (``server.py`` says why two and why this
  order is safe under one fsync).
- ``snapshot``: the last ``Snapshot``. ``log``: the ``Entry`` records after it, in index
  order (after a crash between a snapshot's write and the log's rewrite, the log may
  still begin with entries the snapshot covers; they are skipped on reading).
- ``repair``: 0, or the index a server in repair must hold the leader's log up to.

The medium is anything with ``Files``' five operations: the simulated disk
(``sim/disk.py``: volatile until fsync, faults, checksums) or ``MemoryDisk`` (every write
durable at once, never damaged). This module never fsyncs: when a write must be durable
before a message leaves is the driver's business (the server fsyncs every Ready and sends
its messages from the fsync's callback; the harnesses' memory disk is durable at once).

The contract (``save``, ``compact``), checked on every write; a breach raises
``ContractViolation`` naming the rule, whichever driver made it:
- gap: a Ready's entries are contiguous with each other and begin at most one past the
  last index stored (after the snapshot, if there is one);
- truncation below commit: entries that replace stored ones begin above the stored
  commit index, and never at or below the snapshot (committed entries never change, §5.3);
- snapshot: a snapshot from the leader is newer than the stored one and covers every
  committed entry, since it replaces the whole log; a compaction snapshots only stored
  entries, and the log it keeps follows the snapshot's index without a gap.
- A server with a bug switched on writes through the storage without its truncation
  and snapshot clauses (``strict=False``): such a bug breaks them on purpose (a follower
  that drops entries it acknowledged), and the run's checkers, not the storage, must
  show what follows. For the correct server and the harnesses the contract is strict.
- ``check_sent`` (persist before send, §5.2 "stable storage"): a granted vote, a term and
  an acknowledgement only for what is stored. The harnesses call it on every message;
  the server gets it by construction (messages leave from the fsync callback) and skips
  it on the hot path.
Writes go snapshot, entries, hard state. Nothing a Ready's messages speak for leaves
before all three are durable, so a crash between them (the disk keeps a prefix of its
writes) loses only what no peer was told. A crash between a snapshot and the log's
rewrite leaves a log the snapshot covers: entries that follow start the log afresh.

Reading back: ``load`` for a disk that cannot be damaged (the harnesses). The server
reads with the finer calls (``read_hard_state``, ``read_snapshot``, ``read_log``,
``read_repair_mark``, ``first_bad_position``, ``cut_log``, ``drop_snapshot``,
``rewrite_hard_state``, then ``recovered``) because what a damaged record means is its
policy, not storage: whether to repair from the leader, rewrite a hard-state copy or
halt depends on the Raft argument of ``raft/node.py`` ("Repair"), on the bug switches
that live in the server, and is reported with the server's events and metrics. This
module owns the format: which records exist, where the intact prefix of the log ends,
which hard-state copy is the newest, and the writes that repair the format.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from mypy_extensions import mypyc_attr

from harmonysim.raft import (
    AppendEntriesResponse,
    Entry,
    HardState,
    Message,
    Ready,
    RequestVote,
    RequestVoteResponse,
    Snapshot,
)

__all__ = [
    "HARD_STATE",
    "HARD_STATE_B",
    "HARD_STATE_COPIES",
    "LOG",
    "REPAIR",
    "SNAPSHOT",
    "ContractViolation",
    "Files",
    "HardStateCopy",
    "MemoryDisk",
    "Storage",
    "first_bad_position",
]

HARD_STATE = "hard_state"  # copy A of the hard state
HARD_STATE_B = "hard_state.b"  # copy B, written after A
HARD_STATE_COPIES = (HARD_STATE, HARD_STATE_B)
SNAPSHOT = "snapshot"
LOG = "log"
REPAIR = "repair"

# The rules a ContractViolation names (module docstring).
GAP = "gap"
TRUNCATION_BELOW_COMMIT = "truncation below commit"
SNAPSHOT_RULE = "snapshot"
PERSIST_BEFORE_SEND = "persist before send"


@mypyc_attr(native_class=False)  # compiled, an exception subclass must stay a Python class
class ContractViolation(AssertionError):
    """A write breaks the storage contract; ``rule`` names the clause."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"storage contract, {rule}: {detail}")
        self.rule = rule


class ReadProblem(Protocol):
    """A record that could not be read back intact (``sim.disk.UnreadableRecord``)."""

    @property
    def position(self) -> int: ...

    @property
    def reason(self) -> str: ...


class Files(Protocol):
    """What a storage medium offers: named value files and record-list files."""

    def write(self, name: str, value: Any) -> None: ...

    def append(self, name: str, records: Any) -> None: ...

    def truncate(self, name: str, length: int) -> None: ...

    def length(self, name: str) -> int: ...

    def read_checked(self, name: str) -> tuple[Any, Sequence[ReadProblem]]: ...


class MemoryDisk:
    """A medium where every write is durable at once and nothing is ever damaged."""

    def __init__(self) -> None:
        self.files: dict[str, Any] = {}

    def write(self, name: str, value: Any) -> None:
        self.files[name] = value

    def append(self, name: str, records: Any) -> None:
        self.files.setdefault(name, []).extend(records)

    def truncate(self, name: str, length: int) -> None:
        records = self.files.get(name)
        if records is not None:
            del records[length:]

    def length(self, name: str) -> int:
        records = self.files.get(name)
        return len(records) if isinstance(records, list) else 0

    def read_checked(self, name: str) -> tuple[Any, Sequence[ReadProblem]]:
        value = self.files.get(name)
        return (list(value) if isinstance(value, list) else value), []


@dataclass(frozen=True, slots=True)
class HardStateCopy:
    """One copy of the hard state on disk: the state and its update's sequence number."""

    seq: int
    state: HardState


def first_bad_position(
    stored: Sequence[Entry], problems: Sequence[ReadProblem], snapshot: Snapshot | None
) -> int | None:
    """The position of the first log record that failed its checksum, could not be read,
    or holds another index than its position's (a misdirected write); None if none."""
    cut = problems[0].position if problems else None
    if not stored or cut == 0:
        return cut
    first = stored[0].index
    if len(stored) > 1 and cut != 1 and stored[1].index != first + 1:
        return 0  # the first record holds another index than its successor implies
    if (snapshot is not None and first > snapshot.index + 1) or (snapshot is None and first != 1):
        return 0  # the first record is not the one after the snapshot: misplaced
    limit = len(stored) if cut is None else cut
    for position in range(limit):
        if stored[position].index != first + position:
            return position
    return cut


class Storage:
    """The files of one server on one medium, and the contract of writing them."""

    def __init__(self, disk: Files, *, strict: bool = True) -> None:
        self.disk = disk
        # Whether a write that breaks the contract raises. A server with a bug switched on
        # breaks it on purpose (a follower that drops acknowledged entries): there the
        # write goes through and the checkers judge what follows, not the storage.
        self.strict = strict
        self.hard_state: HardState | None = None  # the last one written or recovered
        self.commit = 0  # its commit index: entries up to it never change
        self.snapshot_index = 0
        self.log_first = 1  # the index of the log file's first record
        self.hard_seq = 0  # the sequence number of the last hard-state update

    @property
    def last_index(self) -> int:
        """The last index stored: the log's last entry, or the snapshot's."""
        stored = self.disk.length(LOG)
        last = self.log_first + stored - 1 if stored else 0
        return last if last > self.snapshot_index else self.snapshot_index

    @property
    def snapshot(self) -> Snapshot | None:
        """The stored snapshot (as a restart would read it, damage aside)."""
        snapshot: Snapshot | None = self.disk.read_checked(SNAPSHOT)[0]
        return snapshot

    # -- writing: the Ready contract ------------------------------------------------------

    def save(self, ready: Ready) -> bool:
        """Write a Ready's snapshot, entries and hard state, in that order (not yet
        durable on a disk that needs an fsync); False if it carries none of them."""
        wrote = False
        if ready.snapshot is not None:
            self.install_snapshot(ready.snapshot)
            wrote = True
        if ready.entries:
            self.append(ready.entries)
            wrote = True
        if ready.hard_state is not None:
            self.write_hard_state(ready.hard_state)
            wrote = True
        return wrote

    def install_snapshot(self, snapshot: Snapshot) -> None:
        """A snapshot from the leader replaces the whole log."""
        index = snapshot.index
        if self.strict and (index <= self.snapshot_index or index < self.commit):
            raise ContractViolation(
                SNAPSHOT_RULE,
                f"a snapshot at {index} replaces the log, but the stored snapshot is at "
                f"{self.snapshot_index} and entries up to {self.commit} are committed",
            )
        self.disk.write(SNAPSHOT, snapshot)
        self.disk.truncate(LOG, 0)
        self.snapshot_index = index
        self.log_first = index + 1

    def append(self, entries: Sequence[Entry]) -> None:
        """Write entries, first cutting the stored suffix they replace."""
        first = entries[0].index
        disk = self.disk
        stored = disk.length(LOG)
        last = self.log_first + stored - 1 if stored else 0
        if last < self.snapshot_index:
            last = self.snapshot_index
        if first > last + 1 or entries[-1].index != first + len(entries) - 1:
            raise ContractViolation(
                GAP,
                f"entries {first}..{entries[-1].index} ({len(entries)} of them) after "
                f"stored entries up to {last}",
            )
        if self.strict and (first <= self.commit or first <= self.snapshot_index):
            raise ContractViolation(
                TRUNCATION_BELOW_COMMIT,
                f"entries from {first} replace stored ones, but entries up to "
                f"{max(self.commit, self.snapshot_index)} are committed",
            )
        if stored and self.log_first + stored - 1 <= self.snapshot_index:
            # Only entries the snapshot covers (a crash came between the snapshot's
            # write and the log's rewrite): the new entries start the log afresh.
            disk.truncate(LOG, 0)
            stored = 0
        if stored == 0:
            self.log_first = first
        else:
            keep = first - self.log_first
            if keep < stored:
                disk.truncate(LOG, max(0, keep))
                if keep <= 0:
                    self.log_first = first
        disk.append(LOG, entries)

    def write_hard_state(
        self, state: HardState, order: tuple[str, ...] = HARD_STATE_COPIES
    ) -> None:
        """One hard-state update: the next sequence number, written to every copy in
        ``order``."""
        self.hard_seq += 1
        copy = HardStateCopy(self.hard_seq, state)
        disk = self.disk
        for name in order:
            disk.write(name, copy)
        self.hard_state = state
        self.commit = state.commit

    def compact(self, snapshot: Snapshot, rest: Sequence[Entry]) -> None:
        """The driver snapshotted its state machine (§7): the snapshot, then the log
        rewritten to ``rest``, the entries after the snapshot's index."""
        index = snapshot.index
        if index <= self.snapshot_index or index > self.last_index:
            raise ContractViolation(
                SNAPSHOT_RULE,
                f"a compaction to {index} must be newer than the stored snapshot at "
                f"{self.snapshot_index} and cover only stored entries (up to {self.last_index})",
            )
        if rest and (rest[0].index != index + 1 or rest[-1].index != index + len(rest)):
            raise ContractViolation(
                GAP,
                f"a compaction to {index} keeps entries {rest[0].index}..{rest[-1].index} "
                f"({len(rest)} of them)",
            )
        disk = self.disk
        disk.write(SNAPSHOT, snapshot)
        disk.truncate(LOG, 0)
        disk.append(LOG, rest)
        self.snapshot_index = index
        self.log_first = index + 1

    def write_repair_mark(self, index: int) -> None:
        """The repair marker: the index to hold the leader's log up to (0: none)."""
        self.disk.write(REPAIR, index)

    def check_sent(self, message: Message) -> None:
        """Persist before send: a message may grant a vote, carry a term or acknowledge
        entries only once the hard state and entries it speaks for are stored."""
        hard = self.hard_state
        kind = type(message)
        if kind is RequestVoteResponse:
            vote: RequestVoteResponse = message  # type: ignore[assignment]
            if (
                vote.granted
                and not vote.pre_vote
                and (hard is None or hard.voted_for != vote.dst or hard.term != vote.term)
            ):
                raise ContractViolation(
                    PERSIST_BEFORE_SEND, f"{vote.src} sent a vote before storing it: {vote}"
                )
        elif kind is AppendEntriesResponse:
            ack: AppendEntriesResponse = message  # type: ignore[assignment]
            if ack.success and self.last_index < ack.match_index:
                raise ContractViolation(
                    PERSIST_BEFORE_SEND,
                    f"{ack.src} acknowledged entries up to {ack.match_index}, stored up to "
                    f"{self.last_index}: {ack}",
                )
        pre_vote = isinstance(message, RequestVote | RequestVoteResponse) and message.pre_vote
        if not pre_vote and (hard is None or hard.term < message.term):
            raise ContractViolation(
                PERSIST_BEFORE_SEND,
                f"{message.src} sent term {message.term} before storing it: {message}",
            )

    # -- reading back -------------------------------------------------------------------

    def load(self) -> tuple[HardState | None, Snapshot | None, list[Entry]]:
        """Recover from a medium that cannot be damaged (``MemoryDisk``): the hard state,
        the snapshot and the log entries after it."""
        hard_state, damaged = self.read_hard_state()
        snapshot, snapshot_problems = self.read_snapshot()
        stored, log_problems = self.read_log()
        if (
            damaged
            or snapshot_problems
            or first_bad_position(stored, log_problems, snapshot) is not None
        ):
            raise ValueError("load() reads an undamaged medium; the server recovers damage")
        self.recovered(hard_state, snapshot, stored)
        floor = self.snapshot_index
        return hard_state, snapshot, [entry for entry in stored if entry.index > floor]

    def read_hard_state(self) -> tuple[HardState | None, list[tuple[str, str]]]:
        """The valid copy with the highest sequence number (None: no copy was ever
        written, the initial state) and the damaged copies, (file, why) each."""
        best: HardState | None = None
        best_seq = 0
        damaged: list[tuple[str, str]] = []
        for name in HARD_STATE_COPIES:
            copy, problems = self.disk.read_checked(name)
            if problems:
                damaged.append((name, problems[0].reason))
            elif copy is not None and (best is None or copy.seq > best_seq):
                best, best_seq = copy.state, copy.seq
        self.hard_seq = best_seq
        return best, damaged

    def rewrite_hard_state(self, state: HardState, damaged: str) -> None:
        """Write ``state`` again as a new update, the damaged copy first, so a torn write
        at the next crash finds the other copy intact."""
        others = tuple(name for name in HARD_STATE_COPIES if name != damaged)
        self.write_hard_state(state, (damaged, *others))

    def read_snapshot(self) -> tuple[Snapshot | None, Sequence[ReadProblem]]:
        snapshot, problems = self.disk.read_checked(SNAPSHOT)
        return snapshot, problems

    def read_log(self) -> tuple[list[Entry], Sequence[ReadProblem]]:
        stored, problems = self.disk.read_checked(LOG)
        return stored or [], problems

    def read_repair_mark(self) -> tuple[int | None, Sequence[ReadProblem]]:
        mark, problems = self.disk.read_checked(REPAIR)
        return mark, problems

    def cut_log(self, length: int) -> None:
        """Drop the log's records from position ``length`` on (a damaged suffix)."""
        self.disk.truncate(LOG, length)

    def drop_snapshot(self) -> None:
        self.disk.write(SNAPSHOT, None)

    def recovered(
        self, hard_state: HardState | None, snapshot: Snapshot | None, stored: Sequence[Entry]
    ) -> None:
        """What a restart settled on (``stored``: the log file's records as kept); the
        contract of later writes is checked against it."""
        self.hard_state = hard_state
        self.commit = hard_state.commit if hard_state is not None else 0
        self.snapshot_index = snapshot.index if snapshot is not None else 0
        self.log_first = stored[0].index if stored else self.snapshot_index + 1
