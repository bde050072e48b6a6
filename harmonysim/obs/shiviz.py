"""ShiViz logs: one line per event with the vector clock that message causality gives it.

Rules:
- The file starts with ShiViz's two header lines: the log-parsing regular
  expression (named groups ``host``, ``clock``, ``event``, plus ``time``), then
  an empty multiple-executions delimiter. Each later line is
  ``<host> <clock> <virtual ms> <event text>``, for example
  ``n2 {"n1":3,"n2":5} 12.345 deliver AppendEntries from n1 (#17)``.
- Vector clocks (Fidge/Mattern): each host increments its own entry by exactly
  one per logged event; a send logs the sender's clock, and the clock is carried
  with the message id; a delivery first merges the carried clock (entrywise
  max), then increments. A duplicate delivery merges the same send clock.
- Logged events: message send, deliver and drop; Raft role changes and commits
  (§5.2, §5.3); B+ tree splits and merges; client invoke and completion;
  crashes, restarts, pauses; the clock, storage, repair, transfer, membership and
  no-op faults (``harmonysim.runlog.faultmarks``) on the server they hit, as
  ``fault <its name>``. Timers and the other disk events are left out (local noise).
- Clock keys appear in natural node order; zero entries are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import orjson

from harmonysim.obs.derive import Record, event_kind
from harmonysim.runlog.faultmarks import SERVER_FAULT_KINDS, fault_label, is_marked, mark_node
from harmonysim.runlog.vocabulary import EventKind, servers_first_key

__all__ = ["SHIVIZ_REGEX", "shiviz_lines"]

SHIVIZ_REGEX = r"(?<host>\S+) (?<clock>\{[^}]*\}) (?<time>\S+) (?<event>.*)"


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


_LOCAL: dict[str, Callable[[Record], str]] = {
    EventKind.RAFT_ROLE: lambda r: (
        f"role {r.get('role')} term {r.get('term')} leader {r.get('leader')}"
    ),
    EventKind.RAFT_COMMIT: lambda r: f"commit {r.get('index')} (term {r.get('term')})",
    EventKind.BTREE_SPLIT: lambda r: (
        f"btree split {r.get('node_kind')} {r.get('tree_node')} at {r.get('separator')}"
    ),
    EventKind.BTREE_MERGE: lambda r: f"btree merge {r.get('node_kind')} {r.get('tree_node')}",
    EventKind.CLIENT_INVOKE: lambda r: (
        f"invoke {r.get('f')} {r.get('key')} {_json(r.get('value'))}"
    ),
    EventKind.CLIENT_OK: lambda r: f"ok {r.get('f')} {r.get('key')} {_json(r.get('value'))}",
    EventKind.CLIENT_FAIL: lambda r: f"fail {r.get('f')} {r.get('key')}",
    EventKind.CLIENT_INFO: lambda r: f"info {r.get('f')} {r.get('key')}",
    EventKind.NODE_CRASH: lambda r: "crash",
    EventKind.NODE_RESTART: lambda r: "restart",
    EventKind.NODE_PAUSE: lambda r: "pause",
    EventKind.NODE_RESUME: lambda r: "resume",
}


def shiviz_lines(records: Iterable[Record]) -> Iterator[str]:
    """The lines of a ShiViz log (without newlines), headers first."""
    yield SHIVIZ_REGEX
    yield ""
    clocks: dict[str, dict[str, int]] = {}
    carried: dict[int, tuple[dict[str, int], str]] = {}  # message id -> (send clock, type)

    def tick(node: str, merge: dict[str, int] | None = None) -> str:
        clock = clocks.setdefault(node, {})
        if merge:
            for other, value in merge.items():
                if value > clock.get(other, 0):
                    clock[other] = value
        clock[node] = clock.get(node, 0) + 1
        ordered = {key: clock[key] for key in sorted(clock, key=servers_first_key)}
        return orjson.dumps(ordered).decode()

    for record in records:
        node = record.get("node")
        kind = event_kind(record)
        if kind in SERVER_FAULT_KINDS:
            host = mark_node(record)
            if host is not None and is_marked(record):
                stamp = f"{float(record['t']):.3f}"
                yield f"{host} {tick(host)} {stamp} fault {fault_label(record)}"
            continue
        if node is None:
            continue
        t = record["t"]
        stamp = f"{float(t):.3f}"
        if kind == EventKind.MSG_SEND:
            text = tick(node)
            carried[int(record["id"])] = (dict(clocks[node]), str(record.get("type")))
            what = f"send {record.get('type')} to {record.get('dst')} (#{record['id']})"
            yield f"{node} {text} {stamp} {what}"
        elif kind == EventKind.MSG_DELIVER:
            sent = carried.get(int(record["id"]))
            if sent is None:
                continue
            text = tick(node, sent[0])
            what = f"deliver {sent[1]} from {record.get('src')} (#{record['id']})"
            yield f"{node} {text} {stamp} {what}"
        elif kind == EventKind.MSG_DROP:
            sent = carried.get(int(record["id"]))
            kind_name = sent[1] if sent else "message"
            what = f"drop {kind_name} #{record['id']} ({record.get('reason')})"
            yield f"{node} {tick(node)} {stamp} {what}"
        else:
            describe = _LOCAL.get(kind)
            if describe is not None:
                yield f"{node} {tick(node)} {stamp} {describe(record)}"
