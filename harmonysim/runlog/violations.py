"""When a run's checks failed: each violation recorded in ``run.json`` placed on the clock.

Plots mark these times, the dashboard opens at the first one and the message
diagram centres on it, so a user sees the failure before anything else.

Rules (one per check; the check's own ``details`` are the only input, so the
marks are a function of ``run.json`` alone):
- A check that records its problems on the clock (``details["problems"]``, the
  shape of ``harmonysim.check.result.Problem``) is marked at each problem's
  ``at_ms``, spanning to its ``until_ms``, labelled with its ``text``; an empty
  list (a malformed history) is one mark at the end of the run. Nothing is read
  from the wording of summaries or explanations then.
- ``raft_safety``: every reported violation at the time of the event that broke
  the rule (its ``time_ms``). The check reports at most its first few; the marks
  are those.
- ``linearizability``: one mark per violated key (partition), at the call time of
  the first operation that cannot be linearized after the longest linearizable
  prefix, spanning to its return (an indeterminate operation has no return): its
  problems (``harmonysim.check.run_history``).
- ``liveness``: a liveness violation is a deadline missed, so each problem is
  marked at the deadline it missed (``harmonysim.check.liveness`` says which; a
  removed server's disruption at the moment it happened), never past the end of
  the run.
- ``btree_invariants`` (trees and replica agreement, judged once the run is over)
  and any check without a rule here: one mark at the end of the run.
- Marks are sorted by time, then by the order of the checks in ``run.json``; only
  checks whose status is ``violation`` have marks, so a run that passes has none.
- Older ``run.json`` files, written before checks recorded ``problems``, are read by
  the text rules that served then: linearizability from its explanation's operation
  lines (``(call T, return T)`` or ``(call T, indeterminate)`` after ``Next,``),
  else the call time its summary names; liveness's problems found before the first
  fault at the first fault (``before_first_fault.until_ms``), every other problem at
  the bound after the last fault (``quiet_from_ms + bound_ms``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Violation", "first_violation", "violations_from_checks"]


@dataclass(frozen=True, slots=True)
class Violation:
    """One violation placed on the virtual clock.

    ``check`` names the check; ``time_ms`` is where it is marked and ``end_ms``
    where it ends when it spans time (a non-linearizable operation's return);
    ``basis`` says how the time was chosen (``event``, ``operation``, ``deadline``,
    ``end of run``); ``label`` is one line naming what failed.
    """

    check: str
    time_ms: float
    label: str
    basis: str
    end_ms: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "time_ms": self.time_ms,
            "end_ms": self.end_ms,
            "basis": self.basis,
            "label": self.label,
        }


_OPERATION_TIMES = re.compile(
    r"\(call (?P<call>[-+0-9.e]+), (?:return (?P<ret>[-+0-9.e]+)|indeterminate)\)"
)
_SUMMARY_CALL = re.compile(r"called at (?P<call>[-+0-9.e]+) ms")
_KEY_LINE = re.compile(r"^(?P<key>\S.*?): \d+ operations; the longest linearizable prefix")


def violations_from_checks(checks: Mapping[str, Any], duration_ms: float) -> list[Violation]:
    """The violations of ``run.json``'s ``checks`` section (see the module rules)."""
    found: list[tuple[float, int, int, Violation]] = []
    for order, (name, result) in enumerate(checks.items()):
        if not isinstance(result, Mapping) or result.get("status") != "violation":
            continue
        details = result.get("details")
        details = details if isinstance(details, Mapping) else {}
        summary = str(result.get("summary", ""))
        problems = details.get("problems")
        if isinstance(problems, Sequence) and not isinstance(problems, str):
            marks = _problems(name, problems, duration_ms)
        elif name == "raft_safety":
            marks = _raft_safety(details, summary, duration_ms)
        elif name == "linearizability":
            marks = _linearizability_text(details, summary)
        elif name == "liveness":
            marks = _liveness_text(details, duration_ms)
        else:
            marks = []
        if not marks:
            marks = [Violation(name, duration_ms, summary or name, "end of run")]
        found.extend((mark.time_ms, order, index, mark) for index, mark in enumerate(marks))
    found.sort(key=lambda item: item[:3])
    return [mark for *_, mark in found]


def first_violation(violations: Sequence[Violation]) -> Violation | None:
    """The earliest violation, or None for a run that passed."""
    return violations[0] if violations else None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


_BASIS = {"linearizability": "operation", "liveness": "deadline"}


def _problems(name: str, problems: Sequence[Any], duration_ms: float) -> list[Violation]:
    basis = _BASIS.get(name, "event")
    marks: list[Violation] = []
    for problem in problems:
        if not isinstance(problem, Mapping):
            continue
        at_ms = _number(problem.get("at_ms"))
        if at_ms is None:
            continue
        until_ms = _number(problem.get("until_ms"))
        label = str(problem.get("text") or name)
        marks.append(Violation(name, min(at_ms, duration_ms), label, basis, until_ms))
    return marks


def _raft_safety(details: Mapping[str, Any], summary: str, duration_ms: float) -> list[Violation]:
    marks: list[Violation] = []
    for violation in details.get("violations") or ():
        if not isinstance(violation, Mapping):
            continue
        time_ms = _number(violation.get("time_ms"))
        if time_ms is None:
            continue
        label = str(violation.get("message") or violation.get("rule") or summary)
        rule = violation.get("rule")
        if rule and not label.startswith(str(rule)):
            label = f"{rule}: {label}"
        marks.append(Violation("raft_safety", min(time_ms, duration_ms), label, "event"))
    return marks


def _linearizability_text(details: Mapping[str, Any], summary: str) -> list[Violation]:
    """The text rule of older run.json files (module rules)."""
    marks: list[Violation] = []
    key = ""
    stuck_next = False
    for line in details.get("explanation") or ():
        text = str(line)
        heading = _KEY_LINE.match(text)
        if heading is not None:
            key, stuck_next = heading["key"], False
            continue
        if text.strip().startswith("Next,"):
            stuck_next = True  # the lines that follow are the operations that cannot follow
            continue
        times = _OPERATION_TIMES.search(text) if stuck_next else None
        if times is None:
            continue
        stuck_next = False  # the first stuck operation of this partition is its mark
        call = float(times["call"])
        ret = float(times["ret"]) if times["ret"] is not None else None
        operation = text.strip().split("  (call", 1)[0]
        label = f"not linearizable on {key}: {operation}" if key else operation
        marks.append(Violation("linearizability", call, label, "operation", ret))
    if not marks:
        called = _SUMMARY_CALL.search(summary)
        if called is not None:
            marks.append(Violation("linearizability", float(called["call"]), summary, "operation"))
    return marks


def _liveness_text(details: Mapping[str, Any], duration_ms: float) -> list[Violation]:
    """The text rule of older run.json files (module rules)."""
    problems = [str(problem) for problem in details.get("violations") or ()]
    before = details.get("before_first_fault")
    first_fault = _number(before.get("until_ms")) if isinstance(before, Mapping) else None
    quiet = _number(details.get("quiet_from_ms"))
    bound = _number(details.get("bound_ms"))
    after_deadline = None
    if quiet is not None and bound is not None:
        after_deadline = min(quiet + bound, duration_ms)
    marks: list[Violation] = []
    early = [problem for problem in problems if "before the first fault" in problem]
    late = [problem for problem in problems if "before the first fault" not in problem]
    if early and first_fault is not None:
        marks.append(Violation("liveness", min(first_fault, duration_ms), early[0], "deadline"))
    if late and after_deadline is not None:
        marks.append(Violation("liveness", after_deadline, late[0], "deadline"))
    return marks
