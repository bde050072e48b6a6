"""docs/scenario-reference.md is generated from the schema and kept in step with it."""

from __future__ import annotations

from pathlib import Path

from harmonysim.scenario import KNOWN_BUGS, OPERATION_KINDS, PartitionKind
from harmonysim.scenario.reference import missing_notes, reference_markdown

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "scenario-reference.md"


def test_the_committed_reference_is_the_generated_one() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == reference_markdown(), (
        "regenerate it: python -m harmonysim.scenario.reference > docs/scenario-reference.md"
    )


def test_every_schema_key_has_a_meaning() -> None:
    assert missing_notes() == []


def test_the_reference_names_what_a_user_looks_for() -> None:
    text = reference_markdown()
    for word in [*OPERATION_KINDS, *KNOWN_BUGS, *(kind.value for kind in PartitionKind)]:
        assert f"`{word}" in text, word
    for needle in ("| `lognormal` | `mean`, `p99` |", "- `fail`:", "- `info`:", "`operations`"):
        assert needle in text
