"""Known answers: every Porcupine test history gets the verdict in EXPECTED.tsv.

The histories (Jepsen etcd cas-register logs and KV histories with get/put/append)
and their verdicts come from Porcupine's test suite (MIT licence).
"""

from __future__ import annotations

import time

import pytest

from harmonysim.check.history import load_history, pair_operations
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
    ops = pair_operations(load_history(path), source=file_name)
    result = check(ops, model)
    if expected == "ok":
        assert result.verdict is Verdict.OK, result.explain()
        witness = [op for part in result.partitions for op in part.linearization]
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
    histories (about 2.0 million today; Porcupine's unpruned search needs more),
    and a loose wall-clock bound (the goal is ~1 s on a laptop core)."""
    files = [name for name, _, _ in porcupine_expectations() if name.startswith("jepsen/")]
    model = get_model("register")
    started = time.perf_counter()
    steps = 0
    for file_name in files:
        ops = pair_operations(load_history(PORCUPINE_DIR / file_name), source=file_name)
        steps += check(ops, model).steps
    elapsed_s = time.perf_counter() - started
    assert steps <= 2_100_000
    assert elapsed_s < 10.0
