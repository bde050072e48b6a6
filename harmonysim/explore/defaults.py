"""The defaults of seed sweeps, shrinking and the bug library run, importing nothing.

The command line shows them in ``--help``, which must not pay for importing the
runner; ``mutants`` and ``shrink`` (and this package) re-export them.
"""

from __future__ import annotations

from typing import Final

__all__ = ["DEFAULT_BUDGET", "DEFAULT_MUTANT_SCENARIOS", "DEFAULT_MUTANT_SEEDS"]

DEFAULT_MUTANT_SCENARIOS: Final = (
    "nemesis",
    "crash-restart-churn",
    "leader-isolation",
    "stale-leader",
    "figure-8",
)
"""Shipped scenarios with crashes, partitions and leader changes: where bugs show.
(``figure-8`` stages the Raft paper's Figure 8, which random faults almost never reach.)"""

DEFAULT_MUTANT_SEEDS: Final = 200

DEFAULT_BUDGET: Final = 150
"""Runs a shrink may make, the first (which confirms the failure) included."""
