"""Shrinking a failing run: a smaller scenario that fails the same check with the same seed.

Rules:
- The target is one check (by default the first the run failed); a candidate is kept
  only when its run fails that check. Seed and bugs never change.
- The search is greedy delta debugging over scenario edits (`edits`), repeated until
  no edit helps or the run budget is spent: keep only the target check, shorten the
  run (bisection), remove faults (halves, quarters, ... single faults), unroll each
  nemesis into the explicit faults it produced, shrink the cluster to fewer (odd, at
  least 3) nodes, fewer clients, a lower rate, fewer operations per client, and
  shorter faults (an undo moved closer to what it undoes, a nemesis stopped earlier).
- Every candidate is validated as a scenario file before it runs; an invalid edit is
  not a candidate and costs nothing. A candidate tried once is never run again.
- Deterministic: the same failing run and budget give the same result, since each
  run is (DESIGN.md) and candidates are tried in a fixed order.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import yaml

from harmonysim.explore.defaults import DEFAULT_BUDGET
from harmonysim.explore.edits import (
    Data,
    build,
    fault_at_ms,
    remove_faults,
    restrict_nodes,
    set_fault_at,
    undo_pairs,
    unroll_nemesis,
    with_duration,
)
from harmonysim.explore.pool import Judge, SeedResult, SeedTask, run_task
from harmonysim.scenario import (
    CHECK_NAMES,
    Scenario,
    format_duration,
    format_rate,
    parse_duration,
    scenario_to_data,
)

__all__ = [
    "DEFAULT_BUDGET",
    "ScenarioSize",
    "ShrinkError",
    "ShrinkReport",
    "ShrinkStep",
    "shrink_scenario",
]

DURATION_GRAIN_MS: Final = 100.0
"""Durations and fault times are shortened in steps of this size."""

MIN_NODES: Final = 3


class ShrinkError(Exception):
    """The scenario cannot be shrunk (it does not fail the target check)."""


@dataclass(frozen=True, slots=True)
class ScenarioSize:
    """How big a failing scenario is, in the units a reader cares about."""

    duration_ms: float
    faults: int
    nemeses: int
    clients: int
    nodes: int
    operations: int
    events: int

    @classmethod
    def of(cls, scenario: Scenario, result: SeedResult) -> ScenarioSize:
        return cls(
            duration_ms=scenario.duration_ms,
            faults=len(scenario.faults),
            nemeses=sum(1 for fault in scenario.faults if fault.nemesis is not None),
            clients=scenario.workload.clients,
            nodes=scenario.cluster.nodes,
            operations=result.operations,
            events=result.event_count,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "duration": format_duration(self.duration_ms),
            "faults": self.faults,
            "nemeses": self.nemeses,
            "clients": self.clients,
            "nodes": self.nodes,
            "operations": self.operations,
            "events": self.events,
        }


@dataclass(frozen=True, slots=True)
class ShrinkStep:
    """One accepted edit and the size it led to."""

    edit: str
    size: ScenarioSize


@dataclass(frozen=True, slots=True)
class ShrinkReport:
    check: str
    original: Scenario
    shrunk: Scenario
    before: ScenarioSize
    after: ScenarioSize
    runs: int
    steps: tuple[ShrinkStep, ...]
    budget_spent: bool


class _BudgetSpent(Exception):
    pass


RunHook = Callable[[int, int, str, bool], None]
"""Called after each run: (runs so far, budget, edit tried, whether it still failed)."""


class _Shrinker:
    def __init__(
        self,
        scenario: Scenario,
        check: str,
        budget: int,
        judge: Judge | None,
        on_run: RunHook | None,
    ) -> None:
        self.check = check
        self.budget = budget
        self.judge = judge
        self.on_run = on_run
        self.runs = 0
        self.seen: dict[str, bool] = {}
        self.steps: list[ShrinkStep] = []
        self.data: Data = scenario_to_data(scenario)
        self.scenario = scenario
        self.result = self._run(scenario, "the original scenario")
        self.seen[self._key(self.data)] = True
        if check not in self.result.failed_checks:
            failed = ", ".join(self.result.failed_checks) or "no check"
            raise ShrinkError(
                f"{scenario.name} seed {scenario.seed} does not fail {check} when run again "
                f"(it failed {failed})"
            )

    @staticmethod
    def _key(data: Data) -> str:
        return yaml.safe_dump(data, sort_keys=True)

    def _run(self, scenario: Scenario, edit: str) -> SeedResult:
        if self.runs >= self.budget:
            raise _BudgetSpent
        self.runs += 1
        result = run_task(
            SeedTask(scenario=scenario, seed=scenario.seed, fault_events=True, judge=self.judge)
        )
        if self.on_run is not None:
            self.on_run(self.runs, self.budget, edit, self.check in result.failed_checks)
        return result

    def attempt(self, data: Data | None, edit: str) -> bool:
        """Run the candidate ``data``; keep it when it still fails the target check."""
        if data is None:
            return False
        key = self._key(data)
        if key in self.seen:
            return False
        candidate = build(data)
        if candidate is None:
            self.seen[key] = False
            return False
        result = self._run(candidate, edit)
        fails = self.check in result.failed_checks
        self.seen[key] = fails
        if fails:
            self.data, self.scenario, self.result = scenario_to_data(candidate), candidate, result
            self.seen[self._key(self.data)] = True
            self.steps.append(ShrinkStep(edit, ScenarioSize.of(candidate, result)))
        return fails

    def bisect(
        self,
        low: int,
        high: int,
        make: Callable[[int], Data | None],
        describe: Callable[[int], str],
    ) -> bool:
        """Find the smallest value in (low, high) that still fails; ``high`` is the current one."""
        changed = False
        while high - low > 1:
            middle = (low + high) // 2
            if self.attempt(make(middle), describe(middle)):
                high, changed = middle, True
            else:
                low = middle
        return changed

    # -- the passes ------------------------------------------------------------

    def only_target_check(self) -> bool:
        checks = self.data.get("checks", [])
        if self.check not in CHECK_NAMES or list(checks) == [self.check]:
            return False
        return self.attempt({**self.data, "checks": [self.check]}, f"keep only {self.check}")

    def shorter_run(self) -> bool:
        grains = math.ceil(parse_duration(str(self.data["duration"])) / DURATION_GRAIN_MS)
        return self.bisect(
            0,
            grains,
            lambda n: with_duration(self.data, n * DURATION_GRAIN_MS),
            lambda n: f"duration {format_duration(n * DURATION_GRAIN_MS)}",
        )

    def fewer_faults(self) -> bool:
        changed = False
        chunk = max(1, len(self.data.get("faults", [])) // 2)
        while chunk >= 1:
            start = 0
            while start < len(self.data.get("faults", [])):
                indices = list(range(start, start + chunk))
                count = len(self.data["faults"])
                drop = [i for i in indices if i < count]
                what = f"fault {drop[0]}" if len(drop) == 1 else f"faults {drop[0]}-{drop[-1]}"
                if self.attempt(remove_faults(self.data, drop), f"remove {what}"):
                    changed = True
                else:
                    start += chunk
            chunk //= 2
        return changed

    def unroll_nemeses(self) -> bool:
        changed = False
        index = 0
        while index < len(self.data.get("faults", [])):
            if "nemesis" in self.data["faults"][index]:
                candidate = unroll_nemesis(self.data, index, self.result.fault_events)
                if self.attempt(candidate, f"unroll the nemesis (fault {index})"):
                    changed = True
                    continue
            index += 1
        return changed

    def fewer_nodes(self) -> bool:
        nodes = int(self.data.get("cluster", {}).get("nodes", 5))
        for smaller in range(MIN_NODES, nodes, 2):
            if self.attempt(restrict_nodes(self.data, smaller), f"{smaller} nodes"):
                return True
        return False

    def fewer_clients(self) -> bool:
        workload = self.data.get("workload", {})
        clients = int(workload.get("clients", 0))

        def make(count: int) -> Data:
            return {**self.data, "workload": {**self.data["workload"], "clients": count}}

        return clients > 1 and self.bisect(
            0, clients, make, lambda n: f"{n} client{'s' if n != 1 else ''}"
        )

    def lower_rate(self) -> bool:
        workload = self.data.get("workload", {})
        if "rate" not in workload:
            return False
        from harmonysim.scenario import parse_rate

        per_s = math.ceil(parse_rate(str(workload["rate"])))

        def make(rate: int) -> Data:
            return {**self.data, "workload": {**self.data["workload"], "rate": format_rate(rate)}}

        return per_s > 1 and self.bisect(0, per_s, make, lambda n: f"rate {n}/s")

    def fewer_operations(self) -> bool:
        workload = self.data.get("workload", {})
        cap = int(workload.get("operations", self.result.operations + 1))
        cap = min(cap, self.result.operations + 1)

        def make(operations: int) -> Data:
            workload = {**self.data["workload"], "operations": operations}
            return {**self.data, "workload": workload}

        return cap > 1 and self.bisect(0, cap, make, lambda n: f"{n} operations per client")

    def shorter_faults(self) -> bool:
        changed = False
        for start, undo in undo_pairs(self.data):
            faults = self.data["faults"]
            begin_ms, end_ms = fault_at_ms(faults[start]), fault_at_ms(faults[undo])
            grains = math.ceil((end_ms - begin_ms) / DURATION_GRAIN_MS)

            def move(n: int, i: int = undo, b: float = begin_ms) -> Data:
                return set_fault_at(self.data, i, b + n * DURATION_GRAIN_MS)

            # One accepted move re-sorts the faults; the next round pairs them again.
            def describe(n: int, i: int = undo, j: int = start) -> str:
                return f"undo fault {i} {format_duration(n * DURATION_GRAIN_MS)} after fault {j}"

            if self.bisect(0, grains, move, describe):
                return True
        for index, fault in enumerate(self.data.get("faults", [])):
            if "nemesis" not in fault:
                continue
            begin_ms = fault_at_ms(fault)
            until_ms = parse_duration(str(fault["nemesis"]["until"]))
            grains = math.ceil((until_ms - begin_ms) / DURATION_GRAIN_MS)

            def make(n: int, i: int = index, b: float = begin_ms) -> Data:
                data: Data = {**self.data, "faults": [dict(f) for f in self.data["faults"]]}
                nemesis = {**data["faults"][i]["nemesis"]}
                nemesis["until"] = format_duration(b + n * DURATION_GRAIN_MS)
                data["faults"][i]["nemesis"] = nemesis
                return data

            def stop(n: int, i: int = index) -> str:
                return f"stop nemesis {i} after {format_duration(n * DURATION_GRAIN_MS)}"

            changed |= self.bisect(0, grains, make, stop)
        return changed

    def search(self) -> bool:
        """Apply every pass until none helps; True when the budget ran out first."""
        passes = (
            self.only_target_check,
            self.shorter_run,
            self.fewer_faults,
            self.unroll_nemeses,
            self.fewer_nodes,
            self.fewer_clients,
            self.lower_rate,
            self.fewer_operations,
            self.shorter_faults,
        )
        try:
            changed = True
            while changed:
                changed = False
                for step in passes:
                    changed |= step()
        except _BudgetSpent:
            return True
        return False


def shrink_scenario(
    scenario: Scenario,
    check: str,
    *,
    budget: int = DEFAULT_BUDGET,
    judge: Judge | None = None,
    on_run: RunHook | None = None,
) -> ShrinkReport:
    """A smaller scenario than ``scenario`` that still fails ``check`` (same seed and bugs).

    Raises `ShrinkError` when ``scenario`` does not fail ``check`` in its first run.
    """
    if budget < 1:
        raise ValueError(f"a shrink needs a budget of at least one run, got {budget}")
    shrinker = _Shrinker(scenario, check, budget, judge, on_run)
    before = ScenarioSize.of(scenario, shrinker.result)
    spent = shrinker.search()
    return ShrinkReport(
        check=check,
        original=scenario,
        shrunk=shrinker.scenario,
        before=before,
        after=ScenarioSize.of(shrinker.scenario, shrinker.result),
        runs=shrinker.runs,
        steps=tuple(shrinker.steps),
        budget_spent=spent,
    )
