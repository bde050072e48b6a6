"""Tracing overhead on a whole run: full, 1% and no tracing of one scenario, in one process.

Rules:
- The three sampling ratios run interleaved, ``repeat`` rounds, and each keeps
  its best wall time, so machine noise hits them alike; ratios are against
  tracing off (metrics stay on in all three: they are not optional).
- The process's CPU time is kept beside the wall time (best of the rounds too):
  on a machine shared with busy processes it varies much less than wall time.
- Runs write their folders into a temporary directory, as ``harmonysim run`` would.
- The event hash must be the same for all three (tracing never changes a run);
  the benchmark fails loudly if it is not.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harmonysim.runlog.folder import RunFolder
from harmonysim.runner import run_scenario
from harmonysim.scenario import Scenario

__all__ = ["TracingRunBench", "run_tracing_benchmark"]

RATIOS = (0.0, 0.01, 1.0)


@dataclass(frozen=True, slots=True)
class TracingRunBench:
    scenario: str
    wall_seconds: dict[float, float]
    spans_written: dict[float, int]
    cpu_seconds: dict[float, float]

    def ratio(self, sample: float) -> float:
        return self.wall_seconds[sample] / self.wall_seconds[0.0]

    def cpu_ratio(self, sample: float) -> float:
        return self.cpu_seconds[sample] / self.cpu_seconds[0.0]


def _count_spans(path: Path) -> int:
    return path.read_bytes().count(b'"spanId"') if path.exists() else 0


def run_tracing_benchmark(scenario: Scenario, repeat: int = 3) -> TracingRunBench:
    best = dict.fromkeys(RATIOS, float("inf"))
    best_cpu = dict.fromkeys(RATIOS, float("inf"))
    spans: dict[float, int] = {}
    hashes: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="harmonysim-bench-tracing-") as scratch:
        for round_number in range(repeat):
            for sample in RATIOS:
                out = Path(scratch) / f"{sample}-{round_number}"
                cpu_started = time.process_time()
                # What tracing costs one run: a failing scenario is not run again here.
                outcome = run_scenario(scenario, out, trace_sample=sample, failure_traces=False)
                best_cpu[sample] = min(best_cpu[sample], time.process_time() - cpu_started)
                best[sample] = min(best[sample], outcome.wall_seconds)
                spans[sample] = _count_spans(RunFolder(out).traces)
                hashes.add(outcome.event_hash)
    if len(hashes) != 1:
        raise AssertionError(f"tracing changed the event log: {len(hashes)} different hashes")
    return TracingRunBench(scenario.name, best, spans, best_cpu)
