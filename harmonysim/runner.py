"""Running a scenario end to end: world + cluster + faults -> run folder.

Rules:
- ``run_scenario`` is the one way a run happens (the CLI, replay, seed sweeps and
  notebooks all call it), so every run writes the same artifacts:
  ``run.json`` (resolved scenario, seed, version, event count and hash, summary,
  check results), ``events.jsonl`` and ``history.jsonl``.
- Every run is judged by the checks its scenario lists (``harmonysim.check.suite``):
  online monitors watch the event log from before the cluster starts, the rest
  judge the finished run. ``RunOutcome.status`` is the worst check status and
  ``RunOutcome.exit_code`` the command-line exit status it calls for.
- Traces that touch a failure are kept whatever the sampler said. Head sampling
  decides at an operation's start, before anyone knows it will matter, and an
  unsampled operation propagates nothing. So a traced run (0 < sample < 1) whose
  checks fail is simply run again, deterministically, with the requests and
  election terms the failed checks implicate (and every request that ended in
  error) traced as well; that run's traces replace the first's. Trace ids have
  their own RNG stream, so the sampled traces are the same ones. It costs a second
  run only when a check fails; ``run.json`` records it under ``telemetry``.
- Traces carry the faults: the runner watches the event log for the faults that hit
  one server (``FAULTS_IN_TRACES``) and hands each to the instrumentation, which puts
  it on the spans open there (``Instrumentation.fault_hit``); the log is unchanged.
- Nothing measured on the wall clock enters the event log; ``wall_seconds`` is
  reported beside it, in ``run.json``'s ``timing`` only.
- ``replay_run`` re-runs a folder's resolved scenario and compares its event log
  with both the hash recorded in ``run.json`` and the ``events.jsonl`` on disk (an
  edited log is a difference); on a mismatch it finds the first differing line.
- A run never lands on another silently: ``claim_run_folder`` refuses a folder
  that already holds a run unless asked to replace it (then the old folder goes
  whole, plots and shrunk scenarios with it), and refuses any other non-empty
  folder always. Sweeps (``explore``, ``mutants``) claim their root the same way
  (``claim_sweep_root``): a root the user named must be free unless asked to replace
  it; the default root, when an earlier sweep holds it, gives way to the next free
  numbered one (``runs/explore/nemesis-2``), so no sweep lands on another's runs.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from harmonysim import __version__
from harmonysim.check.result import CheckResult, CheckStatus, overall_status
from harmonysim.check.suite import RunChecks
from harmonysim.cluster import Cluster
from harmonysim.cluster.history import HistoryRecorder
from harmonysim.cluster.telemetry import KeptTraces, Telemetry
from harmonysim.obs.tracing import DEFAULT_SAMPLE_RATIO
from harmonysim.runlog.faultmarks import SERVER_FAULT_KINDS
from harmonysim.runlog.folder import RunFolder
from harmonysim.scenario import Scenario, ScenarioError, parse_scenario, scenario_to_data
from harmonysim.sim import swarm
from harmonysim.sim.events import EventKind
from harmonysim.sim.world import World

__all__ = ["ReplayOutcome", "RunOutcome", "default_out_dir", "replay_run", "run_scenario"]

RUN_FILE = RunFolder.RUN
DEFAULT_TRACE_SAMPLE = DEFAULT_SAMPLE_RATIO
EVENTS_FILE = RunFolder.EVENTS
HISTORY_FILE = RunFolder.HISTORY
DEFAULT_METRICS_EVERY_MS = 1000.0
FAULTS_IN_TRACES: tuple[EventKind, ...] = tuple(
    EventKind(kind) for kind in sorted(SERVER_FAULT_KINDS)
)
"""The event kinds whose records are handed to the tracer as faults (module rules)."""


@dataclass(frozen=True)
class RunOutcome:
    scenario: Scenario
    out_dir: Path
    event_count: int
    event_hash: str
    summary: dict[str, Any]
    wall_seconds: float
    checks: dict[str, CheckResult] = field(default_factory=dict)
    telemetry: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> CheckStatus:
        """The worst status among the run's checks (ok when none ran)."""
        return overall_status(result.status for result in self.checks.values())

    @property
    def exit_code(self) -> int:
        """0 when every check passed, 1 when one failed, 3 when none failed but one is unknown."""
        return self.status.exit_code

    @property
    def speedup(self) -> float:
        return self.scenario.duration_ms / 1000.0 / self.wall_seconds if self.wall_seconds else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "harmonysim": __version__,
            "scenario": scenario_to_data(self.scenario),
            "seed": self.scenario.seed,
            "event_count": self.event_count,
            "event_hash": self.event_hash,
            "summary": self.summary,
            "status": self.status.value,
            "checks": {name: result.to_json() for name, result in self.checks.items()},
            "telemetry": self.telemetry,
            "timing": {
                "wall_seconds": round(self.wall_seconds, 3),
                "speedup": round(self.speedup, 1),
            },
        }


def default_out_dir(scenario: Scenario, root: Path = Path("runs")) -> Path:
    return root / scenario.name / f"seed-{scenario.seed}"


def run_scenario(
    scenario: Scenario,
    out_dir: Path,
    *,
    progress: Callable[[float], None] | None = None,
    trace_sample: float = DEFAULT_TRACE_SAMPLE,
    failure_traces: bool = True,
    metrics_every_ms: float = DEFAULT_METRICS_EVERY_MS,
    error_traces: bool = False,
    telemetry: bool = True,
) -> RunOutcome:
    """Run ``scenario`` and write its artifacts into ``out_dir``.

    ``trace_sample`` is the head-sampling ratio of traces (1 = every client
    operation, 0 = tracing off); it never changes the event log. With
    ``failure_traces``, a traced run whose checks fail is run again to keep the
    traces of what failed (see ``keep_failure_traces``). ``metrics_every_ms`` is the
    virtual time between two samples of every metric in ``metrics.jsonl``. With
    ``error_traces`` a traced run in which some request ended in error (no answer in
    time) is run again as well, whatever its checks said, so every such request keeps
    its whole trace (``run --keep-traces errors``; ``telemetry.kept_for_errors``).
    Without ``telemetry`` nothing observes the run for metrics or traces (no
    ``metrics.*`` or ``traces.*`` files; ``trace_sample`` must be 0): the event log,
    history, summary and checks are the same, for about a sixth less CPU. Sweeps run
    so (``explore``): a passing run's folder is thrown away, and a failing one is made
    again with every trace.
    """
    if not telemetry and trace_sample > 0.0:
        raise ValueError("a run without telemetry traces nothing: trace_sample must be 0")
    scenario = swarm.draw(scenario)  # the settings its seed draws, recorded as run
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with (out_dir / EVENTS_FILE).open("wb") as sink:
        checks = RunChecks(scenario)
        world, cluster, _, summary = _simulate(
            scenario,
            sink,
            out_dir,
            trace_sample,
            checks=checks,
            progress=progress,
            metrics_every_ms=metrics_every_ms,
            telemetry=telemetry,
        )
        results = checks.finish()
    cluster.write_history(out_dir / HISTORY_FILE)
    wall_seconds = time.perf_counter() - started  # the run's own; a second run is timed apart
    observed: dict[str, Any] = (
        {"trace_sample": trace_sample, "metrics_every_ms": metrics_every_ms}
        if telemetry
        else {"off": True}
    )
    if (failure_traces or error_traces) and 0.0 < trace_sample < 1.0:
        failed = overall_status(result.status for result in results.values())
        if failed is CheckStatus.VIOLATION and failure_traces:
            kept = traces_to_keep(results, cluster.history)
            observed["kept_for_failure"] = keep_failure_traces(
                scenario, out_dir, trace_sample, kept, world.log.hexdigest
            )
        elif error_traces and cluster.history.indeterminate():
            kept = traces_to_keep({}, cluster.history)  # the errors' requests alone
            observed["kept_for_errors"] = keep_failure_traces(
                scenario, out_dir, trace_sample, kept, world.log.hexdigest
            )
    outcome = RunOutcome(
        scenario=scenario,
        out_dir=out_dir,
        event_count=world.log.count,
        event_hash=world.log.hexdigest,
        summary=summary,
        wall_seconds=wall_seconds,
        checks=results,
        telemetry=observed,
    )
    (out_dir / RUN_FILE).write_bytes(
        orjson.dumps(outcome.to_json(), option=orjson.OPT_INDENT_2) + b"\n"
    )
    return outcome


def _simulate(
    scenario: Scenario,
    sink: IO[bytes] | None,
    out_dir: Path,
    trace_sample: float,
    *,
    checks: RunChecks | None = None,
    progress: Callable[[float], None] | None = None,
    keep: KeptTraces | None = None,
    metrics_every_ms: float = DEFAULT_METRICS_EVERY_MS,
    telemetry: bool = True,
) -> tuple[World, Cluster, Telemetry | None, dict[str, Any]]:
    """One simulation of ``scenario``: its world (event log finished), cluster, telemetry
    (finished; None without ``telemetry``) and summary."""
    scenario = swarm.draw(scenario)
    world = World.from_scenario(scenario, sink=sink)
    observer: Telemetry | None = None
    if telemetry:
        observer = Telemetry(world, out_dir, trace_sample, metrics_every_ms, keep=keep)
        world.log.watch(FAULTS_IN_TRACES, observer.instrumentation.fault_hit)
    cluster = Cluster(world, scenario, observer)
    if checks is not None:
        checks.attach(world, cluster)
    world.faults.schedule(scenario.faults)
    cluster.start()
    world.run(scenario.duration_ms, progress=progress)
    world.faults.finish()
    cluster.finish()
    if observer is not None:
        observer.finish()
    network = world.network
    summary: dict[str, Any] = {
        "virtual_ms": scenario.duration_ms if world.storm is None else world.now_ms,
        "events": 0,
        "messages_sent": network.sent,
        "messages_delivered": network.delivered,
        "messages_dropped": network.dropped,
        "messages_duplicated": network.duplicated,
        **cluster.summary(),
        "faults": dict(sorted(world.faults.counts.items())),
        "faults_without_effect": list(world.faults.noops),
    }
    if world.storm is not None:  # the run ended early (sim/network.py: a message storm)
        summary["message_storm"] = str(world.storm)
    world.finish({"ops_ok": summary["ops_ok"]})
    summary["events"] = world.log.count
    return world, cluster, observer, summary


MAX_KEPT_REQUESTS = 1000
"""At most this many client requests are traced again for a failure (the first found)."""
LAST_WRITES_PER_KEY = 4
"""For a key a failed check names, the traces of this many of its last writes are kept."""
KEPT_IDS_LISTED = 20
"""``run.json`` lists the trace ids of at most this many kept requests and elections."""


def traces_to_keep(results: Mapping[str, CheckResult], history: HistoryRecorder) -> KeptTraces:
    """The traces that failed checks touched, and those of errors, as ``KeptTraces``.

    From each violated check: the requests its ``Implicated`` names (history rows,
    requests, the last writes of its keys) and the elections of its terms; then
    every request that ended in error (``info``: no answer in time). At most
    ``MAX_KEPT_REQUESTS`` requests, the checks' first.
    """
    requests: list[tuple[str, int]] = []
    terms: list[int] = []
    for result in results.values():
        if result.status is not CheckStatus.VIOLATION:
            continue
        implicated = result.implicated
        requests.extend(history.request_at(row) for row in implicated.history_rows)
        requests.extend(implicated.requests)
        for key in implicated.keys:
            requests.extend(history.last_writes(key, LAST_WRITES_PER_KEY))
        terms.extend(implicated.terms)
    requests.extend(history.indeterminate())
    unique = tuple(dict.fromkeys(requests))[:MAX_KEPT_REQUESTS]
    return KeptTraces(unique, tuple(dict.fromkeys(terms)))


def keep_failure_traces(
    scenario: Scenario, out_dir: Path, trace_sample: float, kept: KeptTraces, event_hash: str
) -> dict[str, Any]:
    """Run ``scenario`` again, tracing ``kept`` whatever the sampler says, and replace the
    run folder's traces with that run's: the same sampled traces, plus every span of
    the kept ones (head sampling had dropped their children; a run is deterministic,
    so running it again is how to get them back).

    The second run must reproduce the first's event log (``event_hash``); if it does
    not, the first run's traces stay and the returned record says so. Returns what
    ``run.json`` records under ``telemetry.kept_for_failure``.
    """
    record: dict[str, Any] = {
        "requests": len(kept.requests),
        "election_terms": sorted(kept.terms),
    }
    if not kept:
        record["replayed"] = False
        return record
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=".traces-", dir=out_dir) as scratch:
        world, _, telemetry, _ = _simulate(scenario, None, Path(scratch), trace_sample, keep=kept)
        assert telemetry is not None  # made with telemetry: its traces are the point
        if world.log.hexdigest == event_hash:
            (Path(scratch) / RunFolder.TRACES).replace(out_dir / RunFolder.TRACES)
            record["replayed"] = True
            # The trace ids of the first kept requests (a failed check's, before errors')
            # and of the kept elections, to open them in a trace viewer.
            # Named "c3:17" (client c3's request 17) and "n2@5" (n2's election for term 5).
            requests = telemetry.kept_request_ids
            listed = [request for request in kept.requests if request in requests]
            trace_ids = {f"{c}:{seq}": requests[(c, seq)] for c, seq in listed[:KEPT_IDS_LISTED]}
            elections = sorted(telemetry.kept_election_ids.items())[:KEPT_IDS_LISTED]
            trace_ids.update((f"{node}@{term}", tid) for (node, term), tid in elections)
            record["trace_ids"] = trace_ids
        else:
            record["replayed"] = False
            record["error"] = (
                f"the run made again diverged (event hash {world.log.hexdigest[:16]}, "
                f"expected {event_hash[:16]}): the traces are the first run's"
            )
    record["wall_seconds"] = round(time.perf_counter() - started, 3)
    return record


class RunFolderError(Exception):
    """A run folder that cannot be used: missing or malformed, or not free for a new run."""


def claim_run_folder(out_dir: Path, *, replace: bool = False) -> None:
    """Make sure a new run may write ``out_dir`` (see the module docstring).

    Free: a folder that does not exist or is empty. A folder holding a run
    (``run.json``) is removed when ``replace``, else refused; anything else is
    refused. Raises ``RunFolderError`` naming the folder and the way out.
    """
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise RunFolderError(f"{out_dir}: exists and is not a folder; choose another with --out")
    if not any(out_dir.iterdir()):
        return
    if not (out_dir / RUN_FILE).is_file():
        raise RunFolderError(
            f"{out_dir}: not empty and not a run folder; choose another with --out"
        )
    if not replace:
        raise RunFolderError(
            f"{out_dir} already holds a run{_described(out_dir / RUN_FILE)}; pass --force to "
            "replace it (the whole folder), or choose another folder with --out"
        )
    shutil.rmtree(out_dir)


def claim_sweep_root(root: Path, *, named: bool, replace: bool = False) -> Path:
    """The folder a sweep may keep its runs in (see the module docstring).

    ``named``: the user chose ``root`` (``--out``): it is used when free (missing or
    empty), replaced whole when ``replace``, else refused with ``RunFolderError``. The
    default root, when taken, gives way to ``root-2``, ``root-3``, ... (the first free).
    """
    if _free(root):
        return root
    if named:
        if not root.is_dir():
            raise RunFolderError(f"{root}: exists and is not a folder; choose another with --out")
        if not replace:
            raise RunFolderError(
                f"{root} already holds runs of an earlier sweep; pass --force to replace it "
                "(the whole folder), or choose another folder with --out"
            )
        shutil.rmtree(root)
        return root
    number = 2
    while not _free(root.with_name(f"{root.name}-{number}")):
        number += 1
    return root.with_name(f"{root.name}-{number}")


def _free(folder: Path) -> bool:
    return not folder.exists() or (folder.is_dir() and not any(folder.iterdir()))


def _described(path: Path) -> str:
    """`` (status violation, bugs x)`` from a run.json, or nothing when it cannot be read."""
    try:
        recorded = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return ""
    if not isinstance(recorded, dict):
        return ""
    parts = []
    if isinstance(recorded.get("status"), str):
        parts.append(f"status {recorded['status']}")
    scenario = recorded.get("scenario")
    bugs = scenario.get("bugs") if isinstance(scenario, dict) else None
    if isinstance(bugs, list) and bugs:
        parts.append(f"bugs {', '.join(str(bug) for bug in bugs)}")
    return f" ({', '.join(parts)})" if parts else ""


def load_run(run_dir: Path) -> tuple[Scenario, dict[str, Any]]:
    path = run_dir / RUN_FILE
    if not run_dir.is_dir():
        raise RunFolderError(f"{run_dir}: not a run folder (no such directory)")
    if not path.is_file():
        raise RunFolderError(f"{path}: missing (is {run_dir} a run folder?)")
    try:
        recorded = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as error:
        raise RunFolderError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(recorded, dict) or not isinstance(recorded.get("scenario"), dict):
        raise RunFolderError(f"{path}: no 'scenario' mapping")
    for key in ("event_hash", "event_count"):
        if key not in recorded:
            raise RunFolderError(f"{path}: no '{key}'")
    import yaml

    try:
        text = yaml.safe_dump(recorded["scenario"], sort_keys=False)
        scenario = parse_scenario(text, source=f"{path}:scenario")
    except ScenarioError as error:
        raise RunFolderError(str(error)) from None
    return scenario, recorded


@dataclass(frozen=True)
class ReplayOutcome:
    """``matched``: the re-run's log equals both the recorded hash and the log on disk."""

    matched: bool
    recorded_file_hash: str | None  # SHA-256 of events.jsonl on disk; None when it is missing
    expected_hash: str
    got_hash: str
    expected_count: int
    got_count: int
    first_difference: tuple[int, str | None, str | None] | None


def replay_run(run_dir: Path) -> ReplayOutcome:
    """Re-run a recorded run and compare its event log with the recorded one."""
    scenario, recorded = load_run(run_dir)
    with tempfile.TemporaryDirectory(prefix="harmonysim-replay-") as scratch:
        # Only the event log is compared: no traces, so no second run for failure traces.
        outcome = run_scenario(scenario, Path(scratch), trace_sample=0.0)
        on_disk = _file_hash(run_dir / EVENTS_FILE)
        matched = outcome.event_hash == recorded["event_hash"] == on_disk
        difference = None
        if not matched:
            difference = _first_difference(run_dir / EVENTS_FILE, Path(scratch) / EVENTS_FILE)
    return ReplayOutcome(
        matched=matched,
        recorded_file_hash=on_disk,
        expected_hash=str(recorded["event_hash"]),
        got_hash=outcome.event_hash,
        expected_count=int(recorded["event_count"]),
        got_count=outcome.event_count,
        first_difference=difference,
    )


def _file_hash(path: Path) -> str | None:
    """SHA-256 of a file's bytes (what ``event_hash`` is over), or None when it is missing."""
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _first_difference(expected: Path, got: Path) -> tuple[int, str | None, str | None]:
    """(index, expected line, got line) of the first event that differs."""
    if not expected.is_file():
        return (0, None, "(recorded events.jsonl is missing)")
    with expected.open("rb") as left, got.open("rb") as right:
        index = 0
        while True:
            a = left.readline()
            b = right.readline()
            if a != b:
                return (
                    index,
                    a.decode().rstrip("\n") if a else None,
                    b.decode().rstrip("\n") if b else None,
                )
            if not a:
                return (index, None, None)
            index += 1
