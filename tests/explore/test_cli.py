"""The explore, shrink and mutants commands: exit statuses, JSON shapes, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harmonysim.cli import main
from harmonysim.scenario import load_scenario


def run_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, object]:
    capsys.readouterr()
    status = main(argv)
    return status, json.loads(capsys.readouterr().out)


def test_explore_json(
    small_scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_root = tmp_path / "runs"
    argv = ["explore", str(small_scenario_file), "--seeds", "1-3,9", "--workers", "2"]
    status, report = run_json(capsys, [*argv, "--json", "--out", str(out_root)])
    assert isinstance(report, dict)
    assert report["scenario"] == "small-nemesis"
    assert report["seeds"] == 4
    assert [row["seed"] for row in report["results"]] == [1, 2, 3, 9]
    assert report["wall_seconds"] > 0 and report["runs_per_second"] > 0
    failing = {int(seed) for seed in report["failures"]}
    assert failing == {row["seed"] for row in report["results"] if row["status"] == "fail"}
    assert status == (1 if failing else 3 if report["unknown"] else 0)
    kept = {int(p.name.removeprefix("seed-")) for p in out_root.glob("seed-*")}
    assert kept == failing | {int(seed) for seed in report["unknown"]}


def test_explore_prints_a_summary_table(
    small_scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["explore", str(small_scenario_file), "--seeds", "4", "--workers", "1"]
    main([*argv, "--out", str(tmp_path / "out")])
    text = capsys.readouterr().out
    for row in ("explore small-nemesis", "seeds", "runs per second", "wall time"):
        assert row in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["explore", "{scenario}", "--seeds", "9-1"], "empty seed range"),
        (["explore", "{scenario}", "--seeds", "x"], "bad seed item"),
        (["explore", "{scenario}", "--workers", "0"], "positive integer"),
        (["explore", "{scenario}", "--bug", "no_such_bug"], "unknown bug"),
        (["explore", "{missing}"], "no such file"),
        (
            ["explore", "{scenario}", "--dask", "tcp://127.0.0.1:9", "--dask-timeout", "1s"],
            "cannot reach",
        ),
        (["shrink", "{missing}"], "not a run folder"),
        (["mutants", "--bugs", "no_such_bug"], "unknown bug"),
        (["mutants", "--scenarios", "{missing}"], "no such file"),
        (["mutants", "--seeds", "x"], "bad seed item"),
        (["mutants", "--seeds", str(2**64)], "2^64 - 1"),
    ],
)
def test_bad_input_exits_2(
    argv: list[str],
    message: str,
    small_scenario_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    values = {"scenario": str(small_scenario_file), "missing": str(tmp_path / "missing.yaml")}
    with pytest.raises(SystemExit) as stopped:
        status = main([arg.format(**values) for arg in argv])
        raise SystemExit(status)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_shrink_refuses_a_run_that_did_not_fail(
    small_scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    assert main(["run", str(small_scenario_file), "--out", str(run_dir), "--quiet"]) == 0
    recorded = json.loads((run_dir / "run.json").read_text())
    recorded["checks"] = {
        name: {"status": "ok", "summary": "fine"} for name in recorded.get("checks") or ["x"]
    }
    (run_dir / "run.json").write_text(json.dumps(recorded))
    capsys.readouterr()
    assert main(["shrink", str(run_dir)]) == 2
    assert "did not fail" in capsys.readouterr().err
    assert not (run_dir / "shrunk.yaml").exists()


def test_mutants_json_shape(
    small_scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bugs = ["apply_before_commit", "vote_without_log_check"]
    argv = ["mutants", "--bugs", ",".join(bugs), "--seeds", "1-2", "--workers", "2"]
    argv += ["--scenarios", str(small_scenario_file), "--out", str(tmp_path / "out"), "--json"]
    status, rows = run_json(capsys, argv)
    assert isinstance(rows, list)
    assert [row["bug"] for row in rows] == bugs
    for row in rows:
        assert {"bug", "detected", "check", "first_seed", "runs", "detection_rate"} <= set(row)
        if row["detected"]:
            assert isinstance(row["check"], str) and row["first_seed"] in (1, 2)
            assert row["runs"] == row["first_seed"]
            assert row["detection_rate"] is None  # stopped at the first detection
            assert Path(row["run_dir"], "run.json").is_file()
        elif row["error"] is None:
            assert row["check"] is None and row["first_seed"] is None
            assert row["runs"] == 2 and row["detection_rate"] is None
    # Applying entries before they commit breaks state machine safety on the first seed.
    assert rows[0]["detected"] is True
    assert (rows[0]["check"], rows[0]["first_seed"]) == ("raft_safety", 1)
    assert status == (0 if all(row["detected"] for row in rows) else 1)


def test_a_failing_seed_replays_and_shrinks(
    small_scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_root = tmp_path / "explore"
    argv = ["explore", str(small_scenario_file), "--seeds", "1-2", "--workers", "2"]
    argv += ["--bug", "apply_before_commit", "--out", str(out_root), "--json"]
    status, report = run_json(capsys, argv)
    assert status == 1
    assert isinstance(report, dict)
    assert report["failures"] == {"1": ["raft_safety"], "2": ["raft_safety"]}
    run_dir = out_root / "seed-2"
    assert main(["replay", str(run_dir)]) == 0

    shrunk_file = tmp_path / "shrunk.yaml"
    argv = ["shrink", str(run_dir), "--out", str(shrunk_file), "--budget", "40", "--json"]
    status, shrunk = run_json(capsys, argv)
    assert status == 0
    assert isinstance(shrunk, dict)
    assert shrunk["check"] == "raft_safety" and shrunk["seed"] == 2
    assert shrunk["bugs"] == ["apply_before_commit"]
    assert shrunk["after"]["events"] < shrunk["before"]["events"]
    assert 0 < shrunk["runs"] <= 40
    scenario = load_scenario(shrunk_file)
    assert scenario.name == "small-nemesis-shrunk"
    assert (scenario.seed, scenario.bugs) == (2, ("apply_before_commit",))
    assert scenario.duration_ms < 2000
    # The written file fails the same check when run on its own.
    status, ran = run_json(
        capsys, ["run", str(shrunk_file), "--out", str(tmp_path / "again"), "--json"]
    )
    assert status == 1
    assert isinstance(ran, dict)
    assert ran["checks"]["raft_safety"]["status"] == "violation"
    assert ran["event_count"] == shrunk["after"]["events"]
