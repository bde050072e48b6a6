"""The fast OTLP span encoder writes exactly what orjson writes for the reference dicts."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from harmonysim.obs.otlp import OtlpSpanWriter, encode_spans, encode_spans_json, read_otlp_spans
from harmonysim.obs.tracing import (
    AttributeValue,
    Category,
    Span,
    SpanKind,
    StatusCode,
    TraceContext,
)

# Text that needs escaping (quotes, backslashes, control characters) and text that
# does not (non-ASCII is written as UTF-8, never as \u escapes).
texts = st.one_of(
    st.sampled_from(["n1", "kv.put", "AppendEntries n1->n2", "", 'a"b\\c', "\n\t\x00\x1f", "é→𝄞"]),
    st.text(max_size=12),
)
keys = st.one_of(st.sampled_from(["net.peer", "raft.index", "result", 'k"ey']), st.text(max_size=8))
values: st.SearchStrategy[Any] = st.one_of(
    texts,
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([SpanKind.CLIENT, StatusCode.OK, Category.RAFT]),  # enum subclasses
    st.lists(texts, max_size=3),
    st.lists(st.integers(min_value=-(2**63), max_value=2**63), max_size=3),
)
attribute_maps = st.dictionaries(keys, values, max_size=5)
ids64 = st.integers(min_value=1, max_value=2**64 - 1)


@st.composite
def spans(draw: st.DrawFn) -> Span:
    trace_id = draw(st.sampled_from([1, 2**127 + 5, 0xC0636570E5CA19F130F6E4521757C8AD]))
    parent = draw(st.none() | ids64)
    start_us = draw(st.integers(min_value=0, max_value=10**9))
    span = Span(
        None,
        TraceContext(trace_id, draw(ids64), parent, True),
        draw(texts),
        draw(st.sampled_from(["n1", "n2", "c1", 'n"3'])),
        draw(st.sampled_from(list(Category))),
        draw(st.sampled_from(list(SpanKind))),
        start_us,
        draw(attribute_maps),
    )
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        span.add_event(draw(texts), draw(attribute_maps), at_us=start_us + draw(st.integers(0, 9)))
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        span.add_link(TraceContext(trace_id + 1, draw(ids64), None, True), draw(attribute_maps))
    status = draw(st.sampled_from(list(StatusCode)))
    span.status = status
    if status is not StatusCode.UNSET:
        span.status_message = draw(st.sampled_from(["", "timeout", 'bad "value"']))
    if draw(st.booleans()):
        span.end(start_us + draw(st.integers(min_value=0, max_value=10**6)))
    return span


resource_attributes = st.none() | st.dictionaries(keys, values, max_size=2)


@settings(max_examples=300)
@given(
    st.lists(spans(), max_size=12),
    st.sampled_from([0, 1_700_000_000_000_000_000, 123]),
    resource_attributes,
)
def test_fast_encoding_is_byte_identical_to_the_reference(
    batch: list[Span], epoch_unix_ns: int, resource: dict[str, AttributeValue] | None
) -> None:
    expected = orjson.dumps(encode_spans(batch, epoch_unix_ns, resource))
    assert encode_spans_json(batch, epoch_unix_ns, resource) == expected
    # Cached fragments (names, attributes, resources) give the same bytes the second time.
    resources: dict[str, str] = {}
    assert encode_spans_json(batch, epoch_unix_ns, resource, resources) == expected
    assert encode_spans_json(batch, epoch_unix_ns, resource, resources) == expected


def test_a_traced_run_encodes_as_the_reference_would(run_dir: Path) -> None:
    spans = read_otlp_spans(run_dir / "traces.otlp.jsonl")
    assert len(spans) > 100
    for start in range(0, len(spans), 97):
        batch = spans[start : start + 97]
        assert encode_spans_json(batch) == orjson.dumps(encode_spans(batch))


@settings(max_examples=100)
@given(st.lists(st.lists(spans(), max_size=6), max_size=4), resource_attributes)
def test_a_streaming_writer_writes_what_write_spans_writes(
    batches: list[list[Span]], resource: dict[str, AttributeValue] | None
) -> None:
    """Spans added one by one as they end, a line per batch: the lines ``write_spans`` writes."""
    streamed, whole = io.BytesIO(), io.BytesIO()
    writer = OtlpSpanWriter(streamed, 5, resource)
    for batch in batches:
        for span in batch:
            writer.add_span(span)
        writer.end_batch()
    reference = OtlpSpanWriter(whole, 5, resource)
    for batch in batches:
        reference.write_spans(batch)
    assert streamed.getvalue() == whole.getvalue()
    expected = b"".join(
        orjson.dumps(encode_spans(batch, 5, resource)) + b"\n" for batch in batches if batch
    )
    assert streamed.getvalue() == expected
    assert writer.spans == sum(len(batch) for batch in batches)
