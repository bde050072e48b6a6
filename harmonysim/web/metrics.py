"""``/metrics``: the served runs' own metric families, in the Prometheus text exposition format.

Rules:
- One vocabulary: a run's families are the catalogue's (``obs.catalogue``), with
  the names, types, help and base units (seconds) of its ``metrics.prom``, so rules
  and dashboards written for a run's files work on a scrape. Each series gains a
  ``run`` label (first) naming the served run; otherwise its values are the run's.
- A live run's families are the snapshot its simulation publishes with every
  slice (``LiveRun.metric_families``); a recorded run's are its last samples in
  ``metrics.jsonl`` (the values of its ``metrics.prom``), read once per file
  version, or, without that file, derived from its events (``obs.derive``).
- Only runs already indexed (opened in the dashboard, or the live run) are
  exported: a scrape never triggers loading a large run folder.
- What is about the dashboard itself is prefixed ``harmonysim_dashboard_``: the
  runs it serves, each indexed run's virtual time and events by kind.
- Text is produced by ``obs.prometheus`` (prometheus_client's exposition), in
  catalogue order, runs sorted: two scrapes of the same state are identical.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from pathlib import Path

import orjson

from harmonysim.obs.catalogue import ClusterMetrics
from harmonysim.obs.metrics import MetricType, Registry, Sample
from harmonysim.obs.otlp import MetricFamily, families_from_registry
from harmonysim.obs.prometheus import prometheus_text
from harmonysim.runlog.folder import RunFolder
from harmonysim.web.catalog import RunCatalog, RunEntry

__all__ = ["CONTENT_TYPE", "DASHBOARD_PREFIX", "recorded_families", "render_metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DASHBOARD_PREFIX = "harmonysim_dashboard_"
METRICS_SAMPLES_FILE = RunFolder.METRICS
EVENTS_FILE = RunFolder.EVENTS


def _catalogue() -> Registry:
    return ClusterMetrics(Registry()).registry


def _last_samples(path: Path) -> list[MetricFamily]:
    """The families of the last sample time in ``metrics.jsonl``, in catalogue order."""
    last_t: float | None = None
    rows: list[dict[str, object]] = []
    with path.open("rb") as handle:
        for line in handle:
            if not line.strip():
                continue
            record = orjson.loads(line)
            t = float(record["t"])
            if last_t is None or t > last_t:
                last_t, rows = t, []
            if t == last_t:
                rows.append(record)
    catalogue = _catalogue()
    by_name: dict[str, list[Sample]] = {}
    for record in rows:
        name = str(record["name"])
        labels_field = record.get("labels")
        labels = tuple(
            (str(k), str(v))
            for k, v in (labels_field.items() if isinstance(labels_field, dict) else ())
        )
        if "buckets" in record:
            buckets_field = record["buckets"]
            assert isinstance(buckets_field, list)
            sample = Sample(
                name,
                labels,
                count=int(str(record["count"])),
                sum=float(str(record["sum"])),
                buckets=tuple(
                    (float("inf") if bound == "+Inf" else float(bound), int(count))
                    for bound, count in buckets_field
                ),
            )
        else:
            value = record["value"]
            assert isinstance(value, int | float)
            sample = Sample(name, labels, value=value)
        by_name.setdefault(name, []).append(sample)
    families = []
    for metric in catalogue:
        if metric.name in by_name:
            samples = tuple(by_name.pop(metric.name))
            families.append(
                MetricFamily(metric.name, metric.type, metric.help, metric.unit, samples)
            )
    for name in sorted(by_name):  # a newer run's families the catalogue here does not know
        samples = tuple(by_name[name])
        kind = (
            MetricType.HISTOGRAM
            if samples[0].buckets
            else MetricType.COUNTER
            if name.endswith("_total")
            else MetricType.GAUGE
        )
        families.append(MetricFamily(name, kind, "", "", samples))
    return families


@functools.lru_cache(maxsize=64)
def _recorded(folder: str, version: tuple[int, int]) -> tuple[MetricFamily, ...]:
    path = Path(folder)
    samples = path / METRICS_SAMPLES_FILE
    if samples.is_file() and samples.stat().st_size > 0:
        return tuple(_last_samples(samples))
    from harmonysim.obs.derive import metrics_from_events
    from harmonysim.sim.events import read_events

    return tuple(families_from_registry(metrics_from_events(read_events(path / EVENTS_FILE))))


def recorded_families(folder: Path) -> list[MetricFamily]:
    """A recorded run's final metric families (cached per version of its files)."""
    samples = folder / METRICS_SAMPLES_FILE
    stat = samples.stat() if samples.is_file() else (folder / EVENTS_FILE).stat()
    return list(_recorded(str(folder), (stat.st_mtime_ns, stat.st_size)))


def _with_run(run_id: str, family: MetricFamily) -> MetricFamily:
    samples = tuple(
        Sample(
            sample.name,
            (("run", run_id), *sample.labels),
            value=sample.value,
            count=sample.count,
            sum=sample.sum,
            buckets=sample.buckets,
        )
        for sample in family.samples
    )
    return MetricFamily(family.name, family.type, family.help, family.unit, samples)


def _merge(per_run: Iterable[tuple[str, Sequence[MetricFamily]]]) -> list[MetricFamily]:
    """One family per name (first seen order), series of every run in run order."""
    merged: dict[str, MetricFamily] = {}
    for run_id, families in per_run:
        for family in families:
            labelled = _with_run(run_id, family)
            known = merged.get(family.name)
            if known is None:
                merged[family.name] = labelled
            elif known.type is family.type:
                merged[family.name] = MetricFamily(
                    known.name, known.type, known.help, known.unit, known.samples + labelled.samples
                )
    return list(merged.values())


def _run_families(entry: RunEntry) -> list[MetricFamily]:
    if entry.live is not None:
        return entry.live.metric_families()
    if entry.path is None:
        return []
    try:
        return recorded_families(entry.path)
    except (OSError, ValueError, KeyError, TypeError):
        return []  # a damaged folder exports nothing rather than failing the scrape


def _dashboard_families(
    catalog: RunCatalog, indexed: list[tuple[str, RunEntry]]
) -> list[MetricFamily]:
    runs = MetricFamily(
        DASHBOARD_PREFIX + "runs",
        MetricType.GAUGE,
        "runs this dashboard serves",
        "",
        (Sample(DASHBOARD_PREFIX + "runs", (), value=len(catalog.entries)),),
    )
    virtual: list[Sample] = []
    events: list[Sample] = []
    for run_id, entry in indexed:
        index = entry.index()
        with index.lock:
            virtual.append(
                Sample(
                    DASHBOARD_PREFIX + "virtual_time_seconds",
                    (("run", run_id),),
                    value=index.end_ms / 1000.0,
                )
            )
            for kind in sorted(index.kind_counts):
                events.append(
                    Sample(
                        DASHBOARD_PREFIX + "events_total",
                        (("run", run_id), ("kind", kind)),
                        value=index.kind_counts[kind],
                    )
                )
    return [
        runs,
        MetricFamily(
            DASHBOARD_PREFIX + "virtual_time_seconds",
            MetricType.GAUGE,
            "virtual time an indexed run reached",
            "seconds",
            tuple(virtual),
        ),
        MetricFamily(
            DASHBOARD_PREFIX + "events_total",
            MetricType.COUNTER,
            "events an indexed run recorded, by kind",
            "",
            tuple(events),
        ),
    ]


def render_metrics(catalog: RunCatalog) -> bytes:
    indexed = [
        (run_id, catalog.entries[run_id])
        for run_id in sorted(catalog.entries)
        if catalog.entries[run_id].loaded or catalog.entries[run_id].live is not None
    ]
    families = _merge((run_id, _run_families(entry)) for run_id, entry in indexed)
    return prometheus_text([*families, *_dashboard_families(catalog, indexed)])
