"""Running many seeds at once: one task per seed, on local processes or a Dask cluster.

Rules:
- A task (`SeedTask`) is small and picklable: a validated scenario, a seed, the bugs to
  switch on and where to keep the run if it does not pass. `run_task` runs it in a
  scratch folder, without traces, and returns a small `SeedResult` (hash, counts,
  failed checks), never the event log. Passing runs leave nothing behind; a failing or
  inconclusive run is made again with every trace and kept in the task's ``save_dir``,
  a run folder that ``harmonysim replay`` reproduces.
- A run depends only on its scenario and seed (DESIGN.md, determinism rules), so a
  result is the same whichever process, machine or worker count ran it.
- `LocalPool` is a `ProcessPoolExecutor` over *spawned* processes (fresh interpreters:
  no state inherited from the parent, the same on every platform); `DaskPool` submits
  the same tasks to a `dask.distributed` cluster, or to a `LocalCluster` it starts. On a
  remote cluster ``save_dir`` is a path on the workers: use storage they share with you.
- `sweep` keeps at most two tasks per worker in flight and submits in task order, so
  a sweep that stops a group at its first failure (the bug library runs) wastes little
  and always reports the *lowest* failing task of that group, whatever the worker count.
- A local worker's address space is capped (``WORKER_MEMORY_BYTES``): a run that outgrows
  it ends inconclusive (the pseudo-check ``memory``), never a detection, and the other
  workers and processes of the machine keep their memory.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

from harmonysim.explore.faultlog import read_fault_events
from harmonysim.explore.verdict import CheckStatus, RunStatus, checks_with_status, run_status
from harmonysim.runlog.folder import RunFolder

if TYPE_CHECKING:
    from harmonysim.runner import RunOutcome
    from harmonysim.scenario import Scenario

__all__ = [
    "EXCEPTION_CHECK",
    "MEMORY_CHECK",
    "NONDETERMINISM_CHECK",
    "WORKER_MEMORY_BYTES",
    "DaskPool",
    "Judge",
    "LocalPool",
    "SeedPool",
    "SeedResult",
    "SeedTask",
    "SweepProgress",
    "default_workers",
    "run_task",
    "sweep",
]

Judge = Callable[["RunOutcome"], Mapping[str, Any]]
"""Replaces a run's own check results (``RunOutcome.checks``) when given; used by tests."""

EXCEPTION_CHECK = "exception"
"""The pseudo-check a run fails when the simulation itself raises."""

NONDETERMINISM_CHECK = "nondeterminism"
"""The pseudo-check a run fails when making it again gives a different event log."""

MEMORY_CHECK = "memory"
"""The pseudo-check a run cannot decide when it outgrows its worker's memory budget."""

WORKER_MEMORY_BYTES = 6 * 2**30
"""Each local worker's address-space limit. A run with a bug switched on can grow
without bound (a log that keeps being rewritten); past this it ends inconclusive
instead of taking the machine's memory from every other process."""


def default_workers() -> int:
    """Every core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - platforms without sched_getaffinity
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class SeedTask:
    """One run to make: ``scenario`` with ``seed`` and ``bugs`` applied."""

    scenario: Scenario
    seed: int
    bugs: tuple[str, ...] = ()
    save_dir: str | None = None
    group: str = ""
    fault_events: bool = False
    judge: Judge | None = None
    coverage: bool = False  # read the run's coverage features (guided exploration)


@dataclass(frozen=True, slots=True)
class SeedResult:
    """What one run concluded; small enough to send back from any worker."""

    group: str
    scenario: str
    seed: int
    bugs: tuple[str, ...]
    status: RunStatus
    failed_checks: tuple[str, ...]
    unknown_checks: tuple[str, ...]
    event_count: int
    event_hash: str
    operations: int
    wall_seconds: float
    run_dir: str | None = None
    error: str | None = None
    fault_events: tuple[dict[str, Any], ...] = field(default=(), compare=False)
    cpu_seconds: float = field(default=0.0, compare=False)  # the run's process CPU time
    coverage: frozenset[str] = field(default=frozenset(), compare=False)
    # Checks that did not apply to the run (liveness with too short a quiet tail): a
    # sweep passes such runs, and says how many it could not judge.
    skipped_checks: tuple[str, ...] = ()


def run_task(task: SeedTask) -> SeedResult:
    """Run one task in a scratch folder; keep the folder at ``task.save_dir`` unless it passed.

    The run is made without telemetry (no metrics, no traces: neither ever changes the
    event log, and the folder of a run that passes is thrown away); a run worth keeping
    is made again with every trace and metric, and the two event hashes must agree, so
    each kept folder is also a determinism check (and one that telemetry changed
    nothing).
    """
    from harmonysim.runner import run_scenario
    from harmonysim.scenario import resolve

    scenario = resolve(task.scenario, seed=task.seed, bugs=task.bugs)
    with tempfile.TemporaryDirectory(prefix="harmonysim-seed-") as scratch:
        scratch_dir = Path(scratch)
        cpu_started = time.process_time()
        try:
            outcome = run_scenario(scenario, scratch_dir, trace_sample=0.0, telemetry=False)
        except MemoryError:  # out of budget: nothing was decided about this run
            return _out_of_memory(task, scenario)
        except Exception as error:  # the simulation itself broke: that is a finding
            return _raised(task, scenario, error)
        cpu_seconds = time.process_time() - cpu_started
        checks = task.judge(outcome) if task.judge is not None else outcome.checks
        failed = tuple(checks_with_status(checks, CheckStatus.VIOLATION))
        unknown = tuple(checks_with_status(checks, CheckStatus.UNKNOWN))
        skipped = tuple(checks_with_status(checks, CheckStatus.SKIPPED))
        status = run_status(failed, unknown)
        faults = read_fault_events(RunFolder(scratch_dir).events) if task.fault_events else ()
        covered: frozenset[str] = frozenset()
        if task.coverage:
            from harmonysim.explore.coverage import coverage_of_file

            covered = coverage_of_file(RunFolder(scratch_dir).events)
        kept: str | None = None
        error_text: str | None = None
        if status is not RunStatus.PASS and task.save_dir is not None:
            with tempfile.TemporaryDirectory(prefix="harmonysim-seed-") as full:
                traced = run_scenario(scenario, Path(full), trace_sample=1.0)
                if traced.event_hash != outcome.event_hash:
                    status, failed = RunStatus.FAIL, (*failed, NONDETERMINISM_CHECK)
                    error_text = (
                        f"the same run made twice gave event hashes {outcome.event_hash[:16]} "
                        f"and {traced.event_hash[:16]}"
                    )
                kept = _keep(Path(full), Path(task.save_dir))
    summary = outcome.summary
    return SeedResult(
        group=task.group,
        scenario=scenario.name,
        seed=task.seed,
        bugs=scenario.bugs,
        status=status,
        failed_checks=failed,
        unknown_checks=unknown,
        event_count=outcome.event_count,
        event_hash=outcome.event_hash,
        operations=sum(int(summary.get(key, 0)) for key in ("ops_ok", "ops_fail", "ops_info")),
        wall_seconds=outcome.wall_seconds,
        run_dir=kept,
        error=error_text,
        fault_events=faults,
        cpu_seconds=cpu_seconds,
        coverage=covered,
        skipped_checks=skipped,
    )


def _raised(task: SeedTask, scenario: Scenario, error: Exception) -> SeedResult:
    return SeedResult(
        group=task.group,
        scenario=scenario.name,
        seed=task.seed,
        bugs=scenario.bugs,
        status=RunStatus.FAIL,
        failed_checks=(EXCEPTION_CHECK,),
        unknown_checks=(),
        event_count=0,
        event_hash="",
        operations=0,
        wall_seconds=0.0,
        error="".join(traceback.format_exception_only(error)).strip(),
    )


def _out_of_memory(task: SeedTask, scenario: Scenario) -> SeedResult:
    return SeedResult(
        group=task.group,
        scenario=scenario.name,
        seed=task.seed,
        bugs=scenario.bugs,
        status=RunStatus.UNKNOWN,
        failed_checks=(),
        unknown_checks=(MEMORY_CHECK,),
        event_count=0,
        event_hash="",
        operations=0,
        wall_seconds=0.0,
        error=f"the run outgrew its worker's memory budget ({WORKER_MEMORY_BYTES / 2**30:g} GiB)",
    )


def _limit_memory(limit: int) -> None:
    """A worker's initializer: cap its address space (where the platform allows)."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # pragma: no cover - no such limit here
        pass


def _keep(scratch: Path, destination: Path) -> str:
    """Move a run's files into ``destination`` (replacing files of the same name)."""
    destination.mkdir(parents=True, exist_ok=True)
    for item in sorted(scratch.iterdir()):
        target = destination / item.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        shutil.move(str(item), str(target))
    return str(destination)


# --------------------------------------------------------------------------- pools


class SeedPool(Protocol):
    """Where tasks run: submit, wait for any, collect."""

    @property
    def workers(self) -> int: ...

    @property
    def description(self) -> str: ...

    def submit(self, task: SeedTask) -> Any: ...

    def wait_any(self, pending: Collection[Any]) -> list[Any]: ...

    def result(self, handle: Any) -> SeedResult: ...

    def cancel(self, handle: Any) -> None: ...

    def close(self) -> None: ...


class LocalPool:
    """A pool of spawned local processes, one run at a time each."""

    def __init__(self, workers: int | None = None, memory_bytes: int = WORKER_MEMORY_BYTES) -> None:
        self._workers = workers if workers is not None else default_workers()
        if self._workers < 1:
            raise ValueError(f"a pool needs at least one worker, got {self._workers}")
        self._executor = ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_limit_memory,
            initargs=(memory_bytes,),
        )

    @property
    def workers(self) -> int:
        return self._workers

    @property
    def description(self) -> str:
        return f"{self._workers} local process{'es' if self._workers != 1 else ''}"

    def submit(self, task: SeedTask) -> Future[SeedResult]:
        return self._executor.submit(run_task, task)

    def wait_any(self, pending: Collection[Any]) -> list[Any]:
        done, _ = wait_futures(pending, return_when=FIRST_COMPLETED)
        return list(done)

    def result(self, handle: Any) -> SeedResult:
        result: SeedResult = handle.result()
        return result

    def cancel(self, handle: Any) -> None:
        handle.cancel()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


class DaskPool:
    """Tasks on a ``dask.distributed`` cluster: ``address`` or ``local`` (a LocalCluster)."""

    LOCAL = "local"

    def __init__(
        self, address: str, workers: int | None = None, *, connect_timeout_s: float = 10.0
    ) -> None:
        import logging

        from distributed import Client, LocalCluster

        self._cluster: LocalCluster | None = None
        if address == self.LOCAL:
            self._cluster = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=workers if workers is not None else default_workers(),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            self._client = Client(self._cluster)  # type: ignore[no-untyped-call]
        else:
            self._client = Client(address, timeout=connect_timeout_s)  # type: ignore[no-untyped-call]
        self._address = address
        self._workers = max(1, sum(self._client.nthreads().values()))  # type: ignore[no-untyped-call]

    @property
    def workers(self) -> int:
        return self._workers

    @property
    def description(self) -> str:
        where = "a local Dask cluster" if self._cluster is not None else f"Dask {self._address}"
        return f"{where} ({self._workers} worker threads)"

    def submit(self, task: SeedTask) -> Any:
        return self._client.submit(run_task, task, pure=False)

    def wait_any(self, pending: Collection[Any]) -> list[Any]:
        from distributed import wait

        done, _ = wait(list(pending), return_when="FIRST_COMPLETED")  # type: ignore[no-untyped-call]
        return list(done)

    def result(self, handle: Any) -> SeedResult:
        result: SeedResult = handle.result()
        return result

    def cancel(self, handle: Any) -> None:
        handle.cancel()

    def close(self) -> None:
        self._client.close()  # type: ignore[no-untyped-call]
        if self._cluster is not None:
            self._cluster.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


# --------------------------------------------------------------------------- the sweep


@dataclass(frozen=True, slots=True)
class SweepProgress:
    """How far a sweep is: runs finished, runs it will make in all, failures so far."""

    done: int
    total: int
    failures: int


def sweep(
    pool: SeedPool,
    tasks: Sequence[SeedTask],
    *,
    stop_group_at_first_failure: bool = False,
    progress: Callable[[SweepProgress], None] | None = None,
) -> list[SeedResult]:
    """Run ``tasks`` on ``pool``; the results in task order.

    With ``stop_group_at_first_failure``, once a task of a group fails no later task of
    that group is started, and results of later tasks already running are dropped (and
    their saved folders removed): the results of a group are exactly its tasks up to
    its first failure in task order, as if they had run one after another.
    """
    window = max(1, 2 * pool.workers)
    cutoff: dict[str, int] = {}
    pending: dict[Any, int] = {}
    results: dict[int, SeedResult] = {}
    next_index = 0
    done = 0

    def wanted(index: int) -> bool:
        limit = cutoff.get(tasks[index].group)
        return limit is None or index <= limit

    def total() -> int:
        if not cutoff:
            return len(tasks)
        return sum(1 for index in range(len(tasks)) if wanted(index))

    try:
        while True:
            while len(pending) < window and next_index < len(tasks):
                if wanted(next_index):
                    pending[pool.submit(tasks[next_index])] = next_index
                next_index += 1
            if not pending:
                break
            for handle in pool.wait_any(list(pending)):
                index = pending.pop(handle)
                result = pool.result(handle)
                if not wanted(index):
                    _discard(result)
                    continue
                results[index] = result
                done += 1
                if stop_group_at_first_failure and result.status is RunStatus.FAIL:
                    cutoff[result.group] = index
                    for later in [i for i in results if not wanted(i)]:
                        _discard(results.pop(later))
                        done -= 1
            if progress is not None:
                failures = sum(1 for r in results.values() if r.status is RunStatus.FAIL)
                progress(SweepProgress(done=done, total=total(), failures=failures))
    finally:
        for handle in pending:
            pool.cancel(handle)
    return [results[index] for index in sorted(results)]


def _discard(result: SeedResult) -> None:
    if result.run_dir is not None:
        shutil.rmtree(result.run_dir, ignore_errors=True)
