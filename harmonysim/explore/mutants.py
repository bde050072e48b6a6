"""The bug library run: does some check catch each known bug, and how soon?

Rules:
- Each bug of `KNOWN_BUGS` runs alone (added to the scenario's own bugs) over the
  given seeds of a few fault-heavy scenarios, in the order first seed on every
  scenario, then the next, and so on. A bug stops at its first detection unless asked
  to run every seed.
- A detection rate (detecting runs over runs) is only reported when every seed ran:
  runs stopped at the first detection measure how soon, not how often.
- A bug is detected by a run in which a check reports a violation; the report names
  that check, the seed and scenario of the first detecting run, and the run folder
  kept for it (which ``harmonysim replay`` reproduces). A run that raises also stops
  the bug, but leaves it undetected: a crash proves nothing about the checks.
- No empty folder is left in the output folder: a bug's folders exist only around
  the runs kept for it.
- Results depend only on the scenarios, bugs and seeds: `sweep` reports exactly the
  runs up to each bug's first detection, whatever the pool and its worker count.
"""

from __future__ import annotations

import contextlib
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
    every_seed: bool = False

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
    def detection_rate(self) -> float | None:
        """Detecting runs over runs, when every seed ran (else None: see the module rules)."""
        if not self.every_seed:
            return None
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
            "detection_rate": (
                round(self.detection_rate, 4) if self.detection_rate is not None else None
            ),
        }


@dataclass(frozen=True, slots=True)
class MutantsReport:
    bugs: tuple[MutantReport, ...]
    scenarios: tuple[str, ...]
    seeds: tuple[int, ...]
    workers: int
    wall_seconds: float

    @property
    def undetected(self) -> tuple[str, ...]:
        return tuple(report.bug for report in self.bugs if not report.detected)

    @property
    def runs(self) -> int:
        return sum(report.runs for report in self.bugs)


def _remove_empty_folders(out_root: Path, bugs: Sequence[str], scenarios: Sequence[str]) -> None:
    """Remove ``out_root/<bug>/<scenario>`` and ``out_root/<bug>`` where no run was kept.

    A run dropped after its bug's first detection (it ran in parallel) has its folder
    removed by `sweep`; the folders above it must not stay behind empty.
    """
    for bug in bugs:
        for folder in [*(out_root / bug / name for name in scenarios), out_root / bug]:
            with contextlib.suppress(OSError):  # not empty: a kept run (or anything) stays
                folder.rmdir()


def hunt_mutants(
    scenarios: Sequence[Scenario],
    pool: SeedPool,
    *,
    out_root: Path,
    bugs: Sequence[str] = KNOWN_BUGS,
    seeds: Sequence[int] = range(1, DEFAULT_MUTANT_SEEDS + 1),
    every_seed: bool = False,
    judge: Judge | None = None,
    progress: Callable[[SweepProgress], None] | None = None,
) -> MutantsReport:
    """Run each bug over ``seeds`` of ``scenarios``; keep failing runs in ``out_root``."""
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
        for seed in seeds
        for scenario in scenarios
    ]
    started = time.perf_counter()
    results = sweep(pool, tasks, stop_group_at_first_failure=not every_seed, progress=progress)
    wall_seconds = time.perf_counter() - started
    _remove_empty_folders(out_root, bugs, [scenario.name for scenario in scenarios])
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
                every_seed=every_seed,
            )
        )
    return MutantsReport(
        bugs=tuple(reports),
        scenarios=tuple(scenario.name for scenario in scenarios),
        seeds=tuple(seeds),
        workers=pool.workers,
        wall_seconds=wall_seconds,
    )
