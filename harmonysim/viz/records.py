"""Loading a run folder for plotting: ``run.json``, ``events.jsonl`` and ``history.jsonl``.

Rules of this file:
- Plots read run artifacts only; nothing here drives a simulation.
- Records are kept exactly as written (one dict per line, as orjson decodes it), in
  file order, so everything derived from them is a deterministic function of the files.
- Loading can be narrowed to the event kinds a plot needs. Message events are the
  bulk of a log (about half of all lines), so they can further be narrowed to a time
  range: sends inside it, and the deliveries, drops and duplicates at or after its
  start (a message sent in the range may arrive after it, e.g. once a clog lifts).
  The kind and time of a line are read from its fixed prefix
  (``{"t":...,"seq":...,"kind":"..."``, see ``harmonysim.sim.events``) before any
  JSON is decoded, so a 300 ms diagram does not decode 30 s of traffic.
- A folder that is not a run folder, or a malformed line, raises
  :class:`PlotInputError` naming the file (and line) at fault.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from harmonysim.runlog.folder import RunFolder
from harmonysim.runlog.violations import Violation, violations_from_checks
from harmonysim.sim.events import EventKind, EventRecord

if TYPE_CHECKING:
    from harmonysim.scenario import Workload

__all__ = [
    "EVENTS_FILE",
    "HISTORY_FILE",
    "MESSAGE_KINDS",
    "HistoryRow",
    "PlotInputError",
    "RunInfo",
    "RunRecords",
    "load_history",
    "load_run_records",
    "read_event_lines",
    "read_run_info",
    "read_violations",
]

EVENTS_FILE = RunFolder.EVENTS
HISTORY_FILE = RunFolder.HISTORY

HistoryRow = dict[str, Any]
"""One row of ``history.jsonl``: process, type, f, key, value, time, index."""

MESSAGE_KINDS: frozenset[str] = frozenset(
    {
        EventKind.MSG_SEND.value,
        EventKind.MSG_DELIVER.value,
        EventKind.MSG_DROP.value,
        EventKind.MSG_DUPLICATE.value,
        EventKind.MSG_HOLD.value,
    }
)

_KIND_PREFIX = b'"kind":"'


class PlotInputError(ValueError):
    """Input a plot cannot use: not a run folder, a malformed file, a bad window or kind."""


@dataclass(frozen=True, slots=True)
class RunRecords:
    """What a run folder holds, loaded for plotting.

    ``nodes`` are the server ids in cluster order (n1, n2, ..., nN); ``events`` and
    ``history`` are the decoded lines of ``events.jsonl`` and ``history.jsonl``
    (possibly narrowed, see :func:`load_run_records`); ``workload`` is the run's (a
    load phase's records are rebuilt from it).
    """

    run_dir: Path
    name: str
    seed: int
    duration_ms: float
    nodes: tuple[str, ...]
    events: tuple[EventRecord, ...]
    history: tuple[HistoryRow, ...]
    btree_order: int = 32
    bugs: tuple[str, ...] = ()
    workload: Workload | None = None

    @property
    def title(self) -> str:
        return f"{self.name} · seed {self.seed}"


def _line_kind(line: bytes) -> bytes:
    start = line.find(_KIND_PREFIX)
    if start < 0:
        return b""
    start += len(_KIND_PREFIX)
    return line[start : line.find(b'"', start)]


def _line_time_ms(line: bytes) -> float:
    # Every line starts with {"t":<ms>, -- five bytes of prefix, then the number.
    return float(line[5 : line.index(b",", 5)])


def read_event_lines(
    path: Path,
    kinds: Iterable[str] | None = None,
    *,
    messages_between_ms: tuple[float, float] | None = None,
) -> list[EventRecord]:
    """Decode the lines of an ``events.jsonl`` whose kind is in ``kinds`` (all when None).

    With ``messages_between_ms = (start, end)``, ``msg.send`` and ``msg.hold`` lines are
    kept only when ``start <= t < end`` and the other message kinds only when
    ``t >= start``.
    """
    wanted = None if kinds is None else frozenset(kind.encode() for kind in kinds)
    sends = (EventKind.MSG_SEND.value.encode(), EventKind.MSG_HOLD.value.encode())
    others = frozenset(kind.encode() for kind in MESSAGE_KINDS) - frozenset(sends)
    records: list[EventRecord] = []
    try:
        handle = path.open("rb")
    except OSError as error:
        raise PlotInputError(f"{path}: cannot be read ({error.strerror})") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            kind = _line_kind(line)
            if wanted is not None and kind not in wanted:
                continue
            try:
                if messages_between_ms is not None:
                    start_ms, end_ms = messages_between_ms
                    if kind in sends:
                        if not start_ms <= _line_time_ms(line) < end_ms:
                            continue
                    elif kind in others and _line_time_ms(line) < start_ms:
                        continue
                record = orjson.loads(line)
            except (ValueError, orjson.JSONDecodeError):
                raise PlotInputError(f"{path}:{number}: not an event record") from None
            if not isinstance(record, dict) or "t" not in record or "kind" not in record:
                raise PlotInputError(f"{path}:{number}: not an event record")
            records.append(record)
    return records


def load_history(path: Path) -> list[HistoryRow]:
    """Decode a ``history.jsonl`` file (rows in file order)."""
    rows: list[HistoryRow] = []
    try:
        handle = path.open("rb")
    except OSError as error:
        raise PlotInputError(f"{path}: cannot be read ({error.strerror})") from None
    required = ("process", "type", "f", "time")
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError:
                raise PlotInputError(f"{path}:{number}: not a history row") from None
            if not isinstance(row, dict) or any(key not in row for key in required):
                raise PlotInputError(f"{path}:{number}: not a history row")
            rows.append(row)
    return rows


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What ``run.json`` says about a run: scenario name, seed, duration, server ids.

    ``btree_order`` and ``bugs`` are what the replicas' trees were built with, and
    ``workload`` what wrote to them (the load phase's records are rebuilt from it).
    """

    name: str
    seed: int
    duration_ms: float
    nodes: tuple[str, ...]
    btree_order: int = 32
    bugs: tuple[str, ...] = ()
    workload: Workload | None = None


def read_run_info(run_dir: Path | str) -> RunInfo:
    """Read and validate a run folder's ``run.json``."""
    from harmonysim.runner import RunFolderError, load_run

    try:
        scenario, recorded = load_run(Path(run_dir))
    except RunFolderError as error:
        raise PlotInputError(str(error)) from None
    seed = recorded.get("seed", scenario.seed)
    return RunInfo(
        scenario.name,
        int(seed),
        float(scenario.duration_ms),
        scenario.node_ids,
        scenario.cluster.btree.order,
        tuple(scenario.bugs),
        scenario.workload,
    )


def read_violations(run_dir: Path | str, duration_ms: float) -> list[Violation]:
    """The violations of a run folder's checks (``run.json``), in time order.

    ``harmonysim.runlog.violations`` places each check's on the clock; a run whose
    checks all passed (or were not run) has none.
    """
    path = RunFolder(Path(run_dir)).run
    try:
        recorded = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as error:
        raise PlotInputError(f"{path}: cannot read the checks ({error})") from None
    checks = recorded.get("checks") if isinstance(recorded, dict) else None
    if not isinstance(checks, dict):
        return []
    return violations_from_checks(checks, duration_ms)


def load_run_records(
    run_dir: Path | str,
    *,
    kinds: Iterable[str] | None = None,
    messages_between_ms: tuple[float, float] | None = None,
    history: bool = True,
) -> RunRecords:
    """Load a run folder written by ``harmonysim run``.

    ``kinds`` narrows the events to those kinds (all when None); see
    :func:`read_event_lines` for ``messages_between_ms``. ``history=False`` skips
    ``history.jsonl``.
    """
    folder = Path(run_dir)
    info = read_run_info(folder)
    events_path = folder / EVENTS_FILE
    if not events_path.is_file():
        raise PlotInputError(f"{events_path}: missing (is {folder} a run folder?)")
    events = read_event_lines(events_path, kinds, messages_between_ms=messages_between_ms)
    rows: Sequence[HistoryRow] = ()
    if history:
        history_path = folder / HISTORY_FILE
        if not history_path.is_file():
            raise PlotInputError(f"{history_path}: missing (is {folder} a run folder?)")
        rows = load_history(history_path)
    return RunRecords(
        run_dir=folder,
        name=info.name,
        seed=info.seed,
        duration_ms=info.duration_ms,
        nodes=info.nodes,
        events=tuple(events),
        history=tuple(rows),
        btree_order=info.btree_order,
        bugs=info.bugs,
        workload=info.workload,
    )
