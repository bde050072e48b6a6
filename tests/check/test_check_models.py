"""The register and KV models: transitions, compiled steps, partitions, descriptions."""

from __future__ import annotations

from collections.abc import Hashable

import pytest

from harmonysim.check.history import UNKNOWN, CompletedOp, OpStatus
from harmonysim.check.models import (
    REJECT,
    KvModel,
    ModelError,
    OpInput,
    RegisterModel,
    get_model,
)

REGISTER = RegisterModel()
KV = KvModel()


def reg(f: str, value: object = None) -> OpInput:
    return OpInput(f, None, value)


def kv(f: str, value: object = None, key: str = "k") -> OpInput:
    return OpInput(f, key, value)


@pytest.mark.parametrize(
    ("state", "op_input", "output", "expected"),
    [
        (None, reg("read"), None, (True, None)),
        (None, reg("read"), 0, (False, None)),
        (3, reg("read"), 3, (True, 3)),
        (3, reg("read"), UNKNOWN, (True, 3)),
        (3, reg("write", 4), 4, (True, 4)),
        (3, reg("write", 4), UNKNOWN, (True, 4)),
        (3, reg("cas", (3, 0)), (3, 0), (True, 0)),
        (2, reg("cas", (3, 0)), (3, 0), (False, 2)),
        (None, reg("cas", (None, 1)), True, (True, 1)),
        (2, reg("cas", (3, 0)), False, (True, 2)),
        (3, reg("cas", (3, 0)), False, (False, 3)),
        (3, reg("cas", (3, 0)), UNKNOWN, (True, 0)),
        (2, reg("cas", (3, 0)), UNKNOWN, (True, 2)),
    ],
)
def test_register_transitions(
    state: Hashable, op_input: OpInput, output: object, expected: tuple[bool, Hashable]
) -> None:
    assert REGISTER.step(state, op_input, output) == expected
    compiled = REGISTER.compile_step(op_input, output)(state)
    assert compiled == (expected[1] if expected[0] else REJECT)


@pytest.mark.parametrize(
    ("state", "op_input", "output", "expected"),
    [
        (None, kv("get"), "", (True, None)),
        (None, kv("get"), None, (True, None)),
        (None, kv("get"), "x", (False, None)),
        ("", kv("get"), None, (False, "")),
        ("ab", kv("get"), "ab", (True, "ab")),
        ("ab", kv("get"), UNKNOWN, (True, "ab")),
        ("ab", kv("put", "c"), "c", (True, "c")),
        ("ab", kv("append", "c"), "c", (True, "abc")),
        (None, kv("append", "c"), UNKNOWN, (True, "c")),
        (("a",), kv("append", ("b",)), ("b",), (True, ("a", "b"))),
        ("a", kv("append", ("b",)), ("b",), (False, "a")),
        ("ab", kv("delete"), None, (True, None)),
        (None, kv("cas", (None, "v")), True, (True, "v")),
        ("v", kv("cas", ("v", "w")), ("v", "w"), (True, "w")),
        ("u", kv("cas", ("v", "w")), ("v", "w"), (False, "u")),
        ("u", kv("cas", ("v", "w")), False, (True, "u")),
    ],
)
def test_kv_transitions(
    state: Hashable, op_input: OpInput, output: object, expected: tuple[bool, Hashable]
) -> None:
    assert KV.step(state, op_input, output) == expected


def test_kv_missing_reads_are_configurable() -> None:
    strict = KvModel(missing_reads=(None,))
    assert strict.step(None, kv("get"), "") == (False, None)
    assert strict.step(None, kv("get"), None) == (True, None)


def test_read_only_classification() -> None:
    assert REGISTER.is_read_only(reg("read"), 1)
    assert REGISTER.is_read_only(reg("cas", (1, 2)), False)
    assert not REGISTER.is_read_only(reg("cas", (1, 2)), (1, 2))
    assert not REGISTER.is_read_only(reg("cas", (1, 2)), UNKNOWN)
    assert not REGISTER.is_read_only(reg("write", 1), 1)
    assert KV.is_read_only(kv("get"), "x")
    assert not KV.is_read_only(kv("append", "x"), "x")
    assert not KV.is_read_only(kv("delete"), None)


def test_unknown_operations_and_malformed_values_are_errors() -> None:
    with pytest.raises(ModelError, match="no operation 'append'"):
        REGISTER.compile_step(reg("append", 1), 1)
    with pytest.raises(ModelError, match=r"expects \[old new\]"):
        REGISTER.compile_step(reg("cas", 3), 3)
    with pytest.raises(ModelError, match="not hashable"):
        KV.compile_step(kv("put", ["list"]), None)
    with pytest.raises(ModelError, match="append expects"):
        KV.compile_step(kv("append", 5), 5)
    with pytest.raises(ModelError, match="unknown model 'queue'"):
        get_model("queue")


def _op(key: object) -> CompletedOp:
    return CompletedOp(0, "get", key, None, None, 0.0, 1.0, OpStatus.OK)


def test_kv_partitions_by_key_in_a_deterministic_order() -> None:
    ops = [_op("b"), _op(2), _op("a"), _op(None), _op("b"), _op(10)]
    groups = KV.partition(ops)
    assert [[op.key for op in group] for group in groups] == [
        [None],
        [2],
        [10],
        ["a"],
        ["b", "b"],
    ]
    assert groups[-1] == [ops[0], ops[4]]
    assert KV.partition(list(reversed(ops)))[0][0].key is None


def test_register_is_one_partition() -> None:
    ops = [_op(None), _op(None)]
    assert REGISTER.partition(ops) == [ops]
    assert REGISTER.partition([]) == []


def test_descriptions() -> None:
    assert REGISTER.describe_operation(reg("read"), None) == "read() -> nil"
    assert REGISTER.describe_operation(reg("write", 3), UNKNOWN) == "write(3) -> ?"
    assert REGISTER.describe_operation(reg("cas", (3, 0)), (3, 0)) == "cas(3, 0) -> ok"
    assert REGISTER.describe_operation(reg("cas", (3, 0)), False) == "cas(3, 0) -> false"
    assert REGISTER.describe_state(None) == "nil"
    assert KV.describe_operation(kv("get"), "x") == "get() -> 'x'"
    assert KV.describe_operation(kv("append", "y"), "y") == "append('y')"
    assert KV.describe_state(None) == "absent"
    assert get_model("register").name == "register"
    assert get_model("kv").name == "kv"


def test_only_indeterminate_writes_whose_value_no_one_observed_are_left_out() -> None:
    from harmonysim.check.history import UNKNOWN
    from harmonysim.check.models import without_unobserved_writes

    def info(f: str, value: object) -> CompletedOp:
        return CompletedOp(0, f, "k", value, UNKNOWN, 0.0, float("inf"), OpStatus.INFO)

    def ok(f: str, value: object, output: object) -> CompletedOp:
        return CompletedOp(0, f, "k", value, output, 0.0, 1.0, OpStatus.OK)

    unread, read, scanned, compared = info("put", 1), info("put", 2), info("put", 3), info("put", 4)
    cas_unread, cas_read = info("cas", (9, 5)), info("cas", (9, 6))
    deleted, done = info("delete", None), ok("put", 7, None)
    history = [
        unread,
        read,
        scanned,
        compared,
        cas_unread,
        cas_read,
        deleted,
        done,
        ok("get", None, 2),
        ok("get", None, 6),
        ok("scan", "z", (("k", 3),)),
        ok("cas", (4, 8), False),  # compared against 4, even though it failed
    ]
    kept = without_unobserved_writes(history)
    assert unread not in kept and cas_unread not in kept
    assert all(op in kept for op in (read, scanned, compared, cas_read, deleted, done))
    assert len(kept) == len(history) - 2


def test_an_indeterminate_write_someone_read_is_bounded_by_its_first_reader() -> None:
    # Values written once: a read of one proves its write took effect, before the read
    # returned. A value two operations write, a delete's absence, a write never read,
    # and a read that returned before the write was called bound nothing.
    from harmonysim.check.history import UNKNOWN
    from harmonysim.check.models import bound_observed_writes

    def info(f: str, value: object, call: float = 0.0) -> CompletedOp:
        return CompletedOp(0, f, "k", value, UNKNOWN, call, float("inf"), OpStatus.INFO)

    def ok(f: str, value: object, output: object, call: float, ret: float) -> CompletedOp:
        return CompletedOp(0, f, "k", value, output, call, ret, OpStatus.OK)

    put, swap, twice, deleted, unread, late = (
        info("put", 1),
        info("cas", (1, 2)),
        info("put", 3),
        info("delete", None),
        info("put", 4),
        info("put", 5, call=9.0),
    )
    history = [
        put,
        swap,
        twice,
        ok("put", 3, None, 0.0, 1.0),  # a second writer of 3
        deleted,
        unread,
        late,
        ok("get", None, 1, 2.0, 6.0),
        ok("cas", (1, 8), True, 3.0, 4.0),  # swapped from 1: saw it too, earlier
        ok("scan", "z", (("k", 2),), 5.0, 7.0),
        ok("get", None, 3, 5.0, 6.0),
        ok("get", None, None, 5.0, 6.0),
        ok("get", None, 5, 1.0, 2.0),  # returned before `late` was called
    ]
    bounded = bound_observed_writes(history)
    assert bounded[0].status is OpStatus.OK and bounded[0].ret == 4.0
    assert bounded[1].status is OpStatus.OK and bounded[1].ret == 7.0 and bounded[1].output is None
    for index in (2, 3, 4, 5, 6):
        assert bounded[index] is history[index], index
    assert bounded[7:] == history[7:]
