"""Node types of the B+ tree.

Rules of this file:

- Two node kinds, closed vocabulary :class:`NodeKind`. A node is either a leaf (keys with
  their values, linked to its neighbours) or an internal node (separator keys and children).
- Nodes are plain slotted records with parallel lists; every rule about how many keys a node
  may hold, and what a separator means, lives in :mod:`harmonysim.btree.tree` and is checked
  by :mod:`harmonysim.btree.invariants`.
- An internal node with separators ``s[0] < ... < s[k-1]`` has ``k + 1`` children; child ``i``
  holds exactly the keys ``x`` with ``s[i-1] <= x < s[i]`` (the missing ends are the bounds
  inherited from the ancestors). Descent therefore uses ``bisect_right`` on the separators.
- Node ids come from a per-tree counter, so they are deterministic and never depend on
  ``id()`` or on hashing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar, final


class SupportsLessThan(Protocol):
    """What a key must support: a total order through ``<`` (ints, strs, tuples, ...)."""

    def __lt__(self, other: Any, /) -> bool: ...


K = TypeVar("K", bound=SupportsLessThan)
V = TypeVar("V")


class NodeKind(Enum):
    """The two kinds of B+ tree node."""

    LEAF = "leaf"
    INTERNAL = "internal"


@final
class Leaf(Generic[K, V]):
    """A leaf: sorted ``keys`` with ``values`` at the same positions, in a doubly linked chain."""

    __slots__ = ("keys", "next", "node_id", "prev", "values")

    def __init__(self, keys: list[K], values: list[V], node_id: int) -> None:
        self.keys = keys
        self.values = values
        self.node_id = node_id
        self.next: Leaf[K, V] | None = None
        self.prev: Leaf[K, V] | None = None


@final
class Internal(Generic[K, V]):
    """An internal node: ``len(children) == len(keys) + 1`` (see the module rules)."""

    __slots__ = ("children", "keys", "node_id")

    def __init__(self, keys: list[K], children: list[Node[K, V]], node_id: int) -> None:
        self.keys = keys
        self.children = children
        self.node_id = node_id


Node = Leaf[K, V] | Internal[K, V]


MIN_ORDER = 3
"""The smallest order for which splits and merges keep every node at least half full."""


@dataclass(frozen=True, slots=True)
class FillLimits:
    """How full nodes may be for a given order (the one place these rules are written down).

    ``order`` is the maximum number of children of an internal node. A leaf holds at most
    ``order - 1`` keys, so every node holds at most ``order - 1`` keys. Every node except the
    root is at least half full: a leaf has at least ``ceil((order - 1) / 2)`` keys and an
    internal node at least ``ceil(order / 2)`` children. An internal root has at least two
    children; a leaf root may be empty.

    These bounds are exactly the ones splits and merges can keep: an overflowing leaf of
    ``order`` keys splits into halves of at least ``leaf_min`` keys, and an underfull leaf of
    ``leaf_min - 1`` keys merges with a sibling of ``leaf_min`` keys into at most ``leaf_max``
    keys (the same holds for children of internal nodes).
    """

    order: int
    leaf_max: int
    leaf_min: int
    internal_max: int
    internal_min: int

    @classmethod
    def for_order(cls, order: int) -> FillLimits:
        if isinstance(order, bool) or not isinstance(order, int):
            raise TypeError(f"order must be an int, got {type(order).__name__}")
        if order < MIN_ORDER:
            raise ValueError(f"order must be at least {MIN_ORDER}, got {order}")
        leaf_max = order - 1
        return cls(
            order=order,
            leaf_max=leaf_max,
            leaf_min=(leaf_max + 1) // 2,
            internal_max=order,
            internal_min=(order + 1) // 2,
        )
