"""Bulk loading: build a balanced B+ tree bottom-up from sorted items in O(n).

Rules of this file:

- Input items must have strictly increasing keys; anything else is a ``ValueError`` naming the
  first offending position (the caller's snapshot is corrupt, and a silently reordered tree
  would hide that).
- Leaves are packed as full as the limits allow and sizes are spread evenly: with ``n`` keys
  there are ``ceil(n / leaf_max)`` leaves whose sizes differ by at most one, which is never
  below ``leaf_min`` when there are two or more leaves. Each internal level is built the same
  way from the level below, so every leaf ends at the same depth and every non-root node is at
  least half full (the invariants of :mod:`harmonysim.btree.invariants` hold on return).
- Each separator is the smallest key of the subtree to its right.
- Node ids are handed out in build order from ``first_node_id`` (deterministic).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic

from harmonysim.btree.nodes import FillLimits, Internal, K, Leaf, Node, V


@dataclass(frozen=True, slots=True)
class BulkLoad(Generic[K, V]):
    """A freshly built tree, ready to be installed by :class:`harmonysim.btree.BPlusTree`."""

    root: Node[K, V]
    first_leaf: Leaf[K, V]
    last_leaf: Leaf[K, V]
    depth: int
    length: int
    node_count: int
    next_node_id: int


def _even_sizes(total: int, capacity: int) -> list[int]:
    """Split ``total`` into ``ceil(total / capacity)`` parts differing by at most one."""
    parts = max(1, -(-total // capacity))
    base, extra = divmod(total, parts)
    return [base + 1 if part < extra else base for part in range(parts)]


def build_from_sorted(
    items: Iterable[tuple[K, V]], limits: FillLimits, first_node_id: int
) -> BulkLoad[K, V]:
    """Build a balanced tree from ``(key, value)`` pairs with strictly increasing keys."""
    keys: list[K] = []
    values: list[V] = []
    for key, value in items:
        if keys and not keys[-1] < key:
            raise ValueError(
                f"bulk load needs strictly increasing keys: item {len(keys)} has key {key!r} "
                f"after {keys[-1]!r}"
            )
        keys.append(key)
        values.append(value)

    node_id = first_node_id
    leaves: list[Leaf[K, V]] = []
    start = 0
    for size in _even_sizes(len(keys), limits.leaf_max):
        leaf: Leaf[K, V] = Leaf(keys[start : start + size], values[start : start + size], node_id)
        node_id += 1
        if leaves:
            leaf.prev = leaves[-1]
            leaves[-1].next = leaf
        leaves.append(leaf)
        start += size

    level: list[Node[K, V]] = list(leaves)
    # The smallest key of each subtree in ``level``: the separator it contributes to its parent.
    low_keys: list[K] = [leaf.keys[0] for leaf in leaves] if keys else []
    depth = 1
    node_count = len(leaves)
    while len(level) > 1:
        parents: list[Node[K, V]] = []
        parent_low_keys: list[K] = []
        start = 0
        for size in _even_sizes(len(level), limits.internal_max):
            children = level[start : start + size]
            parents.append(Internal(low_keys[start + 1 : start + size], children, node_id))
            parent_low_keys.append(low_keys[start])
            node_id += 1
            start += size
        node_count += len(parents)
        level, low_keys = parents, parent_low_keys
        depth += 1

    return BulkLoad(
        root=level[0],
        first_leaf=leaves[0],
        last_leaf=leaves[-1],
        depth=depth,
        length=len(keys),
        node_count=node_count,
        next_node_id=node_id,
    )
