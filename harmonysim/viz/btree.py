"""The B+ tree of every replica over time, and one replica's tree (or a subtree) drawn whole.

``plot_btree`` draws, from top to bottom (shapes from ``harmonysim.viz.derive.
tree_samples`` for the depth, from ``harmonysim.viz.btree_shape`` for the rest):
- Depth: one lane per server, a bar per stretch of constant depth, shaded darker
  as the tree deepens and labelled ``depth <n>``; nothing while the node is down.
  A triangle marks each restore (the tree rebuilt by a bulk load from a Raft
  snapshot, §7), where the shape is whatever the load built.
- Nodes per level: one line per level (colour) and replica (line style); level 0
  are the leaves. The axis is logarithmic once a level holds 50 nodes or more
  (leaves outnumber the root by the order at every level), else linear from 0.
- Fill per level: entries over capacity, 0..100 %, with the 50 % floor every
  non-root node keeps.
- Structural changes per second, all replicas together: splits, merges and
  borrows stacked per time bucket.
- Hottest leaves of one replica (the first one up at the end of the window, or
  the one asked for): writes in the window per leaf, with its splits and its
  key range at the window's end; the ids are those ``plot_btree_structure`` and
  the dashboard show.
A run whose trees never left one leaf says so in words ("one leaf, no splits")
over axes with integer ranges from 0, rather than drawing empty axes.

``plot_btree_structure`` draws one replica's tree at the end of the window as an
icicle: a row per level (root on top), each node a box as wide as the leaves below
it, coloured by fill and labelled with its id and key range where it fits.
``subtree`` drills down: the same drawing rooted at that node id.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, PercentFormatter

from harmonysim.btree import NodeKind
from harmonysim.runlog.violations import Violation
from harmonysim.scenario.model import BTreeSettings
from harmonysim.sim.events import EventKind, EventRecord
from harmonysim.viz.btree_shape import (
    SHAPE_EVENT_KINDS,
    STRUCTURE_KINDS,
    LeafHeat,
    ReplicaShape,
    replay_shapes,
    structure_rates,
    subtree_boxes,
)
from harmonysim.viz.derive import event_nodes, run_end_ms, tree_samples
from harmonysim.viz.marks import draw_violations
from harmonysim.viz.records import PlotInputError
from harmonysim.viz.style import format_time_axis, new_figure, node_colour, plot_style

if TYPE_CHECKING:
    from harmonysim.scenario import Workload

__all__ = [
    "BTREE_EVENT_KINDS",
    "DEFAULT_ORDER",
    "DEPTH_COLOURS",
    "HOT_LEAVES",
    "LEVEL_COLOURS",
    "ONE_LEAF_TEXT",
    "plot_btree",
    "plot_btree_structure",
]

BTREE_EVENT_KINDS: frozenset[str] = (
    frozenset(
        kind.value
        for kind in (
            EventKind.RUN_END,
            EventKind.RAFT_RECOVER,
            EventKind.NODE_CRASH,
            EventKind.NODE_RESTART,
            EventKind.BTREE_SPLIT,
            EventKind.BTREE_MERGE,
            EventKind.BTREE_ROOT,
        )
    )
    | SHAPE_EVENT_KINDS
)

DEFAULT_ORDER: int = BTreeSettings().order
"""The scenario schema's default ``cluster.btree.order``."""

DEPTH_COLOURS: tuple[str, ...] = ("#deebf7", "#9ecae1", "#4292c6", "#2171b5", "#08519c", "#08306b")

LEVEL_COLOURS: tuple[str, ...] = (
    "#1b9e77",
    "#d95f02",
    "#7570b3",
    "#e7298a",
    "#66a61e",
    "#e6ab02",
    "#a6761d",
    "#666666",
)
"""Level 0 (leaves) first; deeper trees reuse the list."""

RATE_COLOURS: dict[str, str] = {
    EventKind.BTREE_SPLIT.value: "#2171b5",
    EventKind.BTREE_MERGE.value: "#cb181d",
    EventKind.BTREE_BORROW.value: "#fd8d3c",
}

REPLICA_STYLES: tuple[Any, ...] = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)))

HOT_LEAVES = 10
"""Leaves listed in the hottest-leaves panel."""

LOG_SCALE_FROM = 50
"""Nodes per level are drawn on a log axis once a level holds this many."""

ONE_LEAF_TEXT = "one leaf, no splits"

RATE_BUCKETS = 60


def _depth_colour(depth: int) -> str:
    return DEPTH_COLOURS[min(depth, len(DEPTH_COLOURS)) - 1]


def _level_colour(level: int) -> str:
    return LEVEL_COLOURS[level % len(LEVEL_COLOURS)]


def _level_name(level: int) -> str:
    return "level 0 (leaves)" if level == 0 else f"level {level}"


def _count(number: int, one: str, many: str | None = None) -> str:
    return f"{number} {one if number == 1 else (many or one + 's')}"


def _key_range(first: Any, last: Any) -> str:
    if first is None:
        return "empty"
    return str(first) if first == last else f"{first}–{last}"


def _pick_replica(shapes: dict[str, ReplicaShape], replica: str | None) -> ReplicaShape:
    if replica is not None:
        shape = shapes.get(replica)
        if shape is None:
            raise PlotInputError(f"unknown replica {replica!r} (choose from {', '.join(shapes)})")
        return shape
    for shape in shapes.values():
        if shape.tree is not None:
            return shape
    return next(iter(shapes.values()))


def _draw_depth(
    axes: Axes,
    events: Sequence[EventRecord],
    nodes: Sequence[str],
    end_ms: float,
    window: tuple[float, float],
) -> None:
    samples = tree_samples(events, nodes, end_ms)
    span = window[1] - window[0]
    axes_width_pt = 14.0 * 72.0 * 0.88
    for lane, node in enumerate(nodes):
        series = samples[node]
        stretches: list[tuple[float, float, int]] = []
        for sample, following in pairwise(series):
            if sample.depth is None or following.t_ms <= sample.t_ms:
                continue
            if stretches and stretches[-1][2] == sample.depth and stretches[-1][1] == sample.t_ms:
                start, _, depth = stretches[-1]
                stretches[-1] = (start, following.t_ms, depth)
            else:
                stretches.append((sample.t_ms, following.t_ms, sample.depth))
        for depth in sorted({depth for _, _, depth in stretches}):
            axes.broken_barh(
                [(start, end - start) for start, end, d in stretches if d == depth],
                (lane - 0.32, 0.64),
                facecolors=_depth_colour(depth),
                edgecolors="white",
                linewidths=0.6,
                gid=f"depth-{node}-{depth}",
            )
        for start, end, depth in stretches:
            visible = min(end, window[1]) - max(start, window[0])
            if visible / span * axes_width_pt >= 40.0:
                axes.text(
                    max(start, window[0]) + span * 0.003,
                    lane,
                    f"depth {depth}",
                    va="center",
                    fontsize=7.5,
                    color="white" if depth >= 3 else "#08306b",
                    clip_on=True,
                )
        restores = [sample.t_ms for sample in series if sample.restored]
        if restores:
            axes.scatter(
                restores,
                [lane - 0.45] * len(restores),
                marker="v",
                s=36.0,
                c=node_colour(lane),
                edgecolors="black",
                linewidths=0.5,
                zorder=4,
                gid=f"restore-{node}",
            )
    axes.set_yticks(range(len(nodes)), list(nodes))
    axes.set_ylim(len(nodes) - 0.4, -0.65)
    axes.tick_params(axis="y", length=0)
    axes.tick_params(axis="x", labelbottom=False)
    axes.spines["left"].set_visible(False)
    axes.set_title("Tree depth (▼ restored from a snapshot)", loc="left")
    axes.set_xlim(*window)


def _level_series(shape: ReplicaShape, level: int) -> tuple[list[float], list[float], list[float]]:
    """Times, node counts and fills of one level (NaN where the replica is down or shallower)."""
    times: list[float] = []
    counts: list[float] = []
    fills: list[float] = []
    for sample in shape.samples:
        times.append(sample.t_ms)
        levels = sample.levels
        if levels is None or level >= len(levels):
            counts.append(math.nan)
            fills.append(math.nan)
        else:
            counts.append(float(levels[level].nodes))
            fills.append(levels[level].fill)
    return times, counts, fills


def _note(axes: Axes, text: str) -> None:
    axes.text(
        0.5,
        0.5,
        text,
        transform=axes.transAxes,
        ha="center",
        va="center",
        fontsize=11,
        color="#333333",
        bbox={"boxstyle": "round,pad=0.5", "facecolor": "white", "edgecolor": "#bbbbbb"},
        gid="note",
    )


def plot_btree(
    events: Sequence[EventRecord],
    *,
    nodes: Sequence[str] | None = None,
    window_ms: tuple[float, float] | None = None,
    title: str | None = None,
    order: int = DEFAULT_ORDER,
    bugs: Iterable[str] = (),
    replica: str | None = None,
    workload: Workload | None = None,
    violations: Sequence[Violation] = (),
) -> Figure:
    """Draw depth, nodes and fill per level, structural changes and hot leaves.

    ``events`` are event records in log order (at least ``BTREE_EVENT_KINDS``);
    ``order``, ``bugs`` and ``workload`` are the run's (the trees are rebuilt with
    them; a load phase's records from the workload);
    ``replica`` picks the server whose hottest leaves are listed; ``violations``
    (``read_violations``) are marked on the time panels (``harmonysim.viz.marks``).
    """
    tree_nodes = tuple(nodes) if nodes is not None else event_nodes(events)
    if not tree_nodes:
        raise PlotInputError("no server events to draw B+ trees from")
    end_ms = run_end_ms(events)
    window = window_ms if window_ms is not None else (0.0, end_ms)
    if window[1] <= window[0]:
        raise PlotInputError("the B+ tree window is empty (the run has no duration)")
    shapes = replay_shapes(
        events, tree_nodes, order=order, bugs=bugs, window_ms=window, workload=workload
    )
    chosen = _pick_replica(shapes, replica)
    rates = structure_rates(events, window, RATE_BUCKETS, tree_nodes)
    changes = sum(rates.total(kind) for kind in STRUCTURE_KINDS)
    deepest = max(
        (
            len(sample.levels)
            for shape in shapes.values()
            for sample in shape.samples
            if sample.levels
        ),
        default=1,
    )
    most_nodes = max(
        (
            level.nodes
            for shape in shapes.values()
            for sample in shape.samples
            if sample.levels
            for level in sample.levels
        ),
        default=1,
    )
    one_leaf = deepest == 1 and most_nodes == 1 and changes == 0

    with plot_style():
        lanes_in = 0.42 * len(tree_nodes) + 0.3
        figure = new_figure(14.0, lanes_in + 2.8 * 4 + 1.2)
        grid = figure.add_gridspec(5, 1, height_ratios=[lanes_in, 2.8, 2.4, 2.2, 2.8])
        depth_axes = figure.add_subplot(grid[0])
        level_axes = figure.add_subplot(grid[1], sharex=depth_axes)
        fill_axes = figure.add_subplot(grid[2], sharex=depth_axes)
        rate_axes = figure.add_subplot(grid[3], sharex=depth_axes)
        hot_axes = figure.add_subplot(grid[4])

        _draw_depth(depth_axes, events, tree_nodes, end_ms, window)

        for lane, node in enumerate(tree_nodes):
            shape = shapes[node]
            style = REPLICA_STYLES[lane % len(REPLICA_STYLES)]
            for level in range(deepest):
                times, counts, fills = _level_series(shape, level)
                if all(math.isnan(count) for count in counts):
                    continue
                colour = _level_colour(level)
                level_axes.plot(
                    times,
                    counts,
                    color=colour,
                    linestyle=style,
                    linewidth=1.3,
                    drawstyle="steps-post",
                    gid=f"level-{node}-{level}",
                )
                fill_axes.plot(
                    times,
                    fills,
                    color=colour,
                    linestyle=style,
                    linewidth=1.3,
                    drawstyle="steps-post",
                    gid=f"fill-{node}-{level}",
                )

        level_axes.set_title("Nodes per level (level 0: the leaves)", loc="left")
        level_axes.set_ylabel("nodes")
        level_axes.grid(True, axis="y")
        level_axes.tick_params(axis="x", labelbottom=False)
        if most_nodes >= LOG_SCALE_FROM:
            level_axes.set_yscale("log")
            level_axes.set_ylim(0.8, most_nodes * 1.6)
        else:
            level_axes.set_ylim(0, max(2, most_nodes + 1))
            level_axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        level_handles: list[Any] = [
            Line2D([], [], color=_level_colour(level), linewidth=2.0, label=_level_name(level))
            for level in range(deepest)
        ]
        if len(tree_nodes) > 1:
            level_handles += [
                Line2D(
                    [],
                    [],
                    color="#555555",
                    linestyle=REPLICA_STYLES[lane % len(REPLICA_STYLES)],
                    label=node,
                )
                for lane, node in enumerate(tree_nodes)
            ]
        level_handles += draw_violations(
            [depth_axes, level_axes, fill_axes, rate_axes], violations, window
        )
        level_axes.legend(
            handles=level_handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8
        )

        fill_axes.set_title("Fill per level (entries / capacity)", loc="left")
        fill_axes.set_ylim(0.0, 1.05)
        fill_axes.yaxis.set_major_formatter(PercentFormatter(1.0))
        fill_axes.axhline(0.5, color="#999999", linestyle=(0, (2, 2)), linewidth=0.9, gid="floor")
        fill_axes.text(
            1.0,
            0.5,
            " non-root floor",
            transform=fill_axes.get_yaxis_transform(),
            va="center",
            fontsize=7.5,
            color="#777777",
        )
        fill_axes.grid(True, axis="y")
        fill_axes.tick_params(axis="x", labelbottom=False)

        width = rates.bucket_ms
        lefts = [rates.start_ms + width * i for i in range(RATE_BUCKETS)]
        bottoms = [0.0] * RATE_BUCKETS
        for kind in STRUCTURE_KINDS:
            counts_per_bucket = rates.counts[kind]
            if not any(counts_per_bucket):
                continue
            heights = [count * rates.per_second for count in counts_per_bucket]
            rate_axes.bar(
                lefts,
                heights,
                width=width,
                bottom=bottoms,
                align="edge",
                color=RATE_COLOURS[kind],
                linewidth=0,
                label=f"{kind.removeprefix('btree.')}s ({rates.total(kind)})",
                gid=f"rate-{kind}",
            )
            bottoms = [bottom + height for bottom, height in zip(bottoms, heights, strict=True)]
        rate_axes.set_title("Structural changes per second, all replicas", loc="left")
        rate_axes.set_ylabel("per second")
        rate_axes.grid(True, axis="y")
        rate_axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        if changes:
            rate_axes.set_ylim(0, max(bottoms) * 1.15)
            rate_axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        else:
            rate_axes.set_ylim(0, 1)
            _note(rate_axes, "no splits, merges or borrows in this window")
        format_time_axis(rate_axes, window)
        rate_axes.set_xlim(*window)

        _draw_hot_leaves(hot_axes, chosen)

        if one_leaf:
            items = max(
                (
                    sample.levels[0].entries
                    for shape in shapes.values()
                    for sample in shape.samples
                    if sample.levels
                ),
                default=0,
            )
            _note(
                level_axes,
                f"{ONE_LEAF_TEXT}: every tree stayed a single leaf "
                f"(at most {items} of the {order - 1} keys a leaf holds at order {order})",
            )
        heading = "B+ tree shape per replica"
        figure.suptitle(f"{heading} — {title}" if title else heading)
    return figure


def _draw_hot_leaves(axes: Axes, shape: ReplicaShape) -> None:
    leaves = shape.leaves[:HOT_LEAVES]
    axes.set_title(
        f"Hottest leaves of {shape.node}: writes in the window (splits, key range at its end)",
        loc="left",
    )
    axes.set_xlabel("writes")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if not leaves:
        axes.set_xlim(0, 1)
        axes.set_ylim(0, 1)
        axes.set_yticks([])
        _note(axes, f"no writes reached {shape.node}'s tree in this window")
        return
    labels = [f"#{leaf.leaf_id}" for leaf in leaves]
    positions = list(range(len(leaves)))
    writes = [leaf.writes for leaf in leaves]
    axes.barh(
        positions,
        writes,
        height=0.7,
        color=["#74a9cf" if leaf.exists else "#cccccc" for leaf in leaves],
        edgecolor="#2b8cbe",
        gid="hot-leaves",
    )
    axes.set_yticks(positions, labels)
    axes.set_ylim(max(len(leaves), HOT_LEAVES) - 0.5, -0.5)  # a lone leaf keeps a bar's height
    top = max(writes)
    axes.set_xlim(0, max(1, top) * 1.45)
    for position, leaf in zip(positions, leaves, strict=True):
        axes.text(
            leaf.writes + max(1, top) * 0.01,
            position,
            _leaf_label(leaf),
            va="center",
            fontsize=8,
            color="#333333",
        )
    axes.grid(True, axis="x")


def _leaf_label(leaf: LeafHeat) -> str:
    splits = f"{leaf.splits} split{'s' if leaf.splits != 1 else ''}"
    where = _key_range(leaf.first_key, leaf.last_key) if leaf.exists else "merged away"
    return f"{leaf.writes} writes · {splits} · {where}"


def plot_btree_structure(
    events: Sequence[EventRecord],
    *,
    nodes: Sequence[str] | None = None,
    window_ms: tuple[float, float] | None = None,
    title: str | None = None,
    order: int = DEFAULT_ORDER,
    bugs: Iterable[str] = (),
    replica: str | None = None,
    subtree: int | None = None,
    workload: Workload | None = None,
) -> Figure:
    """Draw one replica's tree at the end of the window, or the subtree under ``subtree``
    (``order``, ``bugs`` and ``workload`` as for :func:`plot_btree`)."""
    tree_nodes = tuple(nodes) if nodes is not None else event_nodes(events)
    if not tree_nodes:
        raise PlotInputError("no server events to draw B+ trees from")
    end_ms = run_end_ms(events)
    window = window_ms if window_ms is not None else (0.0, end_ms)
    if window[1] <= window[0]:
        raise PlotInputError("the B+ tree window is empty (the run has no duration)")
    shapes = replay_shapes(
        events, tree_nodes, order=order, bugs=bugs, window_ms=window, samples=1, workload=workload
    )
    shape = _pick_replica(shapes, replica)
    tree = shape.tree
    if tree is None:
        raise PlotInputError(f"{shape.node} is down at {window[1]:g} ms: it has no tree to draw")
    try:
        boxes = subtree_boxes(tree, subtree)
    except KeyError:
        raise PlotInputError(
            f"{shape.node}'s tree has no node #{subtree} at {window[1]:g} ms "
            f"(its root is #{tree.root_id}; ids are on the boxes of the whole tree)"
        ) from None
    top = boxes[0]
    leaves = top.width
    levels = sorted({box.level for box in boxes}, reverse=True)
    colours = colormaps["YlGnBu"]
    norm = Normalize(0.0, 1.0)

    with plot_style():
        figure = new_figure(14.0, 1.6 + 0.75 * len(levels))
        axes = figure.add_subplot()
        axes_width_pt = 14.0 * 72.0 * 0.85
        for row, level in enumerate(levels):
            row_boxes = [box for box in boxes if box.level == level]
            axes.broken_barh(
                [(box.start, box.width) for box in row_boxes],
                (row - 0.42, 0.84),
                facecolors=[colours(norm(0.15 + 0.85 * box.fill)) for box in row_boxes],
                edgecolors="white",
                linewidths=0.8 if leaves <= 200 else 0.2,
                gid=f"boxes-level-{level}",
            )
            for box in row_boxes:
                width_pt = box.width / leaves * axes_width_pt
                if width_pt < 34.0:
                    continue
                label = f"#{box.node_id}"
                if width_pt >= 90.0:
                    label += f"\n{_key_range(box.first_key, box.last_key)}"
                axes.text(
                    box.start + box.width / 2,
                    row,
                    label,
                    ha="center",
                    va="center",
                    fontsize=7 if width_pt < 90.0 else 7.5,
                    color="white" if box.fill > 0.6 else "#08306b",
                    clip_on=True,
                )
        axes.set_yticks(range(len(levels)), [_level_name(level) for level in levels])
        axes.set_ylim(len(levels) - 0.5, -0.5)
        axes.set_xlim(0, leaves)
        axes.set_xlabel("leaves, in key order")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.tick_params(axis="y", length=0)
        axes.spines["left"].set_visible(False)
        figure.colorbar(
            _fill_mappable(colours, norm),
            ax=axes,
            label="fill",
            format=PercentFormatter(1.0),
            fraction=0.02,
            pad=0.01,
        )
        what = (
            f"subtree of #{top.node_id} (level {top.level}, "
            f"{_key_range(top.first_key, top.last_key)})"
            if subtree is not None
            else f"whole tree, depth {tree.depth}"
        )
        leaf_count = sum(1 for box in boxes if box.kind is NodeKind.LEAF)
        axes.set_title(
            f"{shape.node} at {window[1] / 1000.0:g} s — {what}: {_count(len(boxes), 'node')}, "
            f"{_count(leaf_count, 'leaf', 'leaves')}, order {order}",
            loc="left",
        )
        if len(boxes) == 1 and top.kind is NodeKind.LEAF and subtree is None:
            _note(
                axes,
                f"{ONE_LEAF_TEXT}: the root is leaf #{top.node_id}, holding {top.entries} of "
                f"{order - 1} keys ({_key_range(top.first_key, top.last_key)})",
            )
        heading = "B+ tree structure"
        figure.suptitle(f"{heading} — {title}" if title else heading)
    return figure


def _fill_mappable(colours: Any, norm: Normalize) -> ScalarMappable:
    """The colour bar of the boxes: fill 0 starts at 15 % of the map, so empty is visible."""
    shifted = ListedColormap([colours(0.15 + 0.85 * i / 255) for i in range(256)], name="fill")
    return ScalarMappable(norm=norm, cmap=shifted)
