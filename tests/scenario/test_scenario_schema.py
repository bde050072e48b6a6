"""The schema's defaults, derived values, cross-field rules and overrides."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from harmonysim.scenario import (
    BUG_DESCRIPTIONS,
    CHECK_NAMES,
    KNOWN_BUGS,
    FaultKind,
    FaultTrigger,
    Latency,
    LinkRef,
    Nemesis,
    Partition,
    PartitionKind,
    Scenario,
    ScenarioError,
    parse_scenario,
    resolve,
)

MINIMAL = "name: tiny\nduration: 10s\n"


def scenario_with(extra: str, *, duration: str = "10s") -> Scenario:
    return parse_scenario(f"name: tiny\nduration: {duration}\n{extra}", "test.yaml")


def error_with(extra: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        scenario_with(extra)
    return info.value


def test_defaults_follow_the_documented_schema() -> None:
    scenario = parse_scenario(MINIMAL)
    assert scenario.seed == 1
    assert scenario.description == ""
    assert scenario.duration_ms == 10_000.0
    assert scenario.node_ids == ("n1", "n2", "n3", "n4", "n5")
    raft = scenario.cluster.raft
    assert raft.election_timeout_ms == (150.0, 300.0)
    assert (raft.heartbeat_interval_ms, raft.tick_ms) == (50.0, 10.0)
    assert (raft.prevote, raft.check_quorum, raft.lease_reads) == (True, True, False)
    assert raft.snapshot_threshold == 1000
    assert scenario.cluster.btree.order == 32
    assert scenario.cluster.disk.fsync_latency_ms == 1.0
    assert scenario.cluster.disk.write_latency_ms == 0.05
    latency = scenario.network.latency
    assert (latency.distribution, latency.mean_ms, latency.p99_ms) == ("lognormal", 5.0, 30.0)
    assert (scenario.network.loss, scenario.network.duplicate) == (0.0, 0.0)
    assert scenario.network.jitter_ms == 0.0
    workload = scenario.workload
    assert (workload.clients, workload.rate_per_s, workload.operations) == (5, None, None)
    assert list(workload.mix.items()) == [("get", 0.5), ("put", 0.4), ("cas", 0.1)]
    assert (workload.keys.count, workload.keys.distribution) == (100, "uniform")
    assert workload.keys.zipf_exponent == 1.0
    assert workload.timeout_ms == 500.0
    assert scenario.faults == ()
    assert scenario.checks == CHECK_NAMES
    assert scenario.bugs == ()


def test_node_ids_follow_the_cluster_size() -> None:
    scenario = scenario_with("cluster: {nodes: 12}\n")
    assert scenario.node_ids[-3:] == ("n10", "n11", "n12")
    assert len(scenario.node_ids) == 12


def test_bug_library_is_complete_and_described() -> None:
    assert KNOWN_BUGS == (
        "vote_without_log_check",
        "commit_prior_term_by_count",
        "no_conflict_truncation",
        "forget_vote_on_restart",
        "read_without_read_index",
        "ack_before_fsync",
        "apply_before_commit",
        "lease_ignores_pause",
        "ticks_on_wall_clock",
        "truncate_at_damaged_entry",
        "btree_split_loses_key",
        "vote_response_term_unchecked",
        "follower_commit_beyond_match",
        "read_index_before_term_commit",
        "lease_survives_transfer",
        "config_change_before_term_commit",
        "vote_ignores_leader_stickiness",
        "lease_until_step_down",
        "snapshot_truncates_newer_entries",
        "pre_candidate_keeps_leader",
        "pre_vote_reply_own_term",
        "read_round_kept_across_terms",
        "election_timer_on_stale_append",
        "refuse_start_on_torn_log",
        "removal_while_change_pending",
        "log_start_ignores_snapshot",
        "append_drops_later_entries",
        "removed_leader_counts_itself",
        "btree_merge_drops_key",
        "btree_borrow_wrong_separator",
        "btree_scan_skips_leaf_boundary",
    )
    assert tuple(BUG_DESCRIPTIONS) == KNOWN_BUGS
    assert all(description and "\n" not in description for description in BUG_DESCRIPTIONS.values())


def test_models_are_frozen() -> None:
    scenario = parse_scenario(MINIMAL)
    with pytest.raises(ValidationError):
        scenario.seed = 2  # type: ignore[misc]


def test_scenarios_are_hashable_values() -> None:
    first = scenario_with("workload: {mix: {get: 1, put: 2}}\n")
    second = scenario_with("workload: {mix: {get: 1.0, put: 2.0}}\n")
    other = scenario_with("workload: {mix: {get: 1, put: 3}}\n")
    assert first == second and hash(first) == hash(second)
    assert len({first, second, other}) == 2


def test_python_callers_may_pass_milliseconds() -> None:
    scenario = Scenario(name="direct", duration_ms=2500.0)
    assert scenario.duration_ms == 2500.0
    assert scenario == parse_scenario("name: direct\nduration: 2.5s\n")


def test_mix_keeps_the_file_order() -> None:
    scenario = scenario_with("workload: {mix: {scan: 1, put: 2, get: 3}}\n")
    assert list(scenario.workload.mix) == ["scan", "put", "get"]
    assert scenario.workload.mix["put"] == 2.0


def test_mix_weights_must_not_all_be_zero() -> None:
    error = error_with("workload: {mix: {get: 0, put: 0}}\n")
    assert error.field == "workload.mix"
    assert "add up to 0" in error.message


def test_rates_are_per_second() -> None:
    assert scenario_with("workload: {rate: 12/m}\n").workload.rate_per_s == 0.2
    assert scenario_with("workload: {rate: 2/ms}\n").workload.rate_per_s == 2000.0


def test_a_rate_needs_clients() -> None:
    error = error_with("workload: {clients: 0, rate: 10/s}\n")
    assert error.field == "workload.rate"
    assert "at least one client" in error.message


def test_zero_rate_is_rejected() -> None:
    error = error_with("workload: {rate: 0/s}\n")
    assert error.field == "workload.rate"
    assert "a rate must be greater than 0" in error.message


def test_fault_kind_and_action() -> None:
    scenario = scenario_with(
        "faults:\n"
        "  - {at: 1s, crash: leader}\n"
        "  - {at: 2s, clog: {from: n1, to: n2, both_ways: true}}\n"
        "  - {at: 3s, unclog: all}\n"
        "  - {at: 4s, unclog: {from: n1, to: n2}}\n"
        "  - {at: 5s, partition: {ring: true}}\n"
        "  - {at: 6s, nemesis: {kinds: [pause, clog], interval: 500ms, until: 9s}}\n"
    )
    kinds = [fault.kind for fault in scenario.faults]
    assert kinds == [
        FaultKind.CRASH,
        FaultKind.CLOG,
        FaultKind.UNCLOG,
        FaultKind.UNCLOG,
        FaultKind.PARTITION,
        FaultKind.NEMESIS,
    ]
    assert kinds[0] == "crash"
    assert scenario.faults[0].action == "leader"
    clog = scenario.faults[1].action
    assert isinstance(clog, LinkRef)
    assert (clog.from_node, clog.to_node, clog.both_ways) == ("n1", "n2", True)
    assert scenario.faults[2].action == "all"
    assert isinstance(scenario.faults[3].action, LinkRef)
    partition = scenario.faults[4].action
    assert isinstance(partition, Partition) and partition.kind is PartitionKind.RING
    nemesis = scenario.faults[5].action
    assert isinstance(nemesis, Nemesis)
    assert (nemesis.kinds, nemesis.interval_ms, nemesis.until_ms) == (
        ("pause", "clog"),
        500.0,
        9000.0,
    )


def test_a_fault_may_wait_for_an_event() -> None:
    scenario = scenario_with(
        "faults:\n"
        "  - {at: 1s, when: leader_elected, partition: {isolate: leader}}\n"
        "  - {at: 2s, when: leader_commit, until: 5s, crash: leader}\n"
        "  - {at: 3s, heal: all}\n"
        "  - {at: 4s, nemesis: {kinds: [crash], interval: 1s, until: 6s}}\n",
        duration="20s",
    )
    elected, commit, heal, nemesis = scenario.faults
    assert (elected.when, elected.until_ms) == (FaultTrigger.LEADER_ELECTED, None)
    assert (commit.when, commit.until_ms) == (FaultTrigger.LEADER_COMMIT, 5000.0)
    assert heal.when is None and nemesis.when is None and commit.kind is FaultKind.CRASH
    # The latest time each can act: an open wait lasts to the end of the run.
    assert [fault.last_ms(20000.0) for fault in scenario.faults] == [
        20000.0,
        5000.0,
        3000.0,
        6000.0,
    ]


@pytest.mark.parametrize(
    ("shape", "kind"),
    [
        ("{isolate: n2}", PartitionKind.ISOLATE),
        ("{groups: [[n1], [n2, n3]]}", PartitionKind.GROUPS),
        ("{one_way: {from: [n1, n2], to: [n3]}}", PartitionKind.ONE_WAY),
        ("{bridge: n3}", PartitionKind.BRIDGE),
        ("{ring: true}", PartitionKind.RING),
    ],
)
def test_partition_shapes(shape: str, kind: PartitionKind) -> None:
    scenario = scenario_with(f"faults: [{{at: 1s, partition: {shape}}}]\n")
    assert scenario.faults[0].partition is not None
    assert scenario.faults[0].partition.kind is kind


@pytest.mark.parametrize(
    ("extra", "field", "fragment"),
    [
        (
            "cluster: {nodes: 3}\nfaults: [{at: 1s, partition: {ring: true}}]\n",
            "faults[0].partition.ring",
            "a ring partition needs at least 4 nodes",
        ),
        (
            "cluster: {nodes: 2}\nfaults: [{at: 1s, partition: {bridge: n1}}]\n",
            "faults[0].partition.bridge",
            "a bridge partition needs at least 3 nodes",
        ),
        (
            "faults: [{at: 1s, partition: {ring: 1}}]\n",
            "faults[0].partition.ring",
            "expected true, found 1",
        ),
        (
            "faults: [{at: 1s, partition: {groups: [[n1, n2, n1], [n3]]}}]\n",
            "faults[0].partition.groups[0][2]",
            "n1 appears twice in group 1",
        ),
        (
            "faults: [{at: 1s, partition: {groups: [[n1], []]}}]\n",
            "faults[0].partition.groups[1]",
            "a non-empty list of node ids",
        ),
        (
            "faults: [{at: 1s, partition: {bridge: leader}}]\n",
            "faults[0].partition.bridge",
            "expected a node id like n1, found 'leader'",
        ),
        (
            "faults: [{at: 1s, clog: {from: n2, to: n2}}]\n",
            "faults[0].clog.to",
            "a link joins two different nodes",
        ),
        (
            "faults: [{at: 1s, nemesis: {kinds: [], interval: 1s, until: 5s}}]\n",
            "faults[0].nemesis.kinds",
            "a non-empty list",
        ),
        (
            "faults: [{at: 1s, nemesis: {kinds: [crash, crash], interval: 1s, until: 5s}}]\n",
            "faults[0].nemesis.kinds[1]",
            "nemesis kind 'crash' is listed twice",
        ),
        (
            "faults: [{at: 1s, nemesis: {kinds: [flood], interval: 1s, until: 5s}}]\n",
            "faults[0].nemesis.kinds[0]",
            "unknown nemesis kind 'flood'; known nemesis kinds: partition, crash, clog, pause",
        ),
        (
            "cluster: {raft: {tick: 60ms}}\n",
            "cluster.raft.tick",
            "tick 60ms must not exceed the heartbeat interval 50ms",
        ),
        (
            "cluster: {raft: {lease_reads: true, check_quorum: false}}\n",
            "cluster.raft.lease_reads",
            "lease_reads needs check_quorum: true",
        ),
        ("cluster: {btree: {order: 2}}\n", "cluster.btree.order", "an integer from 3 to 1024"),
        (
            "network: {links: [{from: n1, to: n2, loss: 0.1}, {from: n2, to: n1, both_ways: true, "
            "loss: 0.2}]}\n",
            "network.links[1]",
            "the link n1 -> n2 is already overridden by links[0]",
        ),
        (
            "network: {links: [{from: n1, to: n2}]}\n",
            "network.links[0]",
            "a link override sets nothing",
        ),
        ("workload: {keys: {exponent: 0}}\n", "workload.keys.exponent", "a number greater than 0"),
        (
            "workload: {keys: {distribution: pareto}}\n",
            "workload.keys.distribution",
            "expected one of uniform, zipf, zipfian, scrambled_zipfian, latest, sequential, "
            "hotspot, found 'pareto'",
        ),
        ("workload: {operations: 0}\n", "workload.operations", "an integer >= 1"),
        ("bugs: [ack_before_fsync, ack_before_fsync]\n", "bugs[1]", "listed twice"),
    ],
)
def test_cross_field_rules(extra: str, field: str, fragment: str) -> None:
    error = error_with(extra)
    assert error.field == field
    assert fragment in error.message
    assert error.line is not None and error.column is not None


def test_lognormal_parameters_reproduce_mean_and_p99() -> None:
    latency = Latency(distribution="lognormal", mean_ms=5.0, p99_ms=30.0)
    mu, sigma = latency.lognormal_mu_sigma()
    z_99 = 2.3263478740408408
    assert math.exp(mu + sigma**2 / 2) == pytest.approx(5.0, rel=1e-12)
    assert math.exp(mu + z_99 * sigma) == pytest.approx(30.0, rel=1e-12)
    assert 0 < sigma < z_99


def test_lognormal_bound_is_exact() -> None:
    limit = math.exp(2.3263478740408408**2 / 2)
    ok = Latency(distribution="lognormal", mean_ms=1.0, p99_ms=limit * 0.999)
    assert ok.lognormal_mu_sigma()[1] > 0
    with pytest.raises(ValidationError):
        Latency(distribution="lognormal", mean_ms=1.0, p99_ms=limit)


def test_other_distributions_have_no_lognormal_parameters() -> None:
    latency = Latency(distribution="constant", value_ms=3.0)
    with pytest.raises(ValueError, match="a constant latency has no lognormal parameters"):
        latency.lognormal_mu_sigma()


def test_link_override_directions() -> None:
    scenario = scenario_with(
        "network:\n  links:\n"
        "    - {from: n1, to: n2, jitter: 5ms}\n"
        "    - {from: n3, to: n4, both_ways: true, latency: {distribution: constant, value: 9ms}}\n"
    )
    first, second = scenario.network.links
    assert first.directed_links() == (("n1", "n2"),)
    assert first.jitter_ms == 5.0 and first.latency is None
    assert second.directed_links() == (("n3", "n4"), ("n4", "n3"))
    assert second.latency is not None and second.latency.value_ms == 9.0


# --------------------------------------------------------------------------- resolve


def test_resolve_applies_overrides() -> None:
    base = scenario_with("seed: 5\nbugs: [ack_before_fsync]\n")
    resolved = resolve(
        base,
        seed=99,
        duration_ms=20_000.0,
        bugs=["apply_before_commit", "ack_before_fsync"],
    )
    assert resolved.seed == 99
    assert resolved.duration_ms == 20_000.0
    assert resolved.bugs == ("ack_before_fsync", "apply_before_commit")
    assert resolved.cluster == base.cluster
    assert resolve(base) == base


def test_resolve_revalidates_faults_against_the_new_end() -> None:
    base = scenario_with("faults: [{at: 8s, crash: n1}]\n")
    with pytest.raises(ScenarioError) as info:
        resolve(base, duration_ms=5000.0)
    assert str(info.value) == (
        "tiny (with overrides): faults[0].at: a fault after the end: at 8s is not before "
        "the end of the run (5s)"
    )


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"seed": -1}, "seed", "expected an integer >= 0 and at most 2^64 - 1"),
        ({"duration_ms": -5.0}, "duration", "expected a positive duration, found -5.0"),
        ({"duration_ms": 0.0}, "duration", "a duration must be greater than 0"),
        ({"bugs": ["no_such_bug"]}, "bugs[0]", "unknown bug 'no_such_bug'"),
    ],
)
def test_resolve_rejects_bad_overrides(
    overrides: dict[str, object], field: str, fragment: str
) -> None:
    base = parse_scenario(MINIMAL)
    with pytest.raises(ScenarioError) as info:
        resolve(base, **overrides, source="--overrides")  # type: ignore[arg-type]
    assert info.value.source == "--overrides"
    assert info.value.field == field
    assert fragment in info.value.message
