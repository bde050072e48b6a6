"""The run folder: the one owner of the names of a run's artifacts.

Rules:
- Every artifact a run or an export writes has its name here, once, as a class
  attribute of ``RunFolder`` (``RunFolder.EVENTS`` is ``events.jsonl``); a module that
  needs a name reads it from here, and a test holds every other module to that.
- ``RunFolder(path)`` gives the paths of one folder (``folder.events``); it checks
  nothing and reads nothing, so writers and readers alike may use it.
- The layout (DESIGN.md, "Run artifacts"): ``run.json`` (resolved scenario, seed,
  version, event hash, checks), ``events.jsonl`` (the event log), ``history.jsonl``
  (client operations, Jepsen style), ``metrics.jsonl`` (samples on the virtual clock),
  the run's own telemetry (``traces.otlp.jsonl``, ``metrics.otlp.jsonl``,
  ``metrics.prom``) and the exports (Perfetto, OpenMetrics, Zipkin, ShiViz).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

__all__ = ["RunFolder"]


@dataclass(frozen=True, slots=True)
class RunFolder:
    """The paths of the artifacts in the run folder ``path``."""

    path: Path

    RUN: ClassVar[str] = "run.json"
    EVENTS: ClassVar[str] = "events.jsonl"
    HISTORY: ClassVar[str] = "history.jsonl"
    METRICS: ClassVar[str] = "metrics.jsonl"
    TRACES: ClassVar[str] = "traces.otlp.jsonl"
    METRICS_OTLP: ClassVar[str] = "metrics.otlp.jsonl"
    METRICS_PROM: ClassVar[str] = "metrics.prom"
    PERFETTO: ClassVar[str] = "trace.perfetto.json"
    OPENMETRICS: ClassVar[str] = "metrics.openmetrics"
    ZIPKIN: ClassVar[str] = "zipkin.json"
    SHIVIZ: ClassVar[str] = "shiviz.log"

    NAMES: ClassVar[tuple[str, ...]] = (
        RUN,
        EVENTS,
        HISTORY,
        METRICS,
        TRACES,
        METRICS_OTLP,
        METRICS_PROM,
        PERFETTO,
        OPENMETRICS,
        ZIPKIN,
        SHIVIZ,
    )
    """Every artifact name, in the order of the layout above."""

    @property
    def run(self) -> Path:
        return self.path / self.RUN

    @property
    def events(self) -> Path:
        return self.path / self.EVENTS

    @property
    def history(self) -> Path:
        return self.path / self.HISTORY

    @property
    def metrics(self) -> Path:
        return self.path / self.METRICS

    @property
    def traces(self) -> Path:
        return self.path / self.TRACES

    @property
    def metrics_otlp(self) -> Path:
        return self.path / self.METRICS_OTLP

    @property
    def metrics_prom(self) -> Path:
        return self.path / self.METRICS_PROM

    def __truediv__(self, name: str) -> Path:
        """The path of the artifact ``name`` (one of ``NAMES``) in this folder."""
        return self.path / name

    def is_run(self) -> bool:
        """True when the folder holds a finished run (its ``run.json``)."""
        return self.run.is_file()
