"""The B+ tree of every replica over time: depth, node count, splits and merges.

What is drawn (shapes from ``harmonysim.viz.derive.tree_samples``, which reads
``btree.split``, ``btree.merge`` and ``btree.root`` and the node's crashes and
restarts):
- Depth: one lane per server, a bar per stretch of constant depth, shaded darker
  as the tree deepens and labelled ``depth <n>``; nothing while the node is down.
  A triangle marks each restore (the tree rebuilt by a bulk load from a Raft
  snapshot, §7), where the shape is whatever the load built.
- Node count: a step line per server. Restore records that do not carry
  ``node_count`` leave the count unknown from there to the node's next restart, so
  the line stops (a note says so).
- Splits (solid) and merges (dashed, only when there are any): cumulative counts per
  server since the start of the run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from harmonysim.sim.events import EventKind, EventRecord
from harmonysim.viz.derive import TreeSample, event_nodes, run_end_ms, tree_samples
from harmonysim.viz.records import PlotInputError
from harmonysim.viz.style import format_time_axis, new_figure, node_colour, plot_style

__all__ = ["BTREE_EVENT_KINDS", "DEPTH_COLOURS", "plot_btree"]

BTREE_EVENT_KINDS: frozenset[str] = frozenset(
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

DEPTH_COLOURS: tuple[str, ...] = ("#deebf7", "#9ecae1", "#4292c6", "#2171b5", "#08519c", "#08306b")


def _depth_colour(depth: int) -> str:
    return DEPTH_COLOURS[min(depth, len(DEPTH_COLOURS)) - 1]


def _steps(samples: Sequence[TreeSample], value: str) -> tuple[list[float], list[float]]:
    times = [sample.t_ms for sample in samples]
    values: list[float] = []
    for sample in samples:
        raw = getattr(sample, value)
        values.append(math.nan if raw is None else float(raw))
    return times, values


def plot_btree(
    events: Sequence[EventRecord],
    *,
    nodes: Sequence[str] | None = None,
    window_ms: tuple[float, float] | None = None,
    title: str | None = None,
) -> Figure:
    """Draw depth, node count and splits of every replica's B+ tree.

    ``events`` are event records in log order (at least ``BTREE_EVENT_KINDS``).
    """
    tree_nodes = tuple(nodes) if nodes is not None else event_nodes(events)
    if not tree_nodes:
        raise PlotInputError("no server events to draw B+ trees from")
    end_ms = run_end_ms(events)
    window = window_ms if window_ms is not None else (0.0, end_ms)
    if window[1] <= window[0]:
        raise PlotInputError("the B+ tree window is empty (the run has no duration)")
    samples = tree_samples(events, tree_nodes, end_ms)
    any_merges = any(sample.merges for series in samples.values() for sample in series)
    unknown_counts = any(
        sample.node_count is None and sample.depth is not None
        for series in samples.values()
        for sample in series
    )

    with plot_style():
        figure = new_figure(14.0, 3.0 + 0.42 * len(tree_nodes) + 5.2)
        grid = figure.add_gridspec(3, 1, height_ratios=[0.42 * len(tree_nodes) + 0.3, 2.6, 2.6])
        depth_axes = figure.add_subplot(grid[0])
        count_axes = figure.add_subplot(grid[1], sharex=depth_axes)
        split_axes = figure.add_subplot(grid[2], sharex=depth_axes)
        span = window[1] - window[0]
        axes_width_pt = 14.0 * 72.0 * 0.88

        for lane, node in enumerate(tree_nodes):
            series = samples[node]
            stretches: list[tuple[float, float, int]] = []
            for sample, following in pairwise(series):
                if sample.depth is None or following.t_ms <= sample.t_ms:
                    continue
                if (
                    stretches
                    and stretches[-1][2] == sample.depth
                    and stretches[-1][1] == sample.t_ms
                ):
                    start, _, depth = stretches[-1]
                    stretches[-1] = (start, following.t_ms, depth)
                else:
                    stretches.append((sample.t_ms, following.t_ms, sample.depth))
            for depth in sorted({depth for _, _, depth in stretches}):
                depth_axes.broken_barh(
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
                    depth_axes.text(
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
                depth_axes.scatter(
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
            times, counts = _steps(series, "node_count")
            count_axes.step(
                times,
                counts,
                where="post",
                color=node_colour(lane),
                linewidth=1.1 + 0.45 * (len(tree_nodes) - 1 - lane),
                label=node,
                gid=f"nodes-{node}",
            )
            times, splits = _steps(series, "splits")
            split_axes.step(
                times,
                splits,
                where="post",
                color=node_colour(lane),
                linewidth=1.1 + 0.45 * (len(tree_nodes) - 1 - lane),
                label=f"{node} splits",
                gid=f"splits-{node}",
            )
            if any_merges:
                times, merges = _steps(series, "merges")
                split_axes.step(
                    times,
                    merges,
                    where="post",
                    color=node_colour(lane),
                    linestyle="--",
                    linewidth=1.2,
                    label=f"{node} merges",
                    gid=f"merges-{node}",
                )

        depth_axes.set_yticks(range(len(tree_nodes)), list(tree_nodes))
        depth_axes.set_ylim(len(tree_nodes) - 0.4, -0.65)
        depth_axes.tick_params(axis="y", length=0)
        depth_axes.tick_params(axis="x", labelbottom=False)
        depth_axes.spines["left"].set_visible(False)
        depth_axes.set_title("Tree depth (▼ restored from a snapshot)", loc="left")
        depth_axes.set_xlim(*window)

        count_axes.set_ylabel("tree nodes")
        count_axes.set_title("Node count", loc="left")
        count_axes.grid(True, axis="y")
        count_axes.tick_params(axis="x", labelbottom=False)
        count_axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), title="replica")
        count_axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        split_axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        if unknown_counts:
            count_axes.text(
                0.995,
                0.04,
                "a line stops where a restore rebuilt the tree without recording its size",
                transform=count_axes.transAxes,
                ha="right",
                va="bottom",
                fontsize=7.5,
                color="#555555",
            )

        split_axes.set_ylabel("splits" + (" / merges" if any_merges else "") + " (cumulative)")
        split_axes.set_title(
            "Splits" + (" (solid) and merges (dashed)" if any_merges else ""), loc="left"
        )
        split_axes.grid(True, axis="y")
        if any_merges:
            split_axes.legend(
                handles=[
                    Line2D([], [], color="#555555", label="splits"),
                    Line2D([], [], color="#555555", linestyle="--", label="merges"),
                ],
                loc="upper left",
                bbox_to_anchor=(1.0, 1.0),
            )
        format_time_axis(split_axes, window)
        split_axes.set_xlim(*window)
        heading = "B+ tree shape per replica"
        figure.suptitle(f"{heading} — {title}" if title else heading)
    return figure
