"""Retention of run folders: ``harmonysim gc`` keeps the newest and the failing, deletes the old."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from harmonysim.cli import main
from harmonysim.retention import find_runs, plan_retention

DAY_S = 86400.0
NOW_S = 1_000_000_000.0


def _run(root: Path, name: str, age_days: float, status: str = "ok") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "run.json").write_bytes(orjson.dumps({"status": status}))
    (folder / "events.jsonl").write_text("{}\n")
    stamp = NOW_S - age_days * DAY_S
    os.utime(folder / "run.json", (stamp, stamp))
    return folder


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    _run(root, "standard/seed-1", 0.5)
    _run(root, "standard/seed-2", 3)
    _run(root, "standard/seed-3", 10)
    _run(root, "explore/nemesis/seed-17", 20, status="violation")
    _run(root, "nemesis/seed-1", 30)
    return root


def _names(paths: list[Path], root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in paths)


def test_keep_last_and_older_than_combine_and_failing_runs_stay(runs: Path) -> None:
    plan = plan_retention(find_runs(runs), keep_last=1, older_than_s=7 * DAY_S, now_s=NOW_S)
    assert _names([run.path for run in plan.delete], runs) == [
        "nemesis/seed-1",
        "standard/seed-3",
    ]
    why = {str(run.path.relative_to(runs)): reason for run, reason in plan.keep}
    assert why["standard/seed-1"].startswith("among the 1 newest")
    assert why["standard/seed-2"] == "not old enough"
    assert why["explore/nemesis/seed-17"].startswith("failing run (violation)")


def test_include_failing_deletes_failing_runs_too(runs: Path) -> None:
    plan = plan_retention(
        find_runs(runs), keep_last=None, older_than_s=7 * DAY_S, now_s=NOW_S, include_failing=True
    )
    assert "explore/nemesis/seed-17" in _names([run.path for run in plan.delete], runs)


def test_the_command_deletes_what_it_plans_and_dry_run_deletes_nothing(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # ages are relative to the real clock here: make the two newest recent
    for name in ("standard/seed-1", "standard/seed-2"):
        os.utime(runs / name / "run.json")
    assert main(["gc", str(runs), "--keep-last", "2", "--dry-run", "--json"]) == 0
    planned = orjson.loads(capsys.readouterr().out)
    assert len(planned["delete"]) == 2 and planned["deleted"] == []
    assert all(Path(path).is_dir() for path in planned["delete"])
    assert main(["gc", str(runs), "--keep-last", "2", "--json"]) == 0
    done = orjson.loads(capsys.readouterr().out)
    assert sorted(done["deleted"]) == sorted(planned["delete"])
    assert not any(Path(path).exists() for path in done["deleted"])
    assert _names([run.path for run in find_runs(runs)], runs) == [
        "explore/nemesis/seed-17",
        "standard/seed-1",
        "standard/seed-2",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["gc", "{root}"], "give --keep-last N, --older-than D or both"),
        (["gc", "{root}/nope", "--keep-last", "1"], "no such folder"),
        (["gc", "{root}", "--older-than", "7 days"], "expected an age"),
    ],
)
def test_bad_input_is_exit_2_with_a_message(
    runs: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main([arg.format(root=runs) for arg in argv])
    except SystemExit as exited:  # argparse's own errors (bad flag values)
        code = int(str(exited.code))
    assert code == 2
    assert message in capsys.readouterr().err
    assert len(find_runs(runs)) == 5


def test_serve_live_retention_keeps_the_newest_beside_the_live_run(tmp_path: Path) -> None:
    from rich.console import Console

    from harmonysim.cli.serve import prune_beside

    root = tmp_path / "runs" / "standard"
    for seed, age_days in ((1, 1), (2, 2), (3, 3)):
        _run(root.parent, f"standard/seed-{seed}", age_days)
    _run(root.parent, "standard/seed-4", 4, status="violation")
    live_dir = root / "seed-9"
    prune_beside(live_dir, 1, Console(quiet=True))
    assert sorted(path.name for path in root.iterdir()) == ["seed-1", "seed-4"]
