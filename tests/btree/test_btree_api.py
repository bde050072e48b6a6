"""The mapping face, the invariant checker (it must catch corruption) and the bug switch."""

from __future__ import annotations

import random
from collections.abc import Callable, MutableMapping
from typing import Any

import pytest

from harmonysim.btree import (
    BUG_SPLIT_LOSES_KEY,
    BPlusTree,
    BTreeInvariantError,
    Invariant,
)
from harmonysim.btree.nodes import Internal, Leaf


def filled(order: int, count: int) -> BPlusTree[int, int]:
    tree: BPlusTree[int, int] = BPlusTree(order)
    for key in random.Random(count).sample(range(count), count):
        tree[key] = key * 10
    return tree


# ------------------------------------------------------------------ mapping face


def test_is_a_mutable_mapping_with_sorted_iteration() -> None:
    tree = filled(5, 200)
    assert isinstance(tree, MutableMapping)
    assert list(tree) == list(range(200))
    assert list(tree.keys()) == list(range(200))
    assert list(tree.values()) == [key * 10 for key in range(200)]
    assert list(tree.items()) == [(key, key * 10) for key in range(200)]
    assert list(reversed(tree)) == list(range(199, -1, -1))
    assert list(reversed(tree.keys())) == list(range(199, -1, -1))
    assert list(reversed(tree.values())) == [key * 10 for key in range(199, -1, -1)]
    assert next(reversed(tree.items())) == (199, 1990)
    assert (150, 1500) in tree.items()
    assert tree == {key: key * 10 for key in range(200)}


def test_mixin_methods_behave_like_dict() -> None:
    tree: BPlusTree[str, int] = BPlusTree(4)
    tree.update({"b": 2, "a": 1})
    tree.update([("d", 4)], c=3)
    assert tree.setdefault("e", 5) == 5
    assert tree.setdefault("a", 100) == 1
    assert list(tree.items()) == [("a", 1), ("b", 2), ("c", 3), ("d", 4), ("e", 5)]
    assert tree.popitem() == ("e", 5)
    assert tree.pop("zz", None) is None
    with pytest.raises(KeyError):
        tree.pop("zz")
    tree.clear()
    assert (len(tree), tree.depth, tree.node_count) == (0, 1, 1)
    with pytest.raises(KeyError):
        tree.popitem()
    tree.check_invariants()


def test_irange_defaults_and_reverse() -> None:
    tree = filled(4, 50)
    assert list(tree.irange()) == list(range(50))
    assert list(tree.irange(10, 15, inclusive=(False, False))) == [11, 12, 13, 14]
    assert list(tree.irange(maximum=3, reverse=True)) == [3, 2, 1, 0]
    assert list(tree.irange(minimum=47)) == [47, 48, 49]
    assert list(tree.irange(30, 20)) == []
    between_keys: tuple[Any, Any] = (10.5, 12.5)  # bounds need not be stored keys
    assert list(tree.irange(*between_keys)) == [11, 12]
    assert list(tree.items_range(48, None)) == [(48, 480), (49, 490)]


def test_min_max_depth_fill_repr() -> None:
    tree = filled(8, 1000)
    assert (tree.min_key(), tree.max_key()) == (0, 999)
    assert tree.depth >= 3
    assert 0.5 <= tree.fill() <= 1.0
    assert repr(tree) == (
        f"BPlusTree(order=8, len=1000, depth={tree.depth}, node_count={tree.node_count})"
    )
    assert BPlusTree(8).fill() == 0.0


@pytest.mark.parametrize(
    ("order", "error"), [(2, ValueError), (0, ValueError), (True, TypeError), (4.0, TypeError)]
)
def test_order_is_validated(order: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        BPlusTree(order)


def test_limits_follow_the_documented_rule() -> None:
    limits = BPlusTree(7).limits
    assert (limits.leaf_max, limits.leaf_min, limits.internal_max, limits.internal_min) == (
        6,
        3,
        7,
        4,
    )


# ------------------------------------------------------------------ invariant checker


def _leaves(tree: BPlusTree[Any, Any]) -> list[Leaf[Any, Any]]:
    leaves = []
    leaf: Leaf[Any, Any] | None = tree._first
    while leaf is not None:
        leaves.append(leaf)
        leaf = leaf.next
    return leaves


def _swap_keys_in_leaf(tree: BPlusTree[Any, Any]) -> int:
    leaf = _leaves(tree)[1]
    leaf.keys[0], leaf.keys[1] = leaf.keys[1], leaf.keys[0]
    return leaf.node_id


def _break_prev_link(tree: BPlusTree[Any, Any]) -> int:
    leaf = _leaves(tree)[2]
    leaf.prev = None
    return leaf.node_id


def _drop_key_without_rebalance(tree: BPlusTree[Any, Any]) -> int:
    leaf = _leaves(tree)[1]
    del leaf.keys[: len(leaf.keys) - 1]
    del leaf.values[: len(leaf.values) - 1]
    tree._len = sum(len(each.keys) for each in _leaves(tree))
    return leaf.node_id


def _wrong_separator(tree: BPlusTree[Any, Any]) -> int:
    root = tree._root
    assert isinstance(root, Internal)
    root.keys[0] = root.keys[0] + 1000
    return root.children[1].node_id


def _wrong_length(tree: BPlusTree[Any, Any]) -> int | None:
    tree._len += 1
    return None


def _uneven_depth(tree: BPlusTree[Any, Any]) -> int:
    root = tree._root
    assert isinstance(root, Internal)
    child = root.children[0]
    assert isinstance(child, Internal)
    # Replace the subtree by its leftmost leaf: keys stay in range, the depth does not.
    leaf = tree._first
    root.children[0] = leaf
    return leaf.node_id


def _value_missing(tree: BPlusTree[Any, Any]) -> int:
    leaf = _leaves(tree)[0]
    leaf.values.pop()
    return leaf.node_id


def _wrong_node_count(tree: BPlusTree[Any, Any]) -> int | None:
    tree._node_count += 1  # e.g. a split that counts a node it never linked in
    return None


def _duplicate_node_id(tree: BPlusTree[Any, Any]) -> int:
    leaves = _leaves(tree)
    leaves[2].node_id = leaves[1].node_id  # the walk meets leaves[1] first
    return leaves[1].node_id


CORRUPTIONS: list[tuple[Callable[[BPlusTree[Any, Any]], int | None], Invariant]] = [
    (_swap_keys_in_leaf, Invariant.KEY_ORDER),
    (_break_prev_link, Invariant.LEAF_CHAIN),
    (_drop_key_without_rebalance, Invariant.FILL_BOUNDS),
    (_wrong_separator, Invariant.SEPARATOR_BOUNDS),
    (_wrong_length, Invariant.LENGTH),
    (_uneven_depth, Invariant.LEAF_DEPTH),
    (_value_missing, Invariant.NODE_SHAPE),
    (_wrong_node_count, Invariant.NODE_COUNT),
    (_duplicate_node_id, Invariant.NODE_COUNT),
]


def test_every_invariant_has_a_constructed_violation() -> None:
    assert {invariant for _, invariant in CORRUPTIONS} == set(Invariant)


@pytest.mark.parametrize(("corrupt", "invariant"), CORRUPTIONS)
def test_checker_names_the_broken_invariant_and_node(
    corrupt: Callable[[BPlusTree[Any, Any]], int | None], invariant: Invariant
) -> None:
    tree = filled(5, 300)
    tree.check_invariants()
    node_id = corrupt(tree)
    with pytest.raises(BTreeInvariantError) as caught:
        tree.check_invariants()
    assert caught.value.invariant is invariant
    assert caught.value.node_id == node_id
    assert invariant.value in str(caught.value)


# ------------------------------------------------------------------ bug switch


def _lost_keys(tree: BPlusTree[int, int], model: dict[int, int]) -> list[int]:
    return [key for key in sorted(model) if tree.get(key) != model[key]]


@pytest.mark.parametrize("order", [3, 4, 8, 64])
def test_split_bug_loses_a_key_and_the_checks_see_it(order: int) -> None:
    tree: BPlusTree[int, int] = BPlusTree(order, bugs=frozenset({BUG_SPLIT_LOSES_KEY}))
    model: dict[int, int] = {}
    for key in range(order):  # the order-th key overflows the first leaf
        tree[key] = model[key] = key
    assert _lost_keys(tree, model) != []
    assert len(tree) == len(model)  # the tree still counts the lost key
    with pytest.raises(BTreeInvariantError):
        tree.check_invariants()


@pytest.mark.parametrize("order", [3, 4, 8, 64])
def test_without_the_bug_a_model_comparison_never_finds_a_loss(order: int) -> None:
    rng = random.Random(order)
    tree: BPlusTree[int, int] = BPlusTree(order, bugs=frozenset({"raft_unrelated_bug"}))
    model: dict[int, int] = {}
    for step in range(4000):
        key = rng.randrange(2000)
        tree[key] = model[key] = step
    assert _lost_keys(tree, model) == []
    tree.check_invariants()


def test_unknown_btree_bug_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="btree_splt_loses_key"):
        BPlusTree(4, bugs=frozenset({"btree_splt_loses_key"}))
    assert BPlusTree(4, bugs=frozenset({"raft_vote_twice"})).bugs == frozenset({"raft_vote_twice"})


def test_scan_bug_skips_the_first_key_of_each_leaf_a_scan_moves_on_to() -> None:
    """``btree_scan_skips_leaf_boundary``: a range scan resumes at the second key of each
    following leaf. The structure is intact (the invariants cannot see it) and so is
    iteration over the whole tree; only range scans that cross a leaf boundary lose keys."""
    from harmonysim.btree.tree import BUG_SCAN_SKIPS_LEAF_BOUNDARY

    buggy: BPlusTree[int, int] = BPlusTree(4, bugs=frozenset({BUG_SCAN_SKIPS_LEAF_BOUNDARY}))
    for key in range(40):
        buggy[key] = key * 10
    buggy.check_invariants()
    leaves = [list(leaf.keys) for leaf in buggy._leaves()]
    assert len(leaves) > 2
    first, second = leaves[0], leaves[1]
    skipped = [leaf[0] for leaf in leaves[1:]]
    scanned = [key for key, _ in buggy.irange_items(0, 39)]
    assert scanned == [key for key in range(40) if key not in skipped]
    assert list(buggy.irange(first[0], second[-1])) == [*first, *second[1:]]
    assert list(buggy.irange(first[0], first[-1])) == first  # within one leaf: whole
    assert list(buggy) == list(range(40))  # iteration (snapshots) is not the scan path


def test_without_the_scan_bug_every_range_scan_matches_the_model() -> None:
    rng = random.Random(7)
    tree: BPlusTree[int, int] = BPlusTree(4, bugs=frozenset({"raft_unrelated_bug"}))
    model: dict[int, int] = {}
    for step in range(2000):
        key = rng.randrange(300)
        if rng.random() < 0.3:
            tree.pop(key, None)
            model.pop(key, None)
        else:
            tree[key] = model[key] = step
        low = rng.randrange(300)
        high = low + rng.randrange(60)
        expected = [(k, model[k]) for k in sorted(model) if low <= k <= high]
        assert list(tree.irange_items(low, high)) == expected
