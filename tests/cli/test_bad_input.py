"""Input the schema or a flag accepts never ends in a traceback; bad input exits 2.

Each test drives the command line in-process (``harmonysim.cli.main``) and holds
the contract of ``harmonysim.cli``: one line of error naming what was wrong, on
stderr, exit status 2.
"""

from __future__ import annotations

import json
import socket
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


def test_serve_on_a_port_in_use_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        fake_run_folder(tmp_path / "runs" / "seed-1", 1)
        assert exit_status(["serve", str(tmp_path / "runs"), "--port", str(port)]) == 2
    printed = capsys.readouterr()
    assert printed.out == ""  # no banner for a server that never ran
    assert printed.err.count("\n") == 1
    assert f"cannot listen on 127.0.0.1:{port}" in printed.err


def test_error_text_in_brackets_is_printed_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "groups.yaml"
    path.write_text(
        "name: groups\nduration: 1s\nfaults:\n  - {at: 100ms, partition: {groups: [n1, n2]}}\n"
    )
    assert exit_status(["run", str(path)]) == 2
    error = capsys.readouterr().err
    assert "like [n1, n2], found 'n1'" in error  # rich markup would swallow "[n1, n2]"


def test_a_run_folder_with_brackets_in_its_name_is_printed_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "[b]old" / "run"
    argv = ["run", str(STEADY), "--duration", "300ms", "--out", str(out), "--no-failure-traces"]
    assert exit_status(argv) == 0
    assert f"run folder {out}" in capsys.readouterr().out
    missing = tmp_path / "[red]x[/red].yaml"
    assert exit_status(["run", str(missing)]) == 2
    assert f"error: {missing}: no such file" in capsys.readouterr().err
