"""The shipped Grafana dashboard: regenerated equal, loadable in the SDK's model, and querying
only what a run exports (and valid PromQL, as promtool parses it)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytest.importorskip("grafana_foundation_sdk")

from grafana_foundation_sdk.models.dashboard import Dashboard

from harmonysim.obs.catalogue import ClusterMetrics
from harmonysim.obs.grafana import DASHBOARD_FILE, dashboard_json, panel_queries
from harmonysim.obs.metrics import MetricType, Registry

NAME = re.compile(r"\b(harmonysim_[a-z0-9_]+|ALERTS)\b")


def _committed() -> dict[str, object]:
    document: dict[str, object] = json.loads(DASHBOARD_FILE.read_text())
    return document


def test_the_committed_dashboard_is_what_the_builder_makes() -> None:
    assert DASHBOARD_FILE.read_text() == dashboard_json(), (
        "regenerate with: python -m harmonysim.obs.grafana"
    )


def test_the_dashboard_loads_in_the_sdk_model() -> None:
    model = Dashboard.from_json(_committed())
    assert model.title == "harmonysim cluster" and model.uid == "harmonysim-cluster"
    assert model.panels is not None and len(model.panels) > 20


def _exposition_names() -> set[str]:
    """Every sample name the catalogue's families expose (histograms as their three)."""
    names: set[str] = set()
    for metric in ClusterMetrics(Registry()).registry:
        if metric.type is MetricType.HISTOGRAM:
            names.update(metric.name + suffix for suffix in ("_bucket", "_sum", "_count"))
        else:
            names.add(metric.name)
    return names


def test_every_query_names_only_metrics_a_run_exports(run_dir: Path) -> None:
    catalogue = _exposition_names()
    exported: set[str] = set()
    for family in text_string_to_metric_families((run_dir / "metrics.prom").read_text()):
        exported.update(sample.name for sample in family.samples)
    # a run exports the catalogue's families (those it bound), nothing else
    assert exported <= catalogue and "harmonysim_raft_term" in exported
    queries = panel_queries(_committed())
    assert queries
    for title, expr in queries:
        names = NAME.findall(expr)
        assert names, f"panel {title!r} queries no metric: {expr}"
        for name in names:
            assert name == "ALERTS" or name in catalogue, f"panel {title!r}: {name} not exported"
    queried = {name for _, expr in queries for name in NAME.findall(expr)}
    assert "harmonysim_client_operation_latency_seconds_bucket" in queried & exported


def test_every_catalogue_family_has_a_panel() -> None:
    queried = {name for _, expr in panel_queries(_committed()) for name in NAME.findall(expr)}
    for metric in ClusterMetrics(Registry()).registry:
        name = metric.name + ("_bucket" if metric.type is MetricType.HISTOGRAM else "")
        assert name in queried, f"{metric.name} has no panel"


def test_every_query_is_promql_that_promtool_parses(tmp_path: Path) -> None:
    if shutil.which("promtool") is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing under CI")
        pytest.skip("promtool not installed")
    rules = [
        {
            "record": f"harmonysim:panel_{number}",
            "expr": expr.replace("$__rate_interval", "1m").replace("$run", ".*"),
        }
        for number, (_, expr) in enumerate(panel_queries(_committed()))
    ]
    path = tmp_path / "panels.yml"
    path.write_text(json.dumps({"groups": [{"name": "panels", "rules": rules}]}))
    checked = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
