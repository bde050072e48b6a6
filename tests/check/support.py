"""Shared helpers for the checker tests: test data location and witness validation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harmonysim.check.history import CompletedOp, OpStatus
from harmonysim.check.models import REJECT, Model

# Porcupine's known-answer histories (MIT licence, tests/data/porcupine/LICENSE.md), kept in
# the repository so every clone checks every verdict.
PORCUPINE_DIR = Path(__file__).resolve().parents[1] / "data" / "porcupine"
PORCUPINE_MISSING_REASON = f"Porcupine known-answer histories not found at {PORCUPINE_DIR}"


def porcupine_expectations() -> list[tuple[str, str, str]]:
    """Rows of EXPECTED.tsv: (relative file, model name, "ok" | "bad")."""
    rows: list[tuple[str, str, str]] = []
    lines = (PORCUPINE_DIR / "EXPECTED.tsv").read_text(encoding="utf-8").splitlines()
    for line in lines[1:]:
        if line.strip():
            file_name, model_name, expected = line.split("\t")
            rows.append((file_name, model_name, expected))
    return rows


def assert_valid_witness(
    witness: Sequence[CompletedOp], ops: Sequence[CompletedOp], model: Model
) -> None:
    """A linearization witness (partitions concatenated) contains every OK operation
    of ``ops`` once; within each partition it respects real-time order (a.ret < b.call
    puts a first) and the model accepts its operations in order."""
    required = [op for op in ops if op.status is OpStatus.OK]
    assert len({id(op) for op in witness}) == len(witness), "an operation appears twice"
    witness_ids = {id(op) for op in witness}
    assert all(id(op) in witness_ids for op in required), "an OK operation is missing"
    for group in model.partition(list(witness)):
        for later_position, later in enumerate(group):
            for earlier in group[:later_position]:
                assert not later.ret < earlier.call, f"{later} precedes {earlier} in real time"
        compiled = model.compile_partition(group)
        state = compiled.init
        for op, step in zip(group, compiled.steps, strict=True):
            state = step(state)
            assert state is not REJECT, f"model rejects {op} in the witness"
