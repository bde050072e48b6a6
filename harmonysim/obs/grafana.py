"""The Grafana dashboard of a harmonysim cluster, built with grafana-foundation-sdk.

Rules:
- Panels come from the metric catalogue (``obs.catalogue``), one per family, so a
  family added there gets its panel when the dashboard is regenerated; nothing
  here lists metric names. Counters show their rate, gauges their value, histograms
  their p50 and p99 (in seconds, Grafana unit ``s``).
- One more panel shows the alerts of ``obs/alerts/rules.yml`` as Prometheus keeps
  them (``ALERTS``), for a Prometheus that loads those rules.
- Every query filters on ``run=~"$run"``: ``harmonysim serve``'s ``/metrics`` labels
  each run's series with ``run``; a scraped ``metrics.prom`` has no such label,
  which the "All" value (``.*``) matches too. The data source is a variable.
- ``dashboard.json`` beside the package is generated and committed:
  ``python -m harmonysim.obs.grafana`` rewrites it, and a test holds it equal to
  what the builder makes now. The SDK is a development dependency: nothing at run
  time imports this module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, statetimeline, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, VariableRefresh

from harmonysim.obs.catalogue import ClusterMetrics
from harmonysim.obs.metrics import Metric, MetricType, Registry

__all__ = ["DASHBOARD_FILE", "build_dashboard", "dashboard_json", "panel_queries"]

DASHBOARD_FILE = Path(__file__).with_name("dashboard.json")
UID = "harmonysim-cluster"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
RUN = 'run=~"$run"'
SECTIONS = (
    ("raft", "Raft"),
    ("btree", "B+ tree"),
    ("network", "Network"),
    ("client", "Clients"),
    ("node", "Hosts and disks"),
    ("disk", "Hosts and disks"),
    ("faults", "Faults"),
    ("trace", "Tracer"),
)


def _section(name: str) -> str:
    part = name.removeprefix("harmonysim_").split("_", 1)[0]
    return next((title for prefix, title in SECTIONS if prefix == part), "Other")


def _grouping(metric: Metric) -> str:
    return ", ".join(metric.label_names)


def _queries(metric: Metric) -> list[tuple[str, str]]:
    """(PromQL, legend) for the panel of ``metric``."""
    by = _grouping(metric)
    legend = " ".join("{{" + label + "}}" for label in metric.label_names) or metric.name
    if metric.type is MetricType.COUNTER:
        inner = f"rate({metric.name}{{{RUN}}}[$__rate_interval])"
        return [(f"sum by ({by}) ({inner})" if by else f"sum({inner})", legend)]
    if metric.type is MetricType.GAUGE:
        return [(f"{metric.name}{{{RUN}}}", legend)]
    keep = ", ".join(["le", *metric.label_names])
    rate = f"rate({metric.name}_bucket{{{RUN}}}[$__rate_interval])"
    return [
        (f"histogram_quantile({q}, sum by ({keep}) ({rate}))", f"p{round(q * 100)} {legend}")
        for q in (0.5, 0.99)
    ]


def _unit(metric: Metric) -> str:
    if metric.unit == "seconds":
        return "s"
    if metric.unit == "ratio":
        return "percentunit"
    return "ops" if metric.type is MetricType.COUNTER else "short"


def _panel(metric: Metric) -> timeseries.Panel:
    title = metric.name.removeprefix("harmonysim_")
    if metric.type is MetricType.COUNTER:
        title += " (per second)"
    panel = (
        timeseries.Panel()
        .title(title)
        .description(metric.help)
        .datasource(DATASOURCE)
        .unit(_unit(metric))
        .height(8)
        .span(12)
    )
    for number, (expr, legend) in enumerate(_queries(metric)):
        panel.with_target(
            prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(chr(ord("A") + number))
        )
    return panel


def build_dashboard() -> Any:
    """The dashboard model (``grafana_foundation_sdk.models.dashboard.Dashboard``)."""
    builder = (
        dashboard.Dashboard("harmonysim cluster")
        .uid(UID)
        .tags(["harmonysim", "raft"])
        .time("now-15m", "now")
        .refresh("5s")
        .timezone("utc")
        .with_variable(
            dashboard.DatasourceVariable("datasource").label("Prometheus").type("prometheus")
        )
        .with_variable(
            dashboard.QueryVariable("run")
            .label("run")
            .datasource(DATASOURCE)
            .query("label_values(harmonysim_raft_term, run)")
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
            .include_all(True)
            .all_value(".*")
            .multi(True)
        )
    )
    builder.with_row(dashboard.Row("Alerts"))
    builder.with_panel(
        statetimeline.Panel()
        .title("firing alerts (rules.yml)")
        .description("Alerts of harmonysim/obs/alerts/rules.yml that Prometheus finds firing")
        .datasource(DATASOURCE)
        .height(8)
        .span(18)
        .with_target(
            prometheus.Dataquery()
            .expr(f'ALERTS{{alertstate="firing", {RUN}}}')
            .legend_format("{{alertname}} {{node}}")
            .ref_id("A")
        )
    )
    builder.with_panel(
        stat.Panel()
        .title("alerts firing now")
        .datasource(DATASOURCE)
        .height(8)
        .span(6)
        .with_target(
            prometheus.Dataquery()
            .expr(f'count(ALERTS{{alertstate="firing", {RUN}}}) or vector(0)')
            .ref_id("A")
        )
    )
    catalogue = ClusterMetrics(Registry()).registry
    current: str | None = None
    for metric in catalogue:
        section = _section(metric.name)
        if section != current:
            builder.with_row(dashboard.Row(section))
            current = section
        builder.with_panel(_panel(metric))
    return builder.build()


def dashboard_json(model: Any | None = None) -> str:
    """The dashboard as the JSON text committed in ``dashboard.json``."""
    model = build_dashboard() if model is None else model
    return json.dumps(model, cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def panel_queries(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL) of every query in a dashboard JSON document."""
    out = []
    for panel in document.get("panels", []):
        for target in panel.get("targets") or []:
            if "expr" in target:
                out.append((str(panel.get("title", "")), str(target["expr"])))
    return out


if __name__ == "__main__":
    DASHBOARD_FILE.write_text(dashboard_json(), encoding="utf-8")
    print(f"wrote {DASHBOARD_FILE}")
