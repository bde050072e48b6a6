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


class HistoryRecorder:
    """Collects history rows and mirrors them into the event log."""

    def __init__(self, log: EventLog, clock_ms: Any) -> None:
        self._log = log
        self._clock_ms = clock_ms
        self.rows: list[dict[str, Any]] = []

    def record(
        self, client: str, process: int, kind: str, f: str, key: Any, value: Any, seq: int
    ) -> None:
        row = {
            "process": process,
            "type": kind,
            "f": f,
            "key": key,
            "value": value,
            "time": self._clock_ms(),
            "index": len(self.rows),
        }
        self.rows.append(row)
        self._log.emit(
            _KINDS[kind],
            client,
            {"process": process, "request": seq, "f": f, "key": key, "value": value},
        )

    def write(self, path: Path) -> None:
        with path.open("wb") as handle:
            for row in self.rows:
                handle.write(orjson.dumps(row))
                handle.write(b"\n")

    def counts(self) -> dict[str, int]:
        totals = {"invoke": 0, "ok": 0, "fail": 0, "info": 0}
        for row in self.rows:
            totals[row["type"]] += 1
        return totals
