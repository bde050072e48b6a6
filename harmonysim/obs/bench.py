"""Overhead benchmarks: what one metric update and one span cost, beside a bare function call.

Rules:
- Measured on the wall clock (benchmarks only; nothing here reaches a run's
  artifacts). Each figure is the best of ``repeats`` timed loops, divided by the
  loop's iterations, in nanoseconds; the bare call is measured in the same run,
  so results are read as multiples of it, whatever the machine.
- Span cost is create + end on a tracer with sampling on (ratio 1, spans
  streamed to a sink that discards them) and off (ratio 0: the no-op path).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harmonysim.obs.catalogue import LATENCY_BUCKETS_SECONDS
from harmonysim.obs.metrics import Registry
from harmonysim.obs.tracing import Category, Span, Tracer

__all__ = ["MetricsBench", "TracingBench", "bench_metrics", "bench_tracing"]


class _Ids:
    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next = 0

    def id64(self) -> int:
        self._next += 1
        return self._next

    def id128(self) -> int:
        self._next += 1
        return self._next * 0x9E3779B97F4A7C15


class _Discard:
    def write_spans(self, spans: Sequence[Span]) -> None:
        pass


def _best_ns(loop: Callable[[int], None], iterations: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter_ns()
        loop(iterations)
        best = min(best, (time.perf_counter_ns() - started) / iterations)
    return best


def _empty(amount: int = 1) -> None:
    pass


@dataclass(frozen=True, slots=True)
class MetricsBench:
    bare_call_ns: float
    counter_inc_ns: float
    gauge_set_ns: float
    histogram_observe_ns: float
    labels_lookup_ns: float


@dataclass(frozen=True, slots=True)
class TracingBench:
    bare_call_ns: float
    span_on_ns: float
    span_off_ns: float
    sampled_fraction_on: float


def bench_metrics(iterations: int = 200_000, repeats: int = 5) -> MetricsBench:
    """Per-update cost of pre-bound children, and of resolving labels each time."""
    registry = Registry()
    counter = registry.counter("harmonysim_bench_total", "bench", ("node", "op"))
    gauge = registry.gauge("harmonysim_bench", "bench", ("node",))
    histogram = registry.histogram(
        "harmonysim_bench_seconds", "bench", ("node",), LATENCY_BUCKETS_SECONDS
    )
    inc = counter.labels("n1", "put").inc
    set_value = gauge.labels("n1").set
    observe = histogram.labels("n1").observe
    labels = counter.labels

    def bare(n: int) -> None:
        for _ in range(n):
            _empty(1)

    def counters(n: int) -> None:
        for _ in range(n):
            inc(1)

    def gauges(n: int) -> None:
        for _ in range(n):
            set_value(1)

    def histograms(n: int) -> None:
        for _ in range(n):
            observe(0.004)

    def lookups(n: int) -> None:
        for _ in range(n):
            labels("n1", "put").inc(1)

    return MetricsBench(
        bare_call_ns=_best_ns(bare, iterations, repeats),
        counter_inc_ns=_best_ns(counters, iterations, repeats),
        gauge_set_ns=_best_ns(gauges, iterations, repeats),
        histogram_observe_ns=_best_ns(histograms, iterations, repeats),
        labels_lookup_ns=_best_ns(lookups, iterations, repeats),
    )


def bench_tracing(iterations: int = 50_000, repeats: int = 5) -> TracingBench:
    """Per-span cost (start + end) with tracing on (every trace sampled) and off."""
    clock = [0]

    def make(ratio: float) -> Tracer:
        return Tracer(_Ids(), lambda: clock[0], ratio, _Discard(), max_buffered_spans=1024)

    on, off = make(1.0), make(0.0)

    def spans(tracer: Tracer) -> Callable[[int], None]:
        start = tracer.start_trace
        client = Category.CLIENT

        def loop(n: int) -> None:
            for _ in range(n):
                start("op", "n1", client).end()

        return loop

    def bare(n: int) -> None:
        for _ in range(n):
            _empty(1)

    on_ns = _best_ns(spans(on), iterations, repeats)
    kept = on.stats.traces_sampled / max(1, on.stats.traces_started)
    return TracingBench(
        bare_call_ns=_best_ns(bare, iterations, repeats),
        span_on_ns=on_ns,
        span_off_ns=_best_ns(spans(off), iterations, repeats),
        sampled_fraction_on=kept,
    )
