"""The shape of each replica's B+ tree over time: levels, fill, hot leaves, subtrees.

The event log records structural changes (``btree.split``, ``btree.merge``,
``btree.borrow``, ``btree.root``) but not the shape itself: an internal split does
not say at which level it happened, and fill moves with every insert and delete.
So the shape is rebuilt from what each replica applied, as the dashboard's tree
view does, with only what shapes a tree.

Rules:
- A replica's tree is a :class:`BPlusTree` of the run's order and bug switches (the
  code the server ran), fed the replica's ``raft.apply`` records in log order, so
  node ids, splits, merges and borrows come out as the run recorded them (tested).
- Only keys shape a tree: values are stored as ``None``. A read (get, scan) changes
  nothing, a delete removes its key, any other write stores its key when its record's
  ``status`` is ``ok`` (a put always; a compare-and-set only when it matched).
- A ``load`` entry (the load phase's batch, client ``c0``) records only its first key;
  its records are rebuilt from the run's workload (``load_batch``: the batch's keys in
  order) and stored one by one, as the server's state machine stores them. A run with
  a load cannot be replayed without its workload (:class:`PlotInputError`).
- Client sessions (thesis §6.3): a command whose ``seq`` is not above the last one
  its client had applied is a retry answered from the session and changes nothing.
- A ``node.crash`` discards the replica's tree (no shape until ``node.restart``,
  which starts an empty one). A ``raft.restore`` at index ``i`` bulk-loads the tree
  with the state after the committed log ``1..i`` -- the same on every replica by
  State Machine Safety (§5.4.3) -- replayed once from the applies of all replicas,
  as the server's ``restore`` does (§7).
- Levels are numbered by height: level 0 holds the leaves and the root is level
  ``depth - 1``, so a level keeps its number while the tree grows above it. A
  level's entries are the keys of its leaves or the children of its internal nodes,
  and its fill is entries over ``nodes x capacity`` (``order - 1`` keys per leaf,
  ``order`` children per internal node).
- Shape samples are walks of the whole tree, taken at the start of the window, on a
  grid of ``SAMPLES`` points across it and at its end: a plot is a few hundred
  pixels wide, and a walk after each of thousands of splits would cost more than
  the replay.
- A leaf's heat counts, inside the window, the writes that changed it (a delete of
  an absent key changes nothing) and the splits it made (as the left half, which
  keeps its id); a load batch counts one write per record, on the leaf the record
  went into. Leaves that no longer exist at the window's end keep their counts
  and have no key range. A crash forgets the counts: the restarted tree reuses the
  ids (the dashboard's hottest leaves follow the same rules).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harmonysim.btree import BPlusTree, FillLimits, NodeKind
from harmonysim.btree.nodes import Internal, Leaf, Node
from harmonysim.btree.observer import NullObserver
from harmonysim.cluster.commands import Op
from harmonysim.cluster.workload import load_batch
from harmonysim.sim.events import EventKind, EventRecord
from harmonysim.viz.records import PlotInputError

if TYPE_CHECKING:
    from harmonysim.scenario import Workload

__all__ = [
    "SAMPLES",
    "SHAPE_EVENT_KINDS",
    "STRUCTURE_KINDS",
    "LeafHeat",
    "LevelShape",
    "ReplicaShape",
    "ShapeSample",
    "StructureRates",
    "TreeBox",
    "find_node",
    "replay_shapes",
    "structure_rates",
    "subtree_boxes",
    "tree_levels",
]

SAMPLES = 400
"""Shape samples across a window (see the module rules)."""

_APPLY = EventKind.RAFT_APPLY.value
_RESTORE = EventKind.RAFT_RESTORE.value
_CRASH = EventKind.NODE_CRASH.value
_RESTART = EventKind.NODE_RESTART.value
_SPLIT = EventKind.BTREE_SPLIT.value
_MERGE = EventKind.BTREE_MERGE.value
_BORROW = EventKind.BTREE_BORROW.value

STRUCTURE_KINDS: tuple[str, ...] = (_SPLIT, _MERGE, _BORROW)
"""The structural changes counted as rates, in drawing order."""

SHAPE_EVENT_KINDS: frozenset[str] = frozenset(
    {_APPLY, _RESTORE, _CRASH, _RESTART, _SPLIT, _MERGE, _BORROW}
)
"""The event kinds :func:`replay_shapes` and :func:`structure_rates` read."""


@dataclass(frozen=True, slots=True)
class LevelShape:
    """One level of a tree: ``level`` is the height above the leaves (0: the leaves)."""

    level: int
    nodes: int
    entries: int
    capacity: int

    @property
    def fill(self) -> float:
        """Entries over what the level's nodes can hold (0..1)."""
        return self.entries / (self.nodes * self.capacity)


@dataclass(frozen=True, slots=True)
class ShapeSample:
    """A replica's tree at ``t_ms``, leaves first; ``levels`` is None while it is down."""

    t_ms: float
    levels: tuple[LevelShape, ...] | None


@dataclass(frozen=True, slots=True)
class LeafHeat:
    """Writes and splits of one leaf in the window; keys are its range at the window's end."""

    leaf_id: int
    writes: int
    splits: int
    first_key: Any = None
    last_key: Any = None
    exists: bool = True


@dataclass(slots=True)
class ReplicaShape:
    """Everything rebuilt for one replica over a window."""

    node: str
    samples: list[ShapeSample] = field(default_factory=list)
    leaves: list[LeafHeat] = field(default_factory=list)
    """Every leaf written or split in the window, hottest first (writes, then splits)."""
    tree: BPlusTree[Any, None] | None = None
    """The tree at the window's end (None when the replica is down then)."""


def tree_levels(tree: BPlusTree[Any, Any]) -> tuple[LevelShape, ...]:
    """The levels of ``tree``, leaves first (one walk of its internal nodes)."""
    limits = tree.limits
    counts: list[tuple[int, int]] = []  # per depth from the root: nodes, entries
    row: list[Node[Any, Any]] = [tree.root]
    while row and type(row[0]) is Internal:
        children: list[Node[Any, Any]] = []
        for node in row:
            children.extend(node.children)  # type: ignore[union-attr]
        counts.append((len(row), len(children)))
        row = children
    counts.append((len(row), len(tree)))
    counts.reverse()
    return tuple(
        LevelShape(
            level,
            nodes,
            entries,
            limits.leaf_max if level == 0 else limits.internal_max,
        )
        for level, (nodes, entries) in enumerate(counts)
    )


def find_node(tree: BPlusTree[Any, Any], node_id: int) -> tuple[Node[Any, Any], int] | None:
    """The node ``node_id`` of ``tree`` and its level (height), or None if it has none."""
    row: list[Node[Any, Any]] = [tree.root]
    level = tree.depth - 1
    while row:
        for node in row:
            if node.node_id == node_id:
                return node, level
        if type(row[0]) is not Internal:
            return None
        row = [child for node in row for child in node.children]  # type: ignore[union-attr]
        level -= 1
    return None


@dataclass(frozen=True, slots=True)
class TreeBox:
    """One node drawn as a box of a subtree: the leaves below it decide its width.

    ``start`` and ``width`` are in leaves (the subtree's leftmost leaf is 0); ``level``
    is the node's height; ``fill`` its entries over its capacity.
    """

    node_id: int
    kind: NodeKind
    level: int
    start: int
    width: int
    entries: int
    fill: float
    first_key: Any
    last_key: Any


def subtree_boxes(tree: BPlusTree[Any, Any], node_id: int | None = None) -> list[TreeBox]:
    """Every node under ``node_id`` (the root when None), root first, level by level.

    Raises ``KeyError`` when the tree has no node ``node_id``.
    """
    limits: FillLimits = tree.limits
    if node_id is None:
        top: Node[Any, Any] = tree.root
        top_level = tree.depth - 1
    else:
        found = find_node(tree, node_id)
        if found is None:
            raise KeyError(node_id)
        top, top_level = found

    def leaves_under(node: Node[Any, Any]) -> int:
        if type(node) is Leaf:
            return 1
        return sum(leaves_under(child) for child in node.children)

    def key_range(node: Node[Any, Any]) -> tuple[Any, Any]:
        first = last = node
        while type(first) is Internal:
            first = first.children[0]
        while type(last) is Internal:
            last = last.children[-1]
        return (first.keys[0] if first.keys else None, last.keys[-1] if last.keys else None)

    boxes: list[TreeBox] = []
    row: list[tuple[Node[Any, Any], int]] = [(top, 0)]
    level = top_level
    while row:
        following: list[tuple[Node[Any, Any], int]] = []
        for node, start in row:
            first_key, last_key = key_range(node)
            if type(node) is Leaf:
                entries = len(node.keys)
                boxes.append(
                    TreeBox(
                        node.node_id,
                        NodeKind.LEAF,
                        level,
                        start,
                        1,
                        entries,
                        entries / limits.leaf_max,
                        first_key,
                        last_key,
                    )
                )
                continue
            assert type(node) is Internal
            offset = start
            for child in node.children:
                following.append((child, offset))
                offset += leaves_under(child)
            entries = len(node.children)
            boxes.append(
                TreeBox(
                    node.node_id,
                    NodeKind.INTERNAL,
                    level,
                    start,
                    offset - start,
                    entries,
                    entries / limits.internal_max,
                    first_key,
                    last_key,
                )
            )
        row = following
        level -= 1
    return boxes


# -- the replay ---------------------------------------------------------------------------


class _KeyMachine:
    """A replica's state machine reduced to what shapes its tree (see the module rules)."""

    __slots__ = ("sessions", "tree", "workload")

    def __init__(self, order: int, bugs: frozenset[str], workload: Workload | None) -> None:
        self.tree: BPlusTree[Any, None] = BPlusTree(order=order, bugs=bugs)
        self.sessions: dict[str, int] = {}
        self.workload = workload

    def apply(self, record: EventRecord, writes: dict[int, int] | None = None) -> None:
        """Apply one ``raft.apply`` record; with ``writes``, count each change of a leaf
        there (by leaf id, the leaf before the change)."""
        if record.get("entry_kind") != "normal":
            return
        entry = str(record.get("entry", ""))
        client, _, seq_text = entry.rpartition(":")
        if not client or not seq_text.isdigit():
            return
        seq = int(seq_text)
        if seq <= self.sessions.get(client, 0):
            return  # a retry, answered from the session
        self.sessions[client] = seq
        try:
            op = Op(str(record.get("f")))
        except ValueError:
            raise PlotInputError(
                f"raft.apply at seq {record.get('seq')}: unknown operation {record.get('f')!r}"
            ) from None
        if op.is_read:
            return
        tree = self.tree
        key = record.get("key")
        if op is Op.DELETE:
            if key not in tree:
                return
            if writes is not None:
                self._count(writes, key)
            del tree[key]
            return
        if record.get("status") != "ok":
            return
        if op is not Op.LOAD:
            if writes is not None:
                self._count(writes, key)
            tree[key] = None
            return
        for loaded, _ in self._batch(record, entry, seq):
            if writes is not None:
                self._count(writes, loaded)
            tree[loaded] = None

    def _count(self, writes: dict[int, int], key: Any) -> None:
        leaf_id = self.tree.leaf_id_for(key)
        writes[leaf_id] = writes.get(leaf_id, 0) + 1

    def _batch(self, record: EventRecord, entry: str, seq: int) -> tuple[tuple[str, int], ...]:
        """The records of load batch ``seq``, rebuilt from the workload."""
        where = f"raft.apply at seq {record.get('seq')} (entry {entry})"
        if self.workload is None or self.workload.load is None:
            raise PlotInputError(
                f"{where}: a load batch, but the run's workload has no load phase to rebuild "
                "its records from"
            )
        pairs = load_batch(self.workload, seq)
        if not pairs or pairs[0][0] != record.get("key"):
            raise PlotInputError(
                f"{where}: load batch {seq} of the workload starts at "
                f"{pairs[0][0] if pairs else 'no record'!r}, the log at {record.get('key')!r}"
            )
        return pairs

    def restore(self, image: tuple[tuple[tuple[Any, None], ...], dict[str, int]]) -> None:
        items, sessions = image
        self.tree.restore(items)
        self.sessions = dict(sessions)

    def image(self) -> tuple[tuple[tuple[Any, None], ...], dict[str, int]]:
        return self.tree.snapshot(), dict(self.sessions)


class _Heat(NullObserver):
    """Counts writes and splits per leaf while the window is open (an observer of splits;
    the other structure changes are the null observer's)."""

    __slots__ = ("counting", "splits", "writes")

    def __init__(self) -> None:
        self.writes: dict[int, int] = {}
        self.splits: dict[int, int] = {}
        self.counting = False

    def on_split(
        self, kind: NodeKind, node_id: int, new_node_id: int, separator_key: Any, reason: str
    ) -> None:
        if self.counting and kind is NodeKind.LEAF:
            self.splits[node_id] = self.splits.get(node_id, 0) + 1


class _Replica:
    __slots__ = ("heat", "machine", "shape")

    def __init__(self, node: str) -> None:
        self.shape = ReplicaShape(node)
        self.heat = _Heat()
        self.machine: _KeyMachine | None = None

    def sample(self, t_ms: float) -> None:
        machine = self.machine
        levels = None if machine is None else tree_levels(machine.tree)
        self.shape.samples.append(ShapeSample(t_ms, levels))


def replay_shapes(
    events: Sequence[EventRecord],
    nodes: Sequence[str],
    *,
    order: int,
    bugs: Iterable[str] = (),
    window_ms: tuple[float, float],
    samples: int = SAMPLES,
    workload: Workload | None = None,
) -> dict[str, ReplicaShape]:
    """Rebuild every replica's tree through ``window_ms`` (see the module rules).

    ``events`` are event records in log order holding at least ``SHAPE_EVENT_KINDS``;
    ``workload`` is the run's (needed when it has a load phase).
    """
    bug_set = frozenset(bugs)
    start_ms, end_ms = window_ms
    log: dict[int, EventRecord] = {}
    for record in events:
        if record["kind"] == _APPLY:
            log.setdefault(int(record["index"]), record)
    reference = _KeyMachine(order, bug_set, workload)
    reference_index = 0
    images: dict[int, tuple[tuple[tuple[Any, None], ...], dict[str, int]]] = {}

    def image_at(index: int) -> tuple[tuple[tuple[Any, None], ...], dict[str, int]]:
        nonlocal reference, reference_index
        cached = images.get(index)
        if cached is not None:
            return cached
        if index < reference_index:
            reference = _KeyMachine(order, bug_set, workload)
            reference_index = 0
        while reference_index < index:
            reference_index += 1
            entry = log.get(reference_index)
            if entry is not None:
                reference.apply(entry)
        images[index] = reference.image()
        return images[index]

    replicas = {node: _Replica(node) for node in nodes}
    for replica in replicas.values():
        replica.machine = _KeyMachine(order, bug_set, workload)
        replica.machine.tree.observer = replica.heat
    step = (end_ms - start_ms) / max(1, samples)
    grid = [start_ms + step * i for i in range(max(1, samples))]
    grid_position = 0
    window_open = False

    def open_window() -> None:
        for replica in replicas.values():
            replica.heat.counting = True

    for record in events:
        t_ms = float(record["t"])
        if t_ms > end_ms:
            break
        while grid_position < len(grid) and grid[grid_position] <= t_ms:
            if not window_open:
                window_open = True
                open_window()
            for replica in replicas.values():
                replica.sample(grid[grid_position])
            grid_position += 1
        target = replicas.get(str(record["node"]))
        if target is None:
            continue
        kind = record["kind"]
        if kind == _APPLY:
            machine = target.machine
            if machine is not None:
                machine.apply(record, target.heat.writes if target.heat.counting else None)
        elif kind == _RESTORE:
            if target.machine is not None:
                target.machine.restore(image_at(int(record["index"])))
        elif kind == _CRASH:
            target.machine = None
            target.heat.writes.clear()
            target.heat.splits.clear()
        elif kind == _RESTART:
            target.machine = _KeyMachine(order, bug_set, workload)
            target.machine.tree.observer = target.heat
    if not window_open:
        open_window()
    for position in range(grid_position, len(grid)):
        for replica in replicas.values():
            replica.sample(grid[position])
    for replica in replicas.values():
        replica.sample(end_ms)
        machine = replica.machine
        replica.shape.tree = None if machine is None else machine.tree
        replica.shape.leaves = _hot_leaves(replica.heat, replica.shape.tree)
    return {node: replicas[node].shape for node in nodes}


def _hot_leaves(heat: _Heat, tree: BPlusTree[Any, None] | None) -> list[LeafHeat]:
    ranges: dict[int, tuple[Any, Any]] = {}
    if tree is not None:
        node: Node[Any, None] = tree.root
        while type(node) is Internal:
            node = node.children[0]
        assert type(node) is Leaf
        leaf: Leaf[Any, None] | None = node
        while leaf is not None:
            if leaf.keys:
                ranges[leaf.node_id] = (leaf.keys[0], leaf.keys[-1])
            else:
                ranges[leaf.node_id] = (None, None)
            leaf = leaf.next
    heats: list[LeafHeat] = []
    for leaf_id in sorted(set(heat.writes) | set(heat.splits)):
        first, last = ranges.get(leaf_id, (None, None))
        heats.append(
            LeafHeat(
                leaf_id,
                heat.writes.get(leaf_id, 0),
                heat.splits.get(leaf_id, 0),
                first,
                last,
                leaf_id in ranges,
            )
        )
    heats.sort(key=lambda leaf: (-leaf.writes, -leaf.splits, leaf.leaf_id))
    return heats


# -- rates --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StructureRates:
    """Structural changes of all replicas per bucket of ``bucket_ms`` from ``start_ms``.

    ``counts[kind][i]`` is the number of ``kind`` records (``STRUCTURE_KINDS``) in
    bucket ``i``; ``per_second`` scales a count to a rate.
    """

    start_ms: float
    bucket_ms: float
    counts: dict[str, list[int]]

    @property
    def per_second(self) -> float:
        return 1000.0 / self.bucket_ms

    def total(self, kind: str) -> int:
        return sum(self.counts[kind])


def structure_rates(
    events: Iterable[EventRecord],
    window_ms: tuple[float, float],
    buckets: int = 60,
    nodes: Sequence[str] | None = None,
) -> StructureRates:
    """Count splits, merges and borrows per time bucket (of ``nodes``, all when None)."""
    start_ms, end_ms = window_ms
    if end_ms <= start_ms or buckets < 1:
        raise PlotInputError("the window for structure rates is empty")
    bucket_ms = (end_ms - start_ms) / buckets
    counts = {kind: [0] * buckets for kind in STRUCTURE_KINDS}
    wanted = None if nodes is None else frozenset(nodes)
    for record in events:
        series = counts.get(str(record["kind"]))
        if series is None or (wanted is not None and record["node"] not in wanted):
            continue
        t_ms = float(record["t"])
        if not start_ms <= t_ms <= end_ms:
            continue
        series[min(buckets - 1, int((t_ms - start_ms) / bucket_ms))] += 1
    return StructureRates(start_ms, bucket_ms, counts)
