"""The message diagram: a space-time (Lamport) diagram of a short window of a run.

What is drawn (the rules of ``harmonysim.viz.derive`` decide every arrow):
- One horizontal lane per server, and one ``clients`` lane shared by every client
  (client-to-client messages do not exist); time runs left to right.
- An arrow from (send time, sender lane) to (delivery time, receiver lane) for
  every delivery of a message sent in the window, coloured by the message type
  (the ``type`` of ``msg.send``). A duplicated message has two arrows. A message
  still in flight (or held by a clog) at the window's end runs off its right edge.
- A dropped message as a dashed line ending in a marker for the drop reason
  (``loss``, ``partition``, ``down``): drawn to the receiver lane when it was
  dropped on arrival, and as a short stub from the sender when the network
  dropped it at send time.
- Beneath each server lane line, a thin strip with the node's Raft role (§5.1,
  PreVote from thesis §9.6), dark while it is down and hatched while paused, and a
  red band while a partition cuts it from a majority, so arrows can be read against
  the election they carry.

Arrows carry ``gid``s ``msg-<id>-<k>`` (the k-th ending of message ``id``) and
dropped ones ``drop-<id>-<k>``.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Patch

from harmonysim.raft import Role
from harmonysim.runlog.violations import Violation
from harmonysim.sim.events import EventKind, EventRecord
from harmonysim.viz.derive import (
    MessageArrow,
    MessageFate,
    Outage,
    default_message_window,
    event_nodes,
    message_arrows,
    outage_spans,
    partition_spans,
    role_spans,
    run_end_ms,
)
from harmonysim.viz.marks import draw_violations
from harmonysim.viz.records import MESSAGE_KINDS, PlotInputError
from harmonysim.viz.style import (
    OUTAGE_COLOURS,
    PARTITION_COLOUR,
    ROLE_COLOURS,
    ROLE_LABELS,
    format_time_axis,
    message_colours,
    new_figure,
    plot_style,
)

__all__ = [
    "CLIENT_LANE",
    "DEFAULT_WINDOW_MS",
    "MAX_ARROWS",
    "MESSAGES_EVENT_KINDS",
    "plot_messages",
]

CLIENT_LANE = "clients"
DEFAULT_WINDOW_MS = 300.0
MAX_ARROWS = 4000
"""More arrows than this make an unreadable diagram (and a slow one): choose a shorter window."""

MESSAGES_EVENT_KINDS: frozenset[str] = MESSAGE_KINDS | frozenset(
    kind.value
    for kind in (
        EventKind.RUN_END,
        EventKind.RAFT_ROLE,
        EventKind.RAFT_RECOVER,
        EventKind.NODE_CRASH,
        EventKind.NODE_RESTART,
        EventKind.NODE_PAUSE,
        EventKind.NODE_RESUME,
        EventKind.NET_PARTITION,
        EventKind.NET_HEAL,
    )
)

DROP_MARKERS: dict[str, str] = {"loss": "x", "partition": "X", "down": "o"}
_STRIP_HEIGHT = 0.16


def _drop_marker(reason: str | None) -> str:
    return DROP_MARKERS.get(reason or "", "D")


def _draw_context(
    axes: Axes,
    events: Sequence[EventRecord],
    nodes: Sequence[str],
    lane_of: dict[str, int],
    end_ms: float,
) -> None:
    for span in role_spans(events, nodes, end_ms):
        y = lane_of[span.node]
        axes.broken_barh(
            [(span.start_ms, span.end_ms - span.start_ms)],
            (y + 0.05, _STRIP_HEIGHT),
            facecolors=ROLE_COLOURS[span.role],
            edgecolors="none",
            zorder=1,
        )
    for outage in outage_spans(events, nodes, end_ms):
        y = lane_of[outage.node]
        down = outage.outage is Outage.DOWN
        axes.broken_barh(
            [(outage.start_ms, outage.end_ms - outage.start_ms)],
            (y + 0.05, _STRIP_HEIGHT),
            facecolors=OUTAGE_COLOURS[Outage.DOWN] if down else "#dadaeb",
            edgecolors=OUTAGE_COLOURS[outage.outage],
            linewidths=0.0,
            hatch=None if down else "////",
            zorder=1,
        )
    for partition in partition_spans(events, end_ms):
        for node in nodes:
            if partition.cut_peers(node) and partition.in_minority(node, nodes):
                y = lane_of[node]
                axes.broken_barh(
                    [(partition.start_ms, partition.end_ms - partition.start_ms)],
                    (y - 0.45, 0.9),
                    facecolors=PARTITION_COLOUR,
                    edgecolors="none",
                    alpha=0.08,
                    zorder=0,
                )


def _arrow(
    arrow: MessageArrow, lane_of: dict[str, int], stub_ms: float
) -> tuple[tuple[float, float], tuple[float, float]]:
    y_src = lane_of.get(arrow.src, lane_of.get(CLIENT_LANE, 0))
    y_dst = lane_of.get(arrow.dst, lane_of.get(CLIENT_LANE, 0))
    start = (arrow.send_ms, float(y_src))
    if arrow.fate is MessageFate.DROPPED and arrow.dropped_at_sender:
        return start, (arrow.send_ms + stub_ms, y_src + 0.3 * (y_dst - y_src))
    return start, (arrow.end_ms, float(y_dst))


def plot_messages(
    events: Sequence[EventRecord],
    *,
    window_ms: tuple[float, float] | None = None,
    nodes: Sequence[str] | None = None,
    title: str | None = None,
    violations: Sequence[Violation] = (),
    window_reason: str | None = None,
) -> Figure:
    """Draw the space-time diagram of the messages sent in ``window_ms``.

    ``events`` are event records in log order (at least ``MESSAGES_EVENT_KINDS``;
    message records may be limited to the window, see
    ``harmonysim.viz.records.read_event_lines``). The default window is
    ``DEFAULT_WINDOW_MS`` around the first partition, else the first election.
    ``violations`` (``read_violations``) inside the window are marked
    (``harmonysim.viz.marks``); ``window_reason`` says in the title why this window
    is shown (``harmonysim.viz.render.message_window``).
    """
    lanes_nodes = tuple(nodes) if nodes is not None else event_nodes(events)
    end_ms = run_end_ms(events)
    window = (
        window_ms
        if window_ms is not None
        else default_message_window(events, (0.0, end_ms), DEFAULT_WINDOW_MS)
    )
    if window[1] <= window[0]:
        raise PlotInputError("the message window is empty")
    arrows = message_arrows(events, window)
    if len(arrows) > MAX_ARROWS:
        raise PlotInputError(
            f"the window {window[0]:g}-{window[1]:g} ms holds {len(arrows):,} message arrows, "
            f"more than the {MAX_ARROWS:,} a readable diagram can show: choose a shorter window"
        )
    sent = sum(
        1
        for record in events
        if record["kind"] == EventKind.MSG_SEND.value and window[0] <= record["t"] < window[1]
    )
    servers = set(lanes_nodes)
    has_clients = any(arrow.src not in servers or arrow.dst not in servers for arrow in arrows)
    lane_names = [*lanes_nodes, *([CLIENT_LANE] if has_clients else [])]
    lane_of = {name: index for index, name in enumerate(lane_names)}
    colours = message_colours(arrow.message_type for arrow in arrows)
    span_ms = window[1] - window[0]

    with plot_style():
        figure = new_figure(14.0, 1.9 + 0.8 * max(len(lane_names), 2))
        axes = figure.add_subplot()
        for y in range(len(lane_names)):
            axes.axhline(y, color="#9e9e9e", linewidth=0.8, zorder=0.5)
        _draw_context(axes, events, lanes_nodes, lane_of, end_ms)
        endings: dict[int, int] = {}
        drops: dict[str, tuple[list[float], list[float]]] = {}
        for arrow in arrows:
            k = endings.get(arrow.message_id, 0)
            endings[arrow.message_id] = k + 1
            start, end = _arrow(arrow, lane_of, span_ms * 0.012)
            colour = colours[arrow.message_type]
            if arrow.fate is MessageFate.DELIVERED:
                patch = FancyArrowPatch(
                    start,
                    end,
                    arrowstyle="-|>",
                    mutation_scale=7.0,
                    linewidth=0.8,
                    color=colour,
                    alpha=0.85,
                    shrinkA=0.0,
                    shrinkB=0.0,
                    zorder=3,
                    gid=f"msg-{arrow.message_id}-{k}",
                )
            else:
                patch = FancyArrowPatch(
                    start,
                    end,
                    arrowstyle="-",
                    linewidth=0.8,
                    linestyle="--",
                    color=colour,
                    alpha=0.85,
                    shrinkA=0.0,
                    shrinkB=0.0,
                    zorder=3,
                    gid=f"drop-{arrow.message_id}-{k}",
                )
                xs, ys = drops.setdefault(arrow.reason or "unknown", ([], []))
                xs.append(end[0])
                ys.append(end[1])
            axes.add_patch(patch)
        for reason, (xs, ys) in sorted(drops.items()):
            marker = _drop_marker(reason)
            hollow = marker == "o"
            axes.scatter(
                xs,
                ys,
                marker=marker,
                s=34.0,
                c="none" if hollow else PARTITION_COLOUR,
                edgecolors=PARTITION_COLOUR if hollow else None,
                linewidths=1.2,
                zorder=4,
                gid=f"drops-{reason}",
            )

        axes.set_yticks(range(len(lane_names)), lane_names)
        axes.set_ylim(len(lane_names) - 0.5, -0.6)
        axes.tick_params(axis="y", length=0)
        axes.spines["left"].set_visible(False)
        axes.set_xlim(*window)
        axes.grid(True, axis="x")
        format_time_axis(axes, window)
        if not arrows:
            axes.text(
                0.5,
                0.5,
                f"no messages were sent between {_ms(window[0])} and {_ms(window[1])} ms",
                transform=axes.transAxes,
                ha="center",
                va="center",
                fontsize=12,
                color="#555555",
                bbox={"facecolor": "white", "edgecolor": "#bbbbbb", "boxstyle": "round"},
                zorder=11,
                gid="no-messages",
            )

        handles: list[Patch | Line2D] = [
            Line2D([], [], color=colours[name], linewidth=1.6, label=name) for name in colours
        ]
        handles += [
            Line2D(
                [],
                [],
                linestyle="--",
                color="#7f7f7f",
                marker=_drop_marker(reason),
                markerfacecolor="none" if _drop_marker(reason) == "o" else PARTITION_COLOUR,
                markeredgecolor=PARTITION_COLOUR,
                label=f"dropped: {reason}",
            )
            for reason in sorted(drops)
        ]
        handles += [
            Patch(facecolor=ROLE_COLOURS[role], label=f"role: {ROLE_LABELS[role]}") for role in Role
        ]
        handles.append(Patch(facecolor=OUTAGE_COLOURS[Outage.DOWN], label="node down"))
        handles.append(Patch(facecolor=PARTITION_COLOUR, alpha=0.15, label="cut from majority"))
        handles += draw_violations([axes], violations, window)
        axes.legend(
            handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), borderaxespad=0.0
        )
        delivered = sum(1 for arrow in arrows if arrow.fate is MessageFate.DELIVERED)
        dropped = len(arrows) - delivered
        shown = f"Messages {_ms(window[0])}–{_ms(window[1])} ms"
        if window_reason:
            shown += f": {window_reason}"
        counts = (
            f"{sent:,} sent, {delivered:,} deliveries, {dropped:,} dropped"
            if arrows
            else "no messages in this window"
        )
        heading = f"{shown}\n{counts}"
        figure.suptitle(f"{heading} — {title}" if title else heading)
    return figure


def _ms(value: float) -> str:
    """A time for a title: thousands separated, at most one decimal, no trailing ``.0``."""
    return f"{value:,.1f}".removesuffix(".0")
