"""Linearizability of a run's own client history, against the key-value model.

Rules:
- The rows are the run's ``history.jsonl`` (``harmonysim.cluster.history``):
  ``process``, ``type``, ``f``, ``key``, ``value``, ``time``, ``index``. They become
  ``harmonysim.check.history`` events (JSON arrays as tuples), are paired per
  process and checked with the ``kv`` model, one key at a time, except that the
  keys a ``scan`` covered are checked together with it (``harmonysim.check.models``):
  a scan must observe its whole range in one state. Every operation is checked.
- A load phase is not in the history; its records are the model's initial state
  (``initial``: key -> value, from ``Workload.loaded_values``).
- A ``fail`` cas is a cas whose compare failed (our server fails nothing else,
  ``harmonysim.cluster.history``): it is read with ``FailCas.COMPARE``, as an
  operation that took place and returned false. Other failed operations did not
  happen and are dropped.
- The search has a step budget (deterministic), so a run never hangs on a hard
  history: when it runs out the verdict is ``unknown``, never a guess.
- A violation's details carry the checker's explanation: the key, the longest
  linearizable prefix and the operations that cannot follow it, with times. It
  implicates those operations, the one that had to be preceded by an effect, and
  the last few of the prefix (the writes they contradict).
- A violation's ``details["problems"]`` (``harmonysim.check.result``) place it on
  the clock: one per violated partition, at the call of the first operation that
  cannot follow the longest linearizable prefix, until its return
  (``LinearizabilityResult.problems``). A malformed history has none: no operation
  is to blame.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from harmonysim.check.history import (
    FailCas,
    HistoryEvent,
    HistoryParseError,
    OpType,
    pair_operations,
)
from harmonysim.check.linearizability import Verdict, check
from harmonysim.check.models import SCAN_KEY, KeyGroup, KvModel, ModelError
from harmonysim.check.result import CheckResult, CheckStatus, Implicated
from harmonysim.runlog.folder import RunFolder

__all__ = [
    "DEFAULT_BUDGET_STEPS",
    "check_run_history",
    "history_events",
]

CHECK_NAME = "linearizability"
DEFAULT_BUDGET_STEPS = 2_000_000
"""Search steps allowed per run: far above what shipped scenarios need (thousands)."""
_EXPLANATION_LINES = 40
_PRECEDING_OPS = 4  # operations linearized before the failure, implicated with it
_OP_TYPES = {member.value: member for member in OpType}


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(item) for item in value)
    return value


def history_events(rows: Iterable[Mapping[str, Any]]) -> list[HistoryEvent]:
    """History rows as checker events."""
    events: list[HistoryEvent] = []
    for position, row in enumerate(rows):
        events.append(
            HistoryEvent(
                process=row["process"],
                type=_OP_TYPES[row["type"]],
                f=row["f"],
                key=_hashable(row.get("key")),
                value=_hashable(row.get("value")),
                time=row.get("time"),
                index=int(row.get("index", position)),
                line=int(row.get("index", position)) + 1,
            )
        )
    return events


def check_run_history(
    rows: Iterable[Mapping[str, Any]],
    *,
    budget_steps: int = DEFAULT_BUDGET_STEPS,
    initial: Mapping[Any, Any] | None = None,
) -> CheckResult:
    """Check a run's history rows for linearizability (see the module rules); ``initial``
    holds the keys a load phase wrote before the history, with their values."""
    events = history_events(rows)
    try:
        ops = pair_operations(events, source=RunFolder.HISTORY, fail_cas=FailCas.COMPARE)
        result = check(ops, KvModel(initial=initial), budget_steps=budget_steps)
    except (HistoryParseError, ModelError) as error:
        return CheckResult(
            CHECK_NAME,
            CheckStatus.VIOLATION,
            f"the history itself is malformed: {error}",
            {"error": str(error), "problems": []},
        )
    keys = len({op.key for op in ops if op.f != "scan"})
    scans = sum(1 for op in ops if op.f == "scan")
    failed_cas = sum(1 for op in ops if op.f == "cas" and op.output is False)
    merged = sum(1 for part in result.partitions if isinstance(part.key, KeyGroup))
    details: dict[str, Any] = {
        "operations": len(ops),
        "keys": keys,
        "partitions": len(result.partitions),
        "merged_partitions": merged,
        "scans": scans,
        "failed_cas": failed_cas,
        "steps": result.steps,
        "budget_steps": budget_steps,
    }
    per_key = [part.key for part in result.partitions if part.scans_per_key]
    if per_key:
        details["scans_checked_per_key"] = [_json_key(key) for key in per_key[:20]]
    if result.verdict is Verdict.OK:
        caveat = (
            f"; {len(per_key)} merged partition(s) out of budget were checked key by key, "
            "so those scans' atomicity across keys is unverified"
            if per_key
            else ""
        )
        return CheckResult(
            CHECK_NAME,
            CheckStatus.OK,
            f"{len(ops)} operations on {keys} keys are linearizable "
            f"({scans} scans, {failed_cas} failed cas; {len(result.partitions)} partitions)"
            + caveat,
            details,
        )
    explanation = result.explain().splitlines()
    details["explanation"] = explanation[:_EXPLANATION_LINES]
    if result.verdict is Verdict.UNKNOWN:
        undecided = [part.key for part in result.partitions if part.verdict is Verdict.UNKNOWN]
        details["undecided_keys"] = [_json_key(key) for key in undecided[:20]]
        return CheckResult(
            CHECK_NAME,
            CheckStatus.UNKNOWN,
            f"search budget of {budget_steps:,} steps ran out with {len(undecided)} "
            "partition(s) undecided",
            details,
        )
    details["violated_keys"] = [_json_key(part.key) for part in result.violations]
    details["problems"] = [problem.to_json() for problem in result.problems()]
    culprit_rows: list[int] = []
    for part in result.violations:
        # The operations that cannot follow, the one that had to be preceded by an
        # effect, and the last ones linearized before them (whose writes they contradict).
        culprits = [stuck.op for stuck in part.stuck]
        if part.deadline is not None:
            culprits.append(part.deadline)
        culprits.extend(reversed(part.linearization[-_PRECEDING_OPS:]))
        culprit_rows.extend(op.invoke_index for op in culprits if op.invoke_index >= 0)
    first = result.violations[0]
    stuck = first.stuck[0].op if first.stuck else first.deadline
    culprit = (
        f"; e.g. process {stuck.process} {'scan' if stuck.f == SCAN_KEY else stuck.f} called "
        f"at {stuck.call:g} ms"
        if stuck
        else ""
    )
    where = str(first.key) if isinstance(first.key, KeyGroup) else f"key {first.key!r}"
    return CheckResult(
        CHECK_NAME,
        CheckStatus.VIOLATION,
        f"not linearizable on {where}{culprit}",
        details,
        Implicated(history_rows=tuple(dict.fromkeys(culprit_rows))),
    )


def _json_key(key: object) -> Any:
    """A partition's key as JSON: a key, or the list of keys a scan merged."""
    return key.to_json() if isinstance(key, KeyGroup) else key
