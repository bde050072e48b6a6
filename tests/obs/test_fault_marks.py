"""Faults in the exports: the Perfetto trace puts each fault mark on the ``faults`` thread
of the server it hits, OTLP traces (inline and derived) put a fault on the spans open on
its server as a span event, the ShiViz log has it as a local event of that server; the files stay
valid, and a run without such faults has none.
"""

from __future__ import annotations

import io
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from harmonysim.obs.derive import SpanCollector, spans_from_events
from harmonysim.obs.export import CounterIds, export_run
from harmonysim.obs.integration import Instrumentation
from harmonysim.obs.otlp import OtlpSpanWriter, read_otlp_spans
from harmonysim.obs.perfetto import FAULTS_THREAD
from harmonysim.runlog.faultmarks import MarkKind
from harmonysim.runner import run_scenario
from harmonysim.scenario import parse_scenario
from tests.faultrun import MARK_TIMES, MARKED_FAULTS, make_marked_run
from tests.obs.test_otlp import hex_ids_to_base64, lines
from tests.obs.test_tracing import Ids


@pytest.fixture(scope="module")
def marked_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The marked run exported to Perfetto, OTLP and ShiViz, its traces derived from its events
    (the run's own inline traces removed)."""
    run = make_marked_run(tmp_path_factory.mktemp("marked") / "run")
    (run / "traces.otlp.jsonl").unlink()
    out = tmp_path_factory.mktemp("marked-export")
    export_run(run, ["perfetto", "otlp", "shiviz"], out)
    return out


def trace_events(folder: Path) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = orjson.loads((folder / "trace.perfetto.json").read_bytes())[
        "traceEvents"
    ]
    return events


def fault_events(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Node -> the events on its faults thread."""
    processes = {e["pid"]: e["args"]["name"] for e in events if e["name"] == "process_name"}
    threads = {
        (e["pid"], e["tid"])
        for e in events
        if e["name"] == "thread_name"
        if e["args"]["name"].startswith(FAULTS_THREAD)
    }
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        if event["ph"] in ("i", "X") and (event["pid"], event.get("tid")) in threads:
            found[processes[event["pid"]]].append(event)
    return found


@pytest.mark.parametrize("name", sorted(MARK_TIMES))
def test_perfetto_puts_each_fault_on_its_servers_faults_thread(
    marked_export: Path, name: str
) -> None:
    node, t_ms = MARK_TIMES[name]
    kind = MarkKind[name.upper()]
    found = [
        e
        for e in fault_events(trace_events(marked_export))[node]
        if e["args"]["fault"] == kind.value
    ]
    assert found and found[0]["ts"] == round(t_ms * 1000)
    assert found[0]["cat"] == FAULTS_THREAD
    lasting = kind in (
        MarkKind.CLOCK_RATE,
        MarkKind.CLOCK_STROBE,
        MarkKind.DISK_SLOW,
        MarkKind.HALTED,
    )
    assert found[0]["ph"] == ("X" if lasting else "i")


def test_perfetto_fault_slices_last_as_long_as_the_fault(marked_export: Path) -> None:
    faults = fault_events(trace_events(marked_export))
    (rate,) = [e for e in faults["n2"] if e["args"]["fault"] == MarkKind.CLOCK_RATE.value]
    assert (rate["ts"], rate["dur"], rate["name"]) == (500_000, 500_000, "n2 clock rate 0.97")
    (transfer,) = [e for e in faults["n1"] if e["args"]["fault"] == MarkKind.TRANSFER.value]
    assert transfer["args"]["to"] == "n2" and transfer["name"] == "transfer n1 -> n2"


def test_perfetto_slices_still_nest_on_every_thread(marked_export: Path) -> None:
    by_thread: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for event in trace_events(marked_export):
        if event["ph"] == "X":
            assert isinstance(event["ts"], int) and event["dur"] >= 0
            by_thread[(event["pid"], event["tid"])].append(
                (event["ts"], event["ts"] + event["dur"])
            )
    for slices in by_thread.values():
        stack: list[int] = []
        for start, end in sorted(slices, key=lambda s: (s[0], -s[1])):
            while stack and stack[-1] <= start:
                stack.pop()
            assert not stack or end <= stack[-1], "slices overlap without nesting"
            stack.append(end)


def test_perfetto_of_a_run_without_such_faults_has_no_faults_thread(exported: Path) -> None:
    events = trace_events(exported)
    assert not fault_events(events)
    assert not [e for e in events if e.get("cat") == FAULTS_THREAD]


# -- derived OTLP traces ------------------------------------------------------------------


def serving(fault: dict[str, Any]) -> list[dict[str, Any]]:
    """A log where n1 serves c1's request from 10 ms to 30 ms, with ``fault`` at 20 ms."""
    rows: list[tuple[float, str, str | None, dict[str, Any]]] = [
        (5.0, "client.invoke", "c1", {"process": 0, "request": 1, "f": "get", "key": 3}),
        (5.0, "msg.send", "c1", {"id": 1, "dst": "n1", "type": "ClientRequest"}),
        (10.0, "msg.deliver", "n1", {"id": 1}),
        (
            20.0,
            fault["kind"],
            fault.get("node"),
            {k: v for k, v in fault.items() if k not in ("kind", "node")},
        ),
        (30.0, "msg.send", "n1", {"id": 2, "dst": "c1", "type": "ClientReply"}),
        (35.0, "msg.deliver", "c1", {"id": 2}),
        (35.0, "client.ok", "c1", {"value": None}),
    ]
    return [
        {"t": t, "seq": seq, "kind": kind, "node": node, **fields}
        for seq, (t, kind, node, fields) in enumerate(rows)
    ]


SERVER_FAULTS: list[tuple[dict[str, Any], str]] = [
    ({"kind": "node.clock", "node": "n1", "rate": 0.96}, "n1 clock rate 0.96"),
    ({"kind": "node.clock", "node": "n1", "jump_ms": -1000.0}, "n1 clock jump -1000 ms"),
    (
        {"kind": "node.clock", "node": "n1", "strobe": {"delta_ms": 200.0, "period_ms": 20.0}},
        "n1 clock strobe ±200 ms every 20 ms",
    ),
    ({"kind": "disk.fault", "node": "n1", "fault": "torn", "armed": True}, "n1 disk torn (armed)"),
    (
        {"kind": "disk.fault", "node": "n1", "fault": "slow", "fsync_ms": 30.0},
        "n1 disk slow (fsync 30 ms)",
    ),
    (
        {
            "kind": "disk.damage",
            "node": "n1",
            "file": "log",
            "reason": "checksum",
            "action": "repair",
        },
        "n1 damage in log (checksum): repair",
    ),
    (
        {"kind": "raft.repaired", "node": "n1", "last_index": 7, "leader": "n2"},
        "n1 repaired (log to 7 from n2)",
    ),
    ({"kind": "leader.transfer", "node": "n1", "to": "n2"}, "transfer n1 -> n2"),
    (
        {"kind": "membership", "node": None, "op": "remove", "target": "n1", "result": "requested"},
        "remove n1",
    ),
    (
        {"kind": "fault.noop", "node": "n1", "fault": "pause", "reason": "the node is down"},
        "no-op pause: the node is down",
    ),
]


@pytest.mark.parametrize(
    ("fault", "label"), SERVER_FAULTS, ids=[label for _, label in SERVER_FAULTS]
)
def test_a_fault_is_an_event_on_the_spans_open_on_its_server(
    fault: dict[str, Any], label: str
) -> None:
    spans = spans_from_events(serving(fault), CounterIds("faults"))
    (request,) = [span for span in spans if span.name == "kv.request"]
    assert request.node == "n1"
    events = [(e.name, e.time_us, e.attributes) for e in request.events]
    assert events == [(label, 20_000, {"fault.kind": fault["kind"], "fault.node": "n1"})]
    others = [span for span in spans if span is not request]
    assert not [e for span in others for e in span.events if "fault.kind" in e.attributes]
    # ...and the event survives OTLP/JSON and a strict protobuf parse
    buffer = io.BytesIO()
    OtlpSpanWriter(buffer).write_spans(spans)
    for line in buffer.getvalue().splitlines():
        json_format.ParseDict(hex_ids_to_base64(orjson.loads(line)), ExportTraceServiceRequest())


def test_a_fault_on_another_server_leaves_the_request_alone() -> None:
    fault = {"kind": "node.clock", "node": "n3", "rate": 0.96}
    spans = spans_from_events(serving(fault), CounterIds("faults"))
    assert not [e for span in spans for e in span.events if "fault.kind" in e.attributes]


def test_derived_traces_of_the_marked_run_carry_fault_events_and_parse(
    marked_export: Path,
) -> None:
    for request in lines(marked_export / "traces.otlp.jsonl"):
        json_format.ParseDict(hex_ids_to_base64(request), ExportTraceServiceRequest())
    spans = read_otlp_spans(marked_export / "traces.otlp.jsonl")
    hits = [(s.node, e) for s in spans for e in s.events if "fault.kind" in e.attributes]
    assert hits  # at 50 requests a second some faults find a request open on their server
    assert all(node == event.attributes["fault.node"] for node, event in hits)


def test_derived_traces_of_a_run_without_such_faults_have_no_fault_events(
    run_dir: Path, tmp_path: Path
) -> None:
    shutil.copytree(run_dir, tmp_path / "run")
    (tmp_path / "run" / "traces.otlp.jsonl").unlink()
    export_run(tmp_path / "run", ["otlp"], tmp_path / "out")
    spans = read_otlp_spans(tmp_path / "out" / "traces.otlp.jsonl")
    assert spans
    assert not [e for s in spans for e in s.events if "fault.kind" in e.attributes]


# -- ShiViz ----------------------------------------------------------------------------------


def test_shiviz_logs_each_fault_on_the_server_it_hits(marked_export: Path) -> None:
    log = (marked_export / "shiviz.log").read_text().splitlines()
    faults = [line.split(" ", 3) for line in log[2:] if line.split(" ", 3)[3].startswith("fault ")]
    seen = {(host, float(t), text) for host, _, t, text in faults}
    assert ("n2", 500.0, "fault n2 clock rate 0.97") in seen
    assert ("n1", 1000.0, "fault transfer n1 -> n2") in seen
    assert ("n3", 1500.0, "fault remove n3") in seen
    assert ("n3", 3400.0, "fault n3 damage in hard_state (checksum): halt") in seen
    hosts = {host for host, _, _, _ in faults}
    assert hosts <= {"n1", "n2", "n3"}


def test_shiviz_of_a_run_without_such_faults_logs_none(exported: Path) -> None:
    log = (exported / "shiviz.log").read_text().splitlines()
    assert not [line for line in log[2:] if line.split(" ", 3)[3].startswith("fault ")]


# -- inline traces ---------------------------------------------------------------------------


def test_the_instrumentation_puts_a_fault_on_the_spans_open_on_its_server() -> None:
    clock = [1_000]
    sink = SpanCollector()
    root = Instrumentation.create(Ids(2), lambda: clock[0], 1.0, span_sink=sink)
    on_n1, on_n2 = root.for_node("n1"), root.for_node("n2")
    serving = on_n1.serve_request(None, "get", "k")
    other = on_n2.serve_request(None, "get", "k")
    done = on_n1.serve_request(None, "put", "k")
    done.finish()
    clock[0] = 2_000
    root.fault_hit({"t": 2.0, "seq": 9, "kind": "node.clock", "node": "n1", "rate": 0.96})
    root.fault_hit({"t": 2.0, "seq": 10, "kind": "raft.commit", "node": "n1", "index": 3})
    events = [(e.name, e.time_us, e.attributes) for e in serving.span.events]
    assert events == [
        ("n1 clock rate 0.96", 2_000, {"fault.kind": "node.clock", "fault.node": "n1"})
    ]
    assert not other.span.events and not done.span.events


def test_a_traced_run_carries_its_faults_and_logs_the_same_events(tmp_path: Path) -> None:
    traced = run_scenario(parse_scenario(MARKED_FAULTS), tmp_path / "traced", trace_sample=1.0)
    untraced = run_scenario(parse_scenario(MARKED_FAULTS), tmp_path / "plain", trace_sample=0.0)
    assert traced.event_hash == untraced.event_hash
    spans = read_otlp_spans(tmp_path / "traced" / "traces.otlp.jsonl")
    hits = [(s.node, e) for s in spans for e in s.events if "fault.kind" in e.attributes]
    assert {event.attributes["fault.kind"] for _, event in hits} >= {"node.clock", "disk.fault"}
    assert all(node == event.attributes["fault.node"] for node, event in hits)
