"""Latency distributions for network links, in whole virtual microseconds.

Rules:
- A sampler is built once per link from the scenario's ``Latency`` and draws from
  that link's own seeded stream; it returns an int (microseconds) >= 1, so the
  simulation clock is an exact integer and event times print exactly.
- lognormal is given by its mean and 99th percentile, as operators quote
  latency: sigma solves ``ln(p99/mean) = z99*sigma - sigma**2/2`` (the smaller
  root), and ``mu = ln(mean) - sigma**2/2``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["Z99", "LatencySpec", "lognormal_parameters", "make_sampler"]

Z99 = 2.3263478740408408  # standard normal quantile at 0.99

Sampler = Callable[[], int]


class LatencySpec(Protocol):
    """The fields of ``harmonysim.scenario.Latency`` the kernel reads."""

    @property
    def distribution(self) -> str: ...
    @property
    def value_ms(self) -> float | None: ...
    @property
    def min_ms(self) -> float | None: ...
    @property
    def max_ms(self) -> float | None: ...
    @property
    def mean_ms(self) -> float | None: ...
    @property
    def p99_ms(self) -> float | None: ...


def lognormal_parameters(mean_ms: float, p99_ms: float) -> tuple[float, float]:
    """(mu, sigma) of the lognormal with the given mean and 99th percentile."""
    gap = math.log(p99_ms / mean_ms)
    discriminant = Z99 * Z99 - 2.0 * gap
    if gap <= 0 or discriminant < 0:
        raise ValueError(f"no lognormal has mean {mean_ms}ms and p99 {p99_ms}ms")
    sigma = Z99 - math.sqrt(discriminant)
    return math.log(mean_ms) - sigma * sigma / 2.0, sigma


_BATCH = 1024


def make_sampler(spec: LatencySpec, rng: random.Random, jitter_ms: float = 0.0) -> Sampler:
    """A zero-argument sampler of one-way delay in microseconds (>= 1).

    This runs once per simulated message, so delays are drawn in batches with
    numpy (a PCG64 generator seeded from the link's own stream) and handed out
    one by one through a generator's C-level ``__next__``: about a tenth of the
    cost of drawing each from ``random.gauss``. The sequence depends only on the
    seed, never on how many delays were consumed elsewhere.
    """
    generator = np.random.Generator(np.random.PCG64(rng.getrandbits(64)))
    jitter_us = max(0.0, jitter_ms * 1000.0)
    draw: Callable[[int], npt.NDArray[np.float64]]
    if spec.distribution == "constant":
        value_us = float(spec.value_ms or 0.0) * 1000.0

        def draw(count: int) -> npt.NDArray[np.float64]:
            return np.full(count, value_us)

    elif spec.distribution == "uniform":
        low_us = float(spec.min_ms or 0.0) * 1000.0
        high_us = float(spec.max_ms or 0.0) * 1000.0

        def draw(count: int) -> npt.NDArray[np.float64]:
            return generator.uniform(low_us, high_us, count)

    elif spec.distribution == "exponential":
        mean_us = float(spec.mean_ms or 1.0) * 1000.0

        def draw(count: int) -> npt.NDArray[np.float64]:
            return generator.exponential(mean_us, count)

    elif spec.distribution == "lognormal":
        mu, sigma = lognormal_parameters(float(spec.mean_ms or 1.0), float(spec.p99_ms or 2.0))
        mu_us = mu + math.log(1000.0)

        def draw(count: int) -> npt.NDArray[np.float64]:
            return generator.lognormal(mu_us, sigma, count)

    else:
        raise ValueError(f"unknown latency distribution {spec.distribution!r}")

    def delays() -> Iterator[int]:
        while True:
            batch = draw(_BATCH)
            if jitter_us:
                batch = batch + generator.uniform(0.0, jitter_us, _BATCH)
            yield from np.maximum(batch.astype(np.int64), 1).tolist()

    return delays().__next__
