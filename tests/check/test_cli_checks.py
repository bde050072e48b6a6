"""`harmonysim check-history` (subprocesses, Porcupine data and a run's own history) and the
checks wired into `harmonysim run`: run.json, the summary, only the requested checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from harmonysim.check.result import CheckResult, CheckStatus, overall_status
from harmonysim.cli import main
from harmonysim.runner import run_scenario
from harmonysim.scenario import load_scenario, resolve

ROOT = Path(__file__).resolve().parents[2]
PORCUPINE = ROOT / "tests" / "data" / "porcupine"
STEADY = ROOT / "scenarios" / "steady-state.yaml"


def harmonysim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harmonysim", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        cwd=ROOT,
        timeout=120,
    )


@pytest.fixture(scope="module")
def steady_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("steady")
    scenario = resolve(load_scenario(STEADY), duration_ms=2000.0)
    outcome = run_scenario(scenario, out)
    assert outcome.status is CheckStatus.OK, {k: r.summary for k, r in outcome.checks.items()}
    return out


@pytest.mark.parametrize(
    ("file_name", "code", "verdict"),
    [
        ("jepsen/etcd_000.log", 1, "violation"),
        ("jepsen/etcd_002.log", 0, "ok"),
        ("kv/c01-ok.txt", 0, "ok"),
        ("kv/c01-bad.txt", 1, "violation"),
    ],
)
def test_check_history_on_porcupine_histories(file_name: str, code: int, verdict: str) -> None:
    expected = {
        row.split("\t")[0]: row.split("\t")[2]
        for row in (PORCUPINE / "EXPECTED.tsv").read_text().splitlines()[1:]
    }
    assert expected[file_name] == ("bad" if code else "ok")
    result = harmonysim("check-history", str(PORCUPINE / file_name), "--json")
    assert result.returncode == code, result.stderr
    report = orjson.loads(result.stdout)
    assert report["verdict"] == verdict
    assert report["model"] == ("kv" if file_name.startswith("kv/") else "register")


def test_check_history_explains_a_violation_in_text() -> None:
    result = harmonysim("check-history", str(PORCUPINE / "kv" / "c01-bad.txt"), "--model", "kv")
    assert result.returncode == 1
    assert result.stdout.startswith("violation")
    assert "Not linearizable (kv model)" in result.stdout
    assert "key '" in result.stdout


def test_check_history_on_a_runs_own_history(steady_run: Path) -> None:
    history = steady_run / "history.jsonl"
    result = harmonysim("check-history", str(history), "--json")
    assert result.returncode == 0, result.stderr
    report = orjson.loads(result.stdout)
    recorded = orjson.loads((steady_run / "run.json").read_bytes())
    assert report["model"] == "kv"
    assert report["operations"] == recorded["checks"]["linearizability"]["details"]["operations"]
    assert harmonysim("check-history", str(history), "--budget", "5").returncode == 3


def test_check_history_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    missing = harmonysim("check-history", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    assert "Traceback" not in missing.stderr
    broken = tmp_path / "broken.jsonl"
    broken.write_text(
        '{"process": 0, "type": "invoke", "f": "put", "key": "a", "value": 1}\n{"process": 0,\n'
    )
    parsed = harmonysim("check-history", str(broken))
    assert parsed.returncode == 2 and "broken.jsonl:2:" in parsed.stderr
    flags = harmonysim("check-history", str(broken), "--model", "queue")
    assert flags.returncode == 2 and "invalid choice" in flags.stderr
    budget = harmonysim("check-history", str(broken), "--budget", "0")
    assert budget.returncode == 2


def test_run_json_and_outcome_carry_every_check(steady_run: Path) -> None:
    recorded = orjson.loads((steady_run / "run.json").read_bytes())
    assert recorded["status"] == "ok"
    checks = recorded["checks"]
    assert list(checks) == ["raft_safety", "linearizability", "btree_invariants", "liveness"]
    for name, check in checks.items():
        assert check["status"] == "ok", (name, check["summary"])
        assert check["summary"] and isinstance(check["details"], dict)
    assert checks["raft_safety"]["details"]["events_checked"] > 1000


def test_only_requested_checks_run(tmp_path: Path) -> None:
    base = load_scenario(STEADY)
    scenario = resolve(base.model_copy(update={"checks": ("linearizability",)}), duration_ms=1000)
    outcome = run_scenario(scenario, tmp_path)
    statuses = {name: result.status for name, result in outcome.checks.items()}
    assert statuses == {
        "linearizability": CheckStatus.OK,
        "raft_safety": CheckStatus.SKIPPED,
        "btree_invariants": CheckStatus.SKIPPED,
        "liveness": CheckStatus.SKIPPED,
    }
    assert outcome.checks["raft_safety"].summary == "not requested by the scenario's checks"


def test_overall_status_and_exit_codes() -> None:
    def result(status: CheckStatus) -> CheckResult:
        return CheckResult("x", status, "")

    assert overall_status([]) is CheckStatus.OK
    assert overall_status([CheckStatus.SKIPPED, CheckStatus.OK]) is CheckStatus.OK
    assert overall_status([CheckStatus.OK, CheckStatus.UNKNOWN]) is CheckStatus.UNKNOWN
    assert overall_status([CheckStatus.UNKNOWN, CheckStatus.VIOLATION]) is CheckStatus.VIOLATION
    codes = [result(status).status.exit_code for status in CheckStatus]
    assert codes == [0, 1, 3, 0]


def test_run_command_exit_status_and_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", str(STEADY), "--duration", "1s", "--out", str(tmp_path / "ok")])
    shown = capsys.readouterr().out
    assert code == 0
    assert "checks: ok" in shown and "raft_safety" in shown and "liveness" in shown
