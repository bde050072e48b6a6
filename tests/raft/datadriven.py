"""Datadriven test files in the format of cockroachdb/datadriven (used by etcd-io/raft).

A file is a sequence of cases; each is a command line, optional input lines, a ``----``
line, and the expected output, which ends at the first blank line (or the end of the file)::

    # a comment, kept as it is
    propose-conf-change n1 add=n4
    ----
    appended 3@1 config add n4 -> n1,n2,n3,n4

Rules of this file:

- A command line is a name and arguments: ``word`` (a key without values),
  ``key=value`` or ``key=(v1,v2,...)``; no spaces inside a value.
- Lines starting with ``#`` outside a case are comments. Input lines (between the command
  and ``----``) belong to the command and are never rewritten.
- An output line is never blank (a blank line ends the output); a handler that produced
  one is an error, and so is an output of nothing: a command with nothing to say prints
  ``ok``.
- ``run_file`` runs every case of a file through a handler, in order, and renders the file
  as it would be with the outputs this run produced: the test compares that text with the
  file, and the update mode writes it. Only outputs change; commands, inputs, comments
  and blank lines stay byte for byte.
- A malformed file, or a handler raising ``DataDrivenError``, fails with the file and the
  line of the case.

Why a parser of our own: on PyPI, ``datadriven`` (1.0.0, 2022) is a decorator that runs
one unittest method over several argument sets -- not this file format -- and no
maintained Python port of cockroachdb/datadriven exists (the Rust crate of that name is
one, for Rust). The format takes this one small module.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

SEPARATOR = "----"
_ARGUMENT = re.compile(r"[^\s=]+=\([^)\s]*\)|\S+")


class DataDrivenError(Exception):
    """A malformed file or a command that cannot run, with the place it happened."""


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument of a command line: ``key`` (``values`` is None), ``key=value`` or
    ``key=(v1,v2)``."""

    key: str
    values: tuple[str, ...] | None


def parse_args(text: str) -> tuple[Arg, ...]:
    """The arguments of a command line (or of an input line written the same way)."""
    args = []
    for token in _ARGUMENT.findall(text):
        key, equals, value = token.partition("=")
        if not equals:
            args.append(Arg(key, None))
        elif value.startswith("(") and value.endswith(")"):
            inner = value[1:-1]
            args.append(Arg(key, tuple(inner.split(",")) if inner else ()))
        else:
            args.append(Arg(key, (value,)))
    return tuple(args)


@dataclass(frozen=True, slots=True)
class Case:
    """One command of a file, where it is, and its expected output."""

    path: str
    line: int  # 1-based, of the command line
    command: str
    args: tuple[Arg, ...]
    input: tuple[str, ...]
    expected: tuple[str, ...]
    output_start: int  # 0-based line numbers of the expected output: [start, end)
    output_end: int

    def error(self, text: str) -> DataDrivenError:
        return DataDrivenError(f"{self.path}:{self.line}: {self.command}: {text}")

    @property
    def positional(self) -> tuple[str, ...]:
        """The arguments without ``=``, in order."""
        return tuple(arg.key for arg in self.args if arg.values is None)

    def keyed(self) -> dict[str, tuple[str, ...]]:
        """The ``key=...`` arguments; a key given twice is an error."""
        found: dict[str, tuple[str, ...]] = {}
        for arg in self.args:
            if arg.values is not None:
                if arg.key in found:
                    raise self.error(f"{arg.key}= is given twice")
                found[arg.key] = arg.values
        return found


def _is_blank(line: str) -> bool:
    return not line.strip()


def parse(text: str, path: str) -> list[Case]:
    """Split a file into cases (see the module docstring for the format)."""
    lines = text.splitlines()
    cases = []
    position = 0
    while position < len(lines):
        line = lines[position]
        if _is_blank(line) or line.startswith("#"):
            position += 1
            continue
        if line.strip() == SEPARATOR:
            raise DataDrivenError(f"{path}:{position + 1}: {SEPARATOR} without a command")
        command_line = position
        position += 1
        while position < len(lines) and lines[position].strip() != SEPARATOR:
            if _is_blank(lines[position]):
                raise DataDrivenError(
                    f"{path}:{command_line + 1}: {line.strip()!r} has no {SEPARATOR} line "
                    "before the next blank line"
                )
            position += 1
        if position == len(lines):
            raise DataDrivenError(
                f"{path}:{command_line + 1}: {line.strip()!r} has no {SEPARATOR} line"
            )
        inputs = tuple(lines[command_line + 1 : position])
        position += 1
        output_start = position
        while position < len(lines) and not _is_blank(lines[position]):
            position += 1
        name, _, rest = line.strip().partition(" ")
        cases.append(
            Case(
                path=path,
                line=command_line + 1,
                command=name,
                args=parse_args(rest),
                input=inputs,
                expected=tuple(lines[output_start:position]),
                output_start=output_start,
                output_end=position,
            )
        )
    return cases


def render(text: str, cases: Sequence[Case], outputs: Sequence[Sequence[str]]) -> str:
    """``text`` with the expected output of each case replaced by ``outputs``."""
    lines = text.splitlines()
    for case, output in sorted(
        zip(cases, outputs, strict=True), key=lambda pair: pair[0].output_start, reverse=True
    ):
        lines[case.output_start : case.output_end] = list(output)
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class FileRun:
    """A file as it is and as this run renders it."""

    path: Path
    stored: str
    rendered: str

    @property
    def matches(self) -> bool:
        return self.stored == self.rendered

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.stored.splitlines(keepends=True),
                self.rendered.splitlines(keepends=True),
                fromfile=f"{self.path.name} (stored)",
                tofile=f"{self.path.name} (this run)",
            )
        )


def run_file(path: Path, handle: Callable[[Case], Sequence[str]]) -> FileRun:
    """Run each case of ``path`` through ``handle`` (which returns the output lines)."""
    stored = path.read_text(encoding="utf-8")
    cases = parse(stored, str(path))
    outputs = []
    for case in cases:
        output = list(handle(case))
        if not output:
            raise case.error("printed nothing (a command with nothing to say prints 'ok')")
        if any(_is_blank(line) for line in output):
            raise case.error(f"printed a blank line, which would end its output: {output}")
        outputs.append(output)
    return FileRun(path, stored, render(stored, cases, outputs))
