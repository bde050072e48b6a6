"""Partition shapes, as graphs of allowed links."""

from __future__ import annotations

import itertools

import pytest

from harmonysim.sim import partitions

NODES = ["n1", "n2", "n3", "n4", "n5"]


def reach(graph: object, node: str) -> frozenset[str]:
    return frozenset([node, *graph.successors(node)])  # type: ignore[attr-defined]


def test_isolate_cuts_both_directions() -> None:
    graph = partitions.isolate(NODES, "n3")
    assert list(graph.successors("n3")) == []
    assert list(graph.predecessors("n3")) == []
    assert graph.has_edge("n1", "n2")


def test_groups_are_internally_connected_and_mutually_cut() -> None:
    graph = partitions.groups(NODES, [["n1", "n2"]])
    assert graph.has_edge("n1", "n2") and graph.has_edge("n3", "n5")
    assert not graph.has_edge("n1", "n3") and not graph.has_edge("n4", "n2")


def test_bridge_node_sees_both_halves_which_do_not_see_each_other() -> None:
    graph = partitions.bridge(NODES, "n3")
    assert reach(graph, "n3") == frozenset(NODES)
    assert not graph.has_edge("n1", "n4") and not graph.has_edge("n5", "n2")
    assert graph.has_edge("n1", "n2") and graph.has_edge("n4", "n5")


@pytest.mark.parametrize("count", [3, 4, 5, 6, 7, 9])
def test_majorities_ring_each_node_sees_a_majority(count: int) -> None:
    nodes = [f"n{index}" for index in range(1, count + 1)]
    graph = partitions.majorities_ring(nodes)
    views = [reach(graph, node) for node in nodes]
    assert all(len(view) > count // 2 for view in views)
    if count >= 5:
        assert len(set(views)) == count  # no two nodes see the same majority
        assert all(len(view) < count for view in views)


def test_one_way_is_asymmetric() -> None:
    graph = partitions.one_way(NODES, ["n1", "n2"], ["n4", "n5"])
    for a, b in itertools.product(["n1", "n2"], ["n4", "n5"]):
        assert not graph.has_edge(a, b)
        assert graph.has_edge(b, a)
    assert partitions.describe(graph) == [
        ["n1", "n4"],
        ["n1", "n5"],
        ["n2", "n4"],
        ["n2", "n5"],
    ]
