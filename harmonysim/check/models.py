"""Sequential specifications that the linearizability checker judges histories against.

Rules (the Porcupine model interface, Athalye 2017; P-compositionality after
Horn & Kroening, "Faster linearizability checking via P-compositionality", 2015):
- A model is a deterministic state machine: ``init()`` is the initial state and
  ``step(state, input, output)`` says whether an operation with this input could
  have returned this output in ``state``, and the state after it. States must be
  hashable and compare by value: the checker memoizes (linearized set, state).
- An operation's input is ``OpInput(f, key, value)``; its output is the value the
  client observed, or ``UNKNOWN`` for an indeterminate (timed-out) operation. An
  ``UNKNOWN`` output constrains nothing, but the operation may still have taken
  effect (a timed-out write may have been applied).
- ``compile_step(input, output)`` returns the same transition as a one-argument
  function returning the new state or ``REJECT``: the checker precomputes one per
  operation so its hot loop makes a single call per attempt.
- ``is_read_only(input, output)`` is true when the operation leaves every state
  unchanged. The checker may then linearize it as soon as it is legal (doing so
  never removes a valid continuation) and drop it when its output is unknown.
- ``partition(ops)`` splits a history into independent sub-histories (by key for
  the KV store; the single register is one partition), in a deterministic order.
  ``compile_partition(ops)`` gives one part's initial state and a compiled step per
  operation (a partition of several keys has a state over all of them), and
  ``partition_key(ops)`` names the part in reports.
- Failed operations (Jepsen ``:fail``) never reach a model: they did not happen. A
  cas whose compare failed reaches it as an OK cas with output ``False`` (see
  ``harmonysim.check.history.FailCas``).
- Range scans (kv): a scan ``[low, high]`` must observe, for every key in its range,
  one state of the store. A key of its range with a write overlapping the scan in
  real time is merged with the scan into one partition (union-find: scans that
  share such keys merge too); a key of its range without one holds a single value
  throughout the scan in every linearization of that key, so the scan's view of it
  is checked in the key's own partition as a get (``SCAN_KEY``). Keys no scan
  touches stay alone: P-compositionality still holds between the parts. A merged
  part's state is the tuple of its keys' values, in key order.
- Initial state (kv): ``KvModel(initial=...)`` starts the keys it names at those
  values (a load phase the history leaves out); the others start absent. A key
  initially present in an OK scan's range belongs to the scan's keys even when no
  operation names it, so a scan that missed it is caught.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, Final, Protocol

from harmonysim.check.history import UNKNOWN, CompletedOp, OpStatus, Value

__all__ = [
    "MODELS",
    "REJECT",
    "SCAN_KEY",
    "CompiledPartition",
    "KeyGroup",
    "KvModel",
    "KvSnapshot",
    "Model",
    "ModelError",
    "OpInput",
    "RegisterModel",
    "Rejected",
    "StepFunction",
    "bound_observed_writes",
    "get_model",
    "project_scans",
    "without_unobserved_writes",
]


class Rejected(Enum):
    """The result of a compiled step whose operation is illegal in the state."""

    REJECT = "reject"


REJECT: Final = Rejected.REJECT

StepFunction = Callable[[Hashable], Hashable]
"""A compiled transition: the state after the operation, or ``REJECT``."""


class ModelError(ValueError):
    """An operation the model cannot interpret (unknown ``f``, malformed value);
    ``op`` is that operation when it is known (its ``invoke_index`` finds its line)."""

    def __init__(self, message: str, op: CompletedOp | None = None) -> None:
        super().__init__(message)
        self.op = op


_BRIEF_CHARS: Final = 60


def _brief(value: object) -> str:
    """``repr`` of a value from a history, cut short for an error message."""
    text = repr(value)
    return text if len(text) <= _BRIEF_CHARS else text[: _BRIEF_CHARS - 3] + "..."


def _compile_one(model: Model, op: CompletedOp) -> StepFunction:
    """``model.compile_step`` for one operation; a ModelError names the operation."""
    try:
        return model.compile_step(OpInput(op.f, op.key, op.input), op.output)
    except ModelError as error:
        raise ModelError(str(error), op) from None


@dataclass(frozen=True, slots=True)
class OpInput:
    """What a client asked for: the function, the key (or None) and the argument."""

    f: str
    key: Value | None
    value: Value


@dataclass(frozen=True, slots=True)
class CompiledPartition:
    """One partition, ready to search: its initial state, a step and a read-only flag
    per operation (in the order given), and how to show a search state in reports."""

    init: Hashable
    steps: list[StepFunction]
    read_only: list[bool]
    export_state: Callable[[Hashable], Hashable]


@dataclass(frozen=True, slots=True)
class KeyGroup:
    """The name of a kv partition that merges keys (scans cover them), or of a scan
    whose range holds no key of the history (``keys`` empty, ``scan_range`` set)."""

    keys: tuple[object, ...]
    scan_range: tuple[object, object] | None = None

    def __str__(self) -> str:
        if not self.keys and self.scan_range is not None:
            return f"scan range {self.scan_range[0]!r}..{self.scan_range[1]!r}"
        if len(self.keys) <= 4:
            return "keys " + ", ".join(repr(key) for key in self.keys)
        return f"{len(self.keys)} keys {self.keys[0]!r}..{self.keys[-1]!r}"

    def to_json(self) -> list[object]:
        return list(self.keys)


@dataclass(frozen=True, slots=True)
class KvSnapshot:
    """The state of a merged kv partition, for reports: (key, value) of present keys."""

    items: tuple[tuple[object, object], ...]


class Model(Protocol):
    """A sequential specification, Porcupine style (see the module rules)."""

    @property
    def name(self) -> str: ...

    def init(self) -> Hashable: ...

    def step(self, state: Hashable, input: OpInput, output: object) -> tuple[bool, Hashable]: ...

    def compile_step(self, input: OpInput, output: object) -> StepFunction: ...

    def is_read_only(self, input: OpInput, output: object) -> bool: ...

    def partition(self, ops: Sequence[CompletedOp]) -> list[list[CompletedOp]]: ...

    def partition_key(self, ops: Sequence[CompletedOp]) -> object | None: ...

    def compile_partition(self, ops: Sequence[CompletedOp]) -> CompiledPartition: ...

    def describe_operation(self, input: OpInput, output: object) -> str: ...

    def describe_state(self, state: Hashable) -> str: ...


def _run_compiled(step: StepFunction, state: Hashable) -> tuple[bool, Hashable]:
    new_state = step(state)
    if new_state is REJECT:
        return False, state
    return True, new_state


def _show(value: object) -> str:
    if value is None:
        return "nil"
    return repr(value)


def _pair(input: OpInput) -> tuple[object, object]:
    value = input.value
    if not isinstance(value, tuple) or len(value) != 2:
        raise ModelError(f"{input.f} expects [old new], got {_brief(value)}")
    return value[0], value[1]


def _cas_succeeded(output: object) -> bool:
    """Whether an ok cas reports success: Jepsen echoes [old new]; ``false`` means it
    compared and did not swap (some clients record that as ok rather than fail)."""
    return output is not False


# --------------------------------------------------------------------------- register


class RegisterModel:
    """One read/write/compare-and-set register, initially nil (``None``).

    - ``read``: legal iff the output equals the state (nil reads the initial state);
      a timed-out read constrains nothing.
    - ``write v``: always legal; the state becomes v.
    - ``cas [old new]``: an ok cas is legal iff the state equals old, and sets new;
      an ok cas returning ``false`` is legal iff the state differs from old and
      leaves it unchanged; an indeterminate cas swaps iff the state equals old.
    """

    @property
    def name(self) -> str:
        return "register"

    def init(self) -> Hashable:
        return None

    def step(self, state: Hashable, input: OpInput, output: object) -> tuple[bool, Hashable]:
        return _run_compiled(self.compile_step(input, output), state)

    def compile_step(self, input: OpInput, output: object) -> StepFunction:
        f = input.f
        if f == "read":
            if output is UNKNOWN:
                return _identity
            expected: Hashable = _check_hashable(output)

            def read(state: Hashable) -> Hashable:
                return state if state == expected else REJECT

            return read
        if f == "write":
            written: Hashable = _check_hashable(input.value)

            def write(state: Hashable) -> Hashable:
                return written

            return write
        if f == "cas":
            old, new = _pair(input)
            old_value: Hashable = _check_hashable(old)
            new_value: Hashable = _check_hashable(new)
            if output is UNKNOWN:

                def maybe_cas(state: Hashable) -> Hashable:
                    return new_value if state == old_value else state

                return maybe_cas
            if not _cas_succeeded(output):

                def failed_cas(state: Hashable) -> Hashable:
                    return REJECT if state == old_value else state

                return failed_cas

            def cas(state: Hashable) -> Hashable:
                return new_value if state == old_value else REJECT

            return cas
        raise ModelError(f"the register model has no operation {f!r} (read, write, cas)")

    def is_read_only(self, input: OpInput, output: object) -> bool:
        if input.f == "read":
            return True
        return input.f == "cas" and output is not UNKNOWN and not _cas_succeeded(output)

    def partition(self, ops: Sequence[CompletedOp]) -> list[list[CompletedOp]]:
        return [list(ops)] if ops else []

    def partition_key(self, ops: Sequence[CompletedOp]) -> object | None:
        return None

    def compile_partition(self, ops: Sequence[CompletedOp]) -> CompiledPartition:
        return _compile_simple(self, ops)

    def describe_operation(self, input: OpInput, output: object) -> str:
        result = "?" if output is UNKNOWN else _show(output)
        if input.f == "read":
            return f"read() -> {result}"
        if input.f == "write":
            return f"write({_show(input.value)})" + (" -> ?" if output is UNKNOWN else "")
        if input.f == "cas" and isinstance(input.value, tuple) and len(input.value) == 2:
            old, new = input.value
            outcome = "?" if output is UNKNOWN else ("ok" if _cas_succeeded(output) else "false")
            return f"cas({_show(old)}, {_show(new)}) -> {outcome}"
        return f"{input.f}({_show(input.value)}) -> {result}"

    def describe_state(self, state: Hashable) -> str:
        return _show(state)


# --------------------------------------------------------------------------- key-value store


class KvModel:
    """A map from keys to values, checked one key at a time (P-compositionality).

    A partition's state is the key's value, ``None`` while absent.

    - ``get``: legal iff the output equals the value. An absent key reads as any of
      ``missing_reads`` (nil, and the empty string as in Porcupine's KV histories,
      which come from Go's zero value); a timed-out get constrains nothing.
    - ``put v``: sets v. ``append v``: concatenates v to the value (an absent key
      counts as empty); values must both be strings, or both tuples.
    - ``delete``: the key becomes absent.
    - ``cas [old new]``: as for the register (old nil means "absent").
    - ``scan``: its key is the low bound and its input the high bound (inclusive);
      its output the ``(key, value)`` pairs read. Legal iff, in one state, every key
      of the range holds exactly the value the scan reports (absent keys are not
      reported). An indeterminate scan constrains nothing and is left out.
    """

    def __init__(
        self,
        *,
        missing_reads: tuple[Hashable, ...] = (None, ""),
        initial: Mapping[Any, Hashable] | None = None,
    ) -> None:
        self._missing_reads = missing_reads
        self._initial: Mapping[Any, Hashable] = initial if initial is not None else {}
        # Sorted once (bisected for scans' ranges); keys must be mutually ordered then.
        self.initial_keys: tuple[Any, ...] = tuple(sorted(self._initial)) if initial else ()

    def initial_value(self, key: object) -> Hashable:
        """The key's value before the history (None: absent)."""
        return self._initial.get(key) if self._initial else None

    @property
    def name(self) -> str:
        return "kv"

    def init(self) -> Hashable:
        return None

    def step(self, state: Hashable, input: OpInput, output: object) -> tuple[bool, Hashable]:
        return _run_compiled(self.compile_step(input, output), state)

    def compile_step(self, input: OpInput, output: object) -> StepFunction:
        f = input.f
        if f in ("get", "read", SCAN_KEY):
            if output is UNKNOWN:
                return _identity
            expected: Hashable = _check_hashable(output)
            absent_ok = expected in self._missing_reads

            def get(state: Hashable) -> Hashable:
                if state == expected or (state is None and absent_ok):
                    return state
                return REJECT

            return get
        if f in ("put", "write"):
            written: Hashable = _check_hashable(input.value)

            def put(state: Hashable) -> Hashable:
                return written

            return put
        if f == "append":
            suffix = input.value
            if not isinstance(suffix, str | tuple):
                raise ModelError(f"append expects a string or a vector, got {_brief(suffix)}")
            suffix_type = type(suffix)

            def append(state: Hashable) -> Hashable:
                if state is None:
                    return suffix
                if type(state) is not suffix_type:
                    return REJECT
                return state + suffix  # type: ignore[operator]

            return append
        if f == "delete":
            return _make_absent
        if f == "cas":
            old, new = _pair(input)
            old_value: Hashable = _check_hashable(old)
            new_value: Hashable = _check_hashable(new)
            if output is UNKNOWN:

                def maybe_cas(state: Hashable) -> Hashable:
                    return new_value if state == old_value else state

                return maybe_cas
            if not _cas_succeeded(output):

                def failed_cas(state: Hashable) -> Hashable:
                    return REJECT if state == old_value else state

                return failed_cas

            def cas(state: Hashable) -> Hashable:
                return new_value if state == old_value else REJECT

            return cas
        if f == "scan":
            raise ModelError("a scan is compiled with its partition (compile_partition)")
        raise ModelError(
            f"the kv model has no operation {f!r} (get, put, append, delete, cas, scan)"
        )

    def is_read_only(self, input: OpInput, output: object) -> bool:
        if input.f in ("get", "read", "scan", SCAN_KEY):
            return True
        return input.f == "cas" and output is not UNKNOWN and not _cas_succeeded(output)

    def partition(self, ops: Sequence[CompletedOp]) -> list[list[CompletedOp]]:
        if any(op.f == "scan" for op in ops):
            return _merge_scanned_keys(ops, self)
        groups: dict[object, list[CompletedOp]] = {}
        for op in ops:
            try:
                groups.setdefault(op.key, []).append(op)
            except TypeError:
                raise ModelError(f"key {_brief(op.key)} is not hashable", op) from None
        # Dicts keep insertion order; sorting by a total, hash-free key makes the
        # partition order independent of the history's interleaving too.
        return [groups[key] for key in sorted(groups, key=_ordering_key)]

    def partition_key(self, ops: Sequence[CompletedOp]) -> object | None:
        scans = [op for op in ops if op.f == "scan"]
        if not scans:
            first = ops[0].key if ops else None
            return first if all(op.key == first for op in ops) else KeyGroup(_sorted_keys(ops))
        keys = _sorted_keys(ops)
        if not keys:
            return KeyGroup((), (scans[0].key, scans[0].input))
        return KeyGroup(keys)

    def compile_partition(self, ops: Sequence[CompletedOp]) -> CompiledPartition:
        if ops and all(op.f != "scan" and op.key == ops[0].key for op in ops):
            return _compile_simple(self, ops, self.initial_value(ops[0].key))
        # Only the keys the part names: its scans are views restricted to them (the
        # initially present keys of their ranges were placed when partitioning).
        keys = _sorted_keys(ops)
        slot_of = {key: slot for slot, key in enumerate(keys)}
        steps: list[StepFunction] = []
        for op in ops:
            if op.f == "scan":
                steps.append(_compile_scan(op, keys))
            else:
                steps.append(_in_slot(_compile_one(self, op), slot_of[op.key]))
        read_only = [self.is_read_only(OpInput(op.f, op.key, op.input), op.output) for op in ops]

        def export_state(state: Hashable) -> Hashable:
            assert isinstance(state, tuple)
            return KvSnapshot(
                tuple(
                    (key, value)
                    for key, value in zip(keys, state, strict=True)
                    if value is not None
                )
            )

        initial = tuple(self.initial_value(key) for key in keys)
        return CompiledPartition(initial, steps, read_only, export_state)

    def describe_operation(self, input: OpInput, output: object) -> str:
        result = "?" if output is UNKNOWN else _show(output)
        if input.f in ("get", "read"):
            return f"get() -> {result}"
        if input.f == "delete":
            return "delete()" + (" -> ?" if output is UNKNOWN else "")
        if input.f == SCAN_KEY and isinstance(input.value, tuple) and len(input.value) == 2:
            low, high = input.value
            return f"scan({_show(low)}..{_show(high)}) saw {_show(input.key)} -> {result}"
        if input.f == "scan":
            shown = (
                "?"
                if not isinstance(output, tuple)
                else "{"
                + ", ".join(
                    f"{_show(pair[0])}: {_show(pair[1])}"
                    for pair in output
                    if isinstance(pair, tuple) and len(pair) == 2
                )
                + "}"
            )
            return f"scan({_show(input.key)}..{_show(input.value)}) -> {shown}"
        if input.f == "cas" and isinstance(input.value, tuple) and len(input.value) == 2:
            old, new = input.value
            outcome = "?" if output is UNKNOWN else ("ok" if _cas_succeeded(output) else "false")
            return f"cas({_show(old)}, {_show(new)}) -> {outcome}"
        suffix = " -> ?" if output is UNKNOWN else ""
        return f"{input.f}({_show(input.value)}){suffix}"

    def describe_state(self, state: Hashable) -> str:
        if isinstance(state, KvSnapshot):
            shown = ", ".join(f"{_show(key)}: {_show(value)}" for key, value in state.items)
            return "{" + shown + "}"
        return "absent" if state is None else _show(state)


def _identity(state: Hashable) -> Hashable:
    return state


def _compile_simple(
    model: Model, ops: Sequence[CompletedOp], init: Hashable = None
) -> CompiledPartition:
    """A partition whose state is the model's own (one register, one key), starting at
    ``init`` (None: the model's initial state)."""
    return CompiledPartition(
        model.init() if init is None else init,
        [_compile_one(model, op) for op in ops],
        [model.is_read_only(OpInput(op.f, op.key, op.input), op.output) for op in ops],
        _identity,
    )


def _in_slot(inner: StepFunction, slot: int) -> StepFunction:
    """A one-key step acting on one slot of a merged partition's tuple state."""

    def step(state: Hashable) -> Hashable:
        assert isinstance(state, tuple)
        value = state[slot]
        new_value = inner(value)
        if new_value is REJECT:
            return REJECT
        if new_value is value:
            return state
        return (*state[:slot], new_value, *state[slot + 1 :])

    return step


def _reject(state: Hashable) -> Hashable:
    return REJECT


def _scan_pairs(op: CompletedOp) -> tuple[tuple[object, object], ...]:
    """The (key, value) pairs an OK scan reported; ModelError when malformed."""
    output = op.output
    if not isinstance(output, tuple) or not all(
        isinstance(pair, tuple) and len(pair) == 2 for pair in output
    ):
        raise ModelError(f"scan expects its result as [[key value] ...], got {_brief(output)}", op)
    return output


def _sorted_keys(ops: Sequence[CompletedOp], initial: Sequence[Any] = ()) -> tuple[Any, ...]:
    """The keys a part names, in their natural order: every non-scan operation's key,
    the keys OK scans reported, and the initially present keys (``initial``, sorted) in
    an OK scan's range."""
    keys: set[Any] = set()
    try:
        for op in ops:
            if op.f != "scan":
                keys.add(op.key)
            elif op.output is not UNKNOWN:
                keys.update(pair[0] for pair in _scan_pairs(op))
                if initial:
                    start = bisect.bisect_left(initial, op.key)
                    keys.update(initial[start : bisect.bisect_right(initial, op.input)])
        return tuple(sorted(keys))
    except TypeError:
        raise ModelError(
            "keys must be hashable and of one ordered type when the history has scans", op
        ) from None


def _compile_scan(op: CompletedOp, keys: tuple[Any, ...]) -> StepFunction:
    """A scan over a merged partition whose keys are ``keys`` (sorted)."""
    if op.output is UNKNOWN:
        return _identity
    pairs = _scan_pairs(op)
    low: Any = op.key
    high: Any = op.input
    try:
        reported = dict(pairs)
        if len(reported) != len(pairs) or not all(low <= key <= high for key in reported):
            return _reject  # a key twice, or outside the range: no state explains it
        start = bisect.bisect_left(keys, low)
        stop = bisect.bisect_right(keys, high)
    except TypeError:
        raise ModelError(
            f"scan bounds {_brief(low)}..{_brief(high)} cannot be compared with the keys", op
        ) from None
    expected = tuple(reported.get(key) for key in keys[start:stop])

    def scan(state: Hashable) -> Hashable:
        assert isinstance(state, tuple)
        return state if state[start:stop] == expected else REJECT

    return scan


SCAN_KEY: Final = "scan-key"
"""The ``f`` of a scan's view of one key, in that key's own partition (see
``_merge_scanned_keys``): a get of the value the scan reported (absent: nil)."""


def _merge_scanned_keys(ops: Sequence[CompletedOp], model: Model) -> list[list[CompletedOp]]:
    """Partition a kv history with scans (union-find over scans and keys).

    A key in a scan's range that has a write (an operation that is not read-only:
    reads change nothing) overlapping the scan in real time (indeterminate ones run
    to +inf) is merged with the scan: its value may change while the scan runs, so
    the scan must be placed against it and the other keys at one instant. A key in
    range with no overlapping write holds one value throughout the scan in every
    linearization of that key, so the scan's view of it is checked in the key's own
    partition, as a get (``SCAN_KEY``), at no cost to the others. A merged part gets
    a copy of the scan restricted to its keys. A scan reporting a key twice or
    outside its range is a part of its own, which always fails. Indeterminate scans
    constrain nothing and are left out."""
    keys = _sorted_keys(ops, model.initial_keys if isinstance(model, KvModel) else ())
    index_of = {key: position for position, key in enumerate(keys)}
    # Per key, its writes' calls in order, and the latest return among them so far.
    calls: list[list[float]] = [[] for _ in keys]
    latest: list[list[float]] = [[] for _ in keys]
    writes = [
        op
        for op in ops
        if op.f != "scan" and not model.is_read_only(OpInput(op.f, op.key, op.input), op.output)
    ]
    for op in sorted(writes, key=lambda op: op.call):
        position = index_of[op.key]
        calls[position].append(op.call)
        previous = latest[position][-1] if latest[position] else -math.inf
        latest[position].append(max(previous, op.ret))
    parent = list(range(len(keys)))

    def find(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    scans: list[tuple[CompletedOp, int, int, int]] = []  # (scan, node, start, stop)
    lone: list[list[CompletedOp]] = []
    for op in ops:
        if op.f != "scan" or op.output is UNKNOWN:
            continue
        pairs = _scan_pairs(op)
        low: Any = op.key
        high: Any = op.input
        try:
            reported = {pair[0] for pair in pairs}
            if len(reported) != len(pairs) or not all(low <= key <= high for key in reported):
                lone.append([op])
                continue
            start = bisect.bisect_left(keys, low)
            stop = bisect.bisect_right(keys, high)
        except TypeError:
            raise ModelError(
                f"scan bounds {_brief(op.key)}..{_brief(op.input)} cannot be compared "
                "with the keys",
                op,
            ) from None
        node = len(parent)
        parent.append(node)
        scans.append((op, node, start, stop))
        for position in range(start, stop):
            before = bisect.bisect_right(calls[position], op.ret)  # called by its return
            if before and latest[position][before - 1] >= op.call:  # and not done before
                parent[find(position)] = find(node)
    groups: dict[int, list[CompletedOp]] = {}
    for op in ops:
        if op.f != "scan":
            groups.setdefault(find(index_of[op.key]), []).append(op)
    for op, node, start, stop in scans:
        root = find(node)
        merged = [key for key in keys[start:stop] if find(index_of[key]) == root]
        if merged:
            inside = set(merged)
            view = tuple(pair for pair in _scan_pairs(op) if pair[0] in inside)
            groups[root].append(replace(op, output=view))
        values = dict(_scan_pairs(op))
        for key in keys[start:stop]:
            part = find(index_of[key])
            if part != root:
                groups.setdefault(part, []).append(
                    replace(
                        op, f=SCAN_KEY, key=key, input=(op.key, op.input), output=values.get(key)
                    )
                )
    first_key = {find(position): position for position in reversed(range(len(keys)))}
    ordered = sorted(groups, key=lambda root: first_key[root])
    return [groups[root] for root in ordered] + lone


def project_scans(group: Sequence[CompletedOp]) -> list[list[CompletedOp]]:
    """A merged part split back into one part per key, each scan read there as a get
    (``SCAN_KEY``) of every key of its range the part holds.

    Sound but incomplete: a linearization of the whole part restricts to one of each
    key, so a key that fails here fails the part; what it cannot see is a scan that
    read its keys at different instants. Used when the merged search ran out of
    budget (see ``linearizability.check``)."""
    keys = _sorted_keys([op for op in group if op.f != "scan"])
    parts: dict[object, list[CompletedOp]] = {key: [] for key in keys}
    for op in group:
        if op.f != "scan":
            parts[op.key].append(op)
            continue
        values = dict(_scan_pairs(op))
        start = bisect.bisect_left(keys, op.key)
        stop = bisect.bisect_right(keys, op.input)
        for key in keys[start:stop]:
            parts[key].append(
                replace(op, f=SCAN_KEY, key=key, input=(op.key, op.input), output=values.get(key))
            )
    return [sorted(parts[key], key=lambda op: op.invoke_index) for key in keys if parts[key]]


def bound_observed_writes(group: Sequence[CompletedOp]) -> list[CompletedOp]:
    """``group`` with each indeterminate write whose value someone observed made a
    completed one, returning when the first observer returned.

    An indeterminate write (put, write, or a cas's new value) may take effect any time
    after its call, or never, which the search must try in every place: a few dozen of
    them make a violation exponential to prove. But when no other operation of the group
    writes the same value to the same key (the simulator's clients write unique values),
    an operation that reads that value (a get, read or scan that returned it, or a cas
    that swapped from it) proves the write took effect, and before the reader returned:
    the write is then a completed operation (a cas one that swapped) between its call and
    the earliest such return. Every linearization of the one history is one of the other,
    so verdicts are unchanged (sound and complete); only the search is shorter. A write
    whose value another write also writes, or whose first observer returned before it
    was called, is left as it is."""
    writers: dict[tuple[object, object], int] = {}
    observed_by: dict[tuple[object, object], float] = {}

    def written(op: CompletedOp) -> object:
        if op.f == "cas" and isinstance(op.input, tuple) and len(op.input) == 2:
            return op.input[1]
        return op.input if op.f in ("put", "write") else None

    def observe(key: object, value: object, at: float) -> None:
        slot = _slot(key, value)
        if slot is not None and at < observed_by.get(slot, math.inf):
            observed_by[slot] = at

    for op in group:
        slot = _slot(op.key, written(op))
        if slot is not None:
            writers[slot] = writers.get(slot, 0) + 1
        if op.status is not OpStatus.OK:
            continue
        if op.f == "scan" and isinstance(op.output, tuple):
            for pair in op.output:
                if isinstance(pair, tuple) and len(pair) == 2:
                    observe(pair[0], pair[1], op.ret)
        elif op.f in ("get", "read", SCAN_KEY):
            observe(op.key, op.output, op.ret)
        elif op.f == "cas" and _cas_succeeded(op.output):
            pair = op.input
            if isinstance(pair, tuple) and len(pair) == 2:
                observe(op.key, pair[0], op.ret)
    bounded: list[CompletedOp] = []
    for op in group:
        slot = _slot(op.key, written(op)) if op.status is OpStatus.INFO else None
        first = observed_by.get(slot) if slot is not None and writers[slot] == 1 else None
        if first is not None and first > op.call:
            op = replace(op, status=OpStatus.OK, output=None, ret=first)
        bounded.append(op)
    return bounded


def _slot(key: object, value: object) -> tuple[object, object] | None:
    """(key, value) as a dictionary key; None for no value (nothing written, or a
    delete's absence, which many operations make) or an unhashable one."""
    if value is None:
        return None
    try:
        hash(value)
        hash(key)
    except TypeError:
        return None
    return (key, value)


def without_unobserved_writes(group: Sequence[CompletedOp]) -> list[CompletedOp]:
    """``group`` without the indeterminate writes (put, write, or cas's new value) whose
    value no operation of the group reports or compares against.

    Sound for OK only: an indeterminate operation may always be linearized after every
    other one (it never returned, so nothing it answered can be wrong), so a history
    that is linearizable without some of them is linearizable with them. The converse
    fails (a failed cas may need a write no read saw), so a violation without them
    says nothing. Used when the whole search ran out of budget (see
    ``linearizability.check``): hundreds of timed-out writes no one read multiply the
    orders the search must try."""
    observed: list[object] = []  # values that cannot be hashed, compared one by one
    seen: set[object] = set()

    def note(value: object) -> None:
        try:
            seen.add(value)
        except TypeError:
            observed.append(value)

    def cas_pair(op: CompletedOp) -> tuple[object, object] | None:
        pair = op.input
        return pair if op.f == "cas" and isinstance(pair, tuple) and len(pair) == 2 else None

    for op in group:
        pair = cas_pair(op)
        if pair is not None:
            note(pair[0])
        if op.status is not OpStatus.OK:
            continue
        if op.f == "scan" and isinstance(op.output, tuple):
            for pair in op.output:
                if isinstance(pair, tuple) and len(pair) == 2:
                    note(pair[1])
        elif op.f in ("get", "read", SCAN_KEY):
            note(op.output)

    def unobserved(value: object) -> bool:
        try:
            return value not in seen and all(value != other for other in observed)
        except TypeError:
            return False

    kept: list[CompletedOp] = []
    for op in group:
        if op.status is OpStatus.INFO:
            pair = cas_pair(op)
            written = pair[1] if pair is not None else op.input
            if (pair is not None or op.f in ("put", "write")) and unobserved(written):
                continue
        kept.append(op)
    return kept


def _make_absent(state: Hashable) -> Hashable:
    return None


def _check_hashable(value: object) -> Hashable:
    try:
        hash(value)
    except TypeError:
        raise ModelError(f"value {_brief(value)} is not hashable") from None
    return value


def _ordering_key(key: object) -> tuple[int, str, object]:
    """A total order over mixed keys: None first, then numbers, then strings, then the rest."""
    if key is None:
        return (0, "", 0)
    if isinstance(key, bool):
        return (3, type(key).__name__, repr(key))
    if isinstance(key, int | float):
        return (1, "", key)
    if isinstance(key, str):
        return (2, "", key)
    return (3, type(key).__name__, repr(key))


MODELS: Final[dict[str, Callable[[], Model]]] = {
    "register": RegisterModel,
    "kv": KvModel,
}


def get_model(name: str) -> Model:
    """A model by name (``register`` or ``kv``)."""
    factory = MODELS.get(name)
    if factory is None:
        raise ModelError(f"unknown model {name!r}; expected one of {', '.join(sorted(MODELS))}")
    return factory()
