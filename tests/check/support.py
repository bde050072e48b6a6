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
    parts: Sequence[Sequence[CompletedOp]], ops: Sequence[CompletedOp], model: Model
) -> None:
    """A linearization witness, one sequence per partition, covers every OK operation
    of ``ops`` (a scan may appear in several parts, as views of its keys); each part
    respects real-time order (a.ret < b.call puts a first) and the model accepts its
    operations in order."""
    keys = {op.key for op in ops if op.f != "scan"}
    required = {
        (op.process, op.invoke_index)
        for op in ops
        if op.status is OpStatus.OK
        # A scan of a range that holds no key of the history, seeing nothing, constrains
        # nothing: no part needs it.
        and not (
            op.f == "scan" and not op.output and not any(op.key <= k <= op.input for k in keys)
        )
    }
    seen = [(op.process, op.invoke_index) for part in parts for op in part]
    assert required <= set(seen), "an OK operation is missing"
    for part in parts:
        identities = {(op.process, op.invoke_index, op.key) for op in part}
        assert len(identities) == len(part), "an operation twice in a part"
        for later_position, later in enumerate(part):
            for earlier in part[:later_position]:
                assert not later.ret < earlier.call, f"{later} precedes {earlier} in real time"
        compiled = model.compile_partition(part)
        state = compiled.init
        for op, step in zip(part, compiled.steps, strict=True):
            state = step(state)
            assert state is not REJECT, f"model rejects {op} in the witness"
