"""Test doubles: fake checks that judge a run from its summary, for the sweep machinery,
and the result of a run made up by a test.

The checks stand in for the real checkers where a test needs a run to fail on a known,
deterministic condition. They are top-level functions so spawned workers can import
them by name.
"""

from __future__ import annotations

from typing import Any

from harmonysim.explore.pool import SeedResult
from harmonysim.explore.verdict import RunStatus
from harmonysim.runner import RunOutcome

CRASH_CHECK = "fake_crash_seen"
THIRD_SEED_CHECK = "fake_every_third_seed"
BUG_CHECK = "fake_bug_enabled"


def judge_crash_seen(outcome: RunOutcome) -> dict[str, Any]:
    """Violation when a node crashed during the run and some operation succeeded."""
    crashed = outcome.summary["faults"].get("node.crash", 0) >= 1
    served = outcome.summary["ops_ok"] >= 1
    status = "violation" if crashed and served else "ok"
    return {CRASH_CHECK: {"status": status, "summary": "a node crashed"}}


def judge_every_third_seed(outcome: RunOutcome) -> dict[str, Any]:
    """Violation on seeds divisible by 3; unknown on seeds ending in 7; ok otherwise."""
    seed = outcome.scenario.seed
    if seed % 3 == 0:
        status = "violation"
    elif seed % 10 == 7:
        status = "unknown"
    else:
        status = "ok"
    return {THIRD_SEED_CHECK: {"status": status, "summary": f"seed {seed}"}}


def judge_bug_from_seed_two(outcome: RunOutcome) -> dict[str, Any]:
    """Violation when the run has a bug switched on and its seed is at least 2."""
    caught = bool(outcome.scenario.bugs) and outcome.scenario.seed >= 2
    return {BUG_CHECK: {"status": "violation" if caught else "ok", "summary": "bug"}}


SERVED_CHECK = "fake_served"


def judge_served(outcome: RunOutcome) -> dict[str, Any]:
    """Violation as soon as one client operation succeeded."""
    status = "violation" if outcome.summary["ops_ok"] >= 1 else "ok"
    return {SERVED_CHECK: {"status": status, "summary": "served"}}


def seed_result(
    seed: int, failed: tuple[str, ...] = (), cpu: float = 1.0, group: str = "bug"
) -> SeedResult:
    """A run of ``seed`` that failed ``failed`` (passed when empty), costing ``cpu`` s."""
    return SeedResult(
        group=group,
        scenario="s",
        seed=seed,
        bugs=("bug",),
        status=RunStatus.FAIL if failed else RunStatus.PASS,
        failed_checks=failed,
        unknown_checks=(),
        event_count=1,
        event_hash="h",
        operations=1,
        wall_seconds=cpu,
        cpu_seconds=cpu,
    )
