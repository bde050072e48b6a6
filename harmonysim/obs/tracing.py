"""Distributed tracing on the virtual clock: trace contexts, spans, head sampling, retention.

Rules:
- Ids come from ``IdSource``s passed in (128-bit trace ids, 64-bit span ids,
  never zero; trace ids may have a stream of their own), and times from a
  ``clock_us`` callable reading the virtual clock: the same seed yields the same
  traces, byte for byte.
- Head sampling is decided once per trace, from its id alone: a trace is sampled
  when the low 64 bits of its id are below ``sample_ratio * 2**64``. Every
  process that sees the id reaches the same decision, as OpenTelemetry's
  TraceIdRatioBased sampler does; children inherit it through ``TraceContext``.
  ``start_trace(..., keep=True)`` samples a trace whatever its id says (a run
  replayed to keep the traces a failure touched).
- ``sample_ratio == 0`` turns tracing off: every call returns the shared
  ``NOOP_SPAN`` at the cost of one attribute test, and no span object is built.
- Traces that touch an error are kept whatever the sampler said. Spans of an
  unsampled trace wait in a small pending list (at most ``pending_spans_per_trace``
  per trace, at most ``max_pending_traces`` traces, oldest evicted first). An
  error recorded on any of its spans, or ``force_keep(trace_id)``, promotes the
  trace: its pending spans are exported and its later spans are kept. A pending
  trace is forgotten when its root span ends without error. (A simulated run
  propagates nothing for unsampled traces, so its errors keep their root spans;
  what a failed check touched is traced whole by running again with ``keep``:
  ``harmonysim.runner``.)
- Retention: finished kept spans are handed to the ``sink`` in batches of
  ``batch_spans`` (a ``StreamingSpanSink`` takes each as it ends, and is told where
  each batch ends) and also kept in ``recent``, a ring of at most
  ``max_buffered_spans`` spans from which spans older than ``retention_us`` (if
  set) are cleaned up. Nothing in the tracer grows without bound.
- A span is ended exactly once; a second ``end`` is ignored (a duplicated
  message is delivered twice but its hop ends at the first delivery).
"""

from __future__ import annotations

import random
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from functools import partial
from types import TracebackType
from typing import Final, Protocol

__all__ = [
    "INVALID_CONTEXT",
    "NOOP_SPAN",
    "AttributeValue",
    "Category",
    "IdSource",
    "RandomIds",
    "Span",
    "SpanEvent",
    "SpanKind",
    "SpanLink",
    "SpanSink",
    "StatusCode",
    "StreamingSpanSink",
    "TraceContext",
    "Tracer",
    "TracerStats",
    "sampling_threshold",
]

AttributeValue = str | bool | int | float | Sequence[str] | Sequence[int] | Sequence[float]

_MASK64: Final = (1 << 64) - 1


class IdSource(Protocol):
    """Where trace and span ids come from (a seeded stream, never os.urandom)."""

    def id64(self) -> int: ...
    def id128(self) -> int: ...


class RandomIds:
    """Ids drawn from a seeded ``random.Random``: ``getrandbits`` again until not zero.

    The ``IdSource`` the seeded RNG tree hands out (``harmonysim.sim.rng.RngTree.ids``);
    the tracer recognises it and calls ``getrandbits`` directly (the same ids: a test
    holds this).
    """

    __slots__ = ("getrandbits",)

    def __init__(self, rng: random.Random) -> None:
        self.getrandbits = rng.getrandbits

    def id64(self) -> int:
        value = 0
        while value == 0:
            value = self.getrandbits(64)
        return value

    def id128(self) -> int:
        value = 0
        while value == 0:
            value = self.getrandbits(128)
        return value


class Category(StrEnum):
    """The layer a span belongs to; exporters draw one thread (track) per category."""

    CLIENT = "client"
    NETWORK = "network"
    RAFT = "raft"
    BTREE = "btree"
    STORAGE = "storage"


class SpanKind(IntEnum):
    """OpenTelemetry span kinds, with their OTLP enum numbers."""

    UNSPECIFIED = 0
    INTERNAL = 1
    SERVER = 2
    CLIENT = 3
    PRODUCER = 4
    CONSUMER = 5


class StatusCode(IntEnum):
    """OpenTelemetry status codes, with their OTLP enum numbers."""

    UNSET = 0
    OK = 1
    ERROR = 2


@dataclass(frozen=True, slots=True)
class TraceContext:
    """What a message carries between nodes: W3C trace-context fields on the virtual clock."""

    trace_id: int
    span_id: int
    parent_span_id: int | None
    sampled: bool

    @property
    def valid(self) -> bool:
        return self.trace_id != 0 and self.span_id != 0

    @property
    def traceparent(self) -> str:
        """The W3C ``traceparent`` header value for this context."""
        flags = "01" if self.sampled else "00"
        return f"00-{self.trace_id:032x}-{self.span_id:016x}-{flags}"


INVALID_CONTEXT = TraceContext(0, 0, None, False)


@dataclass(frozen=True, slots=True)
class SpanEvent:
    """Something that happened at one instant inside a span (a drop, a split, a vote)."""

    name: str
    time_us: int
    attributes: Mapping[str, AttributeValue]


@dataclass(frozen=True, slots=True)
class SpanLink:
    """A causal reference to a span of another trace (a batch of proposals, a vote)."""

    trace_id: int
    span_id: int
    attributes: Mapping[str, AttributeValue]


class SpanSink(Protocol):
    """Receives finished, kept spans in batches (for example ``otlp.OtlpSpanWriter``)."""

    def write_spans(self, spans: Sequence[Span]) -> None: ...


class StreamingSpanSink(SpanSink, Protocol):
    """A sink that takes each kept span as it ends, and is told where each batch ends.

    The tracer calls ``add_span`` (an attribute: a bound method, read once) for every
    kept span, in the order it would have put them in a batch, and ``end_batch`` where
    a batch would have been handed over: the same batches as ``write_spans`` gets from
    a plain sink, without the tracer holding the spans until then.
    """

    add_span: Callable[[Span], None]

    def end_batch(self) -> None: ...


def _nothing() -> None:
    pass


class Span:
    """One timed operation on one node. Mutable until ``end``; then handed to the tracer.

    The ids are kept as plain ints on the span (``trace_id``, ``span_id``,
    ``parent_span_id``, ``sampled``) and ``context`` builds the ``TraceContext``
    on first use: a frozen dataclass is slow to build (``object.__setattr__`` per
    field), and most spans are only ever parents and exported, which read the ints. ``events`` and
    ``links`` are an empty tuple until the first one is added, for the same reason.
    """

    __slots__ = (
        "_context",
        "_tracer",
        "attributes",
        "category",
        "end_us",
        "events",
        "kind",
        "links",
        "name",
        "node",
        "parent_span_id",
        "sampled",
        "span_id",
        "start_us",
        "status",
        "status_message",
        "trace_id",
    )

    def __init__(
        self,
        tracer: Tracer | None,
        context: TraceContext,
        name: str,
        node: str,
        category: Category,
        kind: SpanKind,
        start_us: int,
        attributes: dict[str, AttributeValue] | None = None,
    ) -> None:
        self._tracer = tracer
        self._context: TraceContext | None = context
        self.trace_id = context.trace_id
        self.span_id = context.span_id
        self.parent_span_id = context.parent_span_id
        self.sampled = context.sampled
        self.name = name
        self.node = node
        self.category = category
        self.kind = kind
        self.start_us = start_us
        self.end_us: int | None = None
        self.attributes: dict[str, AttributeValue] = attributes if attributes is not None else {}
        self.events: Sequence[SpanEvent] = ()
        self.links: Sequence[SpanLink] = ()
        self.status = StatusCode.UNSET
        self.status_message = ""

    @property
    def context(self) -> TraceContext:
        context = self._context
        if context is None:
            context = self._context = TraceContext(
                self.trace_id, self.span_id, self.parent_span_id, self.sampled
            )
        return context

    @property
    def recording(self) -> bool:
        """False only for the shared no-op span."""
        return True

    @property
    def ended(self) -> bool:
        return self.end_us is not None

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        self.attributes[key] = value

    def add_event(
        self,
        name: str,
        attributes: Mapping[str, AttributeValue] | None = None,
        at_us: int | None = None,
    ) -> None:
        tracer = self._tracer
        time_us = at_us if at_us is not None else (tracer.now_us() if tracer else self.start_us)
        event = SpanEvent(name, time_us, dict(attributes) if attributes else {})
        if self.events:
            self.events.append(event)  # type: ignore[attr-defined]
        else:
            self.events = [event]

    def add_link(
        self, context: TraceContext, attributes: Mapping[str, AttributeValue] | None = None
    ) -> None:
        if context.valid:
            link_attributes = dict(attributes) if attributes else {}
            link = SpanLink(context.trace_id, context.span_id, link_attributes)
            if self.links:
                self.links.append(link)  # type: ignore[attr-defined]
            else:
                self.links = [link]

    def set_error(self, message: str) -> None:
        """Mark the span failed; its whole trace is kept even if it was not sampled."""
        self.status = StatusCode.ERROR
        self.status_message = message
        if self._tracer is not None:
            self._tracer.force_keep(self.trace_id)

    def set_ok(self) -> None:
        if self.status is not StatusCode.ERROR:
            self.status = StatusCode.OK

    def end(self, at_us: int | None = None) -> None:
        if self.end_us is not None:
            return
        tracer = self._tracer
        if tracer is None:
            self.end_us = at_us if at_us is not None else self.start_us
        else:
            self.end_us = at_us if at_us is not None else tracer.now_us()
            tracer._finish(self)

    @property
    def duration_us(self) -> int:
        return (self.end_us if self.end_us is not None else self.start_us) - self.start_us

    def __enter__(self) -> Span:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is not None:
            self.set_error(f"{type(exc).__name__}: {exc}")
        self.end()

    def __repr__(self) -> str:
        return (
            f"Span({self.name!r}, node={self.node!r}, trace={self.trace_id:032x}, "
            f"span={self.span_id:016x}, start_us={self.start_us}, end_us={self.end_us})"
        )


_UNSET: Final = StatusCode.UNSET  # Final: a C static when compiled, read per span


class _TracedSpan(Span):
    """A span started by a ``Tracer``: the same object, built from ids without a context.

    Its own ``__init__`` (no ``TraceContext`` in, no default handling) because a
    traced run builds one per message hop and Raft step: this is the hot path.
    """

    __slots__ = ()

    def __init__(
        self,
        tracer: Tracer,
        trace_id: int,
        span_id: int,
        parent_span_id: int | None,
        sampled: bool,
        name: str,
        node: str,
        category: Category,
        kind: SpanKind,
        start_us: int,
        attributes: dict[str, AttributeValue],
    ) -> None:
        self._tracer = tracer
        self._context = None
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_span_id = parent_span_id
        self.sampled = sampled
        self.name = name
        self.node = node
        self.category = category
        self.kind = kind
        self.start_us = start_us
        self.end_us = None
        self.attributes = attributes
        self.events = ()
        self.links = ()
        self.status = _UNSET
        self.status_message = ""


class _NoopSpan(Span):
    """The one span returned while tracing is off: every method does nothing."""

    __slots__ = ()

    @property
    def recording(self) -> bool:
        return False

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        pass

    def add_event(
        self,
        name: str,
        attributes: Mapping[str, AttributeValue] | None = None,
        at_us: int | None = None,
    ) -> None:
        pass

    def add_link(
        self, context: TraceContext, attributes: Mapping[str, AttributeValue] | None = None
    ) -> None:
        pass

    def set_error(self, message: str) -> None:
        pass

    def set_ok(self) -> None:
        pass

    def end(self, at_us: int | None = None) -> None:
        pass


NOOP_SPAN: Final[Span] = _NoopSpan(
    None, INVALID_CONTEXT, "", "", Category.CLIENT, SpanKind.INTERNAL, 0
)


def sampling_threshold(sample_ratio: float) -> int:
    """Traces whose low 64 id bits are below this number are sampled."""
    if not 0.0 <= sample_ratio <= 1.0:
        raise ValueError(f"sample_ratio must be within [0, 1], got {sample_ratio}")
    return min(1 << 64, round(sample_ratio * (1 << 64)))


DEFAULT_SAMPLE_RATIO = 0.1
"""Runs trace a tenth of client operations unless told otherwise: hundreds of whole traces
per run for a sixth of the cost of tracing every one (``harmonysim bench tracing``)."""

UNFINISHED_KEY = "harmonysim.unfinished"
"""Attribute of spans ended by ``Tracer.end_open_spans`` rather than by their owner."""


@dataclass(slots=True)
class TracerStats:
    """Counts of what the tracer did with spans (exported as metrics, shown by benchmarks)."""

    spans_started: int = 0
    spans_kept: int = 0
    spans_discarded: int = 0
    traces_started: int = 0
    traces_sampled: int = 0
    traces_promoted: int = 0
    pending_evicted: int = 0


class Tracer:
    """Creates spans on the virtual clock and decides which to keep (see the module docstring)."""

    __slots__ = (
        "_add_span",
        "_batch",
        "_batched",
        "_end_batch",
        "_id64",
        "_ids",
        "_kept_traces",
        "_open",
        "_pending",
        "_ring",
        "_threshold",
        "_trace_id128",
        "_trace_ids",
        "batch_spans",
        "enabled",
        "max_kept_traces",
        "max_pending_traces",
        "now_us",
        "pending_spans_per_trace",
        "recent",
        "retention_us",
        "sample_ratio",
        "sink",
        "stats",
    )

    def __init__(
        self,
        ids: IdSource,
        clock_us: Callable[[], int],
        sample_ratio: float,
        sink: SpanSink | None = None,
        max_buffered_spans: int = 4096,
        *,
        batch_spans: int = 512,
        retention_us: int | None = None,
        pending_spans_per_trace: int = 64,
        max_pending_traces: int = 256,
        max_kept_traces: int = 4096,
        span_ids: IdSource | None = None,
    ) -> None:
        if max_buffered_spans < 0 or batch_spans < 1:
            raise ValueError("max_buffered_spans must be >= 0 and batch_spans >= 1")
        # Trace ids come from ``ids`` and span ids from ``span_ids`` (default: ``ids``
        # too). Given their own stream, trace ids are drawn only by roots, so they and
        # the sampling decisions do not move when a run traces more spans (``keep``).
        self._trace_ids = ids
        self._ids = span_ids if span_ids is not None else ids
        # Draws that may return 0 (then the id source's own method draws again): for a
        # RandomIds, getrandbits itself, called without a Python frame per span.
        self._trace_id128: Callable[[], int] = ids.id128
        if isinstance(ids, RandomIds):
            self._trace_id128 = partial(ids.getrandbits, 128)
        self._id64: Callable[[], int] = self._ids.id64
        if isinstance(self._ids, RandomIds):
            self._id64 = partial(self._ids.getrandbits, 64)
        self.now_us = clock_us
        self.sample_ratio = sample_ratio
        self._threshold = sampling_threshold(sample_ratio)
        self.enabled = sample_ratio > 0.0
        self.sink = sink
        self.batch_spans = batch_spans
        self.retention_us = retention_us
        self.pending_spans_per_trace = pending_spans_per_trace
        self.max_pending_traces = max_pending_traces
        self.max_kept_traces = max_kept_traces
        self.recent: deque[Span] = deque(maxlen=max_buffered_spans)
        self._ring = max_buffered_spans > 0
        self._batch: list[Span] = []
        # A streaming sink takes each kept span as it ends: then only a count is kept here.
        self._add_span: Callable[[Span], None] | None = None
        self._end_batch: Callable[[], None] = _nothing
        # A sink with both members streams (looked up by name: compiled protocols have no
        # runtime isinstance check).
        add_span = getattr(sink, "add_span", None)
        end_batch = getattr(sink, "end_batch", None)
        if add_span is not None and end_batch is not None:
            self._add_span = add_span
            self._end_batch = end_batch
        self._batched = 0
        # trace id -> spans of an unsampled trace that finished, waiting for an error
        self._pending: OrderedDict[int, list[Span]] = OrderedDict()
        # unsampled trace ids promoted by an error (kept from then on), most recent last
        self._kept_traces: OrderedDict[int, None] = OrderedDict()
        # span id -> span started and not yet ended (bounded by the work in flight)
        self._open: dict[int, Span] = {}
        self.stats = TracerStats()

    # -- sampling ---------------------------------------------------------------------

    def should_sample(self, trace_id: int) -> bool:
        """The head-sampling decision for ``trace_id`` (a pure function of the id)."""
        return (trace_id & _MASK64) < self._threshold

    # -- creating spans -----------------------------------------------------------------

    def start_trace(
        self,
        name: str,
        node: str,
        category: Category,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: dict[str, AttributeValue] | None = None,
        at_us: int | None = None,
        *,
        keep: bool = False,
    ) -> Span:
        """Start the root span of a new trace (a client operation, an election).

        ``keep`` samples the trace whatever its id says: what a run replayed to keep
        the traces of a failure asks for the operations that failure touched.
        """
        if not self.enabled:
            return NOOP_SPAN
        trace_id = self._trace_id128() or self._trace_ids.id128()
        sampled = keep or (trace_id & _MASK64) < self._threshold
        stats = self.stats
        stats.traces_started += 1
        if sampled:
            stats.traces_sampled += 1
        stats.spans_started += 1
        span = _TracedSpan(
            self,
            trace_id,
            self._id64() or self._ids.id64(),
            None,
            sampled,
            name,
            node,
            category,
            kind,
            at_us if at_us is not None else self.now_us(),
            attributes if attributes is not None else {},
        )
        self._open[span.span_id] = span
        return span

    def start_span(
        self,
        name: str,
        parent: TraceContext | Span | None,
        node: str,
        category: Category,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: dict[str, AttributeValue] | None = None,
        at_us: int | None = None,
    ) -> Span:
        """Start a child of ``parent``; with no valid parent, the root of a new trace."""
        if not self.enabled:
            return NOOP_SPAN
        # A span and a context both carry the ids as ints; a zero id is invalid
        # (NOOP_SPAN, INVALID_CONTEXT), and then this starts a new trace.
        if parent is None or not parent.trace_id or not parent.span_id:
            return self.start_trace(name, node, category, kind, attributes, at_us)
        self.stats.spans_started += 1
        span = _TracedSpan(
            self,
            parent.trace_id,
            self._id64() or self._ids.id64(),
            parent.span_id,
            parent.sampled,
            name,
            node,
            category,
            kind,
            at_us if at_us is not None else self.now_us(),
            attributes if attributes is not None else {},
        )
        self._open[span.span_id] = span
        return span

    def end_open_spans(self, reason: str, at_us: int | None = None) -> int:
        """End every span still open (the run stopped, its node crashed...), in start order.

        Each gets the attribute ``harmonysim.unfinished`` = ``reason``; returns how many.
        """
        spans = list(self._open.values())
        for span in spans:
            span.set_attribute(UNFINISHED_KEY, reason)
            span.end(at_us)
        return len(spans)

    @property
    def open_spans(self) -> int:
        return len(self._open)

    def spans_open_on(self, node: str) -> list[Span]:
        """The spans started on ``node`` and not yet ended, in start order."""
        return [span for span in self._open.values() if span.node == node]

    # -- keeping and forgetting -----------------------------------------------------------

    def force_keep(self, trace_id: int) -> None:
        """Keep every span of ``trace_id``, sampled or not (an error, a failed check)."""
        if not self.enabled or trace_id == 0:
            return
        if self.should_sample(trace_id):
            return
        kept = self._kept_traces
        if trace_id in kept:
            kept.move_to_end(trace_id)
            return
        kept[trace_id] = None
        if len(kept) > self.max_kept_traces:
            kept.popitem(last=False)
        self.stats.traces_promoted += 1
        pending = self._pending.pop(trace_id, None)
        if pending:
            for span in pending:
                self._keep(span)

    def is_kept(self, trace_id: int) -> bool:
        return self.should_sample(trace_id) or trace_id in self._kept_traces

    def _finish(self, span: Span) -> None:
        # del in a try block rather than ``pop(span_id, None)`` (or contextlib.suppress):
        # compiled, dict.pop is a method call by name and suppress a context manager, once
        # per span; every span the tracer started is there.
        try:  # noqa: SIM105
            del self._open[span.span_id]
        except KeyError:  # a span built by hand with this tracer
            pass
        add_span = self._add_span
        if add_span is not None and span.sampled and not self._ring:
            # ``_keep`` inlined for the common case (a sampled span streamed to the sink,
            # no ring): every span of a fully traced run passes here.
            self.stats.spans_kept += 1
            add_span(span)
            self._batched += 1
            if self._batched >= self.batch_spans:
                self.flush()
            return
        trace_id = span.trace_id
        if span.sampled or trace_id in self._kept_traces:
            self._keep(span)
            return
        pending = self._pending
        if span.parent_span_id is None:
            # The root ended without error: nothing in this trace will be kept.
            dropped = pending.pop(trace_id, None)
            self.stats.spans_discarded += 1 + (len(dropped) if dropped else 0)
            return
        waiting = pending.get(trace_id)
        if waiting is None:
            waiting = pending[trace_id] = []
            if len(pending) > self.max_pending_traces:
                _, evicted = pending.popitem(last=False)
                self.stats.pending_evicted += 1
                self.stats.spans_discarded += len(evicted)
        if len(waiting) < self.pending_spans_per_trace:
            waiting.append(span)
        else:
            self.stats.spans_discarded += 1

    def _keep(self, span: Span) -> None:
        self.stats.spans_kept += 1
        if self._ring:
            self.recent.append(span)
            if self.retention_us is not None:
                self._expire_recent(span)
        if self._add_span is not None:
            self._add_span(span)
            self._batched += 1
            if self._batched >= self.batch_spans:
                self.flush()
        elif self.sink is not None:
            batch = self._batch
            batch.append(span)
            if len(batch) >= self.batch_spans:
                self.flush()

    def _expire_recent(self, span: Span) -> None:
        retention = self.retention_us
        if retention is not None and span.end_us is not None:
            recent = self.recent
            horizon = span.end_us - retention
            while recent and (recent[0].end_us or 0) < horizon:
                recent.popleft()

    def flush(self) -> None:
        """Hand buffered finished spans to the sink (end the batch of a streaming sink)."""
        if self._batched:
            self._batched = 0
            self._end_batch()
        batch = self._batch
        if batch and self.sink is not None:
            self.sink.write_spans(tuple(batch))
        batch.clear()

    @property
    def pending_traces(self) -> int:
        return len(self._pending)

    @property
    def pending_spans(self) -> int:
        return sum(len(spans) for spans in self._pending.values())

    @property
    def buffered_spans(self) -> int:
        """Spans held in memory now: the recent ring, the unsent batch and pending traces."""
        return len(self.recent) + len(self._batch) + self.pending_spans
