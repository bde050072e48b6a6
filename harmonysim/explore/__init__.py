"""Seed sweeps on local processes or Dask, shrinking of failing runs, and the bug library run.

`explore` runs one scenario over many seeds and keeps each failing seed as a run
folder; `shrink_scenario` searches for a smaller scenario that fails the same check
with the same seed; `hunt_mutants` checks that every known bug is caught. All three
share `sweep` and its pools (`LocalPool`, `DaskPool`); a run's result depends only on
its scenario and seed, never on where or beside what it ran.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harmonysim.lazy import lazy_exports

if TYPE_CHECKING:
    from harmonysim.explore.defaults import (
        DEFAULT_BUDGET,
        DEFAULT_MUTANT_SCENARIOS,
        DEFAULT_MUTANT_SEEDS,
    )
    from harmonysim.explore.explorer import ExploreReport, default_explore_root, explore
    from harmonysim.explore.mutants import MutantReport, MutantsReport, hunt_mutants
    from harmonysim.explore.pool import (
        DaskPool,
        Judge,
        LocalPool,
        SeedPool,
        SeedResult,
        SeedTask,
        SweepProgress,
        default_workers,
        run_task,
        sweep,
    )
    from harmonysim.explore.seeds import SeedSpecError, format_seeds, parse_seeds
    from harmonysim.explore.shrink import (
        ScenarioSize,
        ShrinkError,
        ShrinkReport,
        ShrinkStep,
        shrink_scenario,
    )
    from harmonysim.explore.verdict import (
        CheckStatus,
        RunStatus,
        outcome_failures,
        outcome_unknowns,
    )

# The names above are loaded on first use (PEP 562): the command line's parser shows
# the defaults in --help, which must not import the runner with them (``defaults``
# imports nothing).
_EXPORTS: dict[str, tuple[str, ...]] = {
    "defaults": ("DEFAULT_BUDGET", "DEFAULT_MUTANT_SCENARIOS", "DEFAULT_MUTANT_SEEDS"),
    "explorer": ("ExploreReport", "default_explore_root", "explore"),
    "mutants": ("MutantReport", "MutantsReport", "hunt_mutants"),
    "pool": (
        *("DaskPool", "Judge", "LocalPool", "SeedPool", "SeedResult", "SeedTask"),
        *("SweepProgress", "default_workers", "run_task", "sweep"),
    ),
    "seeds": ("SeedSpecError", "format_seeds", "parse_seeds"),
    "shrink": ("ScenarioSize", "ShrinkError", "ShrinkReport", "ShrinkStep", "shrink_scenario"),
    "verdict": ("CheckStatus", "RunStatus", "outcome_failures", "outcome_unknowns"),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_MUTANT_SCENARIOS",
    "DEFAULT_MUTANT_SEEDS",
    "CheckStatus",
    "DaskPool",
    "ExploreReport",
    "Judge",
    "LocalPool",
    "MutantReport",
    "MutantsReport",
    "RunStatus",
    "ScenarioSize",
    "SeedPool",
    "SeedResult",
    "SeedSpecError",
    "SeedTask",
    "ShrinkError",
    "ShrinkReport",
    "ShrinkStep",
    "SweepProgress",
    "default_explore_root",
    "default_workers",
    "explore",
    "format_seeds",
    "hunt_mutants",
    "outcome_failures",
    "outcome_unknowns",
    "parse_seeds",
    "run_task",
    "shrink_scenario",
    "sweep",
]
