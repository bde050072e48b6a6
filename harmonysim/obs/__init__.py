"""Observability on the virtual clock: tracing, metrics, and exporters for the usual tools.

This layer imports nothing else from harmonysim (it sits below ``sim/``): ids and
time are passed in, so the same seed yields the same traces and samples.

Modules:
- ``tracing``: ``TraceContext``, ``Span``, ``Tracer`` (head sampling from the trace
  id, error traces always kept, bounded retention).
- ``metrics`` and ``catalogue``: counters, gauges, histograms with pre-bound label
  children; ``ClusterMetrics`` is the one list of metrics the cluster maintains.
- ``integration``: ``Instrumentation`` (tracer + metrics bound to a node) with one
  helper per thing worth observing, and the module-level Go-style API.
- ``derive``: metrics and traces rebuilt from ``events.jsonl``.
- ``otlp``, ``prometheus``, ``perfetto``, ``zipkin``, ``shiviz``: the formats;
  ``export.export_run`` writes them for a run folder; ``otlp.push_otlp`` sends
  OTLP/HTTP JSON to a collector. ``bench``: overhead figures.

How to wire (a few lines in the runner, the network and the server):

1. Runner: open ``traces.otlp.jsonl`` and ``metrics.jsonl``; build
   ``instr = Instrumentation.create(world.rng.ids("trace"), world.now_us,
   scenario_sample_ratio, registry=Registry(metrics_file),
   span_sink=OtlpSpanWriter(traces_file))``; give each server and client
   ``instr.for_node(node_id)``; start a virtual timer that calls
   ``instr.metrics.registry.sample(world.now_us())`` every N ms; at the end call
   ``instr.tracer.flush()`` and ``registry.sample(...)`` once more.
2. Client: ``op = instr.client_operation(f, key)`` at invoke; send requests with
   ``trace=instr.message_sent(op.span, server, "ClientRequest", id)``;
   ``op.finish(result="ok" | "fail" | "info")`` at completion (``error=`` for info).
3. Network: ``hop = envelope.trace``; on delivery
   ``instr.for_node(dst).message_delivered(hop, type, now - sent_at_us)``; on drop
   ``message_dropped(hop, type, reason)``; on duplicate ``message_duplicated``.
   Messages the server sends carry ``instr.message_sent(parent, dst, type, id)``
   with the span of the request that caused them (or None).
4. Server: wrap propose/append/commit/apply in ``instr.trace_raft_operation``,
   the B+ tree call in ``instr.trace_btree_operation``, call
   ``record_btree_split`` from the tree observer, ``update_raft_state`` after each
   Ready, and ``election_started`` / ``vote_received`` / ``election_finished``
   around elections (§5.2).
5. Checkers: ``instr.tracer.force_keep(trace_id)`` for traces that touched a
   failed check, so they are exported whatever the sampler said.
6. CLI: register ``harmonysim.cli.export``; ``bench tracing`` calls
   ``obs.bench.bench_metrics`` and ``obs.bench.bench_tracing``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harmonysim.lazy import lazy_exports

if TYPE_CHECKING:
    from harmonysim.obs.catalogue import ClusterMetrics
    from harmonysim.obs.derive import metrics_from_events, spans_from_events
    from harmonysim.obs.export import ExportError, ExportFormat, export_run
    from harmonysim.obs.integration import Instrumentation, TracedOperation, use_instrumentation
    from harmonysim.obs.metrics import Counter, Gauge, Histogram, Registry
    from harmonysim.obs.otlp import OtlpSpanWriter, push_otlp
    from harmonysim.obs.tracing import (
        NOOP_SPAN,
        Category,
        IdSource,
        Span,
        SpanKind,
        StatusCode,
        TraceContext,
        Tracer,
    )

# The names above are loaded on first use (PEP 562), so importing one module of this
# layer (the run needs ``tracing``, the command line's parser its default sample ratio)
# does not import every exporter with it: ``export`` pulls in ``prometheus_client``,
# ``derive``, Perfetto, Zipkin and ShiViz.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "catalogue": ("ClusterMetrics",),
    "derive": ("metrics_from_events", "spans_from_events"),
    "export": ("ExportError", "ExportFormat", "export_run"),
    "integration": ("Instrumentation", "TracedOperation", "use_instrumentation"),
    "metrics": ("Counter", "Gauge", "Histogram", "Registry"),
    "otlp": ("OtlpSpanWriter", "push_otlp"),
    "tracing": (
        *("NOOP_SPAN", "Category", "IdSource", "Span", "SpanKind", "StatusCode"),
        *("TraceContext", "Tracer"),
    ),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


__all__ = [
    "NOOP_SPAN",
    "Category",
    "ClusterMetrics",
    "Counter",
    "ExportError",
    "ExportFormat",
    "Gauge",
    "Histogram",
    "IdSource",
    "Instrumentation",
    "OtlpSpanWriter",
    "Registry",
    "Span",
    "SpanKind",
    "StatusCode",
    "TraceContext",
    "TracedOperation",
    "Tracer",
    "export_run",
    "metrics_from_events",
    "push_otlp",
    "spans_from_events",
    "use_instrumentation",
]
