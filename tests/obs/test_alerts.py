"""The shipped alerting rules: promtool accepts them, they catch an outage, and scoring is exact.

Rules that need promtool skip without it locally and fail under CI (``CI`` set).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import orjson
import pytest

from harmonysim.cli import main
from harmonysim.cli.alerts import score_run
from harmonysim.obs.alerts.engine import DEFAULT_RULES, AlertRule, Firing, load_rules
from harmonysim.obs.alerts.score import AlertScore, Condition, score_alerts
from harmonysim.runner import run_scenario
from harmonysim.scenario import parse_scenario

OUTAGE = """
name: power-outage
description: Every server loses power for four seconds, then comes back.
seed: 3
duration: 10s
cluster:
  nodes: 3
  raft: {election_timeout: [150ms, 300ms], heartbeat_interval: 50ms, tick: 10ms}
network:
  latency: {distribution: lognormal, mean: 5ms, p99: 30ms}
workload:
  clients: 4
  rate: 100/s
  mix: {get: 0.5, put: 0.5}
  keys: {count: 50, distribution: uniform}
  timeout: 300ms
faults:
  - {at: 2s, crash: n1}
  - {at: 2s, crash: n2}
  - {at: 2s, crash: n3}
  - {at: 6s, restart: n1}
  - {at: 6s, restart: n2}
  - {at: 6s, restart: n3}
"""

HEALTHY = """
name: healthy
description: Three servers, no faults, no loss.
seed: 1
duration: 6s
cluster:
  nodes: 3
  raft: {election_timeout: [150ms, 300ms], heartbeat_interval: 50ms, tick: 10ms}
network:
  latency: {distribution: lognormal, mean: 5ms, p99: 30ms}
workload:
  clients: 4
  rate: 100/s
  mix: {get: 0.5, put: 0.5}
  keys: {count: 50, distribution: uniform}
  timeout: 300ms
"""


def _need_promtool() -> None:
    if shutil.which("promtool") is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing under CI (install Debian's prometheus package)")
        pytest.skip("promtool not installed")


@pytest.fixture(scope="module")
def outage_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("outage")
    run_scenario(parse_scenario(OUTAGE, source="outage"), out)
    return out


def _by_name(scores: list[AlertScore]) -> dict[str, AlertScore]:
    return {score.alert: score for score in scores}


def test_the_shipped_rules_pass_promtool_check() -> None:
    _need_promtool()
    checked = subprocess.run(
        ["promtool", "check", "rules", str(DEFAULT_RULES)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    names = [rule.name for rule in load_rules(DEFAULT_RULES)]
    assert f"SUCCESS: {len(names)} rules found" in checked.stdout
    for required in (
        "NoLeader",
        "LeaderFlapping",
        "CommitStalled",
        "FollowerLagging",
        "ClientErrorRate",
        "FsyncSlow",
    ):
        assert required in names


def test_an_outage_is_caught_by_no_leader_and_commit_stalled_within_for_plus_a_sample(
    outage_dir: Path,
) -> None:
    _need_promtool()
    interval_ms, scores = score_run(outage_dir, None)
    by_name = _by_name(scores)
    for name in ("NoLeader", "CommitStalled"):
        score = by_name[name]
        assert score.incidents == 1 and score.caught == 1 and score.false_firings == 0
        assert score.delays_ms[0] <= score.for_ms + interval_ms
    # clients time out while nothing answers: the error rate fires, on a true condition
    assert by_name["ClientErrorRate"].firings >= 1
    assert all(score.false_firings == 0 for score in scores)


def test_a_rule_too_slow_for_the_outage_misses_it_and_the_command_exits_1(
    outage_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _need_promtool()
    slow = DEFAULT_RULES.read_text().replace("== 0\n        for: 1s", "== 0\n        for: 10s", 1)
    assert slow != DEFAULT_RULES.read_text()
    rules = tmp_path / "slow.yml"
    rules.write_text(slow)
    assert main(["alerts", str(outage_dir), "--rules", str(rules), "--json"]) == 1
    report = orjson.loads(capsys.readouterr().out)
    no_leader = next(alert for alert in report["alerts"] if alert["alert"] == "NoLeader")
    assert (no_leader["incidents"], no_leader["caught"], no_leader["missed"]) == (1, 0, 1)
    assert main(["alerts", str(outage_dir), "--json"]) == 0


def test_no_rule_fires_on_a_healthy_run(tmp_path: Path) -> None:
    _need_promtool()
    run_scenario(parse_scenario(HEALTHY, source="healthy"), tmp_path)
    _, scores = score_run(tmp_path, None)
    assert [score.alert for score in scores if score.firings] == []


def test_a_missing_promtool_is_exit_2_with_a_clear_message(
    outage_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert main(["alerts", str(outage_dir)]) == 2
    assert "promtool not found" in capsys.readouterr().err


def test_a_folder_without_run_json_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["alerts", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err


# -- scoring, without promtool -------------------------------------------------------------

RULE = AlertRule("NoLeader", 1000.0, "x")


def test_an_incident_is_caught_with_its_delay_and_a_firing_on_nothing_is_false() -> None:
    truth = {"NoLeader": [Condition(2000.0, 6000.0), Condition(8000.0, 8300.0)]}
    firings = [
        Firing("NoLeader", (), 3000.0, 7000.0),
        Firing("NoLeader", (), 8000.0, 9000.0),  # on a short condition: neither due nor false
        Firing("NoLeader", (), 12000.0, 13000.0),
    ]
    (score,) = score_alerts([RULE], firings, truth, 1000.0)
    assert (score.incidents, score.caught, score.missed, score.false_firings) == (1, 1, 0, 1)
    assert score.delays_ms == [1000.0]
    assert not score.meets_goal


def test_a_late_firing_misses_the_goal_and_a_missing_one_is_a_miss() -> None:
    truth = {"NoLeader": [Condition(2000.0, 9000.0)]}
    (late,) = score_alerts([RULE], [Firing("NoLeader", (), 5000.0, 9000.0)], truth, 1000.0)
    assert late.caught == 1 and late.delays_ms == [3000.0] and not late.meets_goal
    (none,) = score_alerts([RULE], [], truth, 1000.0)
    assert none.missed == 1 and not none.meets_goal
    (timely,) = score_alerts([RULE], [Firing("NoLeader", (), 4000.0, 9000.0)], truth, 1000.0)
    assert timely.meets_goal


def test_per_node_conditions_are_caught_only_by_the_same_node() -> None:
    rule = AlertRule("FollowerLagging", 2000.0, "x")
    truth = {"FollowerLagging": [Condition(1000.0, 6000.0, "n2")]}
    other = Firing("FollowerLagging", (("node", "n3"),), 3000.0, 6000.0)
    (score,) = score_alerts([rule], [other], truth, 1000.0)
    assert (score.caught, score.missed, score.false_firings) == (0, 1, 1)


PROMTOOL_REPORT = """  FAILED:
    alertname: FollowerLagging, time: 3s100ms,
        exp:[],
        got:[
            0:
              Labels:{alertname="FollowerLagging", node="n2", severity="warning"}
              Annotations:{summary="n2 knows 240 fewer committed entries"}
            ]
    alertname: FollowerLagging, time: 3s200ms,
        exp:[],
        got:[
            0:
              Labels:{alertname="FollowerLagging", node="n2", severity="warning"}
              Annotations:{}
            ]
    alertname: NoLeader, time: 1m0s,
        exp:[],
        got:[
            0:
              Labels:{alertname="NoLeader", severity="page"}
              Annotations:{}
            ]
"""


def test_promtool_reports_become_firing_intervals_whatever_the_duration_spelling() -> None:
    from harmonysim.obs.alerts.engine import _intervals, _parse_report

    fired = _parse_report(PROMTOOL_REPORT, 100.0)
    assert fired == {
        ("FollowerLagging", (("node", "n2"),)): [31, 32],
        ("NoLeader", ()): [600],
    }
    (lagging,) = _intervals("FollowerLagging", (("node", "n2"),), [31, 32], 100.0)
    assert (lagging.start_ms, lagging.end_ms, lagging.node) == (3100.0, 3300.0, "n2")


def test_a_rules_file_promtool_refuses_is_exit_2_naming_the_rule(
    outage_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _need_promtool()
    rules = tmp_path / "bad.yml"
    rules.write_text("groups:\n  - name: x\n    rules:\n      - alert: Bad\n        expr: sum(\n")
    assert main(["alerts", str(outage_dir), "--rules", str(rules)]) == 2
    error = capsys.readouterr().err
    assert '"Bad": could not parse expression' in error and "Traceback" not in error
