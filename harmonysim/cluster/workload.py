"""Workload generation: which operation a client runs next, on which key, with which value.

Rules:
- Every draw comes from the client's own seeded stream, so adding a client does
  not change what the others do.
- Keys are ``k0000`` .. ``k{count-1}``; ``uniform`` picks them evenly, ``zipf``
  with probability proportional to ``1 / rank**exponent`` (rank 1 = ``k0000``).
- Written values are unique across the run (``client * 1_000_000 + seq``), so a
  read identifies the write it saw: linearizability checking gets its full power.
- cas expects a recently seen value of the key (or a fresh one, which will
  fail), so both outcomes occur.
"""

from __future__ import annotations

import bisect
import itertools
import random
from typing import TYPE_CHECKING, Any

from harmonysim.cluster.commands import Op, Operation

if TYPE_CHECKING:
    from harmonysim.scenario import Workload

__all__ = ["OperationGenerator", "key_name"]

VALUE_SPACE = 1_000_000


def key_name(rank: int) -> str:
    return f"k{rank:04d}"


class OperationGenerator:
    """Draws operations for one client according to the scenario's workload."""

    def __init__(self, workload: Workload, client_number: int, rng: random.Random) -> None:
        self._rng = rng
        self._client_number = client_number
        # A fixed operation order (not the file's): the same mix draws the same operations
        # however its mapping was written.
        self._ops = [op for op in Op if op.value in workload.mix]
        self._op_weights = list(itertools.accumulate(workload.mix[op.value] for op in self._ops))
        count = workload.keys.count
        if workload.keys.distribution == "zipf":
            weights = [1.0 / (rank**workload.keys.zipf_exponent) for rank in range(1, count + 1)]
        else:
            weights = [1.0] * count
        self._key_weights = list(itertools.accumulate(weights))
        self._key_count = count
        self._seen: dict[str, Any] = {}

    def _pick(self, cumulative: list[float]) -> int:
        point = self._rng.random() * cumulative[-1]
        return min(bisect.bisect_right(cumulative, point), len(cumulative) - 1)

    def next(self, seq: int) -> Operation:
        op = self._ops[self._pick(self._op_weights)]
        key = key_name(self._pick(self._key_weights))
        value = self._client_number * VALUE_SPACE + seq
        if op is Op.PUT:
            return Operation(op, key, value)
        if op is Op.CAS:
            expected = self._seen.get(key)
            if expected is None or self._rng.random() < 0.25:
                expected = self._client_number * VALUE_SPACE + self._rng.randrange(1, seq + 1)
            return Operation(op, key, (expected, value))
        if op is Op.SCAN:
            high = min(self._key_count - 1, int(key[1:]) + 1 + self._rng.randrange(10))
            return Operation(op, key, key_name(high))
        return Operation(op, key)

    def observe(self, operation: Operation, result: Any) -> None:
        """Remember values seen, so later cas operations expect plausible ones."""
        if operation.f is Op.GET and result is not None:
            self._seen[operation.key] = result
        elif operation.f is Op.PUT:
            self._seen[operation.key] = operation.value
        elif operation.f is Op.CAS:
            self._seen[operation.key] = operation.value[1]
