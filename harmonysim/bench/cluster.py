"""Whole-run benchmark: the standard scenario's speed beside the kernel's bare figure, in one run.

What it measures, all in one invocation so machine noise touches every figure alike:

- ``kernel``: the kernel benchmark (``bench kernel``): bare simpy and harmonysim's
  network, wall µs per relayed message, best of three.
- ``in process``: ``run_scenario`` on the scenario with tracing off, best of ``repeat``;
  wall µs per simulated message (all of it: Raft, servers, clients, disks, checkers,
  files), and how many times faster than real time the simulation itself ran.
- ``whole process``: ``python -m harmonysim run SCENARIO --trace-sample 0 --quiet`` as a
  child process, best of ``repeat``, interpreter start-up and imports included: the
  figure the speed goal is about. ``startup`` is the same child running
  ``harmonysim --version`` (the imports a run cannot avoid are measured by the run).

Wall time is read with ``time.perf_counter`` here only; nothing measured reaches a run's
output, whose event hash is checked to be the same on every repetition.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harmonysim.bench.kernel import KernelBenchResult, run_kernel_benchmark
from harmonysim.scenario import Scenario

__all__ = ["SPEEDUP_GOAL", "ClusterBenchResult", "run_cluster_benchmark"]

SPEEDUP_GOAL = 50.0
"""Virtual seconds per wall second the whole process should reach on the standard scenario."""


@dataclass(frozen=True, slots=True)
class ClusterBenchResult:
    scenario: str
    virtual_seconds: float
    messages: int
    events: int
    in_process_seconds: float
    whole_process_seconds: float
    startup_seconds: float
    kernel: KernelBenchResult

    @property
    def us_per_message(self) -> float:
        """In-process wall µs per simulated message, everything included."""
        return self.in_process_seconds / self.messages * 1e6

    @property
    def in_process_speedup(self) -> float:
        return self.virtual_seconds / self.in_process_seconds

    @property
    def whole_process_speedup(self) -> float:
        return self.virtual_seconds / self.whole_process_seconds

    @property
    def vs_bare(self) -> float:
        """Per-message cost of a whole run over bare simpy's per-message cost."""
        return self.us_per_message / self.kernel.bare_us_per_message

    @property
    def vs_kernel(self) -> float:
        """Per-message cost of a whole run over the kernel's (network and event log only)."""
        return self.us_per_message / self.kernel.kernel_us_per_message


def _child(args: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "harmonysim", *args],
        cwd=cwd,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def run_cluster_benchmark(
    scenario: Scenario,
    scenario_path: Path,
    *,
    repeat: int = 3,
    kernel_messages: int = 100_000,
) -> ClusterBenchResult:
    """Measure ``scenario`` (loaded from ``scenario_path``) in and out of process."""
    from harmonysim.runner import run_scenario

    kernel = run_kernel_benchmark(messages=kernel_messages)
    in_process: list[float] = []
    whole: list[float] = []
    startup: list[float] = []
    hashes: set[str] = set()
    messages = events = 0
    with tempfile.TemporaryDirectory(prefix="harmonysim-bench-") as tmp:
        root = Path(tmp)
        for attempt in range(repeat):
            outcome = run_scenario(scenario, root / f"in-{attempt}", trace_sample=0.0)
            in_process.append(outcome.wall_seconds)
            hashes.add(outcome.event_hash)
            messages = int(outcome.summary["messages_sent"])
            events = outcome.event_count
            whole.append(
                _child(
                    [
                        "run",
                        str(scenario_path.resolve()),
                        "--seed",
                        str(scenario.seed),
                        "--trace-sample",
                        "0",
                        "--quiet",
                        "--out",
                        str(root / f"out-{attempt}"),
                    ],
                    root,
                )
            )
            startup.append(_child(["--version"], root))
    if len(hashes) != 1:
        raise AssertionError(f"repeated runs of one seed gave {len(hashes)} event hashes")
    return ClusterBenchResult(
        scenario=scenario.name,
        virtual_seconds=scenario.duration_ms / 1000.0,
        messages=messages,
        events=events,
        in_process_seconds=min(in_process),
        whole_process_seconds=min(whole),
        startup_seconds=min(startup),
        kernel=kernel,
    )
