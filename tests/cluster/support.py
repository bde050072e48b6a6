"""Running small scenarios in tests and reading their event logs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harmonysim.runner import RunOutcome, run_scenario
from harmonysim.scenario import parse_scenario
from harmonysim.sim.events import EventRecord, read_events


@dataclass
class Run:
    outcome: RunOutcome
    events: list[EventRecord]

    def of(self, kind: str, node: str | None = None) -> list[EventRecord]:
        return [e for e in self.events if e["kind"] == kind and (node is None or e["node"] == node)]

    def leaders(self) -> list[tuple[float, str, int]]:
        """(time, node, term) of every transition to leader."""
        return [
            (e["t"], e["node"], e["term"]) for e in self.of("raft.role") if e["role"] == "leader"
        ]


def run_text(text: str, tmp_path: Path, **overrides: Any) -> Run:
    scenario = parse_scenario(text)
    if overrides:
        from harmonysim.scenario import resolve

        scenario = resolve(scenario, **overrides)
    out = tmp_path / f"{scenario.name}-{scenario.seed}"
    outcome = run_scenario(scenario, out)
    return Run(outcome, read_events(out / "events.jsonl"))
