"""OTLP/JSON: the encoding rules checked directly, then a strict protobuf parse, then a push."""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from harmonysim.obs.otlp import OtlpPushError, push_otlp, read_otlp_spans

CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")
INT64_KEYS = {"startTimeUnixNano", "endTimeUnixNano", "timeUnixNano", "intValue", "asInt", "count"}


def lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def walk(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for child_key, child in value.items():
            yield child_key, child
            yield from walk(child, child_key)
    elif isinstance(value, list):
        for item in value:
            if key == "bucketCounts":
                yield "bucketCounts[]", item
            yield from walk(item, key)


def test_trace_file_follows_the_json_encoding_rules(exported: Path) -> None:
    requests = lines(exported / "traces.otlp.jsonl")
    assert requests
    kinds: set[int] = set()
    for request in requests:
        for key, value in walk(request):
            assert CAMEL.match(key), key
            if key in INT64_KEYS:
                assert isinstance(value, str) and value.isdigit(), (key, value)
            if key == "traceId":
                assert re.fullmatch(r"[0-9a-f]{32}", value), value
            if key in ("spanId", "parentSpanId"):
                assert re.fullmatch(r"[0-9a-f]{16}", value), value
            if key == "kind":
                assert isinstance(value, int)
                kinds.add(value)
            if key == "status":
                assert isinstance(value["code"], int)
        for resource_spans in request["resourceSpans"]:
            attributes = {a["key"]: a["value"] for a in resource_spans["resource"]["attributes"]}
            service = attributes["service.name"]["stringValue"]
            assert re.fullmatch(r"[nc]\d+", service)
            for scope in resource_spans["scopeSpans"]:
                for span in scope["spans"]:
                    assert int(span["endTimeUnixNano"]) >= int(span["startTimeUnixNano"])
    assert {2, 3, 4} <= kinds  # server, client and producer spans all appear


def hex_ids_to_base64(value: Any) -> Any:
    """OTLP/JSON writes ids as hex where protobuf's JSON mapping expects base64 (the spec's
    one deviation); a receiver converts them before the generic parse, as this does."""
    if isinstance(value, dict):
        return {
            key: base64.b64encode(bytes.fromhex(item)).decode()
            if key in ("traceId", "spanId", "parentSpanId")
            else hex_ids_to_base64(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [hex_ids_to_base64(item) for item in value]
    return value


def test_trace_file_parses_as_export_trace_service_requests(exported: Path) -> None:
    spans = 0
    trace_ids: set[bytes] = set()
    for request in lines(exported / "traces.otlp.jsonl"):
        message = json_format.ParseDict(hex_ids_to_base64(request), ExportTraceServiceRequest())
        for resource_spans in message.resource_spans:
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    assert len(span.trace_id) == 16 and len(span.span_id) == 8
                    trace_ids.add(span.trace_id)
                    spans += 1
    decoded = read_otlp_spans(exported / "traces.otlp.jsonl")
    assert spans == len(decoded) > 100
    assert {s.context.trace_id.to_bytes(16, "big") for s in decoded} == trace_ids


def test_errors_and_parents_survive_the_round_trip(exported: Path) -> None:
    spans = read_otlp_spans(exported / "traces.otlp.jsonl")
    by_id = {span.context.span_id: span for span in spans}
    children = [span for span in spans if span.context.parent_span_id is not None]
    assert children
    for child in children:
        parent = by_id[child.context.parent_span_id]  # type: ignore[index]
        assert parent.context.trace_id == child.context.trace_id
    # Operations that timed out are errors (the fixture's partition makes some).
    assert any(span.status.value == 2 and span.name.startswith("kv.") for span in spans)


def test_metrics_file_follows_the_rules_and_parses(exported: Path) -> None:
    requests = lines(exported / "metrics.otlp.jsonl")
    assert requests
    seen: dict[str, str] = {}
    for request in requests:
        for key, value in walk(request):
            assert CAMEL.match(key) or key == "bucketCounts[]", key
            if key in INT64_KEYS or key == "bucketCounts[]":
                assert isinstance(value, str) and value.isdigit(), (key, value)
            if key == "aggregationTemporality":
                assert value == 2
        message = json_format.ParseDict(request, ExportMetricsServiceRequest())
        for metric in message.resource_metrics[0].scope_metrics[0].metrics:
            seen[metric.name] = metric.WhichOneof("data")
            if metric.WhichOneof("data") == "histogram":
                for point in metric.histogram.data_points:
                    assert len(point.bucket_counts) == len(point.explicit_bounds) + 1
                    assert sum(point.bucket_counts) == point.count
    assert seen["harmonysim_raft_term"] == "gauge"
    assert seen["harmonysim_network_messages_sent_total"] == "sum"
    assert seen["harmonysim_client_operation_latency_seconds"] == "histogram"


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        status = 200 if self.path in ("/v1/traces", "/v1/metrics") else 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    received: ClassVar[list[tuple[str, str, bytes]]] = []
    handler = type("Handler", (_Receiver,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", received
    finally:
        server.shutdown()
        server.server_close()


def test_push_posts_each_request_to_the_right_path(
    exported: Path, receiver: tuple[str, list[tuple[str, str, bytes]]]
) -> None:
    url, received = receiver
    traces = exported / "traces.otlp.jsonl"
    metrics = exported / "metrics.otlp.jsonl"
    result = push_otlp(url, traces, metrics, timeout_s=5)
    assert result.trace_requests == len(lines(traces))
    assert result.metric_requests == len(lines(metrics))
    paths = [path for path, _, _ in received]
    assert (
        paths == ["/v1/traces"] * result.trace_requests + ["/v1/metrics"] * result.metric_requests
    )
    assert {content_type for _, content_type, _ in received} == {"application/json"}
    first = json_format.ParseDict(
        hex_ids_to_base64(orjson.loads(received[0][2])), ExportTraceServiceRequest()
    )
    assert first.resource_spans[0].scope_spans[0].spans


def test_push_reports_refusals(exported: Path, receiver: tuple[str, list[Any]]) -> None:
    url, _ = receiver
    with pytest.raises(OtlpPushError, match="404"):
        push_otlp(url + "/wrong", exported / "traces.otlp.jsonl", None, timeout_s=5)
    with pytest.raises(OtlpPushError):
        push_otlp("localhost:4318", exported / "traces.otlp.jsonl", None)


def test_run_pushes_its_traces_and_metrics_to_an_otlp_receiver(
    tmp_path: Path, receiver: tuple[str, list[tuple[str, str, bytes]]]
) -> None:
    from harmonysim.cli import main

    url, received = receiver
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(
        "name: tiny\nduration: 1s\ncluster: {nodes: 3}\n"
        "workload: {clients: 2, rate: 50/s, mix: {put: 1.0}}\n"
    )
    out = tmp_path / "run"
    argv = ["run", str(scenario), "--out", str(out), "--quiet", "--trace-sample", "1"]
    assert main([*argv, "--otlp-endpoint", url]) == 0
    traces, metrics = lines(out / "traces.otlp.jsonl"), lines(out / "metrics.otlp.jsonl")
    paths = [path for path, _, _ in received]
    assert paths == ["/v1/traces"] * len(traces) + ["/v1/metrics"] * len(metrics)
    assert [orjson.loads(body) for _, _, body in received] == traces + metrics
    # A refused push is reported (exit 2) with the run folder kept.
    assert main([*argv, "--force", "--otlp-endpoint", url + "/wrong"]) == 2
    assert (out / "run.json").exists()
    assert main([*argv, "--otlp-endpoint", "localhost:4318"]) == 2
