"""A staged liveness bug is caught by the rule it breaks, named in the violation.

``test_bug_library.py`` pins every staged bug to the check that catches it at its
shipped scenario and seed, with a bug-free control. A liveness bug may show first as
the stall it causes rather than the rule it breaks, so for these the violation must
also say which: a removed server disrupting the members (L4), no leader at all (L1).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harmonysim.check.result import CheckStatus
from harmonysim.explore.staged import STAGED
from harmonysim.runner import run_scenario
from harmonysim.scenario import load_scenario, resolve

ROOT = Path(__file__).resolve().parents[2]

RULE_TEXT = {
    "vote_ignores_leader_stickiness": "removed server n5 disrupted member",
    "pre_candidate_keeps_leader": "no leader among",
}


@pytest.mark.parametrize("bug", sorted(RULE_TEXT))
def test_the_liveness_violation_names_the_rule_the_bug_breaks(bug: str, tmp_path: Path) -> None:
    pin = STAGED[bug]
    assert pin.check == "liveness"
    scenario = resolve(
        load_scenario(ROOT / "scenarios" / f"{pin.scenario}.yaml"), seed=pin.seed, bugs=(bug,)
    )
    outcome = run_scenario(scenario, tmp_path / "run", trace_sample=0, failure_traces=False)
    liveness = outcome.checks["liveness"]
    assert liveness.status is CheckStatus.VIOLATION
    texts = [liveness.summary, *map(str, liveness.details.get("violations", ()))]
    assert any(RULE_TEXT[bug] in text for text in texts), texts
