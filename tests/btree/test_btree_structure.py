"""Structural tests: exact split/merge/borrow transcripts, depth growth and collapse, bulk loads.

The small transcripts spell out, for tiny orders, which node splits or merges, with which
separator, and how the depth changes -- the observer records are compared exactly.
"""

from __future__ import annotations

import random

import pytest

from harmonysim.btree import (
    BorrowRecord,
    BPlusTree,
    MergeRecord,
    NodeKind,
    RecordingObserver,
    RootChangeRecord,
    SplitRecord,
    StructureReason,
)

LEAF = NodeKind.LEAF
INTERNAL = NodeKind.INTERNAL
OVERFLOW = StructureReason.OVERFLOW
UNDERFLOW = StructureReason.UNDERFLOW


def observed(order: int, keys: list[int]) -> tuple[BPlusTree[int, int], RecordingObserver]:
    tree: BPlusTree[int, int] = BPlusTree(order)
    observer = RecordingObserver()
    tree.observer = observer
    for key in keys:
        tree[key] = key * 10
    return tree, observer


def test_first_leaf_split_grows_a_root() -> None:
    # Order 4: a leaf holds at most 3 keys; the 4th key splits it 2 + 2.
    tree, observer = observed(4, [1, 2, 3])
    assert observer.records == []
    assert tree.depth == 1
    tree[4] = 40
    assert observer.records == [
        SplitRecord(LEAF, 1, 2, 3, OVERFLOW),
        RootChangeRecord(1, 3, 2, StructureReason.ROOT_SPLIT),
    ]
    assert (tree.depth, tree.node_count, tree.root_id) == (2, 3, 3)
    tree.check_invariants()


def test_internal_split_pushes_the_middle_separator_up() -> None:
    # Order 3: leaves hold at most 2 keys, internal nodes at most 3 children.
    tree, observer = observed(3, [1, 2, 3, 4, 5, 6, 7])
    assert observer.records == [
        SplitRecord(LEAF, 1, 2, 3, OVERFLOW),  # [1 2] [3]
        RootChangeRecord(1, 3, 2, StructureReason.ROOT_SPLIT),
        SplitRecord(LEAF, 2, 4, 5, OVERFLOW),  # [1 2] [3 4] [5]
        SplitRecord(LEAF, 4, 5, 7, OVERFLOW),  # [1 2] [3 4] [5 6] [7]: root has 4 children
        SplitRecord(INTERNAL, 3, 6, 5, OVERFLOW),  # separators 3 | 5 | 7: 5 moves up
        RootChangeRecord(3, 7, 3, StructureReason.ROOT_SPLIT),
    ]
    assert tree.depth == 3
    assert list(tree.irange(2, 6)) == [2, 3, 4, 5, 6]
    tree.check_invariants()


def test_borrow_from_right_sibling_moves_the_separator() -> None:
    tree, observer = observed(4, [1, 2, 3, 4, 5])  # [1 2] [3 4 5], separator 3
    observer.records.clear()
    del tree[1]  # [2] is underfull; the right sibling can lend 3
    assert observer.records == [BorrowRecord(LEAF, 1, 2, 4, UNDERFLOW)]
    assert list(tree.irange_items()) == [(2, 20), (3, 30), (4, 40), (5, 50)]
    tree.check_invariants()


def test_borrow_from_left_sibling_moves_the_separator() -> None:
    tree, observer = observed(4, [1, 2, 3, 4, 0])  # [0 1 2] [3 4], separator 3
    observer.records.clear()
    del tree[4]  # [3] is underfull; the left sibling lends 2
    assert observer.records == [BorrowRecord(LEAF, 2, 1, 2, UNDERFLOW)]
    tree.check_invariants()


def test_leaf_merge_collapses_the_root() -> None:
    tree, observer = observed(4, [1, 2, 3, 4])  # [1 2] [3 4], separator 3
    observer.records.clear()
    del tree[1]  # [2] underfull, [3 4] at minimum: merge, root left with one child
    assert observer.records == [
        MergeRecord(LEAF, 1, 2, 3, UNDERFLOW),
        RootChangeRecord(3, 1, 1, StructureReason.ROOT_COLLAPSE),
    ]
    assert (tree.depth, tree.node_count, tree.root_id) == (1, 1, 1)
    assert list(tree.items()) == [(2, 20), (3, 30), (4, 40)]
    tree.check_invariants()


def test_internal_merge_pulls_the_separator_down() -> None:
    tree, observer = observed(3, [1, 2, 3, 4, 5, 6, 7])  # depth 3, root separator 5
    observer.records.clear()
    del tree[7]  # [7] empties and borrows 6 from [5 6]
    del tree[6]  # [6] empties, [5] is at minimum: leaf merge, then internal merge
    kinds = [(type(record).__name__, getattr(record, "kind", None)) for record in observer.records]
    assert ("MergeRecord", INTERNAL) in kinds
    internal_merge = next(
        record
        for record in observer.records
        if isinstance(record, MergeRecord) and record.kind is INTERNAL
    )
    assert internal_merge.separator_key == 5  # the root separator came down
    assert observer.records[-1] == RootChangeRecord(7, 3, 2, StructureReason.ROOT_COLLAPSE)
    assert tree.depth == 2
    assert list(tree) == [1, 2, 3, 4, 5]
    tree.check_invariants()


def test_internal_borrow_rotates_through_the_parent() -> None:
    tree, observer = observed(3, list(range(1, 10)))
    tree.check_invariants()
    observer.records.clear()
    for key in (1, 2, 3):
        del tree[key]
        tree.check_invariants()
    borrows = [
        record
        for record in observer.records
        if isinstance(record, BorrowRecord) and record.kind is INTERNAL
    ]
    assert borrows, observer.records
    # After a rotation the parent separator is the smallest key of the lender's moved subtree.
    for borrow in borrows:
        assert borrow.separator_key in tree
    assert list(tree) == [4, 5, 6, 7, 8, 9]


@pytest.mark.parametrize("order", [3, 4, 5, 8, 64])
@pytest.mark.parametrize("ascending", [True, False])
def test_sequential_keys_grow_then_shrink_one_level_at_a_time(order: int, ascending: bool) -> None:
    count = 600
    keys = list(range(count)) if ascending else list(range(count - 1, -1, -1))
    tree, observer = observed(order, keys)
    tree.check_invariants()
    growth = [record for record in observer.records if isinstance(record, RootChangeRecord)]
    assert [record.depth for record in growth] == list(range(2, tree.depth + 1))
    assert all(record.reason == StructureReason.ROOT_SPLIT for record in growth)
    assert tree.depth >= 2
    assert list(tree) == list(range(count))
    observer.records.clear()
    for key in keys:
        del tree[key]
        if key % 37 == 0:
            tree.check_invariants()
    tree.check_invariants()
    shrink = [record for record in observer.records if isinstance(record, RootChangeRecord)]
    assert [record.depth for record in shrink] == list(range(len(growth), 0, -1))
    assert all(record.reason == StructureReason.ROOT_COLLAPSE for record in shrink)
    assert (len(tree), tree.depth, tree.node_count) == (0, 1, 1)


@pytest.mark.parametrize("order", [3, 4, 7, 16])
def test_observer_records_account_for_every_node(order: int) -> None:
    rng = random.Random(order)
    tree, observer = observed(order, [])
    for _ in range(3000):
        key = rng.randrange(300)
        if rng.random() < 0.55:
            tree[key] = key
        else:
            tree.pop(key, None)
        splits = sum(isinstance(record, SplitRecord) for record in observer.records)
        merges = sum(isinstance(record, MergeRecord) for record in observer.records)
        grown = sum(
            isinstance(record, RootChangeRecord) and record.reason == StructureReason.ROOT_SPLIT
            for record in observer.records
        )
        shrunk = sum(
            isinstance(record, RootChangeRecord) and record.reason == StructureReason.ROOT_COLLAPSE
            for record in observer.records
        )
        assert tree.node_count == 1 + splits + grown - merges - shrunk
        assert tree.depth == 1 + grown - shrunk
    tree.check_invariants()
    for record in observer.records:
        if isinstance(record, SplitRecord | MergeRecord | BorrowRecord):
            assert record.reason in (OVERFLOW, UNDERFLOW)


@pytest.mark.parametrize("order", [3, 4, 5, 8, 64])
def test_deletion_heavy_workload_keeps_invariants(order: int) -> None:
    rng = random.Random(1000 + order)
    tree: BPlusTree[int, int] = BPlusTree(order)
    model: dict[int, int] = {}
    for key in rng.sample(range(5000), 1500):
        tree[key] = model[key] = key
    present = sorted(model)
    rng.shuffle(present)
    for position, key in enumerate(present[:1400]):
        assert tree.pop(key) == model.pop(key)
        if position % 50 == 0:
            tree.check_invariants()
            assert list(tree) == sorted(model)
    tree.check_invariants()
    assert tree.snapshot() == tuple(sorted(model.items()))


@pytest.mark.parametrize("order", [3, 4, 5, 8, 64, 128])
def test_bulk_load_is_balanced_and_full(order: int) -> None:
    for count in [0, 1, 2, order - 1, order, order + 1, 3 * order + 1, 1000]:
        items = [(key, -key) for key in range(0, 2 * count, 2)]
        tree = BPlusTree.from_sorted_items(items, order)
        tree.check_invariants()
        assert tree.snapshot() == tuple(items)
        leaves = max(1, -(-count // (order - 1)))
        levels, nodes = 1, leaves
        while nodes > 1:
            nodes = -(-nodes // order)
            levels += 1
        assert tree.depth == levels, (order, count)
        assert tree.fill() == pytest.approx(count / (leaves * (order - 1)))
        if leaves > 1:
            assert tree.fill() >= 0.5


def test_restore_replaces_content_and_reports_a_root_change() -> None:
    tree, observer = observed(4, list(range(20)))
    old_root = tree.root_id
    observer.records.clear()
    tree.restore([(100, -1), (200, -2)])
    assert observer.records == [
        RootChangeRecord(old_root, tree.root_id, 1, StructureReason.RESTORE)
    ]
    assert dict(tree) == {100: -1, 200: -2}
    tree.check_invariants()


@pytest.mark.parametrize(
    "items",
    [[(1, 0), (1, 0)], [(2, 0), (1, 0)], [(1, 0), (3, 0), (2, 0)]],
)
def test_restore_rejects_unsorted_input_and_keeps_the_tree(items: list[tuple[int, int]]) -> None:
    tree, _ = observed(4, [5, 6, 7, 8, 9])
    before = tree.snapshot()
    with pytest.raises(ValueError, match="strictly increasing"):
        tree.restore(items)
    assert tree.snapshot() == before
    tree.check_invariants()


def test_node_ids_are_deterministic() -> None:
    def transcript() -> list[object]:
        rng = random.Random(7)
        tree, observer = observed(5, [])
        for _ in range(500):
            key = rng.randrange(100)
            if rng.random() < 0.6:
                tree[key] = key
            else:
                tree.pop(key, None)
        return [*observer.records, tree.root_id, tree.node_count]

    assert transcript() == transcript()


def test_mutations_inside_a_leaf_never_call_the_observer() -> None:
    class Refusing:
        def __getattr__(self, name: str) -> object:
            raise AssertionError(f"observer.{name} called")

    tree: BPlusTree[int, int] = BPlusTree.from_sorted_items([(k, k) for k in range(0, 60, 2)], 8)
    tree.observer = Refusing()  # type: ignore[assignment]
    for key in range(0, 60, 2):
        assert tree[key] == key
        tree[key] = key + 1  # overwrite
    tree[-1] = 0  # 30 keys in 5 leaves of 6: the first leaf has room for a 7th key
    del tree[30]  # a leaf of 6 keys keeps 5, above the minimum of 4
    assert list(tree.irange(-1, 4)) == [-1, 0, 2, 4]
    assert 30 not in tree
