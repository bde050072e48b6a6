"""Tracing and metrics of one run, wired into the network, the servers and the clients.

Rules:
- Telemetry observes; it never changes what is simulated. It draws its ids from
  its own RNG substream (``ids/trace``) and its sampling timer emits no events,
  so a run's event log (and ``event_hash``) is the same with tracing on, off or
  sampled (a test holds this).
- Every message carries, in ``Envelope.trace``, the span of its hop (send to
  delivery) whose parent is the context the sender gave: a client operation, a
  Raft step of the entries in it, an election. Messages sent for no traced reason
  (heartbeats, say) carry nothing and build no span, but are still counted.
- ``sample_ratio`` 0 turns tracing off (no span objects at all); metrics stay on.
- Trace ids have their stream (``ids/trace``), span ids another (``ids/span``):
  only roots (client operations, elections) draw trace ids, and they happen
  whatever is traced, so a run's trace ids and sampling decisions are the same
  however many spans it builds. ``keep`` names client requests and election terms
  traced whatever the sampler says: a run replayed to keep what a failure touched
  (``harmonysim.runner``) keeps the same sampled traces and those.
- Telemetry is built on a world before its cluster, and given to it
  (``Cluster(world, scenario, telemetry)``): the cluster hands each server incarnation
  its ``ServerTelemetry`` (``server_observer``) and each client this object. Nothing
  finds it through the world. It observes what the world holds itself (the network,
  the disks, the clock); built on a world that already has nodes (a cluster built
  without it), it raises ``TelemetryOrderError``.
- Host and disk metrics come from the hosts, as an operator's node exporter sees the
  machine: ``harmonysim_node_up`` and the clock skew are read from the hosts before
  every sample; fsync latency is reported by each disk as an fsync completes (from its
  ``disk.fsync`` to its ``disk.synced``; a crash forgets the ones in flight).
- Files, in the run folder: ``traces.otlp.jsonl`` (spans streamed in batches as
  they finish, OTLP/JSON) and ``metrics.jsonl`` (samples every
  ``sample_every_ms`` of virtual time); at the end ``metrics.prom`` and
  ``metrics.otlp.jsonl`` from the final values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import orjson
import simpy

from harmonysim.cluster.server_telemetry import ServerTelemetry
from harmonysim.obs import NOOP_SPAN, Instrumentation, OtlpSpanWriter, Registry
from harmonysim.obs.metrics import CounterChild, HistogramChild
from harmonysim.obs.otlp import encode_metrics, families_from_registry
from harmonysim.obs.prometheus import prometheus_text
from harmonysim.obs.tracing import RandomIds
from harmonysim.raft import AppendEntriesResponse, Entry
from harmonysim.runlog.folder import RunFolder

if TYPE_CHECKING:
    from harmonysim.sim.network import Envelope
    from harmonysim.sim.world import World

__all__ = ["KeptTraces", "Telemetry", "TelemetryOrderError"]

TRACES_FILE = RunFolder.TRACES
TRACE_ID_STREAM = "ids/trace"
SPAN_ID_STREAM = "ids/span"
REPLICATION_WINDOW = 50_000
"""Leader writes remembered for the replication latency: a follower further behind is
catching up (or gets a snapshot), not replicating."""
METRICS_FILE = RunFolder.METRICS
METRICS_OTLP_FILE = RunFolder.METRICS_OTLP
METRICS_PROM_FILE = RunFolder.METRICS_PROM


@dataclass(frozen=True, slots=True)
class KeptTraces:
    """Traces kept whatever the sampler says: client requests as ``(client, seq)``, and
    the elections of the listed terms, each in order of interest (the first are what a
    failed check named)."""

    requests: tuple[tuple[str, int], ...] = ()
    terms: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.requests or self.terms)


class TelemetryOrderError(ValueError):
    """Telemetry and a cluster put together in an order that would leave part unobserved."""


class Telemetry:
    """The run's tracer and metrics, and the network's observer (``NetworkObserver``)."""

    def __init__(
        self,
        world: World,
        out_dir: Path | None,
        sample_ratio: float,
        sample_every_ms: float = 1000.0,
        *,
        keep: KeptTraces | None = None,
    ) -> None:
        if world.nodes:
            nodes = ", ".join(sorted(world.nodes))
            raise TelemetryOrderError(
                f"Telemetry built on a world that already has nodes ({nodes}): build it "
                "first and give it to the cluster, Cluster(world, scenario, telemetry)"
            )
        self.world = world
        self.kept = keep if keep is not None else KeptTraces()
        self._kept_requests = frozenset(self.kept.requests)
        self._kept_terms = frozenset(self.kept.terms)
        # the trace ids (hex) of what ``keep`` named: requests by (client, seq), elections
        # by (candidate, the term it campaigned for)
        self.kept_request_ids: dict[tuple[str, int], str] = {}
        self.kept_election_ids: dict[tuple[str, int], str] = {}
        self.out_dir = out_dir
        self._files: list[IO[bytes]] = []
        span_sink = None
        metrics_sink = None
        if out_dir is not None:
            traces = (out_dir / TRACES_FILE).open("wb")
            metrics = (out_dir / METRICS_FILE).open("wb")
            self._files = [traces, metrics]
            span_sink = OtlpSpanWriter(traces)
            metrics_sink = metrics
        env = world.env
        self.instrumentation = Instrumentation.create(
            # The stream ``world.rng.ids("trace")`` draws from, as the tracer's fast id
            # source (the same ids: tests/cluster/test_tracing.py).
            RandomIds(world.rng.stream(TRACE_ID_STREAM)),
            # The virtual clock in whole microseconds (simpy's ``now``, read without the
            # property: spans read it twice each), as the event log reads it.
            partial(getattr, env, "_now"),
            sample_ratio,
            registry=Registry(metrics_sink),
            span_sink=span_sink,
            span_ids=RandomIds(world.rng.stream(SPAN_ID_STREAM)),
            # No ring of recent spans: nothing reads one during a run (every kept span
            # goes to the sink), and holding thousands of finished spans alive made
            # every span slower (cache misses, and their deallocation on eviction).
            max_buffered_spans=0,
        )
        self.tracing = sample_ratio > 0
        self._nodes: dict[str, Instrumentation] = {}
        # index -> (leader, term, µs) of the latest leader write of each recent index
        self._leader_writes: dict[int, tuple[str, int, int]] = {}
        self._replication: dict[str, Any] = {}  # follower -> its bound latency histogram
        # Untraced messages are counted on series bound once (a ``labels`` lookup per
        # message was about 3% of a pure run), and counted by ``value += 1`` rather than
        # ``inc()`` (one call less per message): (node, message type) -> the sent or
        # delivered counter (the latter with the type's latency histogram), (node,
        # result) -> the AppendEntries answers, node -> fsync latency. Each is bound at
        # its first use, as before, so series keep their order.
        self._sent_counts: dict[tuple[str, type], CounterChild] = {}
        self._delivered_counts: dict[tuple[str, type], tuple[CounterChild, HistogramChild]] = {}
        self._append_results: dict[tuple[str, str], CounterChild] = {}
        self._fsync_latency: dict[str, HistogramChild] = {}
        self._sample_every_us = max(1, round(sample_every_ms * 1000.0))
        world.network.observer = self
        # Disks report fsync latency themselves: watching disk events would make the log
        # build a record for each of them (measured: about 2% of a run).
        world.on_fsync_synced = self._fsync_synced
        env.process(self._sampler())

    def server_observer(self, node: str) -> ServerTelemetry:
        """The spans and metrics of a server incarnation starting on ``node``."""
        return ServerTelemetry(self, node)

    # -- replication latency ----------------------------------------------------------

    def entries_persisted(
        self, node: str, leader: bool, entries: Sequence[Entry], now_us: int
    ) -> None:
        """Entries became durable on ``node``: a leader's writes start the clock, a
        follower's persisting of the same (index, term) stops it (the replication
        latency histogram; ``harmonysim.obs.derive`` measures it so from the log)."""
        writes = self._leader_writes
        if leader:
            for entry in entries:
                writes[entry.index] = (node, entry.term, now_us)
            if len(writes) > 2 * REPLICATION_WINDOW:  # bounded: forget the oldest half
                horizon = entries[-1].index - REPLICATION_WINDOW
                self._leader_writes = {i: w for i, w in writes.items() if i > horizon}
            return
        histogram = self._replication.get(node)
        if histogram is None:
            metrics = self.instrumentation.metrics
            histogram = self._replication[node] = metrics.raft_replication_latency.labels(node)
        for entry in entries:
            written = writes.get(entry.index)
            if written is not None and written[1] == entry.term and written[0] != node:
                histogram.observe((now_us - written[2]) / 1e6)

    def keeps_request(self, client: str, seq: int) -> bool:
        """Whether the trace of ``client``'s request ``seq`` is kept whatever is sampled."""
        return (client, seq) in self._kept_requests

    def keeps_election(self, term: int) -> bool:
        """Whether elections of ``term`` are traced whatever is sampled."""
        return term in self._kept_terms

    def kept_request(self, client: str, seq: int, trace_id: int) -> None:
        """The kept request ``(client, seq)`` is trace ``trace_id`` (``kept_request_ids``)."""
        self.kept_request_ids.setdefault((client, seq), f"{trace_id:032x}")

    def kept_election(self, node: str, term: int, trace_id: int) -> None:
        """``node``'s kept election for ``term`` is ``trace_id`` (``kept_election_ids``)."""
        self.kept_election_ids.setdefault((node, term), f"{trace_id:032x}")

    def for_node(self, node: str) -> Instrumentation:
        instrumentation = self._nodes.get(node)
        if instrumentation is None:
            instrumentation = self._nodes[node] = self.instrumentation.for_node(node)
        return instrumentation

    def _sampler(self) -> Any:
        env = self.world.env
        registry = self.instrumentation.metrics.registry
        while True:
            yield simpy.Timeout(env, self._sample_every_us)
            self._hosts_up()
            registry.sample(int(env.now))

    def _hosts_up(self) -> None:
        """Set ``harmonysim_node_up`` and ``harmonysim_clock_skew_seconds`` from the hosts
        (sorted ids: binding order is output)."""
        metrics = self.instrumentation.metrics
        node_up, clock_skew = metrics.node_up, metrics.clock_skew
        nodes = self.world.nodes
        now_us = int(self.world.env.now)
        for node_id in sorted(nodes):
            host = nodes[node_id]
            node_up.labels(node_id).set(1 if host.up and not host.paused else 0)
            clock_skew.labels(node_id).set((host.wall_us - now_us) / 1e6)

    def _fsync_synced(self, node: str, latency_us: int) -> None:
        histogram = self._fsync_latency.get(node)
        if histogram is None:
            metrics = self.instrumentation.metrics
            histogram = self._fsync_latency[node] = metrics.disk_fsync_latency.labels(node)
        histogram.observe(latency_us / 1e6)

    # -- the network's observer ----------------------------------------------------------

    def sent(self, src: str, dst: str, payload: Any, message_id: int, parent: Any) -> Any:
        message_type = type(payload)
        if message_type is AppendEntriesResponse:
            # A follower's answer says how it handled an AppendEntries.
            result = "ok" if payload.success else "stale" if payload.stale else "reject"
            answers = self._append_results.get((src, result))
            if answers is None:
                metrics = self.instrumentation.metrics
                answers = self._append_results[src, result] = metrics.raft_append_entries.labels(
                    src, result
                )
            answers.value += 1
        if parent is None:
            sent = self._sent_counts.get((src, message_type))
            if sent is None:
                metrics = self.instrumentation.metrics
                sent = self._sent_counts[src, message_type] = metrics.network_messages_sent.labels(
                    src, message_type.__name__
                )
            sent.value += 1
            return None
        hop = self.for_node(src).message_sent(parent, dst, message_type.__name__, message_id)
        return None if hop is NOOP_SPAN else hop

    def delivered(self, envelope: Envelope, now_us: int) -> None:
        hop = envelope.trace
        message_type = type(envelope.payload)
        if hop is None:
            dst = envelope.dst
            series = self._delivered_counts.get((dst, message_type))
            if series is None:
                metrics = self.instrumentation.metrics
                kind = message_type.__name__
                series = self._delivered_counts[dst, message_type] = (
                    metrics.network_messages_delivered.labels(dst, kind),
                    metrics.network_message_latency.labels(kind),
                )
            delivered, latency = series
            delivered.value += 1
            latency.observe((now_us - envelope.sent_at_us) / 1e6)
        else:
            self.for_node(envelope.dst).message_delivered(
                hop, message_type.__name__, now_us - envelope.sent_at_us
            )

    def dropped(self, src: str, dst: str, payload: Any, hop: Any, reason: str) -> None:
        kind = type(payload).__name__
        if hop is None:
            self.instrumentation.metrics.network_messages_dropped.labels(kind, reason).inc()
        else:
            self.for_node(src).message_dropped(hop, kind, reason)

    def duplicated(self, src: str, dst: str, payload: Any, hop: Any) -> None:
        kind = type(payload).__name__
        if hop is None:
            self.instrumentation.metrics.network_messages_duplicated.labels(kind).inc()
        else:
            self.for_node(src).message_duplicated(hop, kind)

    # -- the end of the run ------------------------------------------------------------

    def finish(self) -> None:
        """Final metric sample, flush spans, write the end-of-run metric files."""
        now_us = int(self.world.env.now)
        instrumentation = self.instrumentation
        metrics = instrumentation.metrics
        for kind, count in sorted(self.world.faults.counts.items()):
            metrics.faults.labels(kind).inc(count)
        registry = metrics.registry
        self._hosts_up()
        registry.sample(now_us)
        # Operations still in flight when the run stops end here, marked unfinished,
        # so every exported span has its parent.
        instrumentation.tracer.end_open_spans("run ended", now_us)
        instrumentation.tracer.flush()
        for handle in self._files:
            handle.close()
        if self.out_dir is not None:
            families = families_from_registry(registry)
            (self.out_dir / METRICS_OTLP_FILE).write_bytes(
                orjson.dumps(encode_metrics(families, now_us)) + b"\n"
            )
            (self.out_dir / METRICS_PROM_FILE).write_bytes(prometheus_text(families))
