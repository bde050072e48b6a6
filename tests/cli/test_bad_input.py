"""Input the schema or a flag accepts never ends in a traceback; bad input exits 2.

Each test drives the command line in-process (``harmonysim.cli.main``) and holds
the contract of ``harmonysim.cli``: one line of error naming what was wrong, on
stderr, exit status 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from harmonysim.cli import main

ROOT = Path(__file__).resolve().parents[2]
STEADY = ROOT / "scenarios" / "steady-state.yaml"
TOO_BIG = str(2**64)


def exit_status(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exit_:  # argparse rejects a flag by exiting
        return int(exit_.code or 0)


def fake_run_folder(folder: Path, seed: int) -> Path:
    """A run folder whose run.json names a scenario with this seed (nothing was run)."""
    folder.mkdir(parents=True)
    record = {
        "scenario": {"name": "fake", "seed": seed, "duration": "1s"},
        "seed": seed,
        "event_hash": "0" * 64,
        "event_count": 0,
        "checks": {"liveness": {"status": "violation"}},
    }
    (folder / "run.json").write_text(json.dumps(record))  # orjson cannot write 2^64
    return folder


@pytest.mark.parametrize(
    "argv",
    [
        ["run", str(STEADY), "--seed", TOO_BIG],
        ["explore", str(STEADY), "--seeds", f"1,{TOO_BIG}"],
        ["explore", str(STEADY), "--seeds", f"5-{TOO_BIG}"],
        ["serve", "--live", str(STEADY), "--seed", TOO_BIG],
    ],
)
def test_a_seed_flag_of_2_to_the_64_is_bad_input(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert exit_status(argv) == 2
    error = capsys.readouterr().err
    assert "2^64 - 1" in error
    assert "Traceback" not in error


def test_a_scenario_seed_of_2_to_the_64_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "big-seed.yaml"
    path.write_text(f"name: big-seed\nseed: {TOO_BIG}\nduration: 1s\n")
    assert exit_status(["run", str(path), "--out", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err
    assert f"{path}:2:7: seed:" in error
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", ["replay", "shrink"])
def test_a_run_folder_with_a_seed_of_2_to_the_64_is_bad_input(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = fake_run_folder(tmp_path / "seed-big", 2**64)
    assert exit_status([command, str(folder)]) == 2
    error = capsys.readouterr().err
    assert "seed" in error and "2^64 - 1" in error


def test_the_largest_seed_runs(tmp_path: Path) -> None:
    argv = ["run", str(STEADY), "--seed", str(2**64 - 1), "--duration", "300ms"]
    assert exit_status([*argv, "--out", str(tmp_path / "run"), "--quiet"]) == 0
    recorded = orjson.loads((tmp_path / "run" / "run.json").read_bytes())
    assert recorded["seed"] == 2**64 - 1


def test_a_heartbeat_that_rounds_to_the_election_timeout_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "heartbeat.yaml"
    path.write_text(
        "name: heartbeat\nduration: 1s\ncluster:\n"
        "  raft: {election_timeout: [150ms, 300ms], heartbeat_interval: 147ms}\n"
    )
    assert exit_status(["run", str(path), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    assert "cluster.raft.heartbeat_interval" in capsys.readouterr().err
