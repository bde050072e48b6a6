"""The linearizability checker on small hand-made histories: verdicts, INFO operations,
explanations, partitions, budgets and determinism."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from harmonysim.check.history import (
    UNKNOWN,
    CompletedOp,
    HistoryEvent,
    OpStatus,
    OpType,
    format_jsonl,
    pair_operations,
)
from harmonysim.check.linearizability import (
    LinearizabilityResult,
    PartitionResult,
    StuckOperation,
    Verdict,
    check,
    check_history_file,
)
from harmonysim.check.models import KvModel, RegisterModel
from harmonysim.check.result import Problem


def op(
    f: str,
    argument: object,
    output: object,
    call: float,
    ret: float,
    *,
    key: object | None = None,
    process: int = 0,
) -> CompletedOp:
    indeterminate = output is UNKNOWN
    return CompletedOp(
        process=process,
        f=f,
        key=key,
        input=argument,
        output=output,
        call=call,
        ret=math.inf if indeterminate else ret,
        status=OpStatus.INFO if indeterminate else OpStatus.OK,
        invoke_index=int(call),
    )


REGISTER = RegisterModel()
KV = KvModel()


def test_empty_history_is_linearizable() -> None:
    result = check([], REGISTER)
    assert result.verdict is Verdict.OK
    assert result.partitions == ()
    assert result.steps == 0


def test_sequential_register_history() -> None:
    history = [
        op("read", None, None, 0, 1),
        op("write", 3, 3, 2, 3),
        op("read", None, 3, 4, 5),
        op("cas", (3, 4), (3, 4), 6, 7),
        op("read", None, 4, 8, 9),
    ]
    result = check(history, REGISTER)
    assert result.verdict is Verdict.OK
    assert list(result.partitions[0].linearization) == history
    assert result.partitions[0].final_state == 4


def test_stale_read_after_completed_write_is_a_violation() -> None:
    history = [op("write", 1, 1, 0, 1), op("read", None, None, 2, 3, process=1)]
    assert check(history, REGISTER).verdict is Verdict.VIOLATION


def test_concurrent_read_may_see_either_value() -> None:
    for seen in (None, 1):
        history = [op("write", 1, 1, 0, 10), op("read", None, seen, 2, 3, process=1)]
        assert check(history, REGISTER).verdict is Verdict.OK


def test_equal_times_count_as_overlapping() -> None:
    # The read is called at the instant the write returns: they overlap.
    history = [op("write", 1, 1, 0, 5), op("read", None, None, 5, 6, process=1)]
    assert check(history, REGISTER).verdict is Verdict.OK
    later = [op("write", 1, 1, 0, 5), op("read", None, None, 5.5, 6, process=1)]
    assert check(later, REGISTER).verdict is Verdict.VIOLATION


def test_reads_must_agree_on_an_order_of_writes() -> None:
    # Two readers see two concurrent writes in opposite orders: not linearizable.
    history = [
        op("write", 1, 1, 0, 10, process=0),
        op("write", 2, 2, 0, 10, process=1),
        op("read", None, 1, 1, 2, process=2),
        op("read", None, 2, 3, 4, process=2),
        op("read", None, 2, 1, 2, process=3),
        op("read", None, 1, 3, 4, process=3),
    ]
    assert check(history, REGISTER).verdict is Verdict.VIOLATION
    agreeing = [
        *history[:4],
        op("read", None, 1, 1, 2, process=3),
        op("read", None, 2, 3, 4, process=3),
    ]
    assert check(agreeing, REGISTER).verdict is Verdict.OK


def test_indeterminate_write_may_take_effect_late_or_never() -> None:
    timed_out = op("write", 7, UNKNOWN, 0, 0)
    seen_later = [timed_out, op("read", None, None, 5, 6, process=1), op("read", None, 7, 9, 10)]
    result = check(seen_later, REGISTER)
    assert result.verdict is Verdict.OK
    assert timed_out in result.partitions[0].linearization
    never_seen = [timed_out, op("read", None, None, 5, 6, process=1)]
    result = check(never_seen, REGISTER)
    assert result.verdict is Verdict.OK
    assert timed_out not in result.partitions[0].linearization
    # ... but never before it was called.
    too_early = [op("read", None, 7, 0, 1, process=1), op("write", 7, UNKNOWN, 2, 2)]
    assert check(too_early, REGISTER).verdict is Verdict.VIOLATION


def test_indeterminate_write_takes_effect_at_most_once() -> None:
    history = [
        op("write", 1, 1, 0, 1),
        op("write", 2, UNKNOWN, 2, 2, process=1),
        op("read", None, 2, 3, 4),
        op("write", 1, 1, 5, 6),
        op("read", None, 2, 7, 8),
    ]
    assert check(history, REGISTER).verdict is Verdict.VIOLATION


def test_failed_operations_never_happened() -> None:
    events = [
        HistoryEvent(0, OpType.INVOKE, "write", None, 5, None, 0),
        HistoryEvent(0, OpType.FAIL, "write", None, 5, None, 1),
        HistoryEvent(1, OpType.INVOKE, "read", None, None, None, 2),
        HistoryEvent(1, OpType.OK, "read", None, None, None, 3),
    ]
    assert check(pair_operations(events), REGISTER).verdict is Verdict.OK


def test_kv_partitions_are_checked_per_key_and_the_explanation_names_the_key() -> None:
    history = [
        op("put", "x", "x", 0, 1, key="a"),
        op("get", None, "x", 2, 3, key="a"),
        op("append", "1", "1", 0, 1, key="b", process=1),
        op("append", "2", "2", 2, 3, key="b", process=1),
        op("get", None, "2", 4, 5, key="b", process=2),
    ]
    result = check(history, KV)
    assert result.verdict is Verdict.VIOLATION
    assert [part.key for part in result.partitions] == ["a", "b"]
    assert [part.verdict for part in result.partitions] == [Verdict.OK, Verdict.VIOLATION]
    violation = result.violations[0]
    assert violation.key == "b"
    assert violation.final_state == "12"
    assert [stuck.op for stuck in violation.stuck] == [history[4]]
    assert not violation.stuck[0].accepted
    assert violation.deadline == history[4]
    text = result.explain()
    assert "key 'b'" in text
    assert "key 'a'" not in text
    assert "get() -> '2'" in text
    assert "append('1')" in text and "append('2')" in text
    assert "(call 4, return 5)" in text
    assert "state '12'" in text


def test_explanation_lists_prefix_and_stuck_operations_with_times() -> None:
    history = [
        op("write", 1, 1, 0, 1),
        op("write", 2, 2, 2, 3),
        op("read", None, 1, 4, 5, process=1),
    ]
    result = check(history, REGISTER)
    part = result.violations[0]
    assert part.key is None
    assert list(part.linearization) == history[:2]
    assert part.final_state == 2
    assert [stuck.op for stuck in part.stuck] == [history[2]]
    text = result.explain()
    assert "the register" in text
    assert "longest linearizable prefix has 2 operation(s)" in text
    assert "process 0: write(1)  (call 0, return 1)" in text
    assert "process 1: read() -> 1  (call 4, return 5): impossible in state 2" in text


def test_explanation_after_trying_both_orders_of_concurrent_writes() -> None:
    # Either write can go last, but the two reads cannot both follow.
    history = [
        op("write", 1, 1, 0, 3),
        op("write", 2, 2, 0, 3, process=1),
        op("read", None, 1, 4, 5, process=2),
        op("read", None, 2, 6, 7, process=2),
    ]
    result = check(history, REGISTER)
    assert result.verdict is Verdict.VIOLATION
    part = result.violations[0]
    assert [op.input for op in part.linearization] == [2, 1, None]
    assert part.final_state == 1
    assert [(stuck.op, stuck.accepted) for stuck in part.stuck] == [(history[3], False)]
    assert "returned at 7, but none can:" in result.explain()


def test_ok_explanation_and_witness() -> None:
    history = [op("write", 1, 1, 0, 10), op("read", None, 1, 1, 2, process=1)]
    result = check(history, REGISTER)
    assert result.partitions[0].linearization == (history[0], history[1])
    assert result.explain().startswith("Linearizable (register model): 2 operations")


def _hard_register_history(concurrency: int) -> list[CompletedOp]:
    """Many concurrent indeterminate writes, then an impossible read: the search
    must try many orders before it can conclude."""
    writes = [op("write", value, UNKNOWN, 0, 0, process=value) for value in range(concurrency)]
    reads = [op("read", None, value, 1 + value, 1.5 + value, process=99) for value in range(3)]
    return [*writes, *reads, op("read", None, 999, 10, 11, process=99)]


def test_step_budget_gives_unknown_deterministically() -> None:
    history = _hard_register_history(10)
    full = check(history, REGISTER)
    assert full.verdict is Verdict.VIOLATION
    assert full.steps > 1000
    limited = check(history, REGISTER, budget_steps=500)
    again = check(history, REGISTER, budget_steps=500)
    assert limited.verdict is Verdict.UNKNOWN
    assert limited.partitions[0].verdict is Verdict.UNKNOWN
    assert 500 <= limited.steps <= 500 + len(history) * 2
    assert limited.steps == again.steps
    assert "budget or time ran out after" in limited.explain()
    assert check(history, REGISTER, budget_steps=full.steps + 100).verdict is Verdict.VIOLATION
    with pytest.raises(ValueError, match="budget_steps"):
        check(history, REGISTER, budget_steps=-1)


def test_zero_timeout_gives_unknown() -> None:
    assert check(_hard_register_history(8), REGISTER, timeout_s=0.0).verdict is Verdict.UNKNOWN


def test_a_violation_in_one_partition_stops_the_search_in_a_hard_one() -> None:
    hard = [op("append", str(value), UNKNOWN, 0, 0, key="a", process=value) for value in range(18)]
    hard.append(op("get", None, "impossible", 5, 6, key="a", process=99))
    easy_violation = [
        op("put", "x", "x", 0, 1, key="b", process=100),
        op("get", None, "y", 2, 3, key="b", process=100),
    ]
    result = check([*hard, *easy_violation], KV, budget_steps=2_000_000)
    assert result.verdict is Verdict.VIOLATION
    assert [part.verdict for part in result.partitions] == [Verdict.UNKNOWN, Verdict.VIOLATION]
    assert result.steps < 200_000
    assert "1 left undecided once a violation was found" in result.explain()


def test_repeated_checks_are_identical() -> None:
    history = _hard_register_history(7)
    first = check(history, REGISTER)
    second = check(list(history), REGISTER)
    assert first.steps == second.steps
    assert first.explain() == second.explain()


def test_check_history_file_reads_our_jsonl(tmp_path: Path) -> None:
    events = [
        HistoryEvent(0, OpType.INVOKE, "put", "k", "v", 0.0, 0),
        HistoryEvent(1, OpType.INVOKE, "get", "k", None, 1.0, 1),
        HistoryEvent(0, OpType.OK, "put", "k", "v", 2.0, 2),
        HistoryEvent(1, OpType.OK, "get", "k", "v", 3.0, 3),
        HistoryEvent(1, OpType.INVOKE, "get", "k", None, 4.0, 4),
        HistoryEvent(1, OpType.OK, "get", "k", None, 5.0, 5),
    ]
    path = tmp_path / "history.jsonl"
    path.write_text(format_jsonl(events), encoding="utf-8")
    result = check_history_file(path, "kv")
    assert result.verdict is Verdict.VIOLATION
    assert "key 'k'" in result.explain()
    path.write_text(format_jsonl(events[:4]), encoding="utf-8")
    assert check_history_file(path, "kv", "jsonl").verdict is Verdict.OK


def test_explanation_marks_indeterminate_operations() -> None:
    history = [
        op("write", 1, UNKNOWN, 0, 0),
        op("read", None, 1, 1, 2, process=1),
        op("read", None, None, 3, 4, process=1),
    ]
    result = check(history, REGISTER)
    assert result.verdict is Verdict.VIOLATION
    assert list(result.violations[0].linearization) == history[:2]
    text = result.explain()
    assert "process 0: write(1) -> ?  (call 0, indeterminate)" in text
    assert "process 1: read() -> nil  (call 3, return 4): impossible in state 1" in text


def test_a_violation_is_a_problem_at_the_call_of_the_first_operation_that_cannot_follow() -> None:
    history = [
        op("put", "x", "x", 0, 1, key="a"),
        op("put", "y", "y", 2, 3, key="b"),
        op("get", None, "x", 4, 9, key="b", process=1),  # cannot follow put('y')
        op("get", None, "z", 5, 7, key="b", process=2),  # nor can this: called later,
    ]  # but it returns first (the deadline)
    result = check(history, KV)
    assert result.violations[0].deadline == history[3]
    assert result.problems() == [
        Problem(4.0, "not linearizable on key 'b': process 1: get() -> 'x'", 9.0, "b")
    ]
    assert check(history[:2], KV).problems() == []


def test_an_indeterminate_operation_that_cannot_follow_is_a_problem_without_an_end() -> None:
    write = op("write", 2, UNKNOWN, 3, 0, process=1)
    part = PartitionResult(
        None, Verdict.VIOLATION, 2, 1, (op("write", 1, 1, 0, 1),), 1, (StuckOperation(write, True),)
    )
    result = LinearizabilityResult(Verdict.VIOLATION, (part,), REGISTER, 1, 2)
    assert result.problems() == [
        Problem(3.0, "not linearizable on the register: process 1: write(2) -> ?", None, None)
    ]


def _unread_writes(final_read: object) -> list[CompletedOp]:
    """put 1, ten timed-out puts no one reads, then a get: the search tries the orders of
    the ten before it can answer (over 30,000 steps)."""
    history = [op("put", 1, None, 0, 1, key="k")]
    history += [op("put", 100 + n, UNKNOWN, 2, 0, key="k", process=10 + n) for n in range(10)]
    return [*history, op("get", None, final_read, 3, 4, key="k", process=1)]


def test_out_of_budget_a_part_is_searched_again_without_the_writes_no_one_observed() -> None:
    history = _unread_writes(1)
    assert check(history, KV).steps > 30_000  # the whole search, unbudgeted
    result = check(history, KV, budget_steps=100)
    # Without the ten the get follows put 1 at once; each of the ten can be linearized
    # after everything (it never returned), so the history is linearizable.
    assert result.verdict is Verdict.OK
    assert result.partitions[0].operation_count == len(history)
    assert result.partitions[0].steps <= 100 + 10


def test_a_violation_without_the_unobserved_writes_decides_nothing() -> None:
    # A get of a value never written: the lighter search fails, but that proves nothing
    # about the whole history, which stays undecided within the budget.
    impossible = check(_unread_writes(999), KV, budget_steps=100)
    assert impossible.verdict is Verdict.UNKNOWN
    # A failed cas(1, 3) needs one of the unread writes to have landed first: it is
    # linearizable, yet not without them, so the lighter search must not decide it.
    history = [*_unread_writes(1)[:-1], op("cas", (1, 3), False, 3, 4, key="k", process=1)]
    assert check(history, KV).verdict is Verdict.OK
    assert check(history, KV, budget_steps=5).verdict is Verdict.UNKNOWN
