"""Durations and rates: parsing, canonical formatting and exact round trips."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmonysim.scenario import format_duration, format_rate, parse_duration, parse_rate


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("150ms", 150.0),
        ("1.5s", 1500.0),
        ("2m", 120_000.0),
        ("0.3s", 300.0),
        ("1.001s", 1001.0),  # float("1.001") * 1000 == 1000.9999999999999
        ("4.35m", 261_000.0),  # float("4.35") * 60000 == 260999.99999999997
        (".5ms", 0.5),
        ("0ms", 0.0),
        (" 10 s ", 10_000.0),
        ("0.05ms", 0.05),
    ],
)
def test_parse_duration_reads_units_exactly(text: str, ms: float) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("150", "the unit is missing"),
        ("-5ms", "cannot be negative"),
        ("5h", "unknown duration unit 'h'"),
        ("5 sec", "unknown duration unit 'sec'"),
        ("abc", "expected a duration like 150ms, 2s, 1m"),
        ("1e3ms", "expected a duration like 150ms, 2s, 1m"),
        ("", "expected a duration like 150ms, 2s, 1m"),
        ("ms", "expected a duration like 150ms, 2s, 1m"),
        ("1.ms", "expected a duration like 150ms, 2s, 1m"),
        ("9" * 400 + "m", "too large"),
    ],
)
def test_parse_duration_rejects_with_a_reason(text: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (150.0, "150ms"),
        (1500.0, "1.5s"),
        (1000.0, "1s"),
        (120_000.0, "2m"),
        (90_000.0, "90s"),
        (1234.0, "1234ms"),
        (999.0, "999ms"),
        (0.05, "0.05ms"),
        (0.0, "0ms"),
        (1e-5, "0.00001ms"),
    ],
)
def test_format_duration_is_canonical(ms: float, text: str) -> None:
    assert format_duration(ms) == text


@pytest.mark.parametrize("ms", [-1.0, math.inf, math.nan])
def test_format_duration_rejects_impossible_values(ms: float) -> None:
    with pytest.raises(ValueError, match="cannot format"):
        format_duration(ms)


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=0, max_value=1e15, allow_nan=False, allow_infinity=False))
def test_duration_formatting_round_trips_every_float(ms: float) -> None:
    assert parse_duration(format_duration(ms)) == ms


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=0, max_value=4),
    st.sampled_from(["ms", "s", "m"]),
)
def test_written_durations_survive_format_then_parse(digits: int, decimals: int, unit: str) -> None:
    text = f"{digits / 10**decimals:.{decimals}f}{unit}"
    ms = parse_duration(text)
    assert parse_duration(format_duration(ms)) == ms


@pytest.mark.parametrize(
    ("text", "per_s"),
    [
        ("200/s", 200.0),
        ("12/m", 0.2),
        ("5/ms", 5000.0),
        ("0.5/s", 0.5),
        ("1/m", 1 / 60),
        ("30 / s", 30.0),
    ],
)
def test_parse_rate_converts_to_per_second(text: str, per_s: float) -> None:
    assert parse_rate(text) == per_s


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("200", "expected a rate like 200/s, 12/m, 5/ms"),
        ("200s", "expected a rate like 200/s, 12/m, 5/ms"),
        ("5/h", "unknown rate unit 'h'"),
        ("5/", "unknown rate unit ''"),
        ("-1/s", "cannot be negative"),
        ("/s", "expected a rate like"),
    ],
)
def test_parse_rate_rejects_with_a_reason(text: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_rate(text)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("per_s", "text"),
    [(200.0, "200/s"), (0.5, "0.5/s"), (5000.0, "5000/s"), (1 / 60, "1/m"), (7 / 60, "7/m")],
)
def test_format_rate_is_canonical(per_s: float, text: str) -> None:
    assert format_rate(per_s) == text


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False))
def test_rate_formatting_round_trips_every_float(per_s: float) -> None:
    assert parse_rate(format_rate(per_s)) == per_s


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=100_000), st.sampled_from(["s", "m", "ms"]))
def test_written_rates_survive_format_then_parse(count: int, unit: str) -> None:
    per_s = parse_rate(f"{count}/{unit}")
    assert parse_rate(format_rate(per_s)) == per_s
