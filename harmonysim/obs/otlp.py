"""OTLP/JSON: spans and metrics as the OpenTelemetry protocol's JSON encoding, files and push.

Rules (OTLP specification, "JSON Protobuf Encoding"):
- Keys are lowerCamelCase protobuf field names; trace and span ids are hex
  strings (32 and 16 lowercase digits), never base64; enums (span kind, status
  code, aggregation temporality) are integers; 64-bit integers (times in
  ``...UnixNano``, ``intValue``, ``asInt``, counts and bucket counts) are JSON
  strings; doubles are JSON numbers. Empty and default fields are left out.
- Times: the virtual clock's microseconds times 1000, plus ``epoch_unix_ns``
  (0 unless given), so exports are deterministic.
- Each node is a resource (``service.name`` = node id, ``service.namespace`` =
  ``harmonysim``); a span's category becomes its ``harmonysim.category``
  attribute and its instrumentation scope (``harmonysim.raft`` ...).
- A ``.otlp.jsonl`` file holds one ExportTraceServiceRequest (or
  ExportMetricsServiceRequest) per line, which is what the OpenTelemetry
  Collector's file exporter writes and its file receiver reads. Resources and
  scopes appear in order of first use, so output is deterministic.
- ``push_otlp`` POSTs each line to an OTLP/HTTP receiver (``/v1/traces``,
  ``/v1/metrics``, ``Content-Type: application/json``).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from harmonysim.obs.metrics import MetricType, Registry, Sample
from harmonysim.obs.tracing import (
    AttributeValue,
    Category,
    Span,
    SpanKind,
    StatusCode,
    TraceContext,
)

__all__ = [
    "SCOPE_NAME",
    "MetricFamily",
    "OtlpPushError",
    "OtlpSpanWriter",
    "PushResult",
    "any_value",
    "decode_spans",
    "encode_metrics",
    "encode_spans",
    "families_from_registry",
    "push_otlp",
    "read_otlp_spans",
]

SCOPE_NAME = "harmonysim"
SCOPE_VERSION = "0.1.0"
NAMESPACE = "harmonysim"
CATEGORY_KEY = "harmonysim.category"
DERIVED_KEY = "harmonysim.derived"
"""Resource attribute marking spans rebuilt from the event log rather than traced inline."""
AGGREGATION_CUMULATIVE = 2


def any_value(value: AttributeValue) -> dict[str, Any]:
    """An OTLP AnyValue (int64 as a string, arrays as arrayValue)."""
    kind = type(value)
    if kind is str:
        return {"stringValue": value}
    if kind is int:
        return {"intValue": str(value)}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(int(value))}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": str(value)}
    return {"arrayValue": {"values": [any_value(item) for item in value]}}


# Encoded key/value entries for string and boolean attributes, which repeat across
# spans (operation names, nodes, results): encoding spans is most of what full
# tracing costs a run, so these are built once and shared (orjson only reads them).
_ENTRIES: dict[tuple[str, type, AttributeValue], dict[str, Any]] = {}
_MAX_ENTRIES = 1 << 16


def _attribute(key: str, value: AttributeValue) -> dict[str, Any]:
    kind = type(value)
    if kind is str or kind is bool:
        cache_key = (key, kind, value)
        entry = _ENTRIES.get(cache_key)
        if entry is None:
            if len(_ENTRIES) >= _MAX_ENTRIES:
                _ENTRIES.clear()
            entry = _ENTRIES[cache_key] = {"key": key, "value": any_value(value)}
        return entry
    return {"key": key, "value": any_value(value)}


def _attributes(attributes: Mapping[str, AttributeValue]) -> list[dict[str, Any]]:
    return [_attribute(key, value) for key, value in attributes.items()]


def _resource(service: str, extra: Mapping[str, AttributeValue] | None = None) -> dict[str, Any]:
    attributes: dict[str, AttributeValue] = {
        "service.name": service,
        "service.namespace": NAMESPACE,
    }
    if extra:
        attributes.update(extra)
    return {"attributes": _attributes(attributes)}


def _span_json(span: Span, epoch_unix_ns: int) -> dict[str, Any]:
    context = span.context
    end_us = span.end_us if span.end_us is not None else span.start_us
    out: dict[str, Any] = {
        "traceId": f"{context.trace_id:032x}",
        "spanId": f"{context.span_id:016x}",
    }
    if context.parent_span_id is not None:
        out["parentSpanId"] = f"{context.parent_span_id:016x}"
    out["name"] = span.name
    out["kind"] = span.kind  # an IntEnum: orjson writes the integer
    out["startTimeUnixNano"] = str(span.start_us * 1000 + epoch_unix_ns)
    out["endTimeUnixNano"] = str(end_us * 1000 + epoch_unix_ns)
    out["attributes"] = [
        _attribute(CATEGORY_KEY, span.category._value_),
        *[_attribute(key, value) for key, value in span.attributes.items()],
    ]
    if span.events:
        out["events"] = [
            {
                "timeUnixNano": str(event.time_us * 1000 + epoch_unix_ns),
                "name": event.name,
                **({"attributes": _attributes(event.attributes)} if event.attributes else {}),
            }
            for event in span.events
        ]
    if span.links:
        out["links"] = [
            {
                "traceId": f"{link.trace_id:032x}",
                "spanId": f"{link.span_id:016x}",
                **({"attributes": _attributes(link.attributes)} if link.attributes else {}),
            }
            for link in span.links
        ]
    if span.status is not StatusCode.UNSET:
        status: dict[str, Any] = {"code": int(span.status)}
        if span.status_message:
            status["message"] = span.status_message
        out["status"] = status
    return out


def encode_spans(
    spans: Iterable[Span],
    epoch_unix_ns: int = 0,
    resource_attributes: Mapping[str, AttributeValue] | None = None,
) -> dict[str, Any]:
    """One ExportTraceServiceRequest holding ``spans``, grouped by node, then category."""
    by_node: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for span in spans:
        scopes = by_node.setdefault(span.node, {})
        scopes.setdefault(span.category.value, []).append(_span_json(span, epoch_unix_ns))
    return {
        "resourceSpans": [
            {
                "resource": _resource(node, resource_attributes),
                "scopeSpans": [
                    {
                        "scope": {"name": f"{SCOPE_NAME}.{category}", "version": SCOPE_VERSION},
                        "spans": encoded,
                    }
                    for category, encoded in scopes.items()
                ],
            }
            for node, scopes in by_node.items()
        ]
    }


class OtlpSpanWriter:
    """A tracer sink writing each batch of spans as one line of ``traces.otlp.jsonl``."""

    __slots__ = ("_file", "epoch_unix_ns", "lines", "resource_attributes", "spans")

    def __init__(
        self,
        file: IO[bytes],
        epoch_unix_ns: int = 0,
        resource_attributes: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        self._file = file
        self.epoch_unix_ns = epoch_unix_ns
        self.resource_attributes = resource_attributes
        self.lines = 0
        self.spans = 0

    def write_spans(self, spans: Sequence[Span]) -> None:
        if not spans:
            return
        self._file.write(
            orjson.dumps(encode_spans(spans, self.epoch_unix_ns, self.resource_attributes)) + b"\n"
        )
        self.lines += 1
        self.spans += len(spans)


# -- decoding (for converting an inline traces file to other formats) -----------------


def _from_any(value: Mapping[str, Any]) -> AttributeValue:
    if "stringValue" in value:
        return str(value["stringValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return [str(_from_any(item)) for item in value["arrayValue"].get("values", [])]
    return ""


def _from_attributes(items: Iterable[Mapping[str, Any]]) -> dict[str, AttributeValue]:
    return {str(item["key"]): _from_any(item.get("value", {})) for item in items}


def decode_spans(request: Mapping[str, Any], epoch_unix_ns: int = 0) -> list[Span]:
    """The spans of one ExportTraceServiceRequest in JSON form (what ``encode_spans`` wrote)."""
    spans: list[Span] = []
    for resource_spans in request.get("resourceSpans", []):
        resource = _from_attributes(resource_spans.get("resource", {}).get("attributes", []))
        node = str(resource.get("service.name", "?"))
        for scope_spans in resource_spans.get("scopeSpans", []):
            for item in scope_spans.get("spans", []):
                attributes = _from_attributes(item.get("attributes", []))
                category_name = str(attributes.pop(CATEGORY_KEY, Category.CLIENT.value))
                parent = item.get("parentSpanId")
                context = TraceContext(
                    int(item["traceId"], 16),
                    int(item["spanId"], 16),
                    int(parent, 16) if parent else None,
                    True,
                )
                span = Span(
                    None,
                    context,
                    str(item.get("name", "")),
                    node,
                    Category(category_name)
                    if category_name in Category._value2member_map_
                    else Category.CLIENT,
                    SpanKind(int(item.get("kind", 0))),
                    (int(item["startTimeUnixNano"]) - epoch_unix_ns) // 1000,
                    attributes,
                )
                for event in item.get("events", []):
                    span.add_event(
                        str(event.get("name", "")),
                        _from_attributes(event.get("attributes", [])),
                        at_us=(int(event["timeUnixNano"]) - epoch_unix_ns) // 1000,
                    )
                for link in item.get("links", []):
                    span.add_link(
                        TraceContext(int(link["traceId"], 16), int(link["spanId"], 16), None, True),
                        _from_attributes(link.get("attributes", [])),
                    )
                status = item.get("status", {})
                span.status = StatusCode(int(status.get("code", 0)))
                span.status_message = str(status.get("message", ""))
                span.end_us = (int(item["endTimeUnixNano"]) - epoch_unix_ns) // 1000
                spans.append(span)
    return spans


def read_otlp_spans(path: Path, epoch_unix_ns: int = 0) -> list[Span]:
    """Every span of a ``traces.otlp.jsonl`` file, in file order."""
    spans: list[Span] = []
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                spans.extend(decode_spans(orjson.loads(line), epoch_unix_ns))
    return spans


# -- metrics -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MetricFamily:
    """One metric's series at one instant, independent of where they came from."""

    name: str
    type: MetricType
    help: str
    unit: str
    samples: tuple[Sample, ...]


def families_from_registry(registry: Registry) -> list[MetricFamily]:
    return [
        MetricFamily(metric.name, metric.type, metric.help, metric.unit, tuple(metric.samples()))
        for metric in registry
    ]


def _number_point(value: int | float) -> dict[str, Any]:
    if isinstance(value, int) and not isinstance(value, bool):
        return {"asInt": str(value)}
    return {"asDouble": float(value)}


def encode_metrics(
    families: Iterable[MetricFamily],
    time_us: int,
    start_us: int = 0,
    service: str = NAMESPACE,
    epoch_unix_ns: int = 0,
) -> dict[str, Any]:
    """One ExportMetricsServiceRequest: every family's series at virtual time ``time_us``."""
    start = str(start_us * 1000 + epoch_unix_ns)
    now = str(time_us * 1000 + epoch_unix_ns)
    metrics: list[dict[str, Any]] = []
    for family in families:
        points: list[dict[str, Any]] = []
        for sample in family.samples:
            point: dict[str, Any] = {}
            if sample.labels:
                point["attributes"] = _attributes(dict(sample.labels))
            point["startTimeUnixNano"] = start
            point["timeUnixNano"] = now
            if family.type is MetricType.HISTOGRAM:
                cumulative = [count for _, count in sample.buckets]
                per_bucket = [b - a for a, b in zip([0, *cumulative[:-1]], cumulative, strict=True)]
                point["count"] = str(sample.count)
                point["sum"] = float(sample.sum)
                point["bucketCounts"] = [str(count) for count in per_bucket]
                point["explicitBounds"] = [bound for bound, _ in sample.buckets[:-1]]
            else:
                point.update(_number_point(sample.value))
            points.append(point)
        if not points:
            continue
        metric: dict[str, Any] = {"name": family.name}
        if family.help:
            metric["description"] = family.help
        if family.unit:
            metric["unit"] = {"seconds": "s", "bytes": "By", "ratio": "1"}.get(
                family.unit, family.unit
            )
        if family.type is MetricType.COUNTER:
            metric["sum"] = {
                "dataPoints": points,
                "aggregationTemporality": AGGREGATION_CUMULATIVE,
                "isMonotonic": True,
            }
        elif family.type is MetricType.GAUGE:
            metric["gauge"] = {"dataPoints": points}
        else:
            metric["histogram"] = {
                "dataPoints": points,
                "aggregationTemporality": AGGREGATION_CUMULATIVE,
            }
        metrics.append(metric)
    return {
        "resourceMetrics": [
            {
                "resource": _resource(service),
                "scopeMetrics": [
                    {"scope": {"name": SCOPE_NAME, "version": SCOPE_VERSION}, "metrics": metrics}
                ],
            }
        ]
    }


# -- pushing to a collector ----------------------------------------------------------------


class OtlpPushError(Exception):
    """The receiver refused a request or could not be reached."""


@dataclass(frozen=True, slots=True)
class PushResult:
    trace_requests: int
    metric_requests: int


def _post_lines(url: str, path: Path, timeout_s: float) -> int:
    sent = 0
    with path.open("rb") as handle:
        for line in handle:
            body = line.strip()
            if not body:
                continue
            request = urllib.request.Request(
                url, data=body, method="POST", headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=timeout_s) as response:
                    response.read()
            except urllib.error.HTTPError as error:
                raise OtlpPushError(f"{url}: HTTP {error.code} {error.reason}") from None
            except (urllib.error.URLError, OSError) as error:
                raise OtlpPushError(f"{url}: {error}") from None
            sent += 1
    return sent


def push_otlp(
    endpoint: str,
    traces_path: Path | None,
    metrics_path: Path | None,
    timeout_s: float = 10.0,
) -> PushResult:
    """POST each line of the OTLP/JSON files to ``/v1/traces`` and ``/v1/metrics``."""
    if not endpoint.startswith(("http://", "https://")):
        raise OtlpPushError(f"{endpoint}: an OTLP/HTTP endpoint starts with http:// or https://")
    base = endpoint.rstrip("/")
    traces = _post_lines(base + "/v1/traces", traces_path, timeout_s) if traces_path else 0
    metrics = _post_lines(base + "/v1/metrics", metrics_path, timeout_s) if metrics_path else 0
    return PushResult(traces, metrics)
