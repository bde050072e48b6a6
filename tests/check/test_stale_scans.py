"""A scan served from a deposed leader's own state, without a ReadIndex round (the
`read_without_read_index` bug), is caught by the linearizability check; the same seed
runs clean without the bug (thesis §6.4).

The workload writes and scans only, so nothing but a scan can expose the stale state:
no get, no cas."""

from __future__ import annotations

from pathlib import Path

from harmonysim.check.result import CheckStatus
from harmonysim.runner import run_scenario
from harmonysim.scenario import load_scenario, resolve

STALE_LEADER = Path(__file__).resolve().parents[2] / "scenarios" / "stale-leader.yaml"
SEED = 1


def scans_only(tmp_path: Path) -> Path:
    text = STALE_LEADER.read_text(encoding="utf-8")
    mix = "mix: {get: 0.5, put: 0.4, cas: 0.1}"
    assert mix in text
    path = tmp_path / "stale-scan.yaml"
    path.write_text(text.replace(mix, "mix: {put: 0.5, scan: 0.5}"), encoding="utf-8")
    return path


def test_a_stale_scan_is_caught(tmp_path: Path) -> None:
    scenario = resolve(
        load_scenario(scans_only(tmp_path)), seed=SEED, bugs=["read_without_read_index"]
    )
    outcome = run_scenario(scenario, tmp_path / "bug", trace_sample=0.0)
    linearizability = outcome.checks["linearizability"]
    assert linearizability.status is CheckStatus.VIOLATION, linearizability.summary
    assert outcome.checks["raft_safety"].status is CheckStatus.OK  # only the reads are wrong
    # What cannot follow the longest linearizable prefix is a scan.
    assert "scan called at" in linearizability.summary
    assert any(
        "scan(" in line and "impossible" in line for line in linearizability.details["explanation"]
    )


def test_the_same_seed_scans_clean_without_the_bug(tmp_path: Path) -> None:
    scenario = resolve(load_scenario(scans_only(tmp_path)), seed=SEED)
    outcome = run_scenario(scenario, tmp_path / "clean", trace_sample=0.0)
    assert outcome.exit_code == 0
    linearizability = outcome.checks["linearizability"]
    assert linearizability.status is CheckStatus.OK
    assert linearizability.details["scans"] > 1000  # the scans were checked, not excluded
