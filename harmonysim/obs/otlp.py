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
from typing import IO, Any, Final, cast

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
    "OtlpSpanEncoder",
    "OtlpSpanWriter",
    "PushResult",
    "any_value",
    "decode_spans",
    "encode_metrics",
    "encode_spans",
    "encode_spans_json",
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


# -- the fast encoder ----------------------------------------------------------------------
#
# ``encode_spans`` above builds the request as dicts for orjson; it is the reference.
# Encoding every span that way was most of what full tracing cost a run (a profile of
# ``harmonysim bench tracing``: about half of the overhead at ``--trace-sample 1``), so
# ``encode_spans_json`` writes the same bytes from text fragments instead: each span is
# one f-string and its attributes, and whatever repeats across spans (names, string and
# boolean attributes, attribute keys, scope and resource headers) is encoded once by
# orjson and reused. Anything unusual (floats, arrays, enum subclasses, events, links, status
# messages) still goes through orjson, so escaping and number formatting are orjson's.
# A test holds ``encode_spans_json(spans) == orjson.dumps(encode_spans(spans))``.

# Module-level caches and constants are Final: compiled, a Final name is a C static, where
# any other module global is a dictionary lookup on every read (the encoder's hot path
# read eight of them per span).
_NAME_JSON: Final[dict[str, str]] = {}  # span name -> its JSON string
_VALUE_JSON: Final[dict[str, dict[str | bool, str]]] = {}  # key -> str/bool -> ',{KeyValue}'
_INT_HEAD: Final[dict[str, str]] = {}  # key -> ',{"key":KEY,"value":{"intValue":"'
_INT_TAIL: Final = '"}}'
_CATEGORY_JSON: Final[dict[str, str]] = {}  # category -> '{KeyValue}' of harmonysim.category
_ATTRIBUTES_HEAD: Final[dict[str, str]] = {}  # category -> ',"attributes":[{category KeyValue}'
_SCOPE_HEAD: Final[dict[str, str]] = {}  # category -> '{"scope":{...},"spans":['
_KIND_TEXT: Final = tuple(str(int(kind)) for kind in SpanKind)
_PARENT_ID: Final = '","parentSpanId":"'
_END: Final = "]}"  # the attributes' end, and the span's
_END_OK: Final = '],"status":{"code":1}}'
_OK: Final = StatusCode.OK
_UNSET: Final = StatusCode.UNSET


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _name_json(name: str) -> str:
    text = _NAME_JSON.get(name)
    if text is None:
        if len(_NAME_JSON) >= _MAX_ENTRIES:
            _NAME_JSON.clear()
        text = _NAME_JSON[name] = _json_text(name)
    return text


def _int_head(key: str) -> str:
    """An integer attribute's text up to its value: ``,{"key":KEY,"value":{"intValue":"``."""
    head = _INT_HEAD.get(key)
    if head is None:
        head = _INT_HEAD[key] = "," + _json_text({"key": key, "value": {"intValue": ""}})[:-3]
    return head


def _attribute_json(key: str, value: AttributeValue) -> str:
    """One attribute as ``,{KeyValue}`` text, caching string and boolean ones."""
    kind = type(value)
    if kind is int:
        return f"{_int_head(key)}{value}{_INT_TAIL}"
    if kind is not str and kind is not bool:
        return "," + _json_text(_attribute(key, value))
    by_value = _VALUE_JSON.get(key)
    if by_value is None:
        if len(_VALUE_JSON) >= _MAX_ENTRIES:
            _VALUE_JSON.clear()
        by_value = _VALUE_JSON[key] = {}
    text = by_value.get(value)  # type: ignore[arg-type]
    if text is None:
        if len(by_value) >= _MAX_ENTRIES:
            by_value.clear()
        text = by_value[value] = "," + _json_text(  # type: ignore[index]
            {"key": key, "value": any_value(value)}
        )
    return text


def _category_json(category: str) -> str:
    text = _CATEGORY_JSON.get(category)
    if text is None:
        text = _CATEGORY_JSON[category] = _json_text(_attribute(CATEGORY_KEY, str(category)))
    return text


def _attributes_head(category: str) -> str:
    text = _ATTRIBUTES_HEAD.get(category)
    if text is None:
        text = _ATTRIBUTES_HEAD[category] = ',"attributes":[' + _category_json(category)
    return text


def _scope_head(category: str) -> str:
    text = _SCOPE_HEAD.get(category)
    if text is None:
        scope = {"name": f"{SCOPE_NAME}.{category}", "version": SCOPE_VERSION}
        text = _SCOPE_HEAD[category] = '{"scope":' + _json_text(scope) + ',"spans":['
    return text


def _tail_json(span: Span, epoch_unix_ns: int) -> str:
    """Events, links and status of ``span`` (rare: a few in a thousand spans), via orjson."""
    text = ""
    if span.events:
        events = [
            {
                "timeUnixNano": str(event.time_us * 1000 + epoch_unix_ns),
                "name": event.name,
                **({"attributes": _attributes(event.attributes)} if event.attributes else {}),
            }
            for event in span.events
        ]
        text += ',"events":' + _json_text(events)
    if span.links:
        links = [
            {
                "traceId": f"{link.trace_id:032x}",
                "spanId": f"{link.span_id:016x}",
                **({"attributes": _attributes(link.attributes)} if link.attributes else {}),
            }
            for link in span.links
        ]
        text += ',"links":' + _json_text(links)
    if span.status is not StatusCode.UNSET:
        text += ',"status":{"code":' + str(int(span.status))
        if span.status_message:
            text += ',"message":' + _json_text(span.status_message)
        text += "}"
    return text


class OtlpSpanEncoder:
    """Encodes spans one at a time into the next ExportTraceServiceRequest, in ``take``.

    ``take()`` returns ``orjson.dumps(encode_spans(spans_added_since_last_take, ...))``
    byte for byte (``encode_spans_json`` is this class over a list). Spans are encoded
    when added, so a tracer can hand each span over as it finishes and drop it: encoding
    a span while it is fresh in the cache, rather than a batch of them later, is most of
    what streaming saved (``OtlpSpanWriter``). A span is encoded as it is when added.

    ``resources`` caches each node's encoded resource across requests (it depends on
    ``resource_attributes``, so an encoder owns its cache unless given one).
    """

    __slots__ = (
        "_by_node",
        "_resources",
        "_trace_ids",
        "count",
        "epoch_unix_ns",
        "resource_attributes",
    )

    def __init__(
        self,
        epoch_unix_ns: int = 0,
        resource_attributes: Mapping[str, AttributeValue] | None = None,
        resources: dict[str, str] | None = None,
    ) -> None:
        self.epoch_unix_ns = epoch_unix_ns
        self.resource_attributes = resource_attributes
        self._resources: dict[str, str] = {} if resources is None else resources
        # node -> category -> encoded spans, in order of first use (the request's order)
        self._by_node: dict[str, dict[str, list[str]]] = {}
        # A request holds a few spans of each of its traces: format each trace id once,
        # as the span's text up to its span id, ``{"traceId":"...","spanId":"``.
        self._trace_ids: dict[int, str] = {}
        self.count = 0  # spans added since the last take

    def add(self, span: Span) -> None:
        """Encode ``span`` into the pending request (the hot path: once per exported span).

        A span's text is appended as pieces (its head, its attributes, its end) to the
        list of its scope, and joined once, with the whole request, in ``take``: the
        attributes are mostly cached strings, appended as they are, where building the
        span as one string copied each of them twice.
        """
        node = span.node
        category = span.category
        # dict.get rather than subscripts in a try block: a miss (the first span of a
        # scope or a trace in a request, one span in seven) raised a KeyError, which cost
        # more than all the hits saved.
        scopes = self._by_node.get(node)
        if scopes is None:
            scopes = self._by_node[node] = {}
        encoded = scopes.get(category)
        if encoded is None:
            encoded = scopes[category] = []
        trace_id = span.trace_id
        trace_head = self._trace_ids.get(trace_id)
        if trace_head is None:
            # Ids as bytes in hex: a third of the time of a %032x format, measured.
            trace_hex = trace_id.to_bytes(16, "big").hex()
            trace_head = self._trace_ids[trace_id] = f'{{"traceId":"{trace_hex}","spanId":"'
        name = _NAME_JSON.get(span.name)
        if name is None:
            name = _name_json(span.name)
        epoch_unix_ns = self.epoch_unix_ns
        start = span.start_us
        end = span.end_us
        if end is None:
            end = start
        parent = span.parent_span_id
        parent_hex = "" if parent is None else parent.to_bytes(8, "big").hex()
        attributes_head = _ATTRIBUTES_HEAD.get(category)
        if attributes_head is None:
            attributes_head = _attributes_head(category)
        # A span after the first of its scope brings its separator: the request is then
        # one join of every piece, with no join per scope copying it first. The parent's
        # id, if any, closes the span id's string and opens its own.
        encoded.append(
            f"{',' if encoded else ''}{trace_head}{span.span_id.to_bytes(8, 'big').hex()}"
            f'{"" if parent is None else _PARENT_ID}{parent_hex}"'
            f',"name":{name}'
            f',"kind":{_KIND_TEXT[span.kind]}'
            f',"startTimeUnixNano":"{start * 1000 + epoch_unix_ns}"'
            f',"endTimeUnixNano":"{end * 1000 + epoch_unix_ns}"'
            f"{attributes_head}"
        )
        values = _VALUE_JSON
        for key, value in span.attributes.items():
            kind = type(value)
            if kind is str or kind is bool:  # most attributes are strings, then integers
                by_value = values.get(key)
                text = by_value.get(value) if by_value is not None else None  # type: ignore[arg-type]
                encoded.append(text if text is not None else _attribute_json(key, value))
            elif kind is int:
                int_head = _INT_HEAD.get(key)
                if int_head is None:
                    int_head = _int_head(key)
                encoded.append(int_head)
                # The cast (a plain int, tested above) lets compiled code format the
                # int itself rather than call str on any object.
                encoded.append(str(cast(int, value)))
                encoded.append(_INT_TAIL)
            else:
                encoded.append(_attribute_json(key, value))
        status = span.status
        if span.events or span.links:
            encoded.append("]" + _tail_json(span, epoch_unix_ns) + "}")
        elif status is _UNSET:
            encoded.append(_END)
        elif status is _OK and not span.status_message:
            encoded.append(_END_OK)
        else:
            encoded.append("]" + _tail_json(span, epoch_unix_ns) + "}")
        self.count += 1

    def take(self) -> bytes:
        """The request of the spans added since the last take (and start a new one)."""
        resources = self._resources
        # One join over every piece: concatenating the large per-scope strings would copy
        # the whole request several times.
        parts = ['{"resourceSpans":[']
        for node, scopes in self._by_node.items():
            resource = resources.get(node)
            if resource is None:
                resource = resources[node] = _json_text(_resource(node, self.resource_attributes))
            parts.append('{"resource":' + resource + ',"scopeSpans":[')
            for scope, encoded in scopes.items():
                parts.append(_scope_head(scope))
                parts += encoded
                parts.append("]},")
            parts[-1] = "]}]},"
        if len(parts) > 1:
            parts[-1] = "]}]}]}"
        else:
            parts.append("]}")
        self._by_node = {}
        self._trace_ids = {}
        self.count = 0
        return "".join(parts).encode()


def encode_spans_json(
    spans: Iterable[Span],
    epoch_unix_ns: int = 0,
    resource_attributes: Mapping[str, AttributeValue] | None = None,
    resources: dict[str, str] | None = None,
) -> bytes:
    """``orjson.dumps(encode_spans(...))``, byte for byte, written from cached fragments.

    ``resources`` caches each node's encoded resource across calls (a writer passes
    its own: it depends on ``resource_attributes``).
    """
    encoder = OtlpSpanEncoder(epoch_unix_ns, resource_attributes, resources)
    add = encoder.add
    for span in spans:
        add(span)
    return encoder.take()


class OtlpSpanWriter:
    """A tracer sink writing each batch of spans as one line of ``traces.otlp.jsonl``.

    A streaming sink (``tracing.StreamingSpanSink``): the tracer hands it each kept
    span as the span ends (``add_span``, the encoder's ``add`` itself, so no call in
    between) and says where each batch ends (``end_batch``), which writes the line.
    ``write_spans`` writes a whole batch at once (exporters converting a run folder).
    """

    __slots__ = ("_encoder", "_file", "add_span", "lines", "spans")

    def __init__(
        self,
        file: IO[bytes],
        epoch_unix_ns: int = 0,
        resource_attributes: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        self._file = file
        self._encoder = OtlpSpanEncoder(epoch_unix_ns, resource_attributes)
        self.add_span = self._encoder.add
        self.lines = 0
        self.spans = 0

    @property
    def epoch_unix_ns(self) -> int:
        return self._encoder.epoch_unix_ns

    @property
    def resource_attributes(self) -> Mapping[str, AttributeValue] | None:
        return self._encoder.resource_attributes

    def end_batch(self) -> None:
        """Write the spans added since the last batch as one line (nothing if none)."""
        encoder = self._encoder
        count = encoder.count
        if count:
            # Two writes (the file buffers the newline): a request is hundreds of
            # kilobytes, which ``+ b"\n"`` would copy once more.
            self._file.write(encoder.take())
            self._file.write(b"\n")
            self.lines += 1
            self.spans += count

    def write_spans(self, spans: Sequence[Span]) -> None:
        self.end_batch()  # spans added one by one first, in order
        add = self.add_span
        for span in spans:
            add(span)
        self.end_batch()


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
