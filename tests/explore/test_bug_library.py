"""The bug library, pinned: each bug is caught by the check that owns its rule, at a
scenario and seed where the same run without the bug is clean.

Rules of this file:
- ``CAUGHT_BY`` (``harmonysim.explore.staged.STAGED``) is the specification: for every
  bug of ``KNOWN_BUGS``, the shipped scenario and seed of a run where it shows, the
  check that must report it, and the other checks allowed to report it too (a broken
  rule often breaks a second one: a split that loses a key also makes reads stale). Any
  other failing check is an error, and so is an unknown verdict.
- Every pinned run has a bug-free control: the same scenario and seed with no
  bug must pass every check. Without it a checker that false-alarms at that seed, or a
  bug switch that does nothing, would count as a detection.
- A bug added to the library without an entry here fails
  ``test_every_bug_in_the_library_declares_its_check``.
- The runs go through ``run_task``, the path ``harmonysim mutants`` takes for each run
  (it is exercised end to end in ``test_cli.py`` and ``test_sweep.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harmonysim.cli.mutants import load_scenarios
from harmonysim.explore.pool import SeedResult, SeedTask, run_task
from harmonysim.explore.staged import STAGED
from harmonysim.explore.verdict import RunStatus
from harmonysim.scenario import KNOWN_BUGS

ROOT = Path(__file__).resolve().parents[2]


CAUGHT_BY = STAGED  # the specification lives beside `mutants`, which measures it too

CONTROLS = sorted({pin.run for pin in CAUGHT_BY.values()}, key=str)


def run(scenario: str, seed: int, bugs: tuple[str, ...]) -> SeedResult:
    (loaded,) = load_scenarios(str(ROOT / "scenarios" / f"{scenario}.yaml"), None)
    assert loaded.bugs == (), f"{scenario} enables bugs of its own: {loaded.bugs}"
    return run_task(SeedTask(scenario=loaded, seed=seed, bugs=bugs))


def test_every_bug_in_the_library_declares_its_check() -> None:
    """Each bug is pinned here (a shipped scenario) or by a scripted core schedule
    (tests/raft/test_real_bugs.py), each with its bug-free control."""
    from tests.raft.test_real_bugs import SCHEDULES

    declared = set(CAUGHT_BY) | {bug.value for bug in SCHEDULES}
    assert sorted(declared) == sorted(KNOWN_BUGS), "declare each new bug's pinned run"


@pytest.mark.parametrize("bug", list(CAUGHT_BY))
def test_bug_is_caught_by_its_own_check(bug: str) -> None:
    pin = CAUGHT_BY[bug]
    result = run(pin.scenario, pin.seed, (bug,))
    assert result.error is None, result.error
    assert result.status is RunStatus.FAIL
    assert pin.check in result.failed_checks, result.failed_checks
    unexpected = set(result.failed_checks) - {pin.check} - pin.also
    assert not unexpected, f"{bug} also failed {sorted(unexpected)}, not declared in CAUGHT_BY"
    assert result.unknown_checks == ()


@pytest.mark.parametrize("scenario,seed", CONTROLS)
def test_pinned_runs_are_clean_without_the_bug(scenario: str, seed: int) -> None:
    result = run(scenario, seed, ())
    assert result.error is None, result.error
    assert result.failed_checks == ()
    assert result.unknown_checks == ()
    assert result.status is RunStatus.PASS
    assert result.operations > 0  # the control did real work: its checks saw a history


def test_the_read_mostly_generic_nemesis_finds_a_lease_bug_where_its_control_is_clean() -> None:
    """``nemesis-leases`` knows nothing of any bug: its first detection of
    ``lease_until_step_down`` (seed 5, as the README's power figures say) is the
    linearizability check's alone, and the same seed without the bug passes."""
    caught = run("nemesis-leases", 5, ("lease_until_step_down",))
    assert caught.error is None, caught.error
    assert caught.failed_checks == ("linearizability",)
    clean = run("nemesis-leases", 5, ())
    assert clean.status is RunStatus.PASS and clean.unknown_checks == ()
