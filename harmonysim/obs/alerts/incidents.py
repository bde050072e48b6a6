"""The ground truth of the shipped rules: when, by the event log, each rule's condition held.

Rules:
- Input is a sequence of ``Moment`` s, the cluster as the event log's fold shows it
  on a fine grid of virtual time (``GRID_MS``), plus the times of leader elections,
  client completions and fsyncs. The fold itself is the dashboard's
  ``ClusterState``; this module only reads what it made (``harmonysim alerts``
  builds the moments).
- Each condition mirrors its rule in ``rules.yml`` with the same thresholds
  (the constants below), but on continuous time and exact counts rather than on
  one-second samples. A rules file with other thresholds is scored against these
  conditions all the same: they say what an operator wants to hear about.
- ``ClockSkew`` and ``DiskCorruptionDetected`` have no condition: runs do not yet
  record skew or detected corruption.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from harmonysim.obs.alerts.score import Condition

__all__ = ["GRID_MS", "Moment", "RunFacts", "conditions_of"]

GRID_MS = 10.0
"""Resolution of the ground truth (detection delays are exact to this)."""
STALL_WINDOW_MS = 2000.0
LAG_ENTRIES = 200
FLAP_WINDOW_MS = 10_000.0
FLAP_CHANGES = 3
ERROR_WINDOW_MS = 5000.0
ERROR_RATIO = 0.2
FSYNC_WINDOW_MS = 5000.0
FSYNC_SLOW_SECONDS = 0.05
FSYNC_SLOW_RATIO = 0.01


@dataclass(frozen=True, slots=True)
class Moment:
    """The cluster at ``t_ms``: is a running server leader, every server's commit index,
    and which servers run."""

    t_ms: float
    has_leader: bool
    commit_index: Mapping[str, int]
    up: Mapping[str, bool]


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What the conditions read: moments on the grid and the times of discrete events."""

    moments: Sequence[Moment]
    elections_ms: Sequence[float]  # a server became leader (the run's first one left out)
    completions_ms: Sequence[float]  # client operations completed (ok, fail or info)
    errors_ms: Sequence[float]  # client operations that got no answer in time (info)
    fsyncs: Mapping[str, Sequence[tuple[float, float]]]  # node -> (completion ms, seconds)


def _intervals(
    moments: Sequence[Moment], holds: Callable[[int], bool], node: str | None = None
) -> list[Condition]:
    out: list[Condition] = []
    start: float | None = None
    for position, moment in enumerate(moments):
        if holds(position):
            if start is None:
                start = moment.t_ms
        elif start is not None:
            out.append(Condition(start, moment.t_ms, node))
            start = None
    if start is not None and moments:
        out.append(Condition(start, moments[-1].t_ms + GRID_MS, node))
    return out


def _count_in(times: Sequence[float], start_ms: float, end_ms: float) -> int:
    """Events in ``(start_ms, end_ms]``."""
    return bisect_right(times, end_ms) - bisect_right(times, start_ms)


def conditions_of(facts: RunFacts) -> dict[str, list[Condition]]:
    """Every judged rule's condition intervals, by rule name (module rules)."""
    moments = facts.moments
    times = [moment.t_ms for moment in moments]
    highest = [max(moment.commit_index.values(), default=0) for moment in moments]

    def stalled(position: int) -> bool:
        t_ms = times[position]
        if t_ms < STALL_WINDOW_MS:
            return False
        before = bisect_left(times, t_ms - STALL_WINDOW_MS)
        return highest[position] <= highest[before]

    def flapping(position: int) -> bool:
        t_ms = times[position]
        return _count_in(facts.elections_ms, t_ms - FLAP_WINDOW_MS, t_ms) >= FLAP_CHANGES

    def erring(position: int) -> bool:
        t_ms = times[position]
        total = _count_in(facts.completions_ms, t_ms - ERROR_WINDOW_MS, t_ms)
        errors = _count_in(facts.errors_ms, t_ms - ERROR_WINDOW_MS, t_ms)
        return total > 0 and errors / total > ERROR_RATIO

    conditions: dict[str, list[Condition]] = {
        "NoLeader": _intervals(moments, lambda position: not moments[position].has_leader),
        "CommitStalled": _intervals(moments, stalled),
        "LeaderFlapping": _intervals(moments, flapping),
        "ClientErrorRate": _intervals(moments, erring),
        "FollowerLagging": [],
        "FsyncSlow": [],
    }
    nodes = sorted({node for moment in moments for node in moment.commit_index})
    for node in nodes:

        def lagging(position: int, node: str = node) -> bool:
            moment = moments[position]
            return bool(moment.up.get(node)) and (
                highest[position] - moment.commit_index.get(node, 0) > LAG_ENTRIES
            )

        conditions["FollowerLagging"].extend(_intervals(moments, lagging, node))
    for node in sorted(facts.fsyncs):
        completed = facts.fsyncs[node]
        ends = [end_ms for end_ms, _ in completed]
        slow_before = [0]  # slow_before[i]: slow fsyncs among the first i
        for _, seconds in completed:
            slow_before.append(slow_before[-1] + (seconds > FSYNC_SLOW_SECONDS))

        def slow(
            position: int, ends: Sequence[float] = ends, slow_before: Sequence[int] = slow_before
        ) -> bool:
            t_ms = times[position]
            low = bisect_right(ends, t_ms - FSYNC_WINDOW_MS)
            high = bisect_right(ends, t_ms)
            if high == low:
                return False
            return (slow_before[high] - slow_before[low]) / (high - low) > FSYNC_SLOW_RATIO

        conditions["FsyncSlow"].extend(_intervals(moments, slow, node))
    return conditions
