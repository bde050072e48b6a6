"""Seed specifications: ranges, lists, mixtures, and one clear error for each mistake."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmonysim.explore import SeedSpecError, format_seeds, parse_seeds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7", (7,)),
        ("1-5", (1, 2, 3, 4, 5)),
        ("1,5,9", (1, 5, 9)),
        ("9,1,5,5", (1, 5, 9)),
        ("1-3,7,10-11", (1, 2, 3, 7, 10, 11)),
        (" 2 - 4 , 3 ", (2, 3, 4)),
        ("0", (0,)),
        ("4-4", (4,)),
    ],
)
def test_parse_seeds(text: str, expected: tuple[int, ...]) -> None:
    assert parse_seeds(text) == expected


def test_a_large_range_expands_in_order() -> None:
    seeds = parse_seeds("1-1000")
    assert len(seeds) == 1000
    assert seeds[0] == 1 and seeds[-1] == 1000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty seed list"),
        ("1,,2", "empty item"),
        ("5-2", "empty seed range '5-2'"),
        ("a", "bad seed item 'a'"),
        ("-3", "bad seed item '-3'"),
        ("1-2-3", "bad seed item '1-2-3'"),
        ("1.5", "bad seed item '1.5'"),
        ("1-100000000", "more than"),
    ],
)
def test_bad_seed_specifications(text: str, message: str) -> None:
    with pytest.raises(SeedSpecError, match=message):
        parse_seeds(text)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=40))
def test_format_then_parse_gives_the_sorted_distinct_seeds(seeds: list[int]) -> None:
    text = format_seeds(seeds)
    assert parse_seeds(text) == tuple(sorted(set(seeds)))
    assert format_seeds(list(parse_seeds(text))) == text
