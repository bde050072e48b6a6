"""The fault timeline of a run: the fault events of its event log, in log order.

Rules:
- Only the fault vocabulary is read (``nemesis``, ``node.crash``/``restart``/``pause``/
  ``resume``/``clock``, ``net.partition``/``heal``/``clog``/``unclog``, ``leader.transfer``,
  ``fault.noop``, ``membership``); lines are filtered on their
  bytes before any JSON is parsed, so a 200k-event log costs a few tens of milliseconds.
- A record is returned as written (``t`` in virtual ms, ``seq``, ``kind``, ``node`` and
  the kind's fields), so the shrinker can turn what a nemesis did into explicit faults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import orjson

from harmonysim.sim.events import EventKind

__all__ = ["FAULT_KINDS", "read_fault_events"]

FAULT_KINDS: Final[tuple[EventKind, ...]] = (
    EventKind.NEMESIS,
    EventKind.NODE_CRASH,
    EventKind.NODE_RESTART,
    EventKind.NODE_PAUSE,
    EventKind.NODE_RESUME,
    EventKind.NET_PARTITION,
    EventKind.NET_HEAL,
    EventKind.NET_CLOG,
    EventKind.NET_UNCLOG,
    EventKind.NODE_CLOCK,
    EventKind.LEADER_TRANSFER,
    EventKind.FAULT_NOOP,
    EventKind.MEMBERSHIP,
)

_MARKERS: Final = tuple(f'"kind":"{kind.value}"'.encode() for kind in FAULT_KINDS)


def read_fault_events(events_path: Path) -> tuple[dict[str, Any], ...]:
    """The fault events of the log at ``events_path``, in log order."""
    found: list[dict[str, Any]] = []
    with events_path.open("rb") as lines:
        for line in lines:
            if any(marker in line for marker in _MARKERS):
                found.append(orjson.loads(line))
    return tuple(found)
