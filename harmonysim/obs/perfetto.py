"""Chrome trace events (``trace.perfetto.json``) from an event log, plus spans when present.

Rules (Chrome "Trace Event Format", as Perfetto's JSON importer reads it):
- One process per node, ``pid`` assigned in natural node order (servers n1, n2,
  ..., then clients c1, ...), named with ``process_name`` metadata; pid 0 is
  the cluster itself (faults). Threads are fixed per category: client, network,
  raft, btree, storage, and faults, named with ``thread_name`` metadata.
- Times: ``ts`` and ``dur`` in microseconds of virtual time (integers).
- Complete slices (``ph: X``) are strictly nested per thread: every slice is
  placed on the first lane of its thread whose previous slice has ended, and a
  lane past the first is its own thread (``storage #2``). Slices drawn: client
  operations (invoke to completion), Raft role periods (§5.1: follower,
  candidate, leader, per term), fsyncs (write to durable), and one 1 µs network
  slice per node and microsecond that sent or received messages.
- Every delivered message copy is a flow arrow (``ph: s`` in the sender's
  network slice, ``ph: f`` with ``bp: e`` in the receiver's), with an integer
  id unique in the file. Drops and duplicates are instant events.
- Counters (``ph: C``) per node: ``term`` and ``commit_index``.
- B+ tree structure changes, applies, snapshots, crashes and restarts are
  instant events (``ph: i``, thread scope) on their thread.
- The fault marks (``harmonysim.runlog.faultmarks``: clock, storage, transfer,
  membership, no-op faults) are on the ``faults`` thread of the server they hit,
  named by ``fault_label``: a slice for what lasts (a clock at another rate or
  strobing, a slow disk, a halted server), an instant for the rest; ``args.fault``
  is the mark's kind (``clock rate``, ``disk fault``...), a transfer's ``args.to``
  its target. Records that name no node (partitions, clogs, the nemesis,
  membership steps) are instants of the cluster, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harmonysim.obs.derive import Record, event_kind, time_us
from harmonysim.obs.tracing import Category, Span
from harmonysim.runlog.faultmarks import FaultMarker
from harmonysim.runlog.fold import ClusterState
from harmonysim.runlog.vocabulary import (
    CLIENT_END_KINDS,
    HEALTH_KINDS,
    EventKind,
    servers_first_key,
)

__all__ = ["FAULTS_THREAD", "THREADS", "perfetto_trace"]

THREADS: tuple[Category, ...] = (
    Category.CLIENT,
    Category.NETWORK,
    Category.RAFT,
    Category.BTREE,
    Category.STORAGE,
)
FAULTS_THREAD = "faults"
"""The thread of each server that holds its fault marks (after the category threads)."""
_LANE_STRIDE = 10
_CLUSTER = "cluster"
Thread = Category | str  # a category's thread, or FAULTS_THREAD


@dataclass(slots=True)
class _Thread:
    lane_ends: list[int] = field(default_factory=list)


class _Builder:
    def __init__(self) -> None:
        self.pids: dict[str, int] = {}
        self.events: list[dict[str, Any]] = []
        self.threads: dict[tuple[int, Thread], _Thread] = {}
        self.used_tids: dict[tuple[int, int], str] = {}

    def pid(self, node: str) -> int:
        pid = self.pids.get(node)
        if pid is None:
            pid = self.pids[node] = len(self.pids)
        return pid

    def tid(self, pid: int, category: Thread, lane: int = 0) -> int:
        position = THREADS.index(category) if category in THREADS else len(THREADS)
        tid = position + 1 + lane * _LANE_STRIDE
        if (pid, tid) not in self.used_tids:
            name = str(category) if lane == 0 else f"{category} #{lane + 1}"
            self.used_tids[(pid, tid)] = name
        return tid

    def slice(
        self,
        node: str,
        category: Thread,
        name: str,
        start_us: int,
        end_us: int,
        args: dict[str, Any] | None = None,
    ) -> tuple[int, int]:
        """Add an X slice on the first lane where it fits; returns its (pid, tid)."""
        pid = self.pid(node)
        thread = self.threads.setdefault((pid, category), _Thread())
        end_us = max(end_us, start_us)
        for lane, lane_end in enumerate(thread.lane_ends):
            if lane_end <= start_us:
                thread.lane_ends[lane] = end_us
                break
        else:
            lane = len(thread.lane_ends)
            thread.lane_ends.append(end_us)
        tid = self.tid(pid, category, lane)
        event: dict[str, Any] = {
            "name": name,
            "cat": str(category),
            "ph": "X",
            "ts": start_us,
            "dur": end_us - start_us,
            "pid": pid,
            "tid": tid,
        }
        if args:
            event["args"] = args
        self.events.append(event)
        return pid, tid

    def instant(
        self, node: str, category: Thread, name: str, ts: int, args: dict[str, Any] | None = None
    ) -> None:
        pid = self.pid(node)
        event: dict[str, Any] = {
            "name": name,
            "cat": str(category),
            "ph": "i",
            "s": "t",
            "ts": ts,
            "pid": pid,
            "tid": self.tid(pid, category),
        }
        if args:
            event["args"] = args
        self.events.append(event)

    def counter(self, node: str, name: str, ts: int, value: int) -> None:
        self.events.append(
            {"name": name, "ph": "C", "ts": ts, "pid": self.pid(node), "args": {name: value}}
        )


@dataclass(slots=True)
class _Message:
    src: str
    dst: str
    type: str
    sent_us: int


def perfetto_trace(records: Iterable[Record], spans: Sequence[Span] = ()) -> dict[str, Any]:
    """The Chrome trace JSON object for an event stream (and optional spans)."""
    builder = _Builder()
    builder.pid(_CLUSTER)
    messages: dict[int, _Message] = {}
    # (node, ts) -> [sends as (flow id), receives as (flow id)]
    network: dict[tuple[str, int], tuple[list[int], list[int]]] = {}
    flows: list[tuple[int, str, int, str, int, str]] = []  # id, src, sent, dst, arrived, type
    roles: dict[str, tuple[str, int, int]] = {}  # node -> (role, term, since)
    operations: dict[str, tuple[Record, int]] = {}
    fsyncs: dict[str, list[int]] = {}
    end_us = 0

    def close_role(node: str, at_us: int) -> None:
        current = roles.pop(node, None)
        if current is not None:
            role, term, since = current
            builder.slice(
                node, Category.RAFT, f"{role} (term {term})", since, at_us, {"term": term}
            )

    cluster = ClusterState.initial()  # roles, terms and commit indexes: the one fold
    marker = FaultMarker()
    for record in records:
        kind = event_kind(record)
        node = record.get("node")
        ts = time_us(record)
        end_us = max(end_us, ts)
        cluster.apply(record)
        marker.feed(record)
        if node is None:
            if kind not in (EventKind.RUN_START, EventKind.RUN_END):
                args = {k: v for k, v in record.items() if k not in ("t", "seq", "kind", "node")}
                builder.instant(_CLUSTER, Category.NETWORK, kind, ts, args)
            continue
        builder.pid(node)
        if kind == EventKind.MSG_SEND:
            message_id = int(record["id"])
            messages[message_id] = _Message(node, str(record["dst"]), str(record.get("type")), ts)
            network.setdefault((node, ts), ([], []))
        elif kind == EventKind.MSG_DELIVER:
            message = messages.get(int(record["id"]))
            if message is None:
                continue
            flow_id = len(flows) + 1
            flows.append((flow_id, message.src, message.sent_us, node, ts, message.type))
            network[(message.src, message.sent_us)][0].append(flow_id)
            network.setdefault((node, ts), ([], []))[1].append(flow_id)
        elif kind in (EventKind.MSG_DROP, EventKind.MSG_DUPLICATE, EventKind.MSG_HOLD):
            message = messages.get(int(record["id"]))
            name = kind.removeprefix("msg.")
            args = {"id": int(record["id"]), "reason": record.get("reason")}
            if message is not None:
                name = f"{name} {message.type} {message.src}->{message.dst}"
            builder.instant(node, Category.NETWORK, name, ts, args)
        elif kind == EventKind.CLIENT_INVOKE:
            operations[node] = (record, ts)
        elif kind in CLIENT_END_KINDS:
            started = operations.pop(node, None)
            if started is not None:
                invoke, since = started
                builder.slice(
                    node,
                    Category.CLIENT,
                    f"{invoke.get('f')} {invoke.get('key')}",
                    since,
                    ts,
                    {"result": kind.removeprefix("client."), "value": record.get("value")},
                )
        elif kind == EventKind.CLIENT_REDIRECT:
            builder.instant(node, Category.CLIENT, "redirect", ts, {"from": record.get("from")})
        elif kind == EventKind.RAFT_ROLE:
            close_role(node, ts)
            state = cluster.nodes[node]
            roles[node] = (str(state.role), state.term, ts)
        elif kind == EventKind.RAFT_RECOVER:
            state = cluster.nodes[node]
            roles[node] = (str(state.role), state.term, ts)
            builder.counter(node, "term", ts, state.term)
            builder.counter(node, "commit_index", ts, state.commit_index)
        elif kind == EventKind.RAFT_TERM:
            builder.counter(node, "term", ts, cluster.nodes[node].term)
        elif kind == EventKind.RAFT_COMMIT:
            builder.counter(node, "commit_index", ts, cluster.nodes[node].commit_index)
        elif kind == EventKind.RAFT_APPLY:
            name = f"apply {record.get('index')}"
            if "f" in record:
                name = f"{record['f']} {record.get('key')}"
            builder.instant(node, Category.BTREE, name, ts, {"index": record.get("index")})
        elif kind.startswith("btree."):
            args = {k: v for k, v in record.items() if k not in ("t", "seq", "kind", "node")}
            builder.instant(node, Category.BTREE, kind, ts, args)
        elif kind in (EventKind.RAFT_SNAPSHOT, EventKind.RAFT_RESTORE):
            builder.instant(node, Category.RAFT, kind, ts, {"index": record.get("index")})
        elif kind == EventKind.DISK_FSYNC:
            fsyncs.setdefault(node, []).append(ts)
        elif kind == EventKind.DISK_SYNCED:
            pending = fsyncs.get(node)
            if pending:
                builder.slice(
                    node, Category.STORAGE, "fsync", pending.pop(0), ts, {"ops": record.get("ops")}
                )
        elif kind in HEALTH_KINDS or kind == EventKind.DISK_LOST:
            if kind == EventKind.NODE_CRASH:
                close_role(node, ts)
                fsyncs.pop(node, None)
            builder.instant(node, Category.RAFT, kind, ts)

    for node in sorted(roles, key=servers_first_key):
        close_role(node, end_us)
    for mark in marker.finish(end_us / 1000.0):
        if mark.node is None:
            continue  # a fault that names no server: its record is a cluster instant
        fault_args: dict[str, Any] = {"fault": mark.kind.value}
        if mark.peer is not None:
            fault_args["to"] = mark.peer
        start = round(mark.start_ms * 1000.0)
        if mark.lasting:
            end = round(mark.end_ms * 1000.0)
            builder.slice(mark.node, FAULTS_THREAD, mark.label, start, end, fault_args)
        else:
            builder.instant(mark.node, FAULTS_THREAD, mark.label, start, fault_args)
    for node in sorted(operations, key=servers_first_key):
        invoke, since = operations[node]
        builder.slice(
            node, Category.CLIENT, f"{invoke.get('f')} {invoke.get('key')}", since, end_us
        )

    # Network slices: one per (node, microsecond), each holding its flow ends.
    flow_ends: dict[tuple[str, int], tuple[int, int]] = {}
    for (node, ts), (sends, receives) in sorted(
        network.items(), key=lambda item: (item[0][1], servers_first_key(item[0][0]))
    ):
        if not sends and not receives:
            continue
        name = f"net {len(receives)} in / {len(sends)} out"
        flow_ends[(node, ts)] = builder.slice(node, Category.NETWORK, name, ts, ts + 1)
    for flow_id, src, sent_us, dst, arrived_us, message_type in flows:
        src_pid, src_tid = flow_ends[(src, sent_us)]
        dst_pid, dst_tid = flow_ends[(dst, arrived_us)]
        common = {"name": message_type, "cat": "message", "id": flow_id, "bp": "e"}
        builder.events.append({**common, "ph": "s", "ts": sent_us, "pid": src_pid, "tid": src_tid})
        builder.events.append(
            {**common, "ph": "f", "ts": arrived_us, "pid": dst_pid, "tid": dst_tid}
        )

    for span in spans:
        span_args: dict[str, Any] = {
            "trace_id": f"{span.context.trace_id:032x}",
            "span_id": f"{span.context.span_id:016x}",
            **span.attributes,
        }
        end = span.end_us if span.end_us is not None else span.start_us
        builder.slice(span.node, span.category, span.name, span.start_us, end, span_args)

    # Final pids in natural node order (the cluster is 0), then metadata naming them.
    nodes = sorted((node for node in builder.pids if node != _CLUSTER), key=servers_first_key)
    numbering = {_CLUSTER: 0, **{node: index + 1 for index, node in enumerate(nodes)}}
    pid_map = {builder.pids[node]: numbering[node] for node in builder.pids}
    metadata: list[dict[str, Any]] = []
    for node, pid in sorted(numbering.items(), key=lambda item: item[1]):
        metadata.append({"name": "process_name", "ph": "M", "pid": pid, "args": {"name": node}})
        metadata.append(
            {"name": "process_sort_index", "ph": "M", "pid": pid, "args": {"sort_index": pid}}
        )
    for (old_pid, tid), name in sorted(
        builder.used_tids.items(), key=lambda item: (pid_map[item[0][0]], item[0][1])
    ):
        pid = pid_map[old_pid]
        metadata.append(
            {"name": "thread_name", "ph": "M", "pid": pid, "tid": tid, "args": {"name": name}}
        )
        metadata.append(
            {
                "name": "thread_sort_index",
                "ph": "M",
                "pid": pid,
                "tid": tid,
                "args": {"sort_index": tid},
            }
        )
    for event in builder.events:
        event["pid"] = pid_map[event["pid"]]
    builder.events.sort(key=lambda event: int(event["ts"]))  # stable: ties keep their order
    return {"displayTimeUnit": "ms", "traceEvents": metadata + builder.events}
