"""The B+ tree shape rebuilt from a run: levels, fill, hot leaves, subtrees and rates.

The replay is held against the dashboard's independent replay (``TreeReplayer``:
the full state machine fed the clients' values), and each rule of
``harmonysim.viz.btree_shape`` against a hand-written event log.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from harmonysim.btree import BPlusTree, NodeKind
from harmonysim.sim.events import EventRecord
from harmonysim.viz import RunRecords
from harmonysim.viz.btree_shape import (
    LevelShape,
    find_node,
    replay_shapes,
    structure_rates,
    subtree_boxes,
    tree_levels,
)
from harmonysim.viz.records import PlotInputError
from harmonysim.web.btree_view import TreeReplayer
from harmonysim.web.index import load_run_index


def log(rows: list[tuple[float, str, str | None, dict[str, Any]]]) -> list[EventRecord]:
    return [
        {"t": t, "seq": seq, "kind": kind, "node": node, **fields}
        for seq, (t, kind, node, fields) in enumerate(rows, start=1)
    ]


def apply(
    t: float, node: str, index: int, entry: str, f: str, key: str, status: str = "ok"
) -> tuple[float, str, str | None, dict[str, Any]]:
    return (
        t,
        "raft.apply",
        node,
        {
            "index": index,
            "term": 1,
            "entry_kind": "normal",
            "entry": entry,
            "f": f,
            "key": key,
            "status": status,
        },
    )


def boxes_of(tree: BPlusTree[Any, Any]) -> list[tuple[int, int, int, int, int]]:
    return [
        (box.node_id, box.level, box.start, box.width, box.entries) for box in subtree_boxes(tree)
    ]


# -- against the run ----------------------------------------------------------------------


@pytest.mark.parametrize("t_ms", [1500.0, 2600.0, 3400.0, 4000.0])
def test_replayed_trees_equal_the_dashboards_replay_node_for_node(
    run_dir: Path, records: RunRecords, t_ms: float
) -> None:
    # The run crashes n2 at 2.2 s (down at 2.6 s) and snapshots every 200 entries.
    shapes = replay_shapes(
        records.events, records.nodes, order=records.btree_order, window_ms=(0.0, t_ms)
    )
    replayer = TreeReplayer(load_run_index(run_dir))
    compared = 0
    for node in records.nodes:
        tree = shapes[node].tree
        if t_ms == 2600.0 and node == "n2":
            assert tree is None
            continue
        assert tree is not None
        expected = replayer.machine_at(node, t_ms)[0].tree
        assert boxes_of(tree) == boxes_of(expected)
        compared += 1
    assert compared >= 4


def test_leaf_splits_counted_per_leaf_are_the_recorded_leaf_splits(
    records: RunRecords, all_events: list[EventRecord]
) -> None:
    shapes = replay_shapes(
        records.events, records.nodes, order=records.btree_order, window_ms=(0.0, 4000.0)
    )
    for node in records.nodes:
        recorded: dict[int, int] = {}
        for event in all_events:
            if event["node"] != node:
                continue
            if event["kind"] == "node.crash":  # the restarted tree reuses the ids
                recorded.clear()
            elif event["kind"] == "btree.split" and event["node_kind"] == "leaf":
                recorded[event["tree_node"]] = recorded.get(event["tree_node"], 0) + 1
        counted = {leaf.leaf_id: leaf.splits for leaf in shapes[node].leaves if leaf.splits}
        assert counted == recorded
    assert any(event["kind"] == "node.crash" for event in all_events)


def test_shape_samples_are_the_tree_levels_and_a_gap_while_down(records: RunRecords) -> None:
    shapes = replay_shapes(
        records.events, records.nodes, order=records.btree_order, window_ms=(0.0, 4000.0)
    )
    n2 = shapes["n2"].samples
    assert [sample.t_ms for sample in n2][:3] == [0.0, 10.0, 20.0]
    assert len(n2) == 401
    assert all(sample.levels is None for sample in n2 if 2200.0 < sample.t_ms < 3000.0)
    assert n2[-1].levels == tree_levels(shapes["n2"].tree)  # type: ignore[arg-type]


# -- the rules, one by one ----------------------------------------------------------------


def test_levels_count_nodes_and_entries_from_the_leaves_up() -> None:
    tree: BPlusTree[int, None] = BPlusTree(order=4)
    for key in range(200):
        tree[key] = None
    levels = tree_levels(tree)
    assert len(levels) == tree.depth
    assert [level.level for level in levels] == list(range(tree.depth))
    assert sum(level.nodes for level in levels) == tree.node_count
    assert levels[0] == LevelShape(0, levels[0].nodes, 200, 3)
    assert levels[-1].nodes == 1
    for below, above in itertools.pairwise(levels):
        assert above.entries == below.nodes  # an internal node's entries are its children
        assert above.capacity == 4
    assert levels[0].fill == pytest.approx(200 / (levels[0].nodes * 3))


def test_subtree_boxes_tile_the_leaves_level_by_level() -> None:
    tree: BPlusTree[int, None] = BPlusTree(order=5)
    for key in range(0, 300, 3):
        tree[key] = None
    boxes = subtree_boxes(tree)
    leaves = sum(1 for box in boxes if box.kind is NodeKind.LEAF)
    for level in range(tree.depth):
        row = sorted((box.start, box.width) for box in boxes if box.level == level)
        assert row[0][0] == 0
        assert sum(width for _, width in row) == leaves
        for (start, width), (following, _) in itertools.pairwise(row):
            assert start + width == following
    child = next(box for box in boxes if box.level == tree.depth - 2)
    under = subtree_boxes(tree, child.node_id)
    assert under[0].node_id == child.node_id and under[0].start == 0
    assert under[0].width == child.width
    assert sum(1 for box in under if box.kind is NodeKind.LEAF) == child.width
    assert under[0].first_key == child.first_key and under[0].last_key == child.last_key
    found = find_node(tree, child.node_id)
    assert found is not None and found[1] == tree.depth - 2
    with pytest.raises(KeyError):
        subtree_boxes(tree, 10_000)


def test_only_keys_shape_the_tree_retries_and_failed_cas_change_nothing() -> None:
    events = log(
        [
            apply(1.0, "n1", 1, "c1:1", "put", "a"),
            apply(2.0, "n1", 2, "c2:1", "delete", "a"),
            apply(3.0, "n1", 3, "c1:1", "put", "a"),  # c1's retry: answered from the session
            apply(4.0, "n1", 4, "c2:2", "cas", "b", "fail"),
            apply(5.0, "n1", 5, "c2:3", "cas", "c", "ok"),  # a matching cas stores its key
            apply(6.0, "n1", 6, "c1:2", "get", "d"),
            apply(7.0, "n1", 7, "c1:3", "scan", "e"),
            apply(8.0, "n1", 8, "c1:4", "delete", "zz"),  # absent: no write
            (10.0, "run.end", None, {}),
        ]
    )
    shape = replay_shapes(events, ["n1"], order=4, window_ms=(0.0, 10.0))["n1"]
    assert shape.tree is not None
    assert list(shape.tree) == ["c"]
    (leaf,) = shape.leaves
    assert (leaf.leaf_id, leaf.writes, leaf.splits) == (1, 3, 0)  # put a, delete a, cas c


def test_hot_leaves_count_writes_inside_the_window_per_leaf() -> None:
    rows = [apply(float(i), "n1", i, f"c1:{i}", "put", f"k{i:02d}") for i in range(1, 8)]
    rows += [apply(10.0 + i, "n1", 7 + i, f"c1:{7 + i}", "put", "k01") for i in range(1, 4)]
    rows.append((20.0, "run.end", None, {}))
    events = log(rows)
    whole = replay_shapes(events, ["n1"], order=4, window_ms=(0.0, 20.0))["n1"]
    late = replay_shapes(events, ["n1"], order=4, window_ms=(9.0, 20.0))["n1"]
    assert whole.tree is not None
    hottest = whole.leaves[0]
    assert hottest.leaf_id == whole.tree.leaf_id_for("k01")
    assert hottest.first_key == "k01"
    assert sum(leaf.writes for leaf in whole.leaves) == 10
    assert sum(leaf.splits for leaf in whole.leaves) == 2  # 7 keys in leaves of 3: 2 splits
    assert [(leaf.leaf_id, leaf.writes, leaf.splits) for leaf in late.leaves] == [
        (hottest.leaf_id, 3, 0)
    ]


def test_a_crash_empties_the_tree_and_a_restore_loads_the_logs_prefix() -> None:
    events = log(
        [
            apply(1.0, "n1", 1, "c1:1", "put", "a"),
            apply(1.5, "n2", 1, "c1:1", "put", "a"),
            apply(2.0, "n1", 2, "c1:2", "put", "b"),
            apply(2.5, "n1", 3, "c1:3", "put", "c"),
            (3.0, "node.crash", "n2", {}),
            (4.0, "node.restart", "n2", {}),
            (4.0, "raft.restore", "n2", {"index": 2, "term": 1}),
            (6.0, "run.end", None, {}),
        ]
    )
    during = replay_shapes(events, ["n1", "n2"], order=4, window_ms=(0.0, 3.5))
    assert during["n2"].tree is None
    assert during["n2"].samples[-1].levels is None
    after = replay_shapes(events, ["n1", "n2"], order=4, window_ms=(0.0, 6.0))
    assert after["n2"].tree is not None and list(after["n2"].tree) == ["a", "b"]
    assert after["n1"].tree is not None and list(after["n1"].tree) == ["a", "b", "c"]


def test_an_unknown_operation_is_bad_input() -> None:
    events = log([apply(1.0, "n1", 1, "c1:1", "frobnicate", "a"), (2.0, "run.end", None, {})])
    with pytest.raises(PlotInputError, match="unknown operation 'frobnicate'"):
        replay_shapes(events, ["n1"], order=4, window_ms=(0.0, 2.0))


def test_rates_count_each_kind_per_bucket_of_the_chosen_nodes() -> None:
    events = log(
        [
            (0.5, "btree.split", "n1", {}),
            (1.5, "btree.split", "n1", {}),
            (1.7, "btree.merge", "n2", {}),
            (3.9, "btree.borrow", "n1", {}),
            (4.0, "btree.split", "n1", {}),  # the window's end belongs to the last bucket
            (5.0, "btree.split", "n1", {}),  # outside the window
        ]
    )
    rates = structure_rates(events, (0.0, 4.0), buckets=4)
    assert rates.counts == {
        "btree.split": [1, 1, 0, 1],
        "btree.merge": [0, 1, 0, 0],
        "btree.borrow": [0, 0, 0, 1],
    }
    assert rates.per_second == 1000.0
    only_n2 = structure_rates(events, (0.0, 4.0), buckets=4, nodes=["n2"])
    assert only_n2.total("btree.split") == 0 and only_n2.total("btree.merge") == 1
