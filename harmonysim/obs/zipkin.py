"""Zipkin v2 JSON: the span list that Zipkin's ``POST /api/v2/spans`` and Jaeger accept.

Rules (Zipkin v2 API, ``Span`` model):
- ``traceId`` is 32 lowercase hex digits, ``id`` and ``parentId`` 16; ``timestamp``
  and ``duration`` are microseconds (virtual time, plus ``epoch_us`` if given);
  a zero duration is left out, as the model asks.
- ``kind`` is CLIENT, SERVER, PRODUCER or CONSUMER, left out for internal spans;
  ``localEndpoint.serviceName`` is the node; a network hop's peer
  (``net.peer``) becomes ``remoteEndpoint.serviceName``.
- Span events become ``annotations`` (with their attributes folded into the
  value); attributes become string ``tags``; an error status becomes the
  ``error`` tag, as Zipkin's UI expects.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harmonysim.obs.tracing import AttributeValue, Span, SpanKind, StatusCode

__all__ = ["zipkin_spans"]

_KINDS = {
    SpanKind.CLIENT: "CLIENT",
    SpanKind.SERVER: "SERVER",
    SpanKind.PRODUCER: "PRODUCER",
    SpanKind.CONSUMER: "CONSUMER",
}


def _tag(value: AttributeValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return ",".join(str(item) for item in value)


def zipkin_spans(spans: Iterable[Span], epoch_us: int = 0) -> list[dict[str, Any]]:
    """Zipkin v2 JSON objects for ``spans``, in the order given."""
    out: list[dict[str, Any]] = []
    for span in spans:
        context = span.context
        item: dict[str, Any] = {
            "traceId": f"{context.trace_id:032x}",
            "id": f"{context.span_id:016x}",
        }
        if context.parent_span_id is not None:
            item["parentId"] = f"{context.parent_span_id:016x}"
        item["name"] = span.name
        kind = _KINDS.get(span.kind)
        if kind is not None:
            item["kind"] = kind
        item["timestamp"] = span.start_us + epoch_us
        if span.duration_us > 0:
            item["duration"] = span.duration_us
        item["localEndpoint"] = {"serviceName": span.node}
        peer = span.attributes.get("net.peer")
        if isinstance(peer, str):
            item["remoteEndpoint"] = {"serviceName": peer}
        if span.events:
            item["annotations"] = [
                {
                    "timestamp": event.time_us + epoch_us,
                    "value": event.name
                    + "".join(f" {key}={_tag(value)}" for key, value in event.attributes.items()),
                }
                for event in span.events
            ]
        tags = {"harmonysim.category": span.category.value}
        tags.update((key, _tag(value)) for key, value in span.attributes.items())
        if span.status is StatusCode.ERROR:
            tags["error"] = span.status_message or "error"
        item["tags"] = tags
        out.append(item)
    return out
