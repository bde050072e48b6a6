"""The one error type a bad scenario raises.

Rules:

- `str(error)` is one line: `<source>:<line>:<column>: <field>: <message>`,
  dropping the parts that are unknown (no line for a missing file, no field
  for a YAML syntax error). Lines and columns are 1-based.
- `field` is the dotted path of the offending value in YAML spelling, with
  list indexes in brackets (`faults[2].partition.groups`).
- `found` is the repr of the offending value (None when nothing was found,
  e.g. a missing key); `expected` says what is allowed there.
- The message already names the bad value and what is allowed, so printing
  `str(error)` alone is enough for a person to fix the file.
"""

from __future__ import annotations


class ScenarioError(Exception):
    """A scenario that cannot be read or is not valid."""

    source: str
    line: int | None
    column: int | None
    field: str | None
    found: str | None
    expected: str | None
    message: str

    def __init__(
        self,
        message: str,
        *,
        source: str,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
        found: str | None = None,
        expected: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        self.field = field
        self.found = found
        self.expected = expected
        super().__init__(self._render())

    def _render(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        parts = [where]
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)

    def __str__(self) -> str:
        return self._render()

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only construction: rebuild from the attributes so the error
        # survives pickling across process boundaries (parallel seed sweeps).
        return (
            _rebuild,
            (
                self.message,
                self.source,
                self.line,
                self.column,
                self.field,
                self.found,
                self.expected,
            ),
        )


def _rebuild(
    message: str,
    source: str,
    line: int | None,
    column: int | None,
    field: str | None,
    found: str | None,
    expected: str | None,
) -> ScenarioError:
    return ScenarioError(
        message,
        source=source,
        line=line,
        column=column,
        field=field,
        found=found,
        expected=expected,
    )
