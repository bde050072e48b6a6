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

from harmonysim.runlog.vocabulary import FAULT_TIMELINE_KINDS

__all__ = ["FAULT_KINDS", "read_fault_events"]

FAULT_KINDS: Final[tuple[str, ...]] = tuple(sorted(FAULT_TIMELINE_KINDS))

_MARKERS: Final = tuple(f'"kind":"{kind}"'.encode() for kind in FAULT_KINDS)


def read_fault_events(events_path: Path) -> tuple[dict[str, Any], ...]:
    """The fault events of the log at ``events_path``, in log order."""
    found: list[dict[str, Any]] = []
    with events_path.open("rb") as lines:
        for line in lines:
            if any(marker in line for marker in _MARKERS):
                found.append(orjson.loads(line))
    return tuple(found)
