"""`harmonysim bench cluster`: a whole run measured beside the kernel, figures consistent."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from harmonysim.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_cluster_bench_reports_consistent_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "short.yaml"
    text = (ROOT / "scenarios" / "steady-state.yaml").read_text(encoding="utf-8")
    scenario.write_text(text.replace("duration: 10s", "duration: 1s"), encoding="utf-8")
    assert "duration: 1s" in scenario.read_text(encoding="utf-8")
    args = ["--scenario", str(scenario), "--repeat", "1", "--messages", "2000", "--json"]
    status = main(["bench", "cluster", *args])
    assert status == 0
    figures = orjson.loads(capsys.readouterr().out)
    assert figures["virtual_seconds"] == 1.0
    assert figures["messages"] > 100  # the run did simulate a cluster at work
    assert figures["us_per_message"] == pytest.approx(
        figures["in_process_seconds"] / figures["messages"] * 1e6
    )
    assert figures["vs_bare"] == pytest.approx(
        figures["us_per_message"] / figures["bare_us_per_message"]
    )
    assert figures["whole_process_speedup"] == pytest.approx(1.0 / figures["whole_process_seconds"])
    # A whole process includes starting the interpreter, and a run costs more per
    # message than the network alone.
    assert figures["whole_process_seconds"] > figures["startup_seconds"] > 0
    assert figures["us_per_message"] > figures["kernel_us_per_message"]
    assert figures["speedup_goal"] == 50.0
