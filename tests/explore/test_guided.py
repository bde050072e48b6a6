"""Guided exploration: coverage features, a corpus of schedules, deterministic mutations."""

from __future__ import annotations

import copy
from collections.abc import Collection

from harmonysim.explore import LocalPool
from harmonysim.explore.coverage import coverage_of
from harmonysim.explore.edits import build
from harmonysim.explore.guided import explore_guided, rarity
from harmonysim.explore.pool import EXCEPTION_CHECK, SeedResult, SeedTask
from harmonysim.scenario import Scenario

from .doubles import seed_result


def record(t: float, kind: str, node: str | None, **fields: object) -> dict[str, object]:
    return {"t": t, "kind": kind, "node": node, **fields}


def test_coverage_names_roles_under_faults_and_ignores_node_names() -> None:
    def run(node: str) -> frozenset[str]:
        return coverage_of(
            [
                record(1.0, "raft.role", node, role="candidate", term=1),
                record(2.0, "raft.role", node, role="leader", term=1),
                record(3.0, "node.pause", node),
                record(100.0, "raft.role", "n9", role="candidate", term=2),
                record(200.0, "raft.commit", "n9", index=3),
                record(900.0, "node.resume", node),
            ]
        )

    features = run("n1")
    assert features == run("n5")  # the same story on another node covers the same ground
    assert "role:start>candidate>leader" in features
    assert "under:pause:candidate" in features
    assert "after:pause:raft.role:candidate" in features
    assert "under:none:leader" in features and "term:2" in features
    assert run("n1") != coverage_of([record(1.0, "raft.role", "n1", role="leader", term=1)])


def test_coverage_names_each_message_by_its_sender_and_receiver_states() -> None:
    # n1 leads term 1; n2 is elected in term 2 while n1 has not heard of it; a client's
    # read then reaches n1, a leader deposed without knowing it, and n1's heartbeat of
    # term 1 reaches the new leader.
    def run(old: str, new: str) -> frozenset[str]:
        return coverage_of(
            [
                record(1.0, "raft.role", old, role="leader", term=1),
                record(2.0, "raft.role", new, role="candidate", term=2),
                record(3.0, "raft.role", new, role="leader", term=2),
                record(4.0, "msg.send", "c1", dst=old, id=7, type="ClientRequest"),
                record(5.0, "msg.deliver", old, src="c1", id=7),
                record(6.0, "msg.send", old, dst=new, id=8, type="AppendEntries"),
                record(6.5, "raft.config", old, voters=[new], member=False),
                record(7.0, "msg.deliver", new, src=old, id=8),
                record(8.0, "msg.send", old, dst=new, id=9, type="AppendEntries"),
                record(9.0, "msg.deliver", new, src=old, id=9),
            ]
        )

    features = run("n1", "n2")
    assert features == run("n3", "n5")  # node names do not matter
    assert "msg:ClientRequest:client>leader/stale:-" in features
    # the sender's state is taken when it sent: removed only after the first heartbeat
    assert "msg:AppendEntries:leader/stale>leader:<" in features
    assert "msg:AppendEntries:leader/stale/removed>leader:<" in features
    assert {"at-once:1:0", "at-once:2:1"} <= {f for f in features if f.startswith("at-once")}
    assert "commit-under:none" not in features  # nothing committed
    # an undelivered message is no edge
    assert not any(f.startswith("msg:") for f in run_without_delivery())


def run_without_delivery() -> frozenset[str]:
    return coverage_of([record(1.0, "msg.send", "n1", dst="n2", id=1, type="AppendEntries")])


def test_a_corpus_entry_on_rare_ground_weighs_more_than_one_on_common_ground() -> None:
    hits = {"common": 40, "rare": 1, "other": 40}
    assert rarity(frozenset({"rare"}), hits) > rarity(frozenset({"common", "other"}), hits)
    assert rarity(frozenset({"common", "other"}), hits) == 2 / 40


def test_guided_exploration_is_deterministic_grows_coverage_and_keeps_valid_schedules(
    small_scenario: Scenario,
) -> None:
    def explore(workers: int) -> tuple[object, ...]:
        with LocalPool(workers) as pool:
            report = explore_guided(small_scenario, pool, budget_runs=8, initial_seeds=3)
        return (report.runs, report.features, report.corpus, report.growth, report.first_failure)

    one, two = explore(1), explore(2)
    assert one == two  # a function of the scenario, budget and seed, not of the pool
    runs, features, corpus, growth, failure = one
    assert runs == 8 and failure is None
    assert 0 < corpus <= 8 and features == growth[-1]  # type: ignore[index]
    assert list(growth) == sorted(growth)  # type: ignore[call-overload]


def test_guided_exploration_finds_a_bug_and_writes_a_scenario_that_fails_again(
    small_scenario: Scenario,
) -> None:
    with LocalPool(2) as pool:
        report = explore_guided(
            small_scenario, pool, bugs=("apply_before_commit",), budget_runs=12, initial_seeds=3
        )
    assert report.first_failure is not None and report.failing_data is not None
    assert report.first_failure_run is not None and report.first_failure_run <= 12
    again = build(report.failing_data)
    assert again is not None and all(fault.nemesis is None for fault in again.faults)


class _ScriptedPool:
    """A pool whose runs are scripted by seed: seed 2 raises, seed 4 detects a bug."""

    workers = 1
    description = "scripted"

    def submit(self, task: SeedTask) -> SeedTask:
        return task

    def wait_any(self, pending: Collection[SeedTask]) -> list[SeedTask]:
        return list(pending)

    def result(self, task: SeedTask) -> SeedResult:
        checks = {2: (EXCEPTION_CHECK,), 4: ("raft_safety",)}.get(task.seed, ())
        return seed_result(task.seed, checks, group=task.group)

    def cancel(self, task: SeedTask) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_run_that_raised_is_a_finding_but_not_a_detection(small_scenario: Scenario) -> None:
    # `explore --guided` stops at a crash of the simulator (a finding); the power
    # measurement of `mutants` counts only a check that caught the bug, as its random
    # column does, so a crash does not pass for a detection there.
    finding = explore_guided(small_scenario, _ScriptedPool(), budget_runs=6, initial_seeds=6)
    assert finding.first_failure_run == 2
    assert finding.first_failure is not None
    assert finding.first_failure.failed_checks == (EXCEPTION_CHECK,)
    detection = explore_guided(
        small_scenario, _ScriptedPool(), budget_runs=6, initial_seeds=6, detections_only=True
    )
    assert detection.first_failure_run == 4 and detection.cpu_seconds_to_first == 4.0
    assert detection.first_failure is not None
    assert detection.first_failure.failed_checks == ("raft_safety",)


def test_a_corpus_entry_keeps_the_settings_its_seed_drew_when_reseeded() -> None:
    # Most library bugs show under one setting (lease reads, three nodes, one key); a
    # corpus entry that reached new ground keeps its configuration under a new seed.
    from pathlib import Path

    from harmonysim.explore.guided import _explicit
    from harmonysim.scenario import load_scenario, resolve, scenario_to_data
    from harmonysim.sim.swarm import drawn_values

    root = Path(__file__).resolve().parents[2]
    scenario = resolve(load_scenario(root / "scenarios" / "nemesis-all.yaml"), seed=7)
    drawn = drawn_values(scenario)
    entry = _explicit(scenario_to_data(scenario), seed_result(7, ()))
    assert all(len(values) == 1 for values in entry["swarm"].values())
    for seed in (8, 9, 1234):
        again = build({**entry, "seed": seed})
        assert again is not None and drawn_values(again) == drawn
    others = {str(drawn_values(resolve(scenario, seed=seed))) for seed in (8, 9, 1234)}
    assert others != {str(drawn)}  # unpinned, those seeds draw otherwise


def test_a_mutation_chains_a_fault_on_the_node_struck_or_times_it_on_the_next_election(
    small_scenario: Scenario,
) -> None:
    import random

    from harmonysim.explore.edits import fault_at_ms
    from harmonysim.explore.guided import _Mutator
    from harmonysim.scenario import scenario_to_data

    data = scenario_to_data(small_scenario)
    data["faults"] = [{"at": "500ms", "pause": "n2", "for": "250ms"}]
    for seed in range(20):
        mutator = _Mutator(small_scenario, random.Random(seed))
        chained = copy.deepcopy(data)
        mutator._chain(chained)
        first, follower = chained["faults"]
        assert 1.0 <= fault_at_ms(follower) - fault_at_ms(first) <= 20.0
        kind = next(k for k in ("crash", "partition", "clog", "transfer") if k in follower)
        assert kind != "clog" and "pause" not in follower  # another kind
        if kind == "crash":
            assert follower["crash"] == "n2"  # on the node struck
        elif kind == "partition":
            assert follower["partition"] == {"isolate": "n2"}
        assert build(chained) is not None
        timed = copy.deepcopy(data)
        mutator._on_election(timed)
        assert timed["faults"] == [
            {
                "at": "500ms",
                "pause": "leader",
                "for": "250ms",
                "when": "leader_elected",
                "until": "750ms",
            }
        ]
        assert build(timed) is not None
