"""The JSON API, metrics and static files through FastAPI's TestClient; bad input is 4xx JSON."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from harmonysim.web import RunCatalog, create_app

ISO = "leader-isolation"
CHURN = "crash-restart-churn"


@pytest.fixture(scope="module")
def client(runs_root: Path) -> Iterator[TestClient]:
    with TestClient(create_app(RunCatalog(runs_root))) as test_client:
        yield test_client


def test_runs_are_discovered_by_relative_id(client: TestClient) -> None:
    body = client.get("/api/runs").json()
    assert [run["id"] for run in body["runs"]] == [CHURN, ISO]
    assert body["default"] == CHURN


def test_run_describes_scenario_faults_and_artifacts(client: TestClient) -> None:
    body = client.get("/api/run", params={"run": ISO}).json()
    assert body["nodes"] == ["n1", "n2", "n3", "n4", "n5"]
    assert body["end_ms"] == 8000.0 and body["finished"] is True
    assert [f["kind"] for f in body["faults"]] == ["net.partition"]
    assert {"events.jsonl", "history.jsonl", "run.json"} <= set(body["artifacts"])


def test_state_changes_across_the_partition(client: TestClient) -> None:
    before = client.get("/api/state", params={"run": ISO, "t": 4900}).json()
    after = client.get("/api/state", params={"run": ISO, "t": 7900}).json()
    assert before["cut"] == [] and len(after["cut"]) == 8
    assert before["leader"] != after["leader"]
    beyond = client.get("/api/state", params={"run": ISO, "t": 1e9}).json()
    assert beyond["t_ms"] == 8000.0


def test_network_shows_traffic_and_messages_in_flight(client: TestClient) -> None:
    body = client.get("/api/network", params={"run": ISO, "t": 3000, "window_ms": 500}).json()
    assert sum(link["sent"] for link in body["links"]) > 10
    assert all(0.0 <= m["progress"] <= 1.0 for m in body["in_flight"])


def test_timeline_and_raft_views(client: TestClient) -> None:
    timeline = client.get("/api/timeline", params={"run": ISO}).json()
    assert len(timeline["leaders"]) >= 2
    raft = client.get("/api/raft", params={"run": ISO, "t": 4000, "limit": 5}).json()
    assert raft["leader"] is not None and len(raft["followers"]) == 4
    assert all(len(node["entries"]) == 5 for node in raft["nodes"])
    leader = next(n for n in raft["nodes"] if n["id"] == raft["leader"])
    assert leader["entries"][-1]["index"] == leader["last_index"]


def test_btree_view(client: TestClient) -> None:
    body = client.get("/api/btree", params={"run": CHURN, "node": "n1", "t": 8000}).json()
    assert body["order"] == 6 and body["depth"] >= 2
    assert body["root"]["kind"] == "internal" and body["root"]["children"]
    assert any(h["kind"] == "btree.split" for h in body["history"])


def test_traces_list_filter_and_one_trace(client: TestClient, isolation_run: Path) -> None:
    listing = client.get("/api/traces", params={"run": ISO, "limit": 3}).json()
    otlp = (isolation_run / "traces.otlp.jsonl").is_file()
    assert listing["source"] == ("otlp" if otlp else "derived") and len(listing["items"]) == 3
    puts = client.get("/api/traces", params={"run": ISO, "name": "put", "status": "ok"}).json()
    assert puts["total"] > 0 and all("put" in i["name"] for i in puts["items"])
    slow = client.get("/api/traces", params={"run": ISO, "min_duration_ms": 50}).json()
    assert all(i["duration_ms"] >= 50 for i in slow["items"]) and slow["total"] < listing["total"]
    trace = client.get(f"/api/traces/{puts['items'][0]['trace_id']}", params={"run": ISO}).json()
    assert trace["spans"][0]["parent_id"] is None and len(trace["nodes"]) >= 2
    by_operation = client.get("/api/traces/c1:1", params={"run": ISO}).json()
    assert by_operation["spans"][0]["node"] == "c1"


def test_history_and_artifact(client: TestClient) -> None:
    body = client.get("/api/history", params={"run": ISO, "t0": 1000, "t1": 2000}).json()
    assert body["total"] > 0 and body["clients"] == ["c1", "c2", "c3", "c4"]
    assert all(op["start_ms"] <= 2000 for op in body["ops"])
    artifact = client.get("/api/artifact", params={"run": ISO, "name": "run.json"})
    assert artifact.status_code == 200 and artifact.json()["seed"] == 7


def test_metrics_are_prometheus_text(client: TestClient) -> None:
    client.get("/api/run", params={"run": ISO})
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    terms = [s for s in families["harmonysim_raft_term"].samples if s.labels["run"] == ISO]
    assert len(terms) == 5 and all(s.value >= 1 for s in terms)
    assert families["harmonysim_client_operation_latency_seconds"].type == "histogram"
    # the dashboard's own families are prefixed; the old private vocabulary is gone
    assert families["harmonysim_dashboard_runs"].samples[0].value >= 1
    assert not any(name.startswith("harmonysim_node_term") for name in families)


def test_pages_and_openapi(client: TestClient) -> None:
    for path in ("/", "/raft", "/btree", "/traces", "/history"):
        page = client.get(path)
        assert page.status_code == 200 and '<script type="module"' in page.text
    assert client.get("/static/common.js").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/api/state", "/api/raft", "/api/btree", "/api/traces", "/api/history"} <= set(
        spec["paths"]
    )


BAD_REQUESTS = [
    ("/api/run?run=nope", 404),
    ("/api/run?run=../leader-isolation", 404),
    ("/api/state?run=..%2F..%2Fetc", 404),
    ("/api/state?t=-1", 422),
    ("/api/state?t=nan", 422),
    ("/api/state?t=inf", 422),
    ("/api/state?t=abc", 422),
    ("/api/network?window_ms=0", 422),
    ("/api/raft?limit=0", 422),
    ("/api/raft?limit=x", 422),
    ("/api/btree", 422),
    ("/api/btree?node=n9", 404),
    ("/api/btree?node=../n1", 422),
    ("/api/traces?offset=-3", 422),
    ("/api/traces?status=BAD!", 422),
    ("/api/traces/unknown:1", 404),
    ("/api/traces/a%2F..%2Fb", 404),
    ("/api/traces/" + "x" * 80, 422),
    ("/api/history?t0=500&t1=100", 422),
    ("/api/history?client=c1;drop", 422),
    ("/api/artifact?name=../run.json", 422),
    ("/api/artifact?name=secret.txt", 404),
    ("/api/artifact", 422),
    ("/api/live/stream", 404),
    ("/static/../run.json", 404),
    ("/static/%2e%2e/%2e%2e/pyproject.toml", 404),
    ("/nothing-here", 404),
]


@pytest.mark.parametrize(("path", "status"), BAD_REQUESTS)
def test_bad_requests_get_4xx_json(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "detail" in response.json()


def test_unreadable_run_folder_is_a_4xx(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "run.json").write_text("{not json")
    with TestClient(create_app(RunCatalog(tmp_path))) as client:
        response = client.get("/api/state", params={"run": "broken"})
    assert response.status_code == 422 and "cannot be read" in response.json()["detail"]
