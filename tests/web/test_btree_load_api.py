"""``/api/btree`` for a run with a load phase: the load's batches are in no history, so
the dashboard rebuilds them from the run's workload.

The trees are held against what the replicas reported at the end of the run
(``run.json``'s ``summary.btree``) and against the plots' replay (keys only, from
the event records); a ``run.json`` that cannot rebuild the batches is refused with
a message, not a crash.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from harmonysim.viz import load_run_records
from harmonysim.viz.btree_shape import replay_shapes
from harmonysim.web import RunCatalog, create_app

RUN = "loaded"


@pytest.fixture(scope="module")
def client(loaded_runs_root: Path) -> Iterator[TestClient]:
    with TestClient(create_app(RunCatalog(loaded_runs_root))) as test_client:
        yield test_client


def tree(client: TestClient, run: str, node: str, **params: Any) -> dict[str, Any]:
    response = client.get("/api/btree", params={"run": run, "node": node, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_loaded_runs_trees_are_the_trees_its_replicas_report(
    client: TestClient, loaded_runs_root: Path
) -> None:
    run_dir = loaded_runs_root / RUN
    reported = orjson.loads((run_dir / "run.json").read_bytes())["summary"]["btree"]
    assert set(reported) == {"n1", "n2", "n3"}
    for node, expected in reported.items():
        body = tree(client, RUN, node)
        assert (body["depth"], body["size"], body["node_count"]) == (
            expected["depth"],
            expected["items"],
            expected["nodes"],
        )
        assert body["size"] > 2900 and body["depth"] >= 4


def test_a_loaded_runs_levels_and_hottest_leaves_agree_with_the_plots_replay(
    client: TestClient, loaded_runs_root: Path
) -> None:
    records = load_run_records(loaded_runs_root / RUN, history=False)
    shapes = replay_shapes(
        records.events,
        records.nodes,
        order=records.btree_order,
        window_ms=(0.0, records.duration_ms),
        samples=1,
        workload=records.workload,
    )
    for node, shape in shapes.items():
        body = tree(client, RUN, node)
        final = shape.samples[-1].levels
        assert final is not None
        assert [(lv["level"], lv["nodes"], lv["entries"]) for lv in body["levels"]] == [
            (lv.level, lv.nodes, lv.entries) for lv in final
        ]
        hot = body["hot_leaves"]
        assert [(leaf["id"], leaf["writes"], leaf["splits"], leaf["exists"]) for leaf in hot] == [
            (leaf.leaf_id, leaf.writes, leaf.splits, leaf.exists) for leaf in shape.leaves[:10]
        ]


def test_a_tree_during_the_load_holds_the_batches_applied_so_far(client: TestClient) -> None:
    early = tree(client, RUN, "n1", t=300)
    assert 0 < early["size"] < 3000
    assert early["size"] % 100 == 0  # whole batches of 100, and nothing else yet


def test_a_run_json_that_cannot_rebuild_the_load_is_refused_with_a_message(
    loaded_runs_root: Path, tmp_path: Path
) -> None:
    shutil.copytree(loaded_runs_root / RUN, tmp_path / RUN)
    path = tmp_path / RUN / "run.json"
    info = orjson.loads(path.read_bytes())
    del info["scenario"]["workload"]["load"]
    path.write_bytes(orjson.dumps(info))
    with TestClient(create_app(RunCatalog(tmp_path))) as test_client:
        response = test_client.get("/api/btree", params={"run": RUN, "node": "n1"})
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "run 'loaded': the run's log holds load batches, but its scenario has no load phase"
    )
