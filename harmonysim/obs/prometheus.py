"""Prometheus text exposition and OpenMetrics, through prometheus_client's own exposition code.

Rules:
- ``FamiliesCollector`` is a custom collector: it yields prometheus_client metric
  families built from a snapshot of our metrics, and the text is produced by
  ``prometheus_client.exposition.generate_latest`` (or the OpenMetrics
  ``generate_latest``) on a fresh ``CollectorRegistry`` holding only it, so no
  process or platform metrics leak in.
- Deterministic: families are emitted in catalogue order, series in binding
  order, and no ``_created`` samples (they would carry wall-clock times).
- Counter families are named without ``_total`` (prometheus_client appends it);
  histograms get cumulative ``_bucket{le=...}`` series ending at ``+Inf``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from harmonysim.obs.metrics import MetricType
from harmonysim.obs.otlp import MetricFamily

__all__ = ["FamiliesCollector", "openmetrics_text", "prometheus_text"]


def _bound(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(float(bound))


class FamiliesCollector:
    """A prometheus_client collector over a fixed snapshot of metric families."""

    def __init__(self, families: Sequence[MetricFamily]) -> None:
        self._families = tuple(families)

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        for family in self._families:
            if not family.samples:
                continue
            labels = [name for name, _ in family.samples[0].labels]
            metric: CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily
            if family.type is MetricType.COUNTER:
                metric = CounterMetricFamily(
                    family.name.removesuffix("_total"), family.help, labels=labels, unit=""
                )
                for sample in family.samples:
                    metric.add_metric([value for _, value in sample.labels], float(sample.value))
            elif family.type is MetricType.GAUGE:
                metric = GaugeMetricFamily(family.name, family.help, labels=labels)
                for sample in family.samples:
                    metric.add_metric([value for _, value in sample.labels], float(sample.value))
            else:
                metric = HistogramMetricFamily(family.name, family.help, labels=labels)
                for sample in family.samples:
                    metric.add_metric(
                        [value for _, value in sample.labels],
                        [(_bound(bound), float(count)) for bound, count in sample.buckets],
                        float(sample.sum),
                    )
            yield metric


def _registry(families: Sequence[MetricFamily]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FamiliesCollector(families))
    return registry


def prometheus_text(families: Sequence[MetricFamily]) -> bytes:
    """Prometheus text format 0.0.4."""
    return generate_latest(_registry(families))


def openmetrics_text(families: Sequence[MetricFamily]) -> bytes:
    """OpenMetrics 1.0 text (ends with ``# EOF``)."""
    text: bytes = generate_openmetrics(_registry(families))  # type: ignore[no-untyped-call]
    return text
