"""``/api/btree`` for a deep tree, a one-leaf tree and a crashed replica: levels, hottest
leaves, rates and subtrees.

Levels and hottest leaves are held against the plots' replay
(``harmonysim.viz.btree_shape``: keys only, from the event records), which shares no
code with the dashboard's replay (the full state machine fed the clients' values);
rates against ``events.jsonl`` read directly.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from harmonysim.sim.events import EventRecord, read_events
from harmonysim.viz import load_run_records
from harmonysim.viz.btree_shape import ReplicaShape, replay_shapes
from harmonysim.web import RunCatalog, create_app
from harmonysim.web.btree_view import MAX_DRAWN_NODES, MAX_ROW_NODES

DEEP = "btree-deep"
ONE_LEAF = "btree-one-leaf"
CHURN = "crash-restart-churn"


@pytest.fixture(scope="module")
def client(btree_runs_root: Path) -> Iterator[TestClient]:
    with TestClient(create_app(RunCatalog(btree_runs_root))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def churn_client(runs_root: Path) -> Iterator[TestClient]:
    with TestClient(create_app(RunCatalog(runs_root))) as test_client:
        yield test_client


def plots_replay(run_dir: Path) -> dict[str, ReplicaShape]:
    records = load_run_records(run_dir, history=False)
    return replay_shapes(
        records.events,
        records.nodes,
        order=records.btree_order,
        window_ms=(0.0, records.duration_ms),
        samples=1,
    )


def tree(client: TestClient, run: str, node: str, **params: Any) -> dict[str, Any]:
    response = client.get("/api/btree", params={"run": run, "node": node, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def drawn(node: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The drawn nodes row by row."""
    rows: list[list[dict[str, Any]]] = []
    row = [node]
    while row:
        rows.append(row)
        row = [child for item in row for child in item.get("children", [])]
    return rows


def test_levels_are_the_trees_levels_from_the_leaves_up(
    client: TestClient, btree_runs_root: Path
) -> None:
    shapes = plots_replay(btree_runs_root / DEEP)
    for node, shape in shapes.items():
        body = tree(client, DEEP, node)
        levels = body["levels"]
        assert len(levels) == body["depth"] >= 5
        assert sum(level["nodes"] for level in levels) == body["node_count"]
        assert levels[0]["entries"] == body["size"] and levels[0]["capacity"] == 3
        assert levels[-1]["nodes"] == 1
        for below, above in itertools.pairwise(levels):
            assert above["entries"] == below["nodes"] and above["capacity"] == 4
        final = shape.samples[-1].levels
        assert final is not None
        assert [(lv["level"], lv["nodes"], lv["entries"]) for lv in levels] == [
            (lv.level, lv.nodes, lv.entries) for lv in final
        ]
        assert [lv["fill"] for lv in levels] == [round(lv.fill, 4) for lv in final]


def test_hottest_leaves_agree_with_the_plots_replay(
    client: TestClient, btree_runs_root: Path
) -> None:
    shapes = plots_replay(btree_runs_root / DEEP)
    body = tree(client, DEEP, "n2")
    hot = body["hot_leaves"]
    assert len(hot) == 10
    expected = shapes["n2"].leaves[:10]
    assert [(leaf["id"], leaf["writes"], leaf["splits"]) for leaf in hot] == [
        (leaf.leaf_id, leaf.writes, leaf.splits) for leaf in expected
    ]
    assert [(leaf["first_key"], leaf["last_key"], leaf["exists"]) for leaf in hot] == [
        (leaf.first_key, leaf.last_key, leaf.exists) for leaf in expected
    ]
    assert [leaf["writes"] for leaf in hot] == sorted(
        (leaf["writes"] for leaf in hot), reverse=True
    )


def test_a_crash_forgets_the_hottest_leaves(churn_client: TestClient, runs_root: Path) -> None:
    # n2 crashes at 3 s and restarts at 6 s (with deletes and snapshots in the mix).
    shapes = plots_replay(runs_root / CHURN)
    before = tree(churn_client, CHURN, "n2", t=2900)["hot_leaves"]
    down = tree(churn_client, CHURN, "n2", t=5000)["hot_leaves"]
    end = tree(churn_client, CHURN, "n2")["hot_leaves"]
    assert before and sum(leaf["writes"] for leaf in before) > 0
    assert down == []
    assert [(leaf["id"], leaf["writes"], leaf["splits"]) for leaf in end] == [
        (leaf.leaf_id, leaf.writes, leaf.splits) for leaf in shapes["n2"].leaves[:10]
    ]


def test_rates_count_the_nodes_changes_of_each_kind(
    client: TestClient, btree_runs_root: Path
) -> None:
    events: list[EventRecord] = read_events(btree_runs_root / DEEP / "events.jsonl")
    body = tree(client, DEEP, "n3")
    rates = body["rates"]
    assert rates["start_ms"] == 0.0 and rates["bucket_ms"] == pytest.approx(5000.0 / 60)
    for kind in ("split", "merge", "borrow"):
        counts = rates["counts"][kind]
        assert len(counts) == 60
        recorded = [e for e in events if e["kind"] == f"btree.{kind}" and e["node"] == "n3"]
        assert sum(counts) == len(recorded) > 0
        first = min(float(e["t"]) for e in recorded)
        assert next(i for i, count in enumerate(counts) if count) == int(first / rates["bucket_ms"])


def test_a_large_tree_is_drawn_down_to_the_levels_that_fit(client: TestClient) -> None:
    body = tree(client, DEEP, "n1")
    rows = drawn(body["root"])
    assert sum(len(row) for row in rows) == body["drawn_nodes"] <= MAX_DRAWN_NODES
    assert max(len(row) for row in rows) <= MAX_ROW_NODES
    assert len(rows) < body["depth"]  # too deep and wide to draw whole
    levels = {level["level"]: level["nodes"] for level in body["levels"]}
    assert [len(row) for row in rows] == [levels[body["depth"] - 1 - i] for i in range(len(rows))]
    cut = rows[-1]
    below = sum(levels[level] for level in range(body["depth"] - len(rows)))
    assert sum(node["hidden_below"] for node in cut) == below
    assert all(node["children"] == [] and node["kind"] == "internal" for node in cut)
    assert body["path"] == [body["root_id"]] and body["focus"] == body["root_id"]


def test_a_subtree_is_drawn_from_the_node_asked_for_with_its_path(client: TestClient) -> None:
    whole = tree(client, DEEP, "n1")
    rows = drawn(whole["root"])
    opened = rows[-1][0]  # a node at the cut: its children were not drawn
    assert opened["hidden_below"] > 0
    body = tree(client, DEEP, "n1", subtree=opened["id"])
    assert body["root"]["id"] == body["focus"] == opened["id"]
    assert body["path"][0] == whole["root_id"] and body["path"][-1] == opened["id"]
    assert len(body["path"]) == len(rows)
    parent = rows[-2][0]
    assert body["path"][-2] == parent["id"] and opened in parent["children"]
    sub_rows = drawn(body["root"])
    hidden = sum(node.get("hidden_below", 0) for node in sub_rows[-1])
    assert sum(len(row) for row in sub_rows) - 1 + hidden == opened["hidden_below"]
    assert body["levels"] == whole["levels"]  # the levels are the whole tree's
    leaf = tree(client, DEEP, "n1", subtree=whole["hot_leaves"][0]["id"])
    assert leaf["root"]["kind"] == "leaf" and len(leaf["path"]) == whole["depth"]


def test_a_subtree_that_is_not_there_is_404_and_a_bad_id_422(client: TestClient) -> None:
    response = client.get("/api/btree", params={"run": DEEP, "node": "n1", "subtree": 999_999})
    assert response.status_code == 404
    assert response.json() == {"detail": "n1's tree has no node #999999 at 5000 ms"}
    for bad in ("-1", "x"):
        response = client.get("/api/btree", params={"run": DEEP, "node": "n1", "subtree": bad})
        assert response.status_code == 422


def test_one_leaf_is_one_level_no_changes_and_one_hot_leaf(client: TestClient) -> None:
    body = tree(client, ONE_LEAF, "n1")
    assert body["depth"] == 1 and body["node_count"] == 1
    assert body["levels"] == [
        {
            "level": 0,
            "nodes": 1,
            "entries": body["size"],
            "capacity": 31,
            "fill": round(body["size"] / 31, 4),
        }
    ]
    assert 0 < body["size"] <= 20
    assert all(sum(counts) == 0 for counts in body["rates"]["counts"].values())
    assert [(leaf["id"], leaf["splits"]) for leaf in body["hot_leaves"]] == [(1, 0)]
    assert body["root"]["kind"] == "leaf" and body["path"] == [1]
    assert body["history"] == []
