"""Live mode: run a scenario in a background thread, paced against the wall clock.

Rules:
- The simulation is the same deterministic run ``harmonysim run`` makes (same
  world, cluster, faults and artifacts); pacing only decides *when* the wall
  clock lets each slice of virtual time run, never what happens in it. The
  wall clock is read here, in the face, and reaches no event.
- ``Pacer`` is the pacing hook: ``World.run`` calls it after each slice with
  the virtual time reached, and it sleeps until ``virtual_s / speed`` wall
  seconds have passed since the start. Its clock and sleep are injected, so it
  is tested without waiting.
- Records reach the dashboard's ``RunIndex`` in batches, once per slice, under
  the index lock; queries never see half a slice.
- Metrics are the run's own (``cluster.telemetry``, as ``harmonysim run`` keeps
  them, files included): after each slice the simulation thread publishes a
  snapshot of every family (``metric_families``), which ``/metrics`` serves; the
  registry itself is only touched by the simulation thread. Snapshots are taken at
  most every ``METRICS_SNAPSHOT_EVERY_S`` of wall time (a scrape is seconds apart;
  one per slice cost a fast run 40%), and once at the end.
- ``stop`` makes the next pacing call raise ``LiveRunStopped``, which ends the
  thread cleanly (the run folder then has events but no ``run.json``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harmonysim.scenario import Scenario, scenario_to_data
from harmonysim.sim.events import EventRecord
from harmonysim.web.index import RunIndex, server_ids

if TYPE_CHECKING:
    from harmonysim.obs.otlp import MetricFamily

__all__ = ["LiveRun", "LiveRunStopped", "Pacer"]

SLICE_MS = 25.0
"""Virtual time simulated between two pacing calls (and two index updates)."""


METRICS_SNAPSHOT_EVERY_S = 0.1
"""Wall time between two snapshots of the live run's metrics for ``/metrics``."""


class LiveRunStopped(Exception):
    """Raised from the pacing hook to end a live run early."""


class Pacer:
    """Keeps virtual time at ``speed`` times the wall clock (see the module rules)."""

    def __init__(
        self,
        speed: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        stopped: Callable[[], bool] = lambda: False,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed
        self._clock = clock
        self._sleep = sleep
        self._stopped = stopped
        self._start_s: float | None = None

    def __call__(self, virtual_ms: float) -> None:
        if self._stopped():
            raise LiveRunStopped
        now_s = self._clock()
        if self._start_s is None:
            self._start_s = now_s
        due_s = self._start_s + virtual_ms / 1000.0 / self.speed
        if due_s > now_s:
            self._sleep(due_s - now_s)


class LiveRun:
    """A scenario running in a thread, feeding a ``RunIndex`` as it goes."""

    def __init__(self, scenario: Scenario, out_dir: Path, speed: float = 1.0) -> None:
        self.scenario = scenario
        self.out_dir = out_dir
        self.speed = speed
        info: dict[str, Any] = {
            "scenario": scenario_to_data(scenario),
            "seed": scenario.seed,
            "event_count": 0,
            "summary": {},
            "checks": {},
        }
        self.index = RunIndex(info, server_ids(info))
        self.error: str | None = None
        self._stop = threading.Event()
        self._done = threading.Event()
        self._pending: list[EventRecord] = []
        self._families: list[MetricFamily] = []
        self._thread = threading.Thread(target=self._run, name="harmonysim-live", daemon=True)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def wait(self, timeout_s: float | None = None) -> bool:
        return self._done.wait(timeout_s)

    def metric_families(self) -> list[MetricFamily]:
        """The run's metric families as of the last slice (see the module rules)."""
        return self._families

    def _collect(self, record: EventRecord) -> None:
        self._pending.append(dict(record))

    def _publish(self) -> None:
        batch, self._pending = self._pending, []
        self.index.feed_all(batch)

    def _run(self) -> None:
        try:
            self._simulate()
        except LiveRunStopped:
            self._publish()
        except Exception as error:  # reported on the page and by the API, not swallowed
            self.error = f"{type(error).__name__}: {error}"
        finally:
            self._done.set()

    def _simulate(self) -> None:
        import orjson

        from harmonysim.cluster import Cluster
        from harmonysim.cluster.telemetry import Telemetry
        from harmonysim.obs.otlp import families_from_registry
        from harmonysim.runner import (
            DEFAULT_METRICS_EVERY_MS,
            DEFAULT_TRACE_SAMPLE,
            EVENTS_FILE,
            FAULTS_IN_TRACES,
            HISTORY_FILE,
            RUN_FILE,
            RunOutcome,
        )
        from harmonysim.sim import swarm
        from harmonysim.sim.world import World

        scenario = swarm.draw(self.scenario)
        pacer = Pacer(self.speed, stopped=self._stop.is_set)

        telemetry: Telemetry | None = None
        snapshot_due_s = 0.0

        def progress(virtual_ms: float) -> None:
            nonlocal snapshot_due_s
            self._publish()
            now_s = time.monotonic()
            if telemetry is not None and now_s >= snapshot_due_s:
                self._families = families_from_registry(telemetry.instrumentation.metrics.registry)
                snapshot_due_s = now_s + METRICS_SNAPSHOT_EVERY_S
            pacer(virtual_ms)

        self.out_dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        with (self.out_dir / EVENTS_FILE).open("wb") as sink:
            world = World.from_scenario(scenario, sink=sink)
            world.log.subscribers.append(self._collect)
            telemetry = Telemetry(
                world, self.out_dir, DEFAULT_TRACE_SAMPLE, DEFAULT_METRICS_EVERY_MS
            )
            world.log.watch(FAULTS_IN_TRACES, telemetry.instrumentation.fault_hit)
            cluster = Cluster(world, scenario, telemetry)
            world.faults.schedule(scenario.faults)
            cluster.start()
            steps = max(1, round(scenario.duration_ms / SLICE_MS))
            world.run(scenario.duration_ms, progress=progress, steps=steps)
            cluster.finish()
            telemetry.finish()
            self._families = families_from_registry(telemetry.instrumentation.metrics.registry)
            summary: dict[str, Any] = {"virtual_ms": scenario.duration_ms, **cluster.summary()}
            world.finish({"ops_ok": summary["ops_ok"]})
            summary["events"] = world.log.count
        self._publish()
        cluster.write_history(self.out_dir / HISTORY_FILE)
        outcome = RunOutcome(
            scenario=scenario,
            out_dir=self.out_dir,
            event_count=world.log.count,
            event_hash=world.log.hexdigest,
            summary=summary,
            wall_seconds=time.perf_counter() - started,
            telemetry={
                "trace_sample": DEFAULT_TRACE_SAMPLE,
                "metrics_every_ms": DEFAULT_METRICS_EVERY_MS,
            },
        )
        recorded = outcome.to_json()
        (self.out_dir / RUN_FILE).write_bytes(
            orjson.dumps(recorded, option=orjson.OPT_INDENT_2) + b"\n"
        )
        with self.index.lock:
            self.index.run_info.update(
                {key: recorded[key] for key in ("event_count", "event_hash", "summary")}
            )
