"""The bug library, pinned: each bug is caught by the check that owns its rule, at a
scenario and seed where the same run without the bug is clean.

Rules of this file:
- ``CAUGHT_BY`` is the specification: for every bug of ``KNOWN_BUGS``, the shipped
  scenario, seed (and optionally a shorter duration) of a run where it shows, the check
  that must report it, and the other checks allowed to report it too (a broken rule
  often breaks a second one: a split that loses a key also makes reads stale). Any other
  failing check is an error, and so is an unknown verdict.
- Every pinned run has a bug-free control: the same scenario, seed and duration with no
  bug must pass every check. Without it a checker that false-alarms at that seed, or a
  bug switch that does nothing, would count as a detection.
- A bug added to the library without an entry here fails
  ``test_every_bug_in_the_library_declares_its_check``.
- The runs go through ``run_task``, the path ``harmonysim mutants`` takes for each run
  (it is exercised end to end in ``test_cli.py`` and ``test_sweep.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from harmonysim.cli.mutants import load_scenarios
from harmonysim.explore.pool import SeedResult, SeedTask, run_task
from harmonysim.explore.verdict import RunStatus
from harmonysim.scenario import KNOWN_BUGS

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class Pin:
    """Where a bug shows, and which check must catch it there."""

    scenario: str
    seed: int
    check: str
    also: frozenset[str] = frozenset()
    duration_ms: float | None = None  # None: the scenario's own duration

    @property
    def run(self) -> tuple[str, int, float | None]:
        return (self.scenario, self.seed, self.duration_ms)


CAUGHT_BY: dict[str, Pin] = {
    # §5.4.1: a candidate with a stale log wins and overwrites committed entries.
    "vote_without_log_check": Pin("nemesis", 1, "raft_safety"),
    # §5.4.2: the staged Figure 8 schedule commits 2@1 by counting, then loses it.
    "commit_prior_term_by_count": Pin("figure-8", 1, "raft_safety"),
    # §5.3: a kept conflicting suffix breaks Log Matching.
    "no_conflict_truncation": Pin("nemesis", 1, "raft_safety"),
    # Figure 2: two votes in one term after a restart -> two leaders in a term.
    "forget_vote_on_restart": Pin("nemesis", 1, "raft_safety", duration_ms=10_000),
    # §8: a deposed leader answers reads from its own state: stale reads.
    "read_without_read_index": Pin("stale-leader", 1, "linearizability"),
    # Figure 2: an acknowledged entry lost in a crash -> a committed entry disappears.
    "ack_before_fsync": Pin("nemesis", 1, "raft_safety", duration_ms=10_000),
    # §5.3: applying uncommitted entries; clients may see the effects of lost writes.
    "apply_before_commit": Pin(
        "nemesis", 1, "raft_safety", frozenset({"linearizability"}), duration_ms=10_000
    ),
    # The tree's own invariant; the lost key also makes later reads wrong.
    "btree_split_loses_key": Pin(
        "nemesis", 1, "btree_invariants", frozenset({"linearizability"}), duration_ms=10_000
    ),
}

CONTROLS = sorted({pin.run for pin in CAUGHT_BY.values()}, key=str)


def run(scenario: str, seed: int, duration_ms: float | None, bugs: tuple[str, ...]) -> SeedResult:
    (loaded,) = load_scenarios(str(ROOT / "scenarios" / f"{scenario}.yaml"), duration_ms)
    assert loaded.bugs == (), f"{scenario} enables bugs of its own: {loaded.bugs}"
    return run_task(SeedTask(scenario=loaded, seed=seed, bugs=bugs))


def test_every_bug_in_the_library_declares_its_check() -> None:
    assert sorted(CAUGHT_BY) == sorted(KNOWN_BUGS), "declare each new bug in CAUGHT_BY"


@pytest.mark.parametrize("bug", list(CAUGHT_BY))
def test_bug_is_caught_by_its_own_check(bug: str) -> None:
    pin = CAUGHT_BY[bug]
    result = run(pin.scenario, pin.seed, pin.duration_ms, (bug,))
    assert result.error is None, result.error
    assert result.status is RunStatus.FAIL
    assert pin.check in result.failed_checks, result.failed_checks
    unexpected = set(result.failed_checks) - {pin.check} - pin.also
    assert not unexpected, f"{bug} also failed {sorted(unexpected)}, not declared in CAUGHT_BY"
    assert result.unknown_checks == ()


@pytest.mark.parametrize("scenario,seed,duration_ms", CONTROLS)
def test_pinned_runs_are_clean_without_the_bug(
    scenario: str, seed: int, duration_ms: float | None
) -> None:
    result = run(scenario, seed, duration_ms, ())
    assert result.error is None, result.error
    assert result.failed_checks == ()
    assert result.unknown_checks == ()
    assert result.status is RunStatus.PASS
    assert result.operations > 0  # the control did real work: its checks saw a history
