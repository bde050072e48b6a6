"""Structural invariants of the B+ tree, checked in one full walk.

Rules of this file:

- :func:`check_structure` never mutates the tree; it raises :class:`BTreeInvariantError` on the
  first violation, naming the invariant (a closed vocabulary, :class:`Invariant`) and the node.
- The invariants, with the fill bounds of :class:`harmonysim.btree.nodes.FillLimits`:

  ``node_shape``         an internal node has one more child than separators; a leaf has one
                         value per key; an internal root has at least two children.
  ``key_order``          keys strictly increase within every node and across adjacent leaves.
  ``fill_bounds``        no node above its maximum; every non-root node at least half full.
  ``separator_bounds``   every key of child ``i`` lies in ``[s[i-1], s[i])`` of its parent, and
                         in the range its ancestors allow.
  ``leaf_depth``         all leaves are at the same depth, and that is the recorded depth.
  ``leaf_chain``         following ``next`` from the first leaf visits exactly the leaves of the
                         in-order walk, ``prev`` mirrors ``next``, and the ends are recorded.
  ``length``             the recorded length is the number of keys in the leaves.
  ``node_count``         the recorded node count is the number of nodes; node ids are unique.
- Only ``<`` is used to compare keys, as everywhere in the tree.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from harmonysim.btree.nodes import FillLimits, Internal, Leaf, Node


class Invariant(StrEnum):
    """The invariants :func:`check_structure` verifies (see the module docstring)."""

    NODE_SHAPE = "node_shape"
    KEY_ORDER = "key_order"
    FILL_BOUNDS = "fill_bounds"
    SEPARATOR_BOUNDS = "separator_bounds"
    LEAF_DEPTH = "leaf_depth"
    LEAF_CHAIN = "leaf_chain"
    LENGTH = "length"
    NODE_COUNT = "node_count"


class BTreeInvariantError(AssertionError):
    """A B+ tree invariant does not hold; ``invariant`` and ``node_id`` say which and where."""

    def __init__(self, invariant: Invariant, node_id: int | None, detail: str) -> None:
        where = "tree" if node_id is None else f"node {node_id}"
        super().__init__(f"{invariant.value} violated at {where}: {detail}")
        self.invariant = invariant
        self.node_id = node_id
        self.detail = detail


_NO_BOUND: Any = object()


def _check_sorted(keys: list[Any], node_id: int) -> None:
    for position in range(1, len(keys)):
        if not keys[position - 1] < keys[position]:
            raise BTreeInvariantError(
                Invariant.KEY_ORDER,
                node_id,
                f"key {keys[position - 1]!r} at position {position - 1} is not below "
                f"key {keys[position]!r} at position {position}",
            )


def _check_bounds(keys: list[Any], low: Any, high: Any, node_id: int) -> None:
    if not keys:
        return
    if low is not _NO_BOUND and keys[0] < low:
        raise BTreeInvariantError(
            Invariant.SEPARATOR_BOUNDS,
            node_id,
            f"key {keys[0]!r} is below the separator {low!r} that bounds this subtree",
        )
    if high is not _NO_BOUND and not keys[-1] < high:
        raise BTreeInvariantError(
            Invariant.SEPARATOR_BOUNDS,
            node_id,
            f"key {keys[-1]!r} is not below the separator {high!r} that bounds this subtree",
        )


def check_structure(
    *,
    root: Node[Any, Any],
    first_leaf: Leaf[Any, Any],
    last_leaf: Leaf[Any, Any],
    depth: int,
    length: int,
    node_count: int,
    limits: FillLimits,
) -> None:
    """Walk the whole tree and raise :class:`BTreeInvariantError` on the first violation."""
    in_order_leaves: list[Leaf[Any, Any]] = []
    seen_ids: set[int] = set()
    visited = 0
    # Explicit stack of (node, level, low bound, high bound); children pushed right to left
    # so that leaves are reached in key order.
    stack: list[tuple[Node[Any, Any], int, Any, Any]] = [(root, 1, _NO_BOUND, _NO_BOUND)]
    while stack:
        node, level, low, high = stack.pop()
        visited += 1
        if node.node_id in seen_ids:
            raise BTreeInvariantError(
                Invariant.NODE_COUNT, node.node_id, "node id used by more than one node"
            )
        seen_ids.add(node.node_id)
        is_root = node is root
        _check_sorted(node.keys, node.node_id)
        _check_bounds(node.keys, low, high, node.node_id)
        if isinstance(node, Leaf):
            _check_leaf(node, level, depth, is_root, limits)
            in_order_leaves.append(node)
            continue
        _check_internal(node, is_root, limits)
        bounds = [low, *node.keys, high]
        for position in range(len(node.children) - 1, -1, -1):
            child = node.children[position]
            stack.append((child, level + 1, bounds[position], bounds[position + 1]))

    _check_chain(in_order_leaves, first_leaf, last_leaf)
    stored = sum(len(leaf.keys) for leaf in in_order_leaves)
    if stored != length:
        raise BTreeInvariantError(
            Invariant.LENGTH, None, f"recorded length {length} but the leaves hold {stored} keys"
        )
    if visited != node_count:
        raise BTreeInvariantError(
            Invariant.NODE_COUNT,
            None,
            f"recorded node count {node_count} but the walk visited {visited} nodes",
        )


def _check_leaf(
    leaf: Leaf[Any, Any], level: int, depth: int, is_root: bool, limits: FillLimits
) -> None:
    if len(leaf.values) != len(leaf.keys):
        raise BTreeInvariantError(
            Invariant.NODE_SHAPE,
            leaf.node_id,
            f"{len(leaf.keys)} keys but {len(leaf.values)} values",
        )
    if level != depth:
        raise BTreeInvariantError(
            Invariant.LEAF_DEPTH, leaf.node_id, f"leaf at depth {level}, tree depth is {depth}"
        )
    size = len(leaf.keys)
    if size > limits.leaf_max:
        raise BTreeInvariantError(
            Invariant.FILL_BOUNDS,
            leaf.node_id,
            f"leaf holds {size} keys, more than the maximum {limits.leaf_max}",
        )
    if not is_root and size < limits.leaf_min:
        raise BTreeInvariantError(
            Invariant.FILL_BOUNDS,
            leaf.node_id,
            f"non-root leaf holds {size} keys, fewer than the minimum {limits.leaf_min}",
        )


def _check_internal(node: Internal[Any, Any], is_root: bool, limits: FillLimits) -> None:
    fanout = len(node.children)
    if fanout != len(node.keys) + 1:
        raise BTreeInvariantError(
            Invariant.NODE_SHAPE,
            node.node_id,
            f"{len(node.keys)} separators but {fanout} children",
        )
    if fanout > limits.internal_max:
        raise BTreeInvariantError(
            Invariant.FILL_BOUNDS,
            node.node_id,
            f"internal node has {fanout} children, more than the maximum {limits.internal_max}",
        )
    if is_root and fanout < 2:
        raise BTreeInvariantError(
            Invariant.NODE_SHAPE, node.node_id, f"internal root has {fanout} child(ren)"
        )
    if not is_root and fanout < limits.internal_min:
        raise BTreeInvariantError(
            Invariant.FILL_BOUNDS,
            node.node_id,
            f"non-root internal node has {fanout} children, "
            f"fewer than the minimum {limits.internal_min}",
        )


def _check_chain(
    in_order: list[Leaf[Any, Any]], first_leaf: Leaf[Any, Any], last_leaf: Leaf[Any, Any]
) -> None:
    if in_order[0] is not first_leaf:
        raise BTreeInvariantError(
            Invariant.LEAF_CHAIN,
            first_leaf.node_id,
            f"recorded first leaf is not the leftmost leaf {in_order[0].node_id}",
        )
    if in_order[-1] is not last_leaf:
        raise BTreeInvariantError(
            Invariant.LEAF_CHAIN,
            last_leaf.node_id,
            f"recorded last leaf is not the rightmost leaf {in_order[-1].node_id}",
        )
    if first_leaf.prev is not None:
        raise BTreeInvariantError(
            Invariant.LEAF_CHAIN, first_leaf.node_id, "first leaf has a previous leaf"
        )
    previous: Leaf[Any, Any] | None = None
    for position, leaf in enumerate(in_order):
        if leaf.prev is not previous:
            raise BTreeInvariantError(
                Invariant.LEAF_CHAIN,
                leaf.node_id,
                "prev link does not point to the previous leaf of the in-order walk",
            )
        expected_next = in_order[position + 1] if position + 1 < len(in_order) else None
        if leaf.next is not expected_next:
            raise BTreeInvariantError(
                Invariant.LEAF_CHAIN,
                leaf.node_id,
                "next link does not point to the next leaf of the in-order walk",
            )
        if (
            previous is not None
            and previous.keys
            and leaf.keys
            and not previous.keys[-1] < leaf.keys[0]
        ):
            raise BTreeInvariantError(
                Invariant.KEY_ORDER,
                leaf.node_id,
                f"first key {leaf.keys[0]!r} is not above the last key "
                f"{previous.keys[-1]!r} of the previous leaf {previous.node_id}",
            )
        previous = leaf
