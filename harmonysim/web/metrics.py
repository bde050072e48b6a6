"""``/metrics``: the served runs' state in the Prometheus text exposition format.

Rules:
- Built with ``prometheus_client``'s custom-collector API on a fresh registry per
  scrape: families are computed from the run indexes at scrape time, and no
  process-global registry is touched.
- Only runs already indexed (opened in the dashboard, or the live run) are
  exported: a scrape never triggers loading a large run folder.
- Every run is a ``run`` label; per-node series add ``node``. Series are emitted
  with sorted label values, so two scrapes of the same state are identical.
- Names follow Prometheus conventions: ``_total`` for counters, units last
  (``_milliseconds``), and virtual time, not wall time.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from harmonysim.web.catalog import RunCatalog
from harmonysim.web.index import Health, Outcome, RunIndex

__all__ = ["CONTENT_TYPE", "render_metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS_MS = (1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0)


class _RunsCollector(Collector):
    def __init__(self, catalog: RunCatalog) -> None:
        self.catalog = catalog

    def collect(self) -> Iterator[Metric]:
        loaded: list[tuple[str, RunIndex]] = []
        for run_id in sorted(self.catalog.entries):
            entry = self.catalog.entries[run_id]
            if entry.loaded or entry.live is not None:
                loaded.append((run_id, entry.index()))
        runs = GaugeMetricFamily("harmonysim_dashboard_runs", "Runs this dashboard serves")
        runs.add_metric([], float(len(self.catalog.entries)))
        yield runs
        families = _Families()
        for run_id, index in loaded:
            with index.lock:
                families.add(run_id, index)
        yield from families.all()


class _Families:
    def __init__(self) -> None:
        run, node = ["run"], ["run", "node"]
        self.events = CounterMetricFamily(
            "harmonysim_events", "Simulated events by kind", labels=[*run, "kind"]
        )
        self.virtual = GaugeMetricFamily(
            "harmonysim_virtual_time_milliseconds", "Virtual time reached", labels=run
        )
        self.term = GaugeMetricFamily("harmonysim_node_term", "Current Raft term", labels=node)
        self.commit = GaugeMetricFamily(
            "harmonysim_node_commit_index", "Highest log index known committed", labels=node
        )
        self.applied = GaugeMetricFamily(
            "harmonysim_node_applied_index", "Highest log index applied", labels=node
        )
        self.last = GaugeMetricFamily(
            "harmonysim_node_last_log_index", "Last index of the stable log", labels=node
        )
        self.up = GaugeMetricFamily("harmonysim_node_up", "1 if the node's host runs", labels=node)
        self.leader = GaugeMetricFamily(
            "harmonysim_node_is_leader", "1 if the node leads", labels=node
        )
        self.ops = CounterMetricFamily(
            "harmonysim_client_operations",
            "Completed client operations",
            labels=[*run, "f", "outcome"],
        )
        self.latency = HistogramMetricFamily(
            "harmonysim_client_latency_milliseconds",
            "Client operation latency (virtual)",
            labels=[*run, "f"],
        )

    def add(self, run_id: str, index: RunIndex) -> None:
        for kind in sorted(index.kind_counts):
            self.events.add_metric([run_id, kind], float(index.kind_counts[kind]))
        self.virtual.add_metric([run_id], index.end_ms)
        state = index.state_at(index.end_ms)
        leader = state.leader
        for node in sorted(state.nodes):
            node_state = state.nodes[node]
            labels = [run_id, node]
            self.term.add_metric(labels, float(node_state.term))
            self.commit.add_metric(labels, float(node_state.commit_index))
            self.applied.add_metric(labels, float(node_state.applied_index))
            self.last.add_metric(labels, float(node_state.last_index))
            self.up.add_metric(labels, 1.0 if node_state.health is Health.UP else 0.0)
            self.leader.add_metric(labels, 1.0 if node == leader else 0.0)
        outcomes: dict[tuple[str, str], int] = {}
        latencies: dict[str, list[float]] = {}
        for op in index.ops:
            if op.outcome is Outcome.PENDING:
                continue
            key = (op.f, op.outcome.value)
            outcomes[key] = outcomes.get(key, 0) + 1
            if op.outcome is Outcome.OK and op.latency_ms is not None:
                latencies.setdefault(op.f, []).append(op.latency_ms)
        for f, outcome in sorted(outcomes):
            self.ops.add_metric([run_id, f, outcome], float(outcomes[(f, outcome)]))
        for f in sorted(latencies):
            values = latencies[f]
            buckets: list[tuple[str, float]] = [
                (str(bound), float(sum(1 for v in values if v <= bound)))
                for bound in LATENCY_BUCKETS_MS
            ]
            buckets.append(("+Inf", float(len(values))))
            self.latency.add_metric([run_id, f], buckets, sum_value=sum(values))

    def all(self) -> Iterator[Metric]:
        yield from (
            self.events,
            self.virtual,
            self.term,
            self.commit,
            self.applied,
            self.last,
            self.up,
            self.leader,
            self.ops,
            self.latency,
        )


def render_metrics(catalog: RunCatalog) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_RunsCollector(catalog))
    return generate_latest(registry)
