"""The event log: the streaming, hashed record of simulated events.

Rules:
- Every record written by any layer uses one of the kinds of ``EventKind``, defined
  in ``harmonysim.runlog.vocabulary`` (re-exported here for the writers).
- A record is a flat JSON object: ``t`` (virtual milliseconds, printed with exactly
  three decimals since the clock counts whole microseconds), ``seq`` (0-based
  position in the log), ``kind``, ``node`` (the node or client the event happened
  on, or null), then kind-specific fields in a fixed insertion order.
- The canonical form of a record is exactly the line written to ``events.jsonl``
  (orjson, keys in insertion order, no spaces). The run's ``event_hash`` is a
  rolling SHA-256 over those lines, so the file on disk and the hash agree by
  construction, and replay can compare line by line.
- Kind-specific fields never reuse the names ``t``, ``seq``, ``kind`` or ``node``.
- Field values must be JSON scalars, lists or dicts built deterministically (no
  sets, no object ids, no wall clock).
- Every line is formatted here: ``emit`` for any record, ``emit_send`` and
  ``emit_deliver`` for the two per-message records (the network's hot path), which
  fill a link's ``LinkRecords`` templates and write the same bytes ``emit`` would.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any, Final

import orjson

from harmonysim.runlog.vocabulary import EventKind, EventRecord

__all__ = ["EventKind", "EventLog", "EventRecord", "LinkRecords"]

_SEND = EventKind.MSG_SEND
_DELIVER = EventKind.MSG_DELIVER
_FLUSH_LINES: Final = 8192


def _literal(value: str | None) -> bytes:
    """``value`` as JSON, to be baked into a line template (``%`` doubled)."""
    return orjson.dumps(value).replace(b"%", b"%%")


class LinkRecords:
    """The ``msg.send`` and ``msg.deliver`` lines of one directed link, endpoints baked in.

    Only time, seq, message id (and the payload's type) are left to fill, so the
    per-message records are formatted bytes instead of dicts encoded by orjson.
    """

    __slots__ = ("deliver", "dst", "send", "src")

    def __init__(self, src: str, dst: str) -> None:
        self.src = src
        self.dst = dst
        head = b'{"t":%s,"seq":%d,"kind":'
        src_json = _literal(src)
        dst_json = _literal(dst)
        self.send = head + _literal(_SEND) + b',"node":' + src_json + b',"dst":' + dst_json
        self.send += b',"id":%d,"type":"%s"}'
        self.deliver = head + _literal(_DELIVER) + b',"node":' + dst_json + b',"src":' + src_json
        self.deliver += b',"id":%d}'


class EventLog:
    """Records events in order, hashes their canonical form, and optionally streams them.

    Lines are buffered and, every ``FLUSH_LINES`` lines and at ``flush``, hashed
    and written to ``sink`` (a binary file) in one batch: SHA-256 is a stream, so
    hashing batches gives the same digest as hashing line by line, for a fraction
    of the per-event cost. ``subscribers`` receive each record dict as it is made
    (online checkers, tracers, live views); while there are none, the per-message
    records are formatted from their link's templates, without a dict.
    """

    __slots__ = (
        "_clock",
        "_hash",
        "_heads",
        "_sink",
        "_stamp",
        "_stamp_us",
        "_type_names",
        "_watchers",
        "count",
        "lines",
        "subscribers",
    )

    FLUSH_LINES: Final = _FLUSH_LINES

    def __init__(self, clock_us: Callable[[], int], sink: IO[bytes] | None = None) -> None:
        self._clock = clock_us
        self._sink = sink
        self._hash = hashlib.sha256()
        self.lines: list[bytes] = []
        self.count = 0
        self.subscribers: list[Callable[[EventRecord], None]] = []
        self._watchers: dict[str, list[Callable[[EventRecord], None]]] = {}
        self._heads: dict[tuple[str, str | None], bytes] = {}
        # The encoded time of the latest event: events come in bursts at one instant (a
        # delivery and the sends it causes), so most lines reuse it.
        self._stamp_us = -1
        self._stamp = b""
        self._type_names: dict[type, bytes] = {}  # payload type -> its name in msg.send

    def watch(self, kinds: Iterable[EventKind], callback: Callable[[EventRecord], None]) -> None:
        """Call ``callback`` with each record of the given kinds (online checkers).

        Unlike ``subscribers``, watching kinds other than ``msg.send`` and
        ``msg.deliver`` leaves the network's fast path on.
        """
        for kind in kinds:
            if kind in (EventKind.MSG_SEND, EventKind.MSG_DELIVER):
                self.subscribers.append(_only(kind, callback))
            else:
                self._watchers.setdefault(kind.value, []).append(callback)

    def _restamp(self, now_us: int) -> bytes:
        """Encode ``now_us`` as the ``t`` of a line (milliseconds, three decimals)."""
        self._stamp_us = now_us
        self._stamp = b"%d.%03d" % (now_us // 1000, now_us % 1000)
        return self._stamp

    def emit(self, kind: EventKind, node: str | None, fields: dict[str, Any] | None = None) -> None:
        """Append one event at the current virtual time.

        The line is the encoded head (time, seq, kind and node: the kind and node
        part cached per pair) followed by the orjson encoding of ``fields``: the
        same bytes as encoding the whole record, without building it.
        """
        now_us = self._clock()
        seq = self.count
        self.count = seq + 1
        head = self._heads.get((kind, node))
        if head is None:
            head = self._heads[(kind, node)] = (
                b'{"t":%s,"seq":%d,"kind":' + _literal(kind) + b',"node":' + _literal(node)
            )
        stamp = self._stamp if self._stamp_us == now_us else self._restamp(now_us)
        line = head % (stamp, seq)
        line += b"," + orjson.dumps(fields)[1:] if fields else b"}"
        lines = self.lines
        lines.append(line)
        if len(lines) >= self.FLUSH_LINES:
            self.flush()
        if self.subscribers or self._watchers:
            watchers = self._watchers.get(kind)
            if self.subscribers or watchers:
                record: EventRecord = {"t": now_us / 1000.0, "seq": seq, "kind": kind, "node": node}
                if fields:
                    record.update(fields)
                for subscriber in self.subscribers:
                    subscriber(record)
                if watchers:
                    for watcher in watchers:
                        watcher(record)

    def emit_send(
        self, link: LinkRecords, now_us: int, message_id: int, payload_type: type
    ) -> None:
        """Append the ``msg.send`` of message ``message_id`` on ``link``, sent at ``now_us``
        (the current virtual time): ``emit`` of its fields, formatted from the link's
        template while there are no subscribers. Once per message."""
        if self.subscribers:
            fields = {"dst": link.dst, "id": message_id, "type": payload_type.__name__}
            self.emit(_SEND, link.src, fields)
            return
        name = self._type_names.get(payload_type)
        if name is None:
            name = self._type_names[payload_type] = payload_type.__name__.encode()
        stamp = self._stamp if self._stamp_us == now_us else self._restamp(now_us)
        seq = self.count
        self.count = seq + 1
        lines = self.lines
        lines.append(link.send % (stamp, seq, message_id, name))
        if len(lines) >= _FLUSH_LINES:
            self.flush()

    def emit_deliver(self, link: LinkRecords, now_us: int, message_id: int) -> None:
        """Append the ``msg.deliver`` of message ``message_id`` over ``link`` at ``now_us``
        (the current virtual time), as ``emit_send`` does its ``msg.send``."""
        if self.subscribers:
            self.emit(_DELIVER, link.dst, {"src": link.src, "id": message_id})
            return
        stamp = self._stamp if self._stamp_us == now_us else self._restamp(now_us)
        seq = self.count
        self.count = seq + 1
        lines = self.lines
        lines.append(link.deliver % (stamp, seq, message_id))
        if len(lines) >= _FLUSH_LINES:
            self.flush()

    @property
    def hexdigest(self) -> str:
        """The SHA-256 of all lines so far (each followed by a newline)."""
        self.flush()
        return self._hash.hexdigest()

    def flush(self) -> None:
        lines = self.lines
        if lines:
            lines.append(b"")
            data = b"\n".join(lines)
            lines.clear()
            self._hash.update(data)
            if self._sink is not None:
                self._sink.write(data)


def _only(
    kind: EventKind, callback: Callable[[EventRecord], None]
) -> Callable[[EventRecord], None]:
    def filtered(record: EventRecord) -> None:
        if record["kind"] == kind:
            callback(record)

    return filtered


def read_events(path: Path) -> list[EventRecord]:
    """Load an ``events.jsonl`` file (for checkers, plots and tests)."""
    with path.open("rb") as handle:
        return [orjson.loads(line) for line in handle if line.strip()]


def line_hash(lines: list[bytes]) -> str:
    """The event hash of already-encoded lines, as ``EventLog.hexdigest`` computes it."""
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line)
        digest.update(b"\n")
    return digest.hexdigest()
