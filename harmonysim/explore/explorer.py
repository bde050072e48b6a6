"""Seed exploration: one scenario over many seeds, each failing seed kept as a run folder.

Rules:
- Every seed runs the same resolved scenario with only the seed changed (and the
  requested bugs switched on); the per-seed results do not depend on the pool or on
  its worker count, and the report lists them in seed order.
- Failing and inconclusive seeds are kept under ``out_root/seed-N`` (by default
  ``runs/explore/<scenario>/seed-N``), passing seeds leave nothing.
- ``wall_seconds`` and ``runs_per_second`` are the only wall-clock figures; they are
  reported beside the results, never mixed into them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harmonysim.explore.pool import Judge, SeedPool, SeedResult, SeedTask, SweepProgress, sweep
from harmonysim.explore.verdict import RunStatus
from harmonysim.scenario import Scenario

__all__ = ["ExploreReport", "default_explore_root", "explore"]


def default_explore_root(scenario: Scenario, root: Path = Path("runs")) -> Path:
    """Where an exploration of ``scenario`` keeps its failing seeds."""
    return root / "explore" / scenario.name


@dataclass(frozen=True, slots=True)
class ExploreReport:
    """The results of one exploration, in seed order, and how long it took."""

    scenario: str
    results: tuple[SeedResult, ...]
    workers: int
    wall_seconds: float

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(result.seed for result in self.results)

    @property
    def failures(self) -> dict[int, tuple[str, ...]]:
        """Failing seed -> the checks it failed, in seed order."""
        return {r.seed: r.failed_checks for r in self.results if r.status is RunStatus.FAIL}

    @property
    def unknown(self) -> dict[int, tuple[str, ...]]:
        """Inconclusive seed -> the checks that could not decide, in seed order."""
        return {r.seed: r.unknown_checks for r in self.results if r.status is RunStatus.UNKNOWN}

    @property
    def failures_by_check(self) -> dict[str, int]:
        """Check -> how many seeds it failed, most first (ties by name)."""
        return _most_first(self.failures.values())

    @property
    def skipped_by_check(self) -> dict[str, int]:
        """Check -> in how many seeds it did not apply (and judged nothing), most first."""
        return _most_first(result.skipped_checks for result in self.results)

    @property
    def runs_per_second(self) -> float:
        return len(self.results) / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def status(self) -> RunStatus:
        if self.failures:
            return RunStatus.FAIL
        if self.unknown:
            return RunStatus.UNKNOWN
        return RunStatus.PASS


def _most_first(check_lists: Iterable[tuple[str, ...]]) -> dict[str, int]:
    """Check -> in how many of ``check_lists`` it appears, most first (ties by name)."""
    counts: dict[str, int] = {}
    for checks in check_lists:
        for check in checks:
            counts[check] = counts.get(check, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def explore(
    scenario: Scenario,
    seeds: Sequence[int],
    pool: SeedPool,
    *,
    out_root: Path,
    bugs: Sequence[str] = (),
    judge: Judge | None = None,
    progress: Callable[[SweepProgress], None] | None = None,
) -> ExploreReport:
    """Run ``scenario`` once per seed on ``pool``; keep failing seeds under ``out_root``."""
    tasks = [
        SeedTask(
            scenario=scenario,
            seed=seed,
            bugs=tuple(bugs),
            save_dir=str(out_root / f"seed-{seed}"),
            judge=judge,
        )
        for seed in sorted(set(seeds))
    ]
    started = time.perf_counter()
    results = sweep(pool, tasks, progress=progress)
    return ExploreReport(
        scenario=scenario.name,
        results=tuple(results),
        workers=pool.workers,
        wall_seconds=time.perf_counter() - started,
    )
