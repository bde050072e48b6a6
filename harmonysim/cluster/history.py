"""The client history, Jepsen style: every operation as an invoke and a completion.

Rules:
- One row per event: ``process`` (the client's number), ``type`` (invoke, ok,
  fail, info), ``f``, ``key``, ``value``, ``time`` (virtual ms), ``index``.
- ``fail`` means the operation certainly did not take effect. The server fails
  nothing but a cas whose expected value did not match, so a ``fail`` cas is a
  definite, informative result: the compare took place, between invoke and
  completion, and found another value (Porcupine's etcd reading; checkers read it
  so, ``harmonysim.check.history.FailCas.COMPARE``). ``info`` means it is unknown
  (timed out, or still pending when the run ended): checkers must allow both
  outcomes.
- Values: put writes ``value``; cas ``[expected, new]``; get's completion carries
  the value read (null when absent); scan's invoke carries the high bound and its
  completion the ``[key, value]`` pairs read.
- Rows are also event-log records (``client.*`` kinds), so one trace holds both.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from harmonysim.sim.events import EventKind, EventLog

__all__ = ["HistoryRecorder"]

_KINDS = {
    "invoke": EventKind.CLIENT_INVOKE,
    "ok": EventKind.CLIENT_OK,
    "fail": EventKind.CLIENT_FAIL,
    "info": EventKind.CLIENT_INFO,
}


_WRITES = frozenset({"put", "cas", "delete"})

FIELDS = ("process", "type", "f", "key", "value", "time", "index")
"""The keys of a history row, in the order rows are written."""


class HistoryRecorder:
    """Collects history rows and mirrors them into the event log.

    Rows are kept as tuples in ``FIELDS`` order (a long run records hundreds of
    thousands: a tuple is a quarter of a dict's memory) and handed out as dicts by
    ``iter_rows``, one at a time.
    """

    def __init__(self, log: EventLog, clock_ms: Any) -> None:
        self._log = log
        self._clock_ms = clock_ms
        self._rows: list[tuple[Any, ...]] = []
        # Beside each row, the request it belongs to: its client's sequence number (the
        # client is named by ``_clients``); not part of history.jsonl.
        self._seqs = array("q")
        self._clients: dict[int, str] = {}

    def record(
        self, client: str, process: int, kind: str, f: str, key: Any, value: Any, seq: int
    ) -> None:
        rows = self._rows
        rows.append((process, kind, f, key, value, self._clock_ms(), len(rows)))
        self._seqs.append(seq)
        self._clients[process] = client
        self._log.emit(
            _KINDS[kind],
            client,
            {"process": process, "request": seq, "f": f, "key": key, "value": value},
        )

    def __len__(self) -> int:
        return len(self._rows)

    def iter_rows(self) -> Iterator[dict[str, Any]]:
        """Every row so far, as the dict ``history.jsonl`` holds, in order."""
        for row in self._rows:
            yield dict(zip(FIELDS, row, strict=True))

    @property
    def rows(self) -> list[dict[str, Any]]:
        return list(self.iter_rows())

    def write(self, path: Path) -> None:
        with path.open("wb") as handle:
            for row in self.iter_rows():
                handle.write(orjson.dumps(row))
                handle.write(b"\n")

    # -- requests, for keeping their traces -------------------------------------------

    def request_at(self, row: int) -> tuple[str, int]:
        """The request ``(client, seq)`` of the operation row ``row`` belongs to."""
        return self._clients[self._rows[row][0]], self._seqs[row]

    def last_writes(self, key: Any, count: int) -> list[tuple[str, int]]:
        """The requests of the last ``count`` writes (put, cas, delete) invoked on ``key``."""
        found: list[tuple[str, int]] = []
        for position in range(len(self._rows) - 1, -1, -1):
            row = self._rows[position]
            if row[1] == "invoke" and row[2] in _WRITES and row[3] == key:
                found.append(self.request_at(position))
                if len(found) >= count:
                    break
        return found

    def indeterminate(self) -> list[tuple[str, int]]:
        """The requests of operations that ended ``info`` (no answer in time), in order."""
        return [self.request_at(i) for i, row in enumerate(self._rows) if row[1] == "info"]

    def counts(self) -> dict[str, int]:
        totals = {"invoke": 0, "ok": 0, "fail": 0, "info": 0}
        for row in self._rows:
            totals[row[1]] += 1
        return totals
