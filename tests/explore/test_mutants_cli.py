"""`harmonysim mutants` as a person reads it: run folders named, no empty folders, 80 columns.

Also `--list` (the bug library with what each bug breaks) and `--seeds` written as
for `explore`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harmonysim.cli import main
from harmonysim.explore import LocalPool, hunt_mutants
from harmonysim.scenario import BUG_DESCRIPTIONS, Scenario
from tests.explore import doubles


def test_mutants_names_each_detecting_run_folder_and_fits_80_columns(
    small_scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mutants"
    argv = ["mutants", "--bugs", "apply_before_commit", "--seeds", "1-3", "--workers", "1"]
    assert main([*argv, "--scenarios", str(small_scenario_file), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    kept = out / "apply_before_commit" / "small-nemesis" / "seed-1"
    assert (kept / "run.json").is_file()
    assert f"apply_before_commit: {kept}" in text
    table = [line for line in text.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and all(len(line) <= 80 for line in table)
    assert "rate" not in text  # stopped at the first detection: no detection rate
    assert "seeds 1-3 of small-nemesis" in text


def test_mutants_leaves_no_empty_folders(small_scenario: Scenario, tmp_path: Path) -> None:
    # Every run fails; the first (seed 1 of the first scenario) is the detection, so the
    # runs of seed 1 of the other scenario, made at the same time, are dropped.
    other = small_scenario.model_copy(update={"name": "other"})
    with LocalPool(2) as pool:
        report = hunt_mutants(
            [small_scenario, other],
            pool,
            out_root=tmp_path,
            bugs=("apply_before_commit",),
            seeds=range(1, 3),
            judge=doubles.judge_served,
        )
    (bug,) = report.bugs
    assert bug.first is not None and bug.first.scenario == "small-nemesis"
    assert (tmp_path / "apply_before_commit" / "small-nemesis" / "seed-1").is_dir()
    empty = [path for path in tmp_path.rglob("*") if path.is_dir() and not any(path.iterdir())]
    assert empty == []


def test_every_seed_reports_a_detection_rate(
    small_scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["mutants", "--bugs", "apply_before_commit", "--seeds", "1,2", "--every-seed"]
    argv += ["--workers", "1", "--scenarios", str(small_scenario_file), "--json"]
    main([*argv, "--out", str(tmp_path / "out")])
    (row,) = json.loads(capsys.readouterr().out)
    assert row["runs"] == 2
    assert row["detection_rate"] == row["detections"] / 2


def test_list_shows_every_bug_and_what_it_breaks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mutants", "--list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["bug"] for row in rows] == list(BUG_DESCRIPTIONS)
    assert all(row["description"] == BUG_DESCRIPTIONS[row["bug"]] for row in rows)
    assert main(["mutants", "--list"]) == 0
    text = capsys.readouterr().out
    for bug in BUG_DESCRIPTIONS:
        assert bug in text
    assert all(len(line) <= 80 for line in text.splitlines())
