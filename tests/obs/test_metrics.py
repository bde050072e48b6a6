"""Metrics: naming rules, the update path, sampling to metrics.jsonl, and derivation from events."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest

from harmonysim.obs.catalogue import ClusterMetrics
from harmonysim.obs.derive import event_kind, metrics_from_events
from harmonysim.obs.metrics import Registry
from harmonysim.runlog.fold import fold


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("counter", "harmonysim_messages"),  # counters end in _total
        ("gauge", "harmonysim_depth_total"),  # only counters do
        ("gauge", "raft_term"),  # the prefix
        ("histogram", "harmonysim_latency_ms"),  # base units
    ],
)
def test_names_that_break_prometheus_conventions_are_refused(kind: str, name: str) -> None:
    registry = Registry()
    with pytest.raises(ValueError):
        if kind == "counter":
            registry.counter(name, "x")
        elif kind == "gauge":
            registry.gauge(name, "x")
        else:
            registry.histogram(name, "x", (), (1.0,))


def test_histogram_buckets_are_upper_inclusive_and_cumulative() -> None:
    registry = Registry()
    child = registry.histogram("harmonysim_x_seconds", "x", ("op",), (0.1, 1.0)).labels("get")
    for value in (0.05, 0.1, 0.5, 1.0, 3.0):
        child.observe(value)
    (sample,) = registry.get("harmonysim_x_seconds").samples()
    assert sample.buckets == ((0.1, 2), (1.0, 4), (float("inf"), 5))
    assert sample.count == 5 and sample.sum == pytest.approx(4.65)


def test_bound_children_are_reused_and_counters_only_go_up() -> None:
    registry = Registry()
    counter = registry.counter("harmonysim_ops_total", "ops", ("node",))
    assert counter.labels("n1") is counter.labels("n1")
    counter.labels("n1").inc()
    counter.labels("n1").inc(2)
    assert registry.value("harmonysim_ops_total", node="n1") == 3
    with pytest.raises(ValueError):
        counter.labels("n1").inc(-1)
    with pytest.raises(ValueError):
        counter.labels("n1", "extra")


def test_sample_writes_one_json_line_per_series() -> None:
    sink = io.BytesIO()
    registry = Registry(sink)
    registry.gauge("harmonysim_raft_term", "term", ("node",)).labels("n2").set(4)
    registry.histogram("harmonysim_y_seconds", "y", (), (0.5,)).labels().observe(0.2)
    assert registry.sample(1_500_250) == 2
    first, second = (orjson.loads(line) for line in sink.getvalue().splitlines())
    assert sink.getvalue().startswith(b'{"t":1500.250,')
    assert first == {
        "t": 1500.25,
        "name": "harmonysim_raft_term",
        "labels": {"node": "n2"},
        "value": 4,
    }
    assert second["buckets"] == [[0.5, 1], ["+Inf", 1]] and second["count"] == 1


def test_derived_metrics_agree_with_the_run_summary(
    run_dir: Path, records: list[dict[str, Any]]
) -> None:
    summary = orjson.loads((run_dir / "run.json").read_bytes())["summary"]
    registry = metrics_from_events(records)

    def total(name: str) -> float:
        return sum(s.value for s in registry.get(name).samples())

    assert total("harmonysim_network_messages_sent_total") == summary["messages_sent"]
    assert total("harmonysim_network_messages_delivered_total") == summary["messages_delivered"]
    assert total("harmonysim_network_messages_dropped_total") == summary["messages_dropped"]
    assert total("harmonysim_network_messages_duplicated_total") == summary["messages_duplicated"]
    assert registry.value("harmonysim_client_operations_total", op="put", result="ok") > 0
    ok = sum(
        s.value
        for s in registry.get("harmonysim_client_operations_total").samples()
        if dict(s.labels)["result"] == "ok"
    )
    assert ok == summary["ops_ok"]
    assert total("harmonysim_raft_leader_changes_total") == summary["leader_changes"]
    assert total("harmonysim_faults_total") == sum(summary["faults"].values())
    leader = summary["final_leader"]
    assert registry.value("harmonysim_raft_role", node=leader, role="leader") == 1
    terms = {s.value for s in registry.get("harmonysim_raft_term").samples()}
    assert max(terms) >= 2  # the isolation forced a second election


def test_derived_btree_and_raft_state_match_the_log(records: list[dict[str, Any]]) -> None:
    registry = metrics_from_events(records)
    for node in ("n1", "n2", "n3", "n4", "n5"):
        splits = sum(1 for r in records if r["kind"] == "btree.split" and r["node"] == node)
        roots = [r["depth"] for r in records if r["kind"] == "btree.root" and r["node"] == node]
        by_kind = sum(
            s.value
            for s in registry.get("harmonysim_btree_splits_total").samples()
            if dict(s.labels)["node"] == node
        )
        assert by_kind == splits
        if roots:
            assert registry.value("harmonysim_btree_depth", node=node) == roots[-1]
        # The count follows restores, clears and restarts too: the one fold's, which
        # tests/runlog holds to the count the tree records with each root change.
        expected_nodes = fold(records).nodes[node].tree_nodes
        assert registry.value("harmonysim_btree_nodes", node=node) == expected_nodes
        commits = [r["index"] for r in records if r["kind"] == "raft.commit" and r["node"] == node]
        assert registry.value("harmonysim_raft_commit_index", node=node) == max(commits)
        applied = [
            r["index"] for r in records if event_kind(r) == "raft.apply" and r["node"] == node
        ]
        assert registry.value("harmonysim_raft_applied_index", node=node) == applied[-1]


def test_catalogue_covers_what_the_wiring_must_maintain() -> None:
    registry = Registry()
    ClusterMetrics(registry)
    names = {metric.name for metric in registry}
    for needed in (
        "harmonysim_raft_role",
        "harmonysim_raft_term",
        "harmonysim_raft_commit_index",
        "harmonysim_raft_applied_index",
        "harmonysim_raft_log_length",
        "harmonysim_raft_leader",
        "harmonysim_raft_elections_total",
        "harmonysim_raft_votes_granted_total",
        "harmonysim_raft_append_entries_total",
        "harmonysim_raft_leader_changes_total",
        "harmonysim_raft_replication_latency_seconds",
        "harmonysim_raft_commit_latency_seconds",
        "harmonysim_btree_operations_total",
        "harmonysim_btree_splits_total",
        "harmonysim_btree_merges_total",
        "harmonysim_btree_depth",
        "harmonysim_btree_nodes",
        "harmonysim_btree_fill_ratio",
        "harmonysim_network_messages_dropped_total",
        "harmonysim_client_operation_latency_seconds",
        "harmonysim_faults_total",
    ):
        assert needed in names


def test_the_run_measures_replication_latency_as_the_log_shows_it(
    run_dir: Path, records: list[dict[str, Any]]
) -> None:
    """From a leader persisting an entry to each follower persisting the same (index,
    term): counted inline by the run and derived from its log, the same histogram."""
    derived = {
        dict(s.labels)["node"]: (s.count, s.sum)
        for s in metrics_from_events(records)
        .get("harmonysim_raft_replication_latency_seconds")
        .samples()
    }
    inline: dict[str, dict[str, float]] = {}
    for line in (run_dir / "metrics.prom").read_text().splitlines():
        for part in ("_count", "_sum"):
            prefix = f"harmonysim_raft_replication_latency_seconds{part}{{"
            if line.startswith(prefix):
                node = line.split('node="')[1].split('"')[0]
                inline.setdefault(node, {})[part] = float(line.rsplit(" ", 1)[1])
    assert len(derived) >= 4  # every follower of the run's leaders
    assert set(inline) == set(derived)
    for node, (count, total) in derived.items():
        assert count > 100
        assert inline[node]["_count"] == count
        assert inline[node]["_sum"] == pytest.approx(total)
