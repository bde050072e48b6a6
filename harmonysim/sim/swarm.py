"""The seed's draw of a scenario's swarmed settings (``harmonysim.scenario.swarm``).

Rules:
- The draw comes from the run's RNG tree, stream ``swarm``, which nothing else reads:
  one ``choice`` per swarm entry, in the file's order. It depends on the seed and the
  swarm alone, so adding a swarm entry never changes how other streams draw.
- ``draw`` is idempotent (a scenario that already holds its seed's draw is returned as
  it is), so every run path may call it: the runner, the live dashboard run, replay.
"""

from __future__ import annotations

from typing import Any

from harmonysim.scenario import Scenario, apply_swarm_draw
from harmonysim.sim.rng import RngTree

__all__ = ["draw", "drawn_values"]


def drawn_values(scenario: Scenario) -> dict[str, Any]:
    """What the scenario's seed draws for each swarmed setting, in the swarm's order."""
    rng = RngTree(scenario.seed).stream("swarm")
    return {path: rng.choice(choices) for path, choices in scenario.swarm.items()}


def draw(scenario: Scenario) -> Scenario:
    """The scenario as its seed configures it: each swarmed setting at its drawn value."""
    if not scenario.swarm:
        return scenario
    return apply_swarm_draw(scenario, drawn_values(scenario))
