"""Golden transcripts of small interactions, compared exactly (etcd's datadriven style).

Rules of this file:
- Each scenario in ``scenarios.py`` records the messages delivered and the state of every
  node into a transcript; the text must equal ``golden/<scenario>.txt``. A mismatch shows
  the unified diff.
- The transcripts carry assertions of their own: ``! leader ...`` and ``! committed ...``
  lines come from expectations written in ``scenarios.py`` and checked against the nodes,
  not against the text. Every scenario states who leads and what committed, and a failed
  expectation fails the test whatever the golden file says.
- Regenerating (``HARMONYSIM_UPDATE_GOLDEN=1``, after an intended change of behaviour)
  refuses to write a transcript whose expectations fail; it writes a changed file, prints
  the unified diff and fails, so the run that rewrote a file never passes. Review the diff,
  then run again without the variable.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from .scenarios import SCENARIOS, figure_8

GOLDEN_DIR = Path(__file__).parent / "golden"
UPDATE = os.environ.get("HARMONYSIM_UPDATE_GOLDEN") == "1"


def unified_diff(old: str, new: str, name: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"golden/{name} (stored)",
            tofile=f"golden/{name} (this run)",
        )
    )


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_golden_transcript(name: str) -> None:
    cluster = SCENARIOS[name](frozenset())
    assert cluster.transcript is not None
    assert cluster.expectation_failures == []
    assert any(line.startswith("leader ") for line in cluster.expectations), "who leads?"
    assert any(line.startswith("committed ") for line in cluster.expectations), "what committed?"
    assert cluster.violations == []
    cluster.check_safety()
    text = "\n".join(cluster.transcript) + "\n"
    path = GOLDEN_DIR / f"{name}.txt"
    stored = path.read_text(encoding="utf-8") if path.exists() else ""
    if text == stored:
        return
    diff = unified_diff(stored, text, path.name)
    if UPDATE:
        path.write_text(text, encoding="utf-8")
        print(diff)
        pytest.fail(f"rewrote {path.name}; review the diff, then rerun without the update:\n{diff}")
    assert path.exists(), f"missing {path.name}: run with HARMONYSIM_UPDATE_GOLDEN=1"
    pytest.fail(f"{path.name} differs from this run:\n{diff}")


def test_expectations_fail_when_the_outcome_is_wrong() -> None:
    # The Figure 8 script with the bug: 2@1 commits by counting in term 3, then is lost.
    cluster = figure_8(frozenset({"commit_prior_term_by_count"}))
    assert cluster.expectation_failures, cluster.expectations
    assert cluster.expectation_failures[0].startswith(
        "expected committed [1@1 noop], but committed [1@1 noop, 2@1 'x']"
    ), cluster.expectation_failures


def test_a_changed_transcript_shows_its_diff() -> None:
    diff = unified_diff("> state\n  n1 LEADER\n", "> state\n  n1 FOLLOWER\n", "x.txt")
    assert "-  n1 LEADER\n" in diff and "+  n1 FOLLOWER\n" in diff
