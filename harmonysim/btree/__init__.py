"""A B+ tree key-value store core: pure, sans-I/O, deterministic.

``BPlusTree`` is an ordered ``MutableMapping`` with range scans, bulk loading from snapshots,
a full structural invariant check and observer hooks for splits, merges, borrows and root
changes. The rules each module keeps are stated in its own docstring.
"""

from harmonysim.btree.bulk import BulkLoad, build_from_sorted
from harmonysim.btree.invariants import BTreeInvariantError, Invariant, check_structure
from harmonysim.btree.nodes import MIN_ORDER, FillLimits, NodeKind, SupportsLessThan
from harmonysim.btree.observer import (
    BorrowRecord,
    BTreeObserver,
    MergeRecord,
    NullObserver,
    RecordingObserver,
    RootChangeRecord,
    SplitRecord,
    StructureReason,
    StructureRecord,
)
from harmonysim.btree.tree import (
    BUG_SPLIT_LOSES_KEY,
    DEFAULT_ORDER,
    KNOWN_BUGS,
    BPlusTree,
    SortedItemsView,
    SortedKeysView,
    SortedValuesView,
)

__all__ = [
    "BUG_SPLIT_LOSES_KEY",
    "DEFAULT_ORDER",
    "KNOWN_BUGS",
    "MIN_ORDER",
    "BPlusTree",
    "BTreeInvariantError",
    "BTreeObserver",
    "BorrowRecord",
    "BulkLoad",
    "FillLimits",
    "Invariant",
    "MergeRecord",
    "NodeKind",
    "NullObserver",
    "RecordingObserver",
    "RootChangeRecord",
    "SortedItemsView",
    "SortedKeysView",
    "SortedValuesView",
    "SplitRecord",
    "StructureReason",
    "StructureRecord",
    "SupportsLessThan",
    "build_from_sorted",
    "check_structure",
]
