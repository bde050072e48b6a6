"""Liveness rule L7: a server stops itself only for damage no peer can repair.

Both copies of the hard state damaged lose a vote only that server's disk knew: halting
is the correct answer. A damaged or torn log record is repaired from the leader, so a
server that halts on one (logcabin/logcabin#191) takes itself out for nothing.
"""

from __future__ import annotations

from pathlib import Path

from harmonysim.check.liveness import LivenessMonitor, judge_halts
from harmonysim.check.result import CheckResult, CheckStatus
from harmonysim.runner import run_scenario
from harmonysim.scenario import load_scenario, resolve
from harmonysim.sim.events import EventKind


def damage(t_ms: float, file: str, action: str) -> dict[str, object]:
    return {
        "t": t_ms,
        "seq": 1,
        "kind": EventKind.DISK_DAMAGE.value,
        "node": "n2",
        "file": file,
        "reason": "checksum",
        "records": 1,
        "action": action,
    }


def test_a_halt_on_a_damaged_log_record_is_a_violation_at_its_moment() -> None:
    monitor = LivenessMonitor()
    monitor.observe(damage(1500.0, "log", "halt"))
    ok = CheckResult("liveness", CheckStatus.OK, "fine", {"quiet_from_ms": 0.0})
    result = judge_halts(ok, monitor.needless_halts)
    assert result.status is CheckStatus.VIOLATION
    [problem] = result.details["problems"]
    assert problem["at_ms"] == 1500.0
    assert problem["text"] == "n2 halted on a damaged log (checksum) that its peers could repair"


def test_a_halt_on_both_hard_state_copies_and_a_log_repair_are_not() -> None:
    monitor = LivenessMonitor()
    monitor.observe(damage(1500.0, "hard_state", "halt"))
    monitor.observe(damage(1600.0, "log", "repair"))
    assert monitor.needless_halts == []
    skipped = CheckResult("liveness", CheckStatus.SKIPPED, "not applicable", {})
    assert judge_halts(skipped, monitor.needless_halts) is skipped


def test_the_halt_counts_beside_other_liveness_problems() -> None:
    monitor = LivenessMonitor()
    monitor.observe(damage(1500.0, "log", "halt"))
    earlier = CheckResult(
        "liveness",
        CheckStatus.VIOLATION,
        "1 liveness problem(s); first: no leader",
        {"violations": ["no leader"], "problems": [], "violation_count": 1},
    )
    result = judge_halts(earlier, monitor.needless_halts)
    assert result.details["violation_count"] == 2
    assert result.details["violations"][1] == "no leader"


def test_the_torn_log_bug_fails_l7_and_the_correct_server_repairs(tmp_path: Path) -> None:
    scenario = load_scenario("scenarios/torn-log.yaml")
    clean = run_scenario(scenario, tmp_path / "clean")
    assert clean.checks["liveness"].status is CheckStatus.OK
    buggy = run_scenario(resolve(scenario, bugs=("refuse_start_on_torn_log",)), tmp_path / "bug")
    liveness = buggy.checks["liveness"]
    assert liveness.status is CheckStatus.VIOLATION
    assert "n2 halted on a damaged log" in liveness.details["violations"][0]
