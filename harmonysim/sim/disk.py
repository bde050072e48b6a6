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

Checksums and storage faults (TigerBeetle's storage faults, FoundationDB's
non-durable files, "Protocol-Aware Recovery", FAST 2018):
- Every record carries a CRC-32 (``zlib.crc32``) of its encoding (``repr``, which is
  deterministic for the frozen records stored here). CRC-32 because the damage to
  detect is accidental (bit rot, torn sectors), not adversarial: it is what etcd's WAL
  and LevelDB use, a C call, and 32 bits miss a random corruption once in 4e9; a
  cryptographic hash (hashlib) would cost more and buy nothing here. The disk holds the
  records themselves, not bytes, so the stored checksum of an undamaged record is by
  construction the CRC of its content: the disk keeps only the damage (an XOR mask over
  the stored checksum, per durable position) and ``read_checked`` compares each CRC
  with the stored one when a restart reads a file that carries damage (in a file with
  none, every record's CRC matches by construction). The hot path pays nothing.
- Faults (each a ``disk.fault`` event with its target, counted in ``fault_counts``), from
  ``DiskFaults`` probabilities drawn on the disk's own stream (no draw at probability
  0, so a run without disk faults draws exactly as before) or asked by a fault:
  ``corrupt`` (records at rest read back damaged), ``torn`` (at the next crash a pending
  write lands fully, partially -- a prefix of an append, maybe a damaged last record; a
  value written damaged -- or not at all; pending writes land in order, so a prefix of
  them lands whole, at most the next one is torn and none after it lands), ``misdirect``
  (the next synced append writes one record at the wrong position, leaving garbage where
  it belonged), ``eio`` (reading a record fails),
  ``write_error`` (an fsync fails: its writes never become durable, as when a kernel
  drops the dirty pages of a failed fsync, and the disk's ``on_write_error`` is called
  instead of the fsync's callback), ``slow_fsync`` (drawn per fsync: this one fsync takes
  ``slow_fsync_us`` longer, a point event) and ``slow`` (asked by a fault: every fsync
  takes longer for a while, a span that ends with a record carrying ``after``).
- A rewrite heals: a truncated position forgets its damage, a written value too.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import simpy

from harmonysim.sim.events import EventKind, EventLog

__all__ = ["Disk", "DiskFaults", "DiskOp", "UnreadableRecord", "checksum"]

VALUE = -1  # the damage position of a value file


def checksum(value: Any) -> int:
    """The CRC-32 of a record's encoding (see the module docstring for why CRC-32)."""
    return zlib.crc32(repr(value).encode())


@dataclass(frozen=True, slots=True)
class DiskFaults:
    """Probabilities of storage faults on one disk (all 0: a disk that never lies)."""

    corrupt: float = 0.0  # per record made durable: it rots at rest
    torn: float = 0.0  # per crash with pending writes: they land fully, partly or not at all
    misdirect: float = 0.0  # per append made durable: one record lands at a wrong position
    read_error: float = 0.0  # per record read at a restart: EIO
    slow: float = 0.0  # per fsync: it takes slow_fsync_us longer
    slow_fsync_us: int = 50_000
    write_error: float = 0.0  # per fsync: it fails (EIO)

    @property
    def any(self) -> bool:
        return any(
            (self.corrupt, self.torn, self.misdirect, self.read_error, self.slow, self.write_error)
        )


@dataclass(frozen=True, slots=True)
class UnreadableRecord:
    """A record that could not be read back intact: its position (``VALUE`` for a value
    file) and why (``checksum``: damaged; ``eio``: the read failed)."""

    position: int
    reason: str


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
        self,
        env: simpy.Environment,
        log: EventLog,
        node_id: str,
        fsync_latency_us: int,
        faults: DiskFaults | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._env = env
        self._log = log
        self.node_id = node_id
        self.fsync_latency_us = fsync_latency_us
        self._slows: dict[int, int] = {}  # slow faults holding: key -> fsync µs, in start order
        self._slow_count = 0
        self._own_fsync_us = fsync_latency_us  # the latency without slow faults
        self._current: dict[str, Any] = {}
        self._durable: dict[str, Any] = {}
        self._journal: Journal = []
        self._next_op = 0
        self._epoch = 0
        self.fsyncs = 0
        # Told (node id, µs from an fsync's start to its writes being durable) as each
        # fsync completes: metrics without watching the event log (a hot path).
        self.on_synced: Callable[[str, int], None] | None = None
        # Storage faults (module docstring): damage masks and read errors by durable position.
        self.faults = faults if faults is not None and faults.any else None
        self._rng = rng if rng is not None else random.Random(f"disk/{node_id}")
        self._damage: dict[str, dict[int, int]] = {}
        self._eio: dict[str, set[int]] = {}
        self._torn_next = False
        self._misdirect_next = False
        self._write_error_next = False
        # Told when an fsync fails (the process on the node sets it; fail-stop is its job).
        self.on_write_error: Callable[[], None] | None = None
        self.fault_counts: dict[str, int] = {}

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
        started_us = self._env._now  # the attribute, not the property: once per fsync
        self.fsyncs += 1
        files: list[str] = []
        for _seq, _op, name, _argument in self._journal:
            if name not in files:
                files.append(name)
        self._log.emit(
            EventKind.DISK_FSYNC, self.node_id, {"ops": len(self._journal), "files": files}
        )

        faults = self.faults
        failing = self._write_error_next or (
            faults is not None and faults.write_error and self._rng.random() < faults.write_error
        )
        if failing:
            self._write_error_next = False

        def complete(_: simpy.Event) -> None:
            if epoch != self._epoch:
                return  # the node crashed meanwhile: this fsync never finished
            if failing:
                self._fault("write_error", None, {"ops": len(self._journal)})
                if self.on_write_error is not None:
                    self.on_write_error()
                return
            journal = self._journal
            synced = 0
            faulty = self.faults is not None or self._damage or self._eio or self._misdirect_next
            while synced < len(journal) and journal[synced][0] < upto:
                _seq, op, name, argument = journal[synced]
                if faulty:
                    self._apply_durable(op, name, argument)
                else:
                    _apply(self._durable, op, name, argument)
                synced += 1
            del journal[:synced]
            self._log.emit(EventKind.DISK_SYNCED, self.node_id, {"ops": synced})
            if self.on_synced is not None:
                self.on_synced(self.node_id, int(self._env._now - started_us))
            if callback is not None:
                callback()

        latency_us = self.fsync_latency_us
        if self.faults is not None and self.faults.slow and self._rng.random() < self.faults.slow:
            latency_us += self.faults.slow_fsync_us
            self._fault("slow_fsync", None, {"fsync_ms": latency_us / 1000.0})
        timeout = simpy.Timeout(self._env, latency_us)
        timeout.callbacks.append(complete)

    # -- failure ---------------------------------------------------------------

    def crash(self) -> int:
        """Lose unsynced writes; returns how many were lost (a torn crash lands some)."""
        if self._journal and (
            self._torn_next
            or (
                self.faults is not None
                and self.faults.torn
                and self._rng.random() < self.faults.torn
            )
        ):
            self._torn_next = False
            self._tear()
        lost = len(self._journal)
        self._journal.clear()
        self._epoch += 1
        self._current = {
            name: list(value) if isinstance(value, list) else value
            for name, value in self._durable.items()
        }
        self._log.emit(EventKind.DISK_LOST, self.node_id, {"ops": lost})
        return lost

    # -- storage faults (module docstring) ---------------------------------------------

    def configure_faults(self, faults: DiskFaults | None, rng: random.Random) -> None:
        """Draw storage faults with these probabilities (None: none) from ``rng``."""
        self.faults = faults if faults is not None and faults.any else None
        self._rng = rng

    def _fault(self, fault: str, name: str | None, fields: dict[str, Any]) -> None:
        self.fault_counts[fault] = self.fault_counts.get(fault, 0) + 1
        head: dict[str, Any] = {"fault": fault}
        if name is not None:
            head["file"] = name
        self._log.emit(EventKind.DISK_FAULT, self.node_id, {**head, **fields})

    def _apply_durable(self, op: DiskOp, name: str, argument: Any) -> None:
        """Apply one synced write to the durable view, healing what it rewrites and
        drawing the faults of a write (latent corruption, a misdirected append)."""
        durable = self._durable
        damage = self._damage.get(name)
        eio = self._eio.get(name)
        if op is DiskOp.WRITE:
            if damage:
                damage.pop(VALUE, None)
            if eio:
                eio.discard(VALUE)
            _apply(durable, op, name, argument)
            return
        if op is DiskOp.TRUNCATE:
            if damage:
                for position in [p for p in damage if p >= argument]:
                    del damage[position]
            if eio:
                eio.difference_update([p for p in eio if p >= argument])
            _apply(durable, op, name, argument)
            return
        start = len(durable.get(name) or ())
        _apply(durable, op, name, argument)
        faults = self.faults
        if faults is not None and faults.corrupt:
            for offset in range(len(argument)):
                if self._rng.random() < faults.corrupt:
                    self._damage_at(name, start + offset, "corrupt")
        if self._misdirect_next or (
            faults is not None and faults.misdirect and self._rng.random() < faults.misdirect
        ):
            self._misdirect_next = False
            self._misdirect(name, start, len(argument))

    def _damage_at(self, name: str, position: int, fault: str | None) -> None:
        mask = 1 << self._rng.randrange(32)
        self._damage.setdefault(name, {})[position] = mask
        if fault is not None:
            self._fault(fault, name, self._target(name, position))

    def _target(self, name: str, position: int) -> dict[str, Any]:
        """How a ``disk.fault`` names a record: its position and, for a log entry, index."""
        if position == VALUE:
            return {}
        records = self._durable.get(name) or []
        index = getattr(records[position], "index", None) if position < len(records) else None
        return {"position": position, "index": index}

    def _misdirect(self, name: str, start: int, count: int) -> None:
        records = self._durable[name]
        if len(records) < 2:
            return
        source = start + self._rng.randrange(count)
        target = self._rng.choice([p for p in range(len(records)) if p != source])
        fields = {"from_position": source, "to_position": target, **self._target(name, source)}
        records[target] = records[source]  # the record lands where it does not belong
        self._damage.setdefault(name, {}).pop(target, None)
        self._damage_at(name, source, None)  # and what was under the head stays garbage
        self._fault("misdirect", name, fields)

    def _tear(self) -> None:
        """A crash with writes pending: they land fully, partially or not at all
        (FoundationDB's non-durable files). Landed ops leave the journal."""
        journal = self._journal
        outcome = self._rng.choice(["none", "full", "partial"])
        landed = 0 if outcome == "none" else len(journal)
        fields: dict[str, Any] = {"outcome": outcome, "pending_ops": len(journal)}
        if outcome == "partial":
            landed = self._rng.randrange(len(journal))
        for _seq, op, name, argument in journal[:landed]:
            self._apply_durable(op, name, argument)
        if outcome == "partial":
            _seq, op, name, argument = journal[landed]
            fields["file"] = name
            if op is DiskOp.APPEND:
                keep = self._rng.randrange(1, len(argument) + 1)
                self._apply_durable(op, name, argument[:keep])
                fields["records_landed"] = keep
                if self._rng.random() < 0.5:  # the last record landed half-written
                    position = len(self._durable[name]) - 1
                    self._damage_at(name, position, None)
                    fields.update(self._target(name, position), damaged=True)
            elif op is DiskOp.WRITE:
                self._apply_durable(op, name, argument)
                self._damage_at(name, VALUE, None)
                fields["damaged"] = True
            else:
                self._apply_durable(op, name, argument)
            landed += 1
        fields["ops_landed"] = landed
        del journal[:landed]
        self._fault("torn", None, fields)

    # -- faults asked by the scenario (sim/faults.py) ------------------------------------

    def corrupt(self, name: str, low: int | None, high: int | None) -> list[int]:
        """Damage durable records at rest: a value file, or the records of a record file
        whose ``index`` is in ``[low, high]`` (one drawn from the seed when ``low`` is
        None). Returns the damaged positions (none: nothing there to damage)."""
        stored = self._durable.get(name)
        if stored is None:
            return []
        if not isinstance(stored, list):
            self._damage_at(name, VALUE, None)
            self._fault("corrupt", name, {})
            return [VALUE]
        if not stored:
            return []
        if low is None:
            positions = [self._rng.randrange(len(stored))]
        else:
            top = low if high is None else high
            positions = [
                p for p, record in enumerate(stored) if low <= getattr(record, "index", p) <= top
            ]
        for position in positions:
            self._damage_at(name, position, None)
        if positions:
            self._fault("corrupt", name, self._span(name, positions))
        return positions

    def _span(self, name: str, positions: list[int]) -> dict[str, Any]:
        """How a ``disk.fault`` names the records it hit: one, or the first and last."""
        if len(positions) == 1:
            return self._target(name, positions[0])
        first, last = self._target(name, positions[0]), self._target(name, positions[-1])
        return {
            "records": len(positions),
            "positions": [first["position"], last["position"]],
            "indexes": [first["index"], last["index"]],
        }

    def read_error(self, name: str, low: int | None, high: int | None) -> list[int]:
        """Make reads of these durable records fail (EIO) until they are rewritten."""
        stored = self._durable.get(name)
        if stored is None:
            return []
        if not isinstance(stored, list):
            positions = [VALUE]
        elif not stored:
            return []
        elif low is None:
            positions = [self._rng.randrange(len(stored))]
        else:
            top = low if high is None else high
            positions = [
                p for p, record in enumerate(stored) if low <= getattr(record, "index", p) <= top
            ]
        self._eio.setdefault(name, set()).update(positions)
        self._fault("eio", name, self._span(name, positions))
        return positions

    def arm_torn(self) -> None:
        """The next crash with writes pending tears them."""
        self._torn_next = True

    def arm_write_error(self) -> None:
        """The next fsync fails (EIO)."""
        self._write_error_next = True

    def arm_misdirect(self) -> None:
        """The next append made durable sends one record to a wrong position."""
        self._misdirect_next = True

    def slow(self, fsync_latency_us: int) -> Callable[[], None]:
        """fsyncs take ``fsync_latency_us`` from now on; returns the undo.

        Slow faults nest, undone in any order: while several hold, the latest started
        sets the latency (an undo that leaves others logs the latency they leave, with
        no ``after``: the disk is still slow); the last undo gives the disk its own
        latency back. Each undo restoring the latency it found left the disk slow for
        good when two overlapping faults ended out of order."""
        if not self._slows:
            self._own_fsync_us = self.fsync_latency_us
        self._slow_count += 1
        key = self._slow_count
        self._slows[key] = fsync_latency_us
        self.fsync_latency_us = fsync_latency_us
        self._fault("slow", None, {"fsync_ms": fsync_latency_us / 1000.0})

        def undo() -> None:
            if self._slows.pop(key, None) is None:
                return  # undone already
            if self._slows:
                self.fsync_latency_us = list(self._slows.values())[-1]
                self._fault("slow", None, {"fsync_ms": self.fsync_latency_us / 1000.0})
                return
            self.fsync_latency_us = self._own_fsync_us
            self._fault("slow", None, {"fsync_ms": self._own_fsync_us / 1000.0, "after": "slow"})

        return undo

    # -- reading back with checksums ---------------------------------------------------

    def read_checked(self, name: str) -> tuple[Any, list[UnreadableRecord]]:
        """What a restart reads: the durable content (the current view is a copy of it
        after a crash) and the records that fail their checksum or cannot be read."""
        value = self._durable.get(name)
        damage = self._damage.get(name) or {}
        eio = self._eio.get(name) or set()
        read_error = self.faults.read_error if self.faults is not None else 0.0
        problems: list[UnreadableRecord] = []
        if not isinstance(value, list):
            if value is None:
                return None, problems
            if VALUE in eio or (read_error and self._rng.random() < read_error):
                problems.append(UnreadableRecord(VALUE, "eio"))
            elif checksum(value) ^ damage.get(VALUE, 0) != checksum(value):
                problems.append(UnreadableRecord(VALUE, "checksum"))
            return value, problems
        if not damage and not eio and not read_error:
            return list(value), problems  # no record can fail: every CRC matches its own
        for position, record in enumerate(value):
            if position in eio or (read_error and self._rng.random() < read_error):
                problems.append(UnreadableRecord(position, "eio"))
            elif checksum(record) ^ damage.get(position, 0) != checksum(record):
                problems.append(UnreadableRecord(position, "checksum"))
        return list(value), problems
