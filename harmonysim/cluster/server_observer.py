"""What a server tells of itself as it runs: the seam between ``cluster/server.py`` and tracing.

Rules:
- The server calls one ``ServerObserver`` method per thing worth observing and never
  looks at a span or a metric: whoever observes it (``ServerTelemetry``, in
  ``cluster/server_telemetry.py``) opens and closes every span the server's work makes
  and keeps the server's metrics. An unobserved server holds ``NullServerObserver``,
  whose methods do nothing beyond what the server asked done (``send_messages``,
  ``apply`` and ``read`` do the work they wrap), so the simulated run is the same
  observed or not (tested).
- The observer keeps what it opened by the server's own keys: a write by the log index it
  was proposed at, a read by its ReadIndex request id. A handle it returns (``serving``,
  ``read_due``: the request's span, or None) goes unread to the next call about that
  request; the server keeps none.
- ``crashed`` is told once, as the node crashes; the observer ends everything it holds.
  ``leadership_lost`` is told before the server answers its waiting clients "retry".
- Calls sit on the server's per-message path: ``ServerObserver`` is a base class, not a
  Protocol, so the compiled build calls its methods directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from harmonysim.cluster.commands import Command, ReplyStatus
from harmonysim.raft import Entry, RaftNode

if TYPE_CHECKING:
    from harmonysim.cluster.commands import ClientRequest
    from harmonysim.cluster.state_machine import KVStateMachine
    from harmonysim.sim.network import Envelope
    from harmonysim.sim.node import SimNode

__all__ = ["NullServerObserver", "ServerObserver"]


class ServerObserver:
    """The events of one server incarnation (a restarted server gets a new observer).

    Each method here observes nothing: ``NullServerObserver`` is this class as it is,
    ``ServerTelemetry`` overrides every method.
    """

    __slots__ = ()

    # -- messages ------------------------------------------------------------------------

    def send_messages(self, node: SimNode, messages: Sequence[Any]) -> None:
        """Send a Ready's Raft messages from ``node``, each carrying the trace it belongs to."""
        for message in messages:
            node.send(message.dst, message)

    def received(self, envelope: Envelope) -> None:
        """A Raft message arrived (before the core steps it)."""

    # -- client requests -----------------------------------------------------------------

    def serving(self, request: ClientRequest, trace: Any) -> Any:
        """The leader took a client request (``trace``: what its envelope carried); returns
        the handle that the call settling it is given."""
        return None

    def refused(self, serve: Any) -> None:
        """The request was answered with a redirect: the core refused it."""

    def proposed(self, index: int, term: int, serve: Any) -> None:
        """The request's command was proposed at ``index``, awaiting commit."""

    def read_index_started(self, read_id: int, term: int, serve: Any) -> None:
        """The read waits for its ReadIndex round ``read_id`` (thesis §6.4)."""

    def read_confirmed(self, read_id: int, index: int) -> None:
        """The core confirmed ReadIndex round ``read_id`` at ``index``."""

    def read_due(self, read_id: int) -> Any:
        """The confirmed read ``read_id`` is applied here and is served now: its handle."""
        return None

    def ready_reads_dropped(self) -> None:
        """A snapshot replaced the state every confirmed read was waiting to read."""

    def read(self, machine: KVStateMachine, command: Command, serve: Any) -> tuple[Any, Any]:
        """Read ``command`` from ``machine``: (the result, the trace the reply carries)."""
        return machine.read(command), None

    def write_answered(self, index: int, result: str, error: str | None = None) -> None:
        """The write proposed at ``index`` was answered (``error``: it was not applied)."""

    def leadership_lost(self) -> None:
        """This server stopped leading: every request it holds is answered "retry"."""

    # -- the Raft log and the state machine ----------------------------------------------

    def entries_written(self, entries: tuple[Entry, ...]) -> None:
        """``entries`` were written to the disk; an fsync follows."""

    def entries_durable(self, entries: tuple[Entry, ...], leader: bool) -> None:
        """The fsync covering ``entries`` (the tuple ``entries_written`` got) completed."""

    def committed(self, commit_index: int) -> None:
        """This server's commit index advanced to ``commit_index``."""

    def apply(
        self, machine: KVStateMachine, entry: Entry, command: Command
    ) -> tuple[ReplyStatus, Any, Any]:
        """Apply a normal entry's ``command`` to ``machine``: (status, result, the trace
        the reply carries)."""
        status, result = machine.apply(command)
        return status, result, None

    def compacted(self, index: int) -> None:
        """The log was compacted up to ``index``: what it held up there is gone."""

    def btree_split(self, node_kind: str, tree_node: int, separator: Any, reason: str) -> None:
        """A B+ tree node split (during an apply, or a restore)."""

    def btree_merge(self, node_kind: str, tree_node: int, separator: Any, reason: str) -> None:
        """Two B+ tree nodes merged."""

    def btree_root(self, depth: int, node_count: int) -> None:
        """The B+ tree's root changed (a root split or collapse, a restore, a clear): its
        depth and node count now."""

    def raft_state(self, raft: RaftNode, role_changed: bool) -> None:
        """The core's soft or hard state changed (``role_changed``: its role or leader)."""

    def damage_detected(self, file: str, records: int) -> None:
        """Reading the disk back found ``records`` damaged records in ``file``."""

    # -- the node --------------------------------------------------------------------------

    def crashed(self) -> None:
        """The node crashed: nothing of this server survives it."""


class NullServerObserver(ServerObserver):
    """What an unobserved server holds: nothing is traced or counted."""

    __slots__ = ()
