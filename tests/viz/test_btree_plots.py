"""The B+ tree plots of a deep tree (order 4, 2000 keys, deletes) and of a one-leaf tree.

What is drawn is compared with the trees the dashboard's replay rebuilds
(``TreeReplayer``, independent of the plots) and with ``events.jsonl`` read
directly; artists are found by their ``gid``.
"""

from __future__ import annotations

import math
from pathlib import Path

import orjson
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from harmonysim.btree import BPlusTree
from harmonysim.cli import main
from harmonysim.sim.events import EventRecord, read_events
from harmonysim.viz import PlotInputError, RunRecords, load_run_records
from harmonysim.viz.btree import ONE_LEAF_TEXT, plot_btree, plot_btree_structure
from harmonysim.viz.btree_shape import subtree_boxes, tree_levels
from harmonysim.web.btree_view import TreeReplayer
from harmonysim.web.index import load_run_index


@pytest.fixture(scope="module")
def deep_dir(btree_runs_root: Path) -> Path:
    return btree_runs_root / "btree-deep"


@pytest.fixture(scope="module")
def one_leaf_dir(btree_runs_root: Path) -> Path:
    return btree_runs_root / "btree-one-leaf"


@pytest.fixture(scope="module")
def deep(deep_dir: Path) -> RunRecords:
    return load_run_records(deep_dir, history=False)


@pytest.fixture(scope="module")
def deep_events(deep_dir: Path) -> list[EventRecord]:
    return read_events(deep_dir / "events.jsonl")


@pytest.fixture(scope="module")
def deep_trees(deep_dir: Path) -> dict[str, BPlusTree[object, object]]:
    index = load_run_index(deep_dir)
    replayer = TreeReplayer(index)
    return {node: replayer.machine_at(node, index.end_ms)[0].tree for node in index.nodes}


@pytest.fixture(scope="module")
def deep_figure(deep: RunRecords) -> Figure:
    return plot_btree(deep.events, nodes=deep.nodes, order=deep.btree_order, title=deep.title)


def lines(axes: Axes, prefix: str) -> dict[str, list[float]]:
    return {
        str(line.get_gid()): [float(y) for y in line.get_ydata()]
        for line in axes.get_lines()
        if str(line.get_gid()).startswith(prefix)
    }


def texts(axes: Axes) -> list[str]:
    return [item.get_text() for item in axes.texts]


def bars(axes: Axes, gid: str) -> list[Rectangle]:
    return [patch for patch in axes.patches if patch.get_gid() == gid]  # type: ignore[misc]


# -- a deep tree --------------------------------------------------------------------------


def test_the_deep_run_is_deep_and_merges(deep_events: list[EventRecord]) -> None:
    roots = [e for e in deep_events if e["kind"] == "btree.root"]
    assert max(e["depth"] for e in roots) >= 5
    assert sum(1 for e in deep_events if e["kind"] == "btree.merge") > 50
    assert sum(1 for e in deep_events if e["kind"] == "btree.borrow") > 50


def test_every_level_of_every_replica_is_drawn_with_its_final_count_and_fill(
    deep_figure: Figure, deep_trees: dict[str, BPlusTree[object, object]]
) -> None:
    level_axes, fill_axes = deep_figure.axes[1], deep_figure.axes[2]
    counts = lines(level_axes, "level-")
    fills = lines(fill_axes, "fill-")
    expected_gids = set()
    for node, tree in deep_trees.items():
        for level in tree_levels(tree):
            gid = f"{node}-{level.level}"
            expected_gids.add(gid)
            assert counts[f"level-{gid}"][-1] == level.nodes
            assert fills[f"fill-{gid}"][-1] == pytest.approx(level.fill)
            assert 0.5 <= level.fill <= 1.0 or level.level == tree.depth - 1
    assert {gid.removeprefix("level-") for gid in counts} == expected_gids
    # Leaves outnumber the root by far: the count axis is logarithmic, from below 1.
    assert level_axes.get_yscale() == "log"
    low, high = level_axes.get_ylim()
    assert low < 1 and high > tree_levels(deep_trees["n1"])[0].nodes
    legend = level_axes.get_legend()
    assert legend is not None
    assert [text.get_text() for text in legend.get_texts()][:2] == ["level 0 (leaves)", "level 1"]


def test_rates_stack_splits_merges_and_borrows_and_add_up_to_the_log(
    deep_figure: Figure, deep_events: list[EventRecord]
) -> None:
    rate_axes = deep_figure.axes[3]
    below: dict[float, float] = {}
    for kind in ("btree.split", "btree.merge", "btree.borrow"):
        drawn = bars(rate_axes, f"rate-{kind}")
        assert len(drawn) == 60
        total = sum(bar.get_height() * bar.get_width() / 1000.0 for bar in drawn)
        assert total == pytest.approx(sum(1 for e in deep_events if e["kind"] == kind))
        for bar in drawn:  # each kind sits on the ones drawn before it
            assert bar.get_y() == pytest.approx(below.get(bar.get_x(), 0.0))
            below[bar.get_x()] = bar.get_y() + bar.get_height()
    assert rate_axes.get_ylim()[1] >= max(below.values())


def test_hottest_leaves_are_listed_hottest_first_with_their_key_ranges(
    deep_figure: Figure, deep_trees: dict[str, BPlusTree[object, object]]
) -> None:
    hot_axes = deep_figure.axes[4]
    drawn = bars(hot_axes, "hot-leaves")
    assert len(drawn) == 10
    widths = [bar.get_width() for bar in drawn]
    assert widths == sorted(widths, reverse=True) and widths[0] > widths[-1]
    labels = [tick.get_text() for tick in hot_axes.get_yticklabels()]
    leaves = {
        box.node_id: box for box in subtree_boxes(deep_trees["n1"]) if box.kind.value == "leaf"
    }
    notes = texts(hot_axes)
    for label, note, width in zip(labels, notes, widths, strict=True):
        assert note.startswith(f"{int(width)} writes · ")
        leaf_id = int(label.removeprefix("#"))
        if note.endswith("merged away"):
            assert leaf_id not in leaves
        else:
            box = leaves[leaf_id]
            assert note.endswith(f"{box.first_key}–{box.last_key}") or note.endswith(
                str(box.first_key)
            )


def test_structure_draws_every_node_once_per_level_row(
    deep: RunRecords, deep_trees: dict[str, BPlusTree[object, object]]
) -> None:
    figure = plot_btree_structure(deep.events, nodes=deep.nodes, order=deep.btree_order)
    axes = figure.axes[0]
    tree = deep_trees["n1"]
    levels = tree_levels(tree)
    leaves = levels[0].nodes
    for level in levels:
        (row,) = [
            item for item in axes.collections if item.get_gid() == f"boxes-level-{level.level}"
        ]
        spans = sorted(
            (min(x for x, _ in path.vertices), max(x for x, _ in path.vertices))
            for path in row.get_paths()
        )
        assert len(spans) == level.nodes
        assert spans[0][0] == 0 and spans[-1][1] == leaves
    assert axes.get_xlim() == (0.0, float(leaves))
    assert [tick.get_text() for tick in axes.get_yticklabels()][-1] == "level 0 (leaves)"
    assert f"#{tree.root_id}" in "".join(texts(axes))


def test_structure_drills_down_into_a_subtree(
    deep: RunRecords, deep_trees: dict[str, BPlusTree[object, object]]
) -> None:
    tree = deep_trees["n2"]
    child = next(box for box in subtree_boxes(tree) if box.level == tree.depth - 3)
    figure = plot_btree_structure(
        deep.events, nodes=deep.nodes, order=deep.btree_order, replica="n2", subtree=child.node_id
    )
    axes = figure.axes[0]
    assert axes.get_xlim() == (0.0, float(child.width))
    assert len(axes.get_yticklabels()) == child.level + 1
    assert f"subtree of #{child.node_id} (level {child.level}" in axes.get_title(loc="left")
    assert axes.get_title(loc="left").startswith("n2 ")
    with pytest.raises(PlotInputError, match="has no node #999999"):
        plot_btree_structure(deep.events, nodes=deep.nodes, order=4, subtree=999_999)


# -- one leaf -----------------------------------------------------------------------------


def test_one_leaf_says_so_over_integer_axes_from_zero(one_leaf_dir: Path) -> None:
    records = load_run_records(one_leaf_dir, history=False)
    figure = plot_btree(records.events, nodes=records.nodes, order=records.btree_order)
    level_axes, fill_axes, rate_axes, hot_axes = figure.axes[1:5]
    assert level_axes.get_ylim() == (0.0, 2.0)
    assert [tick for tick in level_axes.get_yticks() if 0 <= tick <= 2] == [0.0, 1.0, 2.0]
    assert level_axes.get_yscale() == "linear"
    (note,) = [text for text in level_axes.texts if isinstance(text, Text)]
    assert note.get_text().startswith(ONE_LEAF_TEXT)
    assert "of the 31 keys a leaf holds at order 32" in note.get_text()
    assert set(lines(level_axes, "level-")) == {"level-n1-0", "level-n2-0", "level-n3-0"}
    assert all(value == 1.0 for value in lines(level_axes, "level-")["level-n1-0"])
    assert rate_axes.get_ylim() == (0.0, 1.0)
    assert not rate_axes.patches
    assert texts(rate_axes) == ["no splits, merges or borrows in this window"]
    (leaf,) = bars(hot_axes, "hot-leaves")
    assert leaf.get_height() == pytest.approx(0.7)
    assert hot_axes.get_yticklabels()[0].get_text() == "#1"
    assert fill_axes.get_ylim() == (0.0, 1.05)


def test_one_leaf_structure_is_one_box_and_says_so(one_leaf_dir: Path) -> None:
    records = load_run_records(one_leaf_dir, history=False)
    figure = plot_btree_structure(records.events, nodes=records.nodes, order=records.btree_order)
    axes = figure.axes[0]
    (row,) = axes.collections
    assert len(row.get_paths()) == 1
    assert axes.get_xlim() == (0.0, 1.0)
    (note,) = [text for text in texts(axes) if text.startswith(ONE_LEAF_TEXT)]
    assert note.startswith(f"{ONE_LEAF_TEXT}: the root is leaf #1, holding ")
    assert note.endswith(" of 31 keys (k0000–k0019)")  # every one of the 20 keys was written
    assert axes.get_title(loc="left").endswith(": 1 node, 1 leaf, order 32")


# -- the command line ---------------------------------------------------------------------


def test_plot_cli_draws_a_subtree_and_refuses_unknown_ones(
    deep_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plots"
    args = ["plot", str(deep_dir), "--kind", "btree-structure", "--out", str(out), "--json"]
    assert main([*args, "--replica", "n3"]) == 0
    assert orjson.loads(capsys.readouterr().out) == {"files": [str(out / "btree-structure.png")]}
    assert main([*args, "--subtree", "999999"]) == 2
    assert "has no node #999999" in capsys.readouterr().err
    assert main([*args, "--replica", "n9"]) == 2
    assert "unknown replica 'n9' (choose from n1, n2, n3)" in capsys.readouterr().err


# -- a run that loads its records ---------------------------------------------------------


def test_a_loaded_runs_levels_end_at_the_trees_its_replicas_report(loaded_run_dir: Path) -> None:
    records = load_run_records(loaded_run_dir, history=False)
    reported = orjson.loads((loaded_run_dir / "run.json").read_bytes())["summary"]["btree"]
    figure = plot_btree(
        records.events,
        nodes=records.nodes,
        order=records.btree_order,
        workload=records.workload,
    )
    counts = lines(figure.axes[1], "level-")
    for node in records.nodes:
        final = {  # a level the tree lost (a restore builds it shallower) ends in a gap
            gid: values[-1]
            for gid, values in counts.items()
            if gid.startswith(f"level-{node}-") and not math.isnan(values[-1])
        }
        assert len(final) == reported[node]["depth"] >= 4
        assert sum(final.values()) == reported[node]["nodes"]


def test_plot_cli_draws_a_loaded_runs_trees(
    loaded_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plots"
    args = ["plot", str(loaded_run_dir), "--kind", "btree", "btree-structure", "--out", str(out)]
    assert main([*args, "--json"]) == 0
    assert orjson.loads(capsys.readouterr().out) == {
        "files": [str(out / "btree.png"), str(out / "btree-structure.png")]
    }
