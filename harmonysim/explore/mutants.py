"""The bug library run: does some check catch each known bug, and how soon?

Rules:
- Each bug of `KNOWN_BUGS` runs alone (added to the scenario's own bugs) over seeds
  1..N of a few fault-heavy scenarios, in the order seed 1 on every scenario, then
  seed 2, and so on. A bug stops at its first detection unless asked to run every seed.
- A bug is detected by a run in which a check reports a violation; the report names
  that check, the seed and scenario of the first detecting run, and the run folder
  kept for it (which ``harmonysim replay`` reproduces). A run that raises also stops
  the bug, but leaves it undetected: a crash proves nothing about the checks.
- Results depend only on the scenarios, bugs and seeds: `sweep` reports exactly the
  runs up to each bug's first detection, whatever the pool and its worker count.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harmonysim.explore.defaults import DEFAULT_MUTANT_SCENARIOS, DEFAULT_MUTANT_SEEDS
from harmonysim.explore.pool import (
    EXCEPTION_CHECK,
    Judge,
    SeedPool,
    SeedResult,
    SeedTask,
    SweepProgress,
    sweep,
)
from harmonysim.explore.verdict import RunStatus
from harmonysim.scenario import KNOWN_BUGS, Scenario

__all__ = [
    "DEFAULT_MUTANT_SCENARIOS",
    "DEFAULT_MUTANT_SEEDS",
    "MutantReport",
    "MutantsReport",
    "hunt_mutants",
]


@dataclass(frozen=True, slots=True)
class MutantReport:
    """How the checks fared against one bug."""

    bug: str
    runs: int
    seeds_run: int
    detections: int
    first: SeedResult | None

    @property
    def detected(self) -> bool:
        """True when a check caught the bug (a run that raised proves nothing about checks)."""
        return self.first is not None and EXCEPTION_CHECK not in self.first.failed_checks

    @property
    def check(self) -> str | None:
        """The check that caught the bug first (the first it failed in that run)."""
        return self.first.failed_checks[0] if self.first is not None else None

    @property
    def first_seed(self) -> int | None:
        return self.first.seed if self.first is not None else None

    @property
    def detection_rate(self) -> float:
        return self.detections / self.runs if self.runs else 0.0

    def to_json(self) -> dict[str, Any]:
        first = self.first
        return {
            "bug": self.bug,
            "detected": self.detected,
            "check": self.check,
            "checks": list(first.failed_checks) if first is not None else [],
            "first_seed": self.first_seed,
            "scenario": first.scenario if first is not None else None,
            "run_dir": first.run_dir if first is not None else None,
            "error": first.error if first is not None else None,
            "seeds_run": self.seeds_run,
            "runs": self.runs,
            "detections": self.detections,
            "detection_rate": round(self.detection_rate, 4),
        }


@dataclass(frozen=True, slots=True)
class MutantsReport:
    bugs: tuple[MutantReport, ...]
    scenarios: tuple[str, ...]
    seeds: int
    workers: int
    wall_seconds: float

    @property
    def undetected(self) -> tuple[str, ...]:
        return tuple(report.bug for report in self.bugs if not report.detected)

    @property
    def runs(self) -> int:
        return sum(report.runs for report in self.bugs)


def hunt_mutants(
    scenarios: Sequence[Scenario],
    pool: SeedPool,
    *,
    out_root: Path,
    bugs: Sequence[str] = KNOWN_BUGS,
    seeds: int = DEFAULT_MUTANT_SEEDS,
    every_seed: bool = False,
    judge: Judge | None = None,
    progress: Callable[[SweepProgress], None] | None = None,
) -> MutantsReport:
    """Run each bug over seeds 1..``seeds`` of ``scenarios``; keep failing runs in ``out_root``."""
    tasks = [
        SeedTask(
            scenario=scenario,
            seed=seed,
            bugs=(bug,),
            save_dir=str(out_root / bug / scenario.name / f"seed-{seed}"),
            group=bug,
            judge=judge,
        )
        for bug in bugs
        for seed in range(1, seeds + 1)
        for scenario in scenarios
    ]
    started = time.perf_counter()
    results = sweep(pool, tasks, stop_group_at_first_failure=not every_seed, progress=progress)
    wall_seconds = time.perf_counter() - started
    reports = []
    for bug in bugs:
        mine = [result for result in results if result.group == bug]
        failing = [result for result in mine if result.status is RunStatus.FAIL]
        caught = [result for result in failing if EXCEPTION_CHECK not in result.failed_checks]
        reports.append(
            MutantReport(
                bug=bug,
                runs=len(mine),
                seeds_run=len({result.seed for result in mine}),
                detections=len(caught),
                first=failing[0] if failing else None,
            )
        )
    return MutantsReport(
        bugs=tuple(reports),
        scenarios=tuple(scenario.name for scenario in scenarios),
        seeds=seeds,
        workers=pool.workers,
        wall_seconds=wall_seconds,
    )
