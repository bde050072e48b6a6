"""``harmonysim alerts RUN_DIR [--rules FILE] [--json]``: score alerting rules on a run.

The rules (default: the ones shipped in ``harmonysim/obs/alerts/rules.yml``) are
evaluated by ``promtool`` over the run's ``metrics.jsonl`` on the virtual clock,
and each alert's firings are compared with the incidents of the event log (the
dashboard's fold, ``ClusterState``, read on a 10 ms grid): per alert, incidents
caught, missed, false firings and the detection delay. Exit 0 when every rule
meets its goal (all incidents caught within ``for:`` plus one sample interval,
no false firing), 1 when one does not, 2 for a bad run folder or rules file or a
missing ``promtool``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harmonysim.cli.common import EXIT_CHECK_FAILED, EXIT_OK, BadInput, print_json
from harmonysim.runlog.folder import RunFolder

if TYPE_CHECKING:
    from rich.console import Console

    from harmonysim.obs.alerts.incidents import RunFacts

NAME = "alerts"
HELP = "evaluate alerting rules on a run and score them against its incidents"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="a folder written by `harmonysim run`")
    parser.add_argument(
        "--rules", type=Path, help="a Prometheus rules file (default: the shipped rules)"
    )
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")


def run_facts(events_path: Path, end_ms: float) -> RunFacts:
    """The event log folded (``ClusterState``) onto the incidents' grid."""
    import orjson

    from harmonysim.obs.alerts.incidents import GRID_MS, Moment, RunFacts
    from harmonysim.runlog.fold import ClusterState, Health
    from harmonysim.runlog.vocabulary import CLIENT_END_KINDS, EventKind

    state = ClusterState.initial()
    moments: list[Moment] = []
    elections: list[float] = []
    completions: list[float] = []
    errors: list[float] = []
    fsyncs: dict[str, list[tuple[float, float]]] = {}
    started: dict[str, list[float]] = {}
    first_election = True
    next_ms = GRID_MS

    # Servers that took part in Raft (persisted or changed role); a spare waiting to be
    # added reports nothing, as its metrics show no series for it either.
    active: set[str] = set()

    def moment(t_ms: float) -> Moment:
        nodes = sorted(active)
        return Moment(
            t_ms,
            state.leader is not None,
            {node: state.nodes[node].commit_index for node in nodes},
            {node: state.nodes[node].health is Health.UP for node in nodes},
        )

    try:
        handle = events_path.open("rb")
    except OSError as error:
        raise BadInput(f"{events_path}: cannot read ({error.strerror})") from None
    with handle:
        for number, line in enumerate(handle, 1):
            try:
                record = orjson.loads(line)
                t_ms = float(record["t"])
                kind = record["kind"]
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                raise BadInput(f"{events_path}:{number}: not an event record") from None
            while next_ms < t_ms:
                moments.append(moment(next_ms))
                next_ms += GRID_MS
            state.apply(record)
            if kind in (EventKind.RAFT_PERSIST, EventKind.RAFT_ROLE):
                active.add(str(record["node"]))
            if kind == EventKind.RAFT_ROLE and record.get("role") == "leader":
                if not first_election:
                    elections.append(t_ms)
                first_election = False
            elif kind in CLIENT_END_KINDS:
                completions.append(t_ms)
                if kind == EventKind.CLIENT_INFO:
                    errors.append(t_ms)
            elif kind == EventKind.DISK_FSYNC:
                started.setdefault(str(record["node"]), []).append(t_ms)
            elif kind == EventKind.DISK_SYNCED:
                pending = started.get(str(record["node"]))
                if pending:
                    begun = pending.pop(0)
                    fsyncs.setdefault(str(record["node"]), []).append(
                        (t_ms, (t_ms - begun) / 1000.0)
                    )
            elif kind == EventKind.DISK_LOST:
                started.pop(str(record["node"]), None)
    while next_ms <= end_ms:
        moments.append(moment(next_ms))
        next_ms += GRID_MS
    return RunFacts(moments, elections, completions, errors, fsyncs)


def score_run(run_dir: Path, rules_path: Path | None) -> tuple[float, list[Any]]:
    """(sample interval ms, per-rule ``AlertScore``) for ``run_dir``."""
    import orjson

    from harmonysim.obs.alerts.engine import (
        DEFAULT_RULES,
        AlertEngineError,
        evaluate_rules,
        load_rules,
        read_metric_series,
    )
    from harmonysim.obs.alerts.incidents import conditions_of
    from harmonysim.obs.alerts.score import score_alerts

    run_json = RunFolder(run_dir).run
    if not run_json.is_file():
        raise BadInput(f"{run_dir}: not a run folder (no run.json)")
    try:
        info = orjson.loads(run_json.read_bytes())
        interval_ms = float(info.get("telemetry", {}).get("metrics_every_ms", 1000.0))
        end_ms = float(info["summary"]["virtual_ms"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        raise BadInput(f"{run_json}: not a run.json (no summary.virtual_ms)") from None
    samples = RunFolder(run_dir).metrics
    if not samples.is_file():
        raise BadInput(f"{run_dir}: no metrics.jsonl (run it with metrics on)")
    try:
        series = read_metric_series(samples, interval_ms)
        rules, firings = evaluate_rules(rules_path or DEFAULT_RULES, series)
    except AlertEngineError as error:
        raise BadInput(str(error)) from None
    conditions = conditions_of(run_facts(RunFolder(run_dir).events, end_ms))
    # an incident lasts at least the shipped rule's for: plus a sample, whatever rules run
    incident_min_ms = {rule.name: rule.for_ms + interval_ms for rule in load_rules(DEFAULT_RULES)}
    return interval_ms, score_alerts(rules, firings, conditions, interval_ms, incident_min_ms)


def _delay(value: float | None) -> str:
    return "-" if value is None else f"{value / 1000:.2f}s"


def handle(args: argparse.Namespace, out: Console) -> int:
    from rich.table import Table

    if args.rules is not None and not args.rules.is_file():
        raise BadInput(f"{args.rules}: no such rules file")
    interval_ms, scores = score_run(args.run_dir, args.rules)
    ok = all(score.meets_goal for score in scores)
    if args.json:
        print_json(
            {
                "run": str(args.run_dir),
                "interval_ms": interval_ms,
                "meets_goal": ok,
                "alerts": [score.to_json() for score in scores],
            }
        )
    else:
        table = Table(title=f"alerts on {args.run_dir} (samples every {interval_ms:g} ms)")
        for column in (
            "alert",
            "for",
            "incidents",
            "caught",
            "missed",
            "false",
            "max delay",
            "goal",
        ):
            table.add_column(column)
        for score in scores:
            table.add_row(
                score.alert,
                f"{score.for_ms / 1000:g}s",
                str(score.incidents) if score.judged else "n/a",
                str(score.caught),
                str(score.missed),
                str(score.false_firings) if score.judged else f"({score.firings} firings)",
                _delay(score.delay_max_ms),
                "[green]ok[/]" if score.meets_goal else "[red]no[/]",
            )
        out.print(table)
    return EXIT_OK if ok else EXIT_CHECK_FAILED
