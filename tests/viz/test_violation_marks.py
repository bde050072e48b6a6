"""Failures first: the time-axis plots mark violations, the message diagram opens at the first.

The failing run breaks raft_safety (entries applied before they commit, from about
0.2 s) and linearizability (a stale read from the isolated leader after 1 s); the
expected times come from its run.json, read here on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

from harmonysim.cli import main
from harmonysim.runlog.violations import Violation
from harmonysim.viz import (
    RunRecords,
    load_run_records,
    plot_btree,
    plot_clients,
    plot_messages,
    plot_timeline,
)
from harmonysim.viz.records import MESSAGE_KINDS, read_violations
from harmonysim.viz.render import MessageWindow, message_window, plot_run


@pytest.fixture(scope="module")
def failing(failing_run_dir: Path) -> RunRecords:
    return load_run_records(failing_run_dir)


@pytest.fixture(scope="module")
def violations(failing_run_dir: Path, failing: RunRecords) -> list[Violation]:
    return read_violations(failing_run_dir, failing.duration_ms)


def recorded_times(run_dir: Path) -> dict[str, list[float]]:
    checks = orjson.loads((run_dir / "run.json").read_bytes())["checks"]
    safety = [v["time_ms"] for v in checks["raft_safety"]["details"]["violations"]]
    called = [p["at_ms"] for p in checks["linearizability"]["details"]["problems"]]
    return {"raft_safety": safety, "linearizability": called}


def marks(axes: Axes) -> dict[str, float]:
    """gid -> x of every violation line on ``axes``."""
    found: dict[str, float] = {}
    for line in axes.get_lines():
        gid = str(line.get_gid())
        if gid.startswith("violation-"):
            xs = {float(x) for x in line.get_xdata()}  # type: ignore[union-attr]
            assert len(xs) == 1, f"{gid} is not vertical"
            found[gid] = xs.pop()
    return found


def legend_labels(figure: Figure) -> Iterator[str]:
    for legend in [*figure.legends, *(a.get_legend() for a in figure.axes)]:
        if legend is not None:
            yield from (text.get_text() for text in legend.get_texts())


def expected_marks(run_dir: Path, window: tuple[float, float]) -> dict[str, float]:
    return {
        f"violation-{check}-{k}": t
        for check, times in recorded_times(run_dir).items()
        for k, t in enumerate(times)
        if window[0] <= t <= window[1]
    }


def test_the_failing_run_has_marks_of_both_checks(
    violations: list[Violation], failing_run_dir: Path
) -> None:
    times = recorded_times(failing_run_dir)
    assert [v.time_ms for v in violations if v.check == "raft_safety"] == sorted(
        times["raft_safety"]
    )
    assert [v.time_ms for v in violations if v.check == "linearizability"] == times[
        "linearizability"
    ]
    assert violations[0].check == "raft_safety" and violations[0].time_ms < 1000.0


def test_timeline_marks_every_violation_on_both_panels(
    failing: RunRecords, violations: list[Violation], failing_run_dir: Path
) -> None:
    figure = plot_timeline(failing.events, nodes=failing.nodes, violations=violations)
    expected = expected_marks(failing_run_dir, (0.0, failing.duration_ms))
    assert len(expected) == 11
    lanes, commits = figure.axes
    assert marks(lanes) == expected
    assert marks(commits) == expected
    labels = list(legend_labels(figure))
    assert "violation: raft_safety" in labels and "violation: linearizability" in labels
    names = {str(t.get_gid()): t.get_text() for t in lanes.texts}
    assert names["violation-label-linearizability"] == "linearizability"


def test_a_window_marks_only_the_violations_inside_it(
    failing: RunRecords, violations: list[Violation], failing_run_dir: Path
) -> None:
    window = (1000.0, 3000.0)
    figure = plot_timeline(
        failing.events, nodes=failing.nodes, violations=violations, window_ms=window
    )
    assert marks(figure.axes[0]) == expected_marks(failing_run_dir, window)
    assert set(marks(figure.axes[0])) == {"violation-linearizability-0"}
    assert "violation: raft_safety" not in list(legend_labels(figure))


def test_clients_and_btree_mark_their_time_panels(
    failing: RunRecords, violations: list[Violation], failing_run_dir: Path
) -> None:
    expected = expected_marks(failing_run_dir, (0.0, failing.duration_ms))
    clients = plot_clients(failing.history, events=failing.events, violations=violations)
    latency, throughput, process, cdf, counts = clients.axes
    for axes in (latency, throughput, process):
        assert marks(axes) == expected
    assert marks(cdf) == {} and marks(counts) == {}
    btree = plot_btree(failing.events, nodes=failing.nodes, violations=violations)
    *time_panels, hot = btree.axes
    assert len(time_panels) == 4
    for axes in time_panels:
        assert marks(axes) == expected
    assert marks(hot) == {}
    assert "violation: linearizability" in list(legend_labels(btree))


def test_a_run_without_violations_draws_no_marks(run_dir: Path, records: RunRecords) -> None:
    assert read_violations(run_dir, records.duration_ms) == []
    figure = plot_timeline(records.events, nodes=records.nodes)
    for axes in figure.axes:
        assert marks(axes) == {}
    assert not any(label.startswith("violation") for label in legend_labels(figure))


def test_the_message_window_opens_around_the_first_violation(
    failing: RunRecords, violations: list[Violation]
) -> None:
    first = violations[0]
    chosen = message_window(failing.events, (0.0, failing.duration_ms), violations)
    assert chosen == MessageWindow(
        first.time_ms - 150.0,
        first.time_ms + 150.0,
        "300 ms around the first violation (raft_safety)",
    )
    # A window asked for holds the first violation inside it, whatever came before.
    later = message_window(failing.events, (1000.0, 3000.0), violations, asked=True)
    lin = next(v for v in violations if v.check == "linearizability")
    assert (later.start_ms, later.end_ms) == (lin.time_ms - 150.0, lin.time_ms + 150.0)
    assert later.reason == (
        "300 ms around the first violation (linearizability) inside the window asked for "
        "(1,000–3,000 ms is longer than the 1,000 ms a readable diagram shows)"
    )
    short = message_window(failing.events, (1200.0, 1400.0), violations, asked=True)
    assert short == MessageWindow(1200.0, 1400.0, "the window asked for")


def test_without_violations_the_window_is_around_the_first_partition(
    records: RunRecords,
) -> None:
    (partition,) = [e for e in records.events if e["kind"] == "net.partition"]
    chosen = message_window(records.events, (0.0, records.duration_ms))
    assert chosen.start_ms == partition["t"] - 50.0
    assert chosen.reason == "300 ms around the first partition"


def test_the_message_diagram_title_says_which_window_and_why(
    failing: RunRecords, violations: list[Violation]
) -> None:
    chosen = message_window(failing.events, (0.0, failing.duration_ms), violations)
    window = (chosen.start_ms, chosen.end_ms)
    figure = plot_messages(
        failing.events,
        window_ms=window,
        nodes=failing.nodes,
        violations=violations,
        window_reason=chosen.reason,
    )
    title = figure.get_suptitle()
    start, end = (f"{value:,.1f}".removesuffix(".0") for value in window)
    assert title.startswith(f"Messages {start}–{end} ms: 300 ms around the first violation")
    (axes,) = figure.axes
    assert marks(axes)["violation-raft_safety-0"] == violations[0].time_ms


def test_a_window_without_messages_says_so(failing: RunRecords) -> None:
    quiet = [e for e in failing.events if e["kind"] not in MESSAGE_KINDS]
    figure = plot_messages(quiet, window_ms=(500.0, 700.0), nodes=failing.nodes)
    (axes,) = figure.axes
    (note,) = [t for t in axes.texts if t.get_gid() == "no-messages"]
    assert note.get_text() == "no messages were sent between 500 and 700 ms"
    assert "no messages in this window" in figure.get_suptitle()
    assert not any(isinstance(p, FancyArrowPatch) for p in axes.patches)


def test_the_cli_draws_the_messages_of_a_window_asked_for(
    failing_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p"
    arguments = ["plot", str(failing_run_dir), "--out", str(out), "--kind", "messages"]
    assert main([*arguments, "--from", "1200ms", "--to", "1400ms", "--json"]) == 0
    assert orjson.loads(capsys.readouterr().out) == {"files": [str(out / "messages.png")]}
    assert main([*arguments, "--from", "1400ms", "--to", "1200ms"]) == 2
    assert "--from (1400 ms) must be before --to (1200 ms)" in capsys.readouterr().err
    assert main([*arguments, "--from", "3s", "--to", "4s"]) == 2
    assert "at or after the end of the run (3000 ms)" in capsys.readouterr().err


def svg_of(path: Path) -> tuple[set[str], list[str]]:
    """The ids and the text (matplotlib writes each text drawn as paths in a comment)."""
    text = path.read_text()
    return set(re.findall(r'id="([^"]+)"', text)), re.findall(r"<!-- (.*?) -->", text)


def test_plot_run_marks_every_time_plot_and_titles_the_message_window(
    failing_run_dir: Path, violations: list[Violation], tmp_path: Path
) -> None:
    kinds = ["timeline", "messages", "clients", "btree", "btree-structure"]
    written = plot_run(failing_run_dir, tmp_path, kinds=kinds, fmt="svg")
    files = dict(zip(kinds, written, strict=True))
    for kind in ("timeline", "clients", "btree"):
        ids, _ = svg_of(files[kind])
        assert {"violation-raft_safety-0", "violation-linearizability-0"} <= ids, kind
    ids, texts = svg_of(files["btree-structure"])
    assert not any(i.startswith("violation") for i in ids)
    ids, texts = svg_of(files["messages"])
    first = violations[0]
    around = (first.time_ms - 150, first.time_ms + 150)
    start, end = (f"{t:,.1f}".removesuffix(".0") for t in around)
    assert f"Messages {start}–{end} ms: 300 ms around the first violation (raft_safety)" in texts
    assert "violation-raft_safety-0" in ids and "violation-linearizability-0" not in ids
    # Asked for a short window, the diagram draws it and says so.
    (asked,) = plot_run(
        failing_run_dir, tmp_path / "asked", kinds=["messages"], fmt="svg", window_ms=(1200, 1400)
    )
    ids, texts = svg_of(asked)
    assert "Messages 1,200–1,400 ms: the window asked for" in texts
    assert "violation-linearizability-0" in ids
