"""Violation marks on the time-axis plots: failures are the first thing a plot shows.

Rules of this file:
- Each violation (``harmonysim.runlog.violations``) inside a plot's window is a
  vertical line at its time on every time axis of the plot, in one colour per
  check, drawn over the data. Its ``gid`` is ``violation-<check>-<k>``, the k-th
  violation of that check in the run (counting those outside the window too), so
  a line names its violation whichever window is drawn.
- The first mark of each check in the window is labelled with the check's name at
  the top of the first axes; the legend has one entry per check shown
  (``violation: <check>``). A run without violations, or a window without any,
  draws nothing and adds no legend entry.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from harmonysim.runlog.violations import Violation

__all__ = ["VIOLATION_COLOURS", "draw_violations", "violation_colour"]

VIOLATION_COLOURS: dict[str, str] = {
    "raft_safety": "#b2182b",
    "linearizability": "#d6604d",
    "btree_invariants": "#8c510a",
    "liveness": "#762a83",
}
_OTHER_COLOUR = "#e7298a"


def violation_colour(check: str) -> str:
    return VIOLATION_COLOURS.get(check, _OTHER_COLOUR)


def draw_violations(
    axes: Sequence[Axes],
    violations: Sequence[Violation],
    window_ms: tuple[float, float],
) -> list[Line2D]:
    """Mark ``violations`` inside ``window_ms`` on ``axes``; returns the legend handles."""
    counts: dict[str, int] = {}
    labelled: list[str] = []
    for violation in violations:
        index = counts.get(violation.check, 0)
        counts[violation.check] = index + 1
        if not window_ms[0] <= violation.time_ms <= window_ms[1]:
            continue
        colour = violation_colour(violation.check)
        for panel in axes:
            panel.axvline(
                violation.time_ms,
                color=colour,
                linestyle=(0, (4, 2)),
                linewidth=1.4,
                zorder=9,
                gid=f"violation-{violation.check}-{index}",
            )
        if violation.check not in labelled and axes:
            labelled.append(violation.check)
            axes[0].annotate(
                violation.check,
                xy=(violation.time_ms, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(3, -3),
                textcoords="offset points",
                ha="left",
                va="top",
                fontsize=8,
                fontweight="bold",
                color=colour,
                zorder=10,
                gid=f"violation-label-{violation.check}",
            )
    return [
        Line2D(
            [],
            [],
            color=violation_colour(check),
            linestyle=(0, (4, 2)),
            linewidth=1.4,
            label=f"violation: {check}",
        )
        for check in labelled
    ]
