"""``/metrics`` speaks the run's own vocabulary: the families and values of its ``metrics.prom``.

The last test scrapes a live run with a real Prometheus server (Debian's ``prometheus``);
it skips without one locally and fails under CI (``tests.tools``). It takes about 7 s: the
live run is paced at real time (3 s) so that Prometheus scrapes it while it runs.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from harmonysim.runner import run_scenario
from harmonysim.scenario import parse_scenario
from harmonysim.web import RunCatalog, create_app
from harmonysim.web.live import LiveRun
from tests.tools import require_tool
from tests.web.harness import free_port, serve

TINY = """
name: tiny-live
seed: 3
duration: 3s
cluster: {nodes: 3}
workload: {clients: 2, rate: 50/s}
"""

SeriesKey = tuple[str, tuple[tuple[str, str], ...]]


def _series(text: str, run: str | None = None) -> dict[SeriesKey, float]:
    """name + labels (without ``run``) -> value, for the run families of ``run`` (all if
    None); the dashboard's own families are left out."""
    out: dict[SeriesKey, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name.startswith("harmonysim_dashboard_"):
            continue
        for sample in family.samples:
            labels = dict(sample.labels)
            if run is not None and labels.pop("run", None) != run:
                continue
            out[(sample.name, tuple(sorted(labels.items())))] = sample.value
    return out


def test_a_recorded_run_is_served_with_the_families_and_values_of_its_metrics_prom(
    isolation_run: Path,
) -> None:
    with TestClient(create_app(RunCatalog(isolation_run.parent))) as client:
        client.get("/api/run", params={"run": "leader-isolation"})
        text = client.get("/metrics").text
    served = _series(text, "leader-isolation")
    recorded = _series((isolation_run / "metrics.prom").read_text())
    assert served == recorded
    assert ("harmonysim_raft_term", (("node", "n1"),)) in served
    names = {name for name, _ in served}
    assert "harmonysim_client_operation_latency_seconds_bucket" in names
    assert not any(name.endswith("_milliseconds_bucket") for name in names)


def test_a_live_run_ends_serving_exactly_its_metrics_prom(tmp_path: Path) -> None:
    live = LiveRun(parse_scenario(TINY, source="<test>"), tmp_path / "live", speed=50.0)
    app = create_app(RunCatalog(None, live))
    with TestClient(app) as client:
        live.start()
        assert live.wait(20.0) and live.error is None
        text = client.get("/metrics").text
    assert _series(text, "live") == _series((tmp_path / "live" / "metrics.prom").read_text())


def test_a_live_run_writes_the_metrics_a_plain_run_writes(tmp_path: Path) -> None:
    scenario = parse_scenario(TINY, source="<test>")
    live = LiveRun(scenario, tmp_path / "live", speed=1000.0)
    live.start()
    assert live.wait(20.0) and live.error is None
    run_scenario(scenario, tmp_path / "plain")
    for name in ("metrics.prom", "metrics.jsonl", "events.jsonl"):
        assert (tmp_path / "live" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()


# -- a real Prometheus scraping a live run ------------------------------------------------


@pytest.fixture
def prometheus_binary() -> str:
    return require_tool("prometheus", "Debian package `prometheus`")


@pytest.fixture
def served_live_run(tmp_path: Path) -> Iterator[tuple[LiveRun, str]]:
    """A live run paced at real time, served; with its server's address (host:port)."""
    live = LiveRun(parse_scenario(TINY, source="<test>"), tmp_path / "live", speed=1.0)
    with serve(create_app(RunCatalog(None, live))) as url:
        live.start()
        try:
            yield live, url.removeprefix("http://")
        finally:
            live.stop()


def _query(api: str, expr: str) -> dict[SeriesKey, float]:
    body = httpx.get(f"{api}/api/v1/query", params={"query": expr}, timeout=5.0).json()
    assert body["status"] == "success", body
    out: dict[SeriesKey, float] = {}
    for item in body["data"]["result"]:
        labels = {
            key: value
            for key, value in item["metric"].items()
            if key not in ("__name__", "job", "instance", "run")
        }
        out[(item["metric"]["__name__"], tuple(sorted(labels.items())))] = float(item["value"][1])
    return out


def test_prometheus_scrapes_a_live_run_and_agrees_with_its_metrics_prom(
    prometheus_binary: str, served_live_run: tuple[LiveRun, str], tmp_path: Path
) -> None:
    live, address = served_live_run
    prometheus_port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: harmonysim\n    static_configs: [{{targets: ['{address}']}}]\n"
    )
    process = subprocess.Popen(
        [
            prometheus_binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prometheus_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api = f"http://127.0.0.1:{prometheus_port}"
    try:
        assert live.wait(20.0) and live.error is None
        recorded = _series((live.out_dir / "metrics.prom").read_text())
        wanted = {
            key: value
            for key, value in recorded.items()
            if key[0]
            in (
                "harmonysim_raft_term",
                "harmonysim_raft_commit_index",
                "harmonysim_client_operation_latency_seconds_bucket",
                "harmonysim_client_operation_latency_seconds_count",
            )
        }
        assert wanted
        scraped: dict[SeriesKey, float] = {}
        deadline = time.monotonic() + 15.0
        while time.monotonic() < deadline:
            try:
                scraped = {}
                for name in sorted({key[0] for key in wanted}):
                    scraped.update(_query(api, name))
            except httpx.HTTPError:
                scraped = {}
            if scraped == wanted:
                break
            time.sleep(0.5)
        assert scraped == wanted
    finally:
        process.terminate()
        process.wait(10.0)
