"""Each protocol bug switch breaks safety in a crafted schedule that is safe without it.

The same scripted schedule runs twice: with the bug in ``RaftConfig.bugs`` the harness'
checker must report a violation of a Figure 3 property, and without it none.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harmonysim.raft import AppendEntries, Bug, Role

from .harness import Cluster, ScriptedRand, to
from .interaction import Interaction
from .test_real_bugs import LIVENESS_SCHEDULES as REAL_WORLD_LIVENESS_SCHEDULES
from .test_real_bugs import SCHEDULES as REAL_WORLD_SCHEDULES

FIVE = ["n1", "n2", "n3", "n4", "n5"]


def five(bugs: frozenset[str], **config: object) -> Cluster:
    rands = {node_id: ScriptedRand([20]) for node_id in FIVE}
    return Cluster(FIVE, rands=rands, strict=False, bugs=bugs, **config)  # type: ignore[arg-type]


def win(cluster: Cluster, node_id: str, *, attempts: int = 3) -> None:
    """Campaign (again, if a term is lost) until ``node_id`` leads; deliver votes only."""
    for _ in range(attempts):
        cluster.campaign(node_id)
        cluster.deliver(lambda m: not isinstance(m, AppendEntries))
        if cluster.node(node_id).role is Role.LEADER:
            return
    raise AssertionError(f"{node_id} could not win: {cluster.state_lines()}")


def vote_without_log_check(bugs: frozenset[str]) -> Cluster:
    """§5.4.1: n3 missed committed entry 2; only a voter ignoring logs lets it lead."""
    cluster = five(bugs)
    win(cluster, "n1")
    cluster.deliver()
    cluster.isolate("n3")
    cluster.propose("n1", "x")
    cluster.deliver()
    assert cluster.node("n1").commit_index == 2
    cluster.crash("n1")
    cluster.heal()
    cluster.tick_all(10)  # nobody hears from a leader any more; timers (20) not yet due
    cluster.campaign("n3")
    cluster.deliver()
    cluster.settle(ticks=5)
    return cluster


def commit_prior_term_by_count(bugs: frozenset[str]) -> Cluster:
    """§5.4.2 Figure 8: the transcript ``transcripts/figure_8.txt``, run with ``bugs``."""
    interaction = Interaction(bugs=bugs, strict=False)
    interaction.run(Path(__file__).parent / "transcripts" / "figure_8.txt")
    return interaction.nodes


def no_conflict_truncation(bugs: frozenset[str]) -> Cluster:
    """§5.3: n2 overwrites 2@1 by 2@2 but keeps 3@1; a later leader holding 3@1 then finds
    n2 "matching" at 3 although index 2 differs, and commits through it."""
    cluster = five(bugs, prevote=False, check_quorum=False)
    win(cluster, "n1")
    cluster.deliver()
    cluster.propose("n1", "a")
    cluster.propose("n1", "b")
    cluster.drop(to("n3", "n4", "n5"))
    cluster.deliver()  # 2@1 and 3@1 on n1 and n2 only
    cluster.crash("n1")
    win(cluster, "n3")  # term 2, with n4 and n5
    cluster.drop(to("n1", "n4", "n5"))
    cluster.deliver()  # 2@2 (the NOOP) reaches n2 and conflicts with 2@1
    cluster.crash("n3")
    cluster.restart("n1")
    win(cluster, "n1")  # term 3 with n2 (bug: its last entry is still 3@1), n4, n5
    cluster.deliver()
    cluster.settle(ticks=5)
    cluster.check_log_matching()
    return cluster


def apply_before_commit(bugs: frozenset[str]) -> Cluster:
    """n2 receives 2@1 that never commits; applying it before commit diverges from the
    NOOP the next leader commits at index 2."""
    cluster = five(bugs)
    win(cluster, "n1")
    cluster.deliver()
    cluster.propose("n1", "x")
    cluster.drop(to("n3", "n4", "n5"))
    cluster.deliver(to("n2"))
    cluster.drop()  # n2's acknowledgement is lost: 2@1 is never committed
    cluster.crash("n1")
    cluster.tick_all(10)
    win(cluster, "n3")
    cluster.deliver()
    cluster.settle(ticks=5)
    return cluster


SCHEDULES: dict[Bug, Callable[[frozenset[str]], Cluster]] = {
    Bug.VOTE_WITHOUT_LOG_CHECK: vote_without_log_check,
    Bug.COMMIT_PRIOR_TERM_BY_COUNT: commit_prior_term_by_count,
    Bug.NO_CONFLICT_TRUNCATION: no_conflict_truncation,
    Bug.APPLY_BEFORE_COMMIT: apply_before_commit,
}

EXPECTED = {
    Bug.VOTE_WITHOUT_LOG_CHECK: "committed entry changed",
    Bug.COMMIT_PRIOR_TERM_BY_COUNT: "committed entry changed",
    Bug.NO_CONFLICT_TRUNCATION: "state machine safety",
    Bug.APPLY_BEFORE_COMMIT: "state machine safety",
}


READ_PATH_BUGS = {Bug.LEASE_IGNORES_PAUSE}
"""Bugs that break reads, not a Figure 3 property: a stale read needs a client history.
Each has a bug-on/bug-off rule test in test_rules.py and a pinned cluster run."""


LIVENESS_BUGS = {Bug.VOTE_IGNORES_LEADER_STICKINESS, Bug.PRE_CANDIDATE_KEEPS_LEADER}
STAGED_READ_BUGS = {Bug.LEASE_UNTIL_STEP_DOWN}
"""A read-path bug caught by linearizability in its staged scenario (explore/staged.py)."""
"""Bugs that stall or disrupt the cluster rather than break safety: each is caught by the
liveness check in its staged scenario (harmonysim/explore/staged.py)."""


def test_every_bug_has_a_schedule() -> None:
    others = READ_PATH_BUGS | set(REAL_WORLD_SCHEDULES) | LIVENESS_BUGS | STAGED_READ_BUGS
    others |= set(REAL_WORLD_LIVENESS_SCHEDULES)
    assert set(SCHEDULES) | others == set(Bug)
    assert not set(SCHEDULES) & others


@pytest.mark.parametrize("bug", sorted(SCHEDULES, key=lambda bug: bug.value))
def test_schedule_is_safe_without_the_bug(bug: Bug) -> None:
    cluster = SCHEDULES[bug](frozenset())
    assert cluster.violations == []
    cluster.check_safety()


@pytest.mark.parametrize("bug", sorted(SCHEDULES, key=lambda bug: bug.value))
def test_bug_breaks_safety_in_its_schedule(bug: Bug) -> None:
    cluster = SCHEDULES[bug](frozenset({bug.value}))
    assert any(EXPECTED[bug] in violation for violation in cluster.violations), cluster.violations
