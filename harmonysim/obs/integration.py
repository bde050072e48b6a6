"""The integration layer: one call per thing worth observing, updating spans and metrics together.

Rules:
- An ``Instrumentation`` holds a ``Tracer`` and a ``ClusterMetrics`` and is bound
  to one node (``for_node`` makes a sibling bound to another node, sharing both).
  Every helper both records a span (or span event) and updates the catalogue's
  metrics, so the wiring never has to remember two things; the one exception is
  ``trace_raft_operation``, a span only: Raft's counters and latencies are per
  message and per entry, which servers count for every one, sampled or not
  (``cluster/telemetry.py``, ``cluster/server.py``), so metrics never depend on the
  trace sample.
- The operation helpers (``trace_btree_operation``, ``trace_raft_operation``,
  ``trace_distributed_query``, ``client_operation``) return a ``TracedOperation``:
  unpack it as ``(span, finish)`` in the style of the Go API this mirrors
  (``ctx, finish := TraceBTreeOperation(ctx, op, key)``), or use it as a context
  manager, which finishes it (with the error, if one escapes).
- ``ctx`` arguments accept a ``Span``, a ``TraceContext`` (what a message's
  envelope carries) or None (a new trace). With tracing off every span is the
  shared ``NOOP_SPAN``; metrics are still maintained.
- Faults: ``fault_hit`` takes a fault record as the run makes it (the runner watches
  the event log for ``harmonysim.runlog.faultmarks.SERVER_FAULT_KINDS``) and puts a
  span event on every span open on the server it hits, as a crash ends them.
- Module-level functions call the instance installed by ``use_instrumentation``
  (a context manager that restores the previous one); without one they do
  nothing, so a library can be instrumented unconditionally.

Example, instrumenting one's own component (a cache in front of the tree)::

    from harmonysim.obs import integration as obs

    def cached_get(ctx, key):
        with obs.trace_btree_operation(ctx, "get", key) as span:
            hit = key in cache
            span.set_attribute("cache.hit", hit)
            return cache[key] if hit else tree.get(key)

    with obs.use_instrumentation(Instrumentation.create(ids, clock_us, 0.1).for_node("n1")):
        cached_get(None, "k1")
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from types import TracebackType
from typing import Any, Final

from harmonysim.obs.catalogue import ClusterMetrics
from harmonysim.obs.metrics import CounterChild, GaugeChild, HistogramChild, Registry
from harmonysim.obs.tracing import (
    NOOP_SPAN,
    AttributeValue,
    Category,
    IdSource,
    Span,
    SpanKind,
    SpanSink,
    StatusCode,
    TraceContext,
    Tracer,
    _TracedSpan,
)
from harmonysim.runlog.faultmarks import fault_span_event, is_marked

__all__ = [
    "Instrumentation",
    "RaftOp",
    "TracedOperation",
    "current_instrumentation",
    "raft_span_name",
    "record_btree_split",
    "trace_btree_operation",
    "trace_distributed_query",
    "trace_raft_operation",
    "update_raft_state",
    "use_instrumentation",
]

Parent = Span | TraceContext | None


class RaftOp(StrEnum):
    """The Raft steps a write goes through on each server (§5.3, §5.4), and a read's
    ReadIndex round on the leader (§6.4)."""

    PROPOSE = "propose"
    APPEND = "append"
    PERSIST = "persist"
    COMMIT = "commit"
    APPLY = "apply"
    VOTE = "vote"
    SNAPSHOT = "snapshot"
    READ_INDEX = "read_index"


# Raft step (member or name) -> (name, span name, category): looked up per span,
# where calling the enum and formatting the name cost more than the rest of the helper.


def raft_span_name(op: RaftOp) -> str:
    """The name of the span of a Raft step, inline or derived from the log: ``raft.<op>``."""
    return f"raft.{op.value}"


# Final, as the other module-level names the helpers read per span: compiled, a Final
# name is a C static, any other module global a dictionary lookup on every read.
_RAFT_STEPS: Final[dict[str, tuple[str, str, Category]]] = {
    op.value: (
        op.value,
        raft_span_name(op),
        Category.STORAGE if op is RaftOp.PERSIST else Category.RAFT,
    )
    for op in RaftOp
}
_BTREE_SPAN_NAMES: Final[dict[str, str]] = {}
_BTREE: Final = Category.BTREE
_INTERNAL: Final = SpanKind.INTERNAL
_MAX_CACHED_OPS: Final = 256  # operation names are a handful; a bound in case a caller invents more


def _no_clock() -> int:
    return 0


class TracedOperation:
    """A started operation: a span, when it started, and what to update when it finishes.

    A plain class with its own ``__init__`` rather than a dataclass: a dataclass's
    generated ``__init__`` stays interpreted in the compiled build, and a traced run
    builds one of these per Raft step and B+ tree operation.
    """

    __slots__ = ("clock_us", "done", "on_finish", "span", "started_us")

    def __init__(
        self,
        span: Span,
        on_finish: Callable[[str, float], None] | None = None,
        clock_us: Callable[[], int] = _no_clock,
        started_us: int = 0,
    ) -> None:
        self.span = span
        self.on_finish = on_finish
        self.clock_us = clock_us
        self.started_us = started_us
        self.done = False

    def finish(self, error: BaseException | str | None = None, result: str | None = None) -> None:
        """End the span; ``error`` marks it (and keeps its trace); ``result`` labels metrics."""
        if self.done:
            return
        self.done = True
        span = self.span
        if error is None and type(span) is _TracedSpan:
            # set_ok, set_attribute and end inlined: this runs once per traced Raft step,
            # B+ tree operation and client operation.
            if span.status is not StatusCode.ERROR:
                span.status = StatusCode.OK
            if result is not None:
                span.attributes["result"] = result
            now_us = self.clock_us()
            if span.end_us is None:
                span.end_us = now_us
                span._tracer._finish(span)  # type: ignore[union-attr]
            if self.on_finish is not None:
                self.on_finish(result or "ok", (now_us - self.started_us) / 1e6)
            return
        if error is not None:
            message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
            span.set_error(message)
            outcome = result or "error"
        else:
            span.set_ok()
            outcome = result or "ok"
        if result is not None:
            span.set_attribute("result", result)
        now_us = self.clock_us()
        span.end(now_us)
        if self.on_finish is not None:
            self.on_finish(outcome, (now_us - self.started_us) / 1e6)

    def __iter__(self) -> Iterator[Any]:
        yield self.span
        yield self.finish

    def __enter__(self) -> Span:
        return self.span

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.finish(exc)


class Instrumentation:
    """A tracer and the metrics catalogue, bound to one node (see the module docstring)."""

    __slots__ = (
        "_applied_gauge",
        "_btree_finished",
        "_commit_gauge",
        "_delivered",
        "_leaders",
        "_roles",
        "_sent",
        "_state_gauges",
        "metrics",
        "node",
        "tracer",
    )

    def __init__(self, tracer: Tracer, metrics: ClusterMetrics, node: str = "") -> None:
        self.tracer = tracer
        # op -> what finishing a B+ tree operation updates (built once, not per span)
        self._btree_finished: dict[str, Callable[[str, float], None]] = {}
        self.metrics = metrics
        self.node = node
        self._leaders: dict[str, str | None] = {}
        self._roles: dict[str, str] = {}
        # message type -> this node's bound sent counter and its hop span names by
        # destination; message type -> bound delivered counter and latency histogram
        self._sent: dict[str, tuple[CounterChild, dict[str, str]]] = {}
        self._delivered: dict[str, tuple[CounterChild, HistogramChild]] = {}
        # This node's Raft state gauges, bound at their first update (the order series
        # are bound in is output): term, log length and peers; the commit and applied
        # indexes, each once it is first known. Every server state change sets them.
        self._state_gauges: tuple[GaugeChild, GaugeChild, GaugeChild] | None = None
        self._commit_gauge: GaugeChild | None = None
        self._applied_gauge: GaugeChild | None = None

    @classmethod
    def create(
        cls,
        ids: IdSource,
        clock_us: Callable[[], int],
        sample_ratio: float,
        *,
        registry: Registry | None = None,
        span_sink: SpanSink | None = None,
        max_buffered_spans: int = 4096,
        span_ids: IdSource | None = None,
    ) -> Instrumentation:
        """A tracer (trace ids from ``ids``, span ids from ``span_ids`` or ``ids``) and metrics."""
        tracer = Tracer(
            ids, clock_us, sample_ratio, span_sink, max_buffered_spans, span_ids=span_ids
        )
        return cls(tracer, ClusterMetrics(registry if registry is not None else Registry()))

    def for_node(self, node: str) -> Instrumentation:
        sibling = Instrumentation(self.tracer, self.metrics, node)
        sibling._leaders = self._leaders
        sibling._roles = self._roles
        return sibling

    def _timed(self, span: Span, on_finish: Callable[[str, float], None] | None) -> TracedOperation:
        clock_us = self.tracer.now_us
        # A recorded span started now: its start is the clock, read once.
        started_us = clock_us() if span is NOOP_SPAN else span.start_us
        return TracedOperation(span, on_finish, clock_us, started_us)

    # -- the B+ tree --------------------------------------------------------------------

    def trace_btree_operation(self, ctx: Parent, op: str, key: Any) -> TracedOperation:
        """A B+ tree get/put/delete below the apply of an entry."""
        name = _BTREE_SPAN_NAMES.get(op)
        if name is None:
            name = f"btree.{op}"
            if len(_BTREE_SPAN_NAMES) < _MAX_CACHED_OPS:
                _BTREE_SPAN_NAMES[op] = name
        span = self.tracer.start_span(
            name, ctx, self.node, _BTREE, _INTERNAL, {"btree.op": op, "btree.key": str(key)}
        )
        finished = self._btree_finished.get(op)
        if finished is None:
            counter = self.metrics.btree_operations
            node = self.node
            by_result: dict[str, CounterChild] = {}  # result -> its series, bound at first use

            def finished(result: str, elapsed_s: float) -> None:
                series = by_result.get(result)
                if series is None:
                    series = by_result[result] = counter.labels(node, op, result)
                series.inc()

            if len(self._btree_finished) < _MAX_CACHED_OPS:
                self._btree_finished[op] = finished
        return self._timed(span, finished)

    def record_btree_split(
        self, ctx: Parent, node_id: int, separator_key: Any, reason: str, node_kind: str = "leaf"
    ) -> None:
        """A split of tree node ``node_id`` at ``separator_key``: a span event and a count."""
        if isinstance(ctx, Span):
            ctx.add_event(
                "btree.split",
                {
                    "tree_node": node_id,
                    "separator": str(separator_key),
                    "reason": reason,
                    "node_kind": node_kind,
                },
            )
        self.metrics.btree_splits.labels(self.node, node_kind).inc()
        self.metrics.btree_nodes.labels(self.node).inc()

    def record_btree_merge(
        self, ctx: Parent, node_id: int, separator_key: Any, reason: str, node_kind: str = "leaf"
    ) -> None:
        if isinstance(ctx, Span):
            ctx.add_event(
                "btree.merge",
                {
                    "tree_node": node_id,
                    "separator": str(separator_key),
                    "reason": reason,
                    "node_kind": node_kind,
                },
            )
        self.metrics.btree_merges.labels(self.node, node_kind).inc()
        self.metrics.btree_nodes.labels(self.node).dec()

    def set_btree_shape(self, depth: int, nodes: int) -> None:
        """The tree's depth and node count, exactly (at a root change or a new start)."""
        self.metrics.btree_depth.labels(self.node).set(depth)
        self.metrics.btree_nodes.labels(self.node).set(nodes)

    # -- Raft ------------------------------------------------------------------------

    def trace_raft_operation(
        self, ctx: Parent, op: RaftOp | str, term: int, index: int | None = None
    ) -> TracedOperation:
        """A Raft step of an entry on this node (propose, append, commit, apply)."""
        step = _RAFT_STEPS.get(op)
        if step is None:
            step = _RAFT_STEPS[RaftOp(op)]  # ValueError for a name that is no Raft step
        op_name, span_name, category = step
        attributes: dict[str, AttributeValue] = (
            {"raft.op": op_name, "raft.term": term}
            if index is None
            else {"raft.op": op_name, "raft.term": term, "raft.index": index}
        )
        tracer = self.tracer
        span = tracer.start_span(span_name, ctx, self.node, category, _INTERNAL, attributes)
        # The metrics of these steps (AppendEntries by result, commit latency) are kept
        # by the server for every entry, traced or not (metrics never depend on the
        # trace sample), so the spans carry none. ``_timed`` inlined (a traced run
        # starts one of these per entry per server and step).
        clock_us = tracer.now_us
        return TracedOperation(
            span, None, clock_us, clock_us() if span is NOOP_SPAN else span.start_us
        )

    def update_raft_state(
        self,
        role: str,
        term: int,
        leader: str | None,
        log_length: int,
        peers: int,
        commit_index: int | None = None,
        applied_index: int | None = None,
    ) -> None:
        """Publish a server's Raft state (§5.1 role, term and leader; log; membership)."""
        metrics = self.metrics
        node = self.node
        previous_role = self._roles.get(node)
        if role != previous_role:
            metrics.set_role(node, role)
            self._roles[node] = role
            if role == "leader":
                metrics.raft_leader_changes.labels(node).inc()
        previous_leader = self._leaders.get(node)
        if leader != previous_leader:
            metrics.set_leader(node, leader, previous_leader)
            self._leaders[node] = leader
        gauges = self._state_gauges
        if gauges is None:
            gauges = self._state_gauges = (
                metrics.raft_term.labels(node),
                metrics.raft_log_length.labels(node),
                metrics.raft_peers.labels(node),
            )
        term_gauge, log_gauge, peers_gauge = gauges
        term_gauge.value = term
        log_gauge.value = log_length
        peers_gauge.value = peers
        if commit_index is not None:
            commit_gauge = self._commit_gauge
            if commit_gauge is None:
                commit_gauge = self._commit_gauge = metrics.raft_commit_index.labels(node)
            commit_gauge.value = commit_index
        if applied_index is not None:
            applied_gauge = self._applied_gauge
            if applied_gauge is None:
                applied_gauge = self._applied_gauge = metrics.raft_applied_index.labels(node)
            applied_gauge.value = applied_index

    def election_started(self, term: int, reason: str = "timeout", *, keep: bool = False) -> Span:
        """The root span of an election this node runs (§5.2); RequestVotes are its children.
        ``keep`` traces it whatever the sampler says."""
        return self.tracer.start_trace(
            "raft.election",
            self.node,
            Category.RAFT,
            attributes={"raft.term": term, "reason": reason},
            keep=keep,
        )

    def vote_received(self, election: Span, voter: str, granted: bool) -> None:
        election.add_event("vote", {"voter": voter, "granted": granted})

    def vote_granted(self, candidate: str, term: int) -> None:
        self.metrics.raft_votes_granted.labels(self.node).inc()

    def election_finished(self, election: Span, won: bool) -> None:
        result = "won" if won else "lost"
        election.set_attribute("raft.election.result", result)
        if won:
            election.set_ok()
        election.end()
        self.metrics.raft_elections.labels(self.node, result).inc()

    # -- the network -------------------------------------------------------------------

    def message_sent(self, ctx: Parent, dst: str, message_type: str, message_id: int) -> Span:
        """The hop span of one message (send to delivery); put its context on the envelope."""
        node = self.node
        try:
            sent, names = self._sent[message_type]
        except KeyError:  # bound once per message type: this runs for every traced message
            sent, names = self._sent[message_type] = (
                self.metrics.network_messages_sent.labels(node, message_type),
                {},
            )
        sent.inc()
        # The span name, one string per type and destination: built once, and its hash
        # (the encoder looks the name up) computed once.
        try:
            name = names[dst]
        except KeyError:
            name = f"{message_type} {node}->{dst}"
            if len(names) < _MAX_CACHED_OPS:
                names[dst] = name
        return self.tracer.start_span(
            name,
            ctx,
            node,
            Category.NETWORK,
            SpanKind.PRODUCER,
            {"message.id": message_id, "message.type": message_type, "net.peer": dst},
        )

    def message_delivered(self, hop: Span, message_type: str, latency_us: int) -> None:
        """Called on the receiving node; a duplicate's second delivery leaves the span alone."""
        try:
            delivered, latency = self._delivered[message_type]
        except KeyError:  # bound once per message type, as in message_sent
            metrics = self.metrics
            delivered, latency = self._delivered[message_type] = (
                metrics.network_messages_delivered.labels(self.node, message_type),
                metrics.network_message_latency.labels(message_type),
            )
        delivered.inc()
        latency.observe(latency_us / 1e6)
        hop.end()

    def message_dropped(self, hop: Span, message_type: str, reason: str) -> None:
        self.metrics.network_messages_dropped.labels(message_type, reason).inc()
        hop.add_event("drop", {"reason": reason})
        hop.end()

    def message_duplicated(self, hop: Span, message_type: str) -> None:
        self.metrics.network_messages_duplicated.labels(message_type).inc()
        hop.add_event("duplicate")

    # -- clients and queries -------------------------------------------------------------

    def client_operation(
        self, op: str, key: Any, *, request: int | None = None, keep: bool = False
    ) -> TracedOperation:
        """The root of a client operation's trace; finish with result ok / fail / info.
        ``request`` is the client's sequence number for it (the attribute ``kv.request``,
        which with the client's node names its rows in the history); ``keep`` traces it
        whatever the sampler says."""
        attributes: dict[str, AttributeValue] = {"kv.op": op, "kv.key": str(key)}
        if request is not None:
            attributes["kv.request"] = request
        span = self.tracer.start_trace(
            f"kv.{op}", self.node, Category.CLIENT, SpanKind.CLIENT, attributes, keep=keep
        )
        return self._timed(span, self._client_finished(op))

    def serve_request(self, ctx: Parent, op: str, key: Any) -> TracedOperation:
        """A server handling one client request, from its arrival to the reply."""
        span = self.tracer.start_span(
            f"serve {op}",
            ctx,
            self.node,
            Category.RAFT,
            SpanKind.SERVER,
            {"kv.op": op, "kv.key": str(key)},
        )
        return self._timed(span, None)

    def trace_distributed_query(self, ctx: Parent, query: str) -> TracedOperation:
        """A query fanned out across nodes; its hops and server spans are children."""
        span = self.tracer.start_span(
            "query", ctx, self.node, Category.CLIENT, SpanKind.CLIENT, {"db.statement": query}
        )
        return self._timed(span, self._client_finished("query"))

    def _client_finished(self, op: str) -> Callable[[str, float], None]:
        operations = self.metrics.client_operations
        latency = self.metrics.client_operation_latency

        def finished(result: str, elapsed_s: float) -> None:
            operations.labels(op, result).inc()
            latency.labels(op, result).observe(elapsed_s)

        return finished

    def fault(self, kind: str) -> None:
        self.metrics.faults.labels(kind).inc()

    def fault_hit(self, record: dict[str, Any]) -> None:
        """A fault record as the run makes it (``harmonysim.runlog.faultmarks``): a span
        event, named by ``fault_label`` with ``fault.kind`` and ``fault.node``, on every
        span open on the server it hits, as a crash ends that server's open spans."""
        if not self.tracer.enabled or not is_marked(record):
            return
        event = fault_span_event(record)
        if event is None:
            return
        hit, name, fields = event
        attributes: dict[str, AttributeValue] = dict(fields)
        for span in self.tracer.spans_open_on(hit):
            span.add_event(name, attributes)


# -- the module-level API ------------------------------------------------------------------

_current: Instrumentation | None = None


def current_instrumentation() -> Instrumentation | None:
    return _current


@contextmanager
def use_instrumentation(
    instrumentation: Instrumentation | None,
) -> Iterator[Instrumentation | None]:
    """Install ``instrumentation`` for the module-level functions, restoring the previous one."""
    global _current
    previous = _current
    _current = instrumentation
    try:
        yield instrumentation
    finally:
        _current = previous


def trace_btree_operation(ctx: Parent, op: str, key: Any) -> TracedOperation:
    if _current is None:
        return TracedOperation(NOOP_SPAN)
    return _current.trace_btree_operation(ctx, op, key)


def record_btree_split(ctx: Parent, node: int, separator_key: Any, reason: str) -> None:
    if _current is not None:
        _current.record_btree_split(ctx, node, separator_key, reason)


def trace_raft_operation(ctx: Parent, op: RaftOp | str, term: int) -> TracedOperation:
    if _current is None:
        return TracedOperation(NOOP_SPAN)
    return _current.trace_raft_operation(ctx, op, term)


def update_raft_state(
    role: str, term: int, leader: str | None, log_length: int, peers: int
) -> None:
    if _current is not None:
        _current.update_raft_state(role, term, leader, log_length, peers)


def trace_distributed_query(ctx: Parent, query: str) -> TracedOperation:
    if _current is None:
        return TracedOperation(NOOP_SPAN)
    return _current.trace_distributed_query(ctx, query)
