"""Linearizability checking of client histories (Herlihy & Wing 1990).

A history is linearizable if every completed operation can be given a single
instant between its call and its return such that, in that order, the model
(a sequential specification, see ``models.py``) accepts every output.

Rules:
- Search: Wing & Gong's backtracking search with Lowe's memoization, as in
  Porcupine (Athalye 2017). Call and return events are sorted by time (calls
  before returns at equal times) into a doubly linked list. The candidates to
  linearize next are the calls before the first remaining return; linearizing
  one "lifts" its call and return out of the list, and backtracking puts them
  back (dancing links). A (linearized-set bitset, model state) pair already
  explored is never explored again: it failed before, since the search stops at
  the first success.
- Indeterminate (INFO) operations return at +infinity (Knossos, Porcupine): they
  may take effect anywhere after their call, or never. They get a call entry but
  no return entry, so they never block the search, and the search succeeds once
  every OK operation is linearized. Indeterminate read-only operations constrain
  nothing and are dropped up front.
- An indeterminate write whose value someone observed is searched as a completed one,
  returning when its first observer returned (``bound_observed_writes``: with values
  each written once, the read proves the write took effect before it), which keeps the
  search from trying it in every later place; verdicts are unchanged, and reports show
  the operation as recorded.
- Read-only operations (``Model.is_read_only``) are linearized eagerly: when one
  is legal now, linearizing it first never removes a valid continuation (it does
  not change the state, and every remaining operation returns after its call),
  so its siblings are not tried after it fails, and a read leading to an explored
  configuration proves the current one fails too.
- P-compositionality: ``Model.partition`` splits the history (per key for the
  KV store, a range scan merged with the keys written while it ran) and each part is
  checked alone, with the steps and state ``Model.compile_partition`` gives it;
  the history is linearizable iff every part is. Parts are searched round-robin
  in fixed slices of steps (the deterministic analogue of Porcupine's parallel
  search): the first violation decides, and parts still undecided at that point
  are reported UNKNOWN, so an easy violation is not hidden behind an exponential
  search of another key.
- Budgets: ``budget_steps`` bounds the search steps summed over all partitions
  (one step is one look at a list entry, or one backtrack; the search stops at
  the first lift or backtrack at or past the budget); when exhausted, each part still
  undecided gets the budget again for two lighter searches (``_per_key``): without
  the indeterminate writes no operation observed (linearizable so is OK, since each
  can be linearized last; nothing else is concluded), and, for a part merged for
  scans, key by key; failing both the verdict is UNKNOWN, deterministically.
  ``timeout_s`` adds a wall-clock bound for
  interactive use (the command line): with it, verdicts depend on the machine's
  speed and load, so it must not be used where results have to replay exactly.
- On a violation the result keeps the longest linearizable prefix found and the
  operations that could not be linearized after it; ``explain()`` renders them.
- A violation's problems (``LinearizabilityResult.problems``, in the shape of
  ``harmonysim.check.result.Problem``): one per violated partition, in the order of
  ``partitions``, at the call of the first operation (in call order) that cannot
  follow the longest linearizable prefix, until its return (None when it is
  indeterminate); its key is the partition's (the list of keys of a merged one,
  None for a register); its text names the key and the operation.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator, Hashable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from harmonysim.check.history import (
    UNKNOWN,
    CompletedOp,
    FailCas,
    FormatName,
    HistoryFormat,
    OpStatus,
    default_fail_cas,
    load_history_as,
    pair_operations,
)
from harmonysim.check.models import (
    REJECT,
    SCAN_KEY,
    KeyGroup,
    Model,
    OpInput,
    StepFunction,
    bound_observed_writes,
    get_model,
    project_scans,
    without_unobserved_writes,
)
from harmonysim.check.result import Problem

__all__ = [
    "LinearizabilityResult",
    "PartitionResult",
    "StuckOperation",
    "Verdict",
    "check",
    "check_history_file",
]

_SLICE_STEPS = 1 << 14
_EXPLAIN_PREFIX_TAIL = 8


class Verdict(StrEnum):
    """The outcome of a check."""

    OK = "ok"
    VIOLATION = "violation"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class StuckOperation:
    """An operation that could not be linearized after the longest prefix.

    ``accepted`` says whether the model accepts it in the prefix's final state
    (if so, every continuation after it failed later).
    """

    op: CompletedOp
    accepted: bool


@dataclass(frozen=True, slots=True)
class PartitionResult:
    """The verdict for one independent part of the history (one key for the KV store).

    For OK, ``linearization`` is a witness order of the operations that took
    effect (every OK operation, plus the INFO ones that had to). For a violation
    it is the longest linearizable prefix found, ``final_state`` the model state
    after it, ``stuck`` the operations that could be linearized next but fail,
    and ``deadline`` the first operation to return among the rest: it had to take
    effect by then.
    """

    key: object | None
    verdict: Verdict
    operation_count: int
    steps: int
    linearization: tuple[CompletedOp, ...] = ()
    final_state: Hashable = None
    stuck: tuple[StuckOperation, ...] = ()
    deadline: CompletedOp | None = None
    scans_per_key: bool = False
    """OK only key by key: the merged search ran out of budget, so each key was checked
    with the scans read as gets of it; the scans' atomicity across keys is unverified."""


@dataclass(frozen=True, slots=True)
class LinearizabilityResult:
    """The verdict for a whole history, with one result per partition.

    ``operations`` counts the history's operations; the partitions' counts may add up
    to more, since a scan is checked in every part holding a key of its range."""

    verdict: Verdict
    partitions: tuple[PartitionResult, ...]
    model: Model
    steps: int
    operations: int = 0

    @property
    def violations(self) -> tuple[PartitionResult, ...]:
        return tuple(part for part in self.partitions if part.verdict is Verdict.VIOLATION)

    def problems(self) -> list[Problem]:
        """The violated partitions as problems on the clock (see the module rules)."""
        found: list[Problem] = []
        for part in self.violations:
            op = part.stuck[0].op if part.stuck else part.deadline
            if op is None:
                continue
            keyed = isinstance(part.key, KeyGroup)
            key = part.key.to_json() if isinstance(part.key, KeyGroup) else part.key
            text = f"not linearizable on {_key_label(part.key)}: {_op_text(op, self.model, keyed)}"
            until = None if op.status is OpStatus.INFO else op.ret
            found.append(Problem(op.call, text, until, key))
        return found

    def explain(self) -> str:
        """A human-readable account of the verdict; for a violation, which key and
        which operations, with their call and return times."""
        model = self.model
        total_ops = self.operations
        lines: list[str] = []
        if self.verdict is Verdict.OK:
            lines.append(
                f"Linearizable ({model.name} model): {total_ops} operations in "
                f"{len(self.partitions)} partition(s), {self.steps} search steps."
            )
            per_key = [part for part in self.partitions if part.scans_per_key]
            if per_key:
                keys = ", ".join(_key_label(part.key) for part in per_key[:10])
                lines.append(
                    f"{len(per_key)} merged partition(s) out of budget were checked key by "
                    f"key ({keys}): their scans' atomicity across keys is unverified."
                )
            return "\n".join(lines)
        if self.verdict is Verdict.UNKNOWN:
            undecided = [part for part in self.partitions if part.verdict is Verdict.UNKNOWN]
            keys = ", ".join(_key_label(part.key) for part in undecided[:10])
            lines.append(
                f"Unknown ({model.name} model): the search budget or time ran out after "
                f"{self.steps} steps with {len(undecided)} partition(s) undecided ({keys})."
            )
            return "\n".join(lines)
        violations = self.violations
        abandoned = sum(1 for part in self.partitions if part.verdict is Verdict.UNKNOWN)
        lines.append(
            f"Not linearizable ({model.name} model): {len(violations)} of "
            f"{len(self.partitions)} partition(s) violated"
            + (f"; {abandoned} left undecided once a violation was found." if abandoned else ".")
        )
        for part in violations:
            lines.append("")
            lines.extend(_explain_partition(part, model))
        return "\n".join(lines)


def _key_label(key: object) -> str:
    if key is None:
        return "the register"
    if isinstance(key, KeyGroup):
        return str(key)
    return f"key {key!r}"


def _time_label(moment: float) -> str:
    return f"{moment:g}"


def _op_text(op: CompletedOp, model: Model, keyed: bool = False) -> str:
    """Who did what: ``keyed`` names the operation's key (a part of several)."""
    described = model.describe_operation(OpInput(op.f, op.key, op.input), op.output)
    if keyed and op.f not in ("scan", SCAN_KEY):
        described = f"{op.key!r} {described}"
    return f"process {op.process!r}: {described}"


def _op_label(op: CompletedOp, model: Model, keyed: bool = False) -> str:
    """One operation for an explanation, with its times."""
    if op.status is OpStatus.INFO:
        return f"{_op_text(op, model, keyed)}  (call {_time_label(op.call)}, indeterminate)"
    return (
        f"{_op_text(op, model, keyed)}  (call {_time_label(op.call)}, return {_time_label(op.ret)})"
    )


def _explain_partition(part: PartitionResult, model: Model) -> list[str]:
    prefix = part.linearization
    keyed = isinstance(part.key, KeyGroup)
    lines = [
        f"{_key_label(part.key)}: {part.operation_count} operations; the longest linearizable "
        f"prefix has {len(prefix)} operation(s), leaving the state "
        f"{model.describe_state(part.final_state)}."
    ]
    if prefix:
        shown = prefix[-_EXPLAIN_PREFIX_TAIL:]
        if len(prefix) > len(shown):
            lines.append(f"  ... {len(prefix) - len(shown)} earlier operation(s), then:")
        else:
            lines.append("  In order:")
        lines.extend(f"    {_op_label(op, model, keyed)}" for op in shown)
    if part.deadline is not None:
        deadline = part.deadline
        described = model.describe_operation(
            OpInput(deadline.f, deadline.key, deadline.input), deadline.output
        )
        lines.append(
            f"  Next, an operation had to take effect before process {deadline.process!r}'s "
            f"{described} returned at {_time_label(deadline.ret)}, but none can:"
        )
    else:
        lines.append("  Next, none of these operations can take effect:")
    for stuck in part.stuck:
        reason = (
            "accepted here, but nothing can follow it"
            if stuck.accepted
            else "impossible in that state"
            if keyed
            else f"impossible in state {model.describe_state(part.final_state)}"
        )
        lines.append(f"    {_op_label(stuck.op, model, keyed)}: {reason}")
    return lines


_Search = Generator[int, int, PartitionResult]
"""A resumable partition search: yields its step count at each checkpoint and
receives the next checkpoint (a step count); returns the partition's result."""


def check(
    ops: Sequence[CompletedOp],
    model: Model,
    *,
    budget_steps: int | None = None,
    timeout_s: float | None = None,
) -> LinearizabilityResult:
    """Check that ``ops`` (from ``pair_operations``) are linearizable with respect to ``model``.

    Partitions are searched round-robin in slices of steps (deterministically, as
    Porcupine runs them in parallel): the first violation found decides the
    verdict, and the partitions still undecided then are left UNKNOWN.
    ``budget_steps`` bounds the total search steps (deterministic; the search
    stops at the first lift or backtrack at or past it); ``timeout_s`` bounds
    wall-clock time (machine-dependent: for interactive use only). Either running
    out yields ``Verdict.UNKNOWN`` unless a violation was already found.
    """
    if budget_steps is not None and budget_steps < 0:
        raise ValueError("budget_steps must be >= 0")
    deadline = None if timeout_s is None else time.perf_counter() + timeout_s
    groups = model.partition(ops)
    keys = [model.partition_key(group) for group in groups]
    results: list[PartitionResult | None] = [None] * len(groups)
    searches: dict[int, _Search] = {}
    used: list[int] = [0] * len(groups)
    for index, group in enumerate(groups):
        search = _search_partition(group, model, keys[index])
        try:
            next(search)
        except StopIteration as finished:  # trivial partitions finish before any step
            results[index] = finished.value
            used[index] = finished.value.steps
            continue
        searches[index] = search
    active = sorted(searches)
    violated = False  # no search can fail before its first step
    spent = sum(used)  # kept equal to sum(used): summing per slice is quadratic in partitions
    while active and not violated:
        still_active: list[int] = []
        exhausted = False
        for index in active:
            allowance = _SLICE_STEPS
            if budget_steps is not None:
                allowance = min(allowance, budget_steps - spent)
            if allowance <= 0 or (deadline is not None and time.perf_counter() >= deadline):
                exhausted = True
                break
            before = used[index]
            try:
                used[index] = searches[index].send(before + allowance)
                spent += used[index] - before
            except StopIteration as finished:
                result: PartitionResult = finished.value
                results[index] = result
                used[index] = result.steps
                spent += result.steps - before
                if result.verdict is Verdict.VIOLATION:
                    violated = True
                    break
                continue
            still_active.append(index)
        if exhausted:
            break
        active = still_active
    for search in searches.values():
        search.close()
    final = tuple(
        result
        if result is not None
        else _per_key(groups[index], model, keys[index], used[index], budget_steps)
        for index, result in enumerate(results)
    )
    verdicts = {part.verdict for part in final}
    if Verdict.VIOLATION in verdicts:
        verdict = Verdict.VIOLATION
    elif Verdict.UNKNOWN in verdicts:
        verdict = Verdict.UNKNOWN
    else:
        verdict = Verdict.OK
    return LinearizabilityResult(verdict, final, model, sum(used), len(ops))


def _per_key(
    group: Sequence[CompletedOp],
    model: Model,
    key: object | None,
    used: int,
    budget_steps: int | None,
) -> PartitionResult:
    """An undecided part, searched again with the budget as two lighter problems:

    - without the indeterminate writes no one observed (``without_unobserved_writes``):
      linearizable so is OK (each can be linearized last); anything else decides
      nothing;
    - when it merged keys for scans, key by key (``project_scans``): a violation there
      is a violation of the part; all passing is OK with ``scans_per_key`` (cross-key
      atomicity unverified).

    Else UNKNOWN."""
    steps = used
    lighter = without_unobserved_writes(group)
    if len(lighter) < len(group):
        result = check(lighter, model, budget_steps=budget_steps)
        steps += result.steps
        if result.verdict is Verdict.OK:
            per_key = any(part.scans_per_key for part in result.partitions)
            return PartitionResult(key, Verdict.OK, len(group), steps, scans_per_key=per_key)
    unknown = PartitionResult(key, Verdict.UNKNOWN, len(group), steps)
    if not any(op.f == "scan" for op in group):
        return unknown
    projected = [op for part in project_scans(group) for op in part]
    if not projected:
        return unknown
    result = check(projected, model, budget_steps=budget_steps)
    steps += result.steps
    if result.verdict is Verdict.VIOLATION:
        return replace(result.violations[0], operation_count=len(group), steps=steps)
    if result.verdict is Verdict.UNKNOWN:
        return replace(unknown, steps=steps)
    return PartitionResult(key, Verdict.OK, len(group), steps, scans_per_key=True)


def check_history_file(
    path: str | Path,
    model_name: str,
    fmt: FormatName | HistoryFormat = "auto",
    *,
    fail_cas: FailCas | None = None,
    budget_steps: int | None = None,
    timeout_s: float | None = None,
) -> LinearizabilityResult:
    """Load, pair and check a history file with the named model (``register``, ``kv``).

    ``fail_cas`` None reads a failed cas as the format implies (``default_fail_cas``)."""
    model = get_model(model_name)
    events, resolved = load_history_as(path, fmt)
    reading = default_fail_cas(resolved) if fail_cas is None else fail_cas
    ops = pair_operations(events, source=str(path), fail_cas=reading)
    return check(ops, model, budget_steps=budget_steps, timeout_s=timeout_s)


def _search_partition(group: Sequence[CompletedOp], model: Model, key: object | None) -> _Search:
    """Wing & Gong / Lowe search over one partition (see the module rules)."""
    # Operations in call order; indeterminate read-only ones constrain nothing.
    ops: list[CompletedOp] = []
    for op in sorted(group, key=lambda op: (op.call, op.invoke_index)):
        op_input = OpInput(op.f, op.key, op.input)
        if op.status is OpStatus.INFO and model.is_read_only(op_input, UNKNOWN):
            continue
        ops.append(op)
    count = len(ops)
    # Searched with the observed indeterminate writes bounded (same order, same length);
    # reported as they were recorded.
    searched = bound_observed_writes(ops)
    compiled = model.compile_partition(searched)
    step_of = compiled.steps
    read_only = compiled.read_only
    export_state = compiled.export_state
    required = [op.status is OpStatus.OK for op in searched]
    bit = [1 << index for index in range(count)]

    # Entries: 0 is the head sentinel, 1..m the events in time order, m+1 the tail.
    events: list[tuple[float, int, int]] = []  # (time, 0 call / 1 return, op)
    for index, op in enumerate(searched):
        events.append((op.call, 0, index))
        if required[index]:
            events.append((op.ret, 1, index))
    events.sort()
    size = len(events)
    tail = size + 1
    # op_of: the operation of a call entry; -1 for returns and sentinels.
    op_of = [-1] + [op_index if kind == 0 else -1 for _, kind, op_index in events] + [-1]
    match = [0] * (size + 2)  # a call's return entry, or 0 for indeterminate operations
    call_entry = [0] * count
    for entry, (_, kind, op_index) in enumerate(events, start=1):
        if kind == 0:
            call_entry[op_index] = entry
        else:
            match[call_entry[op_index]] = entry
    nxt = [*range(1, size + 2), tail]
    prv = [0, *range(0, size + 1)]

    remaining = sum(required)
    state: Hashable = compiled.init
    bits = 0
    cache: dict[Hashable, set[int]] = {}  # state -> linearized sets explored with it
    stack_entries: list[int] = []
    stack_states: list[Hashable] = []
    best_prefix: list[int] = []
    best_length = 0
    best_state: Hashable = state
    steps = 0
    entry = nxt[0]
    if not remaining:
        return PartitionResult(key, Verdict.OK, len(group), steps, (), export_state(state))
    checkpoint = yield steps

    while remaining:
        steps += 1
        op_index = op_of[entry]
        if op_index >= 0:
            new_state = step_of[op_index](state)
            if new_state is not REJECT:
                new_bits = bits | bit[op_index]
                seen = cache.get(new_state)
                if seen is None:
                    seen = cache[new_state] = set()
                if new_bits not in seen:
                    seen.add(new_bits)
                    stack_entries.append(entry)
                    stack_states.append(state)
                    state = new_state
                    bits = new_bits
                    # lift the call, then its return
                    before = prv[entry]
                    after = nxt[entry]
                    nxt[before] = after
                    prv[after] = before
                    ret_entry = match[entry]
                    if ret_entry:
                        remaining -= 1
                        before = prv[ret_entry]
                        after = nxt[ret_entry]
                        nxt[before] = after
                        prv[after] = before
                    entry = nxt[0]
                    if steps >= checkpoint:
                        checkpoint = yield steps
                    continue
                if not read_only[op_index]:
                    entry = nxt[entry]
                    continue
                # A legal read-only operation leads to an explored configuration:
                # this configuration fails too (see the module rules).
            else:
                entry = nxt[entry]
                continue
        elif len(stack_entries) > best_length:
            best_prefix = stack_entries.copy()
            best_length = len(best_prefix)
            best_state = state
        # Dead end: undo linearized operations until one that may be replaced.
        while True:
            if not stack_entries:
                return _violation(
                    ops,
                    key,
                    steps,
                    best_prefix,
                    best_state,
                    op_of,
                    step_of,
                    len(group),
                    export_state,
                )
            entry = stack_entries.pop()
            state = stack_states.pop()
            op_index = op_of[entry]
            bits ^= bit[op_index]
            ret_entry = match[entry]
            if ret_entry:
                remaining += 1
                nxt[prv[ret_entry]] = ret_entry
                prv[nxt[ret_entry]] = ret_entry
            nxt[prv[entry]] = entry
            prv[nxt[entry]] = entry
            if not read_only[op_index]:
                break
        entry = nxt[entry]
        if steps >= checkpoint:
            checkpoint = yield steps

    witness = tuple(ops[op_of[entry]] for entry in stack_entries)
    return PartitionResult(key, Verdict.OK, len(group), steps, witness, export_state(state))


def _violation(
    ops: list[CompletedOp],
    key: object | None,
    steps: int,
    best_prefix: list[int],
    best_state: Hashable,
    op_of: list[int],
    step_of: list[StepFunction],
    group_size: int,
    export_state: Callable[[Hashable], Hashable],
) -> PartitionResult:
    prefix_ops = [op_of[entry] for entry in best_prefix]
    done = set(prefix_ops)
    rest = [index for index in range(len(ops)) if index not in done]
    required_rest = [index for index in rest if ops[index].status is OpStatus.OK]
    deadline_index = min(required_rest, key=lambda index: (ops[index].ret, index), default=None)
    cutoff = math.inf if deadline_index is None else ops[deadline_index].ret
    stuck: list[StuckOperation] = []
    for index in rest:
        op = ops[index]
        if op.call > cutoff:  # calls sort before returns at equal times
            continue
        stuck.append(StuckOperation(op, step_of[index](best_state) is not REJECT))
    return PartitionResult(
        key,
        Verdict.VIOLATION,
        group_size,
        steps,
        tuple(ops[index] for index in prefix_ops),
        export_state(best_state),
        tuple(stuck),
        None if deadline_index is None else ops[deadline_index],
    )
