"""The scenario loader, fuzzed: any input is a `Scenario` or one located `ScenarioError`.

Random bytes, random text, deep nesting, huge and non-finite numbers, odd
unicode and values of the wrong type put anywhere in a valid scenario: the
loader must never raise anything but `ScenarioError`, whose text is one line
naming the file; and the command line turns it into exit status 2.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from harmonysim.cli import main
from harmonysim.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from harmonysim.scenario.loader import MAX_DEPTH

BASE: dict[str, Any] = {
    "name": "fuzz",
    "seed": 3,
    "duration": "2s",
    "cluster": {
        "nodes": 3,
        "raft": {"election_timeout": ["150ms", "300ms"], "heartbeat_interval": "50ms"},
        "btree": {"order": 8},
    },
    "network": {"latency": {"distribution": "lognormal", "mean": "5ms", "p99": "30ms"}},
    "workload": {
        "clients": 2,
        "rate": "50/s",
        "mix": {"get": 0.5, "put": 0.5},
        "keys": {"count": 10, "distribution": "zipf"},
    },
    "faults": [
        {"at": "1s", "partition": {"isolate": "leader"}},
        {"at": "1500ms", "heal": "all"},
        {"at": "500ms", "nemesis": {"kinds": ["crash"], "interval": "200ms", "until": "1s"}},
    ],
    "checks": ["raft_safety", "liveness"],
}

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

odd_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12
) | st.sampled_from(["\u0085", "\u2028", "n\u0661", "１s", "5\u00a0ms", "ms", "-0s", "🙂"])
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=2**63, max_value=2**70),
    st.integers(max_value=-(2**63)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.inf, -math.inf, math.nan, 1e308, -0.0, 10**400]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, odd_text)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.one_of(odd_text, st.integers()), inner, max_size=3)
    ),
    max_leaves=8,
)


def check(text: str | bytes, tmp_path: Path) -> None:
    """Load it from a file: a Scenario, or a one-line ScenarioError naming the file."""
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    try:
        scenario = load_scenario(path)
    except ScenarioError as error:
        rendered = str(error)
        assert rendered.startswith(str(path))
        assert "\n" not in rendered and "\r" not in rendered
        assert "pydantic" not in rendered.lower()
    else:
        assert isinstance(scenario, Scenario)


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in `data` a value could be put (each key and index, nested)."""
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += paths(value, (*prefix, index))
    return found


def replaced(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {**data, head: replaced(data[head], rest, value)}
    copy = list(data)
    copy[head] = replaced(copy[head], rest, value)
    return copy


def test_the_base_is_valid() -> None:
    assert parse_scenario(yaml.safe_dump(BASE)).name == "fuzz"


@FUZZ
@given(data=st.binary(max_size=300))
@example(data=b"\x00")  # a character YAML refuses before parsing
@example(data=b"?")  # a null key
@example(data=b"\xff\xfe")  # not UTF-8
def test_random_bytes(data: bytes, tmp_path_factory: pytest.TempPathFactory) -> None:
    check(data, tmp_path_factory.mktemp("bytes"))


@FUZZ
@given(text=st.text(max_size=300))
def test_random_text(text: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    check(text, tmp_path_factory.mktemp("text"))


@FUZZ
@given(where=st.sampled_from(paths(BASE)), value=values)
def test_any_value_anywhere(
    where: tuple[Any, ...], value: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = replaced(BASE, where, value)
    check(yaml.safe_dump(data, allow_unicode=True), tmp_path_factory.mktemp("value"))


@FUZZ
@given(where=st.sampled_from(paths(BASE)), key=odd_text, value=values)
def test_any_key_anywhere(
    where: tuple[Any, ...], key: str, value: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    target: Any = BASE
    for step in where:
        target = target[step]
    if not isinstance(target, dict):
        return
    data = replaced(BASE, where, {**target, key: value})
    check(yaml.safe_dump(data, allow_unicode=True), tmp_path_factory.mktemp("key"))


def nested(depth: int, shape: str) -> str:
    if shape == "flow-list":
        return "name: deep\nduration: 1s\ndescription: " + "[" * depth + "]" * depth + "\n"
    if shape == "flow-map":
        return "name: deep\nduration: 1s\ncluster: " + "{a: " * depth + "1" + "}" * depth + "\n"
    lines = ["name: deep", "duration: 1s", "cluster:"]
    lines += [" " * (level + 1) + f"k{level}:" for level in range(depth)]
    return "\n".join(lines) + " 1\n"


@pytest.mark.parametrize("shape", ["flow-list", "flow-map", "block-map"])
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5000])
def test_deep_nesting_is_one_located_error(shape: str, depth: int, tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(nested(depth, shape))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.message == f"nested more than {MAX_DEPTH} levels deep"
    assert info.value.line is not None and info.value.line >= 3


def test_nesting_up_to_the_limit_is_judged_by_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(nested(MAX_DEPTH - 1, "flow-list"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.field == "description"


def test_the_command_line_exits_2_on_a_deeply_nested_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(nested(5000, "flow-list"))
    assert main(["run", str(path), "--out", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err
    assert f"{path}:3:" in error and "nested more than" in error
    assert "Traceback" not in error


def test_aliases_that_refer_to_themselves_are_an_error(tmp_path: Path) -> None:
    check("name: loop\nduration: 1s\ndescription: &a [*a]\n", tmp_path)
    check("&a [*a]\n", tmp_path)
