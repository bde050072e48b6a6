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
- A view is the whole tree or, asked for a tree node id, the subtree under it with
  the path of ids from the root down to it. Levels are drawn from the top while
  they fit in ``MAX_DRAWN_NODES`` together and none is wider than
  ``MAX_ROW_NODES``; a node whose children did not fit
  says how many nodes lie below it (open it to see them).
- Per level (height above the leaves, as in ``harmonysim.viz.btree_shape``): node
  count, entries and fill at the view's time. Hottest leaves: the writes each leaf
  took (a write that changed it: a put, a delete of a present key, a successful
  compare-and-set; not a retry answered from the session) and the leaf splits it
  made since the node's last start, the hottest first. A crash forgets them: the
  restarted tree reuses the ids. Rates: splits, merges and borrows of the node per
  ``RATE_BUCKETS``-th of the run.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from harmonysim.btree import NodeKind
from harmonysim.btree.nodes import Internal, Leaf, Node
from harmonysim.cluster.commands import Command, Op, Operation, ReplyStatus
from harmonysim.cluster.state_machine import KVStateMachine, MachineSnapshot
from harmonysim.sim.events import EventKind
from harmonysim.viz.btree_shape import STRUCTURE_KINDS, structure_rates, tree_levels
from harmonysim.web.index import ApplyRecord, RunIndex

__all__ = ["TreeReplayer", "TreeView", "UnknownTreeNode", "tree_to_json"]

RECENT_CHANGE_WINDOW_MS = 250.0
"""Structural changes this recent (virtual ms) before the slider time are highlighted."""

MAX_DRAWN_NODES = 400
"""Trees with more nodes are drawn down to the level that fits; deeper levels are summarised."""

MAX_ROW_NODES = 32
"""Nor is a level drawn that would put more nodes side by side than this (a screen or two)."""

HOT_LEAVES = 10
"""Leaves listed as the hottest."""

RATE_BUCKETS = 60
"""Time buckets of the structural-change rates, across the whole run."""

_LEAF_SPLIT = EventKind.BTREE_SPLIT.value


class UnknownTreeNode(LookupError):
    """A view asked for a tree node the node's tree does not hold at that time."""


@dataclass(frozen=True, slots=True)
class TreeView:
    """The tree of one node at one time, ready for JSON."""

    node: str
    t_ms: float
    applied_index: int
    order: int
    data: dict[str, Any]


class _Cursor:
    """A node's machine, how far into its apply records it has been replayed, and the
    writes each leaf took since the node's last start."""

    __slots__ = ("machine", "position", "writes")

    def __init__(self, machine: KVStateMachine) -> None:
        self.machine = machine
        self.position = 0
        self.writes: dict[int, int] = {}


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

    def _apply(
        self, machine: KVStateMachine, record: ApplyRecord, writes: dict[int, int] | None = None
    ) -> None:
        if record.kind == "reset":
            return
        if record.kind == "restore":
            machine.restore(self._snapshot_at(record.index))
            return
        self._log.setdefault(record.index, record)
        command = self._command(record)
        if command is None:
            return
        if writes is None or command.operation.f.is_read:
            machine.apply(command)
            return
        session = machine.sessions.get(command.client)
        retry = session is not None and command.seq <= session[0]
        key = command.operation.key
        tree = machine.tree
        leaf_id = tree.leaf_id_for(key)
        present = key in tree
        status, _ = machine.apply(command)
        if retry or status is not ReplyStatus.OK:
            return
        if command.operation.f is Op.DELETE and not present:
            return
        writes[leaf_id] = writes.get(leaf_id, 0) + 1

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
                    cursor.writes = {}
                else:
                    self._apply(cursor.machine, record, cursor.writes)
            cursor.position = target
            return cursor.machine, records[target - 1].index if target else 0

    def view(self, node: str, t_ms: float, subtree: int | None = None) -> TreeView:
        """The node's tree at ``t_ms`` (or the subtree under tree node ``subtree``).

        Raises :class:`UnknownTreeNode` when the tree holds no node ``subtree`` then.
        """
        machine, applied = self.machine_at(node, t_ms)
        data = tree_to_json(machine, subtree)
        with self.index.lock:
            writes = dict(self._cursors[node].writes) if node in self._cursors else {}
        data["levels"] = [
            {
                "level": level.level,
                "nodes": level.nodes,
                "entries": level.entries,
                "capacity": level.capacity,
                "fill": round(level.fill, 4),
            }
            for level in tree_levels(machine.tree)
        ]
        data["hot_leaves"] = self.hot_leaves(node, t_ms, machine, writes)
        data["rates"] = self.rates(node)
        data["changes"] = self.recent_changes(node, t_ms)
        return TreeView(node, t_ms, applied, self.order, data)

    def hot_leaves(
        self, node: str, t_ms: float, machine: KVStateMachine, writes: dict[int, int]
    ) -> list[dict[str, Any]]:
        """The hottest leaves of ``node`` at ``t_ms`` (see the module rules)."""
        with self.index.lock:
            records = self.index.applies.get(node, [])
            started = 0.0
            for record in records:
                if record.t_ms > t_ms:
                    break
                if record.kind == "reset":
                    started = record.t_ms
            splits: dict[int, int] = {}
            for event in self.index.tree_events.get(node, []):
                t = float(event["t"])
                if t > t_ms:
                    break
                if (
                    t > started
                    and event["kind"] == _LEAF_SPLIT
                    and event.get("node_kind") == NodeKind.LEAF.value
                ):
                    split_leaf = int(event["tree_node"])
                    splits[split_leaf] = splits.get(split_leaf, 0) + 1
        ranges: dict[int, tuple[Any, Any]] = {}
        first: Node[Any, Any] = machine.tree.root
        while type(first) is Internal:
            first = first.children[0]
        assert type(first) is Leaf
        chain: Leaf[Any, Any] | None = first
        while chain is not None:
            ranges[chain.node_id] = (chain.keys[0], chain.keys[-1]) if chain.keys else (None, None)
            chain = chain.next
        ids = sorted(set(writes) | set(splits))
        ids.sort(key=lambda leaf_id: (-writes.get(leaf_id, 0), -splits.get(leaf_id, 0)))
        return [
            {
                "id": leaf_id,
                "writes": writes.get(leaf_id, 0),
                "splits": splits.get(leaf_id, 0),
                "exists": leaf_id in ranges,
                "first_key": ranges.get(leaf_id, (None, None))[0],
                "last_key": ranges.get(leaf_id, (None, None))[1],
            }
            for leaf_id in ids[:HOT_LEAVES]
        ]

    def rates(self, node: str) -> dict[str, Any]:
        """Splits, merges and borrows of ``node`` per bucket of the run (see the module rules)."""
        with self.index.lock:
            events = list(self.index.tree_events.get(node, []))
            end_ms = max(self.index.end_ms, 1.0)
        rates = structure_rates(events, (0.0, end_ms), RATE_BUCKETS)
        return {
            "start_ms": rates.start_ms,
            "bucket_ms": rates.bucket_ms,
            "counts": {kind.removeprefix("btree."): rates.counts[kind] for kind in STRUCTURE_KINDS},
        }

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


def tree_to_json(machine: KVStateMachine, subtree: int | None = None) -> dict[str, Any]:
    """The tree's shape: nested nodes with keys, fill and (for leaves) values.

    From the root, or from tree node ``subtree`` (``path`` lists the ids from the
    root down to it); whole levels are drawn while they fit (see the module rules).
    """
    tree = machine.tree
    limits = tree.limits
    path = _path_to(tree.root, subtree) if subtree is not None else [tree.root]
    if path is None:
        raise UnknownTreeNode(subtree)
    top = path[-1]
    drawn_depth = 0  # how many levels below ``top`` are drawn
    row: list[Node[Any, Any]] = [top]
    drawn = 1
    while type(row[0]) is Internal:
        below = [child for node in row for child in node.children]  # type: ignore[union-attr]
        if drawn + len(below) > MAX_DRAWN_NODES or len(below) > MAX_ROW_NODES:
            break
        drawn += len(below)
        drawn_depth += 1
        row = below

    def count_below(node: Node[Any, Any]) -> int:
        if type(node) is Leaf:
            return 0
        assert type(node) is Internal
        return sum(1 + count_below(child) for child in node.children)

    def walk(node: Node[Any, Any], depth: int) -> dict[str, Any]:
        if isinstance(node, Leaf):
            return {
                "id": node.node_id,
                "kind": NodeKind.LEAF.value,
                "keys": list(node.keys),
                "values": list(node.values),
                "fill": round(len(node.keys) / limits.leaf_max, 3),
            }
        shown = depth < drawn_depth
        return {
            "id": node.node_id,
            "kind": NodeKind.INTERNAL.value,
            "keys": list(node.keys),
            "fill": round(len(node.children) / limits.internal_max, 3),
            "children": [walk(child, depth + 1) for child in node.children] if shown else [],
            "hidden_below": 0 if shown else count_below(node),
        }

    return {
        "order": limits.order,
        "depth": tree.depth,
        "size": len(tree),
        "node_count": tree.node_count,
        "leaf_max": limits.leaf_max,
        "root_id": tree.root_id,
        "focus": top.node_id,
        "path": [node.node_id for node in path],
        "drawn_nodes": drawn,
        "root": walk(top, 0),
    }


def _path_to(root: Node[Any, Any], node_id: int) -> list[Node[Any, Any]] | None:
    """The nodes from ``root`` down to the node ``node_id``, or None if there is none."""
    if root.node_id == node_id:
        return [root]
    if type(root) is Leaf:
        return None
    assert type(root) is Internal
    for child in root.children:
        below = _path_to(child, node_id)
        if below is not None:
            return [root, *below]
    return None
