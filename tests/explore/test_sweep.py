"""Seed sweeps: the same per-seed results on any pool, failing seeds kept and replayable;
sweep runs carry no telemetry and are otherwise the same runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harmonysim.cli import main
from harmonysim.explore import (
    DaskPool,
    LocalPool,
    RunStatus,
    SeedTask,
    explore,
    hunt_mutants,
    run_task,
    sweep,
)
from harmonysim.explore.pool import MEMORY_CHECK
from harmonysim.runlog.folder import RunFolder
from harmonysim.runner import run_scenario
from harmonysim.scenario import KNOWN_BUGS, Scenario, resolve
from tests.explore import doubles


def _hashes(report_results: list[object] | tuple[object, ...]) -> dict[int, tuple[str, int]]:
    return {r.seed: (r.event_hash, r.event_count) for r in report_results}  # type: ignore[attr-defined]


def test_one_and_two_workers_give_identical_per_seed_results(
    small_scenario: Scenario, tmp_path: Path
) -> None:
    seeds = [1, 2, 3, 4, 5, 6]
    with LocalPool(1) as one:
        single = explore(small_scenario, seeds, one, out_root=tmp_path / "one")
    with LocalPool(2) as two:
        double = explore(small_scenario, seeds, two, out_root=tmp_path / "two")
    assert single.seeds == double.seeds == tuple(seeds)
    assert _hashes(single.results) == _hashes(double.results)
    # Different seeds really are different runs.
    assert len({result.event_hash for result in single.results}) == len(seeds)
    # The same seed run in this process agrees with both pools.
    here = run_task(SeedTask(scenario=small_scenario, seed=4))
    assert (here.event_hash, here.event_count) == _hashes(single.results)[4]
    assert not (tmp_path / "one").exists() and not (tmp_path / "two").exists()


def test_failing_seeds_are_kept_and_replay(small_scenario: Scenario, tmp_path: Path) -> None:
    out_root = tmp_path / "explore"
    with LocalPool(2) as pool:
        report = explore(
            small_scenario,
            range(1, 8),
            pool,
            out_root=out_root,
            judge=doubles.judge_every_third_seed,
        )
    assert report.failures == {3: (doubles.THIRD_SEED_CHECK,), 6: (doubles.THIRD_SEED_CHECK,)}
    assert report.unknown == {7: (doubles.THIRD_SEED_CHECK,)}
    assert report.status is RunStatus.FAIL
    assert report.failures_by_check == {doubles.THIRD_SEED_CHECK: 2}
    kept = sorted(child.name for child in out_root.iterdir())
    assert kept == ["seed-3", "seed-6", "seed-7"]  # passing seeds leave nothing
    for name in kept:  # made again with every trace and metric
        folder = out_root / name
        assert (folder / RunFolder.TRACES).stat().st_size > 0
        assert (folder / RunFolder.METRICS).stat().st_size > 0
    assert main(["replay", str(out_root / "seed-6")]) == 0


def test_a_sweep_stops_each_group_at_its_first_failure(
    small_scenario: Scenario, tmp_path: Path
) -> None:
    tasks = [
        SeedTask(
            scenario=small_scenario,
            seed=seed,
            group=group,
            save_dir=str(tmp_path / group / f"seed-{seed}"),
            judge=doubles.judge_every_third_seed,
        )
        for group in ("a", "b")
        for seed in (1, 2, 4, 6, 8, 9, 10)
    ]
    with LocalPool(2) as pool:
        results = sweep(pool, tasks, stop_group_at_first_failure=True)
    assert [(r.group, r.seed) for r in results] == [
        ("a", 1),
        ("a", 2),
        ("a", 4),
        ("a", 6),
        ("b", 1),
        ("b", 2),
        ("b", 4),
        ("b", 6),
    ]
    # Only the first failure of each group keeps its folder; later failures that ran
    # while the pool was busy are dropped with their folders.
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.glob("*/seed-*")) == [
        "a/seed-6",
        "b/seed-6",
    ]


def test_dask_local_cluster_gives_the_same_results(
    small_scenario: Scenario, tmp_path: Path
) -> None:
    seeds = [1, 2, 3]
    with DaskPool("local", 2) as pool:
        assert pool.workers == 2
        on_dask = explore(
            small_scenario,
            seeds,
            pool,
            out_root=tmp_path,
            judge=doubles.judge_every_third_seed,
        )
    expected = {seed: run_task(SeedTask(scenario=small_scenario, seed=seed)) for seed in seeds}
    assert _hashes(on_dask.results) == _hashes(list(expected.values()))
    assert on_dask.failures == {3: (doubles.THIRD_SEED_CHECK,)}
    assert (tmp_path / "seed-3" / "run.json").is_file()


def test_mutants_report_first_detection_per_bug(small_scenario: Scenario, tmp_path: Path) -> None:
    bugs = KNOWN_BUGS[:2]
    with LocalPool(2) as pool:
        report = hunt_mutants(
            [small_scenario],
            pool,
            out_root=tmp_path,
            bugs=bugs,
            seeds=range(1, 5),
            judge=doubles.judge_bug_from_seed_two,
        )
    assert [bug.bug for bug in report.bugs] == list(bugs)
    for bug in report.bugs:
        assert bug.detected and bug.first_seed == 2
        assert bug.check == doubles.BUG_CHECK
        assert bug.runs == 2 and bug.detections == 1
        assert bug.detection_rate is None  # stopped at the first detection: no rate
        assert bug.first is not None and bug.first.bugs == (bug.bug,)
        row = bug.to_json()
        assert row["detected"] is True and row["first_seed"] == 2
        assert row["run_dir"] == str(tmp_path / bug.bug / "small-nemesis" / "seed-2")
    assert report.undetected == ()


def test_a_local_worker_runs_within_its_memory_budget() -> None:
    import resource

    budget = 3 * 2**30
    with LocalPool(1, memory_bytes=budget) as pool:
        limit = pool._executor.submit(resource.getrlimit, resource.RLIMIT_AS).result()
    assert limit == (budget, budget)


def test_a_run_that_outgrows_its_memory_is_inconclusive_not_a_detection(
    small_scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harmonysim.runner

    def exhausted(*_: object, **__: object) -> None:
        raise MemoryError

    monkeypatch.setattr(harmonysim.runner, "run_scenario", exhausted)
    result = run_task(SeedTask(scenario=small_scenario, seed=1))
    assert result.status is RunStatus.UNKNOWN
    assert result.unknown_checks == (MEMORY_CHECK,) and result.failed_checks == ()
    assert result.error is not None and "memory budget" in result.error


def test_a_run_without_telemetry_is_the_same_run_without_metrics_or_traces(
    small_scenario: Scenario, tmp_path: Path
) -> None:
    """What sweeps run: the event log, history, summary and verdicts of the run with every
    trace and metric, only without their files."""
    scenario = resolve(small_scenario, seed=3)
    full = run_scenario(scenario, tmp_path / "full", trace_sample=1.0)
    bare = run_scenario(scenario, tmp_path / "bare", trace_sample=0.0, telemetry=False)
    assert (bare.event_count, bare.event_hash) == (full.event_count, full.event_hash)
    assert bare.summary == full.summary
    assert {name: result.to_json() for name, result in bare.checks.items()} == {
        name: result.to_json() for name, result in full.checks.items()
    }
    history = RunFolder.HISTORY
    assert (tmp_path / "bare" / history).read_bytes() == (tmp_path / "full" / history).read_bytes()
    assert sorted(path.name for path in (tmp_path / "bare").iterdir()) == sorted(
        [RunFolder.EVENTS, RunFolder.HISTORY, RunFolder.RUN]
    )
    assert (tmp_path / "full" / RunFolder.TRACES).exists()
    assert bare.telemetry == {"off": True}
    with pytest.raises(ValueError, match="trace_sample must be 0"):
        run_scenario(scenario, tmp_path / "sampled", trace_sample=0.1, telemetry=False)


def test_a_sweep_counts_the_seeds_a_check_could_not_judge(
    small_scenario: Scenario,
    small_scenario_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The small nemesis stops 200ms before the end, shorter than its liveness bound
    # (900ms): liveness does not apply, and its runs pass on the other checks alone. A
    # sweep says so rather than count them as judged.
    with LocalPool(1) as pool:
        report = explore(small_scenario, [1, 2], pool, out_root=tmp_path / "explore")
    assert all(result.skipped_checks == ("liveness",) for result in report.results)
    assert report.skipped_by_check == {"liveness": 2}
    status = main(
        [
            "explore",
            str(small_scenario_file),
            "--seeds",
            "1-2",
            "--workers",
            "1",
            "--out",
            str(tmp_path / "cli"),
        ]
    )
    assert status == 0
    assert re.search(r"liveness not applicable\s+│?\s*2", capsys.readouterr().out)
