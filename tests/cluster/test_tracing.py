"""Tracing a run: one write followed across every node, and tracing never changing the run."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from harmonysim.bench.tracing import RATIOS, run_tracing_benchmark
from harmonysim.cluster.telemetry import TRACE_ID_STREAM
from harmonysim.obs.otlp import read_otlp_spans
from harmonysim.obs.tracing import Category, RandomIds, Span, Tracer
from harmonysim.runner import run_scenario
from harmonysim.scenario import parse_scenario
from harmonysim.sim.rng import RngTree

SCENARIO = parse_scenario("""
name: traced
duration: 3s
cluster: {nodes: 5}
network: {latency: {distribution: lognormal, mean: 5ms, p99: 30ms}}
workload: {clients: 4, rate: 100/s, mix: {get: 0.3, put: 0.7}}
""")


@pytest.fixture(scope="module")
def traced_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Span]]:
    out = tmp_path_factory.mktemp("traced")
    run_scenario(SCENARIO, out, trace_sample=1.0)
    return out, read_otlp_spans(out / "traces.otlp.jsonl")


def test_one_write_is_followed_across_every_node_in_causal_order(
    traced_run: tuple[Path, list[Span]],
) -> None:
    out, spans = traced_run
    history = [orjson.loads(line) for line in (out / "history.jsonl").read_bytes().splitlines()]
    assert any(row["type"] == "ok" and row["f"] == "put" for row in history)
    by_trace: dict[int, list[Span]] = {}
    for span in spans:
        by_trace.setdefault(span.context.trace_id, []).append(span)
    # The first acknowledged put whose trace reached all five servers.
    chosen = None
    for trace in by_trace.values():
        roots = [s for s in trace if s.context.parent_span_id is None]
        applied = {s.node for s in trace if s.name == "raft.apply"}
        if (
            len(roots) == 1
            and roots[0].name == "kv.put"
            and roots[0].attributes.get("result") == "ok"
            and len(applied) == 5
        ):
            chosen = trace
            break
    assert chosen is not None, "no acknowledged put was traced to all five servers"
    by_id = {span.context.span_id: span for span in chosen}
    root = next(s for s in chosen if s.context.parent_span_id is None)
    client = root.node
    # Every span hangs off the root, and starts no earlier than its parent (causality).
    for span in chosen:
        if span is root:
            continue
        parent = by_id[span.context.parent_span_id]  # type: ignore[index]
        assert span.start_us >= parent.start_us, (span.name, parent.name)
    start: dict[tuple[str, str], int] = {}
    for span in chosen:
        key = (span.node, span.name.split(" ")[0])
        start[key] = min(start.get(key, span.start_us), span.start_us)
    leader = next(s.node for s in chosen if s.name == "serve put")
    followers = sorted({s.node for s in chosen if s.name == "raft.apply"} - {leader})
    assert len(followers) == 4
    # The path of a write (DESIGN.md): invoke -> request hop -> leader serves -> propose ->
    # append + AppendEntries -> followers persist -> commit -> apply + B+ tree put -> reply.
    assert start[(client, "kv.put")] <= start[(client, "ClientRequest")]
    assert start[(client, "ClientRequest")] < start[(leader, "serve")]
    assert start[(leader, "serve")] <= start[(leader, "raft.propose")]
    assert start[(leader, "raft.propose")] < start[(leader, "AppendEntries")]
    for follower in followers:
        assert start[(leader, "AppendEntries")] < start[(follower, "raft.apply")]
        assert start[(follower, "raft.apply")] <= start[(follower, "btree.put")]
    assert start[(leader, "raft.apply")] <= start[(leader, "ClientReply")]
    commit = next(s for s in chosen if s.name == "raft.commit")
    apply_on_leader = next(s for s in chosen if s.name == "raft.apply" and s.node == leader)
    reply = next(s for s in chosen if s.name.startswith("ClientReply"))
    assert commit.end_us is not None and commit.end_us <= apply_on_leader.start_us
    assert reply.end_us is not None and reply.end_us <= (root.end_us or 0)
    persisted = [s for s in chosen if s.name == "raft.append" and s.node in followers]
    assert len(persisted) >= 2  # a majority persisted it before it could commit


def test_every_exported_span_has_its_parent(traced_run: tuple[Path, list[Span]]) -> None:
    _, spans = traced_run
    ids = {span.context.span_id for span in spans}
    orphans = [s.name for s in spans if s.context.parent_span_id not in (None, *ids)]
    assert orphans == []


def test_tracing_never_changes_the_run(tmp_path: Path) -> None:
    hashes = set()
    spans = {}
    metrics = {}
    for ratio in (0.0, 0.01, 1.0):
        outcome = run_scenario(SCENARIO, tmp_path / str(ratio), trace_sample=ratio)
        hashes.add(outcome.event_hash)
        spans[ratio] = len(read_otlp_spans(tmp_path / str(ratio) / "traces.otlp.jsonl"))
        metrics[ratio] = [
            (tmp_path / str(ratio) / name).read_bytes()
            for name in ("metrics.jsonl", "metrics.prom", "metrics.otlp.jsonl")
        ]
    assert len(hashes) == 1
    assert spans[0.0] == 0
    assert 0 < spans[0.01] < spans[1.0] / 10
    # Metrics count every message and entry, traced or not: the same bytes at any sample.
    assert metrics[0.0] == metrics[0.01] == metrics[1.0]
    prom = metrics[0.0][1].decode()
    for family in (
        "harmonysim_raft_append_entries_total{",
        "harmonysim_raft_commit_latency_seconds_count{",
        "harmonysim_network_message_latency_seconds_count{",
    ):
        assert family in prom


def test_the_same_seed_writes_the_same_trace_file(
    traced_run: tuple[Path, list[Span]], tmp_path: Path
) -> None:
    first, _ = traced_run
    run_scenario(SCENARIO, tmp_path, trace_sample=1.0)
    traces = (first / "traces.otlp.jsonl").read_bytes()
    assert traces.count(b"\n") > 1  # several batches, so batching is covered too
    assert (tmp_path / "traces.otlp.jsonl").read_bytes() == traces


def test_the_tracer_draws_the_ids_of_the_rng_tree() -> None:
    rng = RngTree(7)
    reference = rng.ids("trace")
    fast = RandomIds(rng.stream(TRACE_ID_STREAM))
    widths = [64, 128, 64, 64, 128] * 50
    expected = [reference.id64() if w == 64 else reference.id128() for w in widths]
    assert [fast.id64() if w == 64 else fast.id128() for w in widths] == expected
    # And the tracer, drawing through getrandbits itself, gets those ids too.
    reference = rng.ids("trace")
    tracer = Tracer(RandomIds(rng.stream(TRACE_ID_STREAM)), lambda: 0, 1.0)
    root = tracer.start_trace("op", "c1", Category.CLIENT)
    child = tracer.start_span("hop", root, "c1", Category.NETWORK)
    assert [root.trace_id, root.span_id, child.span_id] == [
        reference.id128(),
        reference.id64(),
        reference.id64(),
    ]


def test_the_tracing_benchmark_reports_every_ratio() -> None:
    result = run_tracing_benchmark(SCENARIO, repeat=1)  # raises if tracing changed the run
    assert result.spans_written[0.0] == 0 < result.spans_written[0.01]
    assert result.spans_written[0.01] < result.spans_written[1.0]
    for sample in RATIOS:
        assert result.wall_seconds[sample] > 0 and result.cpu_seconds[sample] > 0
    assert result.ratio(0.0) == result.cpu_ratio(0.0) == 1.0


def test_a_read_is_traced_through_its_read_index_round_to_the_btree(
    traced_run: tuple[Path, list[Span]],
) -> None:
    _, spans = traced_run
    by_trace: dict[int, list[Span]] = {}
    for span in spans:
        by_trace.setdefault(span.context.trace_id, []).append(span)
    reads = 0
    for trace in by_trace.values():
        root = next(s for s in trace if s.context.parent_span_id is None)
        if root.name != "kv.get" or root.attributes.get("result") != "ok":
            continue
        serves = [s for s in trace if s.name == "serve get" and s.attributes.get("result") == "ok"]
        assert len(serves) == 1, [s.name for s in trace]
        (serve,) = serves
        children = {s.name: s for s in trace if s.context.parent_span_id == serve.context.span_id}
        round_, tree = children["raft.read_index"], children["btree.get"]
        assert round_.node == tree.node == serve.node
        assert round_.attributes["result"] == "confirmed" and "raft.index" in round_.attributes
        # The tree is read once leadership is confirmed (§6.4), and the reply follows.
        assert serve.start_us <= round_.start_us <= round_.end_us <= tree.start_us  # type: ignore[operator]
        replies = [s for s in trace if s.context.parent_span_id == serve.context.span_id]
        assert any(s.name.startswith("ClientReply ") for s in replies)
        reads += 1
    assert reads >= 10
