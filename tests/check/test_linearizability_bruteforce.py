"""The checker agrees with a brute-force search on hundreds of small random histories.

The brute force tries every order of the operations consistent with real time
(an operation that returned before another was called comes first; indeterminate
operations may be left out), against its own reference semantics written here,
independent of ``models.py``. Histories are generated from a random sequential
execution (linearizable by construction) and then, most of the time, one output
is corrupted, so both verdicts occur often. A second family, drawn by hypothesis,
adds range scans over several keys and failed cas: those histories go through
``pair_operations`` as Jepsen events (a failed cas recorded as ``fail`` and read
with ``FailCas.COMPARE``) before the checker sees them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Hashable, Sequence
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmonysim.check.history import (
    UNKNOWN,
    CompletedOp,
    FailCas,
    HistoryEvent,
    OpStatus,
    OpType,
    pair_operations,
)
from harmonysim.check.linearizability import Verdict, check
from harmonysim.check.models import (
    KvModel,
    Model,
    OpInput,
    RegisterModel,
    bound_observed_writes,
)
from tests.check.support import assert_valid_witness

HISTORIES_PER_MODEL = 500
ReferenceStep = Callable[[Hashable, CompletedOp], tuple[bool, Hashable]]


# --------------------------------------------------------------------------- reference semantics


def register_reference(state: Hashable, op: CompletedOp) -> tuple[bool, Hashable]:
    unknown = op.output is UNKNOWN
    if op.f == "read":
        return unknown or op.output == state, state
    if op.f == "write":
        return True, op.input
    assert op.f == "cas" and isinstance(op.input, tuple)
    old, new = op.input
    if op.output is False:
        return state != old, state
    if state == old:
        return True, new
    return unknown, state


def kv_reference(state: Hashable, op: CompletedOp) -> tuple[bool, Hashable]:
    assert isinstance(state, tuple)
    store = dict(state)
    current = store.get(op.key)
    unknown = op.output is UNKNOWN
    accepted = True
    if op.f == "scan":
        low, high = op.key, op.input
        seen = tuple(sorted((k, v) for k, v in store.items() if low <= k <= high))  # type: ignore[operator]
        return unknown or op.output == seen, state
    if op.f == "get":
        accepted = unknown or op.output == current or (current is None and op.output == "")
    elif op.f == "put":
        store[op.key] = op.input
    elif op.f == "append":
        assert isinstance(op.input, str)
        store[op.key] = (current or "") + op.input
    elif op.f == "delete":
        store.pop(op.key, None)
    else:
        assert op.f == "cas" and isinstance(op.input, tuple)
        old, new = op.input
        if op.output is False:
            accepted = current != old
        elif current == old:
            if new is None:
                store.pop(op.key, None)
            else:
                store[op.key] = new
        else:
            accepted = unknown
    return accepted, tuple(sorted(store.items()))


def brute_force_linearizable(
    ops: Sequence[CompletedOp], reference: ReferenceStep, initial: Hashable
) -> bool:
    """Every real-time-consistent order, OK operations all included, INFO ones optional."""
    required = frozenset(i for i, op in enumerate(ops) if op.status is OpStatus.OK)

    @cache
    def search(remaining: frozenset[int], state: Hashable) -> bool:
        if not remaining & required:
            return True
        for candidate in sorted(remaining):
            op = ops[candidate]
            if any(ops[other].ret < op.call for other in remaining if other != candidate):
                continue
            accepted, new_state = reference(state, op)
            if accepted and search(remaining - {candidate}, new_state):
                return True
        return False

    return search(frozenset(range(len(ops))), initial)


# --------------------------------------------------------------------------- random histories


def _register_call(rng: random.Random) -> tuple[str, object, object]:
    f = rng.choice(["read", "read", "write", "write", "cas"])
    if f == "read":
        return f, None, None
    if f == "write":
        return f, None, rng.randint(0, 2)
    return f, None, (rng.choice([None, 0, 1, 2]), rng.randint(0, 2))


def _kv_call(rng: random.Random) -> tuple[str, object, object]:
    key = rng.choice(["a", "b"])
    f = rng.choice(["get", "get", "put", "append", "append", "delete", "cas"])
    if f == "get" or f == "delete":
        return f, key, None
    if f == "put":
        return f, key, rng.choice(["x", "y"])
    if f == "append":
        return f, key, rng.choice(["x", "y"])
    return f, key, (rng.choice([None, "x", "y", "xy"]), rng.choice(["x", "y"]))


def random_history(
    rng: random.Random,
    make_call: Callable[[random.Random], tuple[str, object, object]],
    reference: ReferenceStep,
    initial: Hashable,
    *,
    unrecorded_failed_cas: float = 0.5,
) -> list[CompletedOp]:
    """Run a random sequential execution at random instants inside random intervals,
    record what each client saw, then maybe corrupt one observation. A cas that
    returned false is left out of the history with probability
    ``unrecorded_failed_cas`` (as if recorded ``:fail`` and dropped)."""
    count = rng.randint(1, 7)
    drafts: list[tuple[float, float, str, object, object, bool]] = []
    for _ in range(count):
        call = float(rng.randint(0, 12))
        ret = call + rng.randint(0, 5)
        f, key, argument = make_call(rng)
        indeterminate = rng.random() < 0.2
        drafts.append((call, ret, f, key, argument, indeterminate))
    # Linearization points inside each interval; indeterminate ops may never apply.
    order = sorted(range(count), key=lambda i: (rng.uniform(drafts[i][0], drafts[i][1]), i))
    state = initial
    ops: dict[int, CompletedOp] = {}
    for index in order:
        call, ret, f, key, argument, indeterminate = drafts[index]
        if indeterminate and rng.random() < 0.5:
            ops[index] = _completed(index, f, key, argument, UNKNOWN, call, math.inf)
            continue
        probe = _completed(index, f, key, argument, UNKNOWN, call, ret)
        output = _observe(state, probe)
        accepted, state = reference(state, probe)
        assert accepted
        if f == "cas" and output is False and rng.random() < unrecorded_failed_cas:
            continue  # a failed cas recorded as :fail never happened
        if indeterminate:
            ops[index] = _completed(index, f, key, argument, UNKNOWN, call, math.inf)
        else:
            ops[index] = _completed(index, f, key, argument, output, call, ret)
    history = [ops[index] for index in sorted(ops)]
    if history and rng.random() < 0.7:
        history = _corrupt(rng, history)
    return history


def _observe(state: Hashable, op: CompletedOp) -> object:
    """What the client sees when ``op`` applies in ``state``."""
    if op.f == "scan":
        assert isinstance(state, tuple)
        return tuple((k, v) for k, v in state if op.key <= k <= op.input)  # type: ignore[operator]
    current = dict(state).get(op.key) if isinstance(state, tuple) else state
    if op.f in ("read", "get"):
        return current
    if op.f == "cas":
        assert isinstance(op.input, tuple)
        return op.input if current == op.input[0] else False
    return op.input


def _corrupt(rng: random.Random, history: list[CompletedOp]) -> list[CompletedOp]:
    candidates = [i for i, op in enumerate(history) if op.status is OpStatus.OK]
    if not candidates:
        return history
    index = rng.choice(candidates)
    op = history[index]
    if op.f == "scan":
        assert isinstance(op.output, tuple)
        pairs = list(op.output)
        if pairs and rng.random() < 0.5:
            del pairs[rng.randrange(len(pairs))]  # a key missed
        else:
            key = rng.choice(["a", "b", "c"])
            if op.key <= key <= op.input:  # type: ignore[operator]
                pairs = sorted({**dict(pairs), key: rng.choice(["x", "y", "xy"])}.items())
        output: object = tuple(pairs)
    elif op.f in ("read", "get"):
        output = rng.choice([None, 0, 1, 2] if op.f == "read" else [None, "x", "y", "xy"])
    elif op.f == "cas":
        output = False if op.output is not False else op.input
    else:  # a write's output is not checked: shift its interval instead
        shift = float(rng.randint(-4, 4))
        return [
            *history[:index],
            _completed(
                op.invoke_index,
                op.f,
                op.key,
                op.input,
                op.output,
                max(0.0, op.call + shift),
                max(0.0, op.call + shift) + (op.ret - op.call),
            ),
            *history[index + 1 :],
        ]
    replaced = _completed(op.invoke_index, op.f, op.key, op.input, output, op.call, op.ret)
    return [*history[:index], replaced, *history[index + 1 :]]


def _scan_kv_call(rng: random.Random) -> tuple[str, object, object]:
    """kv operations on three keys, with range scans and cas that often fail."""
    f = rng.choice(["get", "put", "put", "append", "delete", "cas", "cas", "scan", "scan"])
    key = rng.choice(["a", "b", "c"])
    if f == "scan":
        low, high = sorted(rng.sample(["a", "b", "c"], 2))
        return f, low, high
    if f == "get" or f == "delete":
        return f, key, None
    if f in ("put", "append"):
        return f, key, rng.choice(["x", "y"])
    return f, key, (rng.choice([None, "x", "y", "xy"]), rng.choice(["x", "y"]))


def _as_events(history: Sequence[CompletedOp]) -> list[HistoryEvent]:
    """Jepsen events for ``history``: an invoke and a completion per operation, in time
    order; a cas that returned false completes with ``fail``."""
    timed: list[tuple[float, int, HistoryEvent]] = []
    for op in history:
        process = op.invoke_index
        invoke = HistoryEvent(process, OpType.INVOKE, op.f, op.key, op.input, op.call, 0)
        timed.append((op.call, 0, invoke))
        if op.status is OpStatus.INFO:
            continue
        kind = OpType.FAIL if op.f == "cas" and op.output is False else OpType.OK
        value = op.input if kind is OpType.FAIL else op.output
        timed.append((op.ret, 1, HistoryEvent(process, kind, op.f, op.key, value, op.ret, 0)))
    timed.sort(key=lambda item: (item[0], item[1]))
    return [
        HistoryEvent(e.process, e.type, e.f, e.key, e.value, e.time, index)
        for index, (_, _, e) in enumerate(timed)
    ]


def _completed(
    index: int, f: str, key: object, argument: object, output: object, call: float, ret: float
) -> CompletedOp:
    return CompletedOp(
        process=index,
        f=f,
        key=key,
        input=argument,
        output=output,
        call=call,
        ret=ret,
        status=OpStatus.INFO if output is UNKNOWN else OpStatus.OK,
        invoke_index=index,
    )


# --------------------------------------------------------------------------- the comparison


@pytest.mark.parametrize(
    ("model", "make_call", "reference", "initial", "seed"),
    [
        pytest.param(RegisterModel(), _register_call, register_reference, None, 1, id="register"),
        pytest.param(KvModel(), _kv_call, kv_reference, (), 2, id="kv"),
    ],
)
def test_checker_agrees_with_brute_force(
    model: Model,
    make_call: Callable[[random.Random], tuple[str, object, object]],
    reference: ReferenceStep,
    initial: Hashable,
    seed: int,
) -> None:
    rng = random.Random(f"brute-force/{seed}")
    verdicts = {Verdict.OK: 0, Verdict.VIOLATION: 0}
    for _ in range(HISTORIES_PER_MODEL):
        history = random_history(rng, make_call, reference, initial)
        expected = brute_force_linearizable(history, reference, initial)
        result = check(history, model)
        assert result.verdict is (Verdict.OK if expected else Verdict.VIOLATION), (
            history,
            result.explain(),
        )
        verdicts[result.verdict] += 1
        if expected:
            witness = [part.linearization for part in result.partitions]
            assert_valid_witness(witness, history, model)
        else:
            _assert_prefix_is_linearizable(result.violations[0].linearization, model)
    # Both outcomes are well represented, so agreement is not vacuous.
    assert verdicts[Verdict.OK] >= HISTORIES_PER_MODEL // 8
    assert verdicts[Verdict.VIOLATION] >= HISTORIES_PER_MODEL // 8


def _unique_kv_calls() -> Callable[[random.Random], tuple[str, object, object]]:
    """kv calls whose writes each write a value of their own (as the simulator's clients
    do), so a read of an indeterminate write's value bounds it (``bound_observed_writes``);
    a cas expects a value written before, or absence."""
    written: list[object] = []

    def make(rng: random.Random) -> tuple[str, object, object]:
        key = rng.choice(["a", "b"])
        f = rng.choice(["get", "get", "put", "put", "delete", "cas", "cas"])
        if f in ("get", "delete"):
            return f, key, None
        value = f"v{len(written)}"
        expected = rng.choice([None, *written[-3:]])
        written.append(value)
        return (f, key, value) if f == "put" else (f, key, (expected, value))

    return make


def test_checker_agrees_with_brute_force_when_observed_writes_are_bounded() -> None:
    # Unique written values: indeterminate writes that someone read are searched as
    # completed ones; the verdict must still be the brute force's.
    rng = random.Random("brute-force/unique")
    model = KvModel()
    verdicts = {Verdict.OK: 0, Verdict.VIOLATION: 0}
    bounded = 0
    for _ in range(3 * HISTORIES_PER_MODEL):
        history = random_history(rng, _unique_kv_calls(), kv_reference, ())
        expected = brute_force_linearizable(history, kv_reference, ())
        result = check(history, model)
        assert result.verdict is (Verdict.OK if expected else Verdict.VIOLATION), (
            history,
            result.explain(),
        )
        verdicts[result.verdict] += 1
        bounded += sum(
            before.status is not after.status
            for before, after in zip(history, bound_observed_writes(history), strict=True)
        )
    assert verdicts[Verdict.OK] >= HISTORIES_PER_MODEL // 8
    assert verdicts[Verdict.VIOLATION] >= HISTORIES_PER_MODEL // 8
    assert bounded >= 30  # the bounding happened often enough to be tested


def _assert_prefix_is_linearizable(prefix: Sequence[CompletedOp], model: Model) -> None:
    state = model.init()
    for position, op in enumerate(prefix):
        assert all(not op.ret < earlier.call for earlier in prefix[:position])
        accepted, state = model.step(state, OpInput(op.f, op.key, op.input), op.output)
        assert accepted


def test_brute_force_itself_on_known_cases() -> None:
    def op(
        f: str, argument: object, output: object, call: float, ret: float, index: int
    ) -> CompletedOp:
        return _completed(index, f, None, argument, output, call, ret)

    stale = [op("write", 1, 1, 0, 1, 0), op("read", None, None, 2, 3, 1)]
    assert not brute_force_linearizable(stale, register_reference, None)
    overlapping = [op("write", 1, 1, 0, 3, 0), op("read", None, None, 1, 2, 1)]
    assert brute_force_linearizable(overlapping, register_reference, None)
    maybe_applied = [op("write", 1, UNKNOWN, 0, math.inf, 0), op("read", None, 1, 5, 6, 1)]
    assert brute_force_linearizable(maybe_applied, register_reference, None)


@pytest.mark.parametrize(
    ("model", "make_call", "reference", "initial"),
    [
        pytest.param(RegisterModel(), _register_call, register_reference, None, id="register"),
        pytest.param(KvModel(), _scan_kv_call, kv_reference, (), id="kv-scans"),
    ],
)
@settings(max_examples=200, deadline=None)
@given(rng=st.randoms(use_true_random=False))
def test_checker_agrees_with_brute_force_on_scans_and_failed_cas(
    model: Model,
    make_call: Callable[[random.Random], tuple[str, object, object]],
    reference: ReferenceStep,
    initial: Hashable,
    rng: random.Random,
) -> None:
    history = random_history(rng, make_call, reference, initial)
    ops = pair_operations(_as_events(history), fail_cas=FailCas.COMPARE)
    assert sorted((op.process, op.output) for op in ops) == sorted(
        (op.invoke_index, op.output) for op in history
    ), "a failed cas read as a compare comes back as an OK cas returning false"
    expected = brute_force_linearizable(ops, reference, initial)
    result = check(ops, model)
    assert result.verdict is (Verdict.OK if expected else Verdict.VIOLATION), (
        ops,
        result.explain(),
    )
    if expected:
        witness = [part.linearization for part in result.partitions]
        assert_valid_witness(witness, ops, model)


def test_the_scan_family_decides_both_ways() -> None:
    """The generator behind the hypothesis test yields both verdicts, with scans and
    failed cas, so agreement on it is not vacuous."""
    rng = random.Random("brute-force/scans")
    counts = {True: 0, False: 0}
    scans = failed_cas = 0
    for _ in range(300):
        history = random_history(rng, _scan_kv_call, kv_reference, ())
        scans += sum(1 for op in history if op.f == "scan" and op.status is OpStatus.OK)
        failed_cas += sum(1 for op in history if op.f == "cas" and op.output is False)
        counts[brute_force_linearizable(history, kv_reference, ())] += 1
    assert min(counts.values()) >= 50 and scans >= 100 and failed_cas >= 50
