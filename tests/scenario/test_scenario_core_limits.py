"""Scenarios the schema accepts are scenarios the simulator can run.

The Raft core counts time in ticks and run.json holds seeds as 64-bit integers,
so the schema validates what those will see: durations after rounding to ticks,
and seeds within 0..2^64 - 1.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harmonysim.raft.types import RaftConfig
from harmonysim.scenario import MAX_SEED, RaftSettings, ScenarioError, parse_scenario, resolve


def scenario_text(raft: str, seed: str = "1") -> str:
    return f"name: limits\nseed: {seed}\nduration: 1s\ncluster:\n  nodes: 3\n  raft: {raft}\n"


def error_of(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "limits.yaml")
    return info.value


@pytest.mark.parametrize("heartbeat", ["146ms", "147ms", "149ms"])
def test_a_heartbeat_that_rounds_to_the_minimum_timeout_is_rejected(heartbeat: str) -> None:
    # 146..149 ms is below 150 ms, but with a 10 ms tick both are 15 ticks: the core
    # would refuse it (election_timeout_ticks_min must exceed heartbeat_interval_ticks).
    error = error_of(
        scenario_text(f"{{election_timeout: [150ms, 300ms], heartbeat_interval: {heartbeat}}}")
    )
    assert error.field == "cluster.raft.heartbeat_interval"
    assert "15 tick(s) of 10ms" in error.message
    assert error.line == 6


def test_a_heartbeat_one_tick_below_the_timeout_is_accepted() -> None:
    scenario = parse_scenario(
        scenario_text("{election_timeout: [150ms, 300ms], heartbeat_interval: 144ms}")
    )
    assert scenario.cluster.raft.heartbeat_interval_ticks == 14
    assert scenario.cluster.raft.election_timeout_ticks == (15, 30)


def test_an_election_timeout_range_narrower_than_a_tick_is_rejected() -> None:
    error = error_of(scenario_text("{election_timeout: [150ms, 154ms], heartbeat_interval: 50ms}"))
    assert error.field == "cluster.raft.election_timeout"
    assert "narrower than a tick (10ms)" in error.message
    assert "round to 15 tick(s)" in error.message
    # One tick apart is the narrowest randomized range the core can draw from.
    scenario = parse_scenario(
        scenario_text("{election_timeout: [150ms, 156ms], heartbeat_interval: 50ms}")
    )
    assert scenario.cluster.raft.election_timeout_ticks == (15, 16)


def _ms(low: int, high: int) -> st.SearchStrategy[float]:
    return st.integers(low, high).map(float)


@given(tick=_ms(1, 50), heartbeat=_ms(1, 400), low=_ms(1, 600), span=_ms(1, 600))
def test_every_accepted_timing_builds_a_raft_config(
    tick: float, heartbeat: float, low: float, span: float
) -> None:
    try:
        settings = RaftSettings(
            election_timeout=(low, low + span), heartbeat_interval=heartbeat, tick=tick
        )
    except ValueError:
        return  # rejected by the schema: nothing reaches the core
    ticks_min, ticks_max = settings.election_timeout_ticks
    config = RaftConfig(
        node_id="n1",
        voters=("n1",),
        election_timeout_ticks_min=ticks_min,
        election_timeout_ticks_max=ticks_max,
        heartbeat_interval_ticks=settings.heartbeat_interval_ticks,
    )
    assert config.election_timeout_ticks_max > config.election_timeout_ticks_min


def test_the_largest_seed_is_accepted_and_one_more_is_rejected() -> None:
    assert parse_scenario(scenario_text("{}", seed=str(MAX_SEED))).seed == 2**64 - 1
    error = error_of(scenario_text("{}", seed=str(MAX_SEED + 1)))
    assert error.field == "seed"
    assert error.line == 2
    assert "2^64 - 1" in error.message


def test_a_seed_override_out_of_range_is_rejected() -> None:
    scenario = parse_scenario(scenario_text("{}"))
    with pytest.raises(ScenarioError) as info:
        resolve(scenario, seed=2**64)
    assert info.value.field == "seed"
