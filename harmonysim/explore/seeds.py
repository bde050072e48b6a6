"""Seed specifications: ``1-1000``, ``1,5,9`` and mixtures such as ``1-10,42,100-120``.

Rules:
- A specification is a comma-separated list of items; an item is one seed ``N`` or an
  inclusive range ``A-B`` with ``A <= B``. Seeds are integers from 0 to
  ``MAX_SEED`` (2^64 - 1), as a scenario's seed.
- The result is sorted and free of duplicates, so a sweep's order (and therefore its
  report) does not depend on how the seeds were written.
- A bad specification raises ``SeedSpecError`` naming the offending item; the command
  line turns it into one line of error and exit status 2.
"""

from __future__ import annotations

import re
from typing import Final

from harmonysim.scenario import MAX_SEED

__all__ = ["MAX_SEEDS", "SeedSpecError", "format_seeds", "parse_seeds"]

MAX_SEEDS: Final = 10_000_000
"""The most seeds one specification may expand to (a guard against typos like 1-1e9)."""

_ITEM_RE: Final = re.compile(r"(?P<low>[0-9]+)(?:\s*-\s*(?P<high>[0-9]+))?")


class SeedSpecError(ValueError):
    """A seed specification that cannot be read."""


def parse_seeds(text: str) -> tuple[int, ...]:
    """The sorted, distinct seeds named by ``text`` (``1-1000``, ``1,5,9``, ``1-3,7``)."""
    items = [item.strip() for item in text.split(",")]
    if not text.strip():
        raise SeedSpecError("empty seed list; expected seeds like 1-1000 or 1,5,9")
    seeds: set[int] = set()
    count = 0
    for item in items:
        if not item:
            raise SeedSpecError(f"empty item in seed list {text!r}; expected seeds like 1,5,9")
        match = _ITEM_RE.fullmatch(item)
        if match is None:
            raise SeedSpecError(
                f"bad seed item {item!r} in {text!r}; expected N or A-B with non-negative "
                "integers, e.g. 1-1000 or 1,5,9"
            )
        low = int(match.group("low"))
        high = int(match.group("high")) if match.group("high") is not None else low
        if high > MAX_SEED:
            raise SeedSpecError(
                f"seed {high} in {text!r} is too large; seeds are integers from 0 to {MAX_SEED} "
                "(2^64 - 1)"
            )
        if high < low:
            raise SeedSpecError(f"empty seed range {item!r}: {high} is below {low}")
        count += high - low + 1
        if count > MAX_SEEDS:
            raise SeedSpecError(f"seed list {text!r} names more than {MAX_SEEDS:,} seeds")
        seeds.update(range(low, high + 1))
    return tuple(sorted(seeds))


def format_seeds(seeds: tuple[int, ...] | list[int]) -> str:
    """The shortest specification of ``seeds`` (sorted, ranges collapsed): ``1-3,7``."""
    ordered = sorted(set(seeds))
    parts: list[str] = []
    index = 0
    while index < len(ordered):
        end = index
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        low, high = ordered[index], ordered[end]
        parts.append(str(low) if low == high else f"{low}-{high}")
        index = end + 1
    return ",".join(parts)
