"""Partition shapes as networkx DiGraphs of *allowed* links among server nodes.

Each builder returns a DiGraph whose nodes are all the server nodes and whose
edges are the directed links that still carry messages. A partition replaces the
previous one (as Jepsen's partitioner does); ``heal`` is no graph at all.

Shapes (after Jepsen's nemeses):
- ``isolate(node)``: the node can neither send to nor hear from anyone.
- ``groups([...])``: full connectivity inside each group, none across.
- ``one_way(from, to)``: only messages from ``from`` nodes to ``to`` nodes are cut
  (an asymmetric partition: replies still flow the other way).
- ``bridge(node)``: the others split into two halves (sorted order) that cannot
  talk to each other; the bridge node talks to both.
- ``majorities_ring()``: nodes on a ring, each connected to its nearest
  neighbours so that every node sees a majority (itself included) and no two
  nodes see exactly the same majority.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import networkx as nx

__all__ = ["bridge", "full", "groups", "isolate", "majorities_ring", "one_way"]


def full(nodes: Sequence[str]) -> nx.DiGraph:
    graph = nx.DiGraph()
    ordered = sorted(nodes)
    graph.add_nodes_from(ordered)
    graph.add_edges_from((a, b) for a in ordered for b in ordered if a != b)
    return graph


def isolate(nodes: Sequence[str], node: str) -> nx.DiGraph:
    graph = full(nodes)
    graph.remove_edges_from([(node, other) for other in sorted(nodes) if other != node])
    graph.remove_edges_from([(other, node) for other in sorted(nodes) if other != node])
    return graph


def groups(nodes: Sequence[str], parts: Iterable[Iterable[str]]) -> nx.DiGraph:
    """Full connectivity within each part; nodes in no part form one more group."""
    listed = [sorted(part) for part in parts]
    seen = {node for part in listed for node in part}
    rest = sorted(node for node in nodes if node not in seen)
    if rest:
        listed.append(rest)
    graph = nx.DiGraph()
    graph.add_nodes_from(sorted(nodes))
    for part in listed:
        graph.add_edges_from((a, b) for a in part for b in part if a != b)
    return graph


def one_way(nodes: Sequence[str], sources: Iterable[str], targets: Iterable[str]) -> nx.DiGraph:
    graph = full(nodes)
    graph.remove_edges_from(
        [
            (a, b)
            for a in sorted(sources)
            for b in sorted(targets)
            if a != b and graph.has_edge(a, b)
        ]
    )
    return graph


def bridge(nodes: Sequence[str], node: str) -> nx.DiGraph:
    others = sorted(other for other in nodes if other != node)
    half = (len(others) + 1) // 2
    return groups(nodes, [[*others[:half], node], [*others[half:], node]])


def majorities_ring(nodes: Sequence[str]) -> nx.DiGraph:
    ordered = sorted(nodes)
    count = len(ordered)
    majority = count // 2 + 1
    reach = majority // 2  # neighbours on each side; together with self >= majority
    if 2 * reach + 1 < majority:
        reach += 1
    graph = nx.DiGraph()
    graph.add_nodes_from(ordered)
    for position, node in enumerate(ordered):
        for step in range(1, reach + 1):
            for neighbour in (ordered[(position + step) % count], ordered[position - step]):
                if neighbour != node:
                    graph.add_edge(node, neighbour)
    return graph


def describe(graph: nx.DiGraph) -> list[list[str]]:
    """The cut links of a graph, as sorted [src, dst] pairs (for the event log)."""
    ordered = sorted(graph.nodes)
    return [[a, b] for a in ordered for b in ordered if a != b and not graph.has_edge(a, b)]
