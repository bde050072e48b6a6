"""The integration API: Go-style (span, finish) pairs, context managers, module-level calls."""

from __future__ import annotations

import pytest

from harmonysim.obs import integration as obs
from harmonysim.obs.derive import SpanCollector
from harmonysim.obs.integration import Instrumentation
from harmonysim.obs.tracing import StatusCode

from .test_tracing import Ids


def make(ratio: float = 1.0) -> tuple[Instrumentation, SpanCollector, list[int]]:
    clock = [0]
    sink = SpanCollector()
    instrumentation = Instrumentation.create(Ids(2), lambda: clock[0], ratio, span_sink=sink)
    instrumentation.tracer.batch_spans = 1
    return instrumentation.for_node("n1"), sink, clock


def test_go_style_pair_and_context_manager_give_the_same_spans() -> None:
    instr, sink, clock = make()
    root = instr.client_operation("put", "k1")
    span, finish = instr.trace_btree_operation(root.span, "put", "k1")
    instr.record_btree_split(span, 7, "k5", "overflow")
    clock[0] = 30
    finish()
    with instr.trace_btree_operation(root.span, "get", "k1") as second:
        second.set_attribute("cache.hit", False)
    root.finish(result="ok")
    names = [s.name for s in sink.spans]
    assert names == ["btree.put", "btree.get", "kv.put"]
    put = sink.spans[0]
    assert put.context.parent_span_id == root.span.context.span_id
    assert put.events[0].name == "btree.split" and put.events[0].attributes["separator"] == "k5"
    assert (put.start_us, put.end_us) == (0, 30)
    registry = instr.metrics.registry
    assert (
        registry.value("harmonysim_btree_operations_total", node="n1", op="put", result="ok") == 1
    )
    assert registry.value("harmonysim_btree_splits_total", node="n1", node_kind="leaf") == 1
    assert registry.value("harmonysim_client_operations_total", op="put", result="ok") == 1


def test_an_exception_inside_marks_the_span_and_keeps_the_trace() -> None:
    instr, sink, _ = make(ratio=1e-12)
    root = instr.client_operation("cas", "k2")
    with pytest.raises(RuntimeError), instr.trace_raft_operation(root.span, "append", term=3):
        raise RuntimeError("log mismatch")
    root.finish(result="info")
    assert [s.name for s in sink.spans] == ["raft.append", "kv.cas"]
    assert sink.spans[0].status is StatusCode.ERROR
    registry = instr.metrics.registry  # a Raft step's span counts nothing (servers do)
    assert registry.value("harmonysim_raft_append_entries_total", node="n1", result="error") == 0


def test_metrics_are_kept_with_tracing_off() -> None:
    instr, sink, clock = make(ratio=0.0)
    operation = instr.client_operation("get", "k3")
    clock[0] = 2_000
    operation.finish(result="ok")
    assert sink.spans == []
    (sample,) = instr.metrics.client_operation_latency.samples()
    assert sample.count == 1 and sample.sum == pytest.approx(0.002)


def test_raft_state_and_network_hops() -> None:
    instr, sink, clock = make()
    instr.update_raft_state("leader", 3, "n1", log_length=10, peers=5, commit_index=9)
    instr.update_raft_state("leader", 3, "n1", log_length=11, peers=5)
    n2 = instr.for_node("n2")
    n2.update_raft_state("follower", 3, "n1", log_length=11, peers=5)
    registry = instr.metrics.registry
    assert registry.value("harmonysim_raft_leader_changes_total", node="n1") == 1
    assert registry.value("harmonysim_raft_role", node="n1", role="leader") == 1
    assert registry.value("harmonysim_raft_role", node="n2", role="leader") == 0
    assert registry.value("harmonysim_raft_leader", node="n2", leader="n1") == 1
    assert registry.value("harmonysim_raft_log_length", node="n1") == 11
    election = instr.election_started(term=4)
    hop = instr.message_sent(election, "n2", "RequestVote", 17)
    instr.message_duplicated(hop, "RequestVote")
    clock[0] = 900
    n2.message_delivered(hop, "RequestVote", 900)
    n2.message_delivered(hop, "RequestVote", 950)  # the duplicate: counted, span already ended
    instr.vote_received(election, "n2", granted=True)
    instr.election_finished(election, won=True)
    assert [s.name for s in sink.spans] == ["RequestVote n1->n2", "raft.election"]
    assert sink.spans[0].end_us == 900 and sink.spans[0].events[0].name == "duplicate"
    assert (
        registry.value("harmonysim_network_messages_delivered_total", dst="n2", type="RequestVote")
        == 2
    )
    assert registry.value("harmonysim_raft_elections_total", node="n1", result="won") == 1


def test_module_level_functions_use_the_installed_instance() -> None:
    instr, sink, _ = make()
    # Without an installed instance they are inert.
    span, finish = obs.trace_btree_operation(None, "get", "k")
    finish()
    assert not span.recording
    with obs.use_instrumentation(instr):
        with obs.trace_distributed_query(None, "scan k1..k9") as query:
            obs.record_btree_split(query, 3, "k4", "overflow")
            with obs.trace_raft_operation(query, "propose", 2):
                pass
        obs.update_raft_state("candidate", 2, None, 4, 3)
    assert obs.current_instrumentation() is None
    assert [s.name for s in sink.spans] == ["raft.propose", "query"]
    registry = instr.metrics.registry
    assert registry.value("harmonysim_raft_role", node="n1", role="candidate") == 1
    assert registry.value("harmonysim_client_operations_total", op="query", result="ok") == 1
