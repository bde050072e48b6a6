"""Bad scenario files: each yields one clear, located message.

Every test checks the whole contract of a `ScenarioError`: the file, the line
and column of the offending YAML node, the dotted field path, the bad value and
what is allowed, and that the rendered text is one line without pydantic noise.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from harmonysim.scenario import KNOWN_BUGS, ScenarioError, load_scenario, parse_scenario

BASE = """\
name: errors
description: A valid scenario that each test breaks in one place.
seed: 4
duration: 20s
cluster:
  nodes: 5
  raft: {election_timeout: [150ms, 300ms], heartbeat_interval: 50ms}
network:
  latency: {distribution: lognormal, mean: 5ms, p99: 30ms}
  loss: 0.01
workload:
  clients: 4
  rate: 100/s
  mix: {get: 0.5, put: 0.4, cas: 0.1}
faults:
  - {at: 2s, partition: {isolate: leader}}
  - {at: 6s, heal: all}
  - {at: 8s, crash: n2}
  - {at: 9s, restart: n2}
checks: [raft_safety, linearizability]
bugs: []
"""


def test_base_is_valid() -> None:
    scenario = parse_scenario(BASE, "base.yaml")
    assert scenario.name == "errors"
    assert len(scenario.faults) == 4


def broken(old: str, new: str) -> str:
    assert BASE.count(old) == 1, f"{old!r} must occur once in BASE"
    return BASE.replace(old, new)


def position(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based (line, column) of the given occurrence of `needle` in `text`."""
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def load_error(tmp_path: Path, text: str) -> ScenarioError:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    error = info.value
    rendered = str(error)
    assert "\n" not in rendered
    assert "pydantic" not in rendered.lower()
    assert "http" not in rendered
    assert rendered.startswith(str(path))
    return error


def assert_error(
    error: ScenarioError,
    text: str,
    at: str,
    *,
    field: str | None,
    found: str | None,
    expected_fragment: str,
    message_fragment: str,
    occurrence: int = 1,
) -> None:
    line, column = position(text, at, occurrence)
    assert (error.line, error.column) == (line, column)
    assert error.field == field
    assert error.found == found
    assert error.expected is not None and expected_fragment in error.expected
    assert message_fragment in error.message
    prefix = f"{error.source}:{line}:{column}: " + (f"{field}: " if field else "")
    assert str(error) == prefix + error.message


# --------------------------------------------------------------------------- the file itself


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: no such file"
    assert info.value.line is None and info.value.field is None


def test_directory_lists_scenarios_inside(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text(BASE, encoding="utf-8")
    (tmp_path / "a.yaml").write_text(BASE, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path)
    assert str(info.value) == (
        f"{tmp_path}: is a directory, expected a scenario file (.yaml); "
        "scenario files in it: a.yaml, b.yaml"
    )


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == (
        f"{path}: the file is empty; a scenario needs at least name and duration"
    )


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: not UTF-8 text (bad byte at offset 9)"


def test_yaml_syntax_error_has_its_line(tmp_path: Path) -> None:
    text = broken("  loss: 0.01\n", "  loss: [0.01\n")
    error = load_error(tmp_path, text)
    assert error.line == position(text, "workload")[0]
    assert error.field is None
    assert error.message.startswith("not valid YAML: ")


def test_yaml_bad_indentation(tmp_path: Path) -> None:
    text = broken("  clients: 4\n", "  clients: 4\n   rate2: 3\n")
    error = load_error(tmp_path, text)
    assert error.line == position(text, "rate2")[0]
    assert "mapping values are not allowed here" in error.message


def test_several_documents_are_rejected(tmp_path: Path) -> None:
    text = BASE + "---\nname: second\n"
    error = load_error(tmp_path, text)
    assert error.line == position(text, "---")[0]
    assert "expected a single document" in error.message


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "a list"), ("just text\n", "a string")])
def test_top_level_not_a_mapping(tmp_path: Path, text: str, kind: str) -> None:
    error = load_error(tmp_path, text)
    assert (error.line, error.column) == (1, 1)
    assert error.message == f"expected a mapping of scenario keys at the top level, found {kind}"


def test_duplicate_key(tmp_path: Path) -> None:
    text = broken("seed: 4\n", "seed: 4\ncluster: {}\n")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "cluster",
        occurrence=2,
        field="cluster",
        found="'cluster'",
        expected_fragment="each key at most once",
        message_fragment="duplicate key 'cluster' (first given at line 4)",
    )


def test_duplicate_key_in_a_nested_flow_mapping(tmp_path: Path) -> None:
    text = broken("mean: 5ms, p99: 30ms}", "mean: 5ms, p99: 30ms, mean: 6ms}")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "mean",
        occurrence=2,
        field="network.latency.mean",
        found="'mean'",
        expected_fragment="at most once",
        message_fragment="duplicate key 'mean'",
    )


# --------------------------------------------------------------------------- keys and types


def test_unknown_top_level_key_suggests_the_right_one(tmp_path: Path) -> None:
    text = broken("seed: 4\n", "sead: 4\n")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "sead",
        field="sead",
        found="'sead'",
        expected_fragment="name, description, seed, duration, cluster",
        message_fragment="unknown key 'sead' (did you mean 'seed'?); allowed: name, description,",
    )


def test_unknown_nested_key_lists_allowed_keys(tmp_path: Path) -> None:
    text = broken("  nodes: 5\n", "  nodes: 5\n  replicas: 3\n")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "replicas",
        field="cluster.replicas",
        found="'replicas'",
        expected_fragment="nodes, members, raft, btree, disk",
        message_fragment="unknown key 'replicas'; allowed: nodes, members, raft, btree, disk",
    )


def test_python_field_names_are_not_file_keys(tmp_path: Path) -> None:
    text = broken("duration: 20s", "duration_ms: 20s")
    error = load_error(tmp_path, text)
    assert error.field == "duration_ms"
    assert "(did you mean 'duration'?)" in error.message


@pytest.mark.parametrize(
    ("old", "new", "at", "field", "found", "expected"),
    [
        (
            "  clients: 4",
            "  clients: four",
            "four",
            "workload.clients",
            "'four'",
            "an integer from 0 to 10000",
        ),
        (
            "  clients: 4",
            "  clients: 2.5",
            "2.5",
            "workload.clients",
            "2.5",
            "an integer from 0 to 10000",
        ),
        ("  nodes: 5", "  nodes: true", "true", "cluster.nodes", "True", "an integer from 1 to 15"),
        ("  nodes: 5", "  nodes: 16", "16", "cluster.nodes", "16", "an integer from 1 to 15"),
        ("seed: 4", "seed: -4", "-4", "seed", "-4", "an integer >= 0"),
        ("name: errors", "name: Errors!", "Errors!", "name", "'Errors!'", "lowercase letters"),
        (
            "description: A valid scenario that each test breaks in one place.",
            "description: [a, list]",
            "[a, list]",
            "description",
            "['a', 'list']",
            "text",
        ),
        (
            "heartbeat_interval: 50ms}",
            "heartbeat_interval: 50ms, prevote: maybe}",
            "maybe",
            "cluster.raft.prevote",
            "'maybe'",
            "true or false",
        ),
        (
            "  raft: {",
            "  btree: 32\n  raft: {",
            "32",
            "cluster.btree",
            "32",
            "a mapping with keys order",
        ),
        (
            "  - {at: 6s, heal: all}",
            "  - {at: 6s, heal: everything}",
            "everything",
            "faults[1].heal",
            "'everything'",
            "'all'",
        ),
        (
            "  - {at: 6s, heal: all}",
            "  - {at: 6s, unclog: n1}",
            "n1",
            "faults[1].unclog",
            "'n1'",
            "'all' or a link like {from: n1, to: n2}",
        ),
        (
            "{distribution: lognormal,",
            "{distribution: normal,",
            "normal",
            "network.latency.distribution",
            "'normal'",
            "one of constant, uniform, exponential, lognormal",
        ),
        (
            "  rate: 100/s",
            "  rate: 100",
            "100",
            "workload.rate",
            "100",
            "a positive rate like 200/s",
        ),
        (
            "cas: 0.1}",
            "cas: -0.1}",
            "-0.1",
            "workload.mix.cas",
            "-0.1",
            "a number >= 0",
        ),
    ],
)
def test_wrong_types(
    tmp_path: Path,
    old: str,
    new: str,
    at: str,
    field: str,
    found: str,
    expected: str,
) -> None:
    text = broken(old, new)
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        at,
        field=field,
        found=found,
        expected_fragment=expected,
        message_fragment=found,
    )


def test_missing_required_key_points_at_the_enclosing_mapping(tmp_path: Path) -> None:
    text = broken("duration: 20s\n", "")
    error = load_error(tmp_path, text)
    assert (error.line, error.column) == (1, 1)
    assert error.field == "duration"
    assert error.found is None
    assert error.message == "missing required key 'duration'"


def test_missing_nested_key(tmp_path: Path) -> None:
    text = broken("  - {at: 6s, heal: all}", "  - {at: 6s, clog: {from: n1}}")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "{from: n1}",
        field="faults[1].clog.to",
        found=None,
        expected_fragment="a value for to",
        message_fragment="missing required key 'to'",
    )


# --------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("new", "at", "found", "fragment"),
    [
        ("heartbeat_interval: -50ms", "-50ms", "'-50ms'", "a duration cannot be negative"),
        ("heartbeat_interval: 0ms", "0ms}", "'0ms'", "a duration must be greater than 0"),
        ("heartbeat_interval: 50", "50}", "50", "found 50 (a bare number has no unit)"),
        ("heartbeat_interval: 50 msec", "50 msec", "'50 msec'", "unknown duration unit 'msec'"),
        ("heartbeat_interval: fast", "fast", "'fast'", "expected a duration like 150ms, 2s, 1m"),
    ],
)
def test_bad_durations(tmp_path: Path, new: str, at: str, found: str, fragment: str) -> None:
    text = broken("heartbeat_interval: 50ms", new)
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        at,
        field="cluster.raft.heartbeat_interval",
        found=found,
        expected_fragment="a positive duration like 150ms, 2s, 1m",
        message_fragment=fragment,
    )


def test_zero_duration_of_the_run(tmp_path: Path) -> None:
    text = broken("duration: 20s", "duration: 0s")
    error = load_error(tmp_path, text)
    assert str(error).endswith(":4:11: duration: a duration must be greater than 0, found '0s'")


def test_negative_fault_time(tmp_path: Path) -> None:
    text = broken("{at: 8s, crash: n2}", "{at: -8s, crash: n2}")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "-8s",
        field="faults[2].at",
        found="'-8s'",
        expected_fragment="a duration like 150ms",
        message_fragment="a duration cannot be negative",
    )


def test_fault_after_the_end(tmp_path: Path) -> None:
    text = broken("{at: 9s, restart: n2}", "{at: 25s, restart: n2}")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "25s",
        field="faults[3].at",
        found="'25s'",
        expected_fragment="a time before 20s",
        message_fragment="a fault after the end: at 25s is not before the end of the run (20s)",
    )


def test_fault_exactly_at_the_end_is_after_it(tmp_path: Path) -> None:
    text = broken("{at: 9s, restart: n2}", "{at: 20s, restart: n2}")
    error = load_error(tmp_path, text)
    assert error.field == "faults[3].at"
    assert "a fault after the end" in error.message


def test_nemesis_past_the_end(tmp_path: Path) -> None:
    text = broken(
        "  - {at: 9s, restart: n2}",
        "  - {at: 9s, nemesis: {kinds: [crash], interval: 1s, until: 21s}}",
    )
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "21s",
        field="faults[3].nemesis.until",
        found="'21s'",
        expected_fragment="at most 20s",
        message_fragment="the nemesis runs past the end",
    )


def test_nemesis_ending_before_it_starts(tmp_path: Path) -> None:
    text = broken(
        "  - {at: 9s, restart: n2}",
        "  - {at: 9s, nemesis: {kinds: [crash], interval: 1s, until: 9s}}",
    )
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "9s}}",
        field="faults[3].nemesis.until",
        found="'9s'",
        expected_fragment="a time after 9s",
        message_fragment="the nemesis must stop after it starts",
    )


# --------------------------------------------------------------------------- node ids


@pytest.mark.parametrize(
    ("old", "new", "at", "field"),
    [
        ("{at: 8s, crash: n2}", "{at: 8s, crash: n9}", "n9", "faults[2].crash"),
        ("{isolate: leader}", "{isolate: n6}", "n6", "faults[0].partition.isolate"),
        (
            "{isolate: leader}",
            "{groups: [[n1, n2], [n3, n7]]}",
            "n7",
            "faults[0].partition.groups[1][1]",
        ),
        (
            "{isolate: leader}",
            "{one_way: {from: [n1], to: [n2, n8]}}",
            "n8",
            "faults[0].partition.one_way.to[1]",
        ),
        ("{isolate: leader}", "{bridge: n6}", "n6", "faults[0].partition.bridge"),
        (
            "{at: 6s, heal: all}",
            "{at: 6s, clog: {from: leader, to: n6}}",
            "n6",
            "faults[1].clog.to",
        ),
        (
            "  loss: 0.01\n",
            "  loss: 0.01\n  links: [{from: n10, to: n1, loss: 0.5}]\n",
            "n10",
            "network.links[0].from",
        ),
    ],
)
def test_unknown_node(tmp_path: Path, old: str, new: str, at: str, field: str) -> None:
    text = broken(old, new)
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        at,
        field=field,
        found=repr(at),
        expected_fragment="a node id from n1 to n5",
        message_fragment=f"unknown node {at!r} (this cluster has n1..n5)",
    )


def test_unknown_node_in_a_one_node_cluster(tmp_path: Path) -> None:
    text = BASE.replace("  nodes: 5", "  nodes: 1").replace("{isolate: leader}", "{isolate: n1}")
    error = load_error(tmp_path, text)
    assert error.message == "unknown node 'n2' (this cluster has only n1)"


def test_malformed_node_id(tmp_path: Path) -> None:
    text = broken("{at: 8s, crash: n2}", "{at: 8s, crash: node2}")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "node2",
        field="faults[2].crash",
        found="'node2'",
        expected_fragment="a node id like n1, or 'leader'",
        message_fragment="found 'node2'",
    )


# --------------------------------------------------------------------------- probabilities


@pytest.mark.parametrize(("value", "found"), [("1.5", "1.5"), ("-0.1", "-0.1"), ("'1%'", "'1%'")])
def test_probability_outside_zero_one(tmp_path: Path, value: str, found: str) -> None:
    text = broken("  loss: 0.01", f"  loss: {value}")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        value,
        field="network.loss",
        found=found,
        expected_fragment="a probability between 0 and 1",
        message_fragment=f"expected a probability between 0 and 1, found {found}",
    )


# --------------------------------------------------------------------------- ranges


def test_inverted_election_timeout(tmp_path: Path) -> None:
    text = broken("[150ms, 300ms]", "[300ms, 150ms]")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "[300ms, 150ms]",
        field="cluster.raft.election_timeout",
        found="['300ms', '150ms']",
        expected_fragment="min < max",
        message_fragment="inverted range [300ms, 150ms]",
    )


def test_election_timeout_needs_two_values(tmp_path: Path) -> None:
    text = broken("[150ms, 300ms]", "[150ms]")
    error = load_error(tmp_path, text)
    assert error.field == "cluster.raft.election_timeout"
    assert error.message == (
        "expected [min, max], two durations like [150ms, 300ms], found ['150ms']"
    )


def test_bad_election_timeout_element(tmp_path: Path) -> None:
    text = broken("[150ms, 300ms]", "[150ms, 300]")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "300]",
        field="cluster.raft.election_timeout[1]",
        found="300",
        expected_fragment="a positive duration",
        message_fragment="(a bare number has no unit)",
    )


def test_inverted_uniform_latency(tmp_path: Path) -> None:
    text = broken(
        "{distribution: lognormal, mean: 5ms, p99: 30ms}",
        "{distribution: uniform, min: 10ms, max: 1ms}",
    )
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "10ms",
        field="network.latency.min",
        found="'10ms'",
        expected_fragment="min < max",
        message_fragment="inverted range: min 10ms must be below max 1ms",
    )


def test_heartbeat_must_be_below_the_election_timeout(tmp_path: Path) -> None:
    text = broken("heartbeat_interval: 50ms", "heartbeat_interval: 200ms")
    error = load_error(tmp_path, text)
    assert error.field == "cluster.raft.heartbeat_interval"
    assert error.message == (
        "heartbeat interval 200ms must be below the minimum election timeout 150ms (§5.6)"
    )


def test_impossible_lognormal(tmp_path: Path) -> None:
    text = broken("p99: 30ms", "p99: 80ms")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "80ms",
        field="network.latency.p99",
        found="'80ms'",
        expected_fragment="a p99 below 74.8",
        message_fragment="no lognormal distribution has mean 5ms and p99 80ms",
    )


def test_latency_field_of_another_distribution(tmp_path: Path) -> None:
    text = broken("mean: 5ms, p99: 30ms}", "mean: 5ms, p99: 30ms, max: 9ms}")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "max",
        field="network.latency.max",
        found="'max'",
        expected_fragment="only mean, p99",
        message_fragment="'max' does not apply to a lognormal latency, which takes: mean, p99",
    )


def test_latency_missing_a_parameter(tmp_path: Path) -> None:
    text = broken(
        "{distribution: lognormal, mean: 5ms, p99: 30ms}", "{distribution: lognormal, mean: 5ms}"
    )
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "{distribution",
        field="network.latency.p99",
        found=None,
        expected_fragment="a duration for p99",
        message_fragment="a lognormal latency needs 'p99' (it takes: mean, p99)",
    )


# --------------------------------------------------------------------------- partitions and faults


def test_overlapping_partition_groups(tmp_path: Path) -> None:
    text = broken("{isolate: leader}", "{groups: [[n1, n2, n3], [n3, n4]]}")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "n3",
        occurrence=2,
        field="faults[0].partition.groups[1][0]",
        found="'n3'",
        expected_fragment="each node in at most one group",
        message_fragment="overlapping partition groups: n3 is in groups 1 and 2",
    )


def test_partition_needs_two_groups(tmp_path: Path) -> None:
    text = broken("{isolate: leader}", "{groups: [[n1, n2]]}")
    error = load_error(tmp_path, text)
    assert error.field == "faults[0].partition.groups"
    assert "at least 2 groups" in error.message


def test_one_way_cut_sides_must_be_disjoint(tmp_path: Path) -> None:
    text = broken("{isolate: leader}", "{one_way: {from: [n1, n2], to: [n3, n2]}}")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "n2]}",
        field="faults[0].partition.one_way.to[1]",
        found="'n2'",
        expected_fragment="disjoint",
        message_fragment="n2 is on both sides of the one-way cut",
    )


def test_fault_with_two_actions(tmp_path: Path) -> None:
    text = broken("{at: 8s, crash: n2}", "{at: 8s, crash: n2, pause: n3}")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "pause",
        field="faults[2].pause",
        found="'pause'",
        expected_fragment="exactly one action: partition, heal, crash",
        message_fragment="a fault takes exactly one action, found 2: crash, pause",
    )


def test_fault_without_an_action(tmp_path: Path) -> None:
    text = broken("{at: 8s, crash: n2}", "{at: 8s}")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "{at: 8s}",
        field="faults[2]",
        found=None,
        expected_fragment="exactly one action",
        message_fragment="a fault needs exactly one action (partition, heal, crash, restart,",
    )


def test_partition_with_two_shapes(tmp_path: Path) -> None:
    text = broken("{isolate: leader}", "{isolate: leader, ring: true}")
    error = load_error(tmp_path, text)
    assert error.field == "faults[0].partition.ring"
    assert error.message.startswith("a partition takes exactly one shape, found 2: isolate, ring")


# --------------------------------------------------------------------------- closed vocabularies


def test_unknown_bug_lists_the_known_ones(tmp_path: Path) -> None:
    text = broken("bugs: []", "bugs: [ack_before_fsync, lose_everything]")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "lose_everything",
        field="bugs[1]",
        found="'lose_everything'",
        expected_fragment=", ".join(KNOWN_BUGS),
        message_fragment=f"unknown bug 'lose_everything'; known bugs: {', '.join(KNOWN_BUGS)}",
    )


def test_the_membership_operator_waits_for_one_of_two_things(tmp_path: Path) -> None:
    text = broken("  nodes: 5\n", "  nodes: 5\n  membership: {wait: forever}\n")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "forever",
        field="cluster.membership.wait",
        found="'forever'",
        expected_fragment="one of committed, accepted",
        message_fragment="expected one of committed, accepted, found 'forever'",
    )


def test_unknown_check_suggests_a_close_one(tmp_path: Path) -> None:
    text = broken(
        "checks: [raft_safety, linearizability]", "checks: [raft_safety, linearisability]"
    )
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "linearisability",
        field="checks[1]",
        found="'linearisability'",
        expected_fragment="raft_safety, linearizability, btree_invariants, liveness",
        message_fragment="unknown check 'linearisability' (did you mean 'linearizability'?)",
    )


def test_check_listed_twice(tmp_path: Path) -> None:
    text = broken("checks: [raft_safety, linearizability]", "checks: [raft_safety, raft_safety]")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "raft_safety",
        occurrence=2,
        field="checks[1]",
        found="'raft_safety'",
        expected_fragment="distinct checks",
        message_fragment="check 'raft_safety' is listed twice",
    )


def test_unknown_operation_in_the_mix(tmp_path: Path) -> None:
    text = broken("cas: 0.1}", "cas: 0.1, append: 0.2}")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "append",
        field="workload.mix.append",
        found="'append'",
        expected_fragment="get, put, delete, cas, scan",
        message_fragment="unknown operation 'append'",
    )


# --------------------------------------------------------------------------- several problems


def test_the_earliest_problem_in_the_file_is_reported(tmp_path: Path) -> None:
    # Pydantic reports `cluster` before `checks` (schema order); this file
    # writes `checks` first, and the report must follow the file.
    body = broken("checks: [raft_safety, linearizability]\n", "").replace(
        "  nodes: 5", "  nodes: 0"
    )
    text = "checks: [nope]\n" + body
    error = load_error(tmp_path, text)
    assert (error.line, error.field) == (1, "checks[0]")
    error = load_error(tmp_path, body)
    assert (error.line, error.field) == (position(body, "nodes")[0], "cluster.nodes")


def test_errors_survive_pickling(tmp_path: Path) -> None:
    error = load_error(tmp_path, broken("{at: 8s, crash: n2}", "{at: 8s, crash: n9}"))
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, ScenarioError)
    assert str(copy) == str(error)
    assert (copy.line, copy.column, copy.field, copy.found, copy.expected) == (
        error.line,
        error.column,
        error.field,
        error.found,
        error.expected,
    )


def test_parse_names_the_given_source() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(broken("seed: 4", "seed: x"), "cli-input")
    assert str(info.value) == (
        "cli-input:3:7: seed: expected an integer >= 0 and at most 2^64 - 1 "
        "(18446744073709551615), found 'x'"
    )


# --------------------------------------------------------------------------- triggered faults


def test_unknown_fault_trigger(tmp_path: Path) -> None:
    text = broken("{at: 8s, crash: n2}", "{at: 8s, when: leader_lost, crash: n2}")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "leader_lost",
        field="faults[2].when",
        found="'leader_lost'",
        expected_fragment="one of leader_elected, leader_commit",
        message_fragment="found 'leader_lost'",
    )


def test_until_needs_a_trigger(tmp_path: Path) -> None:
    text = broken("{at: 8s, crash: n2}", "{at: 8s, until: 9s, crash: n2}")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "9s, crash",
        field="faults[2].until",
        found="'9s'",
        expected_fragment="when: leader_elected",
        message_fragment="this fault has no `when`",
    )


def test_wait_ending_before_it_starts(tmp_path: Path) -> None:
    text = broken("{at: 8s, crash: n2}", "{at: 8s, when: leader_elected, until: 8s, crash: n2}")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "8s, crash",
        field="faults[2].until",
        found="'8s'",
        expected_fragment="a time after 8s",
        message_fragment="the wait must end after it starts",
    )


def test_wait_past_the_end(tmp_path: Path) -> None:
    text = broken("{at: 8s, crash: n2}", "{at: 8s, when: leader_commit, until: 25s, crash: n2}")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "25s",
        field="faults[2].until",
        found="'25s'",
        expected_fragment="at most 20s",
        message_fragment="the wait runs past the end",
    )


def test_a_nemesis_cannot_wait_for_an_event(tmp_path: Path) -> None:
    text = broken(
        "  - {at: 9s, restart: n2}",
        "  - {at: 9s, when: leader_elected, nemesis: {kinds: [crash], interval: 1s, until: 12s}}",
    )
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "leader_elected",
        field="faults[3].when",
        found="'leader_elected'",
        expected_fragment="a fault without `when`",
        message_fragment="cannot wait for an event",
    )


# -- membership (thesis §4.1): members, add, remove ------------------------------------

LAST_FAULT = "  - {at: 9s, restart: n2}\n"


def with_fault(fault: str, cluster: str = "  nodes: 5\n") -> str:
    return broken(LAST_FAULT, LAST_FAULT + f"  - {fault}\n").replace("  nodes: 5\n", cluster)


def test_more_initial_members_than_nodes(tmp_path: Path) -> None:
    text = broken("  nodes: 5\n", "  nodes: 5\n  members: 6\n")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "6\n  raft",
        field="cluster.members",
        found="6",
        expected_fragment="at most 5",
        message_fragment="6 initial members but only 5 nodes",
    )


def test_adding_the_leader_is_refused(tmp_path: Path) -> None:
    text = with_fault("{at: 10s, add: leader}")
    error = load_error(tmp_path, text)
    assert_error(
        error,
        text,
        "leader}\n",
        field="faults[4].add",
        found="'leader'",
        expected_fragment="a node id like n4",
        message_fragment="only a node outside the configuration can be added",
    )


@pytest.mark.parametrize(
    ("fault", "cluster", "at", "field", "found", "message"),
    [
        (
            "{at: 10s, add: n3}",
            "  nodes: 5\n",
            "n3}",
            "faults[4].add",
            "'n3'",
            "n3 is already a member when this fault fires (configuration then: n1, n2, n3, n4,",
        ),
        (
            "{at: 10s, remove: n4}",
            "  nodes: 5\n  members: 3\n",
            "n4}",
            "faults[4].remove",
            "'n4'",
            "n4 is not a member when this fault fires (configuration then: n1, n2, n3)",
        ),
        (
            "{at: 10s, remove: n1}",
            "  nodes: 5\n  members: 1\n",
            "n1}",
            "faults[4].remove",
            "'n1'",
            "n1 is the last member: a configuration cannot be empty",
        ),
        (
            "{at: 10s, remove: n9}",
            "  nodes: 5\n",
            "n9}",
            "faults[4].remove",
            "'n9'",
            "unknown node 'n9' (this cluster has n1..n5)",
        ),
    ],
)
def test_membership_faults_that_cannot_happen(
    tmp_path: Path, fault: str, cluster: str, at: str, field: str, found: str, message: str
) -> None:
    text = with_fault(fault, cluster)
    error = load_error(tmp_path, text)
    line, column = position(text, at)
    assert (error.line, error.column) == (line, column)
    assert error.field == field and error.found == found
    assert message in error.message


def test_membership_is_followed_through_the_faults_in_time_order() -> None:
    # Removed at 10s, added back at 12s (listed first): valid. After a `remove: leader`
    # the configuration is unknown statically, so nothing more is checked.
    text = with_fault("{at: 12s, add: n2}").replace(
        LAST_FAULT, LAST_FAULT + "  - {at: 10s, remove: n2}\n"
    )
    scenario = parse_scenario(text, "ok.yaml")
    assert [fault.kind.value for fault in scenario.faults][-2:] == ["remove", "add"]
    unknown = with_fault("{at: 12s, add: n2}", "  nodes: 5\n  members: 3\n").replace(
        LAST_FAULT, LAST_FAULT + "  - {at: 10s, remove: leader}\n"
    )
    assert parse_scenario(unknown, "ok.yaml").member_ids == ("n1", "n2", "n3")
