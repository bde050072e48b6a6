"""`--duration` means one thing in `run`, `explore` and `mutants`: run this long, faults as written.

A fault at or after the new end, or a nemesis running past it, is bad input (exit 2)
in every command; no command drops or cuts a fault in silence.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harmonysim.cli import main
from harmonysim.cli.explore import with_duration
from harmonysim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
NEMESIS = ROOT / "scenarios" / "nemesis.yaml"  # a nemesis from 2s until 25s
STANDARD = ROOT / "scenarios" / "standard.yaml"  # faults at 8s, 14s, 18s, 22s


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["run", str(STANDARD), "--duration", "10s"], "faults[1].at"),
        (["run", str(NEMESIS), "--duration", "10s"], "faults[0].nemesis.until"),
        (["explore", str(NEMESIS), "--duration", "10s", "--seeds", "1"], "faults[0].nemesis"),
        (["mutants", "--scenarios", "nemesis", "--duration", "10s", "--seeds", "1"], "faults[0]"),
    ],
)
def test_a_duration_that_cuts_a_fault_is_bad_input_everywhere(
    argv: list[str], field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert field in error
    assert "--duration keeps every fault" in error
    assert not (tmp_path / "out").exists()


def test_a_duration_after_the_faults_keeps_them_as_written() -> None:
    scenario = load_scenario(NEMESIS)
    longer = with_duration(scenario, 40_000.0)
    assert longer.duration_ms == 40_000.0
    assert longer.faults == scenario.faults  # the nemesis still stops at 25s
