"""``plot_run`` and ``harmonysim plot``: files, byte-identical renders, and bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from harmonysim.cli import main
from harmonysim.sim.events import EventRecord
from harmonysim.viz import PlotInputError, plot_run
from harmonysim.viz.records import load_run_records, read_event_lines
from harmonysim.viz.render import message_window

ROOT = Path(__file__).resolve().parents[2]


def test_plot_run_writes_one_file_per_kind_and_renders_identically(
    run_dir: Path, tmp_path: Path
) -> None:
    first = plot_run(run_dir, tmp_path / "a")
    second = plot_run(run_dir, tmp_path / "b")
    assert [path.name for path in first] == [
        "timeline.png",
        "messages.png",
        "clients.png",
        "btree.png",
        "btree-structure.png",
    ]
    for one, other in zip(first, second, strict=True):
        data = one.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert data == other.read_bytes(), f"{one.name} differs between two renders"
        assert b"Software" not in data and b"matplotlib" not in data


def test_svg_is_byte_identical_in_a_fresh_process_with_another_hash_seed(
    run_dir: Path, tmp_path: Path
) -> None:
    (here,) = plot_run(run_dir, tmp_path / "here", kinds=["timeline"], fmt="svg")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "harmonysim",
            "plot",
            str(run_dir),
            "--out",
            str(tmp_path / "there"),
            "--kind",
            "timeline",
            "--format",
            "svg",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout) == {"files": [str(tmp_path / "there" / "timeline.svg")]}
    there = (tmp_path / "there" / "timeline.svg").read_bytes()
    assert there == here.read_bytes()
    assert b"<dc:date>" not in there
    # The gids name the drawn shapes in the SVG.
    assert b'id="partition-0"' in there and b'id="down-n2-0"' in there


def test_window_applies_to_the_message_diagram_when_short(run_dir: Path, tmp_path: Path) -> None:
    (path,) = plot_run(run_dir, tmp_path, kinds=["messages"], window_ms=(2150.0, 2350.0))
    assert path.name == "messages.png" and path.stat().st_size > 10_000


def test_a_long_window_gives_the_message_diagram_a_300_ms_slice_inside_it(
    all_events: list[EventRecord],
) -> None:
    def window(within: tuple[float, float], asked: bool = True) -> tuple[float, float]:
        chosen = message_window(all_events, within, asked=asked)
        return (chosen.start_ms, chosen.end_ms)

    assert window((2150.0, 2350.0)) == (2150.0, 2350.0)
    (partition,) = [e for e in all_events if e["kind"] == "net.partition"]
    start = partition["t"] - 50.0
    assert window((0.0, 4000.0)) == (start, start + 300.0)
    # No partition after 2.5 s: the first election in the window, else its start.
    elections = [
        e["t"]
        for e in all_events
        if e["kind"] == "raft.role"
        and e["role"] in ("pre_candidate", "candidate")
        and 2500.0 <= e["t"] < 4000.0
    ]
    expected = elections[0] - 50.0 if elections else 2500.0
    assert window((2500.0, 4000.0)) == (expected, expected + 300.0)
    # The whole run, not asked for, is never drawn whole however short it is.
    assert window((0.0, 900.0), asked=False) != (0.0, 900.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kinds": ["timeline", "heatmap"]}, "unknown plot kind 'heatmap'"),
        ({"kinds": []}, "no plot kind"),
        ({"fmt": "gif"}, "unknown image format 'gif'"),
        ({"window_ms": (2000.0, 1000.0)}, "must start before it ends"),
        ({"window_ms": (-5.0, 1000.0)}, "before 0 ms"),
        ({"window_ms": (4000.0, 5000.0)}, "at or after the end of the run"),
    ],
)
def test_plot_run_rejects_bad_input(
    run_dir: Path, tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(PlotInputError, match=message):
        plot_run(run_dir, tmp_path, **kwargs)  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())


def test_plot_run_rejects_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(PlotInputError, match=r"run\.json"):
        plot_run(tmp_path, tmp_path / "plots")


def test_cli_draws_the_chosen_kinds_in_a_window(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plots"
    code = main(
        [
            "plot",
            str(run_dir),
            "--out",
            str(out),
            "--kind",
            "btree",
            "--kind",
            "timeline",
            "btree",
            "--from",
            "0",
            "--to",
            "2500ms",
            "--json",
        ]
    )
    assert code == 0
    assert orjson.loads(capsys.readouterr().out) == {
        "files": [str(out / "btree.png"), str(out / "timeline.png")]
    }


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--from", "3s", "--to", "2s"], "must be before --to"),
        (["--from", "4s"], "at or after the end of the run"),
        (["--from", "5s", "--to", "6s"], "at or after the end of the run"),
        (["--to", "soon"], "--to"),
        (["--kind", "heatmap"], "invalid choice: 'heatmap'"),
        (["--format", "gif"], "invalid choice: 'gif'"),
    ],
)
def test_cli_bad_input_exits_2_with_one_message(
    run_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    message: str,
) -> None:
    code: int | str | None
    try:
        code = main(["plot", str(run_dir), "--out", str(tmp_path / "p"), *arguments])
    except SystemExit as stop:  # argparse rejects flags itself
        code = stop.code
    assert code == 2
    error = capsys.readouterr().err
    assert message in error
    assert "Traceback" not in error
    assert not (tmp_path / "p").exists()


def test_cli_rejects_a_missing_run_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plot", str(tmp_path / "nowhere")]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_malformed_event_line_names_the_file_and_line(run_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("run.json", "history.jsonl"):
        (broken / name).write_bytes((run_dir / name).read_bytes())
    lines = (run_dir / "events.jsonl").read_bytes().splitlines()[:3]
    (broken / "events.jsonl").write_bytes(b"\n".join([*lines, b'{"t":1.0,"seq":']) + b"\n")
    with pytest.raises(PlotInputError, match=r"events\.jsonl:4: not an event record"):
        load_run_records(broken)
    (broken / "history.jsonl").unlink()
    with pytest.raises(PlotInputError, match=r"history\.jsonl: missing"):
        plot_run(broken, tmp_path / "out", kinds=["clients"])


def test_message_events_can_be_narrowed_to_a_window(run_dir: Path) -> None:
    path = run_dir / "events.jsonl"
    every = read_event_lines(path, ["msg.send", "msg.deliver"])
    narrowed = read_event_lines(
        path, ["msg.send", "msg.deliver"], messages_between_ms=(1000.0, 1100.0)
    )
    sends = [e for e in narrowed if e["kind"] == "msg.send"]
    assert sends == [e for e in every if e["kind"] == "msg.send" and 1000.0 <= e["t"] < 1100.0]
    assert all(e["t"] >= 1000.0 for e in narrowed)
    assert len(narrowed) < len(every)
