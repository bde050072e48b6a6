"""Coverage of a run for guided exploration: which protocol situations it reached.

After Mallory (CCS 2023), which rewards schedules that reach new states of the
Lamport timeline: a run's coverage is a set of short, named features read from its
event log, so two runs that did the same things under the same faults share them.

Rules:
- Features are strings, deterministic, and independent of node names (a run on n3
  and the same run on n5 cover the same ground): ``role:A>B>C`` (three successive
  Raft roles of one node), ``under:KINDS:ROLE`` (a node took a role while these fault
  kinds were active), ``after:KIND:EVENT`` (the first protocol event within 500 ms
  after a fault), ``term:N`` / ``leaders:N`` / ``stall:N`` (bucketed counts: highest
  term, leader changes, the longest time without a commit, each in powers of two).
- Reading is one pass over ``events.jsonl``; nothing here changes a run.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import orjson

from harmonysim.sim.events import EventKind

__all__ = ["coverage_of", "coverage_of_file"]

_STARTS = {
    EventKind.NODE_CRASH.value: ("crash", True),
    EventKind.NODE_RESTART.value: ("crash", False),
    EventKind.NODE_PAUSE.value: ("pause", True),
    EventKind.NODE_RESUME.value: ("pause", False),
    EventKind.NET_PARTITION.value: ("partition", True),
    EventKind.NET_HEAL.value: ("partition", False),
    EventKind.NET_CLOG.value: ("clog", True),
    EventKind.NET_UNCLOG.value: ("clog", False),
}
_NOTED = frozenset(
    {
        EventKind.RAFT_ROLE.value,
        EventKind.RAFT_COMMIT.value,
        EventKind.RAFT_RECOVER.value,
        EventKind.RAFT_SNAPSHOT.value,
        EventKind.RAFT_RESTORE.value,
        EventKind.RAFT_CONFIG.value,
    }
)
_AFTER_MS = 500.0


def _bucket(value: float) -> int:
    """0 for 0, else the power of two at or above ``value`` (as an exponent)."""
    bucket = 0
    while value > (1 << bucket) - 1 and bucket < 40:
        bucket += 1
    return bucket


def coverage_of(records: Iterable[dict[str, object]]) -> frozenset[str]:
    """The features of a run's event records (see the module rules)."""
    features: set[str] = set()
    roles: dict[str, list[str]] = {}
    active: dict[str, int] = {}  # fault kind -> how many of it hold now
    clocks: set[str] = set()
    pending: list[tuple[float, str]] = []  # (fault time, kind) awaiting the next event
    term = leaders = 0
    last_commit_ms = 0.0
    stall_ms = 0.0
    for record in records:
        kind = str(record["kind"])
        t_ms = float(record["t"])  # type: ignore[arg-type]
        node = record.get("node")
        if kind in _STARTS:
            name, starts = _STARTS[kind]
            active[name] = active.get(name, 0) + (1 if starts else -1)
            if starts:
                pending.append((t_ms, name))
            continue
        if kind == EventKind.NODE_CLOCK.value:
            if record.get("after"):
                clocks.discard(str(node))
            else:
                clocks.add(str(node))
                pending.append((t_ms, "clock"))
            continue
        if kind == EventKind.LEADER_TRANSFER.value:
            pending.append((t_ms, "transfer"))
            continue
        if kind not in _NOTED or node is None:
            continue
        label = kind
        if kind == EventKind.RAFT_ROLE.value:
            role = str(record.get("role"))
            label = f"{kind}:{role}"
            history = roles.setdefault(str(node), ["start"])
            history.append(role)
            features.add("role:" + ">".join(history[-3:]))
            under = sorted(name for name, count in active.items() if count > 0)
            if clocks:
                under.append("clock")
            features.add(f"under:{'+'.join(under) or 'none'}:{role}")
            term = max(term, int(record.get("term", 0) or 0))  # type: ignore[call-overload]
            leaders += role == "leader"
        elif kind == EventKind.RAFT_COMMIT.value:
            stall_ms = max(stall_ms, t_ms - last_commit_ms)
            last_commit_ms = t_ms
        if pending:
            for fault_ms, name in pending:
                if t_ms - fault_ms <= _AFTER_MS:
                    features.add(f"after:{name}:{label}")
            pending = []
    features.add(f"term:{_bucket(term)}")
    features.add(f"leaders:{_bucket(leaders)}")
    features.add(f"stall:{_bucket(stall_ms / 10.0)}")
    return frozenset(features)


def coverage_of_file(path: Path) -> frozenset[str]:
    """The features of the run whose ``events.jsonl`` is at ``path``."""
    with path.open("rb") as lines:
        return coverage_of(orjson.loads(line) for line in lines if line.strip())
