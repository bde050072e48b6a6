"""What a run check reports: a status from a closed vocabulary, a one-line summary, details.

Rules:
- ``CheckStatus`` is the closed vocabulary of verdicts: ``ok`` (the property
  holds on this run), ``violation`` (it does not; the details say where),
  ``unknown`` (the check could not decide within its budget) and ``skipped``
  (the scenario did not ask for the check, or the check does not apply to it;
  the summary says which).
- A ``CheckResult`` is plain JSON-ready data (``to_json``), so ``run.json``, the
  run summary table and machine consumers read the same thing.
- A failed check also says what it implicates (``Implicated``): the history rows
  of the client operations, the client requests, the keys and the terms its
  explanation names. A run keeps the traces of those (``harmonysim.runner``);
  it is not part of the JSON, whose details already name them.
- A check that can say when each problem it found stands on the virtual clock
  records its problems in ``details["problems"]``, a list of ``Problem.to_json()``
  in the check's own order: ``{"at_ms": T, "until_ms": T or null, "key": K or
  null, "text": "..."}``. ``at_ms`` is the moment the check blames (its module
  rules say which: an event, an operation's call, a deadline missed),
  ``until_ms`` where the problem ends when it spans time, ``key`` the key it
  concerns (as the history names it) and ``text`` one line naming it. Readers
  place problems on the clock from these fields alone
  (``harmonysim.runlog.violations``), never from the wording of a summary or an
  explanation, so rewording a message cannot move a mark.
- The overall status of several checks is the worst one: any violation beats
  any unknown, which beats ok; skipped checks never change it. It maps onto the
  command-line exit statuses: 0 ok, 1 a check failed, 3 inconclusive.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["CheckResult", "CheckStatus", "Implicated", "Problem", "overall_status"]


class CheckStatus(StrEnum):
    """The verdict of one check."""

    OK = "ok"
    VIOLATION = "violation"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"

    @property
    def exit_code(self) -> int:
        """The command-line exit status this verdict calls for (skipped counts as ok)."""
        return _EXIT_CODES[self]


_EXIT_CODES = {
    CheckStatus.OK: 0,
    CheckStatus.SKIPPED: 0,
    CheckStatus.VIOLATION: 1,
    CheckStatus.UNKNOWN: 3,
}


@dataclass(frozen=True, slots=True)
class Implicated:
    """What a failed check points at, by the names the run uses for them.

    ``history_rows``: rows of ``history.jsonl`` (an invocation or its completion) of
    the client operations involved; ``requests``: client requests as ``(client,
    seq)`` (entries in the Raft log name them so); ``keys``: keys whose last writes
    are involved; ``terms``: terms whose elections are involved. Each in the order
    the check found them.
    """

    history_rows: tuple[int, ...] = ()
    requests: tuple[tuple[str, int], ...] = ()
    keys: tuple[Any, ...] = ()
    terms: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.history_rows or self.requests or self.keys or self.terms)


NOTHING = Implicated()


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem a check found, placed on the virtual clock (see the module rules)."""

    at_ms: float
    text: str
    until_ms: float | None = None
    key: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"at_ms": self.at_ms, "until_ms": self.until_ms, "key": self.key, "text": self.text}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one named check on one run."""

    name: str
    status: CheckStatus
    summary: str
    details: Mapping[str, Any] = field(default_factory=dict)
    implicated: Implicated = field(default=NOTHING, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status.value, "summary": self.summary, "details": dict(self.details)}


def overall_status(statuses: Iterable[CheckStatus]) -> CheckStatus:
    """The worst of ``statuses``: violation > unknown > ok; skipped checks count as ok."""
    seen = set(statuses)
    if CheckStatus.VIOLATION in seen:
        return CheckStatus.VIOLATION
    if CheckStatus.UNKNOWN in seen:
        return CheckStatus.UNKNOWN
    return CheckStatus.OK
