"""The faults a run's readers mark, and the one name each goes by.

Rules:
- ``fault_label(record)`` is the name of a fault record wherever it is shown: the
  dashboard's fault list, the timeline plot's tooltips and gids' order, the Perfetto
  export's instants and slices, the span events of derived traces. It names the
  server a fault hits first (``n2 clock rate 0.96``), except a membership change,
  named by what it does to its target (``remove n3``).
- ``MARKED_KINDS`` are the records listed as faults: every record about faults
  (``FAULT_RECORD_KINDS``), the storage faults, what a server found and did about
  them (``disk.damage``, ``raft.repaired``), and the steps of a membership change that
  open and close it (``requested``; ``committed``, ``unchanged``, ``refused``,
  ``unfinished``: ``is_marked`` tells them from the steps in between).
- ``FaultMarker`` turns a stream of records into ``FaultMark`` values for the faults
  the role/health/network drawings do not show: clock faults, storage faults,
  leadership transfers, membership changes and faults without effect. What lasts is
  read from the one fold (``harmonysim.runlog.fold``): a clock runs at another rate
  while the fold's ``clock_rate`` is set, strobes while ``clock_strobe`` is, a disk
  is slow while ``disk_slow_ms`` is, a server is halted while ``halted`` is; a span
  ends when the fold's value changes (a new rate ends the previous rate's span and
  starts its own) or with the run. Everything else is an instant
  (``start_ms == end_ms``): a wall-clock jump, a storage fault (torn, corrupt,
  misdirect, eio, write_error), damage detected, a repair done, a transfer (from its
  ``node`` to its ``to``), a voter removal or addition asked for (at its
  ``requested`` step; the configuration it commits is drawn as "not a member"), a
  membership change that ended without committing, and a ``fault.noop``.
- Known gap: a slow fsync drawn by the disk's fault probabilities (``cluster.disk.
  faults.slow``) logs the same ``disk.fault`` (``slow``, ``fsync_ms``, no ``after``) as
  a slow disk asked by a fault, so the fold, and these marks, take it as a disk slow
  from then on. No shipped scenario sets those probabilities.
- Marks come out in start order (then node order, then kind), whatever order spans
  closed in; nothing depends on hashing order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from harmonysim.runlog.fold import ClusterState, NodeState
from harmonysim.runlog.vocabulary import (
    FAULT_RECORD_KINDS,
    EventKind,
    EventRecord,
    natural_key,
)

__all__ = [
    "MARKED_KINDS",
    "SERVER_FAULT_KINDS",
    "SPAN_KINDS",
    "FaultMark",
    "FaultMarker",
    "MarkKind",
    "fault_label",
    "fault_marks",
    "fault_span_event",
    "is_marked",
    "mark_node",
]

MARKED_KINDS: frozenset[str] = FAULT_RECORD_KINDS | {
    EventKind.DISK_FAULT,
    EventKind.DISK_DAMAGE,
    EventKind.RAFT_REPAIRED,
    EventKind.MEMBERSHIP,
}
"""The records listed as faults (``is_marked`` keeps a membership change's ends only)."""

SERVER_FAULT_KINDS: frozenset[str] = frozenset(
    {
        EventKind.NODE_CLOCK,
        EventKind.DISK_FAULT,
        EventKind.DISK_DAMAGE,
        EventKind.RAFT_REPAIRED,
        EventKind.LEADER_TRANSFER,
        EventKind.MEMBERSHIP,
        EventKind.FAULT_NOOP,
    }
)
"""The marked kinds that hit one server (``mark_node``) beyond its health: what
``FaultMarker`` marks (a ``fault.noop`` may name no server)."""

_MEMBERSHIP_ENDS = frozenset(
    {"requested", "committed", "lost", "unchanged", "refused", "unfinished"}
)
_MEMBERSHIP_FAILED = frozenset({"lost", "unchanged", "refused", "unfinished"})


class MarkKind(StrEnum):
    """What a mark shows; the value is its name in legends."""

    CLOCK_RATE = "clock rate"
    CLOCK_JUMP = "clock jump"
    CLOCK_STROBE = "clock strobe"
    DISK_FAULT = "disk fault"
    DISK_SLOW = "slow disk"
    DAMAGE = "damage detected"
    HALTED = "halted (damaged disk)"
    REPAIRED = "repaired"
    TRANSFER = "leadership transfer"
    REMOVE = "voter removal"
    ADD = "voter addition"
    NOOP = "fault without effect"


SPAN_KINDS: frozenset[MarkKind] = frozenset(
    {MarkKind.CLOCK_RATE, MarkKind.CLOCK_STROBE, MarkKind.DISK_SLOW, MarkKind.HALTED}
)
"""The marks that last (a span); the others are instants."""


@dataclass(frozen=True, slots=True)
class FaultMark:
    """One fault on one server (``node``; None for a fault that names none)."""

    kind: MarkKind
    node: str | None
    start_ms: float
    end_ms: float
    label: str  # fault_label of the record that started it
    short: str  # what the plot writes beside it: "×0.96", "-1 s", "torn", "n1→n2"
    peer: str | None = None  # a transfer's target

    @property
    def lasting(self) -> bool:
        return self.kind in SPAN_KINDS


def is_marked(record: EventRecord) -> bool:
    """True for a record listed as a fault (``MARKED_KINDS``, a membership change's ends)."""
    kind = record["kind"]
    if kind not in MARKED_KINDS:
        return False
    return kind != EventKind.MEMBERSHIP or record.get("result") in _MEMBERSHIP_ENDS


def mark_node(record: EventRecord) -> str | None:
    """The server a fault record hits: its ``node``, a membership change's ``target``."""
    if record["kind"] == EventKind.MEMBERSHIP:
        target = record.get("target")
        return str(target) if target is not None else None
    node = record.get("node")
    return str(node) if node is not None else None


def _number(value: Any) -> str:
    return f"{float(value):g}"


def _seconds(ms: float) -> str:
    """A clock step, signed, in the unit that reads best: ``-1 s``, ``+250 ms``."""
    if abs(ms) >= 1000.0:
        return f"{ms / 1000.0:+g} s"
    return f"{ms:+g} ms"


def _clock(record: EventRecord) -> tuple[str, str]:
    """(label without the node, short text) of a ``node.clock`` record."""
    if record.get("after"):
        return "clock restored", "restored"
    if record.get("rate") is not None:
        rate = float(record["rate"])
        return f"clock rate {rate:.4g}", f"×{rate:.4g}"
    if record.get("jump_ms") is not None:
        jump = float(record["jump_ms"])
        return f"clock jump {jump:+g} ms", _seconds(jump)
    strobe = record.get("strobe")
    if isinstance(strobe, dict):
        delta = _number(strobe.get("delta_ms", 0))
        period = _number(strobe.get("period_ms", 0))
        return f"clock strobe ±{delta} ms every {period} ms", f"strobe ±{delta} ms"
    return "clock strobe", "strobe"


def _disk(record: EventRecord) -> tuple[str, str]:
    """(label without the node, short text) of a ``disk.fault`` record."""
    fault = str(record.get("fault", "?"))
    if fault == "slow":
        if record.get("after"):
            return "disk slow over", "slow over"
        fsync = _number(record.get("fsync_ms", 0))
        return f"disk slow (fsync {fsync} ms)", f"slow {fsync} ms"
    if fault == "slow_fsync":
        fsync = _number(record.get("fsync_ms", 0))
        return f"disk one slow fsync ({fsync} ms)", f"fsync {fsync} ms"
    where = ""
    if "file" in record:
        where = f" {record['file']}"
        if "index" in record:
            where += f" #{record['index']}"
        elif "indexes" in record:
            low, high = record["indexes"]
            where += f" #{low}..{high}"
        elif "records" in record:
            where += f" ({record['records']} records)"
    armed = " (armed)" if record.get("armed") else ""
    return f"disk {fault}{where}{armed}", fault


def _damage(record: EventRecord) -> tuple[str, str]:
    what = str(record.get("file") or "disk")
    reason = record.get("reason")
    action = str(record.get("action", "?"))
    because = f" ({reason})" if reason else ""
    return f"damage in {what}{because}: {action}", action


def fault_span_event(record: EventRecord) -> tuple[str, str, dict[str, str]] | None:
    """A fault as a span event on the server it hits: (server, name, attributes), or
    None for a record that hits no server. The run's own traces and the traces derived
    from its log put the same event on every span open there."""
    hit = mark_node(record)
    if hit is None:
        return None
    return hit, fault_label(record), {"fault.kind": str(record["kind"]), "fault.node": hit}


def fault_label(record: EventRecord) -> str:
    """The name of a fault record wherever it is shown (module rules)."""
    kind = str(record["kind"])
    node = record.get("node")
    prefix = f"{node} " if node else ""
    if kind == EventKind.NET_PARTITION:
        shape = record.get("shape", "")
        target = record.get("target") or record.get("groups") or ""
        return f"partition {shape} {target}".strip()
    if kind in (EventKind.NET_CLOG, EventKind.NET_UNCLOG):
        links = record.get("links", [])
        return f"{kind.split('.')[1]} {len(links)} link(s)"
    if kind == EventKind.NEMESIS:
        return f"nemesis {record.get('fault', '')}"
    if kind == EventKind.NODE_CLOCK:
        return prefix + _clock(record)[0]
    if kind == EventKind.DISK_FAULT:
        return prefix + _disk(record)[0]
    if kind == EventKind.DISK_DAMAGE:
        return prefix + _damage(record)[0]
    if kind == EventKind.RAFT_REPAIRED:
        source = record.get("leader")
        through = f" from {source}" if source else ""
        return f"{prefix}repaired (log to {record.get('last_index')}{through})"
    if kind == EventKind.LEADER_TRANSFER:
        return f"transfer {node} -> {record.get('to')}"
    if kind == EventKind.MEMBERSHIP:
        result = record.get("result")
        change = f"{record.get('op')} {record.get('target')}"
        return change if result == "requested" else f"{change} {result}"
    if kind == EventKind.FAULT_NOOP:
        return f"no-op {record.get('fault')}: {record.get('reason')}"
    if kind == EventKind.DISK_LOST:
        return f"{node} lost {record.get('ops', 0)} unsynced disk op(s)"
    verb = kind.split(".")[-1]
    return f"{verb} {node}" if node else verb


# -- marks ------------------------------------------------------------------------------

_STATE_KINDS = frozenset(
    {
        EventKind.NODE_CLOCK,
        EventKind.DISK_FAULT,
        EventKind.DISK_DAMAGE,
        EventKind.NODE_CRASH,
        EventKind.NODE_RESTART,
    }
)
"""The kinds that move the fold fields the spans follow (crash and restart clear
``halted``)."""


def _lasting(state: NodeState) -> dict[MarkKind, object]:
    """What lasts on one server, by mark kind: the fold's value, None when not in effect."""
    return {
        MarkKind.CLOCK_RATE: state.clock_rate,
        MarkKind.CLOCK_STROBE: True if state.clock_strobe else None,
        MarkKind.DISK_SLOW: state.disk_slow_ms,
        MarkKind.HALTED: True if state.halted else None,
    }


class FaultMarker:
    """Feed records in log order (``feed``), then ``finish`` for the marks (module rules)."""

    def __init__(self) -> None:
        self._cluster = ClusterState.initial()
        self._marks: list[FaultMark] = []
        # (node, kind) -> (start, value, label, short) of the span in effect
        self._open: dict[tuple[str, MarkKind], tuple[float, object, str, str]] = {}

    def _instant(
        self,
        kind: MarkKind,
        node: str | None,
        t_ms: float,
        label: str,
        short: str,
        peer: str | None = None,
    ) -> None:
        self._marks.append(FaultMark(kind, node, t_ms, t_ms, label, short, peer))

    def _close(self, key: tuple[str, MarkKind], t_ms: float) -> None:
        start, _, label, short = self._open.pop(key)
        self._marks.append(FaultMark(key[1], key[0], start, t_ms, label, short))

    def feed(self, record: EventRecord) -> None:
        kind = record["kind"]
        if kind not in _STATE_KINDS and kind not in MARKED_KINDS:
            return
        t_ms = float(record["t"])
        node = record.get("node")
        if kind in _STATE_KINDS and node is not None:
            node = str(node)
            before = _lasting(self._cluster.nodes.get(node) or NodeState())
            self._cluster.apply(record)
            after = _lasting(self._cluster.nodes.get(node) or NodeState())
            label = fault_label(record)
            for mark, value in after.items():
                key = (node, mark)
                if value == before[mark] and not (value is not None and _sets(record, mark)):
                    continue
                if key in self._open:
                    self._close(key, t_ms)
                if value is not None:
                    self._open[key] = (t_ms, value, label, self._short(mark, record))
        if not is_marked(record):
            return
        if kind == EventKind.NODE_CLOCK:
            if record.get("jump_ms") is not None and not record.get("after"):
                self._instant(
                    MarkKind.CLOCK_JUMP, node, t_ms, fault_label(record), _clock(record)[1]
                )
        elif kind == EventKind.DISK_FAULT:
            if record.get("fault") != "slow":
                self._instant(
                    MarkKind.DISK_FAULT, node, t_ms, fault_label(record), _disk(record)[1]
                )
        elif kind == EventKind.DISK_DAMAGE:
            self._instant(MarkKind.DAMAGE, node, t_ms, fault_label(record), _damage(record)[1])
        elif kind == EventKind.RAFT_REPAIRED:
            self._instant(MarkKind.REPAIRED, node, t_ms, fault_label(record), "repaired")
        elif kind == EventKind.LEADER_TRANSFER:
            to = record.get("to")
            self._instant(
                MarkKind.TRANSFER,
                node,
                t_ms,
                fault_label(record),
                f"{node}→{to}",
                str(to) if to is not None else None,
            )
        elif kind == EventKind.MEMBERSHIP:
            target = mark_node(record)
            result = record.get("result")
            if result == "requested":
                op = record.get("op")
                mark = MarkKind.REMOVE if op == "remove" else MarkKind.ADD
                self._instant(mark, target, t_ms, fault_label(record), f"{op} {target}")
            elif result in _MEMBERSHIP_FAILED:
                self._instant(MarkKind.NOOP, target, t_ms, fault_label(record), str(result))
        elif kind == EventKind.FAULT_NOOP:
            where = str(node) if node is not None else None
            self._instant(MarkKind.NOOP, where, t_ms, fault_label(record), "no effect")

    @staticmethod
    def _short(mark: MarkKind, record: EventRecord) -> str:
        if mark is MarkKind.CLOCK_RATE or mark is MarkKind.CLOCK_STROBE:
            return _clock(record)[1]
        if mark is MarkKind.DISK_SLOW:
            return _disk(record)[1]
        return "halted"

    def finish(self, end_ms: float) -> list[FaultMark]:
        """Every mark, spans still in effect ending at ``end_ms``, in start order."""
        for key in sorted(self._open, key=lambda key: (natural_key(key[0]), key[1].value)):
            self._close(key, max(end_ms, self._open[key][0]))
        order = {kind: index for index, kind in enumerate(MarkKind)}
        self._marks.sort(
            key=lambda mark: (
                mark.start_ms,
                natural_key(mark.node) if mark.node is not None else (),
                order[mark.kind],
            )
        )
        return list(self._marks)


def _sets(record: EventRecord, mark: MarkKind) -> bool:
    """True when ``record`` is a fault that sets ``mark``'s value: a second fault at the
    rate already in effect starts a span of its own."""
    if record.get("after"):
        return False
    if mark is MarkKind.CLOCK_RATE:
        return record["kind"] == EventKind.NODE_CLOCK and record.get("rate") is not None
    if mark is MarkKind.DISK_SLOW:
        return record["kind"] == EventKind.DISK_FAULT and record.get("fault") == "slow"
    return False


def fault_marks(records: Iterable[EventRecord], end_ms: float) -> list[FaultMark]:
    """The marks of ``records`` (in log order), spans in effect at the end ending at ``end_ms``."""
    marker = FaultMarker()
    for record in records:
        marker.feed(record)
    return marker.finish(end_ms)
