"""History events, pairing and the three parsers (JSON Lines, Jepsen EDN, Jepsen log)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmonysim.check.history import (
    UNKNOWN,
    HistoryEvent,
    HistoryParseError,
    Keyword,
    OpStatus,
    OpType,
    Symbol,
    format_jsonl,
    load_history,
    pair_operations,
    parse_edn,
    parse_jepsen_edn,
    parse_jepsen_log,
    parse_jsonl,
)


def event(
    process: int | str,
    op_type: OpType,
    f: str,
    value: object = None,
    index: int = 0,
    *,
    key: object | None = None,
    time: float | None = None,
) -> HistoryEvent:
    return HistoryEvent(process, op_type, f, key, value, time, index, index + 1)


# --------------------------------------------------------------------------- pairing


def test_pairing_matches_invocations_per_process() -> None:
    events = [
        event(0, OpType.INVOKE, "write", 1, 0),
        event(1, OpType.INVOKE, "read", None, 1),
        event(1, OpType.OK, "read", 1, 2),
        event(0, OpType.OK, "write", 1, 3),
    ]
    ops = pair_operations(events)
    assert [(op.process, op.f, op.input, op.output, op.call, op.ret) for op in ops] == [
        (0, "write", 1, 1, 0.0, 3.0),
        (1, "read", None, 1, 1.0, 2.0),
    ]
    assert all(op.status is OpStatus.OK for op in ops)
    assert (ops[0].invoke_index, ops[0].complete_index) == (0, 3)


def test_fail_is_dropped_info_and_open_invocations_stay_pending() -> None:
    events = [
        event(0, OpType.INVOKE, "cas", (1, 2), 0),
        event(0, OpType.FAIL, "cas", (1, 2), 1),
        event(1, OpType.INVOKE, "write", 3, 2),
        event(1, OpType.INFO, "write", Keyword("timed-out"), 3),
        event(1, OpType.INVOKE, "read", None, 4),
        event(2, OpType.INVOKE, "write", 4, 5),
        event(1, OpType.OK, "read", 4, 6),
    ]
    ops = pair_operations(events)
    assert [op.f for op in ops] == ["write", "read", "write"]
    timed_out, read, never_completed = ops
    assert timed_out.status is OpStatus.INFO
    assert timed_out.output is UNKNOWN
    assert timed_out.ret == math.inf
    assert timed_out.complete_index == 3
    assert read.status is OpStatus.OK
    assert never_completed.status is OpStatus.INFO
    assert never_completed.complete_index is None
    assert never_completed.ret == math.inf


def test_pairing_uses_times_when_every_event_has_one() -> None:
    events = [
        event(0, OpType.INVOKE, "write", 1, 0, time=10.5),
        event(0, OpType.OK, "write", 1, 1, time=12.0),
    ]
    assert [(op.call, op.ret) for op in pair_operations(events)] == [(10.5, 12.0)]
    mixed = [events[0], event(0, OpType.OK, "write", 1, 1)]
    assert [(op.call, op.ret) for op in pair_operations(mixed)] == [(0.0, 1.0)]


def test_double_invocation_is_reported_with_its_line() -> None:
    events = [event(3, OpType.INVOKE, "write", 1, 0), event(3, OpType.INVOKE, "read", None, 1)]
    with pytest.raises(HistoryParseError) as caught:
        pair_operations(events, source="h.jsonl")
    assert str(caught.value).startswith("h.jsonl:2: process 3 invokes 'read'")
    assert "line 1" in str(caught.value)


def test_completion_without_invocation_is_reported() -> None:
    events = [event(0, OpType.OK, "read", 1, 0)]
    with pytest.raises(HistoryParseError, match=r"<history>:1: .*without a pending invocation"):
        pair_operations(events)


def test_completion_must_match_its_invocation() -> None:
    events = [event(0, OpType.INVOKE, "read", None, 0), event(0, OpType.OK, "write", 1, 1)]
    with pytest.raises(HistoryParseError, match="does not match"):
        pair_operations(events)


def test_completion_before_invocation_in_time_is_reported() -> None:
    events = [
        event(0, OpType.INVOKE, "read", None, 0, time=5.0),
        event(0, OpType.OK, "read", None, 1, time=4.0),
    ]
    with pytest.raises(HistoryParseError, match="earlier than its invocation"):
        pair_operations(events)


def test_nemesis_events_are_ignored() -> None:
    events = [
        event("nemesis", OpType.INFO, "start", None, 0),
        event(0, OpType.INVOKE, "read", None, 1),
        event("nemesis", OpType.INFO, "start", "partitioned", 2),
        event(0, OpType.OK, "read", None, 3),
    ]
    assert [op.f for op in pair_operations(events)] == ["read"]


# --------------------------------------------------------------------------- JSON Lines

JSONL_EXAMPLE = """\
{"process": 0, "type": "invoke", "f": "put", "key": "k", "value": "v", "time": 1.5}
{"process": 0, "type": "ok", "f": "put", "key": "k", "value": "v", "time": 2}

{"process": "c1", "type": "invoke", "f": "cas", "key": "k", "value": ["v", "w"], "node": "n1"}
"""


def test_parse_jsonl_example() -> None:
    events = parse_jsonl(JSONL_EXAMPLE, "h.jsonl")
    assert events == [
        HistoryEvent(0, OpType.INVOKE, "put", "k", "v", 1.5, 0, 1),
        HistoryEvent(0, OpType.OK, "put", "k", "v", 2.0, 1, 2),
        HistoryEvent("c1", OpType.INVOKE, "cas", "k", ("v", "w"), None, 2, 4),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"type": "ok", "f": "read"}', "missing key 'process'"),
        ('{"process": true, "type": "ok", "f": "read"}', "'process' must be"),
        ('{"process": 1, "type": "done", "f": "read"}', "'type' must be one of"),
        ('{"process": 1, "type": "ok", "f": ""}', "'f' must be a non-empty string"),
        (
            '{"process": 1, "type": "ok", "f": "read", "time": "soon"}',
            "'time' must be a finite number",
        ),
    ],
)
def test_parse_jsonl_errors_name_the_line(line: str, message: str) -> None:
    text = '{"process": 0, "type": "invoke", "f": "read"}\n\n' + line + "\n"
    with pytest.raises(HistoryParseError) as caught:
        parse_jsonl(text, "runs/x/history.jsonl")
    assert caught.value.line == 3
    assert str(caught.value).startswith("runs/x/history.jsonl:3: ")
    assert message in str(caught.value)


json_scalars = st.one_of(
    st.none(),
    st.integers(-(10**6), 10**6),
    st.text(max_size=8),
    st.booleans(),
)
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=3).map(tuple), max_leaves=6
)
events_strategy = st.lists(
    st.builds(
        lambda process, op_type, f, key, value, time: (process, op_type, f, key, value, time),
        st.one_of(st.integers(0, 50), st.text(min_size=1, max_size=5)),
        st.sampled_from(list(OpType)),
        st.sampled_from(["read", "write", "cas", "get", "put", "append"]),
        st.one_of(st.none(), st.text(max_size=4), st.integers(0, 9)),
        json_values,
        st.one_of(st.none(), st.floats(0, 1e9, allow_nan=False)),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(events_strategy)
def test_jsonl_round_trip(drafts: list[tuple[object, ...]]) -> None:
    events = [
        HistoryEvent(process, op_type, f, key, value, time, index, index + 1)  # type: ignore[arg-type]
        for index, (process, op_type, f, key, value, time) in enumerate(drafts)
    ]
    assert parse_jsonl(format_jsonl(events)) == events


# --------------------------------------------------------------------------- EDN


def test_edn_reader_subset() -> None:
    text = r"""
    ; a comment
    {:a [1 -2 3.5 4N 1e3], :b "x\"y\n\u00e9", :c #{:k}, :d (nil true false),
     :e sym, :f \a, :g #inst "2020-01-01", #_ :ignored :h {}}
    """
    (form,) = parse_edn(text)
    assert form == {
        Keyword("a"): (1, -2, 3.5, 4, 1000.0),
        Keyword("b"): 'x"y\né',
        Keyword("c"): frozenset({Keyword("k")}),
        Keyword("d"): (None, True, False),
        Keyword("e"): Symbol("sym"),
        Keyword("f"): "a",
        Keyword("g"): "2020-01-01",
        Keyword("h"): {},
    }


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("{:a 1}\n{:b [1 2}\n", 2, "expected ']' to close '['"),
        ("{:a 1}\n\n{:b 2", 3, "never closed"),
        ("{:a 1 :b}", 1, "odd number of forms"),
        ("[1\n 2]\n)", 3, "unexpected ')'"),
        ('{:a "open\n', 1, "unexpected character"),
        ("{:a 1}\n#_", 2, "unexpected end of input"),
        ('"\\q"', 1, "unknown escape"),
    ],
)
def test_edn_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(HistoryParseError) as caught:
        parse_edn(text, "h.edn")
    assert caught.value.line == line
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"h.edn:{line}: ")


def test_parse_jepsen_edn_porcupine_style() -> None:
    text = (
        '{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}\n'
        '{:process 0, :type :ok, :f :append, :key "0", :value "x 0 0 y"}\n'
        "{:process :nemesis, :type :info, :f :start, :value nil, :time 12}\n"
    )
    events = parse_jepsen_edn(text, "c.txt")
    assert events == [
        HistoryEvent(0, OpType.INVOKE, "append", "0", "x 0 0 y", None, 0, 1),
        HistoryEvent(0, OpType.OK, "append", "0", "x 0 0 y", None, 1, 2),
        HistoryEvent("nemesis", OpType.INFO, "start", None, None, 12.0, 2, 3),
    ]


def test_parse_jepsen_edn_vector_form_keeps_lines() -> None:
    text = (
        "[{:process 0, :type :invoke, :f :write, :value 3}\n"
        " #_{:process 9, :type :ok, :f :write, :value 3}\n"
        " {:process 0, :type :ok, :f :write, :value 3}]\n"
    )
    events = parse_jepsen_edn(text)
    assert [(e.process, e.type, e.line) for e in events] == [
        (0, OpType.INVOKE, 1),
        (0, OpType.OK, 3),
    ]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{:type :ok, :f :read}", "missing :process"),
        ("{:process 0, :type :done, :f :read}", ":type must be"),
        ("{:process 0, :type :ok, :f 3}", ":f must be a keyword"),
        ("{:process 1.5, :type :ok, :f :read}", ":process must be"),
        ("[:not :a :map]\n[1]", "expected an operation map"),
    ],
)
def test_parse_jepsen_edn_errors(bad: str, message: str) -> None:
    text = "{:process 0, :type :invoke, :f :read, :value nil}\n" + bad + "\n"
    with pytest.raises(HistoryParseError) as caught:
        parse_jepsen_edn(text, "c.txt")
    assert caught.value.line == 2
    assert message in str(caught.value)


# --------------------------------------------------------------------------- Jepsen log

LOG_EXAMPLE = (
    "2017-01-01 INFO  jepsen.core - Running test\n"
    "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n"
    "INFO  jepsen.util - 1   :invoke :cas    [3 0]\n"
    "INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n"
    "INFO  jepsen.util - 1\t:fail\t:cas\t[3 0]\n"
    "INFO  jepsen.util - 0\t:ok\t:read\t3\n"
    "INFO  jepsen.util - 2\t:invoke\t:write\t4\n"
    "INFO  jepsen.util - 2\t:info\t:write\t:timed-out\n"
    "INFO  jepsen.util - some other message from jepsen.util\n"
)


def test_parse_jepsen_log_example() -> None:
    events = parse_jepsen_log(LOG_EXAMPLE, "etcd.log")
    assert [(e.process, e.type, e.f, e.value, e.line) for e in events] == [
        (0, OpType.INVOKE, "read", None, 2),
        (1, OpType.INVOKE, "cas", (3, 0), 3),
        ("nemesis", OpType.INFO, "start", None, 4),
        (1, OpType.FAIL, "cas", (3, 0), 5),
        (0, OpType.OK, "read", 3, 6),
        (2, OpType.INVOKE, "write", 4, 7),
        (2, OpType.INFO, "write", Keyword("timed-out"), 8),
    ]
    assert [e.index for e in events] == list(range(7))
    ops = pair_operations(events, source="etcd.log")
    assert [(op.f, op.status) for op in ops] == [("read", OpStatus.OK), ("write", OpStatus.INFO)]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("INFO  jepsen.util - 0\t:ok\t:read\t[1 2", "never closed"),
        ("INFO  jepsen.util - 0\t:ok\t:read\t1 2", "expected one value"),
        ("INFO  jepsen.util - p-1\t:ok\t:read\t1", "process must be"),
    ],
)
def test_parse_jepsen_log_errors_name_the_line(line: str, message: str) -> None:
    with pytest.raises(HistoryParseError) as caught:
        parse_jepsen_log("INFO  jepsen.util - 0\t:invoke\t:read\tnil\n" + line + "\n", "e.log")
    assert caught.value.line == 2
    assert message in str(caught.value)


# --------------------------------------------------------------------------- loading


def test_load_history_sniffs_each_format(tmp_path: Path) -> None:
    jsonl = tmp_path / "history.jsonl"
    jsonl.write_text(JSONL_EXAMPLE, encoding="utf-8")
    edn = tmp_path / "history.edn"
    edn.write_text("{:process 0, :type :invoke, :f :read, :value nil}\n", encoding="utf-8")
    log = tmp_path / "jepsen.log"
    log.write_text(LOG_EXAMPLE, encoding="utf-8")
    assert load_history(jsonl) == parse_jsonl(JSONL_EXAMPLE, str(jsonl))
    assert load_history(edn)[0].f == "read"
    assert load_history(edn, "jepsen") == load_history(edn, "edn")
    assert load_history(log) == parse_jepsen_log(LOG_EXAMPLE, str(log))
    assert load_history(log, "jepsen") == load_history(log, "log")
    with pytest.raises(HistoryParseError, match=r"history.edn:1: invalid JSON"):
        load_history(edn, "jsonl")
    with pytest.raises(ValueError, match="unknown history format"):
        load_history(edn, "yaml")  # type: ignore[arg-type]
