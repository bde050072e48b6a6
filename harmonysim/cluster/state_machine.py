"""The replicated state machine: a B+ tree key-value store with client sessions.

Rules:
- ``apply`` is deterministic: the same commands in the same order give the same
  store and the same results on every replica.
- Client sessions (thesis §6.3): the machine remembers, per client, the highest
  sequence number applied and its result. A command whose sequence number is not
  above it is a retry and is answered from the session without being applied
  again (commands of one client are issued one at a time, in order).
- ``snapshot`` / ``restore`` carry the store and the sessions, for Raft log
  compaction and InstallSnapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harmonysim.btree import BPlusTree, BTreeObserver
from harmonysim.cluster.commands import Command, Op, ReplyStatus

__all__ = ["KVStateMachine", "MachineSnapshot"]


@dataclass(frozen=True, slots=True)
class MachineSnapshot:
    items: tuple[tuple[Any, Any], ...]
    sessions: tuple[tuple[str, int, ReplyStatus, Any], ...]


class KVStateMachine:
    """A B+ tree store plus the session table, applied in log order."""

    def __init__(self, order: int, bugs: frozenset[str] = frozenset()) -> None:
        self.order = order
        self.bugs = bugs
        self.tree: BPlusTree[Any, Any] = BPlusTree(order=order, bugs=bugs)
        self.sessions: dict[str, tuple[int, ReplyStatus, Any]] = {}

    def set_observer(self, observer: BTreeObserver | None) -> None:
        self.tree.observer = observer

    def apply(self, command: Command) -> tuple[ReplyStatus, Any]:
        session = self.sessions.get(command.client)
        if session is not None and command.seq <= session[0]:
            return session[1], session[2]
        status, result = self.execute(command)
        self.sessions[command.client] = (command.seq, status, result)
        return status, result

    def execute(self, command: Command) -> tuple[ReplyStatus, Any]:
        operation = command.operation
        tree = self.tree
        if operation.f is Op.PUT:
            tree[operation.key] = operation.value
            return ReplyStatus.OK, None
        if operation.f is Op.DELETE:
            tree.pop(operation.key, None)
            return ReplyStatus.OK, None
        if operation.f is Op.CAS:
            expected, new = operation.value
            if tree.get(operation.key) == expected:
                tree[operation.key] = new
                return ReplyStatus.OK, None
            return ReplyStatus.FAIL, None
        if operation.f is Op.LOAD:
            for key, value in operation.value:
                tree[key] = value
            return ReplyStatus.OK, None
        return ReplyStatus.OK, self.read(command)

    def read(self, command: Command) -> Any:
        operation = command.operation
        if operation.f is Op.GET:
            return self.tree.get(operation.key)
        if operation.f is Op.SCAN:
            return [
                [key, value]
                for key, value in self.tree.irange_items(operation.key, operation.value)
            ]
        raise ValueError(f"{operation.f} is not a read")

    def scan_leaves(self, command: Command) -> tuple[list[list[Any]], int]:
        """A scan's result and how many leaves it read (for its trace; ``read`` is the
        untraced path and counts nothing)."""
        operation = command.operation
        items, leaves = self.tree.range_with_leaves(operation.key, operation.value)
        return [[key, value] for key, value in items], leaves

    def snapshot(self) -> MachineSnapshot:
        sessions = tuple(
            (client, seq, status, result)
            for client, (seq, status, result) in sorted(self.sessions.items())
        )
        return MachineSnapshot(self.tree.snapshot(), sessions)

    def restore(self, snapshot: MachineSnapshot) -> None:
        self.tree.restore(snapshot.items)
        self.sessions = {
            client: (seq, status, result) for client, seq, status, result in snapshot.sessions
        }
