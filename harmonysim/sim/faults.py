"""Fault injection: the scenario's scheduled faults and the seeded random nemesis.

Rules:
- Scheduled faults run at their ``at`` time, in file order for equal times.
- ``leader`` in a fault resolves when the fault fires, through the world's
  leader oracle (the cluster layer provides it); when no leader is known the
  target is drawn from the ``faults/leader`` stream and the event says so.
- The nemesis (after Jepsen) alternates, every ``interval``: start one random
  fault of its ``kinds`` on random targets, then undo it at the next step. At
  ``until`` whatever it started is undone. Its draws come from its own stream
  (``nemesis/{index}``), so adding a scheduled fault does not change its choices.
- A fault with ``when`` is armed at its ``at`` and fires once, at the first event of its
  trigger while armed (before its ``until``, if any), at the same virtual time but
  after that event is handled: ``leader_elected`` is a ``raft.role`` event with role
  leader, ``leader_commit`` a ``raft.commit`` of a node whose last reported role is
  leader (a crash forgets the role). ``leader`` in its action means that event's node.
  Its event in the log says ``when``. Faults that never see their trigger never fire.
- Every fault is one event in the log, with its resolved targets.
- ``add`` / ``remove`` are handed to the world's ``membership`` hook (the cluster
  layer's driver), which requests the change from the leader and logs each step
  as ``membership`` events; a ``leader`` target is resolved by the driver when it
  finds a leader to serve the request.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import simpy

from harmonysim.sim import partitions
from harmonysim.sim.events import EventKind, EventRecord

if TYPE_CHECKING:
    import networkx as nx

    from harmonysim.scenario import Fault, LinkRef, Nemesis, Partition
    from harmonysim.sim.world import World

_LEADER_ELECTED = "leader_elected"
_LEADER_COMMIT = "leader_commit"

__all__ = ["FaultInjector"]


class FaultInjector:
    """Applies faults to a world: partitions, heals, crashes, restarts, pauses and clogs."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._leader_stream = world.rng.stream("faults/leader")
        self.counts: dict[str, int] = {}
        self._armed: list[Fault] = []  # faults with `when` waiting for their trigger, file order
        self._roles: dict[str, str] = {}  # node -> role it last reported (for leader_commit)
        self._watching = False

    # -- scheduling ---------------------------------------------------------------

    def schedule(self, faults: Sequence[Fault]) -> None:
        env = self.world.env
        for index, fault in enumerate(faults):
            if fault.nemesis is not None:
                env.process(self._nemesis(index, fault.at_ms, fault.nemesis))
            elif fault.when is not None:
                self._watch()
                self._at(fault.at_ms, functools.partial(self._arm, fault))
            else:
                self._at(fault.at_ms, functools.partial(self.apply, fault))

    # -- triggers -------------------------------------------------------------------

    def _watch(self) -> None:
        if self._watching:
            return
        self._watching = True
        kinds = (EventKind.RAFT_ROLE, EventKind.RAFT_COMMIT, EventKind.NODE_CRASH)
        self.world.log.watch(kinds, self._on_event)

    def _arm(self, fault: Fault) -> None:
        self._armed.append(fault)

    def _on_event(self, record: EventRecord) -> None:
        kind, node = record["kind"], record["node"]
        if node is None:
            return
        trigger: str | None = None
        if kind == EventKind.RAFT_ROLE:
            role = str(record["role"])
            self._roles[node] = role
            trigger = _LEADER_ELECTED if role == "leader" else None
        elif kind == EventKind.NODE_CRASH:
            self._roles.pop(node, None)
        elif self._roles.get(node) == "leader":
            trigger = _LEADER_COMMIT
        if trigger is None or not self._armed:
            return
        now_us = self.world.env.now
        waiting = []
        for fault in self._armed:
            if fault.until_ms is not None and now_us >= round(fault.until_ms * 1000.0):
                continue  # its wait is over: it never fires
            if fault.when == trigger:
                self._soon(functools.partial(self.apply, fault, node))
            else:
                waiting.append(fault)
        self._armed = waiting

    def _soon(self, action: Callable[[], None]) -> None:
        """Run ``action`` at the current virtual time, after what is running now."""
        timeout = simpy.Timeout(self.world.env, 0)
        timeout.callbacks.append(lambda _: action())

    def _at(self, at_ms: float, action: Callable[[], None]) -> None:
        env = self.world.env
        delay = max(0, round(at_ms * 1000.0) - env.now)
        timeout = simpy.Timeout(env, delay)
        timeout.callbacks.append(lambda _: action())

    # -- resolution ---------------------------------------------------------------

    @property
    def node_ids(self) -> list[str]:
        return sorted(self.world.nodes)

    def resolve(self, ref: str, leader: str | None = None) -> tuple[str, dict[str, Any]]:
        """A node id for ``ref`` ("n3" or "leader"), and notes for the event log.

        ``leader``, when given, is the node a triggered fault takes as the leader."""
        if ref != "leader":
            return ref, {}
        if leader is not None:
            return leader, {"ref": "leader"}
        leader = self.world.leader()
        if leader is not None:
            return leader, {"ref": "leader"}
        chosen = self._leader_stream.choice(self.node_ids)
        return chosen, {"ref": "leader", "fallback": "no leader known"}

    def _emit(self, kind: EventKind, node: str | None, fields: dict[str, Any]) -> None:
        self.counts[kind.value] = self.counts.get(kind.value, 0) + 1
        self.world.log.emit(kind, node, fields)

    # -- actions ------------------------------------------------------------------

    def apply(self, fault: Fault, leader: str | None = None) -> None:
        """Carry out ``fault`` now; ``leader`` is the node of its trigger, if it has one."""
        kind = fault.kind
        extra: dict[str, Any] = {} if fault.when is None else {"when": fault.when.value}
        if fault.partition is not None:
            self.partition(fault.partition, leader, extra)
        elif fault.heal is not None:
            self.heal(extra)
        elif fault.crash is not None:
            node, notes = self.resolve(fault.crash, leader)
            self.crash(node, {**notes, **extra})
        elif fault.restart is not None:
            node, notes = self.resolve(fault.restart, leader)
            self.restart(node, {**notes, **extra})
        elif fault.pause is not None:
            node, notes = self.resolve(fault.pause, leader)
            self.pause(node, {**notes, **extra})
        elif fault.resume is not None:
            node, notes = self.resolve(fault.resume, leader)
            self.resume(node, {**notes, **extra})
        elif fault.clog is not None:
            self.clog(self._link_pairs(fault.clog, leader), extra)
        elif fault.unclog is not None:
            pairs = None if fault.unclog == "all" else self._link_pairs(fault.unclog, leader)
            self.unclog(pairs, extra)
        elif fault.add is not None or fault.remove is not None:
            self.change_membership(fault, leader)
        else:  # pragma: no cover - the scenario schema admits no other action
            raise ValueError(f"unsupported fault {kind!r}")

    def _link_pairs(self, link: LinkRef, leader: str | None = None) -> list[tuple[str, str]]:
        src, _ = self.resolve(link.from_node, leader)
        dst, _ = self.resolve(link.to_node, leader)
        pairs = [(src, dst)]
        if link.both_ways:
            pairs.append((dst, src))
        return pairs

    def partition(
        self, spec: Partition, leader: str | None = None, extra: dict[str, Any] | None = None
    ) -> None:
        nodes = self.node_ids
        fields: dict[str, Any]
        graph: nx.DiGraph
        if spec.isolate is not None:
            node, notes = self.resolve(spec.isolate, leader)
            graph = partitions.isolate(nodes, node)
            fields = {"shape": "isolate", "target": node, **notes}
        elif spec.groups is not None:
            graph = partitions.groups(nodes, spec.groups)
            fields = {"shape": "groups", "groups": [sorted(group) for group in spec.groups]}
        elif spec.one_way is not None:
            graph = partitions.one_way(nodes, spec.one_way.from_nodes, spec.one_way.to_nodes)
            fields = {
                "shape": "one_way",
                "from": sorted(spec.one_way.from_nodes),
                "to": sorted(spec.one_way.to_nodes),
            }
        elif spec.bridge is not None:
            graph = partitions.bridge(nodes, spec.bridge)
            fields = {"shape": "bridge", "target": spec.bridge}
        else:
            graph = partitions.majorities_ring(nodes)
            fields = {"shape": "ring"}
        self.set_graph(graph, {**fields, **(extra or {})})

    def set_graph(self, graph: nx.DiGraph, fields: dict[str, Any]) -> None:
        self.world.network.set_partition(graph)
        self._emit(EventKind.NET_PARTITION, None, {**fields, "cut": partitions.describe(graph)})

    def heal(self, extra: dict[str, Any] | None = None) -> None:
        self.world.network.set_partition(None)
        self._emit(EventKind.NET_HEAL, None, dict(extra or {}))

    def crash(self, node: str, notes: dict[str, Any] | None = None) -> None:
        self.counts["node.crash"] = self.counts.get("node.crash", 0) + 1
        self.world.nodes[node].crash(notes)

    def restart(self, node: str, notes: dict[str, Any] | None = None) -> None:
        self.counts["node.restart"] = self.counts.get("node.restart", 0) + 1
        self.world.nodes[node].restart(notes)

    def pause(self, node: str, notes: dict[str, Any] | None = None) -> None:
        self.counts["node.pause"] = self.counts.get("node.pause", 0) + 1
        self.world.nodes[node].pause(notes)

    def resume(self, node: str, notes: dict[str, Any] | None = None) -> None:
        self.counts["node.resume"] = self.counts.get("node.resume", 0) + 1
        self.world.nodes[node].resume(notes)

    def change_membership(self, fault: Fault, leader: str | None = None) -> None:
        """Add or remove one server (thesis §4.1) through the cluster's membership hook."""
        # "leader" is passed on unresolved: the change goes to whoever leads when the
        # request is served, so the driver resolves it then (it waits for a leader).
        # A fault fired by a trigger (``when``) means the node of its event instead.
        if fault.add is not None:
            op, node = "add", fault.add
        else:
            assert fault.remove is not None
            op, node = "remove", fault.remove
            if node == "leader" and leader is not None:
                node = leader
        key = f"membership.{op}"
        self.counts[key] = self.counts.get(key, 0) + 1
        if self.world.membership is None:
            raise RuntimeError("this world has no membership hook: nothing runs Raft on it")
        self.world.membership(op, node)

    def clog(self, pairs: list[tuple[str, str]], extra: dict[str, Any] | None = None) -> None:
        self.world.network.clog(pairs)
        fields = {"links": [list(pair) for pair in pairs], **(extra or {})}
        self._emit(EventKind.NET_CLOG, None, fields)

    def unclog(
        self, pairs: list[tuple[str, str]] | None, extra: dict[str, Any] | None = None
    ) -> None:
        listed = self.world.network.clogged_links() if pairs is None else pairs
        released = self.world.network.unclog(pairs)
        fields = {"links": [list(pair) for pair in listed], "released": released, **(extra or {})}
        self._emit(EventKind.NET_UNCLOG, None, fields)

    # -- the nemesis ----------------------------------------------------------------

    def _nemesis(self, index: int, at_ms: float, spec: Nemesis) -> Any:
        env = self.world.env
        rng = self.world.rng.stream(f"nemesis/{index}")
        start_us = round(at_ms * 1000.0)
        until_us = round(spec.until_ms * 1000.0)
        interval_us = max(1, round(spec.interval_ms * 1000.0))
        yield env.timeout(max(0, start_us - env.now))
        undo: Callable[[], None] | None = None
        while env.now < until_us:
            if undo is not None:
                undo()
                undo = None
            else:
                kind = rng.choice(list(spec.kinds))
                undo = self._nemesis_fault(kind, rng)
            yield env.timeout(min(interval_us, max(1, until_us - env.now)))
        if undo is not None:
            undo()

    def _nemesis_fault(self, kind: str, rng: random.Random) -> Callable[[], None]:
        nodes = self.node_ids
        self._emit(EventKind.NEMESIS, None, {"fault": kind})
        if kind == "crash":
            up = [node for node in nodes if self.world.nodes[node].up]
            target = rng.choice(up) if up else rng.choice(nodes)
            self.crash(target)
            return lambda: self.restart(target)
        if kind == "pause":
            target = rng.choice(nodes)
            self.pause(target)
            return lambda: self.resume(target)
        if kind == "clog":
            src, dst = rng.sample(nodes, 2) if len(nodes) > 1 else (nodes[0], nodes[0])
            pairs = [(src, dst), (dst, src)]
            self.clog(pairs)
            return lambda: self.unclog(pairs)
        shape = rng.choice(["isolate", "isolate_leader", "majority", "one_way", "bridge", "ring"])
        if shape == "isolate":
            target = rng.choice(nodes)
            self.set_graph(
                partitions.isolate(nodes, target), {"shape": "isolate", "target": target}
            )
        elif shape == "isolate_leader":
            target, notes = self.resolve("leader")
            self.set_graph(
                partitions.isolate(nodes, target), {"shape": "isolate", "target": target, **notes}
            )
        elif shape == "majority":
            shuffled = list(nodes)
            rng.shuffle(shuffled)
            minority = sorted(shuffled[: len(nodes) // 2])
            majority = sorted(shuffled[len(nodes) // 2 :])
            self.set_graph(
                partitions.groups(nodes, [minority, majority]),
                {"shape": "groups", "groups": [minority, majority]},
            )
        elif shape == "one_way":
            shuffled = list(nodes)
            rng.shuffle(shuffled)
            half = len(nodes) // 2
            sources, targets = sorted(shuffled[:half]), sorted(shuffled[half:])
            self.set_graph(
                partitions.one_way(nodes, sources, targets),
                {"shape": "one_way", "from": sources, "to": targets},
            )
        elif shape == "bridge":
            target = rng.choice(nodes)
            self.set_graph(partitions.bridge(nodes, target), {"shape": "bridge", "target": target})
        else:
            self.set_graph(partitions.majorities_ring(nodes), {"shape": "ring"})
        return self.heal
