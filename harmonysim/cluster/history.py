"""The client history, Jepsen style: every operation as an invoke and a completion.

Rules:
- One row per event: ``process`` (the client's number), ``type`` (invoke, ok,
  fail, info), ``f``, ``key``, ``value``, ``time`` (virtual ms), ``index``.
- ``fail`` means the operation certainly did not take effect (a cas whose
  expected value did not match); ``info`` means it is unknown (timed out, or
  still pending when the run ended): checkers must allow both outcomes.
- Values: put writes ``value``; cas ``[expected, new]``; get's completion carries
  the value read (null when absent); scan's invoke carries the high bound and its
  completion the ``[key, value]`` pairs read.
- Rows are also event-log records (``client.*`` kinds), so one trace holds both.
"""

from __future__ import annotations

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

    def record(
        self, client: str, process: int, kind: str, f: str, key: Any, value: Any, seq: int
    ) -> None:
        rows = self._rows
        rows.append((process, kind, f, key, value, self._clock_ms(), len(rows)))
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

    def counts(self) -> dict[str, int]:
        totals = {"invoke": 0, "ok": 0, "fail": 0, "info": 0}
        for row in self._rows:
            totals[row[1]] += 1
        return totals
