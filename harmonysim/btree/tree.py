"""The B+ tree: an ordered in-memory key-value map with a ``MutableMapping`` face.

Rules of this file:

- Sans-I/O and pure: no simulation, no randomness, no clock, no I/O. Same operations in the same
  order give the same tree, the same node ids and the same observer calls.
- Shape (limits in :class:`harmonysim.btree.nodes.FillLimits`): ``order`` is the maximum number
  of children of an internal node, and a leaf holds at most ``order - 1`` keys. Every non-root
  node is at least half full. All leaves are at the same depth and form a doubly linked chain in
  key order. ``depth`` counts levels: a lone leaf root has depth 1.
- Separators: child ``i`` of an internal node holds the keys ``x`` with
  ``keys[i-1] <= x < keys[i]``, so descent is ``bisect_right`` over the separators. A separator
  need not be a stored key (deleting a key leaves separators that still bracket correctly).
- Insert: put the key in its leaf; a leaf of ``order`` keys splits, the right half moving to a
  new right sibling whose first key becomes the separator inserted into the parent; an internal
  node of ``order + 1`` children splits, pushing its middle separator up; a root split adds a
  new root, growing the depth by one.
- Delete: remove the key from its leaf; an underfull non-root node first borrows one entry from
  its left sibling, else from its right sibling, if that sibling is above its minimum, and
  otherwise merges with a sibling (the left node absorbs the right one and the parent loses the
  separator between them), which may leave the parent underfull in turn. An internal root left
  with one child is replaced by that child, shrinking the depth by one.
- Hot paths (get, insert and delete that stay inside one leaf) descend iteratively without
  recording a path and never touch the observer. The rare structural paths descend a second
  time to collect the path and call the observer only when ``observer is not None``.
- Snapshots: :meth:`BPlusTree.snapshot` is the state-machine image a Raft server keeps when it
  compacts its log, and :meth:`BPlusTree.restore` / :meth:`BPlusTree.from_sorted_items` rebuild
  a balanced tree from it in O(n) when a snapshot is installed (Raft paper §7).
- Iteration is in key order. Changing the tree while iterating over it is not supported (as in
  ``sortedcontainers``); iterators read the leaves lazily, one leaf at a time.
- Bug switch (to prove checkers catch real faults): with ``"btree_split_loses_key"`` in
  ``bugs`` the leaf split drops the last key of the lower half -- an off-by-one in the
  truncation after the copy -- while the recorded length still counts it. ``bugs`` may carry
  names meant for other layers; those are ignored, but an unknown ``btree_`` name is a
  ``ValueError`` (a typo must not silently run the correct code). Two more, each one
  guarded line: ``"btree_merge_drops_key"`` (a leaf merge copies the absorbed leaf from
  its second key on, the recorded length still counting the first) and
  ``"btree_borrow_wrong_separator"`` (a leaf that borrows from its right sibling makes the
  borrowed key the separator, so that key routes to the sibling it left). And one in the
  range scan: ``"btree_scan_skips_leaf_boundary"`` (an ascending range scan that crosses
  into the next leaf resumes at that leaf's second key, skipping its first; iteration over
  the whole tree, which snapshots use, is not affected).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import (
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    MutableMapping,
    ValuesView,
)
from itertools import chain
from typing import Any, TypeVar, overload

from harmonysim.btree.bulk import build_from_sorted
from harmonysim.btree.invariants import check_structure
from harmonysim.btree.nodes import FillLimits, Internal, K, Leaf, Node, NodeKind, V
from harmonysim.btree.observer import BTreeObserver, StructureReason

DEFAULT_ORDER = 128
"""Default order, tuned with ``harmonysim.bench.btree`` on a million random integer keys.

Orders 128 to 1024 measure within noise of each other there (depth 3, lookups bound by memory
latency); 128 keeps the O(order) cost of a single split or merge small.
"""

BUG_SPLIT_LOSES_KEY = "btree_split_loses_key"
"""Bug switch: a leaf split loses one key (see the module docstring)."""

BUG_MERGE_DROPS_KEY = "btree_merge_drops_key"
"""Bug switch: a leaf merge loses the absorbed leaf's first key (see the module docstring)."""

BUG_BORROW_WRONG_SEPARATOR = "btree_borrow_wrong_separator"
"""Bug switch: a leaf borrowing from its right sibling sets the wrong separator."""

BUG_SCAN_SKIPS_LEAF_BOUNDARY = "btree_scan_skips_leaf_boundary"
"""Bug switch: a range scan skips the first key of each leaf it moves on to."""

KNOWN_BUGS = frozenset(
    {
        BUG_SPLIT_LOSES_KEY,
        BUG_MERGE_DROPS_KEY,
        BUG_BORROW_WRONG_SEPARATOR,
        BUG_SCAN_SKIPS_LEAF_BOUNDARY,
    }
)
"""Bug names this module implements; other ``btree_`` names are rejected as typos."""

BUG_PREFIX = "btree_"

_T = TypeVar("_T")
_MISSING: Any = object()


class BPlusTree(MutableMapping[K, V]):
    """An ordered map stored as a B+ tree (see the module docstring for its rules).

    Keys must be mutually comparable with ``<``; values are arbitrary. Iteration, ``keys()``,
    ``values()`` and ``items()`` are in ascending key order.
    """

    __slots__ = (
        "_borrow_wrong_separator",
        "_bugs",
        "_depth",
        "_first",
        "_last",
        "_leaf_max",
        "_leaf_min",
        "_len",
        "_limits",
        "_merge_key_loss",
        "_next_node_id",
        "_node_count",
        "_root",
        "_scan_resume_at",
        "_split_key_loss",
        "observer",
    )

    def __init__(
        self,
        order: int = DEFAULT_ORDER,
        *,
        bugs: frozenset[str] = frozenset(),
        observer: BTreeObserver | None = None,
    ) -> None:
        self._limits = FillLimits.for_order(order)
        self._leaf_max = self._limits.leaf_max
        self._leaf_min = self._limits.leaf_min
        unknown = sorted(
            name for name in bugs if name.startswith(BUG_PREFIX) and name not in KNOWN_BUGS
        )
        if unknown:
            raise ValueError(f"unknown B+ tree bug(s) {unknown}; known: {sorted(KNOWN_BUGS)}")
        self._bugs = frozenset(bugs)
        self._split_key_loss = 1 if BUG_SPLIT_LOSES_KEY in bugs else 0
        self._merge_key_loss = 1 if BUG_MERGE_DROPS_KEY in bugs else 0
        self._borrow_wrong_separator = BUG_BORROW_WRONG_SEPARATOR in bugs
        # Where a range scan resumes in each following leaf: 0, or 1 under the bug.
        self._scan_resume_at = 1 if BUG_SCAN_SKIPS_LEAF_BOUNDARY in bugs else 0
        self.observer = observer
        self._next_node_id = 1
        root: Leaf[K, V] = Leaf([], [], self._new_node_id())
        self._root: Node[K, V] = root
        self._first = root
        self._last = root
        self._depth = 1
        self._len = 0
        self._node_count = 1

    @classmethod
    def from_sorted_items(
        cls,
        items: Iterable[tuple[K, V]],
        order: int = DEFAULT_ORDER,
        *,
        bugs: frozenset[str] = frozenset(),
    ) -> BPlusTree[K, V]:
        """Bulk-load a balanced tree in O(n) from items with strictly increasing keys."""
        tree: BPlusTree[K, V] = cls(order, bugs=bugs)
        tree.restore(items)
        return tree

    # ------------------------------------------------------------------ properties

    @property
    def order(self) -> int:
        """Maximum number of children of an internal node (a leaf holds ``order - 1`` keys)."""
        return self._limits.order

    @property
    def limits(self) -> FillLimits:
        """The fill limits this tree keeps."""
        return self._limits

    @property
    def bugs(self) -> frozenset[str]:
        """The bug switches this tree was built with."""
        return self._bugs

    @property
    def depth(self) -> int:
        """Number of levels, root to leaves inclusive (a lone leaf root has depth 1)."""
        return self._depth

    @property
    def node_count(self) -> int:
        """Number of nodes, leaves and internal nodes together."""
        return self._node_count

    @property
    def root_id(self) -> int:
        """Node id of the current root."""
        return self._root.node_id

    @property
    def root(self) -> Node[K, V]:
        """The root node, for read-only walks (drawing the tree); never mutate what it reaches."""
        return self._root

    def leaf_id_for(self, key: K) -> int:
        """Node id of the leaf that holds ``key``, or would hold it if it were inserted."""
        return self._leaf_for(key).node_id

    def fill(self) -> float:
        """Mean leaf fill ratio: keys per leaf over ``order - 1``, averaged over the leaves.

        Walks the leaf chain (O(number of leaves)); an empty tree has fill 0.0.
        """
        leaves = sum(1 for _ in self._leaves())
        return self._len / (leaves * self._leaf_max)

    # ------------------------------------------------------------------ lookups

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, key: K) -> V:
        node = self._root
        while type(node) is Internal:
            node = node.children[bisect_right(node.keys, key)]
        keys = node.keys
        position = bisect_left(keys, key)
        if position != len(keys) and keys[position] == key:
            return node.values[position]
        raise KeyError(key)

    @overload
    def get(self, key: K, /) -> V | None: ...

    @overload
    def get(self, key: K, /, default: V | _T) -> V | _T: ...

    def get(self, key: K, /, default: Any = None) -> Any:
        node = self._root
        while type(node) is Internal:
            node = node.children[bisect_right(node.keys, key)]
        keys = node.keys
        position = bisect_left(keys, key)
        if position != len(keys) and keys[position] == key:
            return node.values[position]
        return default

    def __contains__(self, key: object) -> bool:
        node = self._root
        while type(node) is Internal:
            node = node.children[bisect_right(node.keys, key)]  # type: ignore[call-overload]
        keys = node.keys
        position = bisect_left(keys, key)  # type: ignore[call-overload]
        return bool(position != len(keys) and keys[position] == key)

    def min_key(self) -> K:
        """The smallest key; ``ValueError`` if the tree is empty."""
        if not self._len:
            raise ValueError("min_key() of an empty B+ tree")
        return self._first.keys[0]

    def max_key(self) -> K:
        """The largest key; ``ValueError`` if the tree is empty."""
        if not self._len:
            raise ValueError("max_key() of an empty B+ tree")
        return self._last.keys[-1]

    # ------------------------------------------------------------------ insert

    def __setitem__(self, key: K, value: V) -> None:
        node = self._root
        while type(node) is Internal:
            node = node.children[bisect_right(node.keys, key)]
        keys = node.keys
        position = bisect_left(keys, key)
        if position != len(keys) and keys[position] == key:
            node.values[position] = value
            return
        keys.insert(position, key)
        node.values.insert(position, value)
        self._len += 1
        if len(keys) > self._leaf_max:
            self._split_leaf(node, key)

    def _new_node_id(self) -> int:
        node_id = self._next_node_id
        self._next_node_id = node_id + 1
        return node_id

    def _path_to(self, key: K) -> list[tuple[Internal[K, V], int]]:
        """The internal nodes from the root down to ``key``'s leaf, each with the child taken."""
        path: list[tuple[Internal[K, V], int]] = []
        node = self._root
        while type(node) is Internal:
            position = bisect_right(node.keys, key)
            path.append((node, position))
            node = node.children[position]
        return path

    def _split_leaf(self, leaf: Leaf[K, V], key: K) -> None:
        path = self._path_to(key)
        keys = leaf.keys
        values = leaf.values
        middle = (len(keys) + 1) // 2
        right: Leaf[K, V] = Leaf(keys[middle:], values[middle:], self._new_node_id())
        cut = middle - self._split_key_loss
        del keys[cut:]
        del values[cut:]
        following = leaf.next
        right.prev = leaf
        right.next = following
        leaf.next = right
        if following is None:
            self._last = right
        else:
            following.prev = right
        self._node_count += 1
        separator = right.keys[0]
        observer = self.observer
        if observer is not None:
            observer.on_split(
                NodeKind.LEAF, leaf.node_id, right.node_id, separator, StructureReason.OVERFLOW
            )
        self._insert_separator(path, separator, right)

    def _insert_separator(
        self, path: list[tuple[Internal[K, V], int]], separator: K, right: Node[K, V]
    ) -> None:
        """Insert ``separator`` and its ``right`` child into the parents, splitting upwards."""
        internal_max = self._limits.internal_max
        observer = self.observer
        while path:
            parent, position = path.pop()
            parent_keys = parent.keys
            children = parent.children
            parent_keys.insert(position, separator)
            children.insert(position + 1, right)
            if len(children) <= internal_max:
                return
            kept = (len(children) + 1) // 2
            sibling: Internal[K, V] = Internal(
                parent_keys[kept:], children[kept:], self._new_node_id()
            )
            separator = parent_keys[kept - 1]
            del parent_keys[kept - 1 :]
            del children[kept:]
            self._node_count += 1
            if observer is not None:
                observer.on_split(
                    NodeKind.INTERNAL,
                    parent.node_id,
                    sibling.node_id,
                    separator,
                    StructureReason.OVERFLOW,
                )
            right = sibling
        old_root = self._root
        new_root: Internal[K, V] = Internal([separator], [old_root, right], self._new_node_id())
        self._root = new_root
        self._depth += 1
        self._node_count += 1
        if observer is not None:
            observer.on_root_change(
                old_root.node_id, new_root.node_id, self._depth, StructureReason.ROOT_SPLIT
            )

    # ------------------------------------------------------------------ delete

    def __delitem__(self, key: K) -> None:
        self._remove(key)

    def pop(self, key: K, default: Any = _MISSING) -> Any:
        """Remove ``key`` and return its value, or ``default`` if given and ``key`` is absent."""
        try:
            return self._remove(key)
        except KeyError:
            if default is _MISSING:
                raise
            return default

    def popitem(self) -> tuple[K, V]:
        """Remove and return the item with the largest key; ``KeyError`` if empty."""
        if not self._len:
            raise KeyError("popitem(): B+ tree is empty")
        key = self._last.keys[-1]
        return key, self._remove(key)

    def _remove(self, key: K) -> V:
        node = self._root
        while type(node) is Internal:
            node = node.children[bisect_right(node.keys, key)]
        keys = node.keys
        position = bisect_left(keys, key)
        if position == len(keys) or keys[position] != key:
            raise KeyError(key)
        del keys[position]
        value = node.values.pop(position)
        self._len -= 1
        if len(keys) < self._leaf_min and node is not self._root:
            self._rebalance_leaf(key)
        return value

    def _rebalance_leaf(self, key: K) -> None:
        """Fix the underfull leaf that ``key`` routes to: borrow, else merge."""
        path = self._path_to(key)
        parent, position = path[-1]
        siblings = parent.children
        leaf = siblings[position]
        assert type(leaf) is Leaf
        observer = self.observer
        leaf_min = self._leaf_min
        survivor: Node[K, V]
        absorbed: Node[K, V]
        if position > 0:
            left = siblings[position - 1]
            assert type(left) is Leaf
            if len(left.keys) > leaf_min:
                leaf.keys.insert(0, left.keys.pop())
                leaf.values.insert(0, left.values.pop())
                separator = leaf.keys[0]
                parent.keys[position - 1] = separator
                if observer is not None:
                    observer.on_borrow(
                        NodeKind.LEAF,
                        leaf.node_id,
                        left.node_id,
                        separator,
                        StructureReason.UNDERFLOW,
                    )
                return
        if position + 1 < len(siblings):
            right = siblings[position + 1]
            assert type(right) is Leaf
            if len(right.keys) > leaf_min:
                leaf.keys.append(right.keys.pop(0))
                leaf.values.append(right.values.pop(0))
                separator = leaf.keys[-1] if self._borrow_wrong_separator else right.keys[0]
                parent.keys[position] = separator
                if observer is not None:
                    observer.on_borrow(
                        NodeKind.LEAF,
                        leaf.node_id,
                        right.node_id,
                        separator,
                        StructureReason.UNDERFLOW,
                    )
                return
        if position > 0:
            survivor = siblings[position - 1]
            absorbed = leaf
            separator_position = position - 1
        else:
            survivor = leaf
            absorbed = siblings[position + 1]
            separator_position = position
        assert type(survivor) is Leaf
        assert type(absorbed) is Leaf
        lost = self._merge_key_loss  # the bug: an off-by-one in the copy of the absorbed leaf
        survivor.keys.extend(absorbed.keys[lost:])
        survivor.values.extend(absorbed.values[lost:])
        following = absorbed.next
        survivor.next = following
        if following is None:
            self._last = survivor
        else:
            following.prev = survivor
        separator = parent.keys.pop(separator_position)
        del siblings[separator_position + 1]
        self._node_count -= 1
        if observer is not None:
            observer.on_merge(
                NodeKind.LEAF,
                survivor.node_id,
                absorbed.node_id,
                separator,
                StructureReason.UNDERFLOW,
            )
        path.pop()
        self._rebalance_internal(parent, path)

    def _rebalance_internal(
        self, node: Internal[K, V], path: list[tuple[Internal[K, V], int]]
    ) -> None:
        """Fix ``node`` (which just lost a child) and its ancestors; ``path`` leads to it."""
        internal_min = self._limits.internal_min
        observer = self.observer
        survivor: Node[K, V]
        absorbed: Node[K, V]
        while True:
            if node is self._root:
                if len(node.children) == 1:
                    child = node.children[0]
                    self._root = child
                    self._depth -= 1
                    self._node_count -= 1
                    if observer is not None:
                        observer.on_root_change(
                            node.node_id,
                            child.node_id,
                            self._depth,
                            StructureReason.ROOT_COLLAPSE,
                        )
                return
            if len(node.children) >= internal_min:
                return
            parent, position = path.pop()
            siblings = parent.children
            if position > 0:
                left = siblings[position - 1]
                assert type(left) is Internal
                if len(left.children) > internal_min:
                    node.keys.insert(0, parent.keys[position - 1])
                    node.children.insert(0, left.children.pop())
                    separator = left.keys.pop()
                    parent.keys[position - 1] = separator
                    if observer is not None:
                        observer.on_borrow(
                            NodeKind.INTERNAL,
                            node.node_id,
                            left.node_id,
                            separator,
                            StructureReason.UNDERFLOW,
                        )
                    return
            if position + 1 < len(siblings):
                right = siblings[position + 1]
                assert type(right) is Internal
                if len(right.children) > internal_min:
                    node.keys.append(parent.keys[position])
                    node.children.append(right.children.pop(0))
                    separator = right.keys.pop(0)
                    parent.keys[position] = separator
                    if observer is not None:
                        observer.on_borrow(
                            NodeKind.INTERNAL,
                            node.node_id,
                            right.node_id,
                            separator,
                            StructureReason.UNDERFLOW,
                        )
                    return
            if position > 0:
                survivor = siblings[position - 1]
                absorbed = node
                separator_position = position - 1
            else:
                survivor = node
                absorbed = siblings[position + 1]
                separator_position = position
            assert type(survivor) is Internal
            assert type(absorbed) is Internal
            separator = parent.keys.pop(separator_position)
            survivor.keys.append(separator)
            survivor.keys.extend(absorbed.keys)
            survivor.children.extend(absorbed.children)
            del siblings[separator_position + 1]
            self._node_count -= 1
            if observer is not None:
                observer.on_merge(
                    NodeKind.INTERNAL,
                    survivor.node_id,
                    absorbed.node_id,
                    separator,
                    StructureReason.UNDERFLOW,
                )
            node = parent

    def clear(self) -> None:
        """Remove every item, leaving one empty leaf as the root (depth 1)."""
        old_root_id = self._root.node_id
        root: Leaf[K, V] = Leaf([], [], self._new_node_id())
        self._install(root, root, root, depth=1, length=0, node_count=1)
        if self.observer is not None:
            self.observer.on_root_change(old_root_id, root.node_id, 1, StructureReason.CLEAR)

    def _install(
        self,
        root: Node[K, V],
        first: Leaf[K, V],
        last: Leaf[K, V],
        *,
        depth: int,
        length: int,
        node_count: int,
    ) -> None:
        self._root = root
        self._first = first
        self._last = last
        self._depth = depth
        self._len = length
        self._node_count = node_count

    # ------------------------------------------------------------------ snapshots

    def snapshot(self) -> tuple[tuple[K, V], ...]:
        """All items in key order, as an immutable tuple of ``(key, value)`` pairs."""
        return tuple(self._iter_items())

    def restore(self, items: Iterable[tuple[K, V]]) -> None:
        """Replace the whole content by a balanced bulk load of ``items`` (O(n)).

        ``items`` must have strictly increasing keys (as :meth:`snapshot` returns them);
        otherwise ``ValueError`` is raised and the tree is left unchanged.
        """
        built = build_from_sorted(items, self._limits, self._next_node_id)
        old_root_id = self._root.node_id
        self._next_node_id = built.next_node_id
        self._install(
            built.root,
            built.first_leaf,
            built.last_leaf,
            depth=built.depth,
            length=built.length,
            node_count=built.node_count,
        )
        if self.observer is not None:
            self.observer.on_root_change(
                old_root_id, built.root.node_id, built.depth, StructureReason.RESTORE
            )

    # ------------------------------------------------------------------ invariants

    def check_invariants(self) -> None:
        """Raise :class:`harmonysim.btree.BTreeInvariantError` if any structural rule fails."""
        check_structure(
            root=self._root,
            first_leaf=self._first,
            last_leaf=self._last,
            depth=self._depth,
            length=self._len,
            node_count=self._node_count,
            limits=self._limits,
        )

    # ------------------------------------------------------------------ iteration

    def __iter__(self) -> Iterator[K]:
        return chain.from_iterable(leaf.keys for leaf in self._leaves())

    def __reversed__(self) -> Iterator[K]:
        return chain.from_iterable(reversed(leaf.keys) for leaf in self._leaves(reverse=True))

    def _leaves(self, reverse: bool = False) -> Iterator[Leaf[K, V]]:
        """The leaves along the chain, from the first (or, reversed, from the last)."""
        leaf: Leaf[K, V] | None
        if reverse:
            leaf = self._last
            while leaf is not None:
                yield leaf
                leaf = leaf.prev
        else:
            leaf = self._first
            while leaf is not None:
                yield leaf
                leaf = leaf.next

    def _iter_values(self, reverse: bool = False) -> Iterator[V]:
        if reverse:
            return chain.from_iterable(reversed(leaf.values) for leaf in self._leaves(True))
        return chain.from_iterable(leaf.values for leaf in self._leaves())

    def keys(self) -> SortedKeysView[K]:
        return SortedKeysView(self)

    def values(self) -> SortedValuesView[V]:
        return SortedValuesView(self)

    def items(self) -> SortedItemsView[K, V]:
        return SortedItemsView(self)

    def irange(
        self,
        minimum: K | None = None,
        maximum: K | None = None,
        inclusive: tuple[bool, bool] = (True, True),
        reverse: bool = False,
    ) -> Iterator[K]:
        """Keys between ``minimum`` and ``maximum`` in order (as ``SortedDict.irange``).

        ``None`` leaves that end open; ``inclusive`` says whether each bound itself is
        included; ``reverse`` yields from the largest key down. The first leaf is located
        eagerly; later leaves are read as the iterator advances.
        """
        if reverse:
            return self._backward(minimum, maximum, inclusive, False)
        return self._forward(minimum, maximum, inclusive, False, self._scan_resume_at)

    def irange_items(
        self,
        minimum: K | None = None,
        maximum: K | None = None,
        inclusive: tuple[bool, bool] = (True, True),
        reverse: bool = False,
    ) -> Iterator[tuple[K, V]]:
        """Like :meth:`irange` but yields ``(key, value)`` pairs."""
        if reverse:
            return self._backward(minimum, maximum, inclusive, True)
        return self._forward(minimum, maximum, inclusive, True, self._scan_resume_at)

    def items_range(
        self,
        minimum: K | None = None,
        maximum: K | None = None,
        inclusive: tuple[bool, bool] = (True, True),
        reverse: bool = False,
    ) -> Iterator[tuple[K, V]]:
        """Another name for :meth:`irange_items`."""
        return self.irange_items(minimum, maximum, inclusive, reverse)

    def range_with_leaves(self, minimum: K, maximum: K) -> tuple[list[tuple[K, V]], int]:
        """The items with ``minimum <= key <= maximum``, and how many leaves were read to
        find them: the leaf holding ``minimum`` and each following one the range reaches
        (a traced scan reports it; :meth:`irange_items` stays the untraced path)."""
        node = self._root
        while type(node) is Internal:
            node = node.children[bisect_right(node.keys, minimum)]
        leaf: Leaf[K, V] | None = node
        items: list[tuple[K, V]] = []
        leaves = 0
        start = bisect_left(node.keys, minimum)
        while leaf is not None:
            leaves += 1
            keys = leaf.keys
            stop = bisect_right(keys, maximum)
            items.extend(zip(keys[start:stop], leaf.values[start:stop], strict=True))
            if stop < len(keys):
                break
            leaf = leaf.next
            start = self._scan_resume_at  # as the untraced path: tracing changes no answer
        return items, leaves

    def _iter_items(self, reverse: bool = False) -> Iterator[tuple[K, V]]:
        if reverse:
            return self._backward(None, None, (True, True), True)
        return self._forward(None, None, (True, True), True)

    def _leaf_for(self, key: K) -> Leaf[K, V]:
        node = self._root
        while type(node) is Internal:
            node = node.children[bisect_right(node.keys, key)]
        return node

    def _forward(
        self,
        minimum: K | None,
        maximum: K | None,
        inclusive: tuple[bool, bool],
        with_values: bool,
        resume_at: int = 0,
    ) -> Iterator[Any]:
        """Ascending range: the part in the first leaf now, later leaves lazily, each
        from position ``resume_at`` (0; 1 under ``btree_scan_skips_leaf_boundary``)."""
        if minimum is None:
            leaf = self._first
            start = 0
        else:
            node = self._root
            while type(node) is Internal:
                node = node.children[bisect_right(node.keys, minimum)]
            leaf = node
            start = (bisect_left if inclusive[0] else bisect_right)(leaf.keys, minimum)
        keys = leaf.keys
        if maximum is None:
            stop = len(keys)
        else:
            stop = (bisect_right if inclusive[1] else bisect_left)(keys, maximum)
        ends_here = stop < len(keys) or leaf.next is None
        if not with_values:
            if ends_here:
                return iter(keys[start:stop])
            return chain(
                keys[start:],
                chain.from_iterable(
                    self._forward_slices(leaf, maximum, inclusive[1], False, resume_at)
                ),
            )
        head = zip(keys[start:stop], leaf.values[start:stop], strict=True)
        if ends_here:
            return head
        return chain(
            head,
            chain.from_iterable(self._forward_slices(leaf, maximum, inclusive[1], True, resume_at)),
        )

    @staticmethod
    def _forward_slices(
        leaf: Leaf[K, V],
        maximum: K | None,
        include_maximum: bool,
        with_values: bool,
        resume_at: int = 0,
    ) -> Iterator[Iterable[Any]]:
        """The in-range part of each leaf after ``leaf``, one leaf per step, each read
        from position ``resume_at`` (0 but under the bug switch)."""
        high_bisect = bisect_right if include_maximum else bisect_left
        following = leaf.next
        while following is not None:
            keys = following.keys
            stop = len(keys) if maximum is None else high_bisect(keys, maximum)
            if with_values:
                yield zip(keys[resume_at:stop], following.values[resume_at:stop], strict=True)
            else:
                yield keys[resume_at:stop]
            if stop < len(keys):
                return
            following = following.next

    def _backward(
        self,
        minimum: K | None,
        maximum: K | None,
        inclusive: tuple[bool, bool],
        with_values: bool,
    ) -> Iterator[Any]:
        """Descending range, read lazily leaf by leaf from the leaf holding ``maximum``."""
        return chain.from_iterable(self._backward_slices(minimum, maximum, inclusive, with_values))

    def _backward_slices(
        self,
        minimum: K | None,
        maximum: K | None,
        inclusive: tuple[bool, bool],
        with_values: bool,
    ) -> Iterator[Iterable[Any]]:
        low_bisect = bisect_left if inclusive[0] else bisect_right
        leaf: Leaf[K, V] | None
        if maximum is None:
            leaf = self._last
            stop = len(leaf.keys)
        else:
            leaf = self._leaf_for(maximum)
            stop = (bisect_right if inclusive[1] else bisect_left)(leaf.keys, maximum)
        while leaf is not None:
            keys = leaf.keys
            start = 0 if minimum is None else low_bisect(keys, minimum)
            if stop > start:
                if with_values:
                    yield zip(
                        reversed(keys[start:stop]), reversed(leaf.values[start:stop]), strict=True
                    )
                else:
                    yield reversed(keys[start:stop])
            if start > 0:
                return
            leaf = leaf.prev
            if leaf is not None:
                stop = len(leaf.keys)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(order={self.order}, len={self._len}, depth={self._depth}, "
            f"node_count={self._node_count})"
        )


class SortedKeysView(KeysView[K]):
    """Keys in ascending order; ``reversed()`` walks the leaf chain backwards."""

    _mapping: BPlusTree[K, Any]

    def __reversed__(self) -> Iterator[K]:
        return reversed(self._mapping)


class SortedValuesView(ValuesView[V]):
    """Values in ascending key order, read straight from the leaves."""

    _mapping: BPlusTree[Any, V]

    def __iter__(self) -> Iterator[V]:
        return self._mapping._iter_values()

    def __reversed__(self) -> Iterator[V]:
        return self._mapping._iter_values(reverse=True)


class SortedItemsView(ItemsView[K, V]):
    """Items in ascending key order, read straight from the leaves."""

    _mapping: BPlusTree[K, V]

    def __iter__(self) -> Iterator[tuple[K, V]]:
        return self._mapping._iter_items()

    def __reversed__(self) -> Iterator[tuple[K, V]]:
        return self._mapping._iter_items(reverse=True)
