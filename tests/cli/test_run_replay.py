"""`harmonysim run` and `replay`: artifacts, determinism across processes, exit statuses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from harmonysim.cli import main
from harmonysim.sim.events import line_hash

ROOT = Path(__file__).resolve().parents[2]
STEADY = ROOT / "scenarios" / "steady-state.yaml"
LEADER = ROOT / "scenarios" / "leader-isolation.yaml"


def harmonysim(*args: str, hashseed: str = "0") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": hashseed}
    return subprocess.run(
        [sys.executable, "-m", "harmonysim", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )


def test_run_writes_run_json_events_and_history(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["run", str(STEADY), "--duration", "2s", "--out", str(out), "--quiet"]) == 0
    recorded = orjson.loads((out / "run.json").read_bytes())
    lines = (out / "events.jsonl").read_bytes().split(b"\n")[:-1]
    assert recorded["event_count"] == len(lines)
    assert recorded["event_hash"] == line_hash(lines)
    assert recorded["seed"] == 1
    assert recorded["scenario"]["duration"] == "2s"
    history = [orjson.loads(line) for line in (out / "history.jsonl").read_bytes().splitlines()]
    assert history and history[0]["type"] == "invoke"
    assert recorded["summary"]["ops_ok"] == sum(1 for row in history if row["type"] == "ok")
    assert recorded["summary"]["ops_ok"] > 100


def test_same_seed_same_hash_in_fresh_processes_whatever_the_hash_seed(tmp_path: Path) -> None:
    hashes = []
    for index, hashseed in enumerate(["0", "1", "4242"]):
        result = harmonysim(
            "run", str(LEADER), "--duration", "13s", "--out", str(tmp_path / str(index)),
            "--json", hashseed=hashseed,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        hashes.append(orjson.loads(result.stdout)["event_hash"])
    assert hashes[0] == hashes[1] == hashes[2]
    other_dir = str(tmp_path / "other")
    other = harmonysim(
        "run", str(LEADER), "--duration", "13s", "--seed", "2", "--out", other_dir, "--json"
    )  # fmt: skip
    assert other.returncode == 0, other.stderr
    assert orjson.loads(other.stdout)["event_hash"] != hashes[0]


def test_replay_matches_and_reports_the_first_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["run", str(LEADER), "--duration", "13s", "--out", str(out), "--quiet"]) == 0
    assert main(["replay", str(out)]) == 0
    assert "replay matches" in capsys.readouterr().out
    # Tamper with one recorded event: replay must fail and point at it.
    events = (out / "events.jsonl").read_bytes().split(b"\n")
    events[100] = events[100].replace(b'"kind"', b'"kind" ', 1)
    (out / "events.jsonl").write_bytes(b"\n".join(events))
    recorded = orjson.loads((out / "run.json").read_bytes())
    recorded["event_hash"] = "0" * 64
    (out / "run.json").write_bytes(orjson.dumps(recorded))
    assert main(["replay", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "first differing event #100" in printed


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "no/such/file.yaml"], "no/such/file.yaml"),
        (["run", str(STEADY), "--seed", "-3"], "expected a non-negative integer"),
        (["run", str(STEADY), "--duration", "10 parsecs"], "duration"),
        (["run", str(STEADY), "--bug", "no_such_bug"], "no_such_bug"),
        (["replay", "/nonexistent/run"], "not a run folder"),
        (["bench", "nothing"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(args: list[str], needle: str) -> None:
    result = harmonysim(*args)
    assert result.returncode == 2
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


def test_replay_of_a_folder_without_run_json_is_bad_input(tmp_path: Path) -> None:
    result = harmonysim("replay", str(tmp_path))
    assert result.returncode == 2
    assert "run.json" in result.stderr


def test_metrics_are_sampled_at_the_interval_asked_for(tmp_path: Path) -> None:
    out = tmp_path / "run"
    argv = ["run", str(STEADY), "--duration", "1s", "--out", str(out), "--quiet"]
    assert main([*argv, "--metrics-every", "250ms"]) == 0
    times = sorted(
        {orjson.loads(line)["t"] for line in (out / "metrics.jsonl").read_bytes().splitlines()}
    )
    assert times == [250.0, 500.0, 750.0, 1000.0]
    assert orjson.loads((out / "run.json").read_bytes())["telemetry"]["metrics_every_ms"] == 250
    with pytest.raises(SystemExit) as exited:  # bad input: argparse's message, exit 2
        main([*argv, "--metrics-every", "0ms"])
    assert exited.value.code == 2
