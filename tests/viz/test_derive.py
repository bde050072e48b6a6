"""The interval and series rules of ``harmonysim.viz.derive``, on small hand-written logs."""

from __future__ import annotations

from typing import Any

import pytest

from harmonysim.raft import Role
from harmonysim.sim.events import EventRecord
from harmonysim.viz.clients import nearest_rank, throughput_bin_ms
from harmonysim.viz.derive import (
    MessageFate,
    OperationOutcome,
    Outage,
    clog_spans,
    commit_series,
    default_message_window,
    event_nodes,
    message_arrows,
    operations,
    outage_spans,
    outside_spans,
    partition_spans,
    role_spans,
    term_changes,
    tree_samples,
)
from harmonysim.viz.records import PlotInputError

NODES = ("n1", "n2", "n3")


def log(*rows: tuple[Any, ...]) -> list[EventRecord]:
    """Records from (t, kind, node, fields) rows, numbered in order."""
    return [
        {"t": t, "seq": seq, "kind": kind, "node": node, **fields}
        for seq, (t, kind, node, fields) in enumerate(rows)
    ]


def test_roles_start_as_followers_and_switch_on_raft_role() -> None:
    events = log(
        (0.0, "raft.recover", "n1", {"term": 0, "commit": 0}),
        (150.0, "raft.role", "n1", {"role": "pre_candidate", "term": 0, "leader": None}),
        (152.0, "raft.role", "n1", {"role": "candidate", "term": 1, "leader": None}),
        (160.0, "raft.role", "n1", {"role": "leader", "term": 1, "leader": "n1"}),
    )
    spans = role_spans(events, ["n1"], 500.0)
    assert [(s.role, s.term, s.start_ms, s.end_ms) for s in spans] == [
        (Role.FOLLOWER, 0, 0.0, 150.0),
        (Role.PRE_CANDIDATE, 0, 150.0, 152.0),
        (Role.CANDIDATE, 1, 152.0, 160.0),
        (Role.LEADER, 1, 160.0, 500.0),
    ]


def test_a_crash_ends_the_role_and_a_restart_resumes_as_follower_of_the_recovered_term() -> None:
    events = log(
        (10.0, "raft.role", "n2", {"role": "leader", "term": 3, "leader": "n2"}),
        (100.0, "node.crash", "n2", {"held_dropped": 0}),
        (300.0, "node.restart", "n2", {"incarnation": 1}),
        (300.0, "raft.recover", "n2", {"term": 4, "commit": 7}),
    )
    spans = role_spans(events, ["n2"], 400.0)
    assert [(s.role, s.term, s.start_ms, s.end_ms) for s in spans] == [
        (Role.FOLLOWER, 0, 0.0, 10.0),
        (Role.LEADER, 3, 10.0, 100.0),
        (Role.FOLLOWER, 4, 300.0, 400.0),
    ]


def test_unknown_role_is_bad_input() -> None:
    events = log((1.0, "raft.role", "n1", {"role": "emperor", "term": 1, "leader": None}))
    with pytest.raises(PlotInputError, match="emperor"):
        role_spans(events, ["n1"], 10.0)


def test_outages_down_until_restart_paused_until_resume_and_a_crash_ends_a_pause() -> None:
    events = log(
        (10.0, "node.pause", "n1", {}),
        (20.0, "node.resume", "n1", {}),
        (30.0, "node.pause", "n3", {}),
        (40.0, "node.crash", "n3", {}),
        (50.0, "node.restart", "n3", {}),
        (60.0, "node.crash", "n2", {}),
    )
    spans = outage_spans(events, NODES, 100.0)
    assert [(s.node, s.outage, s.start_ms, s.end_ms) for s in spans] == [
        ("n1", Outage.PAUSED, 10.0, 20.0),
        ("n3", Outage.PAUSED, 30.0, 40.0),
        ("n3", Outage.DOWN, 40.0, 50.0),
        ("n2", Outage.DOWN, 60.0, 100.0),
    ]


def test_servers_are_outside_from_the_start_or_a_committed_removal_until_an_add() -> None:
    nodes = ("n1", "n2", "n3", "n4")
    committed = {"op": "add", "result": "committed"}
    events = log(
        (0.0, "run.start", None, {"members": ["n1", "n2", "n3"]}),
        (10.0, "membership", None, {"op": "add", "target": "n4", "result": "proposed"}),
        (12.0, "membership", None, {**committed, "voters": ["n1", "n2", "n3", "n4"]}),
        (20.0, "membership", None, {**committed, "op": "remove", "voters": ["n2", "n3", "n4"]}),
        (30.0, "membership", None, {**committed, "voters": ["n1", "n2", "n3", "n4"]}),
        (40.0, "membership", None, {**committed, "op": "remove", "voters": ["n1", "n3", "n4"]}),
    )
    spans = outside_spans(events, nodes, 100.0)
    assert [(s.node, s.start_ms, s.end_ms) for s in spans] == [
        ("n4", 0.0, 12.0),  # a spare until its add committed (not when it was proposed)
        ("n1", 20.0, 30.0),
        ("n2", 40.0, 100.0),
    ]
    # A run that changes no membership has nobody outside.
    assert outside_spans(log((0.0, "run.start", None, {})), nodes, 100.0) == []


ISOLATE_N1 = [["n1", "n2"], ["n1", "n3"], ["n2", "n1"], ["n3", "n1"]]


def test_partitions_end_at_heal_or_at_the_next_partition_or_at_the_end() -> None:
    events = log(
        (100.0, "net.partition", None, {"shape": "isolate", "target": "n1", "cut": ISOLATE_N1}),
        (200.0, "net.partition", None, {"shape": "one_way", "cut": [["n2", "n3"]]}),
        (300.0, "net.heal", None, {}),
        (400.0, "net.partition", None, {"shape": "ring", "cut": [["n1", "n3"], ["n3", "n1"]]}),
    )
    spans = partition_spans(events, 500.0)
    assert [(s.start_ms, s.end_ms, s.label) for s in spans] == [
        (100.0, 200.0, "isolate n1"),
        (200.0, 300.0, "one_way"),
        (400.0, 500.0, "ring"),
    ]
    isolate, one_way, ring = spans
    assert isolate.cut_peers("n1") == ("n2", "n3")
    assert isolate.cut_peers("n2") == ("n1",)
    assert isolate.in_minority("n1", NODES)
    assert not isolate.in_minority("n2", NODES)
    # A one-way cut still separates the pair for a conversation (requests or replies drop).
    assert one_way.cut_peers("n3") == ("n2",)
    assert one_way.reachable("n2", NODES) == ("n1", "n2", "n3")  # through n1
    assert not ring.in_minority("n1", NODES)


def test_clogs_are_per_directed_link() -> None:
    events = log(
        (10.0, "net.clog", None, {"links": [["n1", "n2"], ["n2", "n1"]]}),
        (20.0, "net.unclog", None, {"links": [["n2", "n1"]], "released": 0}),
        (30.0, "net.clog", None, {"links": [["n3", "n1"]]}),
    )
    spans = clog_spans(events, 50.0)
    assert [(s.src, s.dst, s.start_ms, s.end_ms) for s in spans] == [
        ("n1", "n2", 10.0, 50.0),
        ("n2", "n1", 10.0, 20.0),
        ("n3", "n1", 30.0, 50.0),
    ]


def test_term_changes_keep_only_the_first_record_of_each_new_highest_term() -> None:
    events = log(
        (5.0, "raft.term", "n1", {"term": 1, "voted_for": "n1"}),
        (6.0, "raft.term", "n2", {"term": 1, "voted_for": "n1"}),
        (9.0, "raft.term", "n3", {"term": 3, "voted_for": "n3"}),
        (9.5, "raft.term", "n1", {"term": 2, "voted_for": "n1"}),
    )
    assert [(c.t_ms, c.term, c.node) for c in term_changes(events)] == [
        (5.0, 1, "n1"),
        (9.0, 3, "n3"),
    ]


def test_commit_series_has_a_gap_while_down_and_resumes_from_the_recovered_index() -> None:
    events = log(
        (10.0, "raft.commit", "n1", {"index": 4, "term": 1}),
        (20.0, "node.crash", "n1", {}),
        (30.0, "node.restart", "n1", {}),
        (30.0, "raft.recover", "n1", {"term": 1, "commit": 3}),
        (35.0, "raft.commit", "n1", {"index": 6, "term": 1}),
    )
    (series,) = commit_series(events, ["n1"], 50.0)
    assert series.times_ms == (0.0, 10.0, 20.0, 30.0, 35.0, 50.0)
    assert series.indexes == (0, 4, None, 3, 6, 6)


def test_message_arrows_duplicates_drops_and_the_window() -> None:
    events = log(
        (5.0, "msg.send", "n1", {"dst": "n2", "id": 1, "type": "AppendEntries"}),
        (10.0, "msg.send", "n1", {"dst": "n2", "id": 2, "type": "AppendEntries"}),
        (11.0, "msg.send", "n2", {"dst": "n3", "id": 3, "type": "RequestVote"}),
        (11.0, "msg.drop", "n2", {"dst": "n3", "id": 3, "reason": "partition"}),
        (12.0, "msg.send", "c1", {"dst": "n1", "id": 4, "type": "ClientRequest"}),
        (13.0, "msg.deliver", "n2", {"src": "n1", "id": 1}),
        (14.0, "msg.deliver", "n2", {"src": "n1", "id": 2}),
        (15.0, "msg.deliver", "n2", {"src": "n1", "id": 2}),
        (16.0, "msg.drop", "n1", {"src": "c1", "id": 4, "reason": "down"}),
        (30.0, "msg.send", "n1", {"dst": "n3", "id": 5, "type": "AppendEntries"}),
    )
    arrows = message_arrows(events, (10.0, 30.0))
    assert [(a.message_id, a.fate, a.end_ms, a.dropped_at_sender) for a in arrows] == [
        (3, MessageFate.DROPPED, 11.0, True),
        (2, MessageFate.DELIVERED, 14.0, False),
        (2, MessageFate.DELIVERED, 15.0, False),
        (4, MessageFate.DROPPED, 16.0, False),
    ]
    assert arrows[0].reason == "partition" and arrows[3].reason == "down"
    assert (arrows[3].src, arrows[3].dst, arrows[3].message_type) == ("c1", "n1", "ClientRequest")


def test_default_message_window_prefers_the_first_partition_then_the_first_election() -> None:
    election = log(
        (150.0, "raft.role", "n1", {"role": "follower", "term": 0, "leader": None}),
        (180.0, "raft.role", "n2", {"role": "pre_candidate", "term": 0, "leader": None}),
    )
    assert default_message_window(election, (0.0, 1000.0), 300.0) == (130.0, 430.0)
    partitioned = log(
        *[(row["t"], row["kind"], row["node"], {}) for row in election],
        (600.0, "net.partition", None, {"cut": []}),
    )
    assert default_message_window(partitioned, (0.0, 1000.0), 300.0) == (550.0, 850.0)
    # Kept inside the bounds, and no longer than them.
    assert default_message_window(partitioned, (0.0, 700.0), 300.0) == (400.0, 700.0)
    assert default_message_window([], (0.0, 100.0), 300.0) == (0.0, 100.0)


def test_operations_pair_per_process_and_pending_invokes_end_as_info() -> None:
    history = [
        {"process": 1, "type": "invoke", "f": "put", "key": "k1", "value": 1, "time": 1.0},
        {"process": 2, "type": "invoke", "f": "get", "key": "k1", "value": None, "time": 2.0},
        {"process": 2, "type": "ok", "f": "get", "key": "k1", "value": None, "time": 4.0},
        {"process": 1, "type": "fail", "f": "put", "key": "k1", "value": 1, "time": 5.0},
        {"process": 2, "type": "invoke", "f": "cas", "key": "k2", "value": [1, 2], "time": 6.0},
        {"process": 3, "type": "invoke", "f": "get", "key": "k3", "value": None, "time": 7.0},
        {"process": 3, "type": "info", "f": "get", "key": "k3", "value": None, "time": 9.0},
    ]
    ops = operations(history)
    assert [(op.process, op.f, op.invoke_ms, op.complete_ms, op.outcome) for op in ops] == [
        (1, "put", 1.0, 5.0, OperationOutcome.FAIL),
        (2, "get", 2.0, 4.0, OperationOutcome.OK),
        (2, "cas", 6.0, 9.0, OperationOutcome.INFO),
        (3, "get", 7.0, 9.0, OperationOutcome.INFO),
    ]
    assert ops[1].latency_ms == 2.0


def test_operations_reject_a_completion_without_an_invocation() -> None:
    history = [{"process": 1, "type": "ok", "f": "get", "key": "k", "value": None, "time": 1.0}]
    with pytest.raises(PlotInputError, match="never invoked"):
        operations(history)


def test_tree_samples_count_nodes_through_splits_root_changes_crashes_and_restores() -> None:
    events = log(
        (1.0, "btree.split", "n1", {"node_kind": "leaf", "reason": "overflow"}),
        (1.0, "btree.root", "n1", {"depth": 2, "reason": "root_split"}),
        (2.0, "btree.split", "n1", {"node_kind": "leaf", "reason": "overflow"}),
        (3.0, "btree.merge", "n1", {"node_kind": "leaf", "reason": "underflow"}),
        (4.0, "btree.root", "n1", {"depth": 3, "reason": "restore"}),
        (5.0, "btree.split", "n1", {"node_kind": "leaf", "reason": "overflow"}),
        (6.0, "node.crash", "n1", {}),
        (7.0, "node.restart", "n1", {}),
        (7.0, "btree.root", "n1", {"depth": 2, "reason": "restore", "node_count": 9}),
    )
    samples = tree_samples(events, ["n1"], 10.0)["n1"]
    assert [(s.t_ms, s.depth, s.node_count, s.splits, s.merges, s.restored) for s in samples] == [
        (0.0, 1, 1, 0, 0, False),
        (1.0, 1, 2, 1, 0, False),
        (1.0, 2, 3, 1, 0, False),
        (2.0, 2, 4, 2, 0, False),
        (3.0, 2, 3, 2, 1, False),
        (4.0, 3, None, 2, 1, True),
        (5.0, 3, None, 3, 1, False),
        (6.0, None, None, 3, 1, False),
        (7.0, 1, 1, 3, 1, False),
        (7.0, 2, 9, 3, 1, True),
        (10.0, 2, 9, 3, 1, False),
    ]


def test_event_nodes_are_servers_in_natural_order() -> None:
    events = log(
        (1.0, "raft.role", "n10", {"role": "follower", "term": 0, "leader": None}),
        (1.0, "raft.role", "n2", {"role": "follower", "term": 0, "leader": None}),
        (1.0, "client.invoke", "c1", {}),
        (1.0, "net.heal", None, {}),
    )
    assert event_nodes(events) == ("n2", "n10")


def test_nearest_rank_and_throughput_bins() -> None:
    values = [float(v) for v in range(1, 101)]
    assert nearest_rank(values, 0.5) == 50.0
    assert nearest_rank(values, 0.99) == 99.0
    assert nearest_rank([7.0], 0.99) == 7.0
    assert throughput_bin_ms(30_000.0) == 250.0
    assert throughput_bin_ms(300.0) == 10.0
    assert throughput_bin_ms(4_000.0) == 50.0
