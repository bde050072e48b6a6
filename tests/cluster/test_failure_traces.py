"""Traces that touch a failure are kept whatever the sampler said (runner, telemetry, checks).

A traced run whose checks fail is run again with the requests and election terms
the failed checks implicate traced in full; the same sampled traces stay, the
event log does not move, and unsampled traces propagate nothing at all.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import orjson
import pytest

from harmonysim.cli import main
from harmonysim.cluster import Cluster
from harmonysim.cluster.history import HistoryRecorder
from harmonysim.cluster.telemetry import KeptTraces, Telemetry
from harmonysim.obs.otlp import read_otlp_spans
from harmonysim.obs.tracing import Span, StatusCode
from harmonysim.runner import RunOutcome, keep_failure_traces, run_scenario
from harmonysim.scenario import Scenario, parse_scenario, resolve
from harmonysim.sim.events import EventLog
from harmonysim.sim.world import World

SHORT_NEMESIS = """
name: short-nemesis
seed: 1
duration: 8s
cluster: {nodes: 5}
network:
  latency: {distribution: lognormal, mean: 5ms, p99: 30ms}
  loss: 0.01
workload:
  clients: 8
  rate: 200/s
  mix: {get: 0.45, put: 0.35, cas: 0.15, scan: 0.05}
  keys: {count: 40, distribution: zipf}
  timeout: 500ms
faults:
  - {at: 1s, nemesis: {kinds: [partition, crash, pause], interval: 1s, until: 6s}}
"""
SAMPLE = 0.01


def _scenario(seed: int, bugs: list[str]) -> Scenario:
    return resolve(parse_scenario(SHORT_NEMESIS), seed=seed, bugs=bugs)


def _traces(out: Path) -> dict[int, list[Span]]:
    by_trace: dict[int, list[Span]] = defaultdict(list)
    for span in read_otlp_spans(out / "traces.otlp.jsonl"):
        by_trace[span.context.trace_id].append(span)
    return by_trace


def _root(trace: list[Span]) -> Span:
    (root,) = [span for span in trace if span.context.parent_span_id is None]
    return root


def _requests_of_rows(out: Path) -> dict[int, tuple[str, int]]:
    """History row -> (client, seq), derived from history.jsonl alone: a client's n-th
    invocation is its request n, and its rows belong to that request until the next."""
    rows = [orjson.loads(line) for line in (out / "history.jsonl").read_bytes().splitlines()]
    invoked: dict[int, int] = defaultdict(int)
    mapping: dict[int, tuple[str, int]] = {}
    for row in rows:
        process = row["process"]
        if row["type"] == "invoke":
            invoked[process] += 1
        mapping[row["index"]] = (f"c{process}", invoked[process])
    return mapping


@pytest.fixture(scope="module")
def lost_write(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunOutcome, RunOutcome]:
    """A run whose B+ tree loses keys on split (linearizability fails), made with and
    without keeping the failure's traces."""
    scenario = _scenario(2, ["btree_split_loses_key"])
    root = tmp_path_factory.mktemp("lost-write")
    first = run_scenario(scenario, root / "first", trace_sample=SAMPLE, failure_traces=False)
    kept = run_scenario(scenario, root / "kept", trace_sample=SAMPLE)
    return first, kept


def test_a_failed_check_keeps_the_whole_trace_of_every_operation_it_names(
    lost_write: tuple[RunOutcome, RunOutcome],
) -> None:
    _, kept = lost_write
    result = kept.checks["linearizability"]
    assert result.status.value == "violation"
    assert result.implicated.history_rows
    record = kept.telemetry["kept_for_failure"]
    assert record["replayed"] is True and record["requests"] >= 1
    requests = _requests_of_rows(kept.out_dir)
    traces = _traces(kept.out_dir)
    roots = {}
    for trace in traces.values():
        root = _root(trace)
        if root.name.startswith("kv."):
            roots[(root.node, root.attributes["kv.request"])] = trace
    # run.json names the trace id of each, the failed check's first.
    listed = record["trace_ids"]
    first_row = result.implicated.history_rows[0]
    assert next(iter(listed)) == "{}:{}".format(*requests[first_row])
    for name, trace_id in listed.items():
        client, seq = name.split(":")
        root = _root(roots[(client, int(seq))])
        assert f"{root.context.trace_id:032x}" == trace_id
    for row in result.implicated.history_rows:
        request = requests[row]
        assert request in roots, f"history row {row} ({request}) has no kept trace"
        trace = roots[request]
        root = _root(trace)
        if root.attributes.get("result") == "ok":
            # Answered: the trace runs from the client through a server's serve span to
            # the B+ tree and back, not just the root span an error would keep.
            names = {span.name.split(" ")[0] for span in trace}
            assert {"ClientRequest", "serve", "ClientReply"} <= names
            assert any(name.startswith("btree.") for name in names), names


def test_keeping_failure_traces_changes_neither_the_run_nor_the_sampled_traces(
    lost_write: tuple[RunOutcome, RunOutcome],
) -> None:
    first, kept = lost_write
    assert kept.event_hash == first.event_hash
    assert "kept_for_failure" not in first.telemetry
    before, after = _traces(first.out_dir), _traces(kept.out_dir)
    # Trace ids have their own stream: the traces sampled the first time are sampled
    # again, span for span by name and node (span ids may differ: more spans drew them).
    # An operation that ended in error kept only its root span the first time (it
    # propagated nothing); now it is traced whole.
    assert set(before) <= set(after)
    grown = 0
    for trace_id, spans in before.items():
        was = Counter((s.name, s.node) for s in spans)
        now = Counter((s.name, s.node) for s in after[trace_id])
        if _root(spans).status is StatusCode.ERROR and len(spans) == 1:
            assert was <= now
            grown += now != was
        else:
            assert was == now
    assert grown >= 1
    assert len(after) > len(before)
    # The metrics are the run's, whatever was traced.
    for name in ("metrics.jsonl", "metrics.prom"):
        assert (first.out_dir / name).read_bytes() == (kept.out_dir / name).read_bytes()


def test_a_raft_safety_violation_keeps_its_entries_and_its_elections(tmp_path: Path) -> None:
    outcome = run_scenario(_scenario(1, ["apply_before_commit"]), tmp_path, trace_sample=SAMPLE)
    safety = outcome.checks["raft_safety"]
    assert safety.status.value == "violation"
    implicated = safety.implicated
    assert implicated.requests and implicated.terms
    traces = _traces(tmp_path)
    roots = [_root(trace) for trace in traces.values()]
    traced_requests = {
        (root.node, root.attributes["kv.request"]) for root in roots if root.name.startswith("kv.")
    }
    assert set(implicated.requests) <= traced_requests
    # An election is traced from the term it starts in; a pre-candidate campaigns for the next.
    election_terms = set()
    for root in roots:
        if root.name == "raft.election":
            term = int(root.attributes["raft.term"])
            election_terms |= {term, term + 1}
    assert set(implicated.terms) <= election_terms
    listed = outcome.telemetry["kept_for_failure"]["trace_ids"]
    elections = {name: tid for name, tid in listed.items() if "@" in name}
    assert elections and {int(name.split("@")[1]) for name in elections} <= set(implicated.terms)
    # The kept elections carry their RequestVote hops.
    for trace in traces.values():
        root = _root(trace)
        if root.name == "raft.election" and {int(root.attributes["raft.term"]) + 1} & set(
            implicated.terms
        ):
            assert any(span.name.startswith("RequestVote ") for span in trace)
            break
    else:
        pytest.fail("no kept election carries its RequestVotes")


def test_runs_that_pass_or_trace_everything_are_not_run_again(tmp_path: Path) -> None:
    passing = run_scenario(_scenario(1, []), tmp_path / "ok", trace_sample=SAMPLE)
    assert passing.status.value == "ok"
    assert "kept_for_failure" not in passing.telemetry
    failing = _scenario(1, ["btree_split_loses_key"])
    for sample in (0.0, 1.0):
        outcome = run_scenario(failing, tmp_path / f"s{sample}", trace_sample=sample)
        assert outcome.status.value == "violation"
        assert "kept_for_failure" not in outcome.telemetry


def test_a_second_run_that_diverges_leaves_the_first_traces(
    lost_write: tuple[RunOutcome, RunOutcome],
) -> None:
    first, _ = lost_write
    before = (first.out_dir / "traces.otlp.jsonl").read_bytes()
    kept = KeptTraces((("c1", 1),))
    record = keep_failure_traces(first.scenario, first.out_dir, SAMPLE, kept, "0" * 64)
    assert record["replayed"] is False
    assert "diverged" in record["error"]
    assert (first.out_dir / "traces.otlp.jsonl").read_bytes() == before
    assert not list(first.out_dir.glob(".traces-*"))  # its scratch folder is gone


def test_the_run_command_can_skip_the_second_run(tmp_path: Path) -> None:
    path = tmp_path / "short.yaml"
    path.write_text(SHORT_NEMESIS)
    out = tmp_path / "run"
    argv = ["run", str(path), "--seed", "2", "--bug", "btree_split_loses_key", "--quiet"]
    assert main([*argv, "--trace-sample", "0.01", "--no-failure-traces", "--out", str(out)]) == 1
    assert orjson.loads((out / "run.json").read_bytes())["telemetry"] == {
        "trace_sample": 0.01,
        "metrics_every_ms": 1000.0,
    }


def test_unsampled_traces_propagate_nothing() -> None:
    """An unsampled client operation or election is its root span alone: no hop, serve,
    Raft or vote span is built for it (what 1% sampling costs rests on this)."""
    scenario = _scenario(3, [])
    world = World.from_scenario(scenario)
    telemetry = Telemetry(world, None, 1e-12)
    cluster = Cluster(world, scenario, telemetry)
    world.faults.schedule(scenario.faults)
    cluster.start()
    world.run(scenario.duration_ms)
    cluster.finish()
    telemetry.finish()
    stats = telemetry.instrumentation.tracer.stats
    assert cluster.summary()["elections"] >= 1
    assert stats.traces_sampled == 0
    assert stats.traces_started > len(cluster.history) // 2  # every operation and election
    assert stats.spans_started == stats.traces_started


def test_the_history_names_the_requests_of_its_rows() -> None:
    history = HistoryRecorder(EventLog(lambda: 0), lambda: 0.0)
    history.record("c1", 1, "invoke", "put", "k", 1, 1)
    history.record("c2", 2, "invoke", "put", "k", 2, 7)
    history.record("c1", 1, "ok", "put", "k", 1, 1)
    history.record("c1", 1, "invoke", "get", "k", None, 2)
    history.record("c2", 2, "info", "put", "k", 2, 7)
    history.record("c1", 1, "ok", "get", "k", 1, 2)
    history.record("c2", 2, "invoke", "cas", "j", [1, 2], 8)
    assert [history.request_at(row) for row in range(7)] == [
        ("c1", 1),
        ("c2", 7),
        ("c1", 1),
        ("c1", 2),
        ("c2", 7),
        ("c1", 2),
        ("c2", 8),
    ]
    assert history.last_writes("k", 5) == [("c2", 7), ("c1", 1)]  # newest first, no reads
    assert history.last_writes("k", 1) == [("c2", 7)]
    assert history.last_writes("j", 5) == [("c2", 8)]
    assert history.indeterminate() == [("c2", 7)]
