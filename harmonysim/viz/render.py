"""Rendering a run folder's plots to files: ``plot_run``.

Rules of this file:
- One file per plot kind, named ``<kind>.<format>`` (``timeline.png``,
  ``messages.svg``, ...), written into the output folder (created if needed).
- Only what the requested kinds need is decoded: their event kinds, the history
  only for the client plot, and message events only around the message window.
- A window applies to every plot. The message diagram draws the window itself
  when one was asked for and it spans at most ``MESSAGE_WINDOW_MAX_MS``; a longer
  window would be an unreadable thicket of arrows, so the diagram then shows a
  ``DEFAULT_WINDOW_MS`` slice inside it (as when no window was asked for): around
  the first violation of a check in it (half the slice before it, so the diagram
  shows what led up to it), else a sixth of the slice before the first partition,
  else before the first election, else at its start. The diagram's title states
  the slice and why it was chosen.
- The time-axis plots (timeline, messages, clients, btree) mark the run's
  violations (``read_violations``; ``harmonysim.runlog.violations`` says how each
  check's are placed on the clock).
- ``btree-structure`` draws one replica's tree at the end of the window (the
  first replica up then, or ``replica``), whole or, with ``subtree``, from that
  tree node down; ``replica`` also picks whose hottest leaves ``btree`` lists.
- A window must start before it ends, at or after 0, and before the run ends;
  one reaching past the end of the run is cut at the end.
- Bad input (not a run folder, unknown kind or format, bad window) raises
  :class:`PlotInputError`; the command line turns it into exit status 2.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from matplotlib.figure import Figure

from harmonysim.runlog.violations import Violation
from harmonysim.sim.events import EventRecord
from harmonysim.viz.btree import BTREE_EVENT_KINDS, plot_btree, plot_btree_structure
from harmonysim.viz.clients import CLIENTS_EVENT_KINDS, plot_clients
from harmonysim.viz.derive import message_window_anchor
from harmonysim.viz.messages import DEFAULT_WINDOW_MS, MESSAGES_EVENT_KINDS, plot_messages
from harmonysim.viz.records import (
    EVENTS_FILE,
    MESSAGE_KINDS,
    PlotInputError,
    RunRecords,
    load_run_records,
    read_event_lines,
    read_violations,
)
from harmonysim.viz.style import ImageFormat, save_figure
from harmonysim.viz.timeline import TIMELINE_KINDS, plot_timeline

if TYPE_CHECKING:
    from harmonysim.scenario import Workload

__all__ = [
    "MESSAGE_WINDOW_MAX_MS",
    "MessageWindow",
    "PlotKind",
    "check_window",
    "message_window",
    "parse_format",
    "parse_kinds",
    "plot_run",
]

MESSAGE_WINDOW_MAX_MS = 1000.0


class PlotKind(StrEnum):
    """The plots a run folder can be drawn as."""

    TIMELINE = "timeline"
    MESSAGES = "messages"
    CLIENTS = "clients"
    BTREE = "btree"
    BTREE_STRUCTURE = "btree-structure"


_EVENT_KINDS: dict[PlotKind, frozenset[str]] = {
    PlotKind.TIMELINE: TIMELINE_KINDS,
    PlotKind.MESSAGES: MESSAGES_EVENT_KINDS,
    PlotKind.CLIENTS: CLIENTS_EVENT_KINDS,
    PlotKind.BTREE: BTREE_EVENT_KINDS,
    PlotKind.BTREE_STRUCTURE: BTREE_EVENT_KINDS,
}


def parse_kinds(kinds: Iterable[PlotKind | str]) -> list[PlotKind]:
    """Plot kinds from names, in the order given, without repeats."""
    parsed: list[PlotKind] = []
    for kind in kinds:
        try:
            value = PlotKind(kind)
        except ValueError:
            choices = ", ".join(member.value for member in PlotKind)
            raise PlotInputError(f"unknown plot kind {kind!r} (choose from {choices})") from None
        if value not in parsed:
            parsed.append(value)
    if not parsed:
        raise PlotInputError("no plot kind asked for")
    return parsed


def parse_format(fmt: ImageFormat | str) -> ImageFormat:
    try:
        return ImageFormat(fmt)
    except ValueError:
        choices = ", ".join(member.value for member in ImageFormat)
        raise PlotInputError(f"unknown image format {fmt!r} (choose from {choices})") from None


def check_window(
    window_ms: tuple[float, float] | None, duration_ms: float
) -> tuple[float, float] | None:
    """Validate a window against a run of ``duration_ms`` (see the module rules)."""
    if window_ms is None:
        return None
    start_ms, end_ms = window_ms
    if start_ms < 0:
        raise PlotInputError(f"the window cannot start before 0 ms (got {start_ms:g} ms)")
    if start_ms >= end_ms:
        raise PlotInputError(
            f"the window must start before it ends (from {start_ms:g} ms, to {end_ms:g} ms)"
        )
    if start_ms >= duration_ms:
        raise PlotInputError(
            f"the window starts at {start_ms:g} ms, at or after the end of the run "
            f"({duration_ms:g} ms)"
        )
    return (start_ms, min(end_ms, duration_ms))


@dataclass(frozen=True, slots=True)
class MessageWindow:
    """The slice of a run the message diagram draws, and why (one phrase for its title)."""

    start_ms: float
    end_ms: float
    reason: str


def _ms(value: float) -> str:
    return f"{value:,.1f}".removesuffix(".0")


def message_window(
    events: Sequence[EventRecord],
    within_ms: tuple[float, float],
    violations: Sequence[Violation] = (),
    *,
    asked: bool = False,
) -> MessageWindow:
    """The message diagram's window inside a plot window (see the module rules).

    ``asked``: the plot window is the one the user asked for (``--from``/``--to``),
    not the whole run.
    """
    low, high = within_ms
    if asked and high - low <= MESSAGE_WINDOW_MAX_MS:
        return MessageWindow(low, high, "the window asked for")
    span = min(DEFAULT_WINDOW_MS, high - low)
    first = next((v for v in violations if low <= v.time_ms <= high), None)
    if first is not None:
        start = first.time_ms - span / 2.0
        reason = f"{_ms(span)} ms around the first violation ({first.check})"
    else:
        anchor = message_window_anchor(events, within_ms)
        if anchor is not None:
            start = anchor[0] - span / 6.0
            reason = f"{_ms(span)} ms around {anchor[1]}"
        else:
            start = low
            reason = f"the first {_ms(span)} ms"
    start = min(max(start, low), high - span)
    if asked:
        reason += (
            f" inside the window asked for ({_ms(low)}–{_ms(high)} ms is longer than the "
            f"{_ms(MESSAGE_WINDOW_MAX_MS)} ms a readable diagram shows)"
        )
    return MessageWindow(start, start + span, reason)


def _message_events(records: RunRecords, window_ms: tuple[float, float]) -> list[EventRecord]:
    messages = read_event_lines(
        records.run_dir / EVENTS_FILE, MESSAGE_KINDS, messages_between_ms=window_ms
    )
    return list(heapq.merge(records.events, messages, key=lambda record: int(record["seq"])))


class _TreeArguments(TypedDict):
    """What both B+ tree plots are given of the run."""

    nodes: tuple[str, ...]
    window_ms: tuple[float, float] | None
    title: str
    order: int
    bugs: tuple[str, ...]
    replica: str | None
    workload: Workload | None


def plot_run(
    run_dir: Path | str,
    out_dir: Path | str | None = None,
    kinds: Iterable[PlotKind | str] = tuple(PlotKind),
    window_ms: tuple[float, float] | None = None,
    fmt: ImageFormat | str = ImageFormat.PNG,
    *,
    replica: str | None = None,
    subtree: int | None = None,
) -> list[Path]:
    """Render the plots of a run folder; returns the files written, in ``kinds`` order.

    ``out_dir`` defaults to ``<run_dir>/plots``; ``window_ms`` (virtual ms) to the
    whole run; ``fmt`` is ``png`` or ``svg``; ``replica`` and ``subtree`` are for
    the B+ tree plots (see the module rules).
    """
    wanted = parse_kinds(kinds)
    image_format = parse_format(fmt)
    folder = Path(run_dir)
    event_kinds: set[str] = set()
    for kind in wanted:
        event_kinds |= _EVENT_KINDS[kind] - MESSAGE_KINDS
    records = load_run_records(
        folder, kinds=sorted(event_kinds), history=PlotKind.CLIENTS in wanted
    )
    window = check_window(window_ms, records.duration_ms)
    target = Path(out_dir) if out_dir is not None else folder / "plots"
    target.mkdir(parents=True, exist_ok=True)
    nodes = records.nodes
    if replica is not None and replica not in nodes:
        raise PlotInputError(f"unknown replica {replica!r} (choose from {', '.join(nodes)})")

    violations = read_violations(folder, records.duration_ms)

    def messages() -> Figure:
        within = window if window is not None else (0.0, records.duration_ms)
        chosen = message_window(records.events, within, violations, asked=window is not None)
        span = (chosen.start_ms, chosen.end_ms)
        return plot_messages(
            _message_events(records, span),
            window_ms=span,
            nodes=nodes,
            title=records.title,
            violations=violations,
            window_reason=chosen.reason,
        )

    trees: _TreeArguments = {
        "nodes": nodes,
        "window_ms": window,
        "title": records.title,
        "order": records.btree_order,
        "bugs": records.bugs,
        "replica": replica,
        "workload": records.workload,
    }
    draw: dict[PlotKind, Callable[[], Figure]] = {
        PlotKind.TIMELINE: lambda: plot_timeline(
            records.events,
            nodes=nodes,
            window_ms=window,
            title=records.title,
            violations=violations,
        ),
        PlotKind.MESSAGES: messages,
        PlotKind.CLIENTS: lambda: plot_clients(
            records.history,
            events=records.events,
            window_ms=window,
            title=records.title,
            violations=violations,
        ),
        PlotKind.BTREE: lambda: plot_btree(records.events, **trees, violations=violations),
        PlotKind.BTREE_STRUCTURE: lambda: plot_btree_structure(
            records.events, **trees, subtree=subtree
        ),
    }
    written: list[Path] = []
    for kind in wanted:
        figure = draw[kind]()
        written.append(
            save_figure(figure, target / f"{kind.value}.{image_format.value}", image_format)
        )
    return written
