"""The in-memory Raft log of one server: snapshot offset, entries, stable and commit marks.

Rules of this file:

- Indices start at 1; index 0 with term 0 is the empty prefix every log shares (§5.3).
- Entries after the snapshot are contiguous and their terms never decrease (§5.3, a
  consequence of the Log Matching Property).
- ``stable_index`` is the highest index the server has persisted. Entries above it are
  handed out in ``Ready.entries``; truncating below it lowers it, so the server learns to
  truncate its stable log too.
- Entries up to ``committed`` are never truncated (§5.4, Leader Completeness); the log
  refuses to, rather than silently breaking safety.
- Compaction (§7) replaces a stable, applied prefix by a ``Snapshot``; the term of the last
  compacted entry stays known so the AppendEntries consistency check still works there.
"""

from __future__ import annotations

from collections.abc import Iterable

from mypy_extensions import mypyc_attr

from harmonysim.raft.types import Entry, Snapshot


# Compiled classes cannot derive from AssertionError; these stay plain Python classes.
@mypyc_attr(native_class=False)
class RaftInvariantError(AssertionError):
    """The Raft core found its own state impossible (two leaders in a term, a log that is
    not contiguous, entries to send below the log without a snapshot): a broken protocol,
    never bad input. A server stops for good on it, as etcd's and hashicorp's panic."""


@mypyc_attr(native_class=False)
class LogError(RaftInvariantError):
    """A request that would break a log invariant (a protocol violation, not bad input)."""


class RaftLog:
    """Entries after a snapshot, with stable/commit marks. Pure data structure.

    ``snapshot_index``, ``snapshot_term``, ``last_index`` and ``last_term`` are plain
    attributes kept current by every mutation rather than properties: the Raft core reads
    them several times per message (a measured hot spot). Treat them as read-only.
    """

    __slots__ = (
        "_entries",
        "committed",
        "last_index",
        "last_term",
        "snapshot",
        "snapshot_index",
        "snapshot_term",
        "stable_index",
    )

    snapshot: Snapshot | None
    snapshot_index: int
    snapshot_term: int
    last_index: int
    last_term: int

    def __init__(self, snapshot: Snapshot | None = None, entries: Iterable[Entry] = ()) -> None:
        self._entries: list[Entry] = []
        self._set_snapshot(snapshot)
        offset = self.snapshot_index
        for entry in entries:
            if entry.index <= offset:
                continue
            if entry.index != self.last_index + 1:
                raise ValueError(
                    f"stable entries are not contiguous: expected index {self.last_index + 1}, "
                    f"got {entry.index}"
                )
            if entry.term < self.last_term:
                raise ValueError(f"entry {entry.index} has a term lower than its predecessor")
            self._entries.append(entry)
            self.last_index, self.last_term = entry.index, entry.term
        self.stable_index: int = self.last_index
        self.committed: int = offset

    def _set_snapshot(self, snapshot: Snapshot | None) -> None:
        """Install ``snapshot`` as the compacted prefix; ``_entries`` must already follow it."""
        self.snapshot = snapshot
        self.snapshot_index = snapshot.index if snapshot is not None else 0
        self.snapshot_term = snapshot.term if snapshot is not None else 0
        self._set_last()

    def _set_last(self) -> None:
        entries = self._entries
        if entries:
            self.last_index = entries[-1].index
            self.last_term = entries[-1].term
        else:
            self.last_index = self.snapshot_index
            self.last_term = self.snapshot_term

    # ------------------------------------------------------------------ queries

    @property
    def first_index(self) -> int:
        """The first index still held as an entry (snapshot index + 1)."""
        return self.snapshot_index + 1

    def __len__(self) -> int:
        return len(self._entries)

    def term_at(self, index: int) -> int | None:
        """The term of the entry at ``index``, or None if compacted away or beyond the end."""
        offset = self.snapshot_index
        if index == offset:
            return self.snapshot_term
        if index < offset or index > self.last_index:
            return None
        return self._entries[index - offset - 1].term

    def entry(self, index: int) -> Entry:
        offset = self.snapshot_index
        if index <= offset or index > offset + len(self._entries):
            raise IndexError(f"no entry at index {index} (held: {offset + 1}..{self.last_index})")
        return self._entries[index - offset - 1]

    def slice(self, low: int, high: int) -> tuple[Entry, ...]:
        """Entries ``low..high`` inclusive (empty if ``high < low``); all must be held."""
        if high < low:
            return ()
        offset = self.snapshot_index
        if low <= offset or high > self.last_index:
            raise IndexError(f"slice {low}..{high} outside held entries {offset + 1}..")
        return tuple(self._entries[low - offset - 1 : high - offset])

    def unstable_entries(self) -> tuple[Entry, ...]:
        if self.stable_index >= self.last_index:
            return ()
        return tuple(self._entries[self.stable_index - self.snapshot_index :])

    def is_up_to_date(self, last_log_term: int, last_log_index: int) -> bool:
        """§5.4.1: a log is at least as up-to-date if its last term is higher, or equal with
        an index at least as large."""
        own_term = self.last_term
        if last_log_term != own_term:
            return last_log_term > own_term
        return last_log_index >= self.last_index

    def first_index_of_term_before(self, index: int, floor: int) -> int:
        """Walk back from ``index`` while the term stays the same, not below ``floor``."""
        term = self.term_at(index)
        position = index
        while position - 1 >= floor and self.term_at(position - 1) == term:
            position -= 1
        return position

    def last_index_of_term(self, term: int, start: int) -> int | None:
        """The highest index <= ``start`` holding ``term``, or None (fast backup, §5.3)."""
        position = min(start, self.last_index)
        while position >= self.snapshot_index:
            found = self.term_at(position)
            if found is None or found < term:
                return None
            if found == term:
                return position
            position -= 1
        return None

    # ------------------------------------------------------------------ mutations

    def append(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            if entry.index != self.last_index + 1:
                raise LogError(f"append at {entry.index}, expected {self.last_index + 1}")
            if entry.term < self.last_term:
                raise LogError(f"append of term {entry.term} after term {self.last_term}")
            self._entries.append(entry)
            self.last_index, self.last_term = entry.index, entry.term

    def truncate_after(self, index: int) -> None:
        """Drop every entry above ``index`` (conflict resolution, §5.3)."""
        if index < self.committed:
            raise LogError(f"refusing to truncate after {index}: committed up to {self.committed}")
        if index >= self.last_index:
            return
        del self._entries[index - self.snapshot_index :]
        self._set_last()
        self.stable_index = min(self.stable_index, index)

    def overwrite_in_place(self, entry: Entry) -> None:
        """Replace one held entry without touching the rest (only the no-truncation bug)."""
        position = entry.index - self.snapshot_index - 1
        if entry.index <= self.committed or position < 0 or position >= len(self._entries):
            raise LogError(f"cannot overwrite index {entry.index}")
        self._entries[position] = entry
        self._set_last()
        self.stable_index = min(self.stable_index, entry.index - 1)

    def stable_to(self, index: int, term: int) -> None:
        """The server persisted entries up to ``index``; ignored if that entry was replaced
        since (its term no longer matches)."""
        if self.term_at(index) == term and index > self.stable_index:
            self.stable_index = index

    def commit_to(self, index: int) -> None:
        if index > self.last_index:
            raise LogError(f"commit {index} beyond last index {self.last_index}")
        self.committed = max(self.committed, index)

    def compact(self, snapshot: Snapshot) -> None:
        """Discard entries up to ``snapshot.index``, which must be held and stable."""
        if snapshot.index <= self.snapshot_index:
            return
        if snapshot.index > self.stable_index or snapshot.index > self.committed:
            raise LogError(f"cannot compact to {snapshot.index}: not stable and committed")
        if self.term_at(snapshot.index) != snapshot.term:
            raise LogError(f"snapshot term {snapshot.term} mismatches entry {snapshot.index}")
        del self._entries[: snapshot.index - self.snapshot_index]
        self._set_snapshot(snapshot)

    def restore(self, snapshot: Snapshot) -> None:
        """Replace the whole log by a snapshot received from the leader (§7)."""
        self._entries = []
        self._set_snapshot(snapshot)
        self.committed = snapshot.index
        self.stable_index = snapshot.index

    def check_invariants(self) -> None:
        offset = self.snapshot_index
        previous_term = self.snapshot_term
        for position, entry in enumerate(self._entries):
            if entry.index != offset + position + 1:
                raise RaftInvariantError(f"log not contiguous at position {position}: {entry}")
            if entry.term < previous_term:
                raise RaftInvariantError(f"log term decreases at index {entry.index}")
            previous_term = entry.term
        if not offset <= self.committed <= self.last_index:
            raise RaftInvariantError(
                f"commit {self.committed} outside [{offset}, {self.last_index}] (snapshot, last)"
            )
        if not offset <= self.stable_index <= self.last_index:
            raise RaftInvariantError(f"stable index {self.stable_index} outside the log")
