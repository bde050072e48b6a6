"""The readers of ``events.jsonl`` used to disagree; each disagreement found is pinned here.

Each test names the readers that disagreed and what the one fold now says for all.
"""

from __future__ import annotations

import re
from typing import Any

from harmonysim.obs.derive import metrics_from_events
from harmonysim.runlog.fold import ClusterState, Health, fold
from harmonysim.runlog.folder import RunFolder
from harmonysim.runlog.vocabulary import EventKind

Record = dict[str, Any]


def _record(seq: int, t_ms: float, kind: EventKind, node: str | None, **fields: Any) -> Record:
    return {"t": t_ms, "seq": seq, "kind": kind.value, "node": node, **fields}


def test_tree_node_count_follows_restores_and_restarts_in_every_reader(
    churn_events: list[Record],
) -> None:
    # obs/derive.py counted splits and merges only; viz/derive.py also reset the count
    # at a restart and took a restore's recorded count. The tree itself records its
    # count with every root change: the fold must agree with it at each one.
    state = ClusterState.initial()
    checked = 0
    for record in churn_events:
        state.apply(record)
        if record["kind"] == EventKind.BTREE_ROOT and "node_count" in record:
            assert state.nodes[record["node"]].tree_nodes == record["node_count"], record
            checked += 1
    restores = [
        r for r in churn_events if r["kind"] == EventKind.BTREE_ROOT and r["reason"] == "restore"
    ]
    assert restores and checked > len(restores)
    # And the derived metrics end where the fold ends, node by node.
    registry = metrics_from_events(churn_events)
    final = fold(churn_events)
    for node in ("n1", "n2", "n3", "n4", "n5"):
        shape = final.nodes[node]
        assert registry.value("harmonysim_btree_nodes", node=node) == shape.tree_nodes
        assert registry.value("harmonysim_btree_depth", node=node) == shape.tree_depth


def test_a_restarted_tree_is_one_leaf_in_the_metrics() -> None:
    records = [
        _record(
            0,
            0.0,
            EventKind.RAFT_RECOVER,
            "n1",
            term=0,
            voted_for=None,
            commit=0,
            snapshot_index=0,
            last_index=0,
            last_term=0,
        ),
        _record(1, 1.0, EventKind.BTREE_SPLIT, "n1", node_kind="leaf"),
        _record(2, 1.0, EventKind.BTREE_ROOT, "n1", depth=2, reason="root_split"),
        _record(3, 2.0, EventKind.NODE_CRASH, "n1"),
        _record(4, 3.0, EventKind.NODE_RESTART, "n1"),
    ]
    registry = metrics_from_events(records)
    assert registry.value("harmonysim_btree_nodes", node="n1") == 1
    assert registry.value("harmonysim_btree_depth", node="n1") == 1


def test_a_crashed_leader_leads_no_more_once_restarted() -> None:
    # web/index.py kept a crashed leader's role, so a restarted server that never read
    # its state back (halted on a damaged hard state) showed as leader again; liveness,
    # the plots and the metrics all took the crash to end the role.
    records = [
        _record(0, 0.0, EventKind.RAFT_ROLE, "n1", role="leader", term=2, leader="n1"),
        _record(1, 1.0, EventKind.NODE_CRASH, "n1"),
    ]
    state = fold(records)
    assert state.nodes["n1"].role is None and state.nodes["n1"].health is Health.DOWN
    state.apply(_record(2, 2.0, EventKind.NODE_RESTART, "n1"))
    assert state.nodes["n1"].role == "follower"
    assert state.leader is None
    registry = metrics_from_events([*records, _record(2, 2.0, EventKind.NODE_RESTART, "n1")])
    assert registry.value("harmonysim_raft_role", node="n1", role="leader") == 0


def test_a_nemesis_record_is_listed_but_not_counted_as_a_second_fault() -> None:
    # web/index.py listed nemesis and fault.noop records as faults; obs/derive.py's
    # FAULT_KINDS left them out of the fault counter. Both were right for their use.
    records = [
        _record(0, 0.0, EventKind.NEMESIS, None, fault="crash", target="n2"),
        _record(1, 0.0, EventKind.NODE_CRASH, "n2"),
        _record(2, 1.0, EventKind.FAULT_NOOP, None, fault="crash", reason="down"),
    ]
    registry = metrics_from_events(records)
    assert registry.value("harmonysim_faults_total", kind="node.crash") == 1
    kinds = {dict(s.labels)["kind"] for s in registry.get("harmonysim_faults_total").samples()}
    assert kinds == {"node.crash"}


def _counts(text: str, family: str) -> dict[str, float]:
    pattern = re.compile(rf'^{family}_count{{node="(\w+)"}} (\S+)$', re.MULTILINE)
    return {node: float(value) for node, value in pattern.findall(text)}


def test_derived_latencies_count_what_the_inline_metrics_count(
    churn_run: RunFolder, churn_events: list[Record]
) -> None:
    # Metric derivation reads the fold's state *before* a record where it needs the
    # previous commit index (the fold changes node states in place).
    from harmonysim.obs.otlp import families_from_registry
    from harmonysim.obs.prometheus import prometheus_text

    derived = prometheus_text(families_from_registry(metrics_from_events(churn_events))).decode()
    inline = churn_run.metrics_prom.read_text(encoding="utf-8")
    for family in (
        "harmonysim_raft_commit_latency_seconds",
        "harmonysim_raft_replication_latency_seconds",
    ):
        ours, theirs = _counts(derived, family), _counts(inline, family)
        assert sum(theirs.values()) > 0
        for node, count in theirs.items():
            assert abs(ours.get(node, 0.0) - count) <= max(1.0, 0.01 * count), (family, node)


def test_the_dashboard_timeline_ends_a_crashed_leaders_role_at_the_crash() -> None:
    # web/views.py drew role intervals from raft.role records alone, so a crashed
    # leader's bar ran on through its downtime; the plots ended it at the crash and
    # began a follower at the restart.
    from harmonysim.web.index import RunIndex
    from harmonysim.web.views import timeline_payload

    index = RunIndex({}, ["n1"])
    index.feed_all(
        [
            _record(0, 10.0, EventKind.RAFT_ROLE, "n1", role="leader", term=2, leader="n1"),
            _record(1, 20.0, EventKind.NODE_CRASH, "n1"),
            _record(2, 30.0, EventKind.NODE_RESTART, "n1"),
            _record(
                3,
                30.0,
                EventKind.RAFT_RECOVER,
                "n1",
                term=2,
                voted_for="n1",
                commit=0,
                snapshot_index=0,
                last_index=0,
                last_term=0,
            ),
            _record(4, 50.0, EventKind.RUN_END, None),
        ]
    )
    timeline = timeline_payload(index)
    assert [(r["role"], r["start_ms"], r["end_ms"]) for r in timeline["roles"]["n1"]] == [
        ("follower", 0.0, 10.0),
        ("leader", 10.0, 20.0),
        ("follower", 30.0, 50.0),
    ]
    assert timeline["health"]["n1"] == [{"start_ms": 20.0, "end_ms": 30.0, "health": "down"}]


def test_derived_traces_name_tree_events_as_the_inline_instrumentation_does() -> None:
    # obs/integration.py adds a split to the B+ tree span as a span event named
    # "btree.split" (tests/obs/test_integration.py); the traces obs/derive.py rebuilds
    # from the log named the same event "split".
    import random

    from harmonysim.obs.derive import spans_from_events
    from harmonysim.obs.tracing import RandomIds

    records = [
        _record(0, 1.0, EventKind.CLIENT_INVOKE, "c1", f="put", key="k1", request=1),
        _record(
            1,
            2.0,
            EventKind.BTREE_SPLIT,
            "n1",
            node_kind="leaf",
            tree_node=7,
            separator="k5",
            reason="overflow",
        ),
        _record(
            2,
            2.0,
            EventKind.RAFT_APPLY,
            "n1",
            index=3,
            term=1,
            entry_kind="normal",
            entry="c1:1",
            f="put",
            key="k1",
            status="ok",
        ),
    ]
    spans = spans_from_events(records, RandomIds(random.Random(1)))
    tree = next(span for span in spans if span.name == "btree.put")
    assert [event.name for event in tree.events] == ["btree.split"]
    assert tree.events[0].attributes["separator"] == "k5"


def _gauge(text: str, family: str) -> dict[str, float]:
    pattern = re.compile(rf'^{family}{{node="(\w+)"}} (\S+)$', re.MULTILINE)
    return {node: float(value) for node, value in pattern.findall(text)}


def test_the_inline_tree_gauges_end_where_the_fold_ends(
    churn_run: RunFolder, churn_events: list[Record]
) -> None:
    # The server counted splits and merges into harmonysim_btree_nodes and never set the
    # depth: restores, restarts and root changes went uncounted (43 nodes against the
    # tree's 39 on this run). It now takes the tree's own count at each root change and
    # starts each incarnation from one leaf, as the fold does.
    inline = churn_run.metrics_prom.read_text(encoding="utf-8")
    nodes, depths = (
        _gauge(inline, "harmonysim_btree_nodes"),
        _gauge(inline, "harmonysim_btree_depth"),
    )
    final = fold(churn_events)
    for node in ("n1", "n2", "n3", "n4", "n5"):
        shape = final.nodes[node]
        assert nodes[node] == shape.tree_nodes, node
        assert depths[node] == shape.tree_depth, node
