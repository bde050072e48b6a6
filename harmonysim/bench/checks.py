"""The checkers at scale: linearizability and replica agreement on a large history.

Rules:
- The history is synthetic but honest: ``keys`` loaded records (the checker's initial
  state, as a load phase gives it) and ``operations`` gets and puts by ``processes``
  clients, each operation linearized at a point inside its own interval (call before
  it, return after it, drawn from a seeded stream), overlapping the other processes'
  operations, and each get returning the value of the store at its point. So the
  history is linearizable and the search must find that out, key by key
  (P-compositionality, Horn & Kroening 2015).
- Replica agreement is measured as the run's check does it (``check.replicas``):
  every replica's tree passes ``check_invariants`` and the replicas' items are
  compared (``first_difference``), here on ``replicas`` trees holding the final store.
- Wall times come from ``time.perf_counter``, CPU times from ``time.process_time`` (on a
  shared machine the wall time is the CPU time stretched by the load); reported only.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from harmonysim.btree import BPlusTree
from harmonysim.check.replicas import first_difference
from harmonysim.check.run_history import check_run_history
from harmonysim.scenario import key_name

__all__ = ["CheckBenchmark", "run_check_benchmark", "synthetic_history"]

LINEARIZABILITY_BUDGET_S = 20.0
"""The budget, in CPU seconds, for checking 100,000 keys and 100,000 operations (measured:
6.5 s; the wall time on a shared machine is that stretched by the load)."""


@dataclass(frozen=True)
class CheckBenchmark:
    keys: int
    operations: int
    verdict: str
    partitions: int
    steps: int
    linearizability_seconds: float
    linearizability_cpu_seconds: float
    replicas: int
    replica_seconds: float
    replica_cpu_seconds: float


def synthetic_history(
    keys: int, operations: int, processes: int = 10, seed: int = 1
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """History rows (``history.jsonl``) and the initial values (see the module rules)."""
    rng = random.Random(f"{seed}/bench/checks")
    digits = max(4, len(str(keys - 1)))
    store = {key_name(number, digits): number for number in range(keys)}
    initial = dict(store)
    # Operation i is linearized at time 10 * i; a process runs every processes-th one,
    # with its call and return at most 4 * processes before and after that point, so
    # its own operations never overlap and everyone else's do.
    reach = 4.0 * processes
    events: list[tuple[float, int, dict[str, Any]]] = []
    for number in range(operations):
        process = number % processes
        point = 10.0 * number
        call = point - rng.uniform(0.0, reach)
        ret = point + rng.uniform(0.0, reach)
        key = key_name(rng.randrange(keys), digits)
        if rng.random() < 0.5:
            value = (process + 1) * 1_000_000 + number
            store[key] = value
            invoke = {"process": process, "type": "invoke", "f": "put", "key": key, "value": value}
            done = {**invoke, "type": "ok"}
        else:
            invoke = {"process": process, "type": "invoke", "f": "get", "key": key, "value": None}
            done = {**invoke, "type": "ok", "value": store.get(key)}
        events.append((call, 0, {**invoke, "time": call}))
        events.append((ret, 1, {**done, "time": ret}))
    events.sort(key=lambda event: (event[0], event[1]))
    rows = [{**row, "index": index} for index, (_, _, row) in enumerate(events)]
    return rows, initial


def run_check_benchmark(
    keys: int, operations: int, *, replicas: int = 5, seed: int = 1
) -> CheckBenchmark:
    rows, initial = synthetic_history(keys, operations, seed=seed)
    started, cpu = time.perf_counter(), time.process_time()
    result = check_run_history(rows, initial=initial, budget_steps=max(2_000_000, 20 * operations))
    linearizability_seconds = time.perf_counter() - started
    linearizability_cpu_seconds = time.process_time() - cpu
    final: dict[str, Any] = dict(initial)
    for row in rows:
        if row["type"] == "ok" and row["f"] == "put":
            final[row["key"]] = row["value"]
    items = sorted(final.items())
    trees = [BPlusTree[str, Any].from_sorted_items(items) for _ in range(replicas)]
    started, cpu = time.perf_counter(), time.process_time()
    snapshots = []
    for tree in trees:
        tree.check_invariants()
        snapshots.append(tree.snapshot())
    for snapshot in snapshots[1:]:
        if first_difference(snapshots[0], snapshot) is not None:
            raise AssertionError("identical replicas differ")
    replica_seconds = time.perf_counter() - started
    replica_cpu_seconds = time.process_time() - cpu
    return CheckBenchmark(
        keys=keys,
        operations=operations,
        verdict=result.status.value,
        partitions=int(result.details.get("partitions", 0)),
        steps=int(result.details.get("steps", 0)),
        linearizability_seconds=round(linearizability_seconds, 3),
        linearizability_cpu_seconds=round(linearizability_cpu_seconds, 3),
        replicas=replicas,
        replica_seconds=round(replica_seconds, 3),
        replica_cpu_seconds=round(replica_cpu_seconds, 3),
    )
