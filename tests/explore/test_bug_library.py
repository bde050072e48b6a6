"""The bug library against the shipped scenarios: every textbook bug is caught, at seed 1.

This is the short version of ``harmonysim mutants`` (whose default is 200 seeds): each bug
runs over the default mutant scenarios, seed 1 only, and must be caught by a real check.
A bug that slips through, or a checker that stops seeing it, fails here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harmonysim.cli import main
from harmonysim.scenario import KNOWN_BUGS

ROOT = Path(__file__).resolve().parents[2]

SHIPPED_SCENARIO_BUGS = KNOWN_BUGS[: KNOWN_BUGS.index("btree_split_loses_key") + 1]
"""The textbook bugs, which the shipped scenarios catch at seed 1. The bugs after them,
drawn from real implementations, are each reproduced by a staged schedule
(tests/raft/test_real_bugs.py, tests/explore/test_real_bugs.py); how often the generic
nemesis finds them is measured, not promised here."""


def test_every_known_bug_is_caught_on_seed_1_of_the_shipped_scenarios(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # the default scenarios are looked up under scenarios/
    capsys.readouterr()
    argv = ["mutants", "--seeds", "1", "--workers", str(min(2, os.cpu_count() or 1))]
    argv += ["--bugs", ",".join(SHIPPED_SCENARIO_BUGS)]
    status = main([*argv, "--out", str(tmp_path), "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert [row["bug"] for row in rows] == list(SHIPPED_SCENARIO_BUGS)
    missed = [row["bug"] for row in rows if not row["detected"]]
    assert missed == []
    for row in rows:
        assert row["first_seed"] == 1
        assert row["check"] in {"raft_safety", "linearizability", "btree_invariants", "replicas"}
    assert status == 0
