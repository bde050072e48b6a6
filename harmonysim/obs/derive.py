"""Metrics and traces derived from an event log, so every exporter works on any run folder.

Rules:
- Input is the record stream of ``events.jsonl`` (dicts with ``t`` in virtual
  ms, ``kind``, ``node`` and kind-specific fields), read in order; nothing here
  imports the simulator. Records are used as written: a field missing from a
  record leaves its metric untouched rather than guessing.
- ``event_kind(record)`` is the kind a record stands for.
- ``metrics_from_events`` fills the ``ClusterMetrics`` catalogue with what the
  log shows; gauges of server state are read from the one fold of the cluster
  (``harmonysim.runlog.fold``), counters and latencies from the records: roles,
  terms, commit/applied indexes and log length per server
  (Raft §5.1-§5.4), elections won and lost, votes granted (a new ``voted_for``
  made durable, §5.2), replication and commit latency (leader persist to
  follower persist, and to leader commit), B+ tree shape (as the fold counts
  it: restores, clears and restarts included) and structure changes, and
  applied writes, messages by type, client latencies and outcomes, faults,
  hosts up (crash and pause down; recover, restart and resume up) and fsync
  latency (``disk.fsync`` to ``disk.synced``, in order per disk).
  What the log does not show (AppendEntries results, B+ tree fill, reads served
  by ReadIndex) stays zero; the inline wiring maintains those.
- ``spans_from_events`` rebuilds the traces that the log's causality supports:
  one trace per client operation (request and reply hops, the server's
  handling, each server's persist and apply, the B+ tree write below the apply
  with its splits as span events), and one trace per election (RequestVote
  fan-out and responses). Ids come from the ``IdSource`` passed in, so the
  derived traces are as deterministic as the log.
- Faults in traces follow the crash: a crash ends the crashed server's election and
  fails the requests it serves; a clock, storage, repair, transfer, membership or
  no-op fault (``harmonysim.runlog.faultmarks.SERVER_FAULT_KINDS``) is a span event
  on every span open on the server it hits (its election, the requests it serves),
  named by ``fault_label``, with the attributes ``fault.kind`` (the record's kind)
  and ``fault.node``. A fault that finds no span open there leaves no trace (the
  Perfetto export and the dashboard still mark it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from harmonysim.obs.catalogue import ClusterMetrics
from harmonysim.obs.integration import RaftOp, raft_span_name
from harmonysim.obs.metrics import Registry
from harmonysim.obs.tracing import (
    AttributeValue,
    Category,
    IdSource,
    Span,
    SpanKind,
    TraceContext,
    Tracer,
)
from harmonysim.runlog.faultmarks import SERVER_FAULT_KINDS, fault_span_event, is_marked
from harmonysim.runlog.fold import ClusterState
from harmonysim.runlog.vocabulary import (
    BTREE_KINDS,
    CLIENT_END_KINDS,
    FAULT_KINDS,
    HEALTH_KINDS,
    EventKind,
)

__all__ = [
    "FAULT_KINDS",
    "SpanCollector",
    "event_kind",
    "metrics_from_events",
    "spans_from_events",
    "time_us",
]

Record = dict[str, Any]


def event_kind(record: Record) -> str:
    """The event kind ``record`` stands for."""
    return str(record.get("kind"))


def time_us(record: Record) -> int:
    """A record's virtual time in whole microseconds (``t`` is ms with three decimals)."""
    return round(float(record["t"]) * 1000.0)


def _is_client(node: str | None) -> bool:
    return node is not None and node.startswith("c")


# -- metrics -------------------------------------------------------------------------


@dataclass(slots=True)
class _Elections:
    """What the fold does not keep: a server's election in progress and its last vote."""

    role: str | None = ""
    electing: bool = False
    vote: tuple[int, str] | None = None


def metrics_from_events(records: Iterable[Record], registry: Registry | None = None) -> Registry:
    """Fill the metrics catalogue from an event stream (see the module docstring).

    Gauges of server state (roles, leaders, terms, indexes, hosts up, tree shape) read
    the one fold of the cluster state (``harmonysim.runlog.fold``) after each record
    that changes them; counters and latencies count the records themselves.
    """
    registry = registry if registry is not None else Registry()
    m = ClusterMetrics(registry)
    cluster = ClusterState.initial()
    elections: dict[str, _Elections] = {}
    messages: dict[int, tuple[str, int]] = {}  # id -> (type, sent at us)
    invoked: dict[str, tuple[str, int]] = {}  # client -> (op, invoked at us)
    leader_writes: dict[int, tuple[str, int, int]] = {}  # index -> (leader, term, persisted at us)
    fsyncs: dict[str, list[int]] = {}  # node -> start times (us) of its fsyncs in flight

    def server(node: str) -> _Elections:
        state = elections.get(node)
        if state is None:
            state = elections[node] = _Elections()
            m.btree_depth.labels(node).set(1)
            m.btree_nodes.labels(node).set(1)
        return state

    def publish_role(node: str, previous_leader: str | None) -> None:
        now = cluster.nodes[node]
        m.set_role(node, now.role or "")
        m.set_leader(node, now.leader, previous_leader)

    def publish_tree(node: str) -> None:
        server(node)
        shape = cluster.nodes[node]
        if shape.tree_depth is not None:  # unknown while down: the last value stands
            m.btree_depth.labels(node).set(shape.tree_depth)
        if shape.tree_nodes is not None:
            m.btree_nodes.labels(node).set(shape.tree_nodes)

    for record in records:
        kind = event_kind(record)
        node: str | None = record.get("node")
        now = time_us(record)
        # The fold changes its node states in place: what the metrics compare with is
        # read before the record is folded in.
        before = cluster.nodes.get(node) if node is not None else None
        previous_leader = before.leader if before is not None else None
        previous_commit = before.commit_index if before is not None else 0
        cluster.apply(record)
        if kind == EventKind.MSG_SEND:
            message_type = str(record.get("type", "?"))
            messages[int(record["id"])] = (message_type, now)
            m.network_messages_sent.labels(str(node), message_type).inc()
        elif kind == EventKind.MSG_DELIVER:
            sent = messages.get(int(record["id"]))
            message_type = sent[0] if sent else "?"
            m.network_messages_delivered.labels(str(node), message_type).inc()
            if sent is not None:
                m.network_message_latency.labels(message_type).observe((now - sent[1]) / 1e6)
        elif kind == EventKind.MSG_DROP:
            sent = messages.get(int(record["id"]))
            m.network_messages_dropped.labels(
                sent[0] if sent else "?", str(record.get("reason", "?"))
            ).inc()
        elif kind == EventKind.MSG_DUPLICATE:
            sent = messages.get(int(record["id"]))
            m.network_messages_duplicated.labels(sent[0] if sent else "?").inc()
        elif kind == EventKind.CLIENT_INVOKE and node is not None:
            invoked[node] = (str(record.get("f")), now)
        elif kind in CLIENT_END_KINDS and node is not None:
            started = invoked.pop(node, None)
            op = str(record.get("f"))
            result = kind.removeprefix("client.")
            m.client_operations.labels(op, result).inc()
            if started is not None:
                m.client_operation_latency.labels(op, result).observe((now - started[1]) / 1e6)
        elif kind == EventKind.CLIENT_REDIRECT:
            m.client_redirects.labels(str(record.get("status"))).inc()
        elif kind == EventKind.DISK_DAMAGE and node is not None:
            count = record.get("records")
            m.disk_corruptions_detected.labels(node, str(record.get("file"))).inc(
                max(1, count if isinstance(count, int) else 1)
            )
        elif kind in FAULT_KINDS:
            m.faults.labels(kind).inc()
            if kind in HEALTH_KINDS and node is not None:
                m.node_up.labels(node).set(1 if cluster.nodes[node].running else 0)
            elif kind == EventKind.NODE_CLOCK and node is not None:
                # As of this event; between clock events the inline sampler follows drift.
                skew_ms = float(record.get("wall_ms", 0.0)) - float(record.get("t", 0.0))
                m.clock_skew.labels(node).set(skew_ms / 1000.0)
            elif kind == EventKind.DISK_LOST and node is not None:
                fsyncs.pop(node, None)  # the fsyncs in flight never finish
            if kind == EventKind.NODE_CRASH and node is not None:
                state = server(node)
                publish_role(node, previous_leader)
                state.role, state.electing = "", False
            elif kind == EventKind.NODE_RESTART and node is not None:
                publish_tree(node)
        elif node is None or _is_client(node):
            continue
        elif kind == EventKind.RAFT_RECOVER:
            m.node_up.labels(node).set(1)
            state = server(node)
            now_state = cluster.nodes[node]
            m.raft_term.labels(node).set(now_state.term)
            m.raft_commit_index.labels(node).set(now_state.commit_index)
            m.raft_log_length.labels(node).set(now_state.last_index)
            m.raft_applied_index.labels(node).set(now_state.applied_index)
            if now_state.voted_for is not None:
                state.vote = (now_state.term, now_state.voted_for)
            m.set_role(node, "follower")
            state.role = "follower"
        elif kind == EventKind.RAFT_ROLE:
            state = server(node)
            role = str(record.get("role"))
            if role == "candidate":
                if state.electing and state.role == "candidate":
                    m.raft_elections.labels(node, "lost").inc()
                state.electing = True
            elif role == "leader":
                if state.electing:
                    m.raft_elections.labels(node, "won").inc()
                m.raft_leader_changes.labels(node).inc()
                state.electing = False
            elif role == "follower":
                if state.electing and state.role == "candidate":
                    m.raft_elections.labels(node, "lost").inc()
                state.electing = False
            state.role = role
            publish_role(node, previous_leader)
            if "term" in record:
                m.raft_term.labels(node).set(cluster.nodes[node].term)
        elif kind == EventKind.RAFT_TERM:
            m.raft_term.labels(node).set(cluster.nodes[node].term)
        elif kind == EventKind.RAFT_PERSIST:
            state = server(node)
            term = record.get("term")
            voted_for = record.get("voted_for")
            if term is not None and voted_for is not None:
                vote = (int(term), str(voted_for))
                if vote != state.vote:
                    state.vote = vote
                    m.raft_votes_granted.labels(node).inc()
            if record.get("snapshot") or record.get("entries"):
                m.raft_log_length.labels(node).set(cluster.nodes[node].last_index)
            entries = record.get("entries")
            if entries:
                for index, entry_term, _ in entries:
                    if state.role == "leader":
                        leader_writes[int(index)] = (node, int(entry_term), now)
                    else:
                        written = leader_writes.get(int(index))
                        if written is not None and written[1] == entry_term and written[0] != node:
                            m.raft_replication_latency.labels(node).observe(
                                (now - written[2]) / 1e6
                            )
        elif kind == EventKind.RAFT_COMMIT:
            state = server(node)
            index = int(record["index"])
            if state.role == "leader":
                for committed in range(previous_commit + 1, index + 1):
                    written = leader_writes.get(committed)
                    if written is not None and written[0] == node:
                        m.raft_commit_latency.labels(node).observe((now - written[2]) / 1e6)
            m.raft_commit_index.labels(node).set(cluster.nodes[node].commit_index)
        elif kind == EventKind.RAFT_APPLY:
            m.raft_applied_index.labels(node).set(cluster.nodes[node].applied_index)
            if "f" in record:
                m.btree_operations.labels(
                    node, str(record["f"]), str(record.get("status", "ok"))
                ).inc()
        elif kind == EventKind.RAFT_RESTORE:
            m.raft_applied_index.labels(node).set(cluster.nodes[node].applied_index)
        elif kind == EventKind.DISK_FSYNC:
            fsyncs.setdefault(str(node), []).append(now)
        elif kind == EventKind.DISK_SYNCED:
            in_flight = fsyncs.get(str(node))
            if in_flight:
                m.disk_fsync_latency.labels(str(node)).observe((now - in_flight.pop(0)) / 1e6)
        elif kind == EventKind.RAFT_SNAPSHOT:
            m.raft_snapshots.labels(node).inc()
        elif kind == EventKind.BTREE_SPLIT:
            m.btree_splits.labels(node, str(record.get("node_kind"))).inc()
            publish_tree(node)
        elif kind == EventKind.BTREE_MERGE:
            m.btree_merges.labels(node, str(record.get("node_kind"))).inc()
            publish_tree(node)
        elif kind == EventKind.BTREE_BORROW:
            m.btree_borrows.labels(node, str(record.get("node_kind"))).inc()
        elif kind == EventKind.BTREE_ROOT:
            publish_tree(node)
    return registry


# -- traces --------------------------------------------------------------------------


class SpanCollector:
    """A span sink that keeps every span it is given, in order (for exports and tests)."""

    __slots__ = ("spans",)

    def __init__(self) -> None:
        self.spans: list[Span] = []

    def write_spans(self, spans: Sequence[Span]) -> None:
        self.spans.extend(spans)


@dataclass(slots=True)
class _OpenRequest:
    root: Span
    client: str
    seq: int


@dataclass(slots=True)
class _Hop:
    span: Span
    arrivals_left: int
    message_type: str
    src: str
    dst: str


def spans_from_events(records: Iterable[Record], ids: IdSource) -> list[Span]:
    """Rebuild client-operation and election traces from an event stream (module docstring)."""
    clock = [0]
    collector = SpanCollector()
    tracer = Tracer(ids, lambda: clock[0], 1.0, collector, max_buffered_spans=0, batch_spans=1)
    operations: dict[str, _OpenRequest] = {}  # client -> its open operation
    by_entry: dict[str, TraceContext] = {}  # "client:seq" -> root context of that operation
    hops: dict[int, _Hop] = {}  # message id -> its hop span, until its last copy arrives
    serving: dict[tuple[str, str], Span] = {}  # (server, client) -> request being handled
    elections: dict[str, Span] = {}  # candidate -> its election span
    votes_asked: dict[tuple[str, str], TraceContext] = {}  # (voter, candidate) -> request hop
    structure: dict[str, list[tuple[str, dict[str, AttributeValue]]]] = {}  # node -> tree events

    def send(record: Record, parent: TraceContext | Span) -> None:
        message_type = str(record.get("type"))
        src, dst = str(record["node"]), str(record["dst"])
        span = tracer.start_span(
            f"{message_type} {src}->{dst}",
            parent,
            src,
            Category.NETWORK,
            SpanKind.PRODUCER,
            {"message.id": int(record["id"]), "message.type": message_type, "net.peer": dst},
        )
        hops[int(record["id"])] = _Hop(span, 1, message_type, src, dst)

    def close_election(candidate: str, result: str) -> None:
        span = elections.pop(candidate, None)
        if span is not None:
            span.set_attribute("raft.election.result", result)
            if result == "won":
                span.set_ok()
            span.end()

    def note_fault(record: Record) -> None:
        """A span event on every span open on the server the fault hits (module rules)."""
        event = fault_span_event(record)
        if event is None:
            return
        hit, label, fields = event
        attributes: dict[str, AttributeValue] = dict(fields)
        open_spans = [elections[hit]] if hit in elections else []
        open_spans += [serving[key] for key in sorted(serving) if key[0] == hit]
        for span in open_spans:
            span.add_event(label, attributes)

    for record in records:
        kind = event_kind(record)
        node: str | None = record.get("node")
        clock[0] = time_us(record)
        if kind in SERVER_FAULT_KINDS and is_marked(record):
            note_fault(record)
        if kind == EventKind.MSG_SEND and node is not None:
            message_type = record.get("type")
            dst = str(record.get("dst"))
            operation = operations.get(node)
            if message_type == "ClientRequest" and operation is not None:
                send(record, operation.root)
            elif message_type == "ClientReply":
                handling = serving.pop((node, dst), None)
                if handling is not None:
                    send(record, handling)
                    handling.end()
            elif message_type == "RequestVote" and node in elections:
                send(record, elections[node])
            elif message_type == "RequestVoteResponse":
                asked = votes_asked.pop((node, dst), None)
                if asked is not None:
                    send(record, asked)
        elif kind == EventKind.MSG_DUPLICATE:
            hop = hops.get(int(record["id"]))
            if hop is not None:
                hop.arrivals_left += 1
                hop.span.add_event("duplicate")
        elif kind in (EventKind.MSG_DELIVER, EventKind.MSG_DROP):
            hop = hops.get(int(record["id"]))
            if hop is None:
                continue
            hop.arrivals_left -= 1
            if hop.arrivals_left <= 0:
                del hops[int(record["id"])]
            if kind == EventKind.MSG_DROP:
                hop.span.add_event("drop", {"reason": str(record.get("reason"))})
                hop.span.end()
                continue
            first = not hop.span.ended
            hop.span.end()
            if not first:
                continue
            if hop.message_type == "ClientRequest":
                previous = serving.pop((hop.dst, hop.src), None)
                if previous is not None:
                    previous.add_event("superseded")
                    previous.end()
                serving[(hop.dst, hop.src)] = tracer.start_span(
                    "kv.request", hop.span, hop.dst, Category.RAFT, SpanKind.SERVER
                )
            elif hop.message_type == "RequestVote":
                votes_asked[(hop.dst, hop.src)] = hop.span.context
            elif hop.message_type == "RequestVoteResponse" and hop.dst in elections:
                elections[hop.dst].add_event("vote response", {"voter": hop.src})
        elif kind == EventKind.CLIENT_INVOKE and node is not None:
            f = str(record.get("f"))
            root = tracer.start_trace(
                f"kv.{f}",
                node,
                Category.CLIENT,
                SpanKind.CLIENT,
                {
                    "kv.op": f,
                    "kv.key": str(record.get("key")),
                    "client.seq": int(record["request"]),
                },
            )
            operations[node] = _OpenRequest(root, node, int(record["request"]))
            by_entry[f"{node}:{int(record['request'])}"] = root.context
        elif kind in CLIENT_END_KINDS and node is not None:
            operation = operations.pop(node, None)
            if operation is None:
                continue
            result = kind.removeprefix("client.")
            operation.root.set_attribute("kv.result", result)
            if result == "info":
                operation.root.set_error("indeterminate: no answer within the timeout")
            elif result == "ok":
                operation.root.set_ok()
            operation.root.end()
        elif kind == EventKind.CLIENT_REDIRECT and node in operations:
            operations[node].root.add_event(
                "redirect", {"from": str(record.get("from")), "status": str(record.get("status"))}
            )
        elif node is None or _is_client(node):
            continue
        elif kind == EventKind.RAFT_ROLE:
            role = record.get("role")
            term = int(record.get("term", 0))
            if role in ("pre_candidate", "candidate"):
                current = elections.get(node)
                if current is not None and role == "candidate":
                    if current.attributes.get("raft.phase") == "pre_vote":
                        current.add_event("pre-vote won", {"term": term})
                        current.set_attribute("raft.phase", "vote")
                        current.set_attribute("raft.term", term)
                        continue
                    close_election(node, "lost")
                if node not in elections:
                    elections[node] = tracer.start_trace(
                        "raft.election",
                        node,
                        Category.RAFT,
                        SpanKind.INTERNAL,
                        {
                            "raft.term": term,
                            "raft.phase": "pre_vote" if role == "pre_candidate" else "vote",
                        },
                    )
            elif role == "leader":
                close_election(node, "won")
            else:
                close_election(node, "lost")
        elif kind in BTREE_KINDS:
            fields: dict[str, AttributeValue] = {
                key: value if isinstance(value, int | float | bool) else str(value)
                for key, value in record.items()
                if key not in ("t", "seq", "kind", "node") and value is not None
            }
            structure.setdefault(node, []).append((kind, fields))
        elif kind == EventKind.RAFT_PERSIST and record.get("entries"):
            for index, term, entry in record["entries"]:
                parent = by_entry.get(str(entry))
                if parent is not None:
                    tracer.start_span(
                        raft_span_name(RaftOp.PERSIST),
                        parent,
                        node,
                        Category.STORAGE,
                        SpanKind.INTERNAL,
                        {"raft.index": int(index), "raft.term": int(term)},
                    ).end()
        elif kind == EventKind.RAFT_APPLY:
            tree_events = structure.pop(node, [])
            parent = by_entry.get(str(record.get("entry")))
            if parent is None:
                continue
            apply = tracer.start_span(
                raft_span_name(RaftOp.APPLY),
                parent,
                node,
                Category.RAFT,
                SpanKind.INTERNAL,
                {"raft.index": int(record["index"]), "raft.term": int(record["term"])},
            )
            f = str(record.get("f", "?"))
            tree = tracer.start_span(
                f"btree.{f}",
                apply,
                node,
                Category.BTREE,
                SpanKind.INTERNAL,
                {
                    "btree.op": f,
                    "btree.key": str(record.get("key")),
                    "kv.status": str(record.get("status")),
                },
            )
            for name, attributes in tree_events:
                tree.add_event(name, attributes)
            tree.end()
            apply.end()
        elif kind == EventKind.NODE_CRASH:
            close_election(node, "crashed")
            for key in sorted(serving):
                if key[0] == node:
                    span = serving.pop(key)
                    span.set_error("server crashed")
                    span.end()
    # Whatever is still open ends with the log.
    for operation in operations.values():
        operation.root.set_attribute("kv.result", "pending")
        operation.root.end()
    for candidate in sorted(elections):
        close_election(candidate, "unfinished")
    for key in sorted(serving):
        serving[key].end()
    for message_id in sorted(hops):
        hops[message_id].span.add_event("in flight at end of run")
        hops[message_id].span.end()
    tracer.flush()
    return collector.spans
