"""The measured power of exploration: how often, and how soon, a scenario finds each bug.

Rules:
- A bug's power on a scenario is measured over every given seed (no stopping at the
  first detection): the detection rate is detecting runs over runs, and "seeds to
  detection" are the gaps between consecutive detecting seeds in seed order (the first
  counted from the seed before the first one run), whose median says how many seeds a
  user sweeps, typically, before this scenario shows the bug.
- CPU seconds to first detection add the CPU time of every run up to and including the
  first detecting seed, in seed order, as one process would spend them.
- Two columns per bug: the generic scenario (it knows nothing of the bug) and the
  bug's staged scenario, where the library has one (``STAGED`` in
  ``harmonysim.explore.staged``). Both run the same seeds.
- Results depend only on scenarios, bugs and seeds; CPU seconds are measurements and
  vary with the machine.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from harmonysim.explore.pool import (
    EXCEPTION_CHECK,
    SeedPool,
    SeedResult,
    SeedTask,
    SweepProgress,
    sweep,
)
from harmonysim.explore.verdict import RunStatus
from harmonysim.scenario import Scenario

__all__ = ["BugPower", "Power", "PowerReport", "measure_power", "power_of"]


@dataclass(frozen=True, slots=True)
class Power:
    """One bug on one scenario over the given seeds."""

    scenario: str
    seeds: tuple[int, ...]
    detecting_seeds: tuple[int, ...]
    checks: tuple[str, ...]  # the check that caught it first in each detecting run, in order
    cpu_seconds_to_first: float | None
    raised: int  # runs in which the simulation itself raised (they detect nothing)

    @property
    def runs(self) -> int:
        return len(self.seeds)

    @property
    def detections(self) -> int:
        return len(self.detecting_seeds)

    @property
    def rate(self) -> float:
        return self.detections / self.runs if self.runs else 0.0

    @property
    def first_seed(self) -> int | None:
        return self.detecting_seeds[0] if self.detecting_seeds else None

    @property
    def median_seeds_to_detection(self) -> float | None:
        """The median gap between detections, in seeds run (see the module rules)."""
        if not self.detecting_seeds:
            return None
        order = {seed: position for position, seed in enumerate(self.seeds, start=1)}
        positions = [order[seed] for seed in self.detecting_seeds]
        gaps = [positions[0]] + [b - a for a, b in itertools.pairwise(positions)]
        return float(statistics.median(gaps))

    @property
    def check(self) -> str | None:
        """The check that caught the bug most often (ties: the first to catch it)."""
        if not self.checks:
            return None
        counts = {check: self.checks.count(check) for check in dict.fromkeys(self.checks)}
        return max(counts, key=lambda check: counts[check])

    def to_json(self) -> dict[str, Any]:
        median = self.median_seeds_to_detection
        cpu = self.cpu_seconds_to_first
        return {
            "scenario": self.scenario,
            "runs": self.runs,
            "detections": self.detections,
            "detection_rate": round(self.rate, 4),
            "first_seed": self.first_seed,
            "median_seeds_to_detection": median,
            "cpu_seconds_to_first_detection": round(cpu, 3) if cpu is not None else None,
            "check": self.check,
            "raised": self.raised,
        }


def power_of(scenario: str, seeds: Sequence[int], results: Sequence[SeedResult]) -> Power:
    """The power of one bug on one scenario from its runs (any order)."""
    by_seed = {result.seed: result for result in results}
    detecting: list[int] = []
    checks: list[str] = []
    cpu = 0.0
    cpu_to_first: float | None = None
    raised = 0
    for seed in seeds:
        result = by_seed[seed]
        cpu += result.cpu_seconds
        if EXCEPTION_CHECK in result.failed_checks:
            raised += 1
            continue
        if result.status is RunStatus.FAIL:
            detecting.append(seed)
            checks.append(result.failed_checks[0])
            if cpu_to_first is None:
                cpu_to_first = cpu
    return Power(
        scenario=scenario,
        seeds=tuple(seeds),
        detecting_seeds=tuple(detecting),
        checks=tuple(checks),
        cpu_seconds_to_first=cpu_to_first,
        raised=raised,
    )


@dataclass(frozen=True, slots=True)
class BugPower:
    bug: str
    generic: Power
    staged: Power | None

    def to_json(self) -> dict[str, Any]:
        return {
            "bug": self.bug,
            "generic": self.generic.to_json(),
            "staged": self.staged.to_json() if self.staged is not None else None,
        }


@dataclass(frozen=True, slots=True)
class PowerReport:
    generic: str
    seeds: tuple[int, ...]
    bugs: tuple[BugPower, ...]
    workers: int
    wall_seconds: float

    @property
    def median_seeds_to_detection(self) -> float | None:
        """Across the library, on the generic scenario: the median of the bugs' medians,
        an undetected bug counting as more seeds than were run."""
        values = [
            bug.generic.median_seeds_to_detection
            if bug.generic.median_seeds_to_detection is not None
            else float(len(self.seeds) + 1)
            for bug in self.bugs
        ]
        return float(statistics.median(values)) if values else None


def measure_power(
    generic: Scenario,
    staged: dict[str, Scenario],
    pool: SeedPool,
    *,
    bugs: Sequence[str],
    seeds: Sequence[int],
    progress: Callable[[SweepProgress], None] | None = None,
) -> PowerReport:
    """Run each bug over ``seeds`` of ``generic`` and of its staged scenario, if any."""
    import time

    tasks: list[SeedTask] = []
    for bug in bugs:
        columns = [generic] + ([staged[bug]] if bug in staged else [])
        for scenario in columns:
            for seed in seeds:
                # No run folder is kept: a kept run is made twice (with traces), which
                # would double the cost of every detection; the first detecting seed
                # says how to make it again (`run --seed N --bug BUG`).
                tasks.append(SeedTask(scenario=scenario, seed=seed, bugs=(bug,), group=bug))
    started = time.perf_counter()
    results = sweep(pool, tasks, progress=progress)
    wall_seconds = time.perf_counter() - started
    reports = []
    for bug in bugs:
        mine = [result for result in results if bug in result.bugs]
        generic_power = power_of(
            generic.name, seeds, [r for r in mine if r.scenario == generic.name]
        )
        staged_power = None
        if bug in staged:
            name = staged[bug].name
            staged_power = power_of(name, seeds, [r for r in mine if r.scenario == name])
        reports.append(BugPower(bug, generic_power, staged_power))
    return PowerReport(
        generic=generic.name,
        seeds=tuple(seeds),
        bugs=tuple(reports),
        workers=pool.workers,
        wall_seconds=wall_seconds,
    )
