"""Known answers: every Porcupine test history gets the verdict in EXPECTED.tsv.

The histories (Jepsen etcd cas-register logs and KV histories with get/put/append)
and their verdicts come from Porcupine's test suite (MIT licence). Each is read as
its format says (``default_fail_cas``): in the etcd logs a ``:fail :cas`` is a cas
whose compare failed, as Porcupine's etcd model reads it.
"""

from __future__ import annotations

import time

import pytest

from harmonysim.check.history import (
    FailCas,
    HistoryFormat,
    OpType,
    default_fail_cas,
    load_history,
    load_history_as,
    pair_operations,
)
from harmonysim.check.linearizability import Verdict, check, check_history_file
from harmonysim.check.models import get_model
from tests.check.support import (
    PORCUPINE_DIR,
    PORCUPINE_MISSING_REASON,
    assert_valid_witness,
    porcupine_expectations,
)

assert PORCUPINE_DIR.is_dir(), PORCUPINE_MISSING_REASON
CASES = [
    pytest.param(file_name, model_name, expected, id=file_name)
    for file_name, model_name, expected in porcupine_expectations()
]


def test_all_expected_histories_are_listed() -> None:
    rows = porcupine_expectations()
    assert len(rows) == 108
    assert sum(1 for file_name, _, _ in rows if file_name.startswith("jepsen/")) == 102
    assert {expected for _, _, expected in rows} == {"ok", "bad"}


@pytest.mark.parametrize(("file_name", "model_name", "expected"), CASES)
def test_porcupine_verdict(file_name: str, model_name: str, expected: str) -> None:
    path = PORCUPINE_DIR / file_name
    model = get_model(model_name)
    events, fmt = load_history_as(path)
    assert fmt is (HistoryFormat.LOG if file_name.startswith("jepsen/") else HistoryFormat.EDN)
    ops = pair_operations(events, source=file_name, fail_cas=default_fail_cas(fmt))
    result = check(ops, model)
    if expected == "ok":
        assert result.verdict is Verdict.OK, result.explain()
        witness = [part.linearization for part in result.partitions]
        assert_valid_witness(witness, ops, model)
    else:
        assert result.verdict is Verdict.VIOLATION
        explanation = result.explain()
        violated = result.violations[0]
        assert violated.stuck, "a violation names the operations that cannot follow the prefix"
        assert "Not linearizable" in explanation
        if model_name == "kv":
            assert f"key {violated.key!r}" in explanation
        else:
            assert "the register" in explanation


def test_check_history_file_matches_expected_for_one_of_each() -> None:
    assert check_history_file(PORCUPINE_DIR / "jepsen/etcd_002.log", "register", "log").verdict is (
        Verdict.OK
    )
    assert check_history_file(PORCUPINE_DIR / "jepsen/etcd_000.log", "register").verdict is (
        Verdict.VIOLATION
    )
    assert check_history_file(PORCUPINE_DIR / "kv/c10-bad.txt", "kv", "edn").verdict is (
        Verdict.VIOLATION
    )
    assert check_history_file(PORCUPINE_DIR / "kv/c01-ok.txt", "kv", "jepsen").verdict is (
        Verdict.OK
    )


def test_etcd_histories_search_cost() -> None:
    """Guards the search's pruning: the deterministic step count over all etcd
    histories, failed cas read as compares (about 3.2 million today; 2.0 million
    when they are dropped), and a loose wall-clock bound (the goal is ~2 s on a
    laptop core)."""
    files = [name for name, _, _ in porcupine_expectations() if name.startswith("jepsen/")]
    model = get_model("register")
    started = time.perf_counter()
    steps = 0
    for file_name in files:
        events = load_history(PORCUPINE_DIR / file_name)
        ops = pair_operations(events, source=file_name, fail_cas=FailCas.COMPARE)
        steps += check(ops, model).steps
    elapsed_s = time.perf_counter() - started
    assert steps <= 3_300_000
    assert elapsed_s < 15.0


def test_the_etcd_logs_hold_failed_cas_read_as_compares() -> None:
    """The etcd reading is exercised: the logs hold failed cas, and they reach the
    model as cas operations that returned false."""
    files = [name for name, _, _ in porcupine_expectations() if name.startswith("jepsen/")]
    failed = 0
    for file_name in files:
        events, fmt = load_history_as(PORCUPINE_DIR / file_name)
        assert default_fail_cas(fmt) is FailCas.COMPARE
        failed_here = sum(1 for e in events if e.type is OpType.FAIL and e.f == "cas")
        ops = pair_operations(events, fail_cas=FailCas.COMPARE)
        assert sum(1 for op in ops if op.f == "cas" and op.output is False) == failed_here
        failed += failed_here
    assert failed > 1000
