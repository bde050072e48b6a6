"""How schema validators report a problem precisely.

Validators raise `SchemaViolation` (a ValueError, so pydantic collects it)
carrying a location *relative to the value being validated*, the message, the
offending value and what is allowed. The loader appends that relative location
to pydantic's own location, which gives the exact YAML node to point at.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

from pydantic import ValidationInfo

FILE_MODE: Final = "scenario_file"
"""Validation context key: True when the input is the text form of a file."""


class Position(enum.Enum):
    """Which part of the YAML source a problem points at."""

    VALUE = "value"  # the offending value itself
    KEY = "key"  # the key of the offending entry (unknown or misplaced keys)
    PARENT = "parent"  # the enclosing mapping (a key that is missing)


class _Nothing(enum.Enum):
    NOTHING = "nothing"


NOTHING: Final = _Nothing.NOTHING
"""Marks a violation with no offending value (a missing key)."""

_MAX_SHOWN_CHARS: Final = 80


def show(value: object) -> str:
    """A short repr of a value for messages."""
    text = repr(value)
    if len(text) > _MAX_SHOWN_CHARS:
        text = text[: _MAX_SHOWN_CHARS - 3] + "..."
    return text


class SchemaViolation(ValueError):
    """One problem with a scenario value, located relative to that value."""

    def __init__(
        self,
        message: str,
        *,
        expected: str,
        found: object = NOTHING,
        loc: tuple[str | int, ...] = (),
        position: Position = Position.VALUE,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.found = found
        self.loc = loc
        self.position = position


def file_mode(info: ValidationInfo) -> bool:
    """True when validating the text form (durations must carry units)."""
    context = info.context
    return isinstance(context, Mapping) and context.get(FILE_MODE) is True
