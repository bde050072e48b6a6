"""Evaluating alerting rules over a run's metric samples with Prometheus' own rule engine.

Rules:
- The engine is ``promtool test rules``: it runs Prometheus' rule manager (PromQL,
  the pending -> firing state machine of ``for:``, label templating) over input
  series on a clock that starts at 0, which is the virtual clock of a run. Other
  routes were weighed: a TSDB block built by ``promtool tsdb create-blocks-from
  openmetrics`` can be queried, but neither a server (it evaluates rules at the
  wall-clock now) nor ``create-blocks-from rules`` (recording rules only) fires
  alerts over past data.
- Input series are ``metrics.jsonl`` as it is: one series per name and labels
  (histograms as ``_bucket{le}``, ``_sum`` and ``_count``), one value per sample
  time, ``_`` (no sample) before a series was first bound. The evaluation
  interval is the run's sample interval; samples off that grid (a run's final
  sample at an odd end time) are left out.
- Firing is read back by asking, at every evaluation time, for no alert of each
  rule: promtool reports every (alert, time) where one fires, with its labels.
  Only that report's ``alertname: NAME, time: Ts`` and ``Labels:{...}`` lines are
  parsed; anything else promtool says is an ``AlertEngineError``.
- A missing ``promtool`` is ``PromtoolMissing`` (the command line makes it exit 2).
- Deterministic: series are written sorted, and firings are returned sorted.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import yaml

__all__ = [
    "DEFAULT_RULES",
    "AlertEngineError",
    "AlertRule",
    "Firing",
    "MetricSeries",
    "PromtoolMissing",
    "evaluate_rules",
    "load_rules",
    "read_metric_series",
]

RULES_RESOURCE = "rules.yml"
PROMTOOL_TIMEOUT_S = 120.0


def _default_rules() -> Path:
    return Path(str(resources.files("harmonysim.obs.alerts").joinpath(RULES_RESOURCE)))


DEFAULT_RULES = _default_rules()
"""The alerting rules shipped with the package."""


class AlertEngineError(Exception):
    """Rules or samples the engine cannot evaluate (the message says which and why)."""


class PromtoolMissing(AlertEngineError):
    """``promtool`` is not on the PATH."""


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One alerting rule: its name, its ``for:`` in ms, and whether it keys on ``node``."""

    name: str
    for_ms: float
    expr: str


@dataclass(frozen=True, slots=True)
class Firing:
    """One alert firing without a break: ``[start_ms, end_ms)``, ``end_ms`` being the first
    evaluation that no longer found it (or the end of the evaluation)."""

    alert: str
    labels: tuple[tuple[str, str], ...]
    start_ms: float
    end_ms: float

    @property
    def node(self) -> str | None:
        return dict(self.labels).get("node")


@dataclass(frozen=True, slots=True)
class MetricSeries:
    """A run's samples on the evaluation grid: ``values[series][i]`` at ``(i + 1) * interval``."""

    interval_ms: float
    steps: int
    values: dict[str, list[str]]


_DURATION = re.compile(r"^(?:\d+(?:ms|s|m|h|d|w|y))+$")
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_DURATION_MS = {
    "ms": 1.0,
    "s": 1000.0,
    "m": 60_000.0,
    "h": 3_600_000.0,
    "d": 86_400_000.0,
    "w": 604_800_000.0,
    "y": 31_536_000_000.0,
}


def _duration_ms(text: str, where: str) -> float:
    """A Prometheus duration (``1m30s``, ``3s100ms``, ``0s``) in milliseconds."""
    text = text.strip()
    if not _DURATION.match(text):
        raise AlertEngineError(f"{where}: expected a duration like 2s or 1m30s, got {text!r}")
    return sum(float(number) * _DURATION_MS[unit] for number, unit in _DURATION_PART.findall(text))


def load_rules(path: Path) -> list[AlertRule]:
    """The alerting rules of a Prometheus rules file, in file order."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise AlertEngineError(f"{path}: cannot read ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise AlertEngineError(f"{path}: not YAML ({error})") from None
    groups = data.get("groups") if isinstance(data, dict) else None
    if not isinstance(groups, list):
        raise AlertEngineError(f"{path}: expected a rules file with a 'groups' list")
    rules: list[AlertRule] = []
    for group in groups:
        for rule in group.get("rules", []) if isinstance(group, dict) else []:
            if isinstance(rule, dict) and "alert" in rule:
                where = f"{path}: alert {rule['alert']}"
                for_ms = _duration_ms(str(rule.get("for", "0s")), where + " for")
                rules.append(AlertRule(str(rule["alert"]), for_ms, str(rule.get("expr", ""))))
    if not rules:
        raise AlertEngineError(f"{path}: no alerting rules")
    return rules


def _series_name(name: str, labels: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f"{key}={orjson.dumps(value).decode()}" for key, value in labels)
    return f"{name}{{{inner}}}"


def _number(value: Any) -> str:
    return repr(float(value)) if not isinstance(value, int) else str(value)


def read_metric_series(path: Path, interval_ms: float) -> MetricSeries:
    """``metrics.jsonl`` as input series on a grid of ``interval_ms`` (module rules)."""
    by_time: dict[int, dict[str, str]] = {}
    try:
        handle = path.open("rb")
    except OSError as error:
        raise AlertEngineError(f"{path}: cannot read ({error.strerror})") from None
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
                t_ms = float(record["t"])
                name = str(record["name"])
                labels = sorted((str(k), str(v)) for k, v in dict(record["labels"]).items())
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
                raise AlertEngineError(f"{path}:{number}: not a metric sample ({error})") from None
            step = round(t_ms / interval_ms)
            if step < 1 or abs(step * interval_ms - t_ms) > 0.5:
                continue
            row = by_time.setdefault(step, {})
            if "buckets" in record:
                for bound, count in record["buckets"]:
                    le = "+Inf" if bound == "+Inf" else repr(float(bound))
                    row[_series_name(name + "_bucket", [*labels, ("le", le)])] = str(count)
                row[_series_name(name + "_sum", labels)] = _number(record["sum"])
                row[_series_name(name + "_count", labels)] = str(record["count"])
            else:
                row[_series_name(name, labels)] = _number(record["value"])
    steps = max(by_time, default=0)
    values: dict[str, list[str]] = {}
    for step in sorted(by_time):
        for series, value in by_time[step].items():
            column = values.get(series)
            if column is None:
                column = values[series] = ["_"] * steps
            column[step - 1] = value
    return MetricSeries(interval_ms, steps, dict(sorted(values.items())))


def _seconds(ms: float) -> str:
    return f"{int(ms)}ms"


def _test_file(rules_path: Path, rules: Sequence[AlertRule], series: MetricSeries) -> str:
    interval = _seconds(series.interval_ms)
    input_series = [
        # index 0 is time 0, before the first sample
        {"series": name, "values": " ".join(["_", *column])}
        for name, column in series.values.items()
    ]
    tests = [
        {"eval_time": _seconds(step * series.interval_ms), "alertname": rule.name}
        for step in range(1, series.steps + 1)
        for rule in rules
    ]
    document = {
        "rule_files": [str(rules_path.resolve())],
        "evaluation_interval": interval,
        "tests": [{"interval": interval, "input_series": input_series, "alert_rule_test": tests}],
    }
    return yaml.safe_dump(document, sort_keys=False, width=1 << 20)


_HEADER = re.compile(r"^\s*alertname: (\S+), time: (\S+),\s*$")
_LABELS = re.compile(r"^\s*Labels:\{(.*)\}\s*$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _parse_report(
    text: str, interval_ms: float
) -> dict[tuple[str, tuple[tuple[str, str], ...]], list[int]]:
    """(alert, labels) -> the evaluation steps at which it fired, from promtool's report."""
    fired: dict[tuple[str, tuple[tuple[str, str], ...]], list[int]] = {}
    current: tuple[str, int] | None = None
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header is not None:
            step = round(_duration_ms(header.group(2), "promtool report") / interval_ms)
            current = (header.group(1), step)
            continue
        labels = _LABELS.match(line)
        if labels is not None and current is not None:
            pairs = tuple(
                sorted(
                    (key, value)
                    for key, value in _LABEL.findall(labels.group(1))
                    if key not in ("alertname", "severity")
                )
            )
            fired.setdefault((current[0], pairs), []).append(current[1])
    return fired


def _intervals(
    alert: str, labels: tuple[tuple[str, str], ...], steps: list[int], interval_ms: float
) -> list[Firing]:
    firings: list[Firing] = []
    run_start = previous = None
    for step in sorted(set(steps)):
        if previous is not None and step == previous + 1:
            previous = step
            continue
        if run_start is not None and previous is not None:
            firings.append(
                Firing(alert, labels, run_start * interval_ms, (previous + 1) * interval_ms)
            )
        run_start = previous = step
    if run_start is not None and previous is not None:
        firings.append(Firing(alert, labels, run_start * interval_ms, (previous + 1) * interval_ms))
    return firings


def promtool() -> str:
    """The path of ``promtool``, or ``PromtoolMissing``."""
    found = shutil.which("promtool")
    if found is None:
        raise PromtoolMissing(
            "promtool not found on PATH: install Prometheus' tools "
            "(Debian/Ubuntu: apt-get install prometheus)"
        )
    return found


def _check_rules(binary: str, rules_path: Path) -> None:
    """``promtool check rules``: a file it refuses is an error naming its first complaint."""
    checked = subprocess.run(
        [binary, "check", "rules", str(rules_path)],
        capture_output=True,
        text=True,
        timeout=PROMTOOL_TIMEOUT_S,
        check=False,
    )
    if checked.returncode != 0:
        lines = [line.strip() for line in (checked.stdout + checked.stderr).splitlines()]
        complaints = [
            line
            for line in lines
            if line and not line.startswith(("Checking ", "FAILED")) and line != "SUCCESS"
        ]
        raise AlertEngineError(
            f"{rules_path}: promtool check rules refused it: "
            + (complaints[0] if complaints else "(no reason given)")
        )


def evaluate_rules(rules_path: Path, series: MetricSeries) -> tuple[list[AlertRule], list[Firing]]:
    """Every alert firing of ``rules_path`` over ``series``, evaluated by promtool."""
    binary = promtool()
    rules = load_rules(rules_path)
    _check_rules(binary, rules_path)
    if series.steps == 0:
        return rules, []
    with tempfile.TemporaryDirectory(prefix="harmonysim-alerts-") as scratch:
        test_path = Path(scratch) / "alerts-test.yml"
        test_path.write_text(_test_file(rules_path, rules, series), encoding="utf-8")
        try:
            completed = subprocess.run(
                [binary, "test", "rules", str(test_path)],
                capture_output=True,
                text=True,
                timeout=PROMTOOL_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise AlertEngineError(
                f"promtool took over {PROMTOOL_TIMEOUT_S:g}s evaluating {rules_path}"
            ) from None
    report = completed.stdout + completed.stderr
    if completed.returncode not in (0, 1) or (
        completed.returncode == 1 and "alertname:" not in report
    ):
        first = next((line.strip() for line in report.splitlines() if line.strip()), "")
        raise AlertEngineError(f"promtool could not evaluate {rules_path}: {first or report!r}")
    known = {rule.name for rule in rules}
    firings: list[Firing] = []
    for (alert, labels), steps in sorted(_parse_report(report, series.interval_ms).items()):
        if alert in known:
            firings.extend(_intervals(alert, labels, steps, series.interval_ms))
    firings.sort(key=lambda firing: (firing.alert, firing.labels, firing.start_ms))
    return rules, firings
