"""Scenario edits for shrinking: each takes and returns the YAML data form of a scenario.

Rules:
- Edits work on ``scenario_to_data`` output (YAML keys, durations as text) and never
  mutate their input; `build` turns the result back into a `Scenario` through
  `parse_scenario`, so every candidate is validated like a file, and an edit that makes
  an invalid scenario is simply not a candidate.
- Shortening never cuts a fault in half silently: faults at or after the new end are
  dropped, and a nemesis that would run past it is stopped at the end, as is the wait
  of a fault with ``when``.
- Removing nodes drops what refers to them (faults, link overrides, partition members),
  so the smaller cluster is still a valid scenario. ``leader`` refers to no fixed node.
- A nemesis is unrolled from what it did in a run (its ``nemesis`` events and the fault
  event right after each): every step becomes an explicit fault, and its undo an
  explicit fault at the next step (or at ``until``), exactly as the nemesis schedules
  it (sim/faults.py). Steps of nemeses that overlap in time cannot be told apart, so
  those are not unrolled. A chasing partition's later strikes become faults waiting
  (``when``) for the election or the first commit they struck at, until the chase ends.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import yaml

from harmonysim.runlog.vocabulary import EventKind
from harmonysim.scenario import (
    Scenario,
    ScenarioError,
    format_duration,
    parse_duration,
    parse_scenario,
)
from harmonysim.scenario.model import MIN_BRIDGE_NODES, MIN_RING_NODES, FaultTrigger

_COMMIT: Final = FaultTrigger.LEADER_COMMIT.value
_MICROSECOND_MS: Final = 0.001

__all__ = [
    "Data",
    "build",
    "fault_at_ms",
    "fault_kind",
    "remove_faults",
    "restrict_nodes",
    "set_fault_at",
    "undo_pairs",
    "unroll_nemesis",
    "with_duration",
]

Data = dict[str, Any]

LEADER: Final = "leader"
_ACTIONS: Final = (
    "partition",
    "heal",
    "crash",
    "restart",
    "pause",
    "resume",
    "clog",
    "unclog",
    "nemesis",
    "add",
    "remove",
    "transfer",
    "clock",
)
_TIME_TOLERANCE_MS: Final = 1e-6


def build(data: Mapping[str, Any], source: str = "shrink candidate") -> Scenario | None:
    """The validated scenario for ``data``, or None when it is not a valid scenario."""
    try:
        return parse_scenario(yaml.safe_dump(dict(data), sort_keys=False), source=source)
    except ScenarioError:
        return None


def fault_kind(fault: Mapping[str, Any]) -> str:
    """The action key of a fault in data form (``crash``, ``nemesis`` ...)."""
    for action in _ACTIONS:
        if action in fault:
            return action
    raise ValueError(f"a fault without an action: {dict(fault)!r}")


def fault_at_ms(fault: Mapping[str, Any]) -> float:
    return parse_duration(str(fault["at"]))


def _faults(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(data.get("faults", []))


def _sorted_faults(faults: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(faults, key=fault_at_ms)  # stable: file order for equal times


def with_duration(data: Mapping[str, Any], duration_ms: float) -> Data:
    """``data`` running for ``duration_ms``: later faults dropped, nemeses stopped at the end."""
    result = copy.deepcopy(dict(data))
    result["duration"] = format_duration(duration_ms)
    kept: list[dict[str, Any]] = []
    for fault in _faults(result):
        if fault_at_ms(fault) >= duration_ms:
            continue
        if "nemesis" in fault and parse_duration(str(fault["nemesis"]["until"])) > duration_ms:
            fault["nemesis"]["until"] = format_duration(duration_ms)
        if "until" in fault and parse_duration(str(fault["until"])) > duration_ms:
            fault["until"] = format_duration(duration_ms)
        kept.append(fault)
    result["faults"] = kept
    return result


def remove_faults(data: Mapping[str, Any], indices: Sequence[int]) -> Data:
    """``data`` without the faults at ``indices``."""
    drop = set(indices)
    result = copy.deepcopy(dict(data))
    result["faults"] = [f for i, f in enumerate(_faults(result)) if i not in drop]
    return result


def set_fault_at(data: Mapping[str, Any], index: int, at_ms: float) -> Data:
    """``data`` with fault ``index`` moved to ``at_ms`` (faults kept in time order)."""
    result = copy.deepcopy(dict(data))
    faults = _faults(result)
    faults[index]["at"] = format_duration(at_ms)
    result["faults"] = _sorted_faults(faults)
    return result


def undo_pairs(data: Mapping[str, Any]) -> list[tuple[int, int]]:
    """(start, undo) fault index pairs: crash/restart, pause/resume, partition/heal, clog/unclog.

    The undo is the first later fault that ends what the start began (same node, same
    link, or any heal / ``unclog: all`` for partitions and clogs).
    """
    faults = _faults(data)
    pairs: list[tuple[int, int]] = []
    for start, fault in enumerate(faults):
        kind = fault_kind(fault)
        for later in range(start + 1, len(faults)):
            other = faults[later]
            if _undoes(kind, fault, fault_kind(other), other):
                pairs.append((start, later))
                break
    return pairs


def _undoes(kind: str, fault: Mapping[str, Any], other_kind: str, other: Mapping[str, Any]) -> bool:
    if kind == "crash":
        return other_kind == "restart" and other["restart"] == fault["crash"] != LEADER
    if kind == "pause":
        return other_kind == "resume" and other["resume"] == fault["pause"] != LEADER
    if kind == "remove":
        return other_kind == "add" and other["add"] == fault["remove"] != LEADER
    if kind == "partition":
        return other_kind == "heal"
    if kind == "clog":
        if other_kind != "unclog":
            return False
        target = other["unclog"]
        return target == "all" or (
            isinstance(target, Mapping)
            and target.get("from") == fault["clog"].get("from")
            and target.get("to") == fault["clog"].get("to")
        )
    return False


# --------------------------------------------------------------------------- nodes


def restrict_nodes(data: Mapping[str, Any], nodes: int) -> Data:
    """``data`` on a cluster of ``nodes`` nodes, without what refers to the others."""
    result = copy.deepcopy(dict(data))
    result.setdefault("cluster", {})["nodes"] = nodes
    if result["cluster"].get("members") is not None:
        result["cluster"]["members"] = min(result["cluster"]["members"], nodes)

    def keep(ref: str) -> bool:
        return ref == LEADER or int(ref[1:]) <= nodes

    network = result.get("network")
    if isinstance(network, dict) and network.get("links"):
        network["links"] = [
            link for link in network["links"] if keep(link["from"]) and keep(link["to"])
        ]
    faults: list[dict[str, Any]] = []
    for fault in _faults(result):
        restricted = _restrict_fault(fault, nodes, keep)
        if restricted is not None:
            faults.append(restricted)
    result["faults"] = faults
    return result


def _restrict_fault(fault: dict[str, Any], nodes: int, keep: Any) -> dict[str, Any] | None:
    kind = fault_kind(fault)
    if kind in ("crash", "restart", "pause", "resume", "add", "remove"):
        return fault if keep(fault[kind]) else None
    if kind in ("clog", "unclog"):
        link = fault[kind]
        if isinstance(link, dict) and not (keep(link["from"]) and keep(link["to"])):
            return None
        return fault
    if kind == "clock":
        return fault if keep(fault["clock"]["node"]) else None
    if kind == "transfer":
        return fault if fault["transfer"]["to"] == "any" or keep(fault["transfer"]["to"]) else None
    if kind != "partition":
        return fault
    shape = fault["partition"]
    if "isolate" in shape:
        return fault if keep(shape["isolate"]) else None
    if "bridge" in shape:
        return fault if keep(shape["bridge"]) and nodes >= MIN_BRIDGE_NODES else None
    if "ring" in shape:
        return fault if nodes >= MIN_RING_NODES else None
    if "groups" in shape:
        groups = [[n for n in group if keep(n)] for group in shape["groups"]]
        groups = [group for group in groups if group]
        if len(groups) < 2:
            return None
        shape["groups"] = groups
        return fault
    if "one_way" in shape:
        sources = [n for n in shape["one_way"]["from"] if keep(n)]
        targets = [n for n in shape["one_way"]["to"] if keep(n)]
        if not sources or not targets:
            return None
        shape["one_way"] = {"from": sources, "to": targets}
        return fault
    return fault


# --------------------------------------------------------------------------- nemesis


def _step_times(at_ms: float, interval_ms: float, until_ms: float) -> list[float]:
    """The nemesis step times in [at, until): at, at + interval, ..."""
    count = max(0, math.ceil((until_ms - at_ms) / interval_ms - _TIME_TOLERANCE_MS))
    return [at_ms + step * interval_ms for step in range(count)]


def _explicit(event: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The (start, undo) fault actions for what one nemesis step did, or None."""
    kind = event["kind"]
    node = event.get("node")
    if kind == EventKind.LEADER_TRANSFER:
        return {"transfer": {"to": event["to"]}}, {}
    if kind == EventKind.NODE_CLOCK and not event.get("after"):
        clock: dict[str, Any] = {"node": node}
        if "rate" in event:
            clock["rate"] = event["rate"]
        elif "jump_ms" in event:
            jump_ms = float(event["jump_ms"])
            clock["jump"] = ("-" if jump_ms < 0 else "+") + format_duration(abs(jump_ms))
        elif "strobe" in event:
            strobe = event["strobe"]
            clock["strobe"] = {
                "delta": format_duration(float(strobe["delta_ms"])),
                "period": format_duration(float(strobe["period_ms"])),
            }
        return {"clock": clock}, {}  # undone with `for` (see unroll_nemesis)
    if kind == EventKind.NODE_CRASH:
        return {"crash": node}, {"restart": node}
    if (
        kind == EventKind.FAULT_NOOP
        and event.get("fault") in ("crash", "pause")
        and node is not None
    ):
        return {event["fault"]: node}, {}  # struck a node already down or paused: nothing
    if kind == EventKind.FAULT_NOOP and event.get("fault") == "transfer":
        return {"transfer": {"to": event.get("to", "any")}}, {}  # no leader, or it refused
    if (
        kind == EventKind.MEMBERSHIP
        and event.get("result") == "requested"
        and event.get("op") == "remove"
    ):
        return {"remove": event["target"]}, {"add": event["target"]}
    if kind == EventKind.NODE_PAUSE:
        return {"pause": node}, {"resume": node}
    if kind == EventKind.NET_CLOG:
        links = event.get("links") or []
        if not links:
            return None
        source, target = links[0]
        both = [target, source] in links
        link = {"from": source, "to": target, "both_ways": both}
        return {"clog": link}, {"unclog": dict(link)}
    if kind == EventKind.NET_PARTITION:
        shape = event.get("shape")
        partition: dict[str, Any]
        if shape in ("isolate", "bridge"):
            partition = {shape: event["target"]}
        elif shape == "groups":
            partition = {"groups": event["groups"]}
        elif shape == "one_way":
            partition = {"one_way": {"from": event["from"], "to": event["to"]}}
        elif shape == "ring":
            partition = {"ring": True}
        else:
            return None
        return {"partition": partition}, {"heal": "all"}
    return None


def unroll_nemesis(
    data: Mapping[str, Any], index: int, fault_events: Sequence[Mapping[str, Any]]
) -> Data | None:
    """``data`` with the nemesis at fault ``index`` replaced by what it did in a run.

    ``fault_events`` are that run's fault events (`read_fault_events`). None when the
    fault is not a nemesis or its steps cannot be attributed to it alone, or when it
    deafened a node (what no fault of a file can write).
    """
    faults = _faults(data)
    if not 0 <= index < len(faults) or "nemesis" not in faults[index]:
        return None
    duration_ms = parse_duration(str(data["duration"]))
    schedules: list[tuple[int, list[float], float, float]] = []
    for position, fault in enumerate(faults):
        if "nemesis" in fault:
            spec = fault["nemesis"]
            interval_ms = parse_duration(str(spec["interval"]))
            until_ms = parse_duration(str(spec["until"]))
            steps = _step_times(fault_at_ms(fault), interval_ms, until_ms)
            schedules.append((position, steps, interval_ms, until_ms))
    mine = next(s for s in schedules if s[0] == index)
    _, my_steps, interval_ms, until_ms = mine
    others = [time for s in schedules if s[0] != index for time in s[1]]
    if any(abs(a - b) <= _TIME_TOLERANCE_MS for a in my_steps for b in others):
        return None
    # (at, phase, order, fault): at one instant the nemesis undoes (phase 0) before it
    # strikes (phase 1); it undoes due faults in the order they started, and a chain
    # from its last fault back to its first. Written in that order, the file replays it.
    if any(event.get("deaf") is not None for event in fault_events):
        return None  # a node deafened for good: no fault of a file keeps a node deaf
    explicit: list[tuple[float, int, tuple[float, int], dict[str, Any]]] = []
    links: dict[float, int] = {}  # a chain (by when its first fault struck) -> its length
    chases: dict[float, float] = {}  # a chasing partition (by when it began) -> its undo
    for position, event in enumerate(fault_events):
        if event["kind"] != EventKind.NEMESIS:
            continue
        t_ms = float(event["t"])
        if not any(abs(t_ms - step) <= _TIME_TOLERANCE_MS for step in my_steps):
            # Off the interval: a fault that waited for an election (struck when the
            # leader was elected, or just before the next step when none was) or was
            # chained to another. Another nemesis's step is its; anything else is mine
            # only when no other nemesis runs.
            if any(abs(t_ms - step) <= _TIME_TOLERANCE_MS for step in others):
                continue
            if others or not my_steps or not my_steps[0] <= t_ms <= until_ms:
                return None
        action = next(
            (later for later in fault_events[position + 1 :] if later["kind"] != EventKind.NEMESIS),
            None,
        )
        if action is None or abs(float(action["t"]) - t_ms) > _TIME_TOLERANCE_MS:
            return None
        pair = _explicit(action)
        if pair is None:
            return None
        start, undo = pair
        chain_ms = float(event.get("chain_from_ms", t_ms))
        links[chain_ms] = links.get(chain_ms, -1) + 1
        # The nemesis undoes a fault at its first step once the fault's length (an
        # overlapping nemesis's `for_ms`; a chained fault's ends with the fault it
        # follows) has run out, else at its next step. A clock fault has no undo to
        # write: it takes `for`, whose undo runs after the faults written for that
        # instant (which matters only when a node is struck again as its clock resets).
        lasting_ms = event.get("for_ms")
        ends_ms = t_ms + (float(lasting_ms) if lasting_ms is not None else 0.0)
        undo_ms = next(
            (
                step
                for step in my_steps
                if step > t_ms + _TIME_TOLERANCE_MS and step >= ends_ms - _TIME_TOLERANCE_MS
            ),
            until_ms,
        )
        if "clock" in start:
            start = {**start, "for": format_duration(undo_ms - t_ms)}
        struck: dict[str, Any] = {"at": format_duration(t_ms), **start}
        if event.get("timed") == FaultTrigger.LEADER_ELECTED.value:
            # It struck the moment a leader was elected, which an `at` cannot place
            # within that instant: armed from its step, it waits for the same election.
            armed_ms = max(step for step in my_steps if step <= t_ms + _TIME_TOLERANCE_MS)
            struck = {
                "at": format_duration(armed_ms),
                "when": FaultTrigger.LEADER_ELECTED.value,
                "until": format_duration(undo_ms),
                **start,
            }
        explicit.append((t_ms, 1, (float(position), 0), struck))
        if action["kind"] == EventKind.NET_PARTITION and action.get("chase"):
            chases[float(action["t"])] = undo_ms
        if undo and undo_ms < duration_ms:
            undone = {"at": format_duration(undo_ms), **undo}
            explicit.append((undo_ms, 0, (chain_ms, -links[chain_ms]), undone))
    chased = _chase_strikes(fault_events, chases)
    if chased is None:
        return None
    explicit.extend(chased)
    explicit.sort(key=lambda entry: entry[:3])
    result = copy.deepcopy(dict(data))
    rest = [f for i, f in enumerate(_faults(result)) if i != index]
    result["faults"] = _sorted_faults(rest + [fault for *_, fault in explicit])
    return result


def _chase_strikes(
    fault_events: Sequence[Mapping[str, Any]], chases: Mapping[float, float]
) -> list[tuple[float, int, tuple[float, int], dict[str, Any]]] | None:
    """The later strikes of chasing partitions (the first is its nemesis step's), each a
    fault waiting for the election or first commit it struck at: armed a microsecond
    after the strike before it (or the election it waited on), so the same event fires
    it and not the one before, and waiting until the chase was undone. None when a
    strike belongs to no chase of this nemesis."""
    strikes: list[tuple[float, int, tuple[float, int], dict[str, Any]]] = []
    last: dict[float, float] = {}  # a chase -> when it struck last
    for position, event in enumerate(fault_events):
        if event["kind"] != EventKind.NET_PARTITION or not event.get("chase"):
            continue
        t_ms, from_ms = float(event["t"]), float(event["chase_from_ms"])
        if "timed" not in event:
            last[from_ms] = t_ms
            continue
        if from_ms not in chases or from_ms not in last:
            return None
        timed = str(event["timed"])
        after_ms = float(event["elected_ms"]) if timed == _COMMIT else last[from_ms]
        last[from_ms] = t_ms
        struck = {
            "at": format_duration(after_ms + _MICROSECOND_MS),
            "when": timed,
            "until": format_duration(chases[from_ms]),
            "partition": {"isolate": "leader"},
        }
        strikes.append((t_ms, 1, (float(position), 0), struck))
    return strikes
