"""Counters, gauges and histograms with labels, updated inline and sampled on the virtual clock.

Rules:
- Names follow Prometheus conventions: the ``harmonysim_`` prefix, base units
  last (``_seconds``, ``_bytes``), and ``_total`` on every counter. The registry
  refuses anything else, so every exporter can use the names as they are.
- The update path is one method call on a pre-bound child: ``labels(...)``
  resolves a label tuple to a ``__slots__`` child once, and the wiring keeps the
  child. ``inc``/``set``/``observe`` then touch one or two attributes and build
  no dict.
- Series are reported in a deterministic order: metrics in registration order,
  children in the order their label values were first bound (the simulation
  binds them deterministically).
- ``Registry.sample(now_us)`` writes one JSON object per series to the sink
  (``metrics.jsonl``): ``t`` (virtual ms, three decimals), ``name``, ``labels``,
  then ``value``, or for histograms ``count``, ``sum`` and cumulative
  ``buckets`` as ``[upper_bound, count]`` pairs (the last bound is ``"+Inf"``).
  Samples stream out; only current values stay in memory.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import IO, Any, ClassVar

import orjson

__all__ = [
    "Counter",
    "CounterChild",
    "Gauge",
    "GaugeChild",
    "Histogram",
    "HistogramChild",
    "Metric",
    "MetricType",
    "Registry",
    "Sample",
]

_NAME = re.compile(r"^harmonysim_[a-z][a-z0-9_]*$")
_LABEL = re.compile(r"^[a-z_][a-z0-9_]*$")
_UNIT_SUFFIXES = ("_seconds", "_bytes", "_ratio", "_total", "_info")

Number = int | float


class MetricType(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


class CounterChild:
    """One labelled series of a counter."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: Number = 0

    def inc(self, amount: Number = 1) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        self.value += amount


class GaugeChild:
    """One labelled series of a gauge."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: Number = 0

    def set(self, value: Number) -> None:
        self.value = value

    def inc(self, amount: Number = 1) -> None:
        self.value += amount

    def dec(self, amount: Number = 1) -> None:
        self.value -= amount


class HistogramChild:
    """One labelled series of a histogram: per-bucket counts (not cumulative), sum, count."""

    __slots__ = ("bounds", "count", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.count = 0
        self.sum: float = 0.0

    def observe(self, value: float) -> None:
        # bisect_left: a value equal to a bound falls in that bound's bucket (le).
        self.counts[bisect_left(self.bounds, value)] += 1
        self.count += 1
        self.sum += value

    def cumulative(self) -> list[int]:
        total = 0
        out = []
        for count in self.counts:
            total += count
            out.append(total)
        return out


@dataclass(frozen=True, slots=True)
class Sample:
    """A snapshot of one series, for exporters."""

    name: str
    labels: tuple[tuple[str, str], ...]
    value: Number = 0
    count: int = 0
    sum: float = 0.0
    buckets: tuple[tuple[float, int], ...] = ()


class Metric:
    """A named metric with label names; ``labels(...)`` binds a child series."""

    __slots__ = ("_children", "help", "label_names", "name", "unit")

    type: ClassVar[MetricType]

    def __init__(self, name: str, help: str, label_names: Sequence[str] = ()) -> None:
        _check_name(name, self.type)
        for label in label_names:
            if not _LABEL.match(label) or label.startswith("__"):
                raise ValueError(f"{name}: bad label name {label!r}")
        if len(set(label_names)) != len(label_names):
            raise ValueError(f"{name}: repeated label names {label_names}")
        self.name = name
        self.help = help
        self.label_names = tuple(label_names)
        self.unit = _unit_of(name)
        self._children: dict[tuple[str, ...], Any] = {}

    def _new_child(self) -> Any:
        raise NotImplementedError

    def _bind(self, values: tuple[str, ...]) -> Any:
        child = self._children.get(values)
        if child is None:
            if len(values) != len(self.label_names):
                raise ValueError(
                    f"{self.name}: expected labels {self.label_names}, got {len(values)} values"
                )
            child = self._children[values] = self._new_child()
        return child

    def series(self) -> Iterator[tuple[tuple[str, ...], Any]]:
        """(label values, child) in the order the children were first bound."""
        return iter(self._children.items())

    def labelled(self, values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        return tuple(zip(self.label_names, values, strict=True))

    def remove(self, *values: str) -> None:
        """Forget one series (a node removed from the cluster)."""
        self._children.pop(tuple(values), None)

    def samples(self) -> Iterator[Sample]:
        for values, child in self.series():
            yield Sample(self.name, self.labelled(values), value=child.value)


class Counter(Metric):
    __slots__ = ()
    type: ClassVar[MetricType] = MetricType.COUNTER

    def labels(self, *values: str) -> CounterChild:
        child: CounterChild = self._bind(values)
        return child

    def _new_child(self) -> CounterChild:
        return CounterChild()


class Gauge(Metric):
    __slots__ = ()
    type: ClassVar[MetricType] = MetricType.GAUGE

    def labels(self, *values: str) -> GaugeChild:
        child: GaugeChild = self._bind(values)
        return child

    def _new_child(self) -> GaugeChild:
        return GaugeChild()


class Histogram(Metric):
    __slots__ = ("bounds",)
    type: ClassVar[MetricType] = MetricType.HISTOGRAM

    def __init__(
        self, name: str, help: str, label_names: Sequence[str], bounds: Sequence[float]
    ) -> None:
        if not bounds or list(bounds) != sorted(set(bounds)):
            raise ValueError(f"{name}: bucket bounds must be increasing and distinct")
        super().__init__(name, help, label_names)
        self.bounds = tuple(float(bound) for bound in bounds)

    def labels(self, *values: str) -> HistogramChild:
        child: HistogramChild = self._bind(values)
        return child

    def _new_child(self) -> HistogramChild:
        return HistogramChild(self.bounds)

    def samples(self) -> Iterator[Sample]:
        bounds = (*self.bounds, float("inf"))
        for values, child in self.series():
            yield Sample(
                self.name,
                self.labelled(values),
                count=child.count,
                sum=child.sum,
                buckets=tuple(zip(bounds, child.cumulative(), strict=True)),
            )


def _check_name(name: str, kind: MetricType) -> None:
    if not _NAME.match(name):
        raise ValueError(f"metric name {name!r} must match {_NAME.pattern}")
    if kind is MetricType.COUNTER and not name.endswith("_total"):
        raise ValueError(f"counter {name!r} must end in _total")
    if kind is not MetricType.COUNTER and name.endswith("_total"):
        raise ValueError(f"only counters end in _total, not {name!r}")
    for bad in ("_ms", "_milliseconds", "_us", "_microseconds", "_kb", "_mb"):
        if name.endswith(bad) or f"{bad}_" in name:
            raise ValueError(f"{name!r}: use base units (seconds, bytes), not {bad[1:]}")


def _unit_of(name: str) -> str:
    base = name.removesuffix("_total")
    for unit in ("seconds", "bytes", "ratio"):
        if base.endswith("_" + unit):
            return unit
    return ""


class Registry:
    """The metrics of one run, in registration order, with a sampler for ``metrics.jsonl``."""

    __slots__ = ("_metrics", "samples_written", "sink")

    def __init__(self, sink: IO[bytes] | None = None) -> None:
        self._metrics: dict[str, Metric] = {}
        self.sink = sink
        self.samples_written = 0

    def _add(self, metric: Metric) -> Metric:
        existing = self._metrics.get(metric.name)
        if existing is not None:
            if existing.type is not metric.type or existing.label_names != metric.label_names:
                raise ValueError(f"metric {metric.name!r} already registered differently")
            return existing
        self._metrics[metric.name] = metric
        return metric

    def counter(self, name: str, help: str, labels: Sequence[str] = ()) -> Counter:
        metric = self._add(Counter(name, help, labels))
        assert isinstance(metric, Counter)
        return metric

    def gauge(self, name: str, help: str, labels: Sequence[str] = ()) -> Gauge:
        metric = self._add(Gauge(name, help, labels))
        assert isinstance(metric, Gauge)
        return metric

    def histogram(
        self, name: str, help: str, labels: Sequence[str], bounds: Sequence[float]
    ) -> Histogram:
        metric = self._add(Histogram(name, help, labels, bounds))
        assert isinstance(metric, Histogram)
        return metric

    def get(self, name: str) -> Metric:
        return self._metrics[name]

    def __contains__(self, name: object) -> bool:
        return name in self._metrics

    def __iter__(self) -> Iterator[Metric]:
        return iter(self._metrics.values())

    def value(self, name: str, **labels: str) -> Number:
        """The value of one counter or gauge series (0 when never bound); for tests and checks."""
        metric = self._metrics[name]
        child = metric._children.get(tuple(labels[label] for label in metric.label_names))
        return 0 if child is None else child.value

    def sample(self, now_us: int) -> int:
        """Write every series to the sink as one JSON line each; returns the lines written."""
        sink = self.sink
        if sink is None:
            return 0
        prefix = b'{"t":%d.%03d,' % divmod(now_us, 1000)
        lines = []
        for metric in self._metrics.values():
            for sample in metric.samples():
                lines.append(prefix + orjson.dumps(sample_record(sample, metric.type))[1:])
        if lines:
            lines.append(b"")
            sink.write(b"\n".join(lines))
        self.samples_written += len(lines) - 1 if lines else 0
        return len(lines) - 1 if lines else 0


def sample_record(sample: Sample, kind: MetricType) -> dict[str, Any]:
    """The ``metrics.jsonl`` fields of one sample (after ``t``)."""
    record: dict[str, Any] = {"name": sample.name, "labels": dict(sample.labels)}
    if kind is MetricType.HISTOGRAM:
        record["count"] = sample.count
        record["sum"] = sample.sum
        record["buckets"] = [
            ["+Inf" if bound == float("inf") else bound, count] for bound, count in sample.buckets
        ]
    else:
        record["value"] = sample.value
    return record
