"""``run --keep-traces errors``: every request that ended in error keeps its whole trace,
though every check passed, without moving the event log, the sampled traces or the metrics."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import orjson

from harmonysim.cli import main
from harmonysim.obs.otlp import read_otlp_spans
from harmonysim.obs.tracing import Span
from tests.obs.test_alerts import OUTAGE

SAMPLE = 0.01


def _errored_requests(out: Path) -> set[tuple[str, int]]:
    """(client, request) of every operation that ended ``info``, from history.jsonl."""
    invoked: dict[int, int] = defaultdict(int)
    errored = set()
    for line in (out / "history.jsonl").read_bytes().splitlines():
        row = orjson.loads(line)
        if row["type"] == "invoke":
            invoked[row["process"]] += 1
        elif row["type"] == "info":
            errored.add((f"c{row['process']}", invoked[row["process"]]))
    return errored


def _traces_by_request(out: Path) -> dict[tuple[str, int], list[Span]]:
    by_trace: dict[int, list[Span]] = defaultdict(list)
    for span in read_otlp_spans(out / "traces.otlp.jsonl"):
        by_trace[span.context.trace_id].append(span)
    out_traces = {}
    for spans in by_trace.values():
        (root,) = [span for span in spans if span.context.parent_span_id is None]
        if root.name.startswith("kv."):
            out_traces[(str(root.node), int(root.attributes["kv.request"]))] = spans
    return out_traces


def test_every_errored_request_keeps_its_whole_trace(tmp_path: Path) -> None:
    scenario = tmp_path / "outage.yaml"
    scenario.write_text(OUTAGE)
    plain, kept = tmp_path / "plain", tmp_path / "kept"
    common = ["run", str(scenario), "--trace-sample", str(SAMPLE), "--quiet"]
    assert main([*common, "--out", str(plain)]) == 0
    assert main([*common, "--out", str(kept), "--keep-traces", "errors"]) == 0
    errored = _errored_requests(kept)
    assert len(errored) >= 10
    before, after = _traces_by_request(plain), _traces_by_request(kept)
    # unsampled, an error keeps only its root span (it propagated nothing)
    assert sum(1 for request in errored if len(before.get(request, [])) <= 1) >= len(errored) // 2
    for request in errored:
        spans = after.get(request)
        assert spans is not None, f"{request} has no trace"
        assert len(spans) > 1, f"{request} kept only its root span"
    run = orjson.loads((kept / "run.json").read_bytes())
    record = run["telemetry"]["kept_for_errors"]
    assert record["replayed"] is True and record["requests"] == len(errored)
    assert "kept_for_errors" not in orjson.loads((plain / "run.json").read_bytes())["telemetry"]
    plain_run = orjson.loads((plain / "run.json").read_bytes())
    assert run["event_hash"] == plain_run["event_hash"]
    assert set(before) <= set(after)
    for name in ("metrics.jsonl", "metrics.prom"):
        assert (plain / name).read_bytes() == (kept / name).read_bytes()
