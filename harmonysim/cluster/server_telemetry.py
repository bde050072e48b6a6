"""One server's spans and metrics: the ``ServerObserver`` of an observed run.

Rules:
- This class owns every span a server's work makes (``cluster/telemetry.py`` makes one
  per server incarnation): serving a client request; a write's Raft steps on each server
  (propose and commit on the leader, append on every server that writes the entry,
  apply with its B+ tree operation below it; Raft §5.3); a read's ReadIndex round and its
  B+ tree read (thesis §6.4); an election, with the votes it received as span events
  (§5.2). The server holds none of them.
- An entry's trace is known by its index: the leader names it when it proposes (the
  commit span), a follower when the first AppendEntries bringing it carries a trace
  (the message's last entry's, as ``send_messages`` sends it). A RequestVote's trace is
  kept by candidate until the vote is sent back in it.
- Metrics count every entry and request, traced or not, so they never depend on the
  trace sample: commit latency from proposal to commit on the leader, B+ tree operations,
  the Raft state gauges, corruptions detected, and (through ``Telemetry``) the
  replication latency of entries made durable.
- A crash ends every span held, marked ``crashed``, in this order: writes being served,
  commits awaited, reads awaiting their ReadIndex round, those rounds, confirmed reads
  awaiting their apply, appends awaiting their fsync, then the election (lost). A lost
  leadership ends the requests' spans marked ``retry`` (writes, then reads by id, then
  confirmed reads) and the commits awaited, ``abandoned``. The order is the trace file's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from harmonysim.cluster.commands import Command, Op, ReplyStatus
from harmonysim.cluster.server_observer import ServerObserver
from harmonysim.obs import Span, TracedOperation
from harmonysim.obs.integration import RaftOp
from harmonysim.obs.metrics import CounterChild
from harmonysim.raft import (
    AppendEntries,
    AppendEntriesResponse,
    Entry,
    RaftNode,
    RequestVote,
    RequestVoteResponse,
    Role,
)

if TYPE_CHECKING:
    from harmonysim.cluster.commands import ClientRequest
    from harmonysim.cluster.state_machine import KVStateMachine
    from harmonysim.cluster.telemetry import Telemetry
    from harmonysim.sim.network import Envelope
    from harmonysim.sim.node import SimNode

__all__ = ["ServerTelemetry"]

CRASHED = "node crashed"
LEADERSHIP_LOST = "leadership lost"


class ServerTelemetry(ServerObserver):
    """The spans and metrics of one server incarnation (see the module docstring)."""

    def __init__(self, telemetry: Telemetry, node: str) -> None:
        self._telemetry = telemetry
        self.node = node
        instrumentation = self.instrumentation = telemetry.for_node(node)
        self.tracing = telemetry.tracing
        self._clock_us = instrumentation.tracer.now_us
        self._commit_latency = instrumentation.metrics.raft_commit_latency.labels(node)
        # index -> the span of the entry's trace on this server (traced entries only)
        self._entry_trace: dict[int, Span] = {}
        # Client entries awaiting commit: (index, proposed at µs, the commit span's
        # operation if traced). Every entry is kept, traced or not, for the commit latency.
        self._commits: deque[tuple[int, int, TracedOperation | None]] = deque()
        self._election: Span | None = None
        self._vote_trace: dict[str, Span] = {}  # candidate -> its RequestVote's hop
        # Spans of the requests being served, traced ones only: writes by index, reads
        # by ReadIndex request id (awaiting the round, and confirmed awaiting the apply),
        # the rounds by the same id.
        self._writes: dict[int, TracedOperation] = {}
        self._reads: dict[int, TracedOperation] = {}
        self._read_rounds: dict[int, TracedOperation] = {}
        self._ready_reads: dict[int, TracedOperation] = {}
        # Writes awaiting their fsync: (the entries written, their append spans).
        self._appends: list[tuple[tuple[Entry, ...], list[TracedOperation]]] = []
        self._apply_span: Span | None = None  # the B+ tree operation of the apply under way
        # (operation, status; None for a read) -> its bound B+ tree operation counter,
        # bound at first use (once per operation: a ``labels`` call and two enum
        # ``value`` reads each were measurable in a pure run).
        self._operation_counts: dict[tuple[Op, ReplyStatus | None], CounterChild] = {}
        # A new incarnation starts from an empty tree (a restore or the log's replay then
        # grows it), as the fold of the event log has it.
        instrumentation.set_btree_shape(1, 1)

    # -- messages ------------------------------------------------------------------------

    def send_messages(self, node: SimNode, messages: Sequence[Any]) -> None:
        if self.tracing and (self._entry_trace or self._vote_trace or self._election is not None):
            for message in messages:
                node.send(message.dst, message, self._message_parent(message))
        else:
            for message in messages:
                node.send(message.dst, message)

    def _message_parent(self, message: Any) -> Any:
        """The trace a Raft message belongs to: its entries', or the election's."""
        kind = type(message)
        if kind is AppendEntries:
            entries = message.entries
            return self._entry_trace.get(entries[-1].index) if entries else None
        if kind is AppendEntriesResponse:
            return self._entry_trace.get(message.match_index)
        if kind is RequestVote:
            # An unsampled election is its root span alone: its RequestVotes carry nothing.
            election = self._election
            return election if election is not None and election.sampled else None
        if kind is RequestVoteResponse:
            return self._vote_trace.pop(message.dst, None)
        return None

    def received(self, envelope: Envelope) -> None:
        trace = envelope.trace
        payload = envelope.payload
        kind = type(payload)
        if trace is not None and kind is RequestVote:
            self._vote_trace[envelope.src] = trace  # the answer joins its trace
        elif self._election is not None and kind is RequestVoteResponse:
            self.instrumentation.vote_received(self._election, payload.src, payload.granted)
        if trace is not None and kind is AppendEntries and payload.entries:
            # The message carries the trace of its last entry (the leader's choice in
            # _message_parent); the first message to bring an entry names its trace.
            self._entry_trace.setdefault(payload.entries[-1].index, trace)

    # -- client requests -----------------------------------------------------------------

    def serving(self, request: ClientRequest, trace: Any) -> Any:
        if trace is None:
            return None
        operation = request.operation
        # ``_value_``, not ``value``, on the traced paths: an enum's ``value`` is a Python
        # property, interpreted even in the compiled build (two frames per read).
        return self.instrumentation.serve_request(trace, operation.f._value_, operation.key)

    def refused(self, serve: Any) -> None:
        if serve is not None:
            serve.finish(result="redirect")

    def proposed(self, index: int, term: int, serve: Any) -> None:
        commit = None
        if serve is not None:
            self._writes[index] = serve
            instrumentation = self.instrumentation
            instrumentation.trace_raft_operation(serve.span, RaftOp.PROPOSE, term, index).finish()
            commit = instrumentation.trace_raft_operation(serve.span, RaftOp.COMMIT, term, index)
            self._entry_trace[index] = commit.span
        self._commits.append((index, self._clock_us(), commit))

    def read_index_started(self, read_id: int, term: int, serve: Any) -> None:
        if serve is not None:
            self._reads[read_id] = serve
            # The ReadIndex round (§6.4): until a heartbeat round confirms leadership.
            self._read_rounds[read_id] = self.instrumentation.trace_raft_operation(
                serve.span, RaftOp.READ_INDEX, term
            )

    def read_confirmed(self, read_id: int, index: int) -> None:
        round_ = self._read_rounds.pop(read_id, None)
        if round_ is not None:
            round_.span.set_attribute("raft.index", index)
            round_.finish(result="confirmed")
        query = self._reads.pop(read_id, None)
        if query is not None:
            self._ready_reads[read_id] = query

    def read_due(self, read_id: int) -> Any:
        return self._ready_reads.pop(read_id, None)

    def ready_reads_dropped(self) -> None:
        self._ready_reads.clear()  # their spans stay open: the run's end closes them

    def read(self, machine: KVStateMachine, command: Command, serve: Any) -> tuple[Any, Any]:
        """The B+ tree read: a span below the query when traced, a count always."""
        instrumentation = self.instrumentation
        operation = command.operation
        if serve is None:
            result = machine.read(command)
            self._count_operation(operation.f, None)
            return result, None
        query: TracedOperation = serve
        tree = instrumentation.trace_btree_operation(query.span, operation.f._value_, operation.key)
        if operation.f is Op.SCAN:
            # Traced down to the leaves: the span says how many the scan read.
            result, leaves = machine.scan_leaves(command)
            tree.span.set_attribute("btree.leaves_visited", leaves)
            tree.span.set_attribute("btree.items", len(result))
        else:
            result = machine.read(command)
        tree.finish(result="ok")
        query.finish(result="ok")
        return result, query.span

    def write_answered(self, index: int, result: str, error: str | None = None) -> None:
        serve = self._writes.pop(index, None)
        if serve is not None:
            serve.finish(error, result=result)

    def leadership_lost(self) -> None:
        for index in sorted(self._writes):
            self._writes[index].finish(LEADERSHIP_LOST, result="retry")
        for read_id in sorted(self._reads):
            round_ = self._read_rounds.pop(read_id, None)
            if round_ is not None:
                round_.finish(LEADERSHIP_LOST, result="retry")
            self._reads[read_id].finish(LEADERSHIP_LOST, result="retry")
        for query in self._ready_reads.values():
            query.finish(LEADERSHIP_LOST, result="retry")
        for _, _, commit in self._commits:
            if commit is not None:
                commit.finish("leadership lost before commit", result="abandoned")
        self._commits.clear()
        self._writes.clear()
        self._reads.clear()
        self._ready_reads.clear()

    # -- the Raft log and the state machine ----------------------------------------------

    def entries_written(self, entries: tuple[Entry, ...]) -> None:
        """One append span per traced entry written, ended when the fsync completes."""
        if not self.tracing:
            return
        entry_trace = self._entry_trace
        appends: list[TracedOperation] = []
        for entry in entries:
            parent = entry_trace.get(entry.index)
            if parent is not None:
                appends.append(
                    self.instrumentation.trace_raft_operation(
                        parent, RaftOp.APPEND, entry.term, entry.index
                    )
                )
        if appends:
            self._appends.append((entries, appends))

    def entries_durable(self, entries: tuple[Entry, ...], leader: bool) -> None:
        pending = self._appends
        for position, (written, appends) in enumerate(pending):
            if written is entries:
                del pending[position]
                for operation in appends:
                    operation.finish(result="ok")
                break
        # The role the event log shows (raft.role follows this record), as
        # harmonysim.obs.derive reads it: both measure the same latencies.
        self._telemetry.entries_persisted(self.node, leader, entries, self._clock_us())

    def committed(self, commit_index: int) -> None:
        commits = self._commits
        if not commits:
            return
        now_us = self._clock_us()
        latency = self._commit_latency
        while commits and commits[0][0] <= commit_index:
            _, proposed_us, commit = commits.popleft()
            latency.observe((now_us - proposed_us) / 1e6)
            if commit is not None:
                commit.finish(result="ok")

    def apply(
        self, machine: KVStateMachine, entry: Entry, command: Command
    ) -> tuple[ReplyStatus, Any, Any]:
        parent = self._entry_trace.pop(entry.index, None)
        instrumentation = self.instrumentation
        if parent is None:  # not traced: count it only
            status, result = machine.apply(command)
            self._count_operation(command.operation.f, status)
            return status, result, None
        apply = instrumentation.trace_raft_operation(parent, RaftOp.APPLY, entry.term, entry.index)
        tree = instrumentation.trace_btree_operation(
            apply.span, command.operation.f._value_, command.operation.key
        )
        self._apply_span = tree.span
        status, result = machine.apply(command)
        self._apply_span = None
        tree.finish(result=status._value_)
        apply.finish(result=status._value_)
        return status, result, apply.span

    def _count_operation(self, op: Op, status: ReplyStatus | None) -> None:
        """Count one untraced B+ tree operation (a read when ``status`` is None)."""
        counter = self._operation_counts.get((op, status))
        if counter is None:
            result = "ok" if status is None else status.value
            counter = self._operation_counts[op, status] = (
                self.instrumentation.metrics.btree_operations.labels(self.node, op.value, result)
            )
        counter.value += 1

    def compacted(self, index: int) -> None:
        if self._entry_trace:  # traces of entries that were never applied here (overwritten)
            self._entry_trace = {i: span for i, span in self._entry_trace.items() if i > index}

    def btree_split(self, node_kind: str, tree_node: int, separator: Any, reason: str) -> None:
        self.instrumentation.record_btree_split(
            self._apply_span, tree_node, separator, reason, node_kind
        )

    def btree_merge(self, node_kind: str, tree_node: int, separator: Any, reason: str) -> None:
        self.instrumentation.record_btree_merge(
            self._apply_span, tree_node, separator, reason, node_kind
        )

    def btree_root(self, depth: int, node_count: int) -> None:
        self.instrumentation.set_btree_shape(depth, node_count)

    def raft_state(self, raft: RaftNode, role_changed: bool) -> None:
        """Gauges of this server's Raft state, and elections as traces (§5.2)."""
        instrumentation = self.instrumentation
        role = raft.role
        instrumentation.update_raft_state(
            role.name.lower(),
            raft.term,
            raft.leader,
            raft.log_length,
            len(raft.voters),
            raft.commit_index,
            raft.applied_index,
        )
        if not role_changed:
            return
        if role is Role.PRE_CANDIDATE or role is Role.CANDIDATE:
            if self._election is None:
                telemetry = self._telemetry
                # The term it campaigns for (a pre-candidate's is the next one, §9.6).
                term = raft.term + 1 if role is Role.PRE_CANDIDATE else raft.term
                keep = telemetry.keeps_election(term)
                election = self._election = instrumentation.election_started(raft.term, keep=keep)
                if keep:
                    telemetry.kept_election(self.node, term, election.trace_id)
        elif self._election is not None:
            instrumentation.election_finished(self._election, won=role is Role.LEADER)
            self._election = None

    def damage_detected(self, file: str, records: int) -> None:
        metric = self.instrumentation.metrics.disk_corruptions_detected
        metric.labels(self.node, file).inc(max(1, records))  # a detection counts once at least

    # -- the node --------------------------------------------------------------------------

    def crashed(self) -> None:
        for serve in self._writes.values():
            serve.finish(CRASHED, result="crashed")
        for _, _, commit in self._commits:
            if commit is not None:
                commit.finish(CRASHED, result="crashed")
        for query in self._reads.values():
            query.finish(CRASHED, result="crashed")
        for round_ in self._read_rounds.values():
            round_.finish(CRASHED, result="crashed")
        self._read_rounds.clear()
        for query in self._ready_reads.values():
            query.finish(CRASHED, result="crashed")
        for _, appends in self._appends:
            for operation in appends:
                operation.finish("node crashed before fsync completed", result="crashed")
        self._appends.clear()
        if self._election is not None:
            self.instrumentation.election_finished(self._election, won=False)
