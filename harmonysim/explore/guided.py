"""Guided exploration: keep the fault schedules that reached new ground, and mutate them.

After Mallory (CCS 2023) and coverage-guided fuzzers: random seeds of a scenario are
run first; each run's coverage (``harmonysim.explore.coverage``) is compared with
everything seen so far, and a run that reached a new feature joins the corpus as an
explicit schedule (its nemesis unrolled into the faults it made, ``unroll_nemesis``).
Then every further run is a mutation of a corpus entry, drawn with a weight that
favours rare ground (as AFLFast gives energy to inputs on rarely taken paths): the
sum, over the entry's features, of one over the number of runs that covered each.

Rules:
- Everything is drawn from ``random.Random(f"guided/{seed}")``; runs go to the pool in
  batches of ``batch_runs`` (mutations draw from the corpus as it stood before the
  batch) and results are taken in task order, so a guided exploration is a function of
  the scenario, the bugs, the budget, the batch size and its seed, whatever the pool
  and its worker count.
- Mutations keep a schedule a valid scenario (each candidate is built by
  ``parse_scenario``, an invalid one is drawn again): move a fault in time, drop one,
  aim one at another node or at the leader, stretch or shorten a fault's ``for``, add
  a fault of a kind the scenario's nemesis uses, follow a fault 1-20ms later by one of
  another kind on the node it struck, make a fault wait for the next election and
  strike the new leader (``when: leader_elected``, as the nemesis's ``chain`` and
  ``on_election``), or change the run's seed (its workload and network draws). A
  corpus entry keeps the settings its seed drew from the scenario's ``swarm`` (pinned,
  each to the one value drawn), so a new seed explores the same configuration: most
  bugs show under one setting, and a run that reached new ground did so under its own.
  No mutated fault outlasts the original schedule's last fault, so the scenario's
  quiet tail (liveness) is kept.
- The budget counts runs, the initial random seeds included; the exploration stops at
  the first failing run unless asked to go on. With ``detections_only`` (the power
  measurement of ``mutants``), a run whose simulation raised is not a failure, as in
  ``harmonysim.explore.power``: it finds a crash of the simulator, not the bug.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harmonysim.explore.edits import Data, build, fault_at_ms, fault_kind, unroll_nemesis
from harmonysim.explore.pool import EXCEPTION_CHECK, SeedPool, SeedResult, SeedTask, sweep
from harmonysim.explore.verdict import RunStatus
from harmonysim.scenario import Scenario, format_duration, parse_duration, scenario_to_data
from harmonysim.sim.swarm import drawn_values

__all__ = ["GuidedReport", "explore_guided", "rarity"]

_NODE_FAULTS = ("crash", "pause")
_MAX_DRAWS = 20


@dataclass(frozen=True, slots=True)
class GuidedReport:
    runs: int
    cpu_seconds: float
    features: int
    corpus: int
    first_failure: SeedResult | None
    first_failure_run: int | None  # 1-based position in the exploration
    cpu_seconds_to_first: float | None
    failing_data: Data | None = None  # the failing scenario, to save and run again
    wall_seconds: float = 0.0
    growth: tuple[int, ...] = field(default=())  # features known after each batch

    def to_json(self) -> dict[str, Any]:
        failure = self.first_failure
        cpu = self.cpu_seconds_to_first
        return {
            "runs": self.runs,
            "cpu_seconds": round(self.cpu_seconds, 3),
            "features": self.features,
            "corpus": self.corpus,
            "first_failure_run": self.first_failure_run,
            "cpu_seconds_to_first_failure": round(cpu, 3) if cpu is not None else None,
            "failed_checks": list(failure.failed_checks) if failure is not None else [],
        }


def _explicit(data: Data, result: SeedResult) -> Data:
    """``data`` with each nemesis replaced by what it did in ``result``, when that is a
    valid scenario (a nemesis may cut shapes a file may not write, such as a ring of
    three nodes: such a nemesis stays as it is), and its swarmed settings pinned to what
    its seed drew, so a mutation that changes the seed keeps them."""
    if data.get("swarm"):
        built = build(data, "guided candidate")
        if built is not None:
            pinned = {path: [value] for path, value in drawn_values(built).items()}
            data = {**data, "swarm": pinned}
    for index in reversed(range(len(data.get("faults") or []))):
        if "nemesis" in data["faults"][index]:
            unrolled = unroll_nemesis(data, index, result.fault_events)
            if unrolled is not None and build(unrolled, "guided candidate") is not None:
                data = unrolled
    return data


def rarity(features: frozenset[str], hits: dict[str, int]) -> float:
    """A corpus entry's weight: the sum over its ``features`` of one over the number of
    runs that covered each (``hits``). Summed in sorted order, so the float, and the
    draw it weighs, do not depend on string hashing."""
    return sum(1.0 / hits[feature] for feature in sorted(features))


class _Mutator:
    """Draws mutated schedules of a scenario (see the module rules)."""

    def __init__(self, scenario: Scenario, rng: random.Random) -> None:
        self.rng = rng
        self.nodes = [f"n{index}" for index in range(1, len(scenario.node_ids) + 1)]
        kinds: list[str] = []
        cap_ms = 0.0
        interval_ms = 1000.0
        for fault in scenario.faults:
            cap_ms = max(cap_ms, fault.last_ms(scenario.duration_ms))
            if fault.nemesis is not None:
                kinds.extend(fault.nemesis.kinds)
                interval_ms = fault.nemesis.interval_ms
            else:
                kinds.append(fault.kind.value)
        self.kinds = sorted(set(kinds) & {"crash", "pause", "partition", "clog", "transfer"})
        self.cap_ms = cap_ms or scenario.duration_ms * 0.8
        self.interval_ms = interval_ms

    def mutate(self, parent: Data) -> Data:
        child = copy.deepcopy(parent)
        for _ in range(self.rng.randint(1, 3)):
            operator = self.rng.choice(
                [
                    self._shift,
                    self._drop,
                    self._retarget,
                    self._stretch,
                    self._add,
                    self._reseed,
                    self._chain,
                    self._on_election,
                ]
            )
            operator(child)
        child["faults"] = sorted(child.get("faults") or [], key=fault_at_ms)
        return child

    def _pick(self, data: Data) -> dict[str, Any] | None:
        faults = [f for f in data.get("faults") or [] if "nemesis" not in f]
        return self.rng.choice(faults) if faults else None

    def _duration(self, at_ms: float) -> str:
        """A fault's length from ``at_ms``: half to three intervals, ending by the cap."""
        lasting_ms = self.interval_ms * self.rng.choice([0.5, 1.0, 2.0, 3.0])
        return format_duration(max(1.0, round(min(lasting_ms, self.cap_ms - at_ms))))

    def _shift(self, data: Data) -> None:
        fault = self._pick(data)
        if fault is not None:
            at_ms = fault_at_ms(fault) + self.rng.uniform(-1.0, 1.0) * self.interval_ms
            fault["at"] = format_duration(round(min(max(at_ms, 0.0), self.cap_ms)))

    def _drop(self, data: Data) -> None:
        fault = self._pick(data)
        if fault is not None:
            data["faults"].remove(fault)

    def _target(self) -> str:
        return "leader" if self.rng.random() < 0.5 else self.rng.choice(self.nodes)

    def _retarget(self, data: Data) -> None:
        fault = self._pick(data)
        if fault is None:
            return
        kind = fault_kind(fault)
        if kind in _NODE_FAULTS:
            fault[kind] = self._target()
        elif kind == "partition" and "isolate" in fault["partition"]:
            fault["partition"] = {"isolate": self._target()}

    def _stretch(self, data: Data) -> None:
        fault = self._pick(data)
        if fault is not None and "for" in fault:
            lasting_ms = parse_duration(str(fault["for"])) * self.rng.choice([0.5, 2.0])
            room_ms = self.cap_ms - fault_at_ms(fault)
            if room_ms >= 1.0:
                fault["for"] = format_duration(max(1.0, round(min(lasting_ms, room_ms))))

    def _add(self, data: Data) -> None:
        if not self.kinds:
            return
        kind = self.rng.choice(self.kinds)
        at_ms = round(self.rng.uniform(0.0, self.cap_ms - self.interval_ms))
        fault: dict[str, Any] = {"at": format_duration(max(0.0, at_ms))}
        if kind in _NODE_FAULTS:
            fault[kind] = self._target()
        elif kind == "partition":
            fault["partition"] = {"isolate": self._target()}
        elif kind == "clog":
            source, target = self.rng.sample(self.nodes, 2)
            fault["clog"] = {"from": source, "to": target, "both_ways": True}
        else:
            fault["transfer"] = {"to": "any"}
        if kind != "transfer":
            fault["for"] = self._duration(max(0.0, at_ms))
        data.setdefault("faults", []).append(fault)

    def _victim(self, fault: dict[str, Any]) -> str | None:
        """The node a fault strikes, when it names one."""
        kind = fault_kind(fault)
        if kind in _NODE_FAULTS:
            return str(fault[kind])
        if kind == "partition" and "isolate" in fault["partition"]:
            return str(fault["partition"]["isolate"])
        return None

    def _chain(self, data: Data) -> None:
        """Follow a fault 1-20ms later by another of a new kind on the node it struck (as
        the nemesis's ``chain``): a paused leader also cut off, a crash after an isolation."""
        fault = self._pick(data)
        if fault is None or "when" in fault:
            return
        victim = self._victim(fault) or self._target()
        kinds = [kind for kind in self.kinds if kind != fault_kind(fault) and kind != "clog"]
        if not kinds:
            return
        kind = self.rng.choice(kinds)
        at_ms = min(fault_at_ms(fault) + self.rng.randint(1, 20), self.cap_ms)
        follower: dict[str, Any] = {"at": format_duration(at_ms)}
        if kind in _NODE_FAULTS:
            follower[kind] = victim
        elif kind == "partition":
            follower["partition"] = {"isolate": victim}
        else:
            follower["transfer"] = {"to": "any"}
        if kind != "transfer":
            follower["for"] = self._duration(at_ms)
        data.setdefault("faults", []).append(follower)

    def _on_election(self, data: Data) -> None:
        """Make a fault wait, from its time until the next step, for the next leader to be
        elected and strike it at once (as the nemesis's ``on_election``)."""
        fault = self._pick(data)
        if fault is None or "when" in fault:
            return
        kind = fault_kind(fault)
        if kind in _NODE_FAULTS:
            fault[kind] = "leader"
        elif kind == "partition":
            fault["partition"] = {"isolate": "leader"}
        elif kind != "transfer":
            return
        fault["when"] = "leader_elected"
        fault["until"] = format_duration(min(fault_at_ms(fault) + self.interval_ms, self.cap_ms))

    def _reseed(self, data: Data) -> None:
        data["seed"] = self.rng.randint(1, 2**31)


def explore_guided(
    scenario: Scenario,
    pool: SeedPool,
    *,
    bugs: Sequence[str] = (),
    budget_runs: int = 200,
    initial_seeds: int = 10,
    seed: int = 1,
    batch_runs: int = 8,
    stop_at_first_failure: bool = True,
    detections_only: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> GuidedReport:
    """Explore ``scenario`` guided by coverage for ``budget_runs`` runs (see the rules)."""
    rng = random.Random(f"guided/{seed}")
    mutator = _Mutator(scenario, rng)
    base = scenario_to_data(scenario)
    seen: set[str] = set()
    hits: dict[str, int] = {}  # feature -> how many runs covered it
    corpus: list[tuple[Data, frozenset[str]]] = []  # schedules and what each covered
    runs = 0
    cpu = 0.0
    growth: list[int] = []
    first: tuple[SeedResult, int, float, Data] | None = None
    started = time.perf_counter()
    batch = max(1, batch_runs)
    while runs < budget_runs:
        count = min(batch, budget_runs - runs)
        candidates: list[tuple[Data, Scenario]] = []
        while len(candidates) < count:
            position = runs + len(candidates)
            built: Scenario | None = None
            if position < initial_seeds or not corpus:
                data = {**copy.deepcopy(base), "seed": position + 1}
                built = build(data, "guided candidate")
            else:
                weights = [rarity(features, hits) for _, features in corpus]
                parent = rng.choices([entry for entry, _ in corpus], weights=weights)[0]
                for _ in range(_MAX_DRAWS):
                    data = mutator.mutate(parent)
                    built = build(data, "guided candidate")
                    if built is not None:
                        break
                if built is None:  # no valid mutation drawn: run the parent again, reseeded
                    data = {**copy.deepcopy(parent), "seed": rng.randint(1, 2**31)}
                    built = build(data, "guided candidate")
            if built is None:
                raise ValueError("guided exploration: the scenario itself does not build")
            candidates.append((data, built))
        tasks = [
            SeedTask(
                scenario=built,
                seed=built.seed,
                bugs=tuple(bugs),
                group="guided",
                fault_events=True,
                coverage=True,
            )
            for _, built in candidates
        ]
        results = sweep(pool, tasks)
        for (data, _), result in zip(candidates, results, strict=True):
            runs += 1
            cpu += result.cpu_seconds
            failed = result.status is RunStatus.FAIL and not (
                detections_only and EXCEPTION_CHECK in result.failed_checks
            )
            if failed and first is None:
                first = (result, runs, cpu, _explicit(data, result))
                if stop_at_first_failure:
                    break
            for feature in result.coverage:
                hits[feature] = hits.get(feature, 0) + 1
            new = result.coverage - seen
            if new:
                seen |= new
                corpus.append((_explicit(data, result), result.coverage))
        growth.append(len(seen))
        if progress is not None:
            progress(runs, len(seen))
        if first is not None and stop_at_first_failure:
            break
    return GuidedReport(
        runs=runs,
        cpu_seconds=cpu,
        features=len(seen),
        corpus=len(corpus),
        first_failure=first[0] if first is not None else None,
        first_failure_run=first[1] if first is not None else None,
        cpu_seconds_to_first=first[2] if first is not None else None,
        failing_data=first[3] if first is not None else None,
        wall_seconds=time.perf_counter() - started,
        growth=tuple(growth),
    )
