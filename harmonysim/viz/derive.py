"""From event and history records to the intervals and series the plots draw.

Everything here is pure: records in, frozen values out, no matplotlib. The rules
each function applies to the event vocabulary (``harmonysim.sim.events``):

- Roles (Raft §5.1, and the PreVote phase of thesis §9.6): every server is a
  follower from the start of the run and after every restart; a ``raft.role``
  record switches its role. A ``node.crash`` ends the current role; the node has no
  role while down. The term of a role span is the term its ``raft.role`` record
  carries (or, after a restart, the term ``raft.recover`` read back from disk).
- Outages: a node is down from ``node.crash`` to the next ``node.restart`` (or the
  end of the run) and paused from ``node.pause`` to ``node.resume`` (a crash also
  ends a pause).
- Partitions: one partition holds from a ``net.partition`` to the next
  ``net.heal`` or ``net.partition`` (a new partition replaces the old one), or the
  end of the run. Its ``cut`` lists the directed links that drop messages.
  Clogs are per directed link, from the ``net.clog`` that lists it to the
  ``net.unclog`` that lists it.
- Membership (thesis §4.1): the configuration starts as the ``members`` that
  ``run.start`` lists (every server when it lists none) and changes at each
  ``membership`` record whose ``result`` is ``committed`` (its ``voters``). A
  server outside it (a spare not yet added, a server removed) is drawn so.
- Terms: a term change is the first ``raft.term`` record of a term higher than
  any seen before in the cluster (terms only grow, §5.1).
- Commit index: a step series per node from ``raft.commit``; after a restart it
  resumes from the commit index ``raft.recover`` read back; it is undefined
  (a gap) while the node is down.
- Messages: a message sent (``msg.send``) in a window is drawn as one arrow per
  ``msg.deliver`` of its id (a duplicated message is delivered twice), and as a
  dropped arrow for a ``msg.drop`` of its id. A drop record that names ``dst`` was
  dropped by the sender's side of the network at send time; one that names
  ``src`` was dropped on arrival.
- Operations (Jepsen history): each process has at most one operation in flight,
  so an invoke pairs with the next ok / fail / info row of the same process. An
  invoke with no completion is left ``info`` at the last time of the history.
- B+ tree shape: a tree starts (and restarts with its node) as one leaf: depth 1,
  one node. A split adds a node, a root split adds the new root, a merge and a root
  collapse remove one; a restore (bulk load from a snapshot) sets the depth, and
  sets the node count only when its record carries ``node_count`` -- otherwise the
  count is unknown until the next restart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from harmonysim.btree.observer import StructureReason
from harmonysim.raft import Role
from harmonysim.runlog.fold import ClusterState, Health
from harmonysim.runlog.vocabulary import (
    HEALTH_KINDS,
    SERVER_KINDS,
    EventKind,
    EventRecord,
    natural_key,
)
from harmonysim.viz.records import HistoryRow, PlotInputError

__all__ = [
    "ClogSpan",
    "CommitSeries",
    "MessageArrow",
    "MessageFate",
    "OperationOutcome",
    "OperationSpan",
    "Outage",
    "OutageSpan",
    "OutsideSpan",
    "PartitionSpan",
    "RoleSpan",
    "TermChange",
    "TreeSample",
    "clog_spans",
    "commit_series",
    "default_message_window",
    "event_nodes",
    "message_arrows",
    "message_window_anchor",
    "natural_key",
    "operations",
    "outage_spans",
    "outside_spans",
    "partition_spans",
    "role_spans",
    "run_end_ms",
    "term_changes",
    "tree_samples",
]

_CRASH = EventKind.NODE_CRASH.value
_RESTART = EventKind.NODE_RESTART.value
_PAUSE = EventKind.NODE_PAUSE.value
_RESUME = EventKind.NODE_RESUME.value
_ROLE = EventKind.RAFT_ROLE.value
_TERM = EventKind.RAFT_TERM.value
_COMMIT = EventKind.RAFT_COMMIT.value
_RECOVER = EventKind.RAFT_RECOVER.value
_PARTITION = EventKind.NET_PARTITION.value
_HEAL = EventKind.NET_HEAL.value
_CLOG = EventKind.NET_CLOG.value
_UNCLOG = EventKind.NET_UNCLOG.value
_SEND = EventKind.MSG_SEND.value
_DELIVER = EventKind.MSG_DELIVER.value
_DROP = EventKind.MSG_DROP.value
_SPLIT = EventKind.BTREE_SPLIT.value
_MERGE = EventKind.BTREE_MERGE.value
_ROOT = EventKind.BTREE_ROOT.value
_RUN_END = EventKind.RUN_END.value
_RUN_START = EventKind.RUN_START.value
_MEMBERSHIP = EventKind.MEMBERSHIP.value
_ROLE_KINDS = frozenset({_ROLE, _RECOVER, _CRASH, _RESTART})
_COMMIT_KINDS = frozenset({_COMMIT, _RECOVER, _CRASH})
_TREE_KINDS = frozenset({_SPLIT, _MERGE, _ROOT, _CRASH, _RESTART})


def event_nodes(events: Iterable[EventRecord]) -> tuple[str, ...]:
    """The server ids that appear in server-side records, in natural order."""
    seen = {record["node"] for record in events if record["kind"] in SERVER_KINDS}
    return tuple(sorted((node for node in seen if isinstance(node, str)), key=natural_key))


def run_end_ms(events: Sequence[EventRecord], default_ms: float = 0.0) -> float:
    """The time of ``run.end`` (else of the last record, else ``default_ms``)."""
    for record in reversed(events):
        if record["kind"] == _RUN_END:
            return float(record["t"])
    return max(default_ms, float(events[-1]["t"])) if events else default_ms


# -- Raft roles, outages, terms, commit ------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoleSpan:
    """A node held ``role`` in ``term`` over ``[start_ms, end_ms)``."""

    node: str
    role: Role
    term: int
    start_ms: float
    end_ms: float


class Outage(StrEnum):
    """Why a node does not take part for a while."""

    DOWN = "down"
    PAUSED = "paused"


_OUTAGES = {Health.DOWN: Outage.DOWN, Health.PAUSED: Outage.PAUSED}


@dataclass(frozen=True, slots=True)
class OutageSpan:
    node: str
    outage: Outage
    start_ms: float
    end_ms: float


@dataclass(frozen=True, slots=True)
class OutsideSpan:
    """``node`` was outside the committed configuration from ``start_ms`` to ``end_ms``."""

    node: str
    start_ms: float
    end_ms: float


@dataclass(frozen=True, slots=True)
class TermChange:
    """The cluster first reached ``term`` at ``t_ms``, on ``node``."""

    t_ms: float
    term: int
    node: str


def role_spans(
    events: Iterable[EventRecord], nodes: Sequence[str], end_ms: float
) -> list[RoleSpan]:
    """Role spans of every node in ``nodes``, ordered by node then time."""
    cluster = ClusterState.initial(nodes)
    current: dict[str, tuple[Role, int, float] | None] = {
        node: (Role.FOLLOWER, 0, 0.0) for node in nodes
    }
    spans: dict[str, list[RoleSpan]] = {node: [] for node in nodes}

    def close(node: str, t_ms: float) -> None:
        span = current[node]
        if span is not None and t_ms > span[2]:
            spans[node].append(RoleSpan(node, span[0], span[1], span[2], t_ms))
        current[node] = None

    for record in events:
        kind = record["kind"]
        node = record["node"]
        if kind == _ROLE and node in current:
            try:
                Role(record["role"])
            except ValueError:
                raise PlotInputError(f"unknown Raft role {record['role']!r}") from None
        cluster.apply(record)
        if node not in current or kind not in _ROLE_KINDS:
            continue
        t_ms = float(record["t"])
        state = cluster.nodes[node]
        if kind == _RECOVER:
            # Read back from disk as the (re)started node's process begins: a follower.
            span = current[node]
            if span is None or span[2] == t_ms:
                current[node] = (Role.FOLLOWER, state.term, t_ms)
            continue
        close(node, t_ms)
        if state.role is not None:  # a crash leaves the node without a role
            current[node] = (Role(state.role), state.term, t_ms)
    for node in nodes:
        close(node, end_ms)
    return [span for node in nodes for span in spans[node]]


def outage_spans(
    events: Iterable[EventRecord], nodes: Sequence[str], end_ms: float
) -> list[OutageSpan]:
    """Down and paused spans, ordered by start time (then node order)."""
    cluster = ClusterState.initial(nodes)
    known = set(nodes)
    since: dict[str, tuple[Outage, float]] = {}
    spans: list[OutageSpan] = []
    for record in events:
        cluster.apply(record)
        node = record["node"]
        if record["kind"] not in HEALTH_KINDS or node not in known:
            continue
        t_ms = float(record["t"])
        outage = _OUTAGES.get(cluster.nodes[node].health)
        open_span = since.get(node)
        if open_span is not None and open_span[0] is outage:
            continue
        if open_span is not None:
            spans.append(OutageSpan(node, open_span[0], open_span[1], t_ms))
            del since[node]
        if outage is not None:
            since[node] = (outage, t_ms)
    order = {node: index for index, node in enumerate(nodes)}
    for outage in (Outage.DOWN, Outage.PAUSED):
        for node in sorted(since, key=order.__getitem__):
            if since[node][0] is outage:
                spans.append(OutageSpan(node, outage, since[node][1], end_ms))
    spans.sort(key=lambda span: (span.start_ms, order[span.node]))
    return spans


def outside_spans(
    events: Iterable[EventRecord], nodes: Sequence[str], end_ms: float
) -> list[OutsideSpan]:
    """When each server was outside the committed configuration, ordered by start time
    (then node order); nothing when the run changed no membership."""
    cluster = ClusterState.initial()
    since: dict[str, float] = {}
    spans: list[OutsideSpan] = []
    for record in events:
        kind = record["kind"]
        if kind != _RUN_START and kind != _MEMBERSHIP:
            continue
        cluster.apply(record)
        members = cluster.members
        if members is None:
            continue
        t_ms = float(record["t"])
        for node in nodes:
            if node in members and node in since:
                spans.append(OutsideSpan(node, since.pop(node), t_ms))
            elif node not in members and node not in since:
                since[node] = t_ms
    order = {node: index for index, node in enumerate(nodes)}
    for node in sorted(since, key=order.__getitem__):
        spans.append(OutsideSpan(node, since[node], end_ms))
    spans.sort(key=lambda span: (span.start_ms, order[span.node]))
    return spans


def term_changes(events: Iterable[EventRecord]) -> list[TermChange]:
    """The first time each new highest term appears (from ``raft.term``)."""
    highest = 0
    changes: list[TermChange] = []
    for record in events:
        if record["kind"] == _TERM:
            term = int(record["term"])
            if term > highest:
                highest = term
                changes.append(TermChange(float(record["t"]), term, str(record["node"])))
    return changes


@dataclass(frozen=True, slots=True)
class CommitSeries:
    """A node's commit index as a step series; ``None`` values are gaps (node down)."""

    node: str
    times_ms: tuple[float, ...]
    indexes: tuple[int | None, ...]


def commit_series(
    events: Iterable[EventRecord], nodes: Sequence[str], end_ms: float
) -> list[CommitSeries]:
    """One commit-index step series per node in ``nodes``, extended to ``end_ms``."""
    cluster = ClusterState.initial(nodes)
    times: dict[str, list[float]] = {node: [0.0] for node in nodes}
    values: dict[str, list[int | None]] = {node: [0] for node in nodes}
    for record in events:
        cluster.apply(record)
        node = record["node"]
        if node not in times or record["kind"] not in _COMMIT_KINDS:
            continue
        state = cluster.nodes[node]
        times[node].append(float(record["t"]))
        values[node].append(None if state.health is Health.DOWN else state.commit_index)
    series: list[CommitSeries] = []
    for node in nodes:
        node_times, node_values = times[node], values[node]
        if node_times[-1] < end_ms:
            node_times.append(end_ms)
            node_values.append(node_values[-1])
        series.append(CommitSeries(node, tuple(node_times), tuple(node_values)))
    return series


# -- network faults ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartitionSpan:
    """One partition: the directed links in ``cut`` drop messages over the span."""

    start_ms: float
    end_ms: float
    shape: str
    target: str | None
    cut: tuple[tuple[str, str], ...]

    def cut_peers(self, node: str) -> tuple[str, ...]:
        """Peers ``node`` cannot exchange messages with in at least one direction."""
        peers = {dst for src, dst in self.cut if src == node}
        peers |= {src for src, dst in self.cut if dst == node}
        return tuple(sorted(peers, key=natural_key))

    def reachable(self, node: str, nodes: Sequence[str]) -> tuple[str, ...]:
        """``node`` and the nodes it reaches through links open both ways (transitively)."""
        cut = set(self.cut)
        seen = [node]
        frontier = [node]
        while frontier:
            current = frontier.pop()
            for peer in nodes:
                if peer in seen:
                    continue
                if (current, peer) not in cut and (peer, current) not in cut:
                    seen.append(peer)
                    frontier.append(peer)
        return tuple(sorted(seen, key=natural_key))

    def in_minority(self, node: str, nodes: Sequence[str]) -> bool:
        """True when ``node`` cannot form a majority of ``nodes`` with the nodes it reaches."""
        return len(self.reachable(node, nodes)) <= len(nodes) // 2

    @property
    def label(self) -> str:
        if self.target:
            return f"{self.shape} {self.target}"
        return self.shape


def partition_spans(events: Iterable[EventRecord], end_ms: float) -> list[PartitionSpan]:
    spans: list[PartitionSpan] = []
    current: EventRecord | None = None

    def close(t_ms: float) -> None:
        if current is not None and t_ms > float(current["t"]):
            cut = tuple(
                (str(pair[0]), str(pair[1])) for pair in current.get("cut", ()) if len(pair) == 2
            )
            target = current.get("target")
            spans.append(
                PartitionSpan(
                    float(current["t"]),
                    t_ms,
                    str(current.get("shape", "partition")),
                    str(target) if target is not None else None,
                    cut,
                )
            )

    for record in events:
        kind = record["kind"]
        if kind == _PARTITION:
            close(float(record["t"]))
            current = record
        elif kind == _HEAL:
            close(float(record["t"]))
            current = None
    close(end_ms)
    return spans


@dataclass(frozen=True, slots=True)
class ClogSpan:
    """Messages on the directed link ``src -> dst`` were held over the span."""

    src: str
    dst: str
    start_ms: float
    end_ms: float


def clog_spans(events: Iterable[EventRecord], end_ms: float) -> list[ClogSpan]:
    cluster = ClusterState.initial()
    since: dict[tuple[str, str], float] = {}
    spans: list[ClogSpan] = []
    for record in events:
        kind = record["kind"]
        if kind != _CLOG and kind != _UNCLOG:
            continue
        cluster.apply(record)
        t_ms = float(record["t"])
        for link in sorted(set(since) - cluster.clogged):
            spans.append(ClogSpan(link[0], link[1], since.pop(link), t_ms))
        for link in sorted(cluster.clogged - set(since)):
            since[link] = t_ms
    for link in sorted(since, key=lambda pair: (natural_key(pair[0]), natural_key(pair[1]))):
        spans.append(ClogSpan(link[0], link[1], since[link], end_ms))
    spans.sort(key=lambda span: (span.start_ms, natural_key(span.src), natural_key(span.dst)))
    return spans


# -- messages ----------------------------------------------------------------------------


class MessageFate(StrEnum):
    DELIVERED = "delivered"
    DROPPED = "dropped"


@dataclass(frozen=True, slots=True)
class MessageArrow:
    """One delivery (or drop) of a message, from its send to where it ended.

    For a message dropped at send time (``dropped_at_sender``), ``end_ms`` equals
    ``send_ms``.
    """

    message_id: int
    message_type: str
    src: str
    dst: str
    send_ms: float
    end_ms: float
    fate: MessageFate
    reason: str | None = None
    dropped_at_sender: bool = False


def message_arrows(
    events: Iterable[EventRecord], window_ms: tuple[float, float]
) -> list[MessageArrow]:
    """Arrows of the messages sent in ``[start, end)``, in the order they ended."""
    start_ms, end_ms = window_ms
    sent: dict[int, EventRecord] = {}
    arrows: list[MessageArrow] = []
    for record in events:
        kind = record["kind"]
        if kind == _SEND:
            if start_ms <= float(record["t"]) < end_ms:
                sent[int(record["id"])] = record
            continue
        if kind != _DELIVER and kind != _DROP:
            continue
        send = sent.get(int(record["id"]))
        if send is None:
            continue
        src, dst = str(send["node"]), str(send["dst"])
        common = (int(send["id"]), str(send.get("type", "?")), src, dst, float(send["t"]))
        if kind == _DELIVER:
            arrows.append(MessageArrow(*common, float(record["t"]), MessageFate.DELIVERED))
        else:
            at_sender = "dst" in record
            arrows.append(
                MessageArrow(
                    *common,
                    float(record["t"]),
                    MessageFate.DROPPED,
                    str(record.get("reason", "unknown")),
                    at_sender,
                )
            )
    return arrows


def message_window_anchor(
    events: Sequence[EventRecord], within_ms: tuple[float, float]
) -> tuple[float, str] | None:
    """The moment a default message window centres on inside ``within_ms``, and what it
    is: the first partition, else the first election (a node turning pre-candidate or
    candidate); None when there is neither."""
    low, high = within_ms
    for record in events:
        if record["kind"] == _PARTITION and low <= float(record["t"]) < high:
            return float(record["t"]), "the first partition"
    for record in events:
        if (
            record["kind"] == _ROLE
            and record.get("role") in (Role.PRE_CANDIDATE.value, Role.CANDIDATE.value)
            and low <= float(record["t"]) < high
        ):
            return float(record["t"]), "the first election"
    return None


def default_message_window(
    events: Sequence[EventRecord], within_ms: tuple[float, float], span_ms: float = 300.0
) -> tuple[float, float]:
    """A ``span_ms`` window inside ``within_ms`` around the first partition, else the
    first election (a node turning pre-candidate or candidate), else at its start.

    The window opens a sixth of the span before that moment, so the diagram shows
    the steady traffic the fault or the election interrupts.
    """
    low, high = within_ms
    span = min(span_ms, high - low)
    anchor = message_window_anchor(events, within_ms)
    start = low if anchor is None else anchor[0] - span / 6.0
    start = min(max(start, low), high - span)
    return (start, start + span)


# -- client operations -------------------------------------------------------------------


class OperationOutcome(StrEnum):
    """How an operation completed (Jepsen): ok, certainly failed, or unknown."""

    OK = "ok"
    FAIL = "fail"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class OperationSpan:
    """One client operation as the plots draw it: from its invocation to its completion."""

    process: int
    f: str
    key: Any
    invoke_ms: float
    complete_ms: float
    outcome: OperationOutcome

    @property
    def latency_ms(self) -> float:
        return self.complete_ms - self.invoke_ms


def operations(history: Iterable[HistoryRow]) -> list[OperationSpan]:
    """Pair invocations with completions, in the order operations were invoked."""
    pending: dict[int, tuple[int, HistoryRow]] = {}
    done: list[tuple[int, OperationSpan]] = []
    last_ms = 0.0
    for order, row in enumerate(history):
        process = int(row["process"])
        t_ms = float(row["time"])
        last_ms = max(last_ms, t_ms)
        kind = row["type"]
        if kind == "invoke":
            if process in pending:
                raise PlotInputError(
                    f"history row {row.get('index', order)}: process {process} invoked "
                    "an operation while another was in flight"
                )
            pending[process] = (order, row)
            continue
        try:
            outcome = OperationOutcome(kind)
        except ValueError:
            raise PlotInputError(
                f"history row {row.get('index', order)}: unknown type {kind!r}"
            ) from None
        invoked = pending.pop(process, None)
        if invoked is None:
            raise PlotInputError(
                f"history row {row.get('index', order)}: process {process} completed "
                "an operation it never invoked"
            )
        first, invoke = invoked
        done.append(
            (
                first,
                OperationSpan(
                    process,
                    str(invoke["f"]),
                    invoke.get("key"),
                    float(invoke["time"]),
                    t_ms,
                    outcome,
                ),
            )
        )
    for first, invoke in pending.values():
        done.append(
            (
                first,
                OperationSpan(
                    int(invoke["process"]),
                    str(invoke["f"]),
                    invoke.get("key"),
                    float(invoke["time"]),
                    last_ms,
                    OperationOutcome.INFO,
                ),
            )
        )
    done.sort(key=lambda pair: pair[0])
    return [operation for _, operation in done]


# -- B+ tree shape -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TreeSample:
    """The shape of one node's tree from ``t_ms`` on (until its next sample).

    ``depth`` is None while the node is down; ``node_count`` is None while it is
    unknown (down, or bulk-loaded by a restore that did not record its size).
    ``splits`` and ``merges`` count every split and merge of the node since the
    start of the run; ``restored`` marks a sample made by a restore.
    """

    t_ms: float
    depth: int | None
    node_count: int | None
    splits: int
    merges: int
    restored: bool = False


def tree_samples(
    events: Iterable[EventRecord], nodes: Sequence[str], end_ms: float
) -> dict[str, list[TreeSample]]:
    """Per node, the tree shape after every structural change, extended to ``end_ms``."""
    cluster = ClusterState.initial(nodes)
    samples: dict[str, list[TreeSample]] = {node: [TreeSample(0.0, 1, 1, 0, 0)] for node in nodes}
    for record in events:
        cluster.apply(record)
        series = samples.get(record["node"])
        kind = record["kind"]
        if series is None or kind not in _TREE_KINDS:
            continue
        shape = cluster.nodes[record["node"]]
        restored = kind == _ROOT and record.get("reason") == StructureReason.RESTORE
        series.append(
            TreeSample(
                float(record["t"]),
                shape.tree_depth,
                shape.tree_nodes,
                shape.splits,
                shape.merges,
                restored,
            )
        )
    for series in samples.values():
        last = series[-1]
        if last.t_ms < end_ms:
            series.append(TreeSample(end_ms, last.depth, last.node_count, last.splits, last.merges))
    return samples
