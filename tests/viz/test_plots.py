"""Each plot drawn from a real run with a partition, a pause, a crash and a clog.

The expectations are computed from ``events.jsonl`` and ``history.jsonl`` read
independently (``harmonysim.sim.events.read_events``), and compared with the
artists of the returned figures, found by their ``gid``.
"""

from __future__ import annotations

import math
from collections import Counter
from itertools import pairwise
from pathlib import Path

import matplotlib as mpl
import orjson
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import Collection, PathCollection
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle, StepPatch

from harmonysim.sim.events import EventRecord
from harmonysim.viz import (
    PlotInputError,
    RunRecords,
    plot_btree,
    plot_btree_structure,
    plot_clients,
    plot_messages,
    plot_timeline,
)
from harmonysim.viz.btree_shape import tree_levels
from harmonysim.web.btree_view import TreeReplayer
from harmonysim.web.index import load_run_index

NODES = ["n1", "n2", "n3", "n4", "n5"]


def collection(axes: Axes, gid: str) -> Collection:
    found = [item for item in axes.collections if item.get_gid() == gid]
    assert len(found) == 1, f"expected one collection {gid!r}, found {len(found)}"
    return found[0]


def bar_spans(item: Collection) -> list[tuple[float, float]]:
    """The (start, end) in data x of every bar of a broken_barh collection."""
    spans = []
    for path in item.get_paths():
        xs = [float(x) for x, _ in path.vertices]
        spans.append((min(xs), max(xs)))
    return spans


def ticks(axes: Axes) -> list[str]:
    return [label.get_text() for label in axes.get_yticklabels()]


def of(events: list[EventRecord], kind: str, node: str | None = None) -> list[EventRecord]:
    return [e for e in events if e["kind"] == kind and (node is None or e["node"] == node)]


# -- timeline -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def timeline(records: RunRecords) -> Figure:
    return plot_timeline(records.events, nodes=records.nodes, title=records.title)


def test_timeline_has_a_network_lane_and_one_lane_per_server(timeline: Figure) -> None:
    lanes, commits = timeline.axes
    assert ticks(lanes) == ["network", *NODES]
    lines = [line for line in commits.get_lines() if str(line.get_gid()).startswith("commit-")]
    assert sorted(str(line.get_gid()) for line in lines) == [f"commit-{n}" for n in NODES]


def test_every_leader_gets_leader_bars_from_its_election(
    timeline: Figure, all_events: list[EventRecord]
) -> None:
    lanes = timeline.axes[0]
    elected = of(all_events, "raft.role")
    leaders = sorted({e["node"] for e in elected if e["role"] == "leader"})
    assert len(leaders) >= 2  # the first leader, and the one elected while it was cut off
    for node in NODES:
        gids = {item.get_gid() for item in lanes.collections}
        assert (f"role-{node}-leader" in gids) == (node in leaders)
    for event in elected:
        if event["role"] == "leader":
            starts = [
                start for start, _ in bar_spans(collection(lanes, f"role-{event['node']}-leader"))
            ]
            assert event["t"] in starts


def test_partition_shading_spans_the_partition_and_marks_the_isolated_node(
    timeline: Figure, all_events: list[EventRecord]
) -> None:
    lanes = timeline.axes[0]
    (partition,) = of(all_events, "net.partition")
    (heal,) = of(all_events, "net.heal")
    target = partition["target"]
    (band,) = [p for p in lanes.patches if p.get_gid() == "partition-0"]
    assert isinstance(band, Rectangle)
    assert band.get_x() == pytest.approx(partition["t"])
    assert band.get_x() + band.get_width() == pytest.approx(heal["t"])
    assert bar_spans(collection(lanes, "partition-bar-0")) == [(partition["t"], heal["t"])]
    isolated = collection(lanes, f"cut-0-{target}")
    assert isolated.get_hatch() == "xxx"
    assert bar_spans(isolated) == [(partition["t"], heal["t"])]
    for node in NODES:
        if node != target:
            assert collection(lanes, f"cut-0-{node}").get_hatch() == "//"


def test_crash_pause_and_clog_are_drawn_on_their_lanes(
    timeline: Figure, all_events: list[EventRecord]
) -> None:
    lanes = timeline.axes[0]
    (crash,) = of(all_events, "node.crash")
    (restart,) = of(all_events, "node.restart")
    assert crash["node"] == "n2"
    assert bar_spans(collection(lanes, "down-n2-0")) == [(crash["t"], restart["t"])]
    # No role is drawn while the node is down.
    for role in ("follower", "pre_candidate", "candidate", "leader"):
        gids = {item.get_gid() for item in lanes.collections}
        if f"role-n2-{role}" in gids:
            for start, end in bar_spans(collection(lanes, f"role-n2-{role}")):
                assert end <= crash["t"] or start >= restart["t"]
    (pause,) = of(all_events, "node.pause")
    (resume,) = of(all_events, "node.resume")
    assert bar_spans(collection(lanes, f"paused-{pause['node']}-0")) == [(pause["t"], resume["t"])]
    (clog,) = of(all_events, "net.clog")
    (unclog,) = of(all_events, "net.unclog")
    for node in ("n4", "n5"):
        assert bar_spans(collection(lanes, f"clog-0-{node}")) == [(clog["t"], unclog["t"])]
    assert not [item for item in lanes.collections if item.get_gid() == "clog-0-n1"]


def test_term_lines_and_commit_gap_while_down(
    timeline: Figure, all_events: list[EventRecord]
) -> None:
    lanes, commits = timeline.axes
    terms = sorted({e["term"] for e in of(all_events, "raft.term") if e["term"] > 0})
    drawn = sorted(
        int(str(line.get_gid()).split("-")[1])
        for line in lanes.get_lines()
        if str(line.get_gid()).startswith("term-")
    )
    assert drawn == terms
    (n2,) = [line for line in commits.get_lines() if line.get_gid() == "commit-n2"]
    xs = [float(x) for x in n2.get_xdata()]
    ys = [float(y) for y in n2.get_ydata()]
    down = [y for x, y in zip(xs, ys, strict=True) if 2200.0 <= x < 3000.0]
    assert down and all(math.isnan(y) for y in down)
    final = max(e["index"] for e in of(all_events, "raft.commit", "n1"))
    (n1,) = [line for line in commits.get_lines() if line.get_gid() == "commit-n1"]
    assert float(n1.get_ydata()[-1]) == final


def test_a_zoomed_timeline_scales_the_commit_axis_to_the_window(
    records: RunRecords, all_events: list[EventRecord]
) -> None:
    figure = plot_timeline(records.events, nodes=records.nodes, window_ms=(1200.0, 1800.0))
    lanes, commits = figure.axes
    assert lanes.get_xlim() == (1200.0, 1800.0)
    indexes = [e["index"] for e in of(all_events, "raft.commit") if 1200.0 <= e["t"] <= 1800.0]
    low, high = commits.get_ylim()
    assert low <= min(indexes) and max(indexes) <= high
    assert high - low < 2 * (max(indexes) - min(indexes)) + 10


def test_plotting_leaves_global_matplotlib_settings_alone(records: RunRecords) -> None:
    before = (mpl.rcParams["font.size"], mpl.rcParams["svg.hashsalt"], mpl.get_backend())
    plot_timeline(records.events, nodes=records.nodes, window_ms=(900.0, 2100.0))
    assert (mpl.rcParams["font.size"], mpl.rcParams["svg.hashsalt"], mpl.get_backend()) == before


# -- messages -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def messages(records: RunRecords) -> Figure:
    return plot_messages(records.events, nodes=records.nodes, title=records.title)


def test_message_window_defaults_to_300_ms_around_the_first_partition(
    messages: Figure, all_events: list[EventRecord]
) -> None:
    (axes,) = messages.axes
    (partition,) = of(all_events, "net.partition")
    assert axes.get_xlim() == pytest.approx((partition["t"] - 50.0, partition["t"] + 250.0))
    assert ticks(axes) == [*NODES, "clients"]


def test_message_diagram_draws_one_arrow_per_delivery_and_marks_drops(
    messages: Figure, all_events: list[EventRecord]
) -> None:
    (axes,) = messages.axes
    start, end = axes.get_xlim()
    sent = {e["id"] for e in of(all_events, "msg.send") if start <= e["t"] < end}
    deliveries = Counter(e["id"] for e in of(all_events, "msg.deliver") if e["id"] in sent)
    drops = [e for e in of(all_events, "msg.drop") if e["id"] in sent]
    arrows = [p for p in axes.patches if isinstance(p, FancyArrowPatch)]
    delivered = [p for p in arrows if str(p.get_gid()).startswith("msg-")]
    dropped = [p for p in arrows if str(p.get_gid()).startswith("drop-")]
    assert len(delivered) == sum(deliveries.values()) > 100
    assert len(dropped) == len(drops) > 0
    duplicated = [message_id for message_id, count in deliveries.items() if count == 2]
    assert duplicated, "the scenario duplicates messages; one should fall in the window"
    gids = {p.get_gid() for p in delivered}
    for message_id in duplicated:
        assert {f"msg-{message_id}-0", f"msg-{message_id}-1"} <= gids
    by_reason = Counter(e["reason"] for e in drops)
    markers = {
        str(item.get_gid()): len(item.get_offsets())
        for item in axes.collections
        if isinstance(item, PathCollection)
    }
    assert markers == {f"drops-{reason}": count for reason, count in by_reason.items()}
    legend = axes.get_legend()
    assert legend is not None
    labels = {text.get_text() for text in legend.get_texts()}
    types = {e["type"] for e in of(all_events, "msg.send") if e["id"] in deliveries}
    assert types <= labels
    assert {f"dropped: {reason}" for reason in by_reason} <= labels


def test_message_window_with_too_many_arrows_is_refused(records: RunRecords) -> None:
    with pytest.raises(PlotInputError, match="shorter window"):
        plot_messages(records.events, window_ms=(0.0, 4000.0))


# -- clients ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clients(records: RunRecords) -> Figure:
    return plot_clients(records.history, events=records.events, title=records.title)


def history_rows(run_dir: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in (run_dir / "history.jsonl").read_bytes().splitlines()]


def test_process_timeline_has_one_bar_per_operation(clients: Figure, run_dir: Path) -> None:
    process_axes = clients.axes[2]
    completions = Counter(
        (row["process"], row["type"]) for row in history_rows(run_dir) if row["type"] != "invoke"
    )
    drawn = {
        str(item.get_gid()): len(item.get_paths())
        for item in process_axes.collections
        if str(item.get_gid()).startswith("ops-")
    }
    assert drawn == {
        f"ops-{process}-{kind}": count for (process, kind), count in completions.items()
    }
    assert ticks(process_axes) == ["c1", "c2", "c3", "c4"]


def test_cdf_and_counts_match_the_history(clients: Figure, run_dir: Path) -> None:
    cdf_axes, count_axes = clients.axes[3], clients.axes[4]
    rows = history_rows(run_dir)
    outcomes = Counter((row["f"], row["type"]) for row in rows if row["type"] != "invoke")
    for f in ("get", "put", "cas"):
        (line,) = [item for item in cdf_axes.get_lines() if item.get_gid() == f"cdf-{f}"]
        # One step per ok operation, after a start at 0.
        assert len(line.get_xdata()) == outcomes[(f, "ok")] + 1
        assert float(line.get_ydata()[0]) == 0.0
        assert float(line.get_ydata()[-1]) == 1.0
    heights: dict[tuple[str, str], int] = {}
    names = [label.get_text() for label in count_axes.get_xticklabels()]
    assert names == ["get", "put", "cas"]
    for patch in count_axes.patches:
        assert isinstance(patch, Rectangle)
        outcome = str(patch.get_gid()).removeprefix("count-")
        name = names[round(patch.get_x() + patch.get_width() / 2)]
        heights[(name, outcome)] = round(patch.get_height())
    for name in names:
        for outcome in ("ok", "fail", "info"):
            assert heights[(name, outcome)] == outcomes[(name, outcome)]


def test_throughput_counts_every_completion(clients: Figure, run_dir: Path) -> None:
    throughput_axes = clients.axes[1]
    rows = history_rows(run_dir)
    ok = sum(1 for row in rows if row["type"] == "ok")
    (stairs,) = [p for p in throughput_axes.patches if p.get_gid() == "throughput-ok"]
    assert isinstance(stairs, StepPatch)
    data = stairs.get_data()
    values, edges = data.values, data.edges
    widths_s = [(b - a) / 1000.0 for a, b in pairwise(edges)]
    assert round(sum(v * w for v, w in zip(values, widths_s, strict=True))) == ok


# -- B+ tree ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def btree(records: RunRecords) -> Figure:
    return plot_btree(
        records.events, nodes=records.nodes, title=records.title, order=records.btree_order
    )


def test_btree_depth_lanes_end_at_each_replicas_last_depth(
    btree: Figure, all_events: list[EventRecord]
) -> None:
    depth_axes = btree.axes[0]
    assert ticks(depth_axes) == NODES
    for node in NODES:
        roots = of(all_events, "btree.root", node)
        assert roots
        last_depth = roots[-1]["depth"]
        ends = [end for _, end in bar_spans(collection(depth_axes, f"depth-{node}-{last_depth}"))]
        assert max(ends) == pytest.approx(4000.0)
        restores = sum(1 for e in roots if e["reason"] == "restore")
        markers = [item for item in depth_axes.collections if item.get_gid() == f"restore-{node}"]
        assert sum(len(item.get_offsets()) for item in markers) == restores  # type: ignore[attr-defined]


def test_btree_level_lines_end_at_each_replicas_tree_levels(
    btree: Figure, run_dir: Path, records: RunRecords
) -> None:
    level_axes, fill_axes = btree.axes[1], btree.axes[2]
    replayer = TreeReplayer(load_run_index(run_dir))
    for node in NODES:
        tree = replayer.machine_at(node, 4000.0)[0].tree
        levels = tree_levels(tree)
        assert sum(level.nodes for level in levels) == tree.node_count
        for level in levels:
            (count,) = [
                line
                for line in level_axes.get_lines()
                if line.get_gid() == f"level-{node}-{level.level}"
            ]
            (fill,) = [
                line
                for line in fill_axes.get_lines()
                if line.get_gid() == f"fill-{node}-{level.level}"
            ]
            assert float(count.get_ydata()[-1]) == level.nodes
            assert float(fill.get_ydata()[-1]) == pytest.approx(level.fill)
            assert float(count.get_xdata()[-1]) == 4000.0


def test_btree_rates_add_up_to_the_recorded_changes(
    btree: Figure, all_events: list[EventRecord]
) -> None:
    rate_axes = btree.axes[3]
    for kind in ("btree.split", "btree.merge", "btree.borrow"):
        bars = [patch for patch in rate_axes.patches if patch.get_gid() == f"rate-{kind}"]
        recorded = len(of(all_events, kind))
        if not recorded:
            assert not bars
            continue
        # heights are per second over buckets of 4000 / 60 ms
        assert sum(bar.get_height() * bar.get_width() / 1000.0 for bar in bars) == pytest.approx(
            recorded
        )


def test_btree_window_narrows_samples_rates_and_hot_leaves(
    records: RunRecords, all_events: list[EventRecord]
) -> None:
    window = (2000.0, 4000.0)
    figure = plot_btree(
        records.events, nodes=records.nodes, window_ms=window, order=records.btree_order
    )
    level_axes, rate_axes, hot_axes = figure.axes[1], figure.axes[3], figure.axes[4]
    for line in level_axes.get_lines():
        xs = [float(x) for x in line.get_xdata()]
        assert xs[0] == 2000.0 and xs[-1] == 4000.0
    splits = [patch for patch in rate_axes.patches if patch.get_gid() == "rate-btree.split"]
    inside = [e for e in of(all_events, "btree.split") if 2000.0 <= e["t"] <= 4000.0]
    assert inside
    assert sum(bar.get_height() * bar.get_width() / 1000.0 for bar in splits) == pytest.approx(
        len(inside)
    )
    whole = plot_btree(records.events, nodes=records.nodes, order=records.btree_order)
    narrow_writes = sum(bar.get_width() for bar in hot_axes.patches)
    whole_writes = sum(bar.get_width() for bar in whole.axes[4].patches)
    assert 0 < narrow_writes < whole_writes


def test_btree_structure_of_a_replica_that_is_down_is_bad_input(records: RunRecords) -> None:
    # n2 is down from 2.2 s to 3 s.
    with pytest.raises(PlotInputError, match="n2 is down at 2600 ms"):
        plot_btree_structure(
            records.events,
            nodes=records.nodes,
            window_ms=(0.0, 2600.0),
            order=records.btree_order,
            replica="n2",
        )
    figure = plot_btree_structure(
        records.events, nodes=records.nodes, window_ms=(0.0, 2600.0), order=records.btree_order
    )
    assert figure.axes[0].get_title(loc="left").startswith("n1 at 2.6 s — whole tree, depth ")


def test_servers_outside_the_configuration_are_drawn_so() -> None:
    rows = [
        (0.0, "run.start", None, {"members": ["n1", "n2"]}),
        (5.0, "raft.role", "n1", {"role": "leader", "term": 1}),
        (40.0, "membership", None, {"result": "committed", "voters": ["n1", "n2", "n3"]}),
        (100.0, "run.end", None, {}),
    ]
    events: list[EventRecord] = [
        {"t": t, "seq": seq, "kind": kind, "node": node, **fields}
        for seq, (t, kind, node, fields) in enumerate(rows)
    ]
    figure = plot_timeline(events, nodes=["n1", "n2", "n3"])
    lanes = figure.axes[0]
    assert bar_spans(collection(lanes, "outside-n3-0")) == [(0.0, 40.0)]
    assert not [item for item in lanes.collections if str(item.get_gid()).startswith("outside-n1")]
    labels = [text.get_text() for text in figure.legends[0].get_texts()]
    assert "outside the configuration" in labels
