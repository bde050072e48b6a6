"""Hypothesis strategies that generate whole, valid scenarios.

Rules:
- Every strategy builds the YAML form of its part (the mapping a scenario file
  holds, durations as text such as ``150ms``), and ``scenarios()`` validates the
  whole through ``harmonysim.scenario.parse_scenario``: what comes out is exactly
  what a user could have written in a file, and always a valid ``Scenario``.
- The parts respect the schema's cross-field rules by construction: heartbeat
  below the minimum election timeout (§5.6), tick at most the heartbeat, faults
  before the end, node references within the cluster, partitions of every shape
  with the node counts each shape needs (ring >= 4, bridge >= 3).
- ``quiet_tail_ms`` keeps the end of the run free of faults, so liveness can be
  judged (``harmonysim.check.liveness``); schedules end with a heal, restarts of
  crashed nodes and resumes of paused ones, so nothing outlasts the faults.
- Everything shrinks towards small clusters, short runs and few faults.
"""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import strategies as st

from harmonysim.scenario import NEMESIS_KINDS, FaultTrigger, Scenario, parse_scenario

__all__ = [
    "cluster_data",
    "fault_schedules",
    "latency_data",
    "network_data",
    "partition_data",
    "scenario_data",
    "scenarios",
    "workload_data",
]


def _ms(value: int) -> str:
    return f"{value}ms"


@st.composite
def raft_data(draw: st.DrawFn) -> dict[str, Any]:
    """Raft timing and options that satisfy §5.6 (heartbeat < election timeout)."""
    low = draw(st.integers(100, 300))
    high = low + draw(st.integers(50, 300))
    heartbeat = draw(st.integers(10, low // 3))
    tick = draw(st.integers(2, heartbeat)) if draw(st.booleans()) else min(10, heartbeat)
    check_quorum = draw(st.booleans())
    return {
        "election_timeout": [_ms(low), _ms(high)],
        "heartbeat_interval": _ms(heartbeat),
        "tick": _ms(tick),
        "prevote": draw(st.booleans()),
        "check_quorum": check_quorum,
        "lease_reads": check_quorum and draw(st.booleans()),
        "snapshot_threshold": draw(st.sampled_from([50, 200, 1000])),
    }


@st.composite
def cluster_data(draw: st.DrawFn, nodes: st.SearchStrategy[int] | None = None) -> dict[str, Any]:
    """The ``cluster:`` mapping: node count, Raft settings, B+ tree order, disk."""
    count = draw(nodes if nodes is not None else st.integers(3, 7))
    return {
        "nodes": count,
        "raft": draw(raft_data()),
        "btree": {"order": draw(st.integers(3, 64))},
        "disk": {
            "fsync_latency": _ms(draw(st.integers(1, 5))),
            "write_latency": draw(st.sampled_from(["0.05ms", "0.1ms"])),
        },
    }


@st.composite
def latency_data(draw: st.DrawFn, max_ms: int = 20) -> dict[str, Any]:
    """A latency distribution of every kind, all well below election timeouts."""
    kind = draw(st.sampled_from(["constant", "uniform", "exponential", "lognormal"]))
    if kind == "constant":
        return {"distribution": kind, "value": _ms(draw(st.integers(1, max_ms)))}
    if kind == "uniform":
        low = draw(st.integers(1, max_ms - 1))
        return {
            "distribution": kind,
            "min": _ms(low),
            "max": _ms(draw(st.integers(low + 1, max_ms))),
        }
    if kind == "exponential":
        return {"distribution": kind, "mean": _ms(draw(st.integers(1, max(1, max_ms // 5))))}
    mean = draw(st.integers(1, max(1, max_ms // 4)))
    return {"distribution": kind, "mean": _ms(mean), "p99": _ms(mean * draw(st.integers(2, 4)))}


@st.composite
def network_data(draw: st.DrawFn, nodes: int) -> dict[str, Any]:
    """The ``network:`` mapping: latency, loss, duplication, jitter and link overrides."""
    data: dict[str, Any] = {
        "latency": draw(latency_data()),
        "loss": draw(st.sampled_from([0.0, 0.001, 0.01, 0.05])),
        "duplicate": draw(st.sampled_from([0.0, 0.001, 0.01])),
        "jitter": _ms(draw(st.integers(0, 5))),
    }
    if draw(st.booleans()):
        a, b = draw(st.lists(st.integers(1, nodes), min_size=2, max_size=2, unique=True))
        data["links"] = [
            {
                "from": f"n{a}",
                "to": f"n{b}",
                "both_ways": draw(st.booleans()),
                "latency": draw(latency_data(max_ms=60)),
            }
        ]
    return data


@st.composite
def workload_data(draw: st.DrawFn) -> dict[str, Any]:
    """The ``workload:`` mapping: clients, open or closed loop, mix, keys, timeout."""
    mix = {
        "get": draw(st.sampled_from([0.0, 0.3, 0.5])),
        "put": draw(st.sampled_from([0.2, 0.4])),
        "delete": draw(st.sampled_from([0.0, 0.05])),
        "cas": draw(st.sampled_from([0.0, 0.1, 0.2])),
        "scan": draw(st.sampled_from([0.0, 0.05])),
    }
    clients = draw(st.integers(1, 6))
    data: dict[str, Any] = {
        "clients": clients,
        "mix": {op: weight for op, weight in mix.items() if weight > 0},
        "keys": {
            "count": draw(st.integers(1, 60)),
            "distribution": draw(st.sampled_from(["uniform", "zipf"])),
        },
        "timeout": _ms(draw(st.integers(300, 1000))),
    }
    if draw(st.booleans()):
        data["rate"] = f"{draw(st.integers(clients, 100))}/s"
    return data


def _nodes(count: int) -> list[str]:
    return [f"n{index}" for index in range(1, count + 1)]


@st.composite
def partition_data(draw: st.DrawFn, nodes: int) -> dict[str, Any]:
    """A partition of any shape the cluster size allows: isolate, groups, one_way,
    bridge, ring."""
    shapes = ["isolate", "groups", "one_way"]
    if nodes >= 3:
        shapes.append("bridge")
    if nodes >= 4:
        shapes.append("ring")
    shape = draw(st.sampled_from(shapes))
    ids = _nodes(nodes)
    if shape == "isolate":
        return {"isolate": draw(st.sampled_from([*ids, "leader"]))}
    if shape == "bridge":
        return {"bridge": draw(st.sampled_from(ids))}
    if shape == "ring":
        return {"ring": True}
    shuffled = draw(st.permutations(ids))
    cut = draw(st.integers(1, nodes - 1))
    if shape == "groups":
        return {"groups": [sorted(shuffled[:cut]), sorted(shuffled[cut:])]}
    return {"one_way": {"from": sorted(shuffled[:cut]), "to": sorted(shuffled[cut:])}}


@st.composite
def fault_schedules(
    draw: st.DrawFn, nodes: int, duration_ms: int, quiet_tail_ms: int = 0
) -> list[dict[str, Any]]:
    """Faults between 0 and ``duration_ms - quiet_tail_ms``: partitions, crashes,
    restarts, clogs, pauses, membership changes (removing a node, adding a removed one
    back), or a nemesis; then heals, restarts, resumes and adds, so the tail is quiet.
    Some partitions, crashes and pauses wait for an event (``when``) and strike the
    leader of that event."""
    end = duration_ms - quiet_tail_ms
    if end <= 10:
        return []
    ids = _nodes(nodes)
    faults: list[dict[str, Any]] = []
    if draw(st.booleans()) and end > 400:
        start = draw(st.integers(0, end // 2))
        faults.append(
            {
                "at": _ms(start),
                "nemesis": {
                    "kinds": draw(
                        st.lists(
                            st.sampled_from(NEMESIS_KINDS), min_size=1, max_size=4, unique=True
                        )
                    ),
                    "interval": _ms(draw(st.integers(100, 1000))),
                    "until": _ms(draw(st.integers(start + 1, end))),
                },
            }
        )
    crashed: set[str] = set()
    paused: set[str] = set()
    clogged = False
    removed: list[str] = []
    times = sorted(draw(st.lists(st.integers(0, end - 1), max_size=6)))
    for at in times:
        kind = draw(
            st.sampled_from(
                [
                    "partition",
                    "heal",
                    "crash",
                    "restart",
                    "clog",
                    "pause",
                    "remove",
                    "add",
                    "transfer",
                    "clock",
                    "disk",
                ]
            )
        )
        members = [node for node in ids if node not in removed]
        if kind == "remove" and len(members) < 2:
            kind = "heal"
        if kind == "add" and not removed:
            kind = "heal"
        fault: dict[str, Any] = {"at": _ms(at)}
        if kind == "remove":
            target = draw(st.sampled_from(members))
            removed.append(target)
            fault["remove"] = target
        elif kind == "add":
            target = draw(st.sampled_from(removed))
            removed.remove(target)
            fault["add"] = target
        elif kind in ("partition", "crash", "pause") and at < end - 3 and draw(st.booleans()):
            # Triggered: armed at `at`, it strikes whoever leads at the first such event
            # (elections and commits are the instants some bugs need), before the
            # schedule is undone.
            fault["when"] = draw(st.sampled_from([trigger.value for trigger in FaultTrigger]))
            fault["until"] = _ms(draw(st.integers(at + 1, end - 2)))
            if kind == "partition":
                fault["partition"] = {"isolate": "leader"}
            elif kind == "crash":
                fault["crash"] = "leader"
                crashed.update(ids)  # whichever it was is restarted at the end
            else:
                fault["pause"] = "leader"
                paused.update(ids)
        elif kind == "partition":
            fault["partition"] = draw(partition_data(nodes))
        elif kind == "heal":
            fault["heal"] = "all"
        elif kind == "crash":
            target = draw(st.sampled_from(ids))
            crashed.add(target)
            fault["crash"] = target
        elif kind == "restart":
            fault["restart"] = draw(st.sampled_from(sorted(crashed) or ids))
            crashed.discard(fault["restart"])
        elif kind == "transfer":
            fault["transfer"] = {"to": draw(st.sampled_from(["any", *ids]))}
        elif kind == "clock":
            # Steps and strobes of the wall clock only: a rate beyond the lease's drift
            # bound would make stale lease reads legitimate findings, not bugs.
            change: dict[str, Any] = draw(
                st.sampled_from(
                    [
                        {"jump": "-1s"},
                        {"jump": "+500ms"},
                        {"strobe": {"delta": "50ms", "period": "10ms"}},
                    ]
                )
            )
            fault["clock"] = {"node": draw(st.sampled_from([*ids, "leader"])), **change}
            fault["for"] = _ms(draw(st.integers(1, max(1, end - 1 - at))))
        elif kind == "disk":
            # A slow disk: storage damage has its own scenarios (repair needs a leader
            # among the others, which a random schedule does not promise).
            fault["disk"] = {"node": draw(st.sampled_from(ids)), "slow": {"fsync": "20ms"}}
            fault["for"] = _ms(draw(st.integers(1, max(1, end - 1 - at))))
        elif kind == "clog":
            a, b = draw(st.lists(st.sampled_from(ids), min_size=2, max_size=2, unique=True))
            fault["clog"] = {"from": a, "to": b, "both_ways": draw(st.booleans())}
            clogged = True
        else:
            target = draw(st.sampled_from(ids))
            paused.add(target)
            fault["pause"] = target
        faults.append(fault)
    if times:  # undo everything at the end of the faulty period
        faults.append({"at": _ms(end - 1), "heal": "all"})
        if clogged:
            faults.append({"at": _ms(end - 1), "unclog": "all"})
        faults.extend({"at": _ms(end - 1), "restart": node} for node in sorted(crashed))
        faults.extend({"at": _ms(end - 1), "resume": node} for node in sorted(paused))
        faults.extend({"at": _ms(end - 1), "add": node} for node in removed)
    return faults


@st.composite
def scenario_data(
    draw: st.DrawFn,
    *,
    nodes: st.SearchStrategy[int] | None = None,
    duration_ms: st.SearchStrategy[int] | None = None,
    quiet_tail_ms: int = 0,
    faults: bool = True,
) -> dict[str, Any]:
    """The YAML form of a whole scenario (see ``scenarios``)."""
    cluster = draw(cluster_data(nodes))
    count = cluster["nodes"]
    duration = draw(duration_ms if duration_ms is not None else st.integers(1000, 20000))
    data: dict[str, Any] = {
        "name": f"generated-{count}-nodes",
        "description": "A scenario generated by harmonysim.testing.strategies.",
        "seed": draw(st.integers(0, 2**32 - 1)),
        "duration": _ms(duration),
        "cluster": cluster,
        "network": draw(network_data(count)),
        "workload": draw(workload_data()),
        "faults": draw(fault_schedules(count, duration, quiet_tail_ms)) if faults else [],
        "checks": ["raft_safety", "linearizability", "btree_invariants", "liveness"],
    }
    return data


@st.composite
def scenarios(
    draw: st.DrawFn,
    *,
    nodes: st.SearchStrategy[int] | None = None,
    duration_ms: st.SearchStrategy[int] | None = None,
    quiet_tail_ms: int = 0,
    faults: bool = True,
) -> Scenario:
    """Valid ``Scenario`` objects: any cluster size (3..7 by default), network model,
    workload and fault schedule, validated as a scenario file would be."""
    data = draw(
        scenario_data(
            nodes=nodes, duration_ms=duration_ms, quiet_tail_ms=quiet_tail_ms, faults=faults
        )
    )
    return parse_scenario(yaml.safe_dump(data, sort_keys=False), source="<generated>")
