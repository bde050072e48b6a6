"""Exporting a run folder to the formats other tools read.

Rules:
- Input is a run folder: ``events.jsonl`` is required; ``run.json`` gives the
  seed and the virtual duration; ``traces.otlp.jsonl`` (written inline by the
  tracer) and ``metrics.jsonl`` (sampled inline) are used when present, and
  otherwise traces and metrics are derived from the event log
  (``derive.spans_from_events`` / ``derive.metrics_from_events``).
- Derived span ids come from ``CounterIds`` seeded with the run's seed, so
  exporting the same folder twice gives byte-identical files.
- ``out``: where to write. When the chosen formats write one file, ``out`` is
  that file; otherwise it is a folder. By default files go into the run folder
  under their standard names (``FILE_NAMES``).
- A file the run wrote itself (``RUN_OWN``: its inline traces, its final metrics
  as OTLP and Prometheus text) is that format's export: it is never replaced,
  and exporting elsewhere copies it byte for byte. Only what the run did not
  write is derived (from ``metrics.jsonl`` samples or the event log).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterable, Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

from harmonysim.obs.catalogue import ClusterMetrics
from harmonysim.obs.derive import metrics_from_events, spans_from_events, time_us
from harmonysim.obs.metrics import MetricType, Registry, Sample
from harmonysim.obs.otlp import (
    DERIVED_KEY,
    MetricFamily,
    OtlpSpanWriter,
    encode_metrics,
    families_from_registry,
    read_otlp_spans,
)
from harmonysim.obs.perfetto import perfetto_trace
from harmonysim.obs.prometheus import openmetrics_text, prometheus_text
from harmonysim.obs.shiviz import shiviz_lines
from harmonysim.obs.tracing import Span
from harmonysim.obs.zipkin import zipkin_spans
from harmonysim.runlog.folder import RunFolder

__all__ = [
    "FILE_NAMES",
    "CounterIds",
    "ExportError",
    "ExportFormat",
    "export_run",
    "parse_formats",
]

EVENTS = RunFolder.EVENTS
TRACES = RunFolder.TRACES
METRICS_SAMPLES = RunFolder.METRICS
SPANS_PER_LINE = 512


class ExportFormat(StrEnum):
    OTLP = "otlp"
    PERFETTO = "perfetto"
    PROMETHEUS = "prometheus"
    OPENMETRICS = "openmetrics"
    ZIPKIN = "zipkin"
    SHIVIZ = "shiviz"


RUN_OWN: tuple[str, ...] = (TRACES, RunFolder.METRICS_OTLP, RunFolder.METRICS_PROM)
"""Files a run writes itself (``cluster/telemetry.py``) that are also export formats."""

FILE_NAMES: dict[ExportFormat, tuple[str, ...]] = {
    ExportFormat.OTLP: (TRACES, RunFolder.METRICS_OTLP),
    ExportFormat.PERFETTO: (RunFolder.PERFETTO,),
    ExportFormat.PROMETHEUS: (RunFolder.METRICS_PROM,),
    ExportFormat.OPENMETRICS: (RunFolder.OPENMETRICS,),
    ExportFormat.ZIPKIN: (RunFolder.ZIPKIN,),
    ExportFormat.SHIVIZ: (RunFolder.SHIVIZ,),
}


class ExportError(Exception):
    """A run folder that cannot be exported (missing or malformed files)."""


class CounterIds:
    """Deterministic ids from SHA-256 of ``"{seed}/{counter}"`` (an ``IdSource``)."""

    __slots__ = ("_counter", "_seed")

    def __init__(self, seed: str) -> None:
        self._seed = seed
        self._counter = 0

    def _draw(self, bits: int) -> int:
        while True:
            self._counter += 1
            digest = hashlib.sha256(f"{self._seed}/{self._counter}".encode()).digest()
            value = int.from_bytes(digest[: bits // 8], "big")
            if value:
                return value

    def id64(self) -> int:
        return self._draw(64)

    def id128(self) -> int:
        return self._draw(128)


def parse_formats(names: Iterable[str]) -> list[ExportFormat]:
    """Format names (``all`` for every one) in a stable order, without repeats."""
    chosen: list[ExportFormat] = []
    for name in names:
        if name == "all":
            return list(ExportFormat)
        try:
            fmt = ExportFormat(name)
        except ValueError:
            options = ", ".join([*ExportFormat, "all"])
            raise ExportError(f"unknown export format {name!r} (choose from {options})") from None
        if fmt not in chosen:
            chosen.append(fmt)
    return chosen


class _LoadedRun:
    """Lazy access to what a run folder holds."""

    def __init__(self, run_dir: Path) -> None:
        if not run_dir.is_dir():
            raise ExportError(f"{run_dir}: not a run folder (no such directory)")
        self.dir = run_dir
        self.events_path = run_dir / EVENTS
        if not self.events_path.is_file():
            raise ExportError(f"{self.events_path}: missing (is {run_dir} a run folder?)")
        self.run: dict[str, Any] = {}
        run_json = run_dir / RunFolder.RUN
        if run_json.is_file():
            try:
                loaded = orjson.loads(run_json.read_bytes())
            except orjson.JSONDecodeError as error:
                raise ExportError(f"{run_json}: not valid JSON ({error})") from None
            if isinstance(loaded, dict):
                self.run = loaded
        traces = run_dir / TRACES
        self.inline_traces = traces.is_file() and not _derived(traces)
        self._spans: list[Span] | None = None
        self._registry: Registry | None = None
        self._end_us: int | None = None

    def events(self) -> Iterator[dict[str, Any]]:
        with self.events_path.open("rb") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError as error:
                    raise ExportError(f"{self.events_path}:{number}: not JSON ({error})") from None
                if not isinstance(record, dict) or "t" not in record or "kind" not in record:
                    raise ExportError(f"{self.events_path}:{number}: not an event record")
                yield record

    @property
    def end_us(self) -> int:
        if self._end_us is None:
            virtual_ms = self.run.get("summary", {}).get("virtual_ms")
            if isinstance(virtual_ms, int | float):
                self._end_us = round(virtual_ms * 1000)
            else:
                self._end_us = max((time_us(record) for record in self.events()), default=0)
        return self._end_us

    def spans(self) -> list[Span]:
        if self._spans is None:
            traces = self.dir / TRACES
            if self.inline_traces:
                try:
                    self._spans = read_otlp_spans(traces)
                except (orjson.JSONDecodeError, KeyError, ValueError) as error:
                    raise ExportError(f"{traces}: not OTLP/JSON traces ({error})") from None
            else:
                seed = self.run.get("seed", 0)
                ids = CounterIds(f"{seed}/derived-traces")
                self._spans = spans_from_events(self.events(), ids)
        return self._spans

    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = metrics_from_events(self.events())
        return self._registry

    def metric_snapshots(self) -> list[tuple[int, list[MetricFamily]]]:
        """(time, families) per sample time of ``metrics.jsonl``, or once at the run's end."""
        samples = self.dir / METRICS_SAMPLES
        if samples.is_file() and samples.stat().st_size > 0:
            return _snapshots_from_samples(samples)
        return [(self.end_us, families_from_registry(self.registry()))]


def _derived(traces: Path) -> bool:
    """True when a traces file was written by an export from events, not by the tracer."""
    with traces.open("rb") as handle:
        first = handle.readline()
    return not first.strip() or DERIVED_KEY.encode() in first


def _snapshots_from_samples(path: Path) -> list[tuple[int, list[MetricFamily]]]:
    catalogue = ClusterMetrics(Registry()).registry
    grouped: dict[int, dict[str, list[Sample]]] = {}
    kinds: dict[str, MetricType] = {}
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
                t = round(float(record["t"]) * 1000)
                name = str(record["name"])
                labels = tuple((str(k), str(v)) for k, v in dict(record.get("labels", {})).items())
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
                raise ExportError(f"{path}:{number}: not a metric sample ({error})") from None
            if "buckets" in record:
                kinds[name] = MetricType.HISTOGRAM
                buckets = tuple(
                    (float("inf") if bound == "+Inf" else float(bound), int(count))
                    for bound, count in record["buckets"]
                )
                sample = Sample(
                    name,
                    labels,
                    count=int(record["count"]),
                    sum=float(record["sum"]),
                    buckets=buckets,
                )
            else:
                if name not in kinds:
                    kinds[name] = (
                        catalogue.get(name).type
                        if name in catalogue
                        else (MetricType.COUNTER if name.endswith("_total") else MetricType.GAUGE)
                    )
                sample = Sample(name, labels, value=record["value"])
            grouped.setdefault(t, {}).setdefault(name, []).append(sample)
    snapshots = []
    for t in sorted(grouped):
        families = []
        for name, series in grouped[t].items():
            known = catalogue.get(name) if name in catalogue else None
            families.append(
                MetricFamily(
                    name,
                    kinds[name],
                    known.help if known else "",
                    known.unit if known else "",
                    tuple(series),
                )
            )
        snapshots.append((t, families))
    return snapshots


def _write_otlp(folder: _LoadedRun, traces_path: Path | None, metrics_path: Path | None) -> None:
    if traces_path is not None:
        spans = folder.spans()
        with traces_path.open("wb") as handle:
            writer = OtlpSpanWriter(
                handle, resource_attributes=None if folder.inline_traces else {DERIVED_KEY: True}
            )
            for start in range(0, len(spans), SPANS_PER_LINE):
                writer.write_spans(spans[start : start + SPANS_PER_LINE])
    if metrics_path is not None:
        with metrics_path.open("wb") as handle:
            for t, families in folder.metric_snapshots():
                handle.write(orjson.dumps(encode_metrics(families, t)) + b"\n")


def _write(fmt: ExportFormat, folder: _LoadedRun, paths: Sequence[Path | None]) -> None:
    """Write the format's files; a None path is one the run wrote itself (kept or copied)."""
    if fmt is ExportFormat.OTLP:
        _write_otlp(folder, paths[0], paths[1])
        return
    path = paths[0]
    if path is None:
        return
    if fmt is ExportFormat.PERFETTO:
        spans = folder.spans() if folder.inline_traces else []
        path.write_bytes(orjson.dumps(perfetto_trace(folder.events(), spans)))
    elif fmt is ExportFormat.PROMETHEUS:
        path.write_bytes(prometheus_text(folder.metric_snapshots()[-1][1]))
    elif fmt is ExportFormat.OPENMETRICS:
        path.write_bytes(openmetrics_text(folder.metric_snapshots()[-1][1]))
    elif fmt is ExportFormat.ZIPKIN:
        path.write_bytes(orjson.dumps(zipkin_spans(folder.spans())))
    elif fmt is ExportFormat.SHIVIZ:
        with path.open("w", encoding="utf-8") as handle:
            for line in shiviz_lines(folder.events()):
                handle.write(line + "\n")


def _run_own(folder: _LoadedRun) -> dict[str, Path]:
    """The files of ``RUN_OWN`` the run folder holds, written by the run (not an export)."""
    own: dict[str, Path] = {}
    for name in RUN_OWN:
        path = folder.dir / name
        if path.is_file() and (name != TRACES or folder.inline_traces):
            own[name] = path
    return own


def _same_file(left: Path, right: Path) -> bool:
    return left.exists() and right.exists() and left.samefile(right)


def export_run(
    run_dir: Path, formats: Iterable[ExportFormat | str], out: Path | None = None
) -> list[Path]:
    """Write the chosen formats for ``run_dir``; returns the files that hold the export.

    A file the run wrote itself is kept (or copied when ``out`` is elsewhere), never
    replaced; see the module docstring.
    """
    chosen = parse_formats(str(fmt) for fmt in formats)
    if not chosen:
        raise ExportError("no export format chosen")
    folder = _LoadedRun(run_dir)
    own = _run_own(folder)
    names = [name for fmt in chosen for name in FILE_NAMES[fmt]]
    single_file = out is not None and len(names) == 1 and not out.is_dir()
    written: list[Path] = []
    for fmt in chosen:
        if single_file:
            assert out is not None
            paths: list[Path] = [out]
        else:
            directory = out if out is not None else run_dir
            paths = [directory / name for name in FILE_NAMES[fmt]]
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
        # Read inline traces before a same-named output can replace them.
        if fmt in (ExportFormat.OTLP, ExportFormat.ZIPKIN):
            folder.spans()
        to_write: list[Path | None] = []
        for name, path in zip(FILE_NAMES[fmt], paths, strict=True):
            source = own.get(name)
            if source is None:
                to_write.append(path)
                continue
            if not _same_file(source, path):
                shutil.copyfile(source, path)
            to_write.append(None)
        _write(fmt, folder, to_write)
        written.extend(paths)
    return written
