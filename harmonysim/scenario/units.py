"""Durations and rates as scenario files write them.

Rules:

- A duration is a decimal number followed by a unit: `150ms`, `1.5s`, `2m`
  (milliseconds, seconds, minutes). A bare number is an error: files always say
  their unit. Durations are never negative. Internally a duration is a float
  number of milliseconds.
- A rate is a decimal number, a slash and a unit: `200/s`, `12/m`, `5/ms`.
  Internally a rate is a float number of events per second.
- Numbers are read as exact decimals and rounded once to the nearest float, so
  `0.3s` is exactly the float `300.0` and nothing depends on binary rounding
  of intermediate products.
- Formatting is canonical and round-trips: `parse_duration(format_duration(x))
  == x` and `parse_rate(format_rate(x)) == x` for every finite non-negative
  float `x`. Whole minutes are written in `m`, whole tenths of a second of at
  least one second in `s`, everything else in `ms`. Rates are written per
  second, except a long per-second fraction that is a whole number per
  minute (`1/m` rather than `0.016666666666666666/s`).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Final

DURATION_EXAMPLE: Final = "a duration like 150ms, 2s, 1m"
RATE_EXAMPLE: Final = "a rate like 200/s, 12/m, 5/ms"

_MS_PER_UNIT: Final = {"ms": Decimal(1), "s": Decimal(1000), "m": Decimal(60_000)}
_PER_SECOND_PER_UNIT: Final = {"s": Decimal(1), "m": Decimal(1) / Decimal(60), "ms": Decimal(1000)}

_NUMBER: Final = r"(?P<number>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)"
_DURATION_RE: Final = re.compile(rf"{_NUMBER}\s*(?P<unit>[A-Za-z]*)")
_RATE_RE: Final = re.compile(rf"{_NUMBER}\s*/\s*(?P<unit>[A-Za-z]*)")

_MS_PER_MINUTE: Final = 60_000.0
_MS_PER_SECOND: Final = 1_000.0
_MS_PER_TENTH_SECOND: Final = 100.0
_LONG_RATE_CHARS: Final = 10


def _plain(value: Decimal) -> str:
    """A decimal in plain positional notation without trailing zeros (`1.5`, `100`)."""
    return format(value.normalize(), "f")


def _finite(value: float, text: str, what: str) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{what} {text!r} is too large")
    return value


def parse_duration(text: str) -> float:
    """Parse `150ms`, `1.5s` or `2m` into float milliseconds.

    Raises ValueError with a one-line message for anything else, including
    bare numbers, unknown units and negative durations.
    """
    stripped = text.strip()
    if stripped.startswith("-"):
        raise ValueError(f"a duration cannot be negative, found {text!r}")
    match = _DURATION_RE.fullmatch(stripped)
    if match is None:
        raise ValueError(f"expected {DURATION_EXAMPLE}, found {text!r}")
    unit = match.group("unit")
    if unit == "":
        raise ValueError(f"expected {DURATION_EXAMPLE}, found {text!r} (the unit is missing)")
    factor = _MS_PER_UNIT.get(unit)
    if factor is None:
        raise ValueError(f"unknown duration unit {unit!r} in {text!r} (units: ms, s, m)")
    return _finite(float(Decimal(match.group("number")) * factor), text, "duration")


def format_duration(ms: float) -> str:
    """The canonical text of a duration given in milliseconds (`150ms`, `1.5s`, `2m`)."""
    if not math.isfinite(ms) or ms < 0:
        raise ValueError(f"cannot format {ms!r} as a duration: expected a finite number >= 0")
    if ms >= _MS_PER_MINUTE and ms % _MS_PER_MINUTE == 0:
        return f"{_plain(Decimal(repr(ms)) / Decimal(60_000))}m"
    if ms >= _MS_PER_SECOND and ms % _MS_PER_TENTH_SECOND == 0:
        return f"{_plain(Decimal(repr(ms)) / Decimal(1000))}s"
    return f"{_plain(Decimal(repr(ms)))}ms"


def parse_rate(text: str) -> float:
    """Parse `200/s`, `12/m` or `5/ms` into float events per second."""
    stripped = text.strip()
    if stripped.startswith("-"):
        raise ValueError(f"a rate cannot be negative, found {text!r}")
    match = _RATE_RE.fullmatch(stripped)
    if match is None:
        raise ValueError(f"expected {RATE_EXAMPLE}, found {text!r}")
    unit = match.group("unit")
    factor = _PER_SECOND_PER_UNIT.get(unit)
    if factor is None:
        raise ValueError(f"unknown rate unit {unit!r} in {text!r} (units: /s, /m, /ms)")
    return _finite(float(Decimal(match.group("number")) * factor), text, "rate")


def format_rate(per_s: float) -> str:
    """The canonical text of a rate given in events per second (`200/s`)."""
    if not math.isfinite(per_s) or per_s < 0:
        raise ValueError(f"cannot format {per_s!r} as a rate: expected a finite number >= 0")
    per_second_text = f"{_plain(Decimal(repr(per_s)))}/s"
    per_minute = round(per_s * 60)
    if len(per_second_text) > _LONG_RATE_CHARS and per_minute > 0:
        per_minute_text = f"{per_minute}/m"
        if parse_rate(per_minute_text) == per_s:
            return per_minute_text
    return per_second_text
