"""The timeline marks the faults its lanes do not show: clocks, disks, transfers,
membership changes and faults without effect (``harmonysim.runlog.faultmarks``).

Each kind is checked on a small hand-written log (the artist with its gid, at its
time, on its lane, with its legend entry), then on the shared run with one fault of
each kind (``tests.faultrun``), and a run without them draws none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import Collection
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

from harmonysim.runlog.faultmarks import MarkKind
from harmonysim.sim.events import EventRecord
from harmonysim.viz import RunRecords, load_run_records, plot_timeline
from harmonysim.viz.timeline import BAR_HEIGHT, mark_gid
from tests.faultrun import MARK_TIMES, make_marked_run

NODES = ["n1", "n2", "n3"]
END_MS = 100.0


def events(*rows: tuple[float, str, str | None, dict[str, Any]]) -> list[EventRecord]:
    framed = [(0.0, "run.start", None, {}), *rows, (END_MS, "run.end", None, {})]
    return [
        {"t": t, "seq": seq, "kind": kind, "node": node, **fields}
        for seq, (t, kind, node, fields) in enumerate(framed)
    ]


def fault_artists(axes: Axes) -> list[str]:
    found = [str(item.get_gid()) for item in [*axes.collections, *axes.patches]]
    return sorted(gid for gid in found if gid.startswith("fault-"))


def legend_labels(figure: Figure) -> list[str]:
    return [text.get_text() for text in figure.legends[0].get_texts()]


def the(axes: Axes, gid: str) -> Collection:
    found = [item for item in axes.collections if item.get_gid() == gid]
    assert len(found) == 1, f"expected one collection {gid!r}, found {len(found)}"
    return found[0]


def instants(item: Collection) -> list[tuple[float, float]]:
    points: list[list[float]] = np.asarray(item.get_offsets()).tolist()
    return [(point[0], point[1]) for point in points]


def bars(item: Collection) -> list[tuple[float, float]]:
    spans = []
    for path in item.get_paths():
        xs: list[float] = np.asarray(path.vertices)[:, 0].tolist()
        spans.append((min(xs), max(xs)))
    return spans


INSTANTS: list[tuple[MarkKind, str, dict[str, Any]]] = [
    (MarkKind.CLOCK_JUMP, "node.clock", {"jump_ms": 250.0}),
    (MarkKind.DISK_FAULT, "disk.fault", {"fault": "corrupt", "file": "log", "index": 4}),
    (MarkKind.DAMAGE, "disk.damage", {"file": "log", "reason": "checksum", "action": "repair"}),
    (MarkKind.REPAIRED, "raft.repaired", {"last_index": 9, "leader": "n1"}),
    (MarkKind.NOOP, "fault.noop", {"fault": "resume", "reason": "the node is not paused"}),
]


@pytest.mark.parametrize(("kind", "event", "fields"), INSTANTS, ids=lambda v: str(v))
def test_an_instant_fault_is_a_marker_on_its_lane(
    kind: MarkKind, event: str, fields: dict[str, Any]
) -> None:
    figure = plot_timeline(events((40.0, event, "n2", fields)), nodes=NODES)
    lanes = figure.axes[0]
    ((x, y),) = instants(the(lanes, mark_gid(kind, "n2")))
    assert x == 40.0
    assert 2 - BAR_HEIGHT / 2 - 0.1 <= y <= 2 + BAR_HEIGHT / 2
    assert fault_artists(lanes) == [mark_gid(kind, "n2")]
    assert kind.value in legend_labels(figure)


LASTING: list[tuple[MarkKind, list[tuple[float, str, dict[str, Any]]]]] = [
    (
        MarkKind.CLOCK_RATE,
        [(20.0, "node.clock", {"rate": 0.96}), (60.0, "node.clock", {"after": "clock"})],
    ),
    (
        MarkKind.CLOCK_STROBE,
        [
            (20.0, "node.clock", {"strobe": {"delta_ms": 200.0, "period_ms": 20.0}}),
            (60.0, "node.clock", {"after": "clock"}),
        ],
    ),
    (
        MarkKind.DISK_SLOW,
        [
            (20.0, "disk.fault", {"fault": "slow", "fsync_ms": 40.0}),
            (60.0, "disk.fault", {"fault": "slow", "fsync_ms": 1.0, "after": "slow"}),
        ],
    ),
    (
        MarkKind.HALTED,
        [
            (20.0, "disk.damage", {"file": "hard_state", "action": "halt"}),
            (60.0, "node.crash", {}),
        ],
    ),
]


@pytest.mark.parametrize(("kind", "rows"), LASTING, ids=lambda v: str(v))
def test_a_lasting_fault_is_a_bar_on_its_lane(
    kind: MarkKind, rows: list[tuple[float, str, dict[str, Any]]]
) -> None:
    figure = plot_timeline(
        events(*((t, event, "n3", fields) for t, event, fields in rows)), nodes=NODES
    )
    lanes = figure.axes[0]
    assert bars(the(lanes, mark_gid(kind, "n3"))) == [(20.0, 60.0)]
    # the damage that halts a server is also marked where it was found
    also = [mark_gid(MarkKind.DAMAGE, "n3")] if kind is MarkKind.HALTED else []
    assert fault_artists(lanes) == sorted([mark_gid(kind, "n3"), *also])
    assert kind.value in legend_labels(figure)


def test_a_transfer_is_an_arrow_from_the_leaders_lane_to_its_targets() -> None:
    figure = plot_timeline(events((30.0, "leader.transfer", "n1", {"to": "n3"})), nodes=NODES)
    lanes = figure.axes[0]
    (arrow,) = [p for p in lanes.patches if p.get_gid() == "fault-transfer-0"]
    assert isinstance(arrow, FancyArrowPatch)
    (x0, y0), (x1, y1) = arrow._posA_posB  # type: ignore[attr-defined]
    assert x0 == x1 == 30.0
    assert (y0, y1) == (1 - BAR_HEIGHT / 2, 3 - BAR_HEIGHT / 2)
    assert MarkKind.TRANSFER.value in legend_labels(figure)


@pytest.mark.parametrize(("op", "kind"), [("remove", MarkKind.REMOVE), ("add", MarkKind.ADD)])
def test_a_membership_change_is_marked_on_its_targets_lane_when_asked(
    op: str, kind: MarkKind
) -> None:
    figure = plot_timeline(
        events(
            (30.0, "membership", None, {"op": op, "target": "n3", "result": "requested"}),
            (31.0, "membership", None, {"op": op, "target": "n3", "result": "proposed"}),
        ),
        nodes=NODES,
    )
    lanes = figure.axes[0]
    assert [x for x, _ in instants(the(lanes, mark_gid(kind, "n3")))] == [30.0]
    assert fault_artists(lanes) == [mark_gid(kind, "n3")]
    assert kind.value in legend_labels(figure)


def test_a_mark_outside_the_window_is_not_drawn() -> None:
    figure = plot_timeline(
        events((10.0, "node.clock", "n2", {"jump_ms": 250.0})), nodes=NODES, window_ms=(50, 90)
    )
    assert fault_artists(figure.axes[0]) == []
    assert MarkKind.CLOCK_JUMP.value not in legend_labels(figure)


def test_a_run_without_such_faults_has_no_fault_marks(records: RunRecords) -> None:
    figure = plot_timeline(records.events, nodes=records.nodes)
    assert fault_artists(figure.axes[0]) == []
    assert not set(legend_labels(figure)) & {kind.value for kind in MarkKind}


@pytest.fixture(scope="module")
def marked(tmp_path_factory: pytest.TempPathFactory) -> RunRecords:
    return load_run_records(make_marked_run(tmp_path_factory.mktemp("marked") / "run"))


def test_the_run_with_every_fault_marks_each_at_its_time(marked: RunRecords) -> None:
    figure = plot_timeline(marked.events, nodes=marked.nodes)
    lanes = figure.axes[0]
    for name, (node, t_ms) in MARK_TIMES.items():
        kind = MarkKind[name.upper()]
        if kind is MarkKind.TRANSFER:
            assert [p.get_gid() for p in lanes.patches if p.get_gid() == "fault-transfer-0"]
            continue
        item = the(lanes, mark_gid(kind, node))
        starts = [x for x, _ in (bars(item) if kind.name in _LASTING else instants(item))]
        assert starts[0] == pytest.approx(t_ms), name
    assert the(lanes, mark_gid(MarkKind.REPAIRED, "n2"))
    assert {kind.value for kind in MarkKind} <= set(legend_labels(figure))


_LASTING = {"CLOCK_RATE", "CLOCK_STROBE", "DISK_SLOW", "HALTED"}


def test_the_plot_command_draws_the_marks(marked: RunRecords, tmp_path: Path) -> None:
    figure = plot_timeline(marked.events, nodes=marked.nodes)
    out = tmp_path / "timeline.svg"
    figure.savefig(out, format="svg")
    text = out.read_text()
    assert 'id="fault-clock-rate-n2"' in text
    assert 'id="fault-transfer-0"' in text
