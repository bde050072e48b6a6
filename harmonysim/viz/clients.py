"""What clients saw: latency, throughput, outcomes, and a Jepsen-style operation timeline.

What is drawn, from the history (``history.jsonl``; operations paired by
``harmonysim.viz.derive.operations``):
- Latency over time: one point per operation at its invocation time, its latency
  on a log scale; colour by operation (get, put, cas, scan), marker by outcome
  (ok, fail: certainly not applied, info: unknown -- timed out or pending at the end).
- Throughput over time: completions per second in fixed bins, one line per outcome.
- Per-process timeline (Jepsen style): one row per client process, a bar from
  invocation to completion coloured by outcome.
- Latency CDF per operation, over the operations that completed ok, with their
  median and 99th percentile (nearest rank).
- Outcome counts per operation.
The latency, throughput and timeline panels cover the window; the CDF and counts
use the operations invoked in it. When event records are given, partitions and
node outages shade the time panels, so latency spikes can be read against faults.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import blended_transform_factory

from harmonysim.runlog.violations import Violation
from harmonysim.sim.events import EventKind, EventRecord
from harmonysim.viz.derive import (
    OperationOutcome,
    OperationSpan,
    Outage,
    event_nodes,
    operations,
    outage_spans,
    partition_spans,
    run_end_ms,
)
from harmonysim.viz.marks import draw_violations
from harmonysim.viz.records import HistoryRow, PlotInputError
from harmonysim.viz.style import (
    OUTCOME_COLOURS,
    PARTITION_BACKGROUND,
    format_time_axis,
    new_figure,
    plot_style,
)

__all__ = [
    "CLIENTS_EVENT_KINDS",
    "OPERATION_COLOURS",
    "nearest_rank",
    "plot_clients",
    "throughput_bin_ms",
]

CLIENTS_EVENT_KINDS: frozenset[str] = frozenset(
    kind.value
    for kind in (
        EventKind.RUN_END,
        EventKind.NODE_CRASH,
        EventKind.NODE_RESTART,
        EventKind.NODE_PAUSE,
        EventKind.NODE_RESUME,
        EventKind.NET_PARTITION,
        EventKind.NET_HEAL,
        EventKind.RAFT_RECOVER,
    )
)

OPERATION_COLOURS: dict[str, str] = {
    "get": "#3182bd",
    "put": "#e6550d",
    "cas": "#756bb1",
    "scan": "#31a354",
}
_SPARE_OPERATION_COLOURS = ("#8c6d31", "#e377c2", "#17becf", "#7f7f7f")
OUTCOME_MARKERS: dict[OperationOutcome, str] = {
    OperationOutcome.OK: "o",
    OperationOutcome.FAIL: "x",
    OperationOutcome.INFO: "^",
}
_NICE_BINS_MS = (10.0, 20.0, 50.0, 100.0, 200.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0)


def nearest_rank(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (``fraction`` in (0, 1])."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def throughput_bin_ms(span_ms: float, target_bins: int = 120) -> float:
    """The smallest round bin width that cuts ``span_ms`` into at most ``target_bins``."""
    for width in _NICE_BINS_MS:
        if span_ms / width <= target_bins:
            return width
    return _NICE_BINS_MS[-1]


def _operation_colours(names: Sequence[str]) -> dict[str, str]:
    colours: dict[str, str] = {}
    spare = 0
    for name in names:
        if name in OPERATION_COLOURS:
            colours[name] = OPERATION_COLOURS[name]
        else:
            colours[name] = _SPARE_OPERATION_COLOURS[spare % len(_SPARE_OPERATION_COLOURS)]
            spare += 1
    return colours


def _operation_order(ops: Sequence[OperationSpan]) -> list[str]:
    known = [name for name in OPERATION_COLOURS if any(op.f == name for op in ops)]
    others = sorted({op.f for op in ops} - set(OPERATION_COLOURS))
    return known + others


def _shade_faults(
    panels: Sequence[Axes],
    events: Sequence[EventRecord],
    window_ms: tuple[float, float],
    label_axes: Axes,
) -> None:
    end_ms = run_end_ms(events, window_ms[1])
    nodes = event_nodes(events)
    on_top = blended_transform_factory(label_axes.transData, label_axes.transAxes)
    spans: list[tuple[float, float, str, str]] = [
        (p.start_ms, p.end_ms, f"partition {p.label}", PARTITION_BACKGROUND)
        for p in partition_spans(events, end_ms)
    ]
    spans += [
        (
            o.start_ms,
            o.end_ms,
            f"{o.node} {o.outage.value}",
            "#d9d9d9" if o.outage is Outage.DOWN else "#dadaeb",
        )
        for o in outage_spans(events, nodes, end_ms)
    ]
    spans.sort(key=lambda span: (span[0], span[2]))
    for index, (start_ms, end_span_ms, text, colour) in enumerate(spans):
        if start_ms >= window_ms[1] or end_span_ms <= window_ms[0]:
            continue
        for panel in panels:
            panel.axvspan(
                start_ms, end_span_ms, facecolor=colour, edgecolor="none", alpha=0.6, zorder=0
            )
        label_axes.text(
            max(start_ms, window_ms[0]),
            1.0 - 0.06 * (index % 3),
            text,
            transform=on_top,
            fontsize=7,
            va="top",
            ha="left",
            color="#444444",
            clip_on=True,
        )


def plot_clients(
    history: Sequence[HistoryRow],
    *,
    events: Sequence[EventRecord] | None = None,
    window_ms: tuple[float, float] | None = None,
    title: str | None = None,
    violations: Sequence[Violation] = (),
) -> Figure:
    """Draw the client panels from history rows (``history.jsonl``).

    ``events`` (optional; ``CLIENTS_EVENT_KINDS`` suffice) shade faults on the time
    panels; ``window_ms`` defaults to the whole run; ``violations``
    (``read_violations``) are marked on the time panels (``harmonysim.viz.marks``).
    """
    ops = operations(history)
    if not ops:
        raise PlotInputError("the history holds no client operations")
    if window_ms is not None:
        window = window_ms
    else:
        last_ms = max(op.complete_ms for op in ops)
        window = (0.0, run_end_ms(events, last_ms) if events else last_ms)
    if window[1] <= window[0]:
        raise PlotInputError("the client window is empty")
    shown = [op for op in ops if op.invoke_ms < window[1] and op.complete_ms >= window[0]]
    invoked = [op for op in ops if window[0] <= op.invoke_ms < window[1]]
    names = _operation_order(ops)
    colours = _operation_colours(names)
    processes = sorted({op.process for op in ops})

    with plot_style():
        figure = new_figure(14.0, 15.0)
        grid = figure.add_gridspec(4, 2, height_ratios=[3.0, 2.0, 0.32 * len(processes) + 0.6, 3.0])
        latency_axes = figure.add_subplot(grid[0, :])
        throughput_axes = figure.add_subplot(grid[1, :], sharex=latency_axes)
        process_axes = figure.add_subplot(grid[2, :], sharex=latency_axes)
        cdf_axes = figure.add_subplot(grid[3, 0])
        count_axes = figure.add_subplot(grid[3, 1])

        # Latency over time.
        for name in names:
            for outcome in OperationOutcome:
                group = [op for op in invoked if op.f == name and op.outcome is outcome]
                if not group:
                    continue
                latency_axes.scatter(
                    [op.invoke_ms for op in group],
                    [max(op.latency_ms, 0.001) for op in group],
                    s=7.0 if outcome is OperationOutcome.OK else 16.0,
                    marker=OUTCOME_MARKERS[outcome],
                    c=colours[name],
                    alpha=0.45 if outcome is OperationOutcome.OK else 0.9,
                    linewidths=0.0 if outcome is OperationOutcome.OK else 0.9,
                    zorder=3,
                    rasterized=False,
                    gid=f"latency-{name}-{outcome.value}",
                )
        latency_axes.set_yscale("log")
        latency_axes.set_ylabel("latency (ms)")
        latency_axes.set_title("Latency by invocation time", loc="left")
        latency_axes.grid(True, axis="y", which="major")
        latency_axes.tick_params(axis="x", labelbottom=False)
        latency_handles = [
            Line2D([], [], linestyle="none", marker="o", color=colours[name], label=name)
            for name in names
        ]
        latency_handles += [
            Line2D(
                [],
                [],
                linestyle="none",
                marker=OUTCOME_MARKERS[outcome],
                color="#555555",
                markerfacecolor="#555555" if outcome is not OperationOutcome.FAIL else None,
                label=outcome.value,
            )
            for outcome in OperationOutcome
        ]
        latency_handles += draw_violations(
            [latency_axes, throughput_axes, process_axes], violations, window
        )
        latency_axes.legend(
            handles=latency_handles,
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
            title="operation / outcome",
        )

        # Throughput over time.
        bin_ms = throughput_bin_ms(window[1] - window[0])
        first_bin = math.floor(window[0] / bin_ms)
        bin_count = max(1, math.ceil(window[1] / bin_ms) - first_bin)
        edges = [(first_bin + index) * bin_ms for index in range(bin_count + 1)]
        for outcome in OperationOutcome:
            counts = [0] * bin_count
            for op in ops:
                if op.outcome is outcome:
                    slot = math.floor(op.complete_ms / bin_ms) - first_bin
                    if 0 <= slot < bin_count:
                        counts[slot] += 1
            if not any(counts):
                continue
            rates = [count * 1000.0 / bin_ms for count in counts]
            throughput_axes.stairs(
                rates,
                edges,
                color=OUTCOME_COLOURS[outcome],
                linewidth=1.3,
                label=outcome.value,
                gid=f"throughput-{outcome.value}",
            )
        throughput_axes.set_ylabel("completions / s")
        throughput_axes.set_title(
            f"Throughput (completions per {bin_ms:g} ms bin, as a rate)", loc="left"
        )
        throughput_axes.grid(True, axis="y")
        throughput_axes.set_ylim(bottom=0)
        throughput_axes.tick_params(axis="x", labelbottom=False)
        throughput_axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), title="outcome")

        # Jepsen-style per-process timeline.
        for row, process in enumerate(processes):
            for outcome in OperationOutcome:
                bars = [
                    (op.invoke_ms, max(op.latency_ms, 0.0))
                    for op in shown
                    if op.process == process and op.outcome is outcome
                ]
                if bars:
                    process_axes.broken_barh(
                        bars,
                        (row - 0.35, 0.7),
                        facecolors=OUTCOME_COLOURS[outcome],
                        edgecolors="none",
                        gid=f"ops-{process}-{outcome.value}",
                    )
        process_axes.set_yticks(range(len(processes)), [f"c{process}" for process in processes])
        process_axes.set_ylim(len(processes) - 0.5, -0.5)
        process_axes.tick_params(axis="y", length=0)
        process_axes.set_title("Operations per client process (invoke → completion)", loc="left")
        process_axes.legend(
            handles=[
                Line2D([], [], color=OUTCOME_COLOURS[outcome], linewidth=6.0, label=outcome.value)
                for outcome in OperationOutcome
            ],
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
            title="outcome",
        )
        process_axes.set_xlim(*window)
        format_time_axis(process_axes, window)

        if events:
            _shade_faults(
                [latency_axes, throughput_axes, process_axes], events, window, latency_axes
            )

        # Latency CDF per operation (ok only).
        for name in names:
            latencies = sorted(
                op.latency_ms
                for op in invoked
                if op.f == name and op.outcome is OperationOutcome.OK
            )
            if not latencies:
                continue
            # The empirical CDF: 0 up to the fastest operation, then a step per operation.
            fractions = [0.0] + [(index + 1) / len(latencies) for index in range(len(latencies))]
            p50 = nearest_rank(latencies, 0.5)
            p99 = nearest_rank(latencies, 0.99)
            cdf_axes.step(
                [max(latencies[0], 0.001)] + [max(value, 0.001) for value in latencies],
                fractions,
                where="post",
                color=colours[name],
                linewidth=1.5,
                label=f"{name}: n={len(latencies):,}, p50 {p50:.1f} ms, p99 {p99:.1f} ms",
                gid=f"cdf-{name}",
            )
        cdf_axes.set_xscale("log")
        cdf_axes.set_ylim(0.0, 1.02)
        cdf_axes.set_xlabel("latency (ms, ok operations)")
        cdf_axes.set_ylabel("fraction of operations")
        cdf_axes.set_title("Latency CDF", loc="left")
        cdf_axes.grid(True, which="major")
        cdf_axes.legend(loc="lower right")

        # Outcome counts per operation.
        width = 0.8 / len(OperationOutcome)
        for offset, outcome in enumerate(OperationOutcome):
            heights = [
                sum(1 for op in invoked if op.f == name and op.outcome is outcome) for name in names
            ]
            positions = [index + (offset - 1) * width for index in range(len(names))]
            container = count_axes.bar(
                positions,
                heights,
                width=width,
                color=OUTCOME_COLOURS[outcome],
                label=outcome.value,
                gid=f"count-{outcome.value}",
            )
            count_axes.bar_label(container, fontsize=7, padding=1.5)
        count_axes.set_xticks(range(len(names)), names)
        count_axes.set_ylabel("operations")
        count_axes.set_title("Outcomes per operation", loc="left")
        count_axes.grid(True, axis="y")
        count_axes.legend(loc="upper right", title="outcome")
        count_axes.margins(y=0.12)

        total = {
            outcome: sum(1 for op in invoked if op.outcome is outcome)
            for outcome in OperationOutcome
        }
        heading = (
            f"Clients: {len(invoked):,} operations — {total[OperationOutcome.OK]:,} ok, "
            f"{total[OperationOutcome.FAIL]:,} fail, {total[OperationOutcome.INFO]:,} info"
        )
        figure.suptitle(f"{heading} — {title}" if title else heading)
    return figure
