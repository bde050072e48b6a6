"""The cluster timeline: one lane per server showing its Raft role over time, with faults.

What is drawn (the rules of ``harmonysim.viz.derive`` decide every interval):
- One lane per server, its Raft role as coloured bars: follower, pre-candidate
  (thesis §9.6), candidate, leader (§5.2). Leader bars carry their term.
- Term changes (§5.1: terms only grow) as dotted vertical lines labelled ``T<n>``.
- A node down (``node.crash`` .. ``node.restart``) as a dark bar, a paused node
  (``node.pause`` .. ``node.resume``) as a purple hatch.
- A partition (``net.partition`` .. ``net.heal``) as a red band over all lanes, a bar
  in the ``network`` lane naming its shape, and per node: a dense red hatch where
  the node cannot reach a majority, a light one where only some of its links are
  cut, labelled with the peers it is cut from.
- Clogged links (``net.clog`` .. ``net.unclog``) as a blue dotted hatch on the
  lanes of both ends, and a bar in the ``network`` lane.
- A server outside the committed configuration (a spare not yet added, a removed
  server; thesis §4.1) as a pale dotted bar labelled "not a member".
- The other faults (``harmonysim.runlog.faultmarks``), in a thin strip on the top
  edge of the lane of the server they hit: a clock running at another rate (labelled with
  the rate) or strobing, a slow disk and a halted server as bars; a wall-clock jump
  (labelled with its size), a storage fault (labelled with its kind), damage
  detected, a repair done, a voter removal or addition asked for and a fault without
  effect as markers; a leadership transfer as an arrow from the leader's lane to
  its target's. Each kind has its legend entry when the run has one; markers carry
  no text where the previous one on the lane left no room, so hundreds stay legible.
- Beneath, each server's commit index (``raft.commit``; a gap while down).

Artists carry ``gid``s (``role-<node>-<role>``, ``down-<node>-<k>``,
``partition-<k>``, ``cut-<k>-<node>``, ``outside-<node>-<k>``, ``term-<n>``,
``commit-<node>``, ``fault-<kind>-<node>`` for the marks of one kind on one lane,
``fault-transfer-<k>``, ...), which name the shapes in SVG output and let tests find them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Patch
from matplotlib.transforms import blended_transform_factory

from harmonysim.raft import Role
from harmonysim.runlog.faultmarks import (
    MARKED_KINDS,
    SPAN_KINDS,
    FaultMark,
    MarkKind,
    fault_marks,
)
from harmonysim.runlog.violations import Violation
from harmonysim.sim.events import EventKind, EventRecord
from harmonysim.viz.derive import (
    ClogSpan,
    CommitSeries,
    Outage,
    PartitionSpan,
    clog_spans,
    commit_series,
    event_nodes,
    natural_key,
    outage_spans,
    outside_spans,
    partition_spans,
    role_spans,
    run_end_ms,
    term_changes,
)
from harmonysim.viz.marks import draw_violations
from harmonysim.viz.records import PlotInputError
from harmonysim.viz.style import (
    CLOG_COLOUR,
    MARK_STYLES,
    OUTAGE_COLOURS,
    PARTITION_BACKGROUND,
    PARTITION_COLOUR,
    ROLE_COLOURS,
    ROLE_LABELS,
    TERM_COLOUR,
    MarkStyle,
    format_time_axis,
    new_figure,
    node_colour,
    plot_style,
)

__all__ = ["TIMELINE_KINDS", "plot_timeline"]

TIMELINE_KINDS: frozenset[str] = (
    frozenset(
        kind.value
        for kind in (
            EventKind.RUN_END,
            EventKind.RAFT_ROLE,
            EventKind.RAFT_TERM,
            EventKind.RAFT_COMMIT,
            EventKind.RAFT_RECOVER,
            EventKind.NODE_CRASH,
            EventKind.NODE_RESTART,
            EventKind.NODE_PAUSE,
            EventKind.NODE_RESUME,
            EventKind.NET_PARTITION,
            EventKind.NET_HEAL,
            EventKind.NET_CLOG,
            EventKind.NET_UNCLOG,
            EventKind.RUN_START,
            EventKind.MEMBERSHIP,
        )
    )
    | MARKED_KINDS
)

OUTSIDE_COLOUR = "#f7f7f7"
OUTSIDE_EDGE = "#9e9e9e"

BAR_HEIGHT = 0.62
"""Height of a role bar, in lanes."""

_LABEL_MIN_FRACTION = 0.035
"""A bar gets a text label only when at least this fraction of the window wide."""


def _bars(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(start, end - start) for start, end in spans]


def _overlaps(start_ms: float, end_ms: float, window_ms: tuple[float, float]) -> bool:
    return start_ms < window_ms[1] and end_ms > window_ms[0]


def _label(
    axes: Axes,
    start_ms: float,
    end_ms: float,
    y: float,
    texts: Sequence[str],
    window_ms: tuple[float, float],
    *,
    colour: str = "black",
    align: str = "left",
    fontsize: float = 7.5,
) -> tuple[float, float] | None:
    """Put the first of ``texts`` that fits inside the visible part of a bar, if any does;
    returns the part of the bar it took (None: no text fits).

    Widths are estimated from the character count (7.5 pt glyphs are about 4.3 pt
    wide on average), against the axes' share of the figure width.
    """
    span = window_ms[1] - window_ms[0]
    visible_start = max(start_ms, window_ms[0])
    visible_end = min(end_ms, window_ms[1])
    figure = axes.get_figure(root=True)
    width_in = figure.get_figwidth() if figure is not None else 14.0
    axes_width_pt = axes.get_position().width * width_in * 72.0
    available_pt = (visible_end - visible_start) / span * axes_width_pt
    for text in texts:
        text_pt = len(text) * 4.3 * fontsize / 7.5 + 4.0
        if text_pt <= available_pt:
            pad = span * 0.003
            x = visible_start + pad if align == "left" else visible_end - pad
            axes.text(
                x,
                y,
                text,
                ha=align,
                va="center",
                fontsize=fontsize,
                color=colour,
                clip_on=True,
                zorder=9 if fontsize < 7.5 else 6,
            )
            width = text_pt / axes_width_pt * span
            return (x, x + width) if align == "left" else (x - width, x)
    return None


def _draw_partitions(
    axes: Axes,
    partitions: Sequence[PartitionSpan],
    nodes: Sequence[str],
    window_ms: tuple[float, float],
) -> None:
    lane_of = {node: index + 1 for index, node in enumerate(nodes)}
    for index, partition in enumerate(partitions):
        isolates_one = any(
            len([peer for peer in partition.cut_peers(node) if peer in lane_of]) == len(nodes) - 1
            for node in nodes
        )
        axes.axvspan(
            partition.start_ms,
            partition.end_ms,
            facecolor=PARTITION_BACKGROUND,
            edgecolor="none",
            alpha=0.7,
            zorder=0,
            gid=f"partition-{index}",
        )
        axes.broken_barh(
            [(partition.start_ms, partition.end_ms - partition.start_ms)],
            (-BAR_HEIGHT / 2, BAR_HEIGHT),
            facecolors=PARTITION_COLOUR,
            edgecolors="none",
            alpha=0.85,
            zorder=2,
            gid=f"partition-bar-{index}",
        )
        _label(
            axes,
            partition.start_ms,
            partition.end_ms,
            0.0,
            (f"partition: {partition.label}", partition.label, partition.shape),
            window_ms,
            colour="white",
        )
        for node in nodes:
            peers = [peer for peer in partition.cut_peers(node) if peer in lane_of]
            if not peers:
                continue
            minority = partition.in_minority(node, nodes)
            y = lane_of[node]
            axes.broken_barh(
                [(partition.start_ms, partition.end_ms - partition.start_ms)],
                (y - BAR_HEIGHT / 2, BAR_HEIGHT),
                facecolors="none",
                edgecolors=PARTITION_COLOUR,
                linewidths=0.0,
                hatch="xxx" if minority else "//",
                alpha=0.9 if minority else 0.55,
                zorder=4,
                gid=f"cut-{index}-{node}",
            )
            if len(peers) == len(nodes) - 1:
                texts: tuple[str, ...] = ("isolated",)
            elif isolates_one:
                continue  # the isolated node's label tells the story
            elif minority:
                texts = ("minority: cut from " + ",".join(peers), "minority")
            else:
                texts = ("cut from " + ",".join(peers), "✕ " + ",".join(peers))
            _label(
                axes,
                partition.start_ms,
                partition.end_ms,
                y + BAR_HEIGHT / 2 + 0.12,
                texts,
                window_ms,
                colour=PARTITION_COLOUR,
                align="right",
            )


def _draw_clogs(
    axes: Axes, clogs: Sequence[ClogSpan], nodes: Sequence[str], window_ms: tuple[float, float]
) -> None:
    lane_of = {node: index + 1 for index, node in enumerate(nodes)}
    # One network bar per distinct interval, naming every link clogged over it.
    groups: dict[tuple[float, float], list[ClogSpan]] = {}
    for clog in clogs:
        groups.setdefault((clog.start_ms, clog.end_ms), []).append(clog)
    for index, ((start_ms, end_ms), links) in enumerate(groups.items()):
        axes.broken_barh(
            [(start_ms, end_ms - start_ms)],
            (-BAR_HEIGHT / 2, BAR_HEIGHT),
            facecolors=CLOG_COLOUR,
            edgecolors="none",
            alpha=0.8,
            zorder=2,
            gid=f"clog-bar-{index}",
        )
        pairs = {(link.src, link.dst) for link in links}
        names: list[str] = []
        for src, dst in sorted(
            pairs, key=lambda pair: (natural_key(pair[0]), natural_key(pair[1]))
        ):
            if (dst, src) in pairs:
                if natural_key(src) < natural_key(dst):
                    names.append(f"{src}↔{dst}")
            else:
                names.append(f"{src}→{dst}")
        _label(
            axes,
            start_ms,
            end_ms,
            0.0,
            ("clog " + ", ".join(names), ", ".join(names), "clog"),
            window_ms,
            colour="white",
        )
        touched = sorted(
            {link.src for link in links} | {link.dst for link in links}, key=natural_key
        )
        for node in touched:
            if node not in lane_of:
                continue
            y = lane_of[node]
            axes.broken_barh(
                [(start_ms, end_ms - start_ms)],
                (y - BAR_HEIGHT / 2, BAR_HEIGHT),
                facecolors="none",
                edgecolors=CLOG_COLOUR,
                linewidths=0.0,
                hatch="...",
                zorder=4,
                gid=f"clog-{index}-{node}",
            )


STRIP_HEIGHT = 0.15
"""Height of the fault strip on the top edge of a lane's bar, in lanes."""


def mark_gid(kind: MarkKind, node: str | None) -> str:
    """The gid of the artist that draws the marks of ``kind`` on ``node``'s lane."""
    return f"fault-{kind.name.lower().replace('_', '-')}-{node or 'network'}"


def _strip_y(lane: int, kind: MarkKind | None = None) -> float:
    """The centre of the strip a mark of ``kind`` is drawn in on ``lane``: the bar's top
    edge (clear of the partition labels under the lane above; the y axis points down),
    or for a disk that lasts (slow, halted) the inside of the bar's bottom edge, so a
    clock and a disk fault at once are both seen."""
    if kind in _BOTTOM_KINDS:
        return lane + BAR_HEIGHT / 2 - STRIP_HEIGHT / 2
    return lane - BAR_HEIGHT / 2


_BOTTOM_KINDS = frozenset({MarkKind.DISK_SLOW, MarkKind.HALTED})


def _text_width_ms(axes: Axes, text: str, fontsize: float, window_ms: tuple[float, float]) -> float:
    """The width of ``text`` in data units (ms), estimated as ``_label`` does."""
    figure = axes.get_figure(root=True)
    width_in = figure.get_figwidth() if figure is not None else 14.0
    axes_width_pt = axes.get_position().width * width_in * 72.0
    text_pt = len(text) * 4.3 * fontsize / 7.5 + 4.0
    return text_pt / axes_width_pt * (window_ms[1] - window_ms[0])


def _free(taken: list[tuple[float, float]], extent: tuple[float, float]) -> bool:
    return all(extent[1] <= low or extent[0] >= high for low, high in taken)


def _draw_fault_marks(
    axes: Axes, marks: Sequence[FaultMark], nodes: Sequence[str], window_ms: tuple[float, float]
) -> list[MarkKind]:
    """Draw ``marks`` (module rules); returns the kinds drawn, for the legend.

    Bars first, each labelled inside when its text fits; then markers, each with its
    text beside it when that text overlaps no other text of its strip."""
    lane_of = {node: index + 1 for index, node in enumerate(nodes)}
    shown = [
        mark
        for mark in marks
        if (mark.node is None or mark.node in lane_of)
        and (
            _overlaps(mark.start_ms, mark.end_ms, window_ms)
            or window_ms[0] <= mark.start_ms <= window_ms[1]
        )
    ]
    order = list(MarkKind)
    groups: dict[tuple[MarkKind, str | None], list[FaultMark]] = {}
    transfers: list[FaultMark] = []
    for mark in shown:
        if mark.kind is MarkKind.TRANSFER and mark.peer in lane_of and mark.node in lane_of:
            transfers.append(mark)
        else:
            groups.setdefault((mark.kind, mark.node), []).append(mark)
    ordered = sorted(
        groups.items(),
        key=lambda item: (
            item[0][0] not in SPAN_KINDS,
            order.index(item[0][0]),
            lane_of.get(item[0][1] or "", 0),
        ),
    )
    taken: dict[float, list[tuple[float, float]]] = {}  # strip centre -> text extents
    for (kind, node), group in ordered:
        style = MARK_STYLES[kind]
        y = _strip_y(lane_of[node] if node is not None else 0, kind)
        texts = taken.setdefault(y, [])
        if kind in SPAN_KINDS:
            axes.broken_barh(
                [(mark.start_ms, max(mark.end_ms - mark.start_ms, 0.0)) for mark in group],
                (y - STRIP_HEIGHT / 2, STRIP_HEIGHT),
                facecolors=style.colour,
                edgecolors="white" if style.hatch else "none",
                linewidths=0.0,
                hatch=style.hatch,
                alpha=0.9,
                zorder=7,
                gid=mark_gid(kind, node),
            )
            for mark in group:
                extent = _label(
                    axes,
                    mark.start_ms,
                    mark.end_ms,
                    y,
                    (mark.short,),
                    window_ms,
                    colour=style.text_colour,
                    fontsize=6.5,
                )
                if extent is not None:
                    texts.append(extent)
            continue
        axes.scatter(
            [mark.start_ms for mark in group],
            [y] * len(group),
            s=style.size,
            marker=style.marker,
            c=style.colour if style.filled else "none",
            edgecolors=style.colour,
            linewidths=0.9,
            zorder=8,
            clip_on=True,
            gid=mark_gid(kind, node),
        )
        if style.text:
            for mark in group:
                _place_text(axes, mark, y, style, window_ms, texts)
    style = MARK_STYLES[MarkKind.TRANSFER]
    for index, mark in enumerate(transfers):
        assert mark.node is not None and mark.peer is not None
        start, end = lane_of[mark.node], lane_of[mark.peer]
        toward = 1 if end > start else -1
        axes.add_patch(
            FancyArrowPatch(
                (mark.start_ms, start - toward * BAR_HEIGHT / 2),
                (mark.start_ms, end - toward * BAR_HEIGHT / 2),
                arrowstyle="-|>",
                mutation_scale=9,
                color=style.colour,
                linewidth=1.4,
                zorder=8,
                gid=f"fault-transfer-{index}",
            )
        )
        y = _strip_y(start, MarkKind.TRANSFER)
        axes.scatter(
            [mark.start_ms], [y], s=style.size, marker=style.marker, c=style.colour, zorder=8
        )
        _place_text(axes, mark, y, style, window_ms, taken.setdefault(y, []))
    return [kind for kind in order if any(mark.kind is kind for mark in shown)]


def _mark_text(axes: Axes, x: float, y: float, text: str, style: MarkStyle) -> None:
    axes.text(
        x, y, text, ha="left", va="center", fontsize=6.5, color=style.colour, clip_on=True, zorder=8
    )


def _place_text(
    axes: Axes,
    mark: FaultMark,
    y: float,
    style: MarkStyle,
    window_ms: tuple[float, float],
    taken: list[tuple[float, float]],
) -> None:
    """Write a marker's short text beside it when the window shows it and the text
    overlaps no text already in its strip (``taken``, which it joins)."""
    if not window_ms[0] <= mark.start_ms <= window_ms[1]:
        return
    x = mark.start_ms + (window_ms[1] - window_ms[0]) * 0.005
    extent = (mark.start_ms, x + _text_width_ms(axes, mark.short, 6.5, window_ms))
    if _free(taken, extent):
        _mark_text(axes, x, y, mark.short, style)
        taken.append(extent)


def _mark_handle(kind: MarkKind) -> Patch | Line2D:
    style = MARK_STYLES[kind]
    if kind in SPAN_KINDS:
        return Patch(
            facecolor=style.colour,
            edgecolor="white" if style.hatch else style.colour,
            hatch=style.hatch,
            linewidth=0.0,
            label=kind.value,
        )
    if kind is MarkKind.TRANSFER:
        return Line2D(
            [], [], color=style.colour, marker=style.marker, linewidth=1.4, label=kind.value
        )
    return Line2D(
        [],
        [],
        linestyle="none",
        marker=style.marker,
        markersize=math.sqrt(style.size),
        markerfacecolor=style.colour if style.filled else "none",
        markeredgecolor=style.colour,
        label=kind.value,
    )


def _draw_terms(axes: Axes, events: Sequence[EventRecord], window_ms: tuple[float, float]) -> None:
    span = window_ms[1] - window_ms[0]
    on_top = blended_transform_factory(axes.transData, axes.transAxes)
    last_label_ms = -math.inf
    for change in term_changes(events):
        if change.term <= 0:
            continue
        axes.axvline(
            change.t_ms,
            color=TERM_COLOUR,
            linestyle=":",
            linewidth=0.8,
            alpha=0.7,
            zorder=5,
            gid=f"term-{change.term}",
        )
        inside = window_ms[0] <= change.t_ms <= window_ms[1]
        if inside and change.t_ms - last_label_ms >= span * 0.018:
            axes.text(
                change.t_ms,
                1.005,
                f"T{change.term}",
                transform=on_top,
                ha="center",
                va="bottom",
                fontsize=7,
                color=TERM_COLOUR,
            )
            last_label_ms = change.t_ms


def _commit_limits(
    commits: Sequence[CommitSeries], window_ms: tuple[float, float]
) -> tuple[float, float]:
    """The commit-index range to show: what is in force at some point of the window."""
    shown: list[int] = []
    for series in commits:
        in_force: int | None = None
        for t_ms, index in zip(series.times_ms, series.indexes, strict=True):
            if t_ms <= window_ms[0]:
                in_force = index
            elif t_ms <= window_ms[1] and index is not None:
                shown.append(index)
        if in_force is not None:
            shown.append(in_force)
    if not shown:
        return (0.0, 1.0)
    low, high = min(shown), max(shown)
    pad = max(1.0, 0.06 * (high - low))
    return (max(0.0, low - pad), high + pad)


def plot_timeline(
    events: Sequence[EventRecord],
    *,
    nodes: Sequence[str] | None = None,
    window_ms: tuple[float, float] | None = None,
    title: str | None = None,
    violations: Sequence[Violation] = (),
) -> Figure:
    """Draw the role/fault lanes and the commit index of a run's events.

    ``events`` are event records in log order (at least the kinds in
    ``TIMELINE_KINDS``); ``nodes`` defaults to the servers seen in them;
    ``window_ms`` to the whole run; ``violations`` (``read_violations``) are
    marked on both panels (``harmonysim.viz.marks``).
    """
    lanes_nodes = tuple(nodes) if nodes is not None else event_nodes(events)
    if not lanes_nodes:
        raise PlotInputError("no server events to draw a timeline from")
    end_ms = run_end_ms(events)
    window = window_ms if window_ms is not None else (0.0, end_ms)
    if window[1] <= window[0]:
        raise PlotInputError("the timeline window is empty (the run has no duration)")
    roles = role_spans(events, lanes_nodes, end_ms)
    outages = outage_spans(events, lanes_nodes, end_ms)
    partitions = partition_spans(events, end_ms)
    clogs = clog_spans(events, end_ms)
    outside = outside_spans(events, lanes_nodes, end_ms)
    commits = commit_series(events, lanes_nodes, end_ms)
    marks = fault_marks(events, end_ms)

    with plot_style():
        lane_count = len(lanes_nodes) + 1
        figure = new_figure(14.0, 2.2 + 0.5 * lane_count + 2.6)
        grid = figure.add_gridspec(2, 1, height_ratios=[0.5 * lane_count, 2.4])
        lanes = figure.add_subplot(grid[0])
        commit_axes = figure.add_subplot(grid[1], sharex=lanes)

        _draw_partitions(lanes, partitions, lanes_nodes, window)
        _draw_clogs(lanes, clogs, lanes_nodes, window)
        for lane, node in enumerate(lanes_nodes, start=1):
            node_roles = [span for span in roles if span.node == node]
            for role in Role:
                bars = [(s.start_ms, s.end_ms) for s in node_roles if s.role is role]
                if bars:
                    lanes.broken_barh(
                        _bars(bars),
                        (lane - BAR_HEIGHT / 2, BAR_HEIGHT),
                        facecolors=ROLE_COLOURS[role],
                        edgecolors="none",
                        zorder=3,
                        gid=f"role-{node}-{role.value}",
                    )
            for span in node_roles:
                if span.role is Role.LEADER:
                    _label(
                        lanes,
                        span.start_ms,
                        span.end_ms,
                        lane,
                        (f"leader T{span.term}", f"T{span.term}"),
                        window,
                        colour="white",
                    )
        outage_index: dict[str, int] = {}
        for outage in outages:
            lane = lanes_nodes.index(outage.node) + 1
            index = outage_index.get(outage.node, 0)
            outage_index[outage.node] = index + 1
            if outage.outage is Outage.DOWN:
                lanes.broken_barh(
                    [(outage.start_ms, outage.end_ms - outage.start_ms)],
                    (lane - BAR_HEIGHT / 2, BAR_HEIGHT),
                    facecolors=OUTAGE_COLOURS[Outage.DOWN],
                    edgecolors="none",
                    zorder=5,
                    gid=f"down-{outage.node}-{index}",
                )
                _label(
                    lanes,
                    outage.start_ms,
                    outage.end_ms,
                    lane,
                    ("down (crashed)", "down"),
                    window,
                    colour="white",
                )
            else:
                lanes.broken_barh(
                    [(outage.start_ms, outage.end_ms - outage.start_ms)],
                    (lane - BAR_HEIGHT / 2, BAR_HEIGHT),
                    facecolors="#dadaeb",
                    edgecolors=OUTAGE_COLOURS[Outage.PAUSED],
                    linewidths=0.0,
                    hatch="////",
                    zorder=5,
                    gid=f"paused-{outage.node}-{index}",
                )
                _label(
                    lanes,
                    outage.start_ms,
                    outage.end_ms,
                    lane,
                    ("paused",),
                    window,
                    colour=OUTAGE_COLOURS[Outage.PAUSED],
                )
        outside_index: dict[str, int] = {}
        for away in outside:
            # Outside the configuration (thesis §4.1): a spare not yet added, or removed.
            lane = lanes_nodes.index(away.node) + 1
            index = outside_index.get(away.node, 0)
            outside_index[away.node] = index + 1
            lanes.broken_barh(
                [(away.start_ms, away.end_ms - away.start_ms)],
                (lane - BAR_HEIGHT / 2, BAR_HEIGHT),
                facecolors=OUTSIDE_COLOUR,
                edgecolors=OUTSIDE_EDGE,
                linewidths=0.0,
                hatch="..",
                alpha=0.85,
                zorder=4,
                gid=f"outside-{away.node}-{index}",
            )
            _label(
                lanes,
                away.start_ms,
                away.end_ms,
                lane,
                ("not a member", "outside"),
                window,
                colour="#555555",
            )
        marked = _draw_fault_marks(lanes, marks, lanes_nodes, window)
        _draw_terms(lanes, events, window)

        lanes.set_yticks(range(lane_count), ["network", *lanes_nodes])
        lanes.set_ylim(lane_count - 0.45, -0.55)
        lanes.tick_params(axis="y", length=0)
        lanes.spines["left"].set_visible(False)
        for lane in range(lane_count):
            lanes.axhline(lane, color="#f0f0f0", linewidth=0.6, zorder=-1)
        lanes.tick_params(axis="x", labelbottom=False)
        lanes.set_xlim(*window)

        for index, series in enumerate(commits):
            values = [math.nan if value is None else float(value) for value in series.indexes]
            commit_axes.step(
                series.times_ms,
                values,
                where="post",
                color=node_colour(index),
                # Replicas mostly agree, so lines coincide: earlier nodes are drawn
                # wider, and each stays visible beside the ones drawn over it.
                linewidth=1.1 + 0.45 * (len(commits) - 1 - index),
                label=series.node,
                gid=f"commit-{series.node}",
            )
        for partition in partitions:
            if _overlaps(partition.start_ms, partition.end_ms, window):
                commit_axes.axvspan(
                    partition.start_ms,
                    partition.end_ms,
                    facecolor=PARTITION_BACKGROUND,
                    edgecolor="none",
                    alpha=0.7,
                    zorder=0,
                )
        commit_axes.set_ylabel("commit index")
        commit_axes.grid(True, axis="y")
        commit_axes.legend(loc="upper left", ncols=len(lanes_nodes), title=None)
        commit_axes.set_ylim(*_commit_limits(commits, window))
        format_time_axis(commit_axes, window)
        commit_axes.set_xlim(*window)

        handles: list[Patch | Line2D] = [
            Patch(facecolor=ROLE_COLOURS[role], label=ROLE_LABELS[role]) for role in Role
        ]
        handles += [
            Patch(facecolor=OUTAGE_COLOURS[Outage.DOWN], label="down (crash → restart)"),
            Patch(
                facecolor="#dadaeb",
                edgecolor=OUTAGE_COLOURS[Outage.PAUSED],
                hatch="////",
                linewidth=0.0,
                label="paused",
            ),
            Patch(
                facecolor=PARTITION_BACKGROUND,
                edgecolor=PARTITION_COLOUR,
                hatch="xxx",
                linewidth=0.0,
                label="partition: cut from majority",
            ),
            Patch(
                facecolor=PARTITION_BACKGROUND,
                edgecolor=PARTITION_COLOUR,
                hatch="//",
                linewidth=0.0,
                label="partition: some links cut",
            ),
            Patch(
                facecolor="white",
                edgecolor=CLOG_COLOUR,
                hatch="...",
                linewidth=0.0,
                label="clogged link",
            ),
            Line2D([], [], color=TERM_COLOUR, linestyle=":", label="new term"),
        ]
        handles += draw_violations([lanes, commit_axes], violations, window)
        if outside:
            handles.append(
                Patch(
                    facecolor=OUTSIDE_COLOUR,
                    edgecolor=OUTSIDE_EDGE,
                    hatch="..",
                    linewidth=0.0,
                    label="outside the configuration",
                )
            )
        handles += [_mark_handle(kind) for kind in MarkKind if kind in marked]
        figure.suptitle(f"Raft timeline — {title}" if title else "Raft timeline")
        rows = math.ceil(len(handles) / 8)
        columns = math.ceil(len(handles) / rows)
        figure.legend(handles=handles, loc="outside lower center", ncols=columns)
    return figure
