"""`harmonysim run` and `replay`: artifacts, determinism across processes, exit statuses.

Determinism is checked on every artifact, byte for byte, not only on the event hash: a
run made again from its recorded ``run.json`` in a fresh process under another
``PYTHONHASHSEED`` (and its ``export --format all``) must write the same files with the
same bytes. The only exceptions are declared in ``WALL_CLOCK_FIELDS``: in ``run.json``,
``timing`` (``wall_seconds``, ``speedup``) and, when a failing run was made again for its
traces, ``telemetry.kept_for_failure.wall_seconds`` measure the machine, not the
simulation. Every other file of the folder (events, history, metrics, traces, exports)
must be identical.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import yaml

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


WALL_CLOCK_FIELDS = {
    "run.json": (("timing",), ("telemetry", "kept_for_failure", "wall_seconds")),
}
"""Artifact -> JSON paths of the fields that measure wall time, so differ between runs."""


def make_and_export(out: Path, scenario: Path, hashseed: str, *args: str) -> None:
    made = harmonysim("run", str(scenario), "--out", str(out), "--quiet", *args, hashseed=hashseed)
    assert made.returncode in (0, 1), made.stderr  # 1: a check failed (a bug was on)
    exported = harmonysim("export", str(out), "--format", "all", hashseed=hashseed)
    assert exported.returncode == 0, exported.stderr


def replay_from_run_json(first: Path, tmp_path: Path, hashseed: str) -> Path:
    """Make the run again from the resolved scenario ``first/run.json`` recorded (what
    ``harmonysim replay`` runs), in a fresh process, and export it."""
    recorded = orjson.loads((first / "run.json").read_bytes())
    scenario = tmp_path / "recorded.yaml"
    scenario.write_text(yaml.safe_dump(recorded["scenario"], sort_keys=False))
    again = tmp_path / "again"
    make_and_export(again, scenario, hashseed)
    return again


def without_wall_clock(name: str, data: bytes) -> bytes:
    fields = WALL_CLOCK_FIELDS.get(name)
    if fields is None:
        return data
    parsed = orjson.loads(data)
    for path in fields:
        holder = parsed
        for key in path[:-1]:
            holder = holder.get(key, {})
        holder.pop(path[-1], None)
    return orjson.dumps(parsed)


@pytest.mark.parametrize(
    ("scenario", "args"),
    [
        (LEADER, ("--duration", "13s")),
        # A failing run: check reports in run.json, and traces kept by a second run.
        (STEADY, ("--duration", "3s", "--bug", "btree_split_loses_key")),
    ],
    ids=["leader-isolation", "failing-with-a-bug"],
)
def test_every_artifact_is_byte_identical_in_a_fresh_process_and_hash_seed(
    tmp_path: Path, scenario: Path, args: tuple[str, ...]
) -> None:
    first = tmp_path / "first"
    make_and_export(first, scenario, "0", *args)
    again = replay_from_run_json(first, tmp_path, "4242")
    names = sorted(path.name for path in first.iterdir())
    assert names == sorted(path.name for path in again.iterdir())
    for expected in ("events.jsonl", "history.jsonl", "metrics.jsonl", "traces.otlp.jsonl"):
        assert expected in names
    assert len(names) >= 8, names  # the run's own files and the exports
    recorded = orjson.loads((first / "run.json").read_bytes())
    if "--bug" in args:  # the failing run really kept its failure's traces
        assert recorded["status"] == "violation"
        assert recorded["telemetry"]["kept_for_failure"]["replayed"] is True
    else:  # and the seed matters: another seed is another run
        other = harmonysim("run", str(scenario), "--seed", "2", "--json", "--out",
                           str(tmp_path / "other"), *args)  # fmt: skip
        assert other.returncode == 0, other.stderr
        assert orjson.loads(other.stdout)["event_hash"] != recorded["event_hash"]
    differ = [
        name
        for name in names
        if without_wall_clock(name, (first / name).read_bytes())
        != without_wall_clock(name, (again / name).read_bytes())
    ]
    assert differ == []


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
