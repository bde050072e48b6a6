"""What every command shares: exit statuses, the bad-input error, argument types, JSON output."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_CHECK_FAILED",
    "EXIT_INCONCLUSIVE",
    "EXIT_OK",
    "BadInput",
    "duration_ms",
    "non_negative_int",
    "positive_int",
    "print_json",
    "ratio",
    "seed_value",
]

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INCONCLUSIVE = 3


class BadInput(Exception):
    """Anything the user gave that cannot be used; printed as one line, exit status 2."""


def non_negative_int(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def seed_value(text: str) -> int:
    """A seed flag: an integer from 0 to 2^64 - 1 (what run.json and the event log can hold)."""
    from harmonysim.scenario import MAX_SEED

    value = non_negative_int(text)
    if value > MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"expected a seed from 0 to {MAX_SEED} (2^64 - 1), got {text!r}"
        )
    return value


def ratio(text: str) -> float:
    """A fraction in [0, 1], such as ``0.01``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return value


def duration_ms(text: str) -> float:
    """A duration flag such as ``10s`` or ``250ms``, in milliseconds."""
    from harmonysim.scenario import parse_duration

    try:
        value = parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"a duration must be positive, got {text!r}")
    return value


def print_json(value: Any) -> None:
    import orjson  # only --json output needs it; the parser (and --help) does not

    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")
