"""Traces for the dashboard: one source interface, two sources (derived and OTLP).

Rules:
- A trace is a tree of ``SpanRecord``s: a root span plus children, each on one
  node, with start and end in virtual ms. Zero-length spans are instants
  (a persist, an apply). The page draws any ``TraceSource`` the same way.
- ``OtlpTraceSource`` reads ``traces.otlp.jsonl`` (OTLP/JSON: hex ids,
  ``...UnixNano`` times as strings, each node a resource named by
  ``service.name``); virtual time is the nanosecond time over 10^6. When a run
  folder has that file, it replaces the derived source.
- ``DerivedTraceSource`` builds one trace per client operation from the event
  log alone: the client's invoke..completion is the root; every message to or
  from that client while the operation runs is a child (clients have one
  operation outstanding, so these belong to it); for a write, the entry
  ``client:seq`` is followed through each server's ``raft.persist`` (the
  leader's append, §5.3), the leader's commit (§5.3, §5.4.2) and each
  server's ``raft.apply``.
- Listing is deterministic: operations in invoke order, spans by start time,
  then node id, then name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from harmonysim.runlog.folder import RunFolder
from harmonysim.runlog.vocabulary import EventKind
from harmonysim.web.index import ClientOp, Outcome, RunIndex

__all__ = [
    "DerivedTraceSource",
    "OtlpTraceSource",
    "SpanRecord",
    "TraceFilter",
    "TraceSource",
    "TraceSummary",
    "trace_source_for",
]

TRACE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
OTLP_FILE = RunFolder.TRACES
NANOS_PER_MS = 1_000_000


@dataclass(frozen=True, slots=True)
class SpanRecord:
    """One timed step of a trace on one node (an instant when ``end_ms == start_ms``)."""

    span_id: str
    parent_id: str | None
    name: str
    node: str
    start_ms: float
    end_ms: float
    category: str
    status: str = "ok"
    attributes: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "span_id": self.span_id,
            "parent_id": self.parent_id,
            "name": self.name,
            "node": self.node,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "duration_ms": round(self.end_ms - self.start_ms, 3),
            "category": self.category,
            "status": self.status,
            "attributes": self.attributes,
        }


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """One row of the trace list."""

    trace_id: str
    name: str
    node: str
    start_ms: float
    end_ms: float | None
    status: str
    attributes: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "name": self.name,
            "node": self.node,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "duration_ms": None if self.end_ms is None else round(self.end_ms - self.start_ms, 3),
            "status": self.status,
            "attributes": self.attributes,
        }


@dataclass(frozen=True, slots=True)
class TraceFilter:
    """What the trace list may be narrowed by; ``None`` means any."""

    node: str | None = None
    name: str | None = None
    status: str | None = None
    min_duration_ms: float | None = None
    t0_ms: float | None = None
    t1_ms: float | None = None

    def accepts(self, summary: TraceSummary) -> bool:
        if self.node is not None and summary.node != self.node:
            return False
        if self.name is not None and self.name.lower() not in summary.name.lower():
            return False
        if self.status is not None and summary.status != self.status:
            return False
        if self.min_duration_ms is not None and (
            summary.end_ms is None or summary.end_ms - summary.start_ms < self.min_duration_ms
        ):
            return False
        if self.t0_ms is not None and (summary.end_ms or summary.start_ms) < self.t0_ms:
            return False
        return self.t1_ms is None or summary.start_ms <= self.t1_ms


class TraceSource(Protocol):
    """Where the trace pages read from."""

    kind: str

    def summaries(self) -> list[TraceSummary]: ...

    def spans(self, trace_id: str) -> list[SpanRecord] | None: ...


def select(
    source: TraceSource, where: TraceFilter, offset: int, limit: int
) -> tuple[int, list[TraceSummary]]:
    """The filtered trace list: (total matching, the page ``offset..offset+limit``)."""
    matching = [summary for summary in source.summaries() if where.accepts(summary)]
    return len(matching), matching[offset : offset + limit]


class DerivedTraceSource:
    """Traces of client operations rebuilt from the event log (see the module rules)."""

    kind = "derived"

    def __init__(self, index: RunIndex) -> None:
        self.index = index

    def summaries(self) -> list[TraceSummary]:
        with self.index.lock:
            return [_summary(op) for op in self.index.ops]

    def spans(self, trace_id: str) -> list[SpanRecord] | None:
        with self.index.lock:
            op = self.index.ops_by_trace.get(trace_id)
            if op is None:
                return None
            return sorted(
                self._spans(op),
                key=lambda s: (s.parent_id is not None, s.start_ms, s.node, s.name, s.span_id),
            )

    def _spans(self, op: ClientOp) -> list[SpanRecord]:
        index = self.index
        end_ms = op.end_ms if op.end_ms is not None else index.end_ms
        root_id = "op"
        spans = [
            SpanRecord(
                root_id,
                None,
                _op_name(op),
                op.client,
                op.start_ms,
                end_ms,
                "client",
                op.outcome.value,
                {
                    "key": op.key,
                    "value": op.value,
                    "result": op.result,
                    "redirects": op.redirects,
                },
            )
        ]
        for message in index.client_messages(op.client, op.start_ms, end_ms):
            finished = message.end_ms if message.end_ms is not None else message.send_ms
            status = "ok" if message.deliver_ms is not None else f"dropped: {message.drop_reason}"
            if message.deliver_ms is None and message.drop_ms is None:
                status = "lost"
            spans.append(
                SpanRecord(
                    f"msg-{message.id}",
                    root_id,
                    f"{message.type} {message.src}→{message.dst}",
                    message.src,
                    message.send_ms,
                    finished,
                    "network",
                    status,
                    {"message_id": message.id, "dst": message.dst},
                )
            )
        leader: str | None = None
        entry_index: int | None = None
        first_persist: float | None = None
        for number, record in enumerate(index.entry_events.get(op.trace_id, ())):
            t_ms = float(record["t"])
            if t_ms < op.start_ms or t_ms > end_ms + 1000.0:
                continue
            node = str(record["node"])
            if record["kind"] == EventKind.RAFT_PERSIST:
                position = next(
                    (int(i) for i, _, name in record["entries"] if name == op.trace_id), None
                )
                if leader is None:
                    leader, entry_index, first_persist = node, position, t_ms
                spans.append(
                    SpanRecord(
                        f"persist-{number}",
                        root_id,
                        f"persist #{position}" + (" (leader append)" if node == leader else ""),
                        node,
                        t_ms,
                        t_ms,
                        "raft",
                        "ok",
                        {"index": position},
                    )
                )
            else:
                spans.append(
                    SpanRecord(
                        f"apply-{number}",
                        root_id,
                        f"apply #{record['index']} {record.get('f', '')}",
                        node,
                        t_ms,
                        t_ms,
                        "btree",
                        str(record.get("status", "ok")),
                        {"index": record["index"], "key": record.get("key")},
                    )
                )
        if leader is not None and entry_index is not None and first_persist is not None:
            committed = index.commit_time(leader, entry_index, first_persist)
            if committed is not None:
                spans.append(
                    SpanRecord(
                        "replicate",
                        root_id,
                        f"replicate #{entry_index} to a majority",
                        leader,
                        first_persist,
                        committed,
                        "raft",
                        "ok",
                        {"index": entry_index},
                    )
                )
        return spans


def _op_name(op: ClientOp) -> str:
    return f"{op.f} {op.key}"


def _summary(op: ClientOp) -> TraceSummary:
    return TraceSummary(
        op.trace_id,
        _op_name(op),
        op.client,
        op.start_ms,
        op.end_ms,
        op.outcome.value if op.outcome is not Outcome.PENDING else "pending",
        {"f": op.f, "key": op.key, "redirects": op.redirects},
    )


class OtlpTraceSource:
    """Spans from an OTLP/JSON file, grouped into traces (see the module rules)."""

    kind = "otlp"

    def __init__(self, spans_by_trace: dict[str, list[SpanRecord]]) -> None:
        self._spans = spans_by_trace
        self._summaries = [
            _otlp_summary(trace_id, spans) for trace_id, spans in spans_by_trace.items()
        ]
        self._summaries.sort(key=lambda summary: (summary.start_ms, summary.trace_id))

    @classmethod
    def from_file(cls, path: Path) -> OtlpTraceSource:
        spans: dict[str, list[SpanRecord]] = {}
        with path.open("rb") as handle:
            for line in handle:
                if line.strip():
                    for trace_id, span in _decode_request(orjson.loads(line)):
                        spans.setdefault(trace_id, []).append(span)
        for trace_spans in spans.values():
            trace_spans.sort(
                key=lambda s: (s.parent_id is not None, s.start_ms, s.node, s.name, s.span_id)
            )
        return cls(spans)

    def summaries(self) -> list[TraceSummary]:
        return list(self._summaries)

    def spans(self, trace_id: str) -> list[SpanRecord] | None:
        found = self._spans.get(trace_id)
        return None if found is None else list(found)


def _otlp_summary(trace_id: str, spans: list[SpanRecord]) -> TraceSummary:
    roots = [span for span in spans if span.parent_id is None] or spans
    root = min(roots, key=lambda s: (s.start_ms, s.span_id))
    failed = any(span.status == "error" for span in spans)
    return TraceSummary(
        trace_id,
        root.name,
        root.node,
        root.start_ms,
        max(span.end_ms for span in spans),
        "error" if failed else root.status,
        {"spans": len(spans)},
    )


_OTLP_STATUS = {0: "ok", 1: "ok", 2: "error"}


def _attribute_value(value: dict[str, Any]) -> Any:
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return int(value["intValue"])
    if "arrayValue" in value:
        return [_attribute_value(item) for item in value["arrayValue"].get("values", [])]
    return None


def _attributes(items: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {str(item.get("key")): _attribute_value(item.get("value", {})) for item in items}


def _decode_request(request: dict[str, Any]) -> list[tuple[str, SpanRecord]]:
    found: list[tuple[str, SpanRecord]] = []
    for resource_spans in request.get("resourceSpans", []):
        resource = _attributes(resource_spans.get("resource", {}).get("attributes", []))
        node = str(resource.get("service.name", "?"))
        for scope_spans in resource_spans.get("scopeSpans", []):
            for item in scope_spans.get("spans", []):
                attributes = _attributes(item.get("attributes", []))
                category = str(attributes.pop("harmonysim.category", "span"))
                status = item.get("status", {})
                found.append(
                    (
                        str(item["traceId"]),
                        SpanRecord(
                            str(item["spanId"]),
                            item.get("parentSpanId") or None,
                            str(item.get("name", "")),
                            node,
                            int(item.get("startTimeUnixNano", "0")) / NANOS_PER_MS,
                            int(item.get("endTimeUnixNano", "0")) / NANOS_PER_MS,
                            category,
                            _OTLP_STATUS.get(int(status.get("code", 0)), "ok"),
                            attributes,
                        ),
                    )
                )
    return found


def trace_source_for(run_dir: Path | None, index: RunIndex) -> TraceSource:
    """OTLP spans when the run folder has them, otherwise traces derived from events."""
    path = run_dir / OTLP_FILE if run_dir is not None else None
    if path is not None and path.is_file():
        try:
            return OtlpTraceSource.from_file(path)
        except (ValueError, KeyError, TypeError):
            pass  # an unreadable span file: the event log still tells every operation's story
    return DerivedTraceSource(index)
