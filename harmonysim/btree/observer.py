"""Observer hooks for structural changes of the B+ tree.

Rules of this file:

- The tree reports every structural change -- split, merge, borrow, root change (which carries
  the new depth) -- to at most one observer, ``tree.observer`` (``None`` by default).
- Hooks cost next to nothing when nobody observes: the tree checks ``observer is None`` only on
  the rare structural paths, never on a plain get, insert or delete that fits in its leaf.
- Hooks are called after the change is complete, so an observer may read the tree (for
  example ``tree.depth``) but must not mutate it.
- ``reason`` is always a :class:`StructureReason`, a ``str`` enum, so it can go straight into
  an event log; separators are the keys as stored in the tree.
- Meaning of the node ids in each hook:

  ``on_split``       ``node_id`` kept the lower half, ``new_node_id`` is the new right sibling,
                     ``separator_key`` is the key inserted into the parent between them.
  ``on_merge``       ``node_id`` is the surviving left node, ``absorbed_node_id`` the right
                     sibling it absorbed, ``separator_key`` the parent separator removed.
  ``on_borrow``      ``node_id`` was underfull and took one entry from ``sibling_id``;
                     ``separator_key`` is the parent separator between them after the move.
  ``on_root_change`` ``depth`` is the tree depth after the change (a lone leaf root is 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from harmonysim.btree.nodes import NodeKind


class StructureReason(StrEnum):
    """Why a structural change happened."""

    OVERFLOW = "overflow"
    """A node exceeded its maximum size after an insert and was split."""
    UNDERFLOW = "underflow"
    """A non-root node fell below half full after a delete and borrowed or merged."""
    ROOT_SPLIT = "root_split"
    """The root split, so a new root was placed above it and the depth grew by one."""
    ROOT_COLLAPSE = "root_collapse"
    """An internal root was left with one child, which became the root; the depth shrank."""
    RESTORE = "restore"
    """The whole tree was replaced by a bulk load (``restore``)."""
    CLEAR = "clear"
    """The tree was emptied (``clear``)."""


class BTreeObserver(Protocol):
    """Receives the structural changes of one tree (see the module docstring)."""

    def on_split(
        self, kind: NodeKind, node_id: int, new_node_id: int, separator_key: Any, reason: str
    ) -> None: ...

    def on_merge(
        self, kind: NodeKind, node_id: int, absorbed_node_id: int, separator_key: Any, reason: str
    ) -> None: ...

    def on_borrow(
        self, kind: NodeKind, node_id: int, sibling_id: int, separator_key: Any, reason: str
    ) -> None: ...

    def on_root_change(
        self, old_root_id: int, new_root_id: int, depth: int, reason: str
    ) -> None: ...


class NullObserver:
    """An observer that ignores everything (used to measure the cost of an idle observer)."""

    __slots__ = ()

    def on_split(
        self, kind: NodeKind, node_id: int, new_node_id: int, separator_key: Any, reason: str
    ) -> None:
        return None

    def on_merge(
        self, kind: NodeKind, node_id: int, absorbed_node_id: int, separator_key: Any, reason: str
    ) -> None:
        return None

    def on_borrow(
        self, kind: NodeKind, node_id: int, sibling_id: int, separator_key: Any, reason: str
    ) -> None:
        return None

    def on_root_change(self, old_root_id: int, new_root_id: int, depth: int, reason: str) -> None:
        return None


@dataclass(frozen=True, slots=True)
class SplitRecord:
    """One ``on_split`` call."""

    kind: NodeKind
    node_id: int
    new_node_id: int
    separator_key: Any
    reason: str


@dataclass(frozen=True, slots=True)
class MergeRecord:
    """One ``on_merge`` call."""

    kind: NodeKind
    node_id: int
    absorbed_node_id: int
    separator_key: Any
    reason: str


@dataclass(frozen=True, slots=True)
class BorrowRecord:
    """One ``on_borrow`` call."""

    kind: NodeKind
    node_id: int
    sibling_id: int
    separator_key: Any
    reason: str


@dataclass(frozen=True, slots=True)
class RootChangeRecord:
    """One ``on_root_change`` call."""

    old_root_id: int
    new_root_id: int
    depth: int
    reason: str


StructureRecord = SplitRecord | MergeRecord | BorrowRecord | RootChangeRecord


class RecordingObserver:
    """Keeps every hook call, in order, as an immutable record in ``records``."""

    __slots__ = ("records",)

    def __init__(self) -> None:
        self.records: list[StructureRecord] = []

    def on_split(
        self, kind: NodeKind, node_id: int, new_node_id: int, separator_key: Any, reason: str
    ) -> None:
        self.records.append(SplitRecord(kind, node_id, new_node_id, separator_key, reason))

    def on_merge(
        self, kind: NodeKind, node_id: int, absorbed_node_id: int, separator_key: Any, reason: str
    ) -> None:
        self.records.append(MergeRecord(kind, node_id, absorbed_node_id, separator_key, reason))

    def on_borrow(
        self, kind: NodeKind, node_id: int, sibling_id: int, separator_key: Any, reason: str
    ) -> None:
        self.records.append(BorrowRecord(kind, node_id, sibling_id, separator_key, reason))

    def on_root_change(self, old_root_id: int, new_root_id: int, depth: int, reason: str) -> None:
        self.records.append(RootChangeRecord(old_root_id, new_root_id, depth, reason))
