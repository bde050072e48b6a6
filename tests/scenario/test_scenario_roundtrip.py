"""Round trips of generated valid scenarios: parse -> data form -> YAML -> parse is identity."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from harmonysim.scenario import (
    CHECK_NAMES,
    KNOWN_BUGS,
    NEMESIS_KINDS,
    OPERATION_KINDS,
    dump_scenario,
    parse_scenario,
    scenario_to_data,
)

Data = dict[str, Any]


def written(ms: int, unit: str) -> str:
    """Write a whole number of milliseconds in the given unit, as a person might."""
    if unit == "s":
        return f"{ms / 1000:g}s" if ms % 10 == 0 else f"{ms}ms"
    return f"{ms}ms"


@st.composite
def durations(draw: st.DrawFn, low_ms: int, high_ms: int) -> tuple[int, str]:
    ms = draw(st.integers(min_value=low_ms, max_value=high_ms))
    return ms, written(ms, draw(st.sampled_from(["ms", "s"])))


@st.composite
def latencies(draw: st.DrawFn) -> Data:
    distribution = draw(st.sampled_from(["constant", "uniform", "exponential", "lognormal"]))
    if distribution == "constant":
        return {"distribution": distribution, "value": draw(durations(1, 100))[1]}
    if distribution == "uniform":
        low = draw(st.integers(min_value=1, max_value=50))
        high = draw(st.integers(min_value=low + 1, max_value=200))
        return {"distribution": distribution, "min": f"{low}ms", "max": f"{high}ms"}
    if distribution == "exponential":
        return {"distribution": distribution, "mean": draw(durations(1, 100))[1]}
    mean = draw(st.integers(min_value=1, max_value=20))
    p99 = draw(st.integers(min_value=mean + 1, max_value=mean * 14))
    return {"distribution": distribution, "mean": f"{mean}ms", "p99": f"{p99}ms"}


probabilities = st.floats(min_value=0, max_value=1, allow_nan=False)


@st.composite
def node_lists(draw: st.DrawFn, pool: list[str]) -> list[str]:
    return draw(st.lists(st.sampled_from(pool), min_size=1, max_size=len(pool), unique=True))


@st.composite
def partitions(draw: st.DrawFn, nodes: list[str]) -> Data:
    shapes = ["isolate"]
    if len(nodes) >= 2:
        shapes += ["groups", "one_way"]
    if len(nodes) >= 3:
        shapes.append("bridge")
    if len(nodes) >= 4:
        shapes.append("ring")
    shape = draw(st.sampled_from(shapes))
    if shape == "isolate":
        return {"isolate": draw(st.sampled_from([*nodes, "leader"]))}
    if shape == "bridge":
        return {"bridge": draw(st.sampled_from(nodes))}
    if shape == "ring":
        return {"ring": True}
    shuffled = draw(st.permutations(nodes))
    cut = draw(st.integers(min_value=1, max_value=len(nodes) - 1))
    first, second = list(shuffled[:cut]), list(shuffled[cut:])
    if shape == "one_way":
        return {"one_way": {"from": first, "to": second}}
    return {"groups": [first, second]}


@st.composite
def faults(draw: st.DrawFn, nodes: list[str], duration_ms: int) -> Data:
    at_ms = draw(st.integers(min_value=0, max_value=duration_ms - 1))
    fault: Data = {"at": f"{at_ms}ms"}
    refs = [*nodes, "leader"]
    kinds = ["partition", "heal", "crash", "restart", "pause", "resume", "unclog", "nemesis"]
    if len(nodes) >= 2:
        kinds.append("clog")
    kind = draw(st.sampled_from(kinds))
    if kind == "partition":
        fault["partition"] = draw(partitions(nodes))
    elif kind == "heal":
        fault["heal"] = "all"
    elif kind in ("crash", "restart", "pause", "resume"):
        fault[kind] = draw(st.sampled_from(refs))
    elif kind == "clog" or (kind == "unclog" and len(nodes) >= 2 and draw(st.booleans())):
        source, target = draw(st.lists(st.sampled_from(nodes), min_size=2, max_size=2, unique=True))
        fault[kind] = {"from": source, "to": target, "both_ways": draw(st.booleans())}
    elif kind == "unclog":
        fault["unclog"] = "all"
    else:
        until_ms = draw(st.integers(min_value=at_ms + 1, max_value=duration_ms))
        fault["nemesis"] = {
            "kinds": draw(st.lists(st.sampled_from(NEMESIS_KINDS), min_size=1, unique=True)),
            "interval": draw(durations(1, 5000))[1],
            "until": f"{until_ms}ms",
        }
    if kind != "nemesis" and draw(st.booleans()):
        fault["when"] = draw(st.sampled_from(["leader_elected", "leader_commit"]))
        if at_ms + 1 <= duration_ms and draw(st.booleans()):
            until_ms = draw(st.integers(min_value=at_ms + 1, max_value=duration_ms))
            fault["until"] = f"{until_ms}ms"
    return fault


@st.composite
def scenario_texts(draw: st.DrawFn) -> Data:
    count = draw(st.integers(min_value=1, max_value=7))
    nodes = [f"n{index}" for index in range(1, count + 1)]
    duration_ms = draw(st.integers(min_value=1, max_value=600_000))
    # Valid in ticks too (what the core sees): at least two ticks between the heartbeat
    # and the minimum timeout, and between the ends of the range, whatever the rounding.
    tick = draw(st.integers(min_value=1, max_value=40))
    heartbeat = draw(st.integers(min_value=tick, max_value=tick + 200))
    election_low = draw(st.integers(min_value=heartbeat + 2 * tick, max_value=heartbeat + 500))
    election_high = draw(st.integers(min_value=election_low + 2 * tick, max_value=1500))
    data: Data = {
        "name": draw(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,12}", fullmatch=True)),
        "description": draw(st.text(max_size=40)),
        "seed": draw(st.integers(min_value=0, max_value=2**63)),
        "duration": written(duration_ms, draw(st.sampled_from(["ms", "s"]))),
        "cluster": {
            "nodes": count,
            "raft": {
                "election_timeout": [f"{election_low}ms", f"{election_high}ms"],
                "heartbeat_interval": f"{heartbeat}ms",
                "tick": f"{tick}ms",
                "prevote": draw(st.booleans()),
                "check_quorum": True,
                "lease_reads": draw(st.booleans()),
                "snapshot_threshold": draw(st.integers(min_value=1, max_value=10**6)),
            },
            "btree": {"order": draw(st.integers(min_value=3, max_value=1024))},
            "disk": {"fsync_latency": draw(durations(1, 20))[1]},
        },
        "network": {
            "latency": draw(latencies()),
            "loss": draw(probabilities),
            "duplicate": draw(probabilities),
            "jitter": draw(durations(0, 50))[1],
        },
        "workload": {
            "clients": draw(st.integers(min_value=1, max_value=50)),
            "mix": {
                operation: draw(st.floats(min_value=0.01, max_value=10))
                for operation in draw(
                    st.lists(st.sampled_from(OPERATION_KINDS), min_size=1, unique=True)
                )
            },
            "keys": {
                "count": draw(st.integers(min_value=1, max_value=10**6)),
                "distribution": draw(st.sampled_from(["uniform", "zipf"])),
                "exponent": draw(st.floats(min_value=0.1, max_value=4)),
            },
            "timeout": draw(durations(1, 10_000))[1],
        },
        "faults": draw(st.lists(faults(nodes, duration_ms), max_size=6)),
        "checks": draw(st.lists(st.sampled_from(CHECK_NAMES), unique=True)),
        "bugs": draw(st.lists(st.sampled_from(KNOWN_BUGS), unique=True, max_size=3)),
    }
    if draw(st.booleans()):
        count_per_unit = draw(st.integers(min_value=1, max_value=100_000))
        data["workload"]["rate"] = f"{count_per_unit}/{draw(st.sampled_from(['s', 'm', 'ms']))}"
    if draw(st.booleans()):
        data["workload"]["operations"] = draw(st.integers(min_value=1, max_value=10_000))
    if count >= 2 and draw(st.booleans()):
        source, target = draw(st.lists(st.sampled_from(nodes), min_size=2, max_size=2, unique=True))
        data["network"]["links"] = [
            {
                "from": source,
                "to": target,
                "loss": draw(probabilities),
                "latency": draw(latencies()),
            }
        ]
    return data


@settings(max_examples=60, deadline=None)
@given(scenario_texts())
def test_generated_scenarios_round_trip(data: Data) -> None:
    scenario = parse_scenario(yaml.safe_dump(data, sort_keys=False))
    canonical = scenario_to_data(scenario)
    again = parse_scenario(yaml.safe_dump(canonical))
    assert again == scenario
    assert scenario_to_data(again) == canonical
    assert parse_scenario(dump_scenario(scenario)) == scenario
    assert scenario.node_ids == tuple(f"n{i}" for i in range(1, data["cluster"]["nodes"] + 1))
    assert list(scenario.workload.mix) == list(data["workload"]["mix"])


@settings(max_examples=30, deadline=None)
@given(scenario_texts())
def test_data_form_is_independent_of_how_the_file_was_written(data: Data) -> None:
    flow = yaml.safe_dump(data, default_flow_style=True)
    block = yaml.safe_dump(data, default_flow_style=False, sort_keys=True)
    assert scenario_to_data(parse_scenario(flow)) == scenario_to_data(parse_scenario(block))


def test_dump_round_trips_line_break_characters_in_text() -> None:
    # PyYAML folds U+0085 (NEL) inside quoted scalars when writing unicode as is.
    scenario = parse_scenario('name: x\ndescription: "a\\x85b \\u00a75.2"\nduration: 1s\n')
    assert scenario.description == "a\x85b §5.2"
    assert parse_scenario(dump_scenario(scenario)) == scenario
    readable = parse_scenario("name: x\ndescription: see §5.2\nduration: 1s\n")
    assert "§5.2" in dump_scenario(readable)
