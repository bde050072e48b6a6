"""A short run with one fault of every kind the fault marks show, shared by the tests of
the timeline plot, the dashboard and the exports (``harmonysim.runlog.faultmarks``).

In three seconds and a half on three servers: n2's clock runs at 0.97 (0.5 s .. 1 s);
n3's wall clock jumps 250 ms (0.6 s) and strobes (0.7 s .. 1 s); n2's fsyncs take
20 ms (0.8 s .. 1.2 s); the leader n1 hands leadership to n2 (1 s); n3 is removed
(1.5 s) and added back (2 s); n2's log is corrupted and n2 crashes (2.5 s), reads the
damage back when it restarts (2.7 s) and is repaired by the leader; resuming n1, which
is not paused, has no effect (3 s); both copies of n3's hard state are corrupted and n3
crashes (3.2 s): it reads them back damaged and halts (3.4 s); one damaged copy alone
would be recovered from the other.
"""

from __future__ import annotations

from pathlib import Path

from harmonysim.runner import run_scenario
from harmonysim.scenario import parse_scenario

MARKED_FAULTS = """
name: marked-faults
seed: 1
duration: 4s
cluster: {nodes: 3}
network: {latency: {distribution: lognormal, mean: 5ms, p99: 30ms}}
workload: {clients: 2, rate: 50/s, mix: {get: 0.5, put: 0.5}, keys: {count: 20}}
faults:
  - {at: 500ms, clock: {node: n2, rate: 0.97}, for: 500ms}
  - {at: 600ms, clock: {node: n3, jump: 250ms}}
  - {at: 700ms, clock: {node: n3, strobe: {delta: 100ms, period: 20ms}}, for: 300ms}
  - {at: 800ms, disk: {node: n2, slow: {fsync: 20ms}}, for: 400ms}
  - {at: 1s, transfer: {to: n2}}
  - {at: 1500ms, remove: n3}
  - {at: 2s, add: n3}
  - {at: 2500ms, disk: {node: n2, corrupt: {file: log}}}
  - {at: 2500ms, crash: n2, for: 200ms}
  - {at: 3s, resume: n1}
  - {at: 3200ms, disk: {node: n3, corrupt: {file: hard_state}}}
  - {at: 3200ms, disk: {node: n3, corrupt: {file: hard_state.b}}}
  - {at: 3200ms, crash: n3, for: 200ms}
checks: []
"""

MARK_TIMES: dict[str, tuple[str, float]] = {
    "clock_rate": ("n2", 500.0),
    "clock_jump": ("n3", 600.0),
    "clock_strobe": ("n3", 700.0),
    "disk_slow": ("n2", 800.0),
    "transfer": ("n1", 1000.0),
    "remove": ("n3", 1500.0),
    "add": ("n3", 2000.0),
    "disk_fault": ("n2", 2500.0),
    "damage": ("n2", 2700.0),
    "noop": ("n1", 3000.0),
    "halted": ("n3", 3400.0),
}
"""Mark kind (``MarkKind`` name, lower case) -> (server, start ms) of its first mark;
``repaired`` comes when the leader has given n2 its entries back, a little after 2.7 s."""


def make_marked_run(out: Path) -> Path:
    """Run ``MARKED_FAULTS`` into ``out`` (a new folder); returns it."""
    run_scenario(parse_scenario(MARKED_FAULTS, source="<marked-faults>"), out)
    return out
