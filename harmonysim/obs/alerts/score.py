"""Scoring alert firings against the incidents a run's event log shows.

Rules:
- A *condition* is the ground truth of one rule, as an interval of virtual time
  where what the rule watches held (no leader up, no commit for 2s, ...), keyed
  by node for per-node rules. An *incident* is a condition that lasted at least
  its minimum (by default the rule's ``for:`` plus one evaluation interval: long
  enough that a rule evaluated on samples must see it; ``harmonysim alerts`` takes
  the shipped rule's, so a rule edited to wait longer misses what the shipped one
  catches). Shorter conditions need not be caught, but a firing on one is not
  false either.
- An incident is caught when a firing of its rule (same node, for per-node
  rules) overlaps it or the evaluation interval after it; the detection delay is
  from the incident's start to the first such firing's start (0 when the rule
  was already firing). A firing that overlaps no condition (extended by one
  evaluation interval, the time a resolved alert takes to clear) is false.
- The goal of a rule on a run: every incident caught within ``for:`` plus one
  evaluation interval, and no false firing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harmonysim.obs.alerts.engine import AlertRule, Firing

__all__ = ["AlertScore", "Condition", "score_alerts"]


@dataclass(frozen=True, slots=True)
class Condition:
    """``[start_ms, end_ms)`` where a rule's ground truth held (for ``node``, if per node)."""

    start_ms: float
    end_ms: float
    node: str | None = None

    @property
    def duration_ms(self) -> float:
        return self.end_ms - self.start_ms


@dataclass(slots=True)
class AlertScore:
    """One rule's score on one run (see the module rules)."""

    alert: str
    for_ms: float
    interval_ms: float
    judged: bool
    incidents: int = 0
    caught: int = 0
    missed: int = 0
    false_firings: int = 0
    firings: int = 0
    delays_ms: list[float] = field(default_factory=list)
    incident_list: list[Condition] = field(default_factory=list)
    firing_list: list[Firing] = field(default_factory=list)

    @property
    def delay_max_ms(self) -> float | None:
        return max(self.delays_ms) if self.delays_ms else None

    @property
    def meets_goal(self) -> bool:
        bound_ms = self.for_ms + self.interval_ms
        return (
            self.missed == 0
            and self.false_firings == 0
            and all(delay <= bound_ms for delay in self.delays_ms)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "alert": self.alert,
            "for_ms": self.for_ms,
            "judged": self.judged,
            "incidents": self.incidents,
            "caught": self.caught,
            "missed": self.missed,
            "false_firings": self.false_firings,
            "firings": self.firings,
            "delay_max_ms": self.delay_max_ms,
            "delays_ms": self.delays_ms,
            "meets_goal": self.meets_goal,
            "incident_intervals_ms": [
                {"start": c.start_ms, "end": c.end_ms, "node": c.node} for c in self.incident_list
            ],
            "firing_intervals_ms": [
                {"start": f.start_ms, "end": f.end_ms, "labels": dict(f.labels)}
                for f in self.firing_list
            ],
        }


def _overlaps(firing: Firing, start_ms: float, end_ms: float) -> bool:
    return firing.start_ms < end_ms and start_ms < firing.end_ms


def _same_key(firing: Firing, condition: Condition) -> bool:
    return condition.node is None or firing.node == condition.node


def score_alerts(
    rules: Sequence[AlertRule],
    firings: Sequence[Firing],
    conditions: Mapping[str, Sequence[Condition]],
    interval_ms: float,
    incident_min_ms: Mapping[str, float] | None = None,
) -> list[AlertScore]:
    """Per rule, in file order: incidents caught and missed, false firings, delays.

    ``conditions`` maps a rule name to its ground truth; a rule missing from it has
    none this run can show (``judged`` False: only its firings are counted).
    """
    scores: list[AlertScore] = []
    for rule in rules:
        own = [firing for firing in firings if firing.alert == rule.name]
        truth = conditions.get(rule.name)
        score = AlertScore(rule.name, rule.for_ms, interval_ms, truth is not None, firings=len(own))
        score.firing_list = own
        truth = truth or []
        minimum_ms = (incident_min_ms or {}).get(rule.name, rule.for_ms + interval_ms)
        for condition in truth:
            if condition.duration_ms < minimum_ms:
                continue
            score.incidents += 1
            score.incident_list.append(condition)
            matching = [
                firing
                for firing in own
                if _same_key(firing, condition)
                and _overlaps(firing, condition.start_ms, condition.end_ms + interval_ms)
            ]
            if matching:
                score.caught += 1
                first_ms = min(firing.start_ms for firing in matching)
                score.delays_ms.append(max(0.0, first_ms - condition.start_ms))
            else:
                score.missed += 1
        if rule.name in conditions:
            score.false_firings = sum(
                1
                for firing in own
                if not any(
                    _same_key(firing, condition)
                    and _overlaps(firing, condition.start_ms, condition.end_ms + interval_ms)
                    for condition in truth
                )
            )
        scores.append(score)
    return scores
