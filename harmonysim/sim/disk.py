"""A node's disk: writes are volatile until an fsync completes; a crash keeps only what was synced.

Rules:
- The disk holds named files. A file is either a value (``write`` replaces it) or
  a record list (``append`` extends it, ``truncate`` cuts it to a length).
  Values and records must be immutable (tuples, frozen dataclasses): the disk
  shares them between its current and durable views instead of copying.
- Reads see every write so far (the page cache). Durability is a prefix of the
  write journal: ``fsync`` started at time T covers every write made before T and
  completes ``fsync_latency`` later; writes made after T need a later fsync.
- Writes are not logged one by one: ``disk.fsync`` names the files written since
  the previous fsync (in the order first written) and counts the operations it
  covers; ``disk.synced`` marks its completion. (A record per write was a tenth of
  a run's event log and nobody read it.)
- ``crash`` discards every unsynced write (``disk.lost`` with their count),
  cancels fsyncs in flight (their callbacks never run) and rolls the current
  view back to the durable one. The durable view is what a restart reads.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

import simpy

from harmonysim.sim.events import EventKind, EventLog

__all__ = ["Disk", "DiskOp"]


class DiskOp(Enum):
    WRITE = "write"
    APPEND = "append"
    TRUNCATE = "truncate"


Journal = list[tuple[int, DiskOp, str, Any]]


def _apply(files: dict[str, Any], op: DiskOp, name: str, argument: Any) -> None:
    if op is DiskOp.WRITE:
        files[name] = argument
    elif op is DiskOp.APPEND:
        records = files.get(name)
        if records is None:
            files[name] = list(argument)
        else:
            records.extend(argument)
    else:
        records = files.get(name)
        if records is not None:
            del records[argument:]


class Disk:
    """A simulated disk with explicit fsync durability."""

    def __init__(
        self, env: simpy.Environment, log: EventLog, node_id: str, fsync_latency_us: int
    ) -> None:
        self._env = env
        self._log = log
        self.node_id = node_id
        self.fsync_latency_us = fsync_latency_us
        self._current: dict[str, Any] = {}
        self._durable: dict[str, Any] = {}
        self._journal: Journal = []
        self._next_op = 0
        self._epoch = 0
        self.fsyncs = 0

    # -- reads -----------------------------------------------------------------

    def read(self, name: str, default: Any = None) -> Any:
        """The file's current content (unsynced writes included)."""
        value = self._current.get(name, default)
        return list(value) if isinstance(value, list) else value

    def read_durable(self, name: str, default: Any = None) -> Any:
        """What would survive a crash right now."""
        value = self._durable.get(name, default)
        return list(value) if isinstance(value, list) else value

    def length(self, name: str) -> int:
        records = self._current.get(name)
        return len(records) if isinstance(records, list) else 0

    @property
    def unsynced(self) -> int:
        return len(self._journal)

    # -- writes ----------------------------------------------------------------

    def _record(self, op: DiskOp, name: str, argument: Any) -> None:
        _apply(self._current, op, name, argument)
        self._journal.append((self._next_op, op, name, argument))
        self._next_op += 1

    def write(self, name: str, value: Any) -> None:
        self._record(DiskOp.WRITE, name, value)

    def append(self, name: str, records: Any) -> None:
        records = tuple(records)
        if records:
            self._record(DiskOp.APPEND, name, records)

    def truncate(self, name: str, length: int) -> None:
        if self.length(name) > length:
            self._record(DiskOp.TRUNCATE, name, length)

    def fsync(self, callback: Callable[[], None] | None = None) -> None:
        """Make every write so far durable after the fsync latency, then call ``callback``."""
        upto = self._next_op
        epoch = self._epoch
        self.fsyncs += 1
        files: list[str] = []
        for _seq, _op, name, _argument in self._journal:
            if name not in files:
                files.append(name)
        self._log.emit(
            EventKind.DISK_FSYNC, self.node_id, {"ops": len(self._journal), "files": files}
        )

        def complete(_: simpy.Event) -> None:
            if epoch != self._epoch:
                return  # the node crashed meanwhile: this fsync never finished
            journal = self._journal
            synced = 0
            while synced < len(journal) and journal[synced][0] < upto:
                _seq, op, name, argument = journal[synced]
                _apply(self._durable, op, name, argument)
                synced += 1
            del journal[:synced]
            self._log.emit(EventKind.DISK_SYNCED, self.node_id, {"ops": synced})
            if callback is not None:
                callback()

        timeout = simpy.Timeout(self._env, self.fsync_latency_us)
        timeout.callbacks.append(complete)

    # -- failure ---------------------------------------------------------------

    def crash(self) -> int:
        """Lose unsynced writes; returns how many were lost."""
        lost = len(self._journal)
        self._journal.clear()
        self._epoch += 1
        self._current = {
            name: list(value) if isinstance(value, list) else value
            for name, value in self._durable.items()
        }
        self._log.emit(EventKind.DISK_LOST, self.node_id, {"ops": lost})
        return lost
