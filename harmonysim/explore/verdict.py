"""Reading a run's check results: which checks found a violation, which were inconclusive.

Rules:
- A run's checks are a mapping ``name -> result``: `CheckResult` objects in
  ``RunOutcome.checks``, plain mappings in ``run.json``'s ``checks``. Either carries a
  ``status`` from `CheckStatus` (``ok``, ``violation``, ``unknown``, ``skipped``).
- A run fails when any check reports ``violation``; otherwise it is inconclusive when any
  check reports ``unknown``; otherwise it passes. ``skipped`` never decides anything.
- Names come out in the order the checks were reported, which is the scenario's order.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from harmonysim.check.result import CheckStatus

if TYPE_CHECKING:
    from harmonysim.runner import RunOutcome

__all__ = [
    "CheckStatus",
    "RunStatus",
    "checks_with_status",
    "outcome_failures",
    "outcome_unknowns",
    "run_status",
]


class RunStatus(enum.StrEnum):
    """What all checks together concluded about one run (exit 0, 1 or 3)."""

    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"


def _status_of(result: Any) -> str:
    if isinstance(result, Mapping):
        status = result.get("status")
    else:
        status = getattr(result, "status", None)
    return str(status.value if isinstance(status, enum.Enum) else status)


def checks_with_status(checks: Mapping[str, Any], status: CheckStatus) -> list[str]:
    """Names of the checks in ``checks`` whose result has ``status``, in reported order."""
    return [name for name, result in checks.items() if _status_of(result) == status.value]


def outcome_failures(outcome: RunOutcome) -> list[str]:
    """Names of the checks that found a violation in ``outcome``."""
    return checks_with_status(outcome.checks, CheckStatus.VIOLATION)


def outcome_unknowns(outcome: RunOutcome) -> list[str]:
    """Names of the checks that could not decide about ``outcome``."""
    return checks_with_status(outcome.checks, CheckStatus.UNKNOWN)


def run_status(
    failed: list[str] | tuple[str, ...], unknown: list[str] | tuple[str, ...]
) -> RunStatus:
    """The overall status of a run from its failed and inconclusive checks."""
    if failed:
        return RunStatus.FAIL
    if unknown:
        return RunStatus.UNKNOWN
    return RunStatus.PASS
