"""Rebuild one node's B+ tree at any virtual time by replaying what it applied.

Rules:
- The tree is never read from the run: it is rebuilt by applying the node's
  ``raft.apply`` records, in order, to a ``KVStateMachine`` of the scenario's
  order and bug switches -- the same code the server ran, so node ids, splits and
  separators come out exactly as the run's ``btree.*`` events recorded them.
- Commands are rebuilt from the log: an applied entry ``client:seq`` is the
  command that client invoked as request ``seq`` (its ``client.invoke`` record
  carries the value; the apply record carries the operation and key).
- A crash discards the machine (the host restarts with a fresh process); an
  installed or reloaded snapshot at index ``i`` (``raft.restore``) is the state
  after applying the committed log ``1..i`` -- the same on every node by State
  Machine Safety (Raft §5.4.3) -- computed once on a reference machine and
  bulk-loaded the way the server's ``restore`` does (§7).
- Replays are cached per node: moving forward in time continues from the last
  tree, moving back starts over (a node applies a few thousand entries per
  simulated minute, replayed in milliseconds).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from harmonysim.btree import NodeKind
from harmonysim.btree.nodes import Internal, Leaf
from harmonysim.cluster.commands import Command, Op, Operation
from harmonysim.cluster.state_machine import KVStateMachine, MachineSnapshot
from harmonysim.web.index import ApplyRecord, RunIndex

__all__ = ["TreeReplayer", "TreeView", "tree_to_json"]

RECENT_CHANGE_WINDOW_MS = 250.0
"""Structural changes this recent (virtual ms) before the slider time are highlighted."""

MAX_DRAWN_NODES = 400
"""Trees with more nodes are drawn down to the level that fits; deeper levels are summarised."""


@dataclass(frozen=True, slots=True)
class TreeView:
    """The tree of one node at one time, ready for JSON."""

    node: str
    t_ms: float
    applied_index: int
    order: int
    data: dict[str, Any]


class _Cursor:
    """A node's machine and how far into its apply records it has been replayed."""

    __slots__ = ("machine", "position")

    def __init__(self, machine: KVStateMachine) -> None:
        self.machine = machine
        self.position = 0


class TreeReplayer:
    """Replays nodes' applied commands into B+ trees (see the module rules)."""

    def __init__(self, index: RunIndex) -> None:
        self.index = index
        cluster = index.run_info.get("scenario", {}).get("cluster", {})
        self.order = int(cluster.get("btree", {}).get("order", 32))
        self.bugs = frozenset(str(name) for name in index.run_info["scenario"].get("bugs", ()))
        self._cursors: dict[str, _Cursor] = {}
        self._reference = KVStateMachine(self.order, self.bugs)
        self._reference_index = 0
        self._snapshots: dict[int, MachineSnapshot] = {}
        self._log: dict[int, ApplyRecord] = {}

    def _fresh(self) -> KVStateMachine:
        return KVStateMachine(self.order, self.bugs)

    def _command(self, record: ApplyRecord) -> Command | None:
        client, _, seq_text = record.entry.rpartition(":")
        if not client or not seq_text.isdigit():
            return None
        seq = int(seq_text)
        invoked = self.index.invokes.get((client, seq))
        value = invoked.value if invoked is not None else None
        if isinstance(value, list):
            value = tuple(value)
        try:
            operation = Operation(Op(record.f), record.key, value)
        except ValueError:
            return None
        return Command(client, seq, operation)

    def _apply(self, machine: KVStateMachine, record: ApplyRecord) -> None:
        if record.kind == "reset":
            return
        if record.kind == "restore":
            machine.restore(self._snapshot_at(record.index))
            return
        self._log.setdefault(record.index, record)
        command = self._command(record)
        if command is not None:
            machine.apply(command)

    def _snapshot_at(self, index: int) -> MachineSnapshot:
        """The state machine after the committed log ``1..index`` (State Machine Safety)."""
        cached = self._snapshots.get(index)
        if cached is not None:
            return cached
        if index < self._reference_index:
            self._reference = self._fresh()
            self._reference_index = 0
        self._index_log_up_to(index)
        while self._reference_index < index:
            self._reference_index += 1
            record = self._log.get(self._reference_index)
            if record is not None:
                command = self._command(record)
                if command is not None:
                    self._reference.apply(command)
        snapshot = self._reference.snapshot()
        self._snapshots[index] = snapshot
        return snapshot

    def _index_log_up_to(self, index: int) -> None:
        if all(i in self._log for i in range(max(1, self._reference_index + 1), index + 1)):
            return
        for node in self.index.nodes:
            for record in self.index.applies.get(node, ()):
                if record.kind == "apply":
                    self._log.setdefault(record.index, record)

    def machine_at(self, node: str, t_ms: float) -> tuple[KVStateMachine, int]:
        """The node's state machine after every apply stamped at or before ``t_ms``."""
        with self.index.lock:
            records = self.index.applies.get(node, [])
            target = bisect.bisect_right([record.t_ms for record in records], t_ms)
            cursor = self._cursors.get(node)
            if cursor is None or cursor.position > target:
                cursor = self._cursors[node] = _Cursor(self._fresh())
            for record in records[cursor.position : target]:
                if record.kind == "reset":
                    cursor.machine = self._fresh()
                else:
                    self._apply(cursor.machine, record)
            cursor.position = target
            return cursor.machine, records[target - 1].index if target else 0

    def view(self, node: str, t_ms: float) -> TreeView:
        machine, applied = self.machine_at(node, t_ms)
        data = tree_to_json(machine)
        data["changes"] = self.recent_changes(node, t_ms)
        return TreeView(node, t_ms, applied, self.order, data)

    def recent_changes(self, node: str, t_ms: float) -> list[dict[str, Any]]:
        """Structural events of ``node`` in the highlight window before ``t_ms``."""
        with self.index.lock:
            events = self.index.tree_events.get(node, [])
            times = [float(record["t"]) for record in events]
            lo = bisect.bisect_left(times, t_ms - RECENT_CHANGE_WINDOW_MS)
            hi = bisect.bisect_right(times, t_ms)
            return [dict(record) for record in events[lo:hi]]

    def change_times(self, node: str) -> list[dict[str, Any]]:
        """Every structural event of ``node``: time, kind and the tree nodes involved."""
        with self.index.lock:
            return [
                {
                    "t_ms": float(record["t"]),
                    "kind": record["kind"],
                    "tree_node": record.get("tree_node", record.get("new_root")),
                }
                for record in self.index.tree_events.get(node, [])
            ]


def tree_to_json(machine: KVStateMachine) -> dict[str, Any]:
    """The tree's shape: nested nodes with keys, fill and (for leaves) values.

    Walks the tree from its root. The B+ tree exposes no public node walk, so
    this reads its root through the one private attribute it needs.
    """
    tree = machine.tree
    limits = tree.limits
    root = tree._root  # the structure is the thing being drawn
    budget = [MAX_DRAWN_NODES]

    def walk(node: Leaf[Any, Any] | Internal[Any, Any], level: int) -> dict[str, Any]:
        budget[0] -= 1
        if isinstance(node, Leaf):
            return {
                "id": node.node_id,
                "kind": NodeKind.LEAF.value,
                "keys": list(node.keys),
                "values": list(node.values),
                "fill": round(len(node.keys) / limits.leaf_max, 3),
            }
        children: list[dict[str, Any]] = []
        elided = 0
        for child in node.children:
            if budget[0] <= 0:
                elided += 1
                continue
            children.append(walk(child, level + 1))
        return {
            "id": node.node_id,
            "kind": NodeKind.INTERNAL.value,
            "keys": list(node.keys),
            "fill": round(len(node.children) / limits.internal_max, 3),
            "children": children,
            "elided_children": elided,
        }

    return {
        "order": limits.order,
        "depth": tree.depth,
        "size": len(tree),
        "node_count": tree.node_count,
        "leaf_max": limits.leaf_max,
        "root": walk(root, 0),
    }
