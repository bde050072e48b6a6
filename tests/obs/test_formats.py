"""Perfetto, Prometheus/OpenMetrics, Zipkin and ShiViz exports of a real run folder."""

from __future__ import annotations

import re
import subprocess
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from harmonysim.obs.export import export_run
from tests.tools import require_tool


def test_perfetto_processes_threads_and_strict_nesting(exported: Path) -> None:
    trace = orjson.loads((exported / "trace.perfetto.json").read_bytes())
    events: list[dict[str, Any]] = trace["traceEvents"]
    names = {e["pid"]: e["args"]["name"] for e in events if e["name"] == "process_name"}
    assert names[0] == "cluster"
    assert [names[pid] for pid in sorted(names)][1:6] == ["n1", "n2", "n3", "n4", "n5"]
    threads = {e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert {"client", "network", "raft", "btree", "storage"} <= threads
    by_thread: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for event in events:
        if event["ph"] == "X":
            assert isinstance(event["ts"], int) and event["dur"] >= 0
            by_thread[(event["pid"], event["tid"])].append(
                (event["ts"], event["ts"] + event["dur"])
            )
    assert len(by_thread) > 10
    for slices in by_thread.values():
        stack: list[int] = []
        for start, end in sorted(slices, key=lambda s: (s[0], -s[1])):
            while stack and stack[-1] <= start:
                stack.pop()
            assert not stack or end <= stack[-1], "slices overlap without nesting"
            stack.append(end)


def test_perfetto_flows_match_delivered_messages(
    exported: Path, records: list[dict[str, Any]]
) -> None:
    events = orjson.loads((exported / "trace.perfetto.json").read_bytes())["traceEvents"]
    starts = {e["id"]: e for e in events if e["ph"] == "s"}
    finishes = {e["id"]: e for e in events if e["ph"] == "f"}
    delivered = sum(1 for r in records if r["kind"] == "msg.deliver")
    assert len(starts) == len(finishes) == delivered
    assert all(isinstance(flow_id, int) for flow_id in starts)
    slices: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for e in events:
        if e["ph"] == "X":
            slices[(e["pid"], e["tid"])].append((e["ts"], e["ts"] + e["dur"]))

    def enclosed(event: dict[str, Any]) -> bool:
        return any(a <= event["ts"] <= b for a, b in slices[(event["pid"], event["tid"])])

    for flow_id, start in starts.items():
        finish = finishes[flow_id]
        assert finish["bp"] == "e" and finish["ts"] >= start["ts"]
        assert start["pid"] != finish["pid"]
        assert start["name"] == finish["name"]
    sample = list(starts)[:: max(1, len(starts) // 200)]
    assert all(enclosed(starts[i]) and enclosed(finishes[i]) for i in sample)
    counters = {e["name"] for e in events if e["ph"] == "C"}
    assert {"term", "commit_index"} <= counters


def test_prometheus_text_passes_the_strict_openmetrics_parser(exported: Path) -> None:
    text = (exported / "metrics.openmetrics").read_text()
    assert text.endswith("# EOF\n")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["harmonysim_network_messages_sent"].type == "counter"
    assert families["harmonysim_client_operation_latency_seconds"].type == "histogram"
    assert "_created" not in text
    prom = (exported / "metrics.prom").read_text()
    assert "# TYPE harmonysim_raft_term gauge" in prom
    assert re.search(r'^harmonysim_faults_total\{kind="net.partition"\} 1.0$', prom, re.M)
    assert not re.search(r"^(process|python)_", prom, re.M)


def test_promtool_accepts_the_text(exported: Path) -> None:
    promtool = require_tool("promtool", "Debian package `prometheus`; `make system-deps`")
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=(exported / "metrics.prom").read_bytes(),
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zipkin_v2_shape(exported: Path) -> None:
    spans = orjson.loads((exported / "zipkin.json").read_bytes())
    assert isinstance(spans, list) and spans
    ids = {span["id"] for span in spans}
    for span in spans:
        assert re.fullmatch(r"[0-9a-f]{32}", span["traceId"])
        assert re.fullmatch(r"[0-9a-f]{16}", span["id"])
        assert isinstance(span["timestamp"], int)
        assert "duration" not in span or span["duration"] > 0
        assert span.get("kind", "CLIENT") in ("CLIENT", "SERVER", "PRODUCER", "CONSUMER")
        assert span["localEndpoint"]["serviceName"]
        assert all(isinstance(value, str) for value in span["tags"].values())
        if "parentId" in span:
            assert span["parentId"] in ids
    assert any("error" in span["tags"] for span in spans)
    assert any(span.get("remoteEndpoint") for span in spans)


def _clock(line: str) -> tuple[str, dict[str, int], str]:
    match = re.fullmatch(r"(\S+) (\{[^}]*\}) (\S+) (.*)", line)
    assert match, line
    return match.group(1), orjson.loads(match.group(2)), match.group(4)


def test_shiviz_clocks_are_monotone_and_follow_messages(exported: Path) -> None:
    lines = (exported / "shiviz.log").read_text().splitlines()
    assert lines[0].startswith("(?<host>") and lines[1] == ""
    last: dict[str, dict[str, int]] = {}
    sent: dict[str, dict[str, int]] = {}
    deliveries = 0
    for line in lines[2:]:
        host, clock, event = _clock(line)
        previous = last.get(host, {})
        assert clock[host] == previous.get(host, 0) + 1  # own entry steps by one
        assert all(clock.get(k, 0) >= v for k, v in previous.items())  # never goes back
        message = re.search(r"\(#(\d+)\)$", event)
        if event.startswith("send") and message:
            sent[message.group(1)] = clock
        elif event.startswith("deliver") and message:
            at_send = sent[message.group(1)]
            assert all(clock.get(k, 0) >= v for k, v in at_send.items())  # happened-before
            deliveries += 1
        last[host] = clock
    assert deliveries > 1000


def test_exports_are_deterministic(run_dir: Path, exported: Path, tmp_path: Path) -> None:
    export_run(run_dir, ["all"], tmp_path)
    for path in sorted(exported.iterdir()):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_counts_in_prometheus_match_the_event_log(
    exported: Path, records: list[dict[str, Any]]
) -> None:
    families = {
        f.name: f
        for f in text_string_to_metric_families((exported / "metrics.openmetrics").read_text())
    }
    sent = sum(s.value for s in families["harmonysim_network_messages_sent"].samples)
    kinds = Counter(r["kind"] for r in records)
    assert sent == kinds["msg.send"]
    dropped = sum(s.value for s in families["harmonysim_network_messages_dropped"].samples)
    assert dropped == kinds["msg.drop"]
