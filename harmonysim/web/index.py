"""The dashboard's per-run index: one pass over a run's events, then fast queries at any time.

Rules:
- The index is built by feeding event records in log order (``RunIndex.feed``); a
  recorded run feeds its ``events.jsonl`` once, a live run feeds records as the
  simulation makes them. Queries read only what was fed, so both modes share it.
- It only reads what the run recorded: it never steps a Raft core or a network.
  The cluster state at virtual time ``t`` is the fold (``harmonysim.runlog.fold``)
  of the state-changing events up to ``t``. A copy of that state is kept every
  ``CHECKPOINT_EVERY`` state events, so a query replays at most that many records:
  the slider stays fast on runs of hundreds of thousands of events.
- A node's stable log is rebuilt from its ``raft.persist`` records the way its
  disk changed: new entries replace any suffix from their first index (Raft
  §5.3), an installed snapshot discards the log up to its index, a compaction
  (``raft.snapshot``) drops the entries it covers (§7). Committed means at or
  below the node's own commit index at that time (§5.3, §5.4.2).
- "Up to ``t``" includes every event stamped ``t``; times are virtual ms.
- Every list the index returns is in log order or sorted by node id, never in
  an order that depends on hashing.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

from harmonysim.runlog.faultmarks import MARKED_KINDS, is_marked
from harmonysim.runlog.fold import STATE_KINDS, ClusterState, Health, NodeState
from harmonysim.runlog.folder import RunFolder
from harmonysim.runlog.vocabulary import (
    BTREE_KINDS,
    HEALTH_KINDS,
    EventKind,
    EventRecord,
    natural_key,
)

__all__ = [
    "CHECKPOINT_EVERY",
    "ClientOp",
    "ClusterState",
    "Health",
    "LogEntry",
    "Message",
    "NodeState",
    "RunIndex",
    "load_run_index",
]

CHECKPOINT_EVERY = 256
"""State events between two stored copies of the cluster state."""

RUN_FILE = RunFolder.RUN
EVENTS_FILE = RunFolder.EVENTS
HISTORY_FILE = RunFolder.HISTORY


class Outcome(StrEnum):
    """How a client operation ended (Jepsen's vocabulary); ``pending`` while it runs."""

    PENDING = "pending"
    OK = "ok"
    FAIL = "fail"
    INFO = "info"


_LIFECYCLE_KINDS = HEALTH_KINDS | {EventKind.RAFT_ROLE, EventKind.RAFT_RECOVER}
_CLIENT_END = {
    EventKind.CLIENT_OK: Outcome.OK,
    EventKind.CLIENT_FAIL: Outcome.FAIL,
    EventKind.CLIENT_INFO: Outcome.INFO,
}


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One Raft log entry as a persist record names it: ``id`` is ``client:seq``, ``noop``..."""

    index: int
    term: int
    id: str


@dataclass(slots=True)
class Message:
    """One simulated message: sent once, then delivered (maybe twice), dropped or held."""

    id: int
    src: str
    dst: str
    type: str
    send_ms: float
    deliver_ms: float | None = None
    drop_ms: float | None = None
    drop_reason: str | None = None

    @property
    def end_ms(self) -> float | None:
        return self.deliver_ms if self.deliver_ms is not None else self.drop_ms

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "src": self.src,
            "dst": self.dst,
            "type": self.type,
            "send_ms": self.send_ms,
            "deliver_ms": self.deliver_ms,
            "drop_ms": self.drop_ms,
            "drop_reason": self.drop_reason,
        }


@dataclass(slots=True)
class ClientOp:
    """One client operation, from its invoke to its ok / fail / info (Jepsen style)."""

    client: str
    process: int
    request: int
    f: str
    key: Any
    value: Any
    start_ms: float
    invoke_seq: int
    end_ms: float | None = None
    outcome: Outcome = Outcome.PENDING
    result: Any = None
    redirects: int = 0
    history_indices: tuple[int, int | None] = (-1, None)

    @property
    def trace_id(self) -> str:
        """The entry id a write gets in the Raft log (``client:seq``) doubles as its trace id."""
        return f"{self.client}:{self.request}"

    @property
    def latency_ms(self) -> float | None:
        return None if self.end_ms is None else round(self.end_ms - self.start_ms, 3)

    def to_json(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "client": self.client,
            "process": self.process,
            "request": self.request,
            "f": self.f,
            "key": self.key,
            "value": self.value,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "latency_ms": self.latency_ms,
            "outcome": self.outcome.value,
            "result": self.result,
            "redirects": self.redirects,
        }


@dataclass(frozen=True, slots=True)
class ApplyRecord:
    """What the B+ tree replay needs from one node's state-machine history."""

    t_ms: float
    seq: int
    kind: str  # "apply", "restore" or "reset"
    index: int
    entry: str = ""
    f: str = ""
    key: Any = None


class RunIndex:
    """Everything the dashboard asks about one run, built incrementally from its events.

    ``lock`` guards feeding against concurrent queries (a live run feeds from its
    simulation thread while the server answers requests).
    """

    def __init__(self, run_info: dict[str, Any], nodes: Iterable[str]) -> None:
        self.run_info = run_info
        self.lock = threading.RLock()
        self._state = ClusterState.initial(sorted(nodes))
        initial = self._state.nodes
        self._state_events: list[EventRecord] = []
        self._state_times: list[float] = []
        self._checkpoints: list[ClusterState] = [self._state.copy()]
        self.event_count = 0
        self.end_ms = 0.0
        self.finished = False
        self.kind_counts: dict[str, int] = {}
        self.roles: list[EventRecord] = []
        # Roles, recoveries, crashes, restarts, pauses and resumes: what the role and
        # health timelines fold (harmonysim.viz.derive.role_spans, outage_spans).
        self.lifecycle: list[EventRecord] = []
        # run.start (its initial members) and membership requests, for who is outside
        # the configuration when (harmonysim.viz.derive.outside_spans)
        self.membership: list[EventRecord] = []
        # The records listed as faults (harmonysim.runlog.faultmarks.is_marked), which
        # the fault marks of the timeline are derived from.
        self.faults: list[EventRecord] = []
        self.persists: dict[str, list[EventRecord]] = {node: [] for node in initial}
        self.commits: dict[str, list[tuple[float, int]]] = {node: [] for node in initial}
        self.applies: dict[str, list[ApplyRecord]] = {node: [] for node in initial}
        self.entry_events: dict[str, list[EventRecord]] = {}
        self.tree_events: dict[str, list[EventRecord]] = {node: [] for node in initial}
        self.messages: list[Message] = []
        self._message_by_id: dict[int, Message] = {}
        self._message_times: list[float] = []
        self.messages_by_endpoint: dict[str, list[int]] = {}
        self.ops: list[ClientOp] = []
        self._open_ops: dict[str, ClientOp] = {}
        self.ops_by_trace: dict[str, ClientOp] = {}
        self.invokes: dict[tuple[str, int], ClientOp] = {}

    # -- building ---------------------------------------------------------------------

    @property
    def nodes(self) -> list[str]:
        return sorted(self._state.nodes)

    @property
    def clients(self) -> list[str]:
        return sorted({op.client for op in self.ops}, key=natural_key)

    def feed(self, record: EventRecord) -> None:
        """Add one event record (they must arrive in log order)."""
        kind = record["kind"]
        t_ms = float(record["t"])
        self.event_count += 1
        self.end_ms = max(self.end_ms, t_ms)
        self.kind_counts[kind] = self.kind_counts.get(kind, 0) + 1
        if kind in STATE_KINDS:
            self._state.apply(record)
            self._state_events.append(record)
            self._state_times.append(t_ms)
            if len(self._state_events) % CHECKPOINT_EVERY == 0:
                self._checkpoints.append(self._state.copy())
        if kind in MARKED_KINDS and is_marked(record):
            self.faults.append(record)
        if kind in _LIFECYCLE_KINDS:
            self.lifecycle.append(record)
        handler = _INDEXERS.get(kind)
        if handler is not None:
            handler(self, record, t_ms)
        if kind == EventKind.RUN_END:
            self.finished = True

    def feed_all(self, records: Iterable[EventRecord]) -> None:
        with self.lock:
            for record in records:
                self.feed(record)

    def _on_role(self, record: EventRecord, t_ms: float) -> None:
        self.roles.append(record)

    def _on_membership(self, record: EventRecord, t_ms: float) -> None:
        self.membership.append(record)

    def _on_persist(self, record: EventRecord, t_ms: float) -> None:
        node = str(record["node"])
        self.persists.setdefault(node, []).append(record)
        for _, _, entry in record.get("entries", ()):
            if entry != "noop":
                self.entry_events.setdefault(str(entry), []).append(record)

    def _on_commit(self, record: EventRecord, t_ms: float) -> None:
        self.commits.setdefault(str(record["node"]), []).append((t_ms, int(record["index"])))

    def _on_apply(self, record: EventRecord, t_ms: float) -> None:
        node = str(record["node"])
        entry = str(record.get("entry", ""))
        self.applies.setdefault(node, []).append(
            ApplyRecord(
                t_ms,
                int(record["seq"]),
                "apply",
                int(record["index"]),
                entry,
                str(record.get("f", "")),
                record.get("key"),
            )
        )
        if record.get("entry_kind") == "normal":
            self.entry_events.setdefault(entry, []).append(record)

    def _on_restore(self, record: EventRecord, t_ms: float) -> None:
        node = str(record["node"])
        self.applies.setdefault(node, []).append(
            ApplyRecord(t_ms, int(record["seq"]), "restore", int(record["index"]))
        )

    def _on_crash(self, record: EventRecord, t_ms: float) -> None:
        node = str(record["node"])
        self.applies.setdefault(node, []).append(ApplyRecord(t_ms, int(record["seq"]), "reset", 0))

    def _on_tree(self, record: EventRecord, t_ms: float) -> None:
        self.tree_events.setdefault(str(record["node"]), []).append(record)

    def _on_send(self, record: EventRecord, t_ms: float) -> None:
        message = Message(
            int(record["id"]), str(record["node"]), str(record["dst"]), str(record["type"]), t_ms
        )
        position = len(self.messages)
        self.messages.append(message)
        self._message_times.append(t_ms)
        self._message_by_id[message.id] = message
        for endpoint in (message.src, message.dst):
            if endpoint not in self._state.nodes:
                self.messages_by_endpoint.setdefault(endpoint, []).append(position)

    def _on_deliver(self, record: EventRecord, t_ms: float) -> None:
        message = self._message_by_id.get(int(record["id"]))
        if message is not None and message.deliver_ms is None:
            message.deliver_ms = t_ms

    def _on_drop(self, record: EventRecord, t_ms: float) -> None:
        message = self._message_by_id.get(int(record["id"]))
        if message is not None and message.drop_ms is None and message.deliver_ms is None:
            message.drop_ms = t_ms
            message.drop_reason = str(record.get("reason", ""))

    def _on_invoke(self, record: EventRecord, t_ms: float) -> None:
        client = str(record["node"])
        op = ClientOp(
            client,
            int(record.get("process", 0)),
            int(record["request"]),
            str(record["f"]),
            record.get("key"),
            record.get("value"),
            t_ms,
            int(record["seq"]),
        )
        self.ops.append(op)
        self._open_ops[client] = op
        self.ops_by_trace[op.trace_id] = op
        self.invokes[(client, op.request)] = op

    def _on_client_end(self, record: EventRecord, t_ms: float) -> None:
        op = self._open_ops.pop(str(record["node"]), None)
        if op is None:
            return
        op.end_ms = t_ms
        op.outcome = _CLIENT_END[record["kind"]]
        op.result = record.get("value")

    def _on_redirect(self, record: EventRecord, t_ms: float) -> None:
        op = self._open_ops.get(str(record["node"]))
        if op is not None:
            op.redirects += 1

    # -- queries ------------------------------------------------------------------------

    def state_at(self, t_ms: float) -> ClusterState:
        """The cluster state after every state event stamped at or before ``t_ms``."""
        with self.lock:
            count = bisect.bisect_right(self._state_times, t_ms)
            checkpoint = min(count // CHECKPOINT_EVERY, len(self._checkpoints) - 1)
            state = self._checkpoints[checkpoint].copy()
            for record in self._state_events[checkpoint * CHECKPOINT_EVERY : count]:
                state.apply(record)
            state.t_ms = t_ms
            return state

    def log_at(self, node: str, t_ms: float) -> tuple[int, list[LogEntry]]:
        """A node's stable log at ``t_ms``: (snapshot index, entries after it)."""
        with self.lock:
            snapshot_index = 0
            log: list[LogEntry] = []
            for record in self.persists.get(node, ()):
                if float(record["t"]) > t_ms:
                    break
                snapshot = record.get("snapshot")
                if snapshot is not None:
                    snapshot_index = int(snapshot[0])
                    log = []
                entries = record.get("entries")
                if entries:
                    first = int(entries[0][0])
                    keep = max(0, first - snapshot_index - 1)
                    if keep < len(log):
                        del log[keep:]
                    log.extend(LogEntry(int(i), int(term), str(name)) for i, term, name in entries)
            compacted = self.state_at(t_ms).nodes.get(node)
            if compacted is not None and compacted.snapshot_index > snapshot_index:
                drop = compacted.snapshot_index - snapshot_index
                snapshot_index = compacted.snapshot_index
                log = log[drop:]
            return snapshot_index, log

    def messages_between(self, t0_ms: float, t1_ms: float) -> Iterator[Message]:
        """Messages sent in ``[t0_ms, t1_ms]``, in send order."""
        lo = bisect.bisect_left(self._message_times, t0_ms)
        hi = bisect.bisect_right(self._message_times, t1_ms)
        return iter(self.messages[lo:hi])

    def client_messages(self, client: str, t0_ms: float, t1_ms: float) -> list[Message]:
        """Messages to or from ``client`` sent in ``[t0_ms, t1_ms]``."""
        positions = self.messages_by_endpoint.get(client, [])
        times = [self.messages[p].send_ms for p in positions]
        lo = bisect.bisect_left(times, t0_ms)
        hi = bisect.bisect_right(times, t1_ms)
        return [self.messages[p] for p in positions[lo:hi]]

    def last_contact(self, src: str, dst: str, t_ms: float, horizon_ms: float) -> float | None:
        """Time of the last message from ``src`` delivered at ``dst`` within ``horizon_ms``."""
        lo = bisect.bisect_left(self._message_times, t_ms - horizon_ms)
        hi = bisect.bisect_right(self._message_times, t_ms)
        for message in reversed(self.messages[lo:hi]):
            if (
                message.src == src
                and message.dst == dst
                and message.deliver_ms is not None
                and message.deliver_ms <= t_ms
            ):
                return message.deliver_ms
        return None

    def commit_time(self, node: str, index: int, after_ms: float) -> float | None:
        """When ``node`` first reported a commit index at or above ``index`` after ``after_ms``."""
        for t_ms, committed in self.commits.get(node, ()):
            if t_ms >= after_ms and committed >= index:
                return t_ms
        return None


_INDEXERS: dict[str, Any] = {
    EventKind.RAFT_ROLE: RunIndex._on_role,
    EventKind.RUN_START: RunIndex._on_membership,
    EventKind.MEMBERSHIP: RunIndex._on_membership,
    EventKind.RAFT_PERSIST: RunIndex._on_persist,
    EventKind.RAFT_COMMIT: RunIndex._on_commit,
    EventKind.RAFT_APPLY: RunIndex._on_apply,
    EventKind.RAFT_RESTORE: RunIndex._on_restore,
    EventKind.NODE_CRASH: RunIndex._on_crash,
    EventKind.MSG_SEND: RunIndex._on_send,
    EventKind.MSG_DELIVER: RunIndex._on_deliver,
    EventKind.MSG_DROP: RunIndex._on_drop,
    EventKind.CLIENT_INVOKE: RunIndex._on_invoke,
    EventKind.CLIENT_OK: RunIndex._on_client_end,
    EventKind.CLIENT_FAIL: RunIndex._on_client_end,
    EventKind.CLIENT_INFO: RunIndex._on_client_end,
    EventKind.CLIENT_REDIRECT: RunIndex._on_redirect,
    **{kind: RunIndex._on_tree for kind in sorted(BTREE_KINDS)},
}
"""Event kind -> which per-kind index it extends."""


def server_ids(run_info: dict[str, Any]) -> list[str]:
    """``n1..nN`` from the resolved scenario's ``cluster.nodes``."""
    cluster = run_info.get("scenario", {}).get("cluster", {})
    count = cluster.get("nodes", 0) if isinstance(cluster, dict) else 0
    if not isinstance(count, int) or count < 0:
        count = 0
    return [f"n{number}" for number in range(1, count + 1)]


def load_run_index(run_dir: Path) -> RunIndex:
    """Read a run folder's ``run.json``, ``events.jsonl`` and ``history.jsonl`` into an index."""
    info = orjson.loads((run_dir / RUN_FILE).read_bytes())
    if not isinstance(info, dict):
        raise ValueError(f"{run_dir / RUN_FILE}: not a JSON object")
    index = RunIndex(info, server_ids(info))
    with index.lock, (run_dir / EVENTS_FILE).open("rb") as handle:
        for line in handle:
            if line.strip():
                index.feed(orjson.loads(line))
    history = run_dir / HISTORY_FILE
    if history.is_file():
        attach_history(index, history)
    return index


def attach_history(index: RunIndex, path: Path) -> None:
    """Map ``history.jsonl`` line numbers onto operations, for checks that cite them.

    The k-th invoke of a process in the history is that process's k-th operation.
    """
    per_process: dict[int, list[ClientOp]] = {}
    for op in index.ops:
        per_process.setdefault(op.process, []).append(op)
    invoked: dict[int, int] = {}
    open_ops: dict[int, ClientOp] = {}
    with path.open("rb") as handle:
        for number, line in enumerate(handle):
            if not line.strip():
                continue
            row = orjson.loads(line)
            process = int(row.get("process", -1))
            position = int(row.get("index", number))
            if row.get("type") == "invoke":
                ops = per_process.get(process, [])
                k = invoked.get(process, 0)
                invoked[process] = k + 1
                if k < len(ops):
                    ops[k].history_indices = (position, None)
                    open_ops[process] = ops[k]
            else:
                closing = open_ops.pop(process, None)
                if closing is not None:
                    closing.history_indices = (closing.history_indices[0], position)
