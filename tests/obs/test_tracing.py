"""The tracer: deterministic ids and sampling, tracing off, error traces kept, bounded memory."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmonysim.obs.tracing import (
    NOOP_SPAN,
    Category,
    Span,
    SpanKind,
    StatusCode,
    TraceContext,
    Tracer,
    sampling_threshold,
)


class Ids:
    """A seeded ``IdSource`` (the run draws its ids from ``harmonysim.sim.rng.RngTree.ids``)."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def id64(self) -> int:
        return self._random.getrandbits(64) or 1

    def id128(self) -> int:
        return self._random.getrandbits(128) or 1


class Collect:
    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.batches = 0

    def write_spans(self, spans: Sequence[Span]) -> None:
        self.spans.extend(spans)
        self.batches += 1


class Count:
    def __init__(self) -> None:
        self.spans = 0

    def write_spans(self, spans: Sequence[Span]) -> None:
        self.spans += len(spans)


def make(ratio: float, seed: int = 1, **options: int) -> tuple[Tracer, Collect, list[int]]:
    clock = [0]
    sink = Collect()
    tracer = Tracer(Ids(seed), lambda: clock[0], ratio, sink, batch_spans=1, **options)
    return tracer, sink, clock


def test_span_fields_and_parentage() -> None:
    tracer, sink, clock = make(1.0)
    root = tracer.start_trace("kv.put", "c1", Category.CLIENT, SpanKind.CLIENT, {"kv.key": "k1"})
    clock[0] = 5
    child = tracer.start_span("AppendEntries n1->n2", root, "n1", Category.NETWORK)
    child.add_event("duplicate")
    clock[0] = 9
    child.end()
    child.end(at_us=100)  # ignored: a span ends once
    clock[0] = 12
    root.end()
    assert [span.name for span in sink.spans] == ["AppendEntries n1->n2", "kv.put"]
    assert child.context.trace_id == root.context.trace_id
    assert child.context.parent_span_id == root.context.span_id
    assert root.context.parent_span_id is None
    assert (child.start_us, child.end_us, root.end_us) == (5, 9, 12)
    assert child.events[0].name == "duplicate" and child.events[0].time_us == 5
    assert (
        root.context.traceparent
        == f"00-{root.context.trace_id:032x}-{root.context.span_id:016x}-01"
    )


def test_same_ids_give_same_traces_and_decisions() -> None:
    def run(seed: int) -> list[tuple[int, int, bool]]:
        tracer, _, _ = make(0.3, seed)
        spans = [tracer.start_trace("op", "c1", Category.CLIENT) for _ in range(200)]
        return [(s.context.trace_id, s.context.span_id, s.context.sampled) for s in spans]

    assert run(4) == run(4)
    assert run(4) != run(5)


def test_sampling_is_a_function_of_the_trace_id_alone() -> None:
    a, _, _ = make(0.25, seed=1)
    b, _, _ = make(0.25, seed=2)
    ids = [random.Random(9).getrandbits(128) for _ in range(1000)]
    assert [a.should_sample(i) for i in ids] == [b.should_sample(i) for i in ids]
    low = 5 << 64  # high bits are ignored; only the low 64 bits decide
    assert a.should_sample(low | 1) and not a.should_sample(low | (1 << 63))


@settings(max_examples=20, deadline=None)
@given(st.floats(min_value=0.05, max_value=0.95), st.integers(0, 2**32))
def test_sampling_ratio_is_respected(ratio: float, seed: int) -> None:
    tracer, _, _ = make(ratio, seed)
    traces = 4000
    sampled = sum(
        tracer.start_trace("op", "c1", Category.CLIENT).context.sampled for _ in range(traces)
    )
    # Binomial: 5 standard deviations of slack.
    slack = 5 * (ratio * (1 - ratio) / traces) ** 0.5
    assert abs(sampled / traces - ratio) < slack


def test_sampling_threshold_bounds() -> None:
    assert sampling_threshold(0.0) == 0
    assert sampling_threshold(1.0) == 1 << 64
    with pytest.raises(ValueError):
        sampling_threshold(1.5)


def test_ratio_zero_builds_no_span_objects() -> None:
    tracer, sink, _ = make(0.0)
    root = tracer.start_trace("op", "c1", Category.CLIENT)
    child = tracer.start_span("hop", root, "n1", Category.NETWORK)
    child.set_error("boom")
    child.end()
    root.end()
    assert root is NOOP_SPAN and child is NOOP_SPAN
    assert not root.recording and not root.context.valid
    assert tracer.stats.spans_started == 0
    assert sink.spans == [] and tracer.buffered_spans == 0


def test_an_error_keeps_an_unsampled_trace() -> None:
    tracer, sink, _ = make(1e-12)
    root = tracer.start_trace("op", "c1", Category.CLIENT)
    assert not root.context.sampled
    first = tracer.start_span("hop", root, "n1", Category.NETWORK)
    first.end()
    assert sink.spans == [] and tracer.pending_spans == 1
    failing = tracer.start_span("apply", root, "n1", Category.RAFT)
    failing.set_error("disk lost")
    failing.end()
    root.end()
    assert [span.name for span in sink.spans] == ["hop", "apply", "op"]
    assert failing.status is StatusCode.ERROR
    assert tracer.stats.traces_promoted == 1 and tracer.pending_traces == 0


def test_an_unsampled_trace_without_error_is_discarded() -> None:
    tracer, sink, _ = make(1e-12)
    root = tracer.start_trace("op", "c1", Category.CLIENT)
    tracer.start_span("hop", root, "n1", Category.NETWORK).end()
    root.end()
    assert sink.spans == [] and tracer.pending_traces == 0
    assert tracer.stats.spans_discarded == 2


def test_force_keep_promotes_pending_spans() -> None:
    tracer, sink, _ = make(1e-12)
    root = tracer.start_trace("op", "c1", Category.CLIENT)
    tracer.start_span("hop", root, "n1", Category.NETWORK).end()
    tracer.force_keep(root.context.trace_id)  # a checker flagged this trace
    assert [span.name for span in sink.spans] == ["hop"]
    tracer.start_span("later", root, "n2", Category.RAFT).end()
    root.end()
    assert [span.name for span in sink.spans] == ["hop", "later", "op"]


def test_context_manager_records_exceptions() -> None:
    tracer, sink, _ = make(1.0)
    with pytest.raises(KeyError), tracer.start_trace("op", "c1", Category.CLIENT):
        raise KeyError("k9")
    assert sink.spans[0].status is StatusCode.ERROR
    assert "KeyError" in sink.spans[0].status_message


def test_invalid_parent_starts_a_new_trace() -> None:
    tracer, _, _ = make(1.0)
    span = tracer.start_span("x", TraceContext(0, 0, None, False), "n1", Category.RAFT)
    assert span.context.valid and span.context.parent_span_id is None


def test_a_million_spans_stay_within_bounds() -> None:
    clock = [0]
    sink = Count()
    tracer = Tracer(
        Ids(3),
        lambda: clock[0],
        0.5,
        sink,
        max_buffered_spans=100,
        batch_spans=64,
        pending_spans_per_trace=4,
        max_pending_traces=32,
        retention_us=50,
    )
    bound = 100 + 64 + 4 * 32
    peak = 0
    open_children: list[Span] = []
    for step in range(500_000):
        clock[0] = step
        root = tracer.start_trace("op", "c1", Category.CLIENT)
        child = tracer.start_span("hop", root, "n1", Category.NETWORK)
        if step % 3 == 0:
            open_children.append(child)  # ends after its root: lingers as a pending trace
        else:
            child.end()
        root.end()
        if len(open_children) > 8:
            open_children.pop(0).end()
        if step % 4096 == 0:
            peak = max(peak, tracer.buffered_spans)
    peak = max(peak, tracer.buffered_spans)
    tracer.flush()
    stats = tracer.stats
    assert stats.spans_started == 1_000_000
    assert peak <= bound
    assert tracer.pending_traces <= 32 and len(tracer.recent) <= 100
    # Every span ended was either exported or counted as discarded (up to those still open or
    # waiting in the bounded pending list).
    ended = 1_000_000 - len(open_children)
    assert sink.spans == stats.spans_kept
    assert stats.spans_kept + stats.spans_discarded + tracer.pending_spans == ended
    assert 0.45 < stats.traces_sampled / stats.traces_started < 0.55
    # Retention: the ring only holds spans that ended within 50 µs of the newest kept one.
    newest = tracer.recent[-1].end_us
    assert newest is not None and newest >= clock[0] - 10
    assert all(span.end_us is not None and span.end_us >= newest - 50 for span in tracer.recent)
    assert len(tracer.recent) < 100


class Stream(Collect):
    """A streaming sink recording the batches it is told about."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[Span] = []
        self.streamed: list[list[Span]] = []
        self.add_span = self.pending.append

    def end_batch(self) -> None:
        self.streamed.append(list(self.pending))
        self.pending.clear()


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.booleans(), st.integers(0, 3)), max_size=60),
    st.sampled_from([0.0, 0.3, 1.0]),
    st.integers(min_value=1, max_value=5),
    st.sampled_from([0, 8]),
)
def test_a_streaming_sink_gets_the_batches_a_plain_sink_gets(
    steps: list[tuple[bool, bool, int]], ratio: float, batch_spans: int, ring: int
) -> None:
    """Spans handed over one by one as they end, batch ends where a batch would be written."""
    plain, streaming = Collect(), Stream()
    batches: list[list[list[Span]]] = []
    clock = [0]
    for sink in (plain, streaming):
        clock[0] = 0
        tracer = Tracer(
            Ids(7), lambda: clock[0], max(ratio, 0.01), sink, ring, batch_spans=batch_spans
        )
        seen: list[list[Span]] = []
        if sink is plain:
            plain.write_spans = seen.append  # type: ignore[method-assign]
        for new_trace, error, children in steps:
            clock[0] += 1
            root = tracer.start_trace("op", "c1", Category.CLIENT)
            for child_number in range(children):
                child = tracer.start_span(f"step {child_number}", root, "n1", Category.RAFT)
                if error and child_number == 0:
                    child.set_error("failed")
                child.end()
            if new_trace:
                tracer.end_open_spans("test")
            root.end()
        tracer.flush()
        batches.append([list(batch) for batch in seen] if sink is plain else streaming.streamed)
    names = [[[(span.name, span.span_id) for span in batch] for batch in run] for run in batches]
    assert names[0] == names[1]
