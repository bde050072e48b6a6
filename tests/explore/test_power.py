"""The measured power of a scenario against a bug: rates, gaps, CPU to the first."""

from __future__ import annotations

from harmonysim.explore.pool import EXCEPTION_CHECK
from harmonysim.explore.power import power_of

from .doubles import seed_result as result


def test_power_counts_rate_gaps_and_cpu_in_seed_order_whatever_the_result_order() -> None:
    seeds = [1, 2, 3, 4, 5, 6, 7, 8]
    runs = [
        result(8),
        result(3, ("linearizability",), cpu=2.0),
        result(1),
        result(2, (EXCEPTION_CHECK,)),
        result(4),
        result(5),
        result(6, ("raft_safety", "linearizability")),
        result(7, ("linearizability",)),
    ]
    power = power_of("s", seeds, runs)
    assert (power.detections, power.runs, power.rate) == (3, 8, 3 / 8)
    assert power.detecting_seeds == (3, 6, 7) and power.first_seed == 3
    assert power.median_seeds_to_detection == 3.0  # gaps 3, 3, 1
    assert power.cpu_seconds_to_first == 1.0 + 1.0 + 2.0  # seeds 1, 2 (raised) and 3
    assert power.raised == 1  # a run that raised detects nothing
    assert power.check == "linearizability"  # caught first most often


def test_an_undetected_bug_has_no_first_seed_median_or_cpu() -> None:
    power = power_of("s", [1, 2], [result(1), result(2)])
    assert (power.first_seed, power.median_seeds_to_detection) == (None, None)
    assert power.cpu_seconds_to_first is None and power.check is None
    assert power.to_json()["detection_rate"] == 0.0
