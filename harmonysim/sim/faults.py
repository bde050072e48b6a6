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
- A fault that finds nothing to do (restart a node that is up, resume one that is not
  paused, crash one that is down, undo a partition that another already replaced) is a
  ``fault.noop`` event saying why, is not counted as a fault, and is listed in
  ``noops``; so is a ``when`` fault whose trigger never came (at ``finish``).
- ``for`` undoes a fault that long after it fired, on the targets it resolved then:
  restart, resume, heal (only the partition it set), unclog. ``restart: crashed`` and
  ``resume: paused`` (or ``all``) act on every node that is down / paused.
- A nemesis with ``overlap`` above 1 starts a fault every ``interval`` while fewer than
  ``overlap`` of its faults are active, each lasting 1..``overlap`` intervals, so a pause
  can outlast a partition (only one of its partitions at a time: a partition is a whole
  cut). With ``target_leader`` it aims node faults at the current leader with that
  probability. With the defaults it draws exactly as it always did.
- ``disk`` faults act on one node's disk (``sim/disk.py``): ``corrupt`` and ``eio`` damage
  durable records at rest, ``torn`` tears the node's next crash, ``misdirect`` its next
  durable append, ``write_error`` fails its next fsync, ``slow`` sets its fsync
  latency (``for`` gives the old one back). Each is a ``disk.fault`` event with its
  target (``fault.noop`` when there is nothing to damage). The nemesis kind ``disk``
  corrupts one record of a random node's log, or tears its next crash, or slows its
  fsyncs for the fault's life.
- ``add`` / ``remove`` are handed to the world's ``membership`` hook (the cluster
  layer's driver), which requests the change from the leader and logs each step
  as ``membership`` events; a ``leader`` target is resolved by the driver when it
  finds a leader to serve the request.
- The injector is given the parts of the kernel it acts on (environment, RNG tree,
  event log, network, the nodes by id) and the ``Hooks`` the layer above installs
  (who leads, membership, transfer), never the world that holds them.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import simpy

from harmonysim.sim import partitions
from harmonysim.sim.events import EventKind, EventLog, EventRecord
from harmonysim.sim.network import Network
from harmonysim.sim.rng import RngTree

if TYPE_CHECKING:
    import networkx as nx

    from harmonysim.scenario import ClockStrobe, DiskFault, Fault, LinkRef, Nemesis, Partition
    from harmonysim.sim.node import SimNode

_LEADER_ELECTED = "leader_elected"
_LEADER_COMMIT = "leader_commit"

__all__ = ["FaultInjector", "Hooks"]


@dataclass(slots=True)
class Hooks:
    """What the protocol layer running on a world plugs in, after the world is built.

    ``leader_oracle`` answers the current leader (so faults can target "the leader");
    ``membership`` takes an op ("add" or "remove") and a node (an id, or "leader");
    ``transfer`` (thesis §3.10), asked with a node id or "any", answers (leader,
    target, outcome): outcome "started" or why nothing was started.
    """

    leader_oracle: Callable[[], str | None] | None = None
    membership: Callable[[str, str], None] | None = None
    transfer: Callable[[str], tuple[str | None, str | None, str]] | None = None

    def leader(self) -> str | None:
        return self.leader_oracle() if self.leader_oracle is not None else None


def _call(action: Callable[[], object], _: simpy.Event) -> None:
    action()


def _nemesis_strobe() -> ClockStrobe:
    from harmonysim.scenario import ClockStrobe

    return ClockStrobe.model_validate({"delta": "200ms", "period": "20ms"})


_ONE_AT_A_TIME: Final = frozenset({"partition"})
"""Nemesis kinds of which at most one fault is active at a time (a partition is a whole
cut: a second one would replace the first). Removals have their own bound: a minority."""


@dataclass(slots=True)
class _NemesisPlan:
    """What one nemesis draws from: its kinds, overlap and leader aim (the scenario's, or
    the seed's swarm draw of them), and fields its first step announces."""

    kinds: tuple[str, ...]
    overlap: int
    target_leader: float
    first: dict[str, Any] | None = None

    def announce(self) -> dict[str, Any] | None:
        first, self.first = self.first, None
        return first


def _swarm(spec: Nemesis, rng: random.Random) -> _NemesisPlan:
    """Swarm testing (Groce et al., ISSTA 2012): each run keeps a random subset of the
    nemesis's kinds (each with probability 1/2, at least one), a random overlap up to
    the scenario's and aims at the leader or not, so some runs concentrate on few
    fault kinds, which the full mix would dilute or mask (a crash resets what a pause
    was building up). The draw is announced on the first step's event."""
    kinds = tuple(kind for kind in spec.kinds if rng.random() < 0.5)
    if not kinds:
        kinds = (rng.choice(list(spec.kinds)),)
    overlap = rng.randint(1, spec.overlap)
    target_leader = spec.target_leader if rng.random() < 0.5 else 0.0
    swarm = {"kinds": list(kinds), "overlap": overlap, "target_leader": target_leader}
    return _NemesisPlan(kinds, overlap, target_leader, {"swarm": swarm})


def _nothing() -> None:
    """The undo of a fault that needs none (a leadership transfer is not taken back)."""


class FaultInjector:
    """Applies faults to a world: partitions, heals, crashes, restarts, pauses and clogs.

    ``nodes`` is the world's own map of nodes, so nodes added later are seen.
    """

    def __init__(
        self,
        env: simpy.Environment,
        rng: RngTree,
        log: EventLog,
        network: Network,
        nodes: Mapping[str, SimNode],
        hooks: Hooks,
    ) -> None:
        self._env = env
        self._rng = rng
        self._log = log
        self._network = network
        self._nodes = nodes
        self._hooks = hooks
        self._leader_stream = rng.stream("faults/leader")
        self.counts: dict[str, int] = {}
        self._armed: list[Fault] = []  # faults with `when` waiting for their trigger, file order
        self._roles: dict[str, str] = {}  # node -> role it last reported (for leader_commit)
        self._watching = False
        self.noops: list[dict[str, Any]] = []  # faults that did nothing, in order, with why
        # The clock drift the servers tolerate (their lease bound): the nemesis keeps its
        # clock-rate faults within it, so a correct cluster stays correct under them.
        self.clock_drift_bound = 0.0
        self._disk_victims: set[str] = set()  # nodes the disk nemesis has struck
        # The voters of the initial configuration (the cluster sets them): the membership
        # nemesis removes one of them for a while and adds it back.
        self.initial_members: tuple[str, ...] = ()
        self._nemesis_removed: set[str] = set()  # voters the nemesis removed, not yet back

    # -- scheduling ---------------------------------------------------------------

    def schedule(self, faults: Sequence[Fault]) -> None:
        env = self._env
        for index, fault in enumerate(faults):
            if fault.nemesis is not None:
                env.process(self._nemesis(index, fault.at_ms, fault.nemesis))
            elif fault.when is not None:
                self._watch()
                self._at(fault.at_ms, functools.partial(self._arm, fault))
            else:
                self._at(fault.at_ms, functools.partial(self.apply, fault))

    def finish(self) -> None:
        """The run ended: a fault still waiting for its trigger never fired; say so."""
        for fault in self._armed:
            self._noop(fault.kind.value, None, f"its trigger {fault.when} never came")
        self._armed = []

    # -- triggers -------------------------------------------------------------------

    def _watch(self) -> None:
        if self._watching:
            return
        self._watching = True
        kinds = (EventKind.RAFT_ROLE, EventKind.RAFT_COMMIT, EventKind.NODE_CRASH)
        self._log.watch(kinds, self._on_event)

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
        now_us = self._env.now
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
        timeout = simpy.Timeout(self._env, 0)
        timeout.callbacks.append(lambda _: action())

    def _at(self, at_ms: float, action: Callable[[], object]) -> None:
        env = self._env
        delay = max(0, round(at_ms * 1000.0) - env.now)
        timeout = simpy.Timeout(env, delay)
        timeout.callbacks.append(functools.partial(_call, action))

    # -- resolution ---------------------------------------------------------------

    @property
    def node_ids(self) -> list[str]:
        return sorted(self._nodes)

    def resolve(self, ref: str, leader: str | None = None) -> tuple[str, dict[str, Any]]:
        """A node id for ``ref`` ("n3" or "leader"), and notes for the event log.

        ``leader``, when given, is the node a triggered fault takes as the leader."""
        if ref != "leader":
            return ref, {}
        if leader is not None:
            return leader, {"ref": "leader"}
        leader = self._hooks.leader()
        if leader is not None:
            return leader, {"ref": "leader"}
        chosen = self._leader_stream.choice(self.node_ids)
        return chosen, {"ref": "leader", "fallback": "no leader known"}

    def _emit(self, kind: EventKind, node: str | None, fields: dict[str, Any]) -> None:
        self.counts[kind.value] = self.counts.get(kind.value, 0) + 1
        self._log.emit(kind, node, fields)

    def _noop(
        self, action: str, node: str | None, reason: str, notes: dict[str, Any] | None = None
    ) -> None:
        fields = {"fault": action, "reason": reason, **(notes or {})}
        self.noops.append({"t_ms": self._env.now / 1000.0, "node": node, **fields})
        self._log.emit(EventKind.FAULT_NOOP, node, fields)

    def _later(self, delay_ms: float | None, action: Callable[[], object]) -> None:
        if delay_ms is not None:
            self._at(self._env.now / 1000.0 + delay_ms, action)

    # -- actions ------------------------------------------------------------------

    def apply(self, fault: Fault, leader: str | None = None) -> None:
        """Carry out ``fault`` now; ``leader`` is the node of its trigger, if it has one."""
        kind = fault.kind
        extra: dict[str, Any] = {} if fault.when is None else {"when": fault.when.value}
        lasting = fault.for_ms
        if lasting is not None:
            extra["for_ms"] = lasting
        if fault.partition is not None:
            graph = self.partition(fault.partition, leader, extra)
            self._later(lasting, functools.partial(self._heal_if_current, graph))
        elif fault.heal is not None:
            self.heal(extra)
        elif fault.crash is not None:
            node, notes = self.resolve(fault.crash, leader)
            if self.crash(node, {**notes, **extra}):
                self._later(lasting, functools.partial(self.restart, node, {"after": "crash"}))
        elif fault.restart is not None:
            for node, notes in self._targets(fault.restart, leader, crashed=True):
                self.restart(node, {**notes, **extra})
        elif fault.pause is not None:
            node, notes = self.resolve(fault.pause, leader)
            if self.pause(node, {**notes, **extra}):
                self._later(lasting, functools.partial(self.resume, node, {"after": "pause"}))
        elif fault.resume is not None:
            for node, notes in self._targets(fault.resume, leader, crashed=False):
                self.resume(node, {**notes, **extra})
        elif fault.clog is not None:
            clogged = self._link_pairs(fault.clog, leader)
            self.clog(clogged, extra)
            self._later(lasting, functools.partial(self.unclog, clogged, {"after": "clog"}))
        elif fault.unclog is not None:
            pairs = None if fault.unclog == "all" else self._link_pairs(fault.unclog, leader)
            self.unclog(pairs, extra)
        elif fault.add is not None or fault.remove is not None:
            self.change_membership(fault, leader)
        elif fault.transfer is not None:
            self.transfer(fault.transfer.to, extra)
        elif fault.clock is not None:
            node, notes = self.resolve(fault.clock.node, leader)
            spec = fault.clock
            undo = self.clock(node, spec.rate, spec.jump, spec.strobe, {**notes, **extra})
            self._later(lasting, undo)
        elif fault.disk is not None:
            node, notes = self.resolve(fault.disk.node, leader)
            self._later(lasting, self.disk(node, fault.disk, {**notes, **extra}))
        else:  # pragma: no cover - the scenario schema admits no other action
            raise ValueError(f"unsupported fault {kind!r}")

    def _targets(
        self, ref: str, leader: str | None, *, crashed: bool
    ) -> list[tuple[str, dict[str, Any]]]:
        """The nodes a restart (``crashed``) or resume acts on: one ref, or every node
        that is down (``crashed`` / ``all``) or paused (``paused`` / ``all``)."""
        if ref not in ("crashed", "paused", "all"):
            return [self.resolve(ref, leader)]
        nodes = self._nodes
        chosen = [
            node
            for node in self.node_ids
            if (not nodes[node].up if crashed else nodes[node].up and nodes[node].paused)
        ]
        if not chosen:
            action = "restart" if crashed else "resume"
            self._noop(action, None, f"no node is {'down' if crashed else 'paused'}")
        return [(node, {"ref": ref}) for node in chosen]

    def _heal_if_current(self, graph: nx.DiGraph) -> None:
        if self._network.partition is graph:
            self.heal({"after": "partition"})
        else:
            self._noop("heal", None, "the partition it would undo was already replaced or healed")

    def _link_pairs(self, link: LinkRef, leader: str | None = None) -> list[tuple[str, str]]:
        src, _ = self.resolve(link.from_node, leader)
        dst, _ = self.resolve(link.to_node, leader)
        pairs = [(src, dst)]
        if link.both_ways:
            pairs.append((dst, src))
        return pairs

    def partition(
        self, spec: Partition, leader: str | None = None, extra: dict[str, Any] | None = None
    ) -> nx.DiGraph:
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
        return graph

    def set_graph(self, graph: nx.DiGraph, fields: dict[str, Any]) -> None:
        self._network.set_partition(graph)
        self._emit(EventKind.NET_PARTITION, None, {**fields, "cut": partitions.describe(graph)})

    def heal(self, extra: dict[str, Any] | None = None) -> None:
        self._network.set_partition(None)
        self._emit(EventKind.NET_HEAL, None, dict(extra or {}))

    def crash(self, node: str, notes: dict[str, Any] | None = None) -> bool:
        """Crash ``node``; False (and a ``fault.noop``) when it is already down."""
        sim_node = self._nodes[node]
        if not sim_node.up:
            self._noop("crash", node, "the node is already down", notes)
            return False
        self.counts[EventKind.NODE_CRASH.value] = self.counts.get(EventKind.NODE_CRASH.value, 0) + 1
        sim_node.crash(notes)
        return True

    def restart(self, node: str, notes: dict[str, Any] | None = None) -> bool:
        """Restart ``node``; False (and a ``fault.noop``) when it is up."""
        sim_node = self._nodes[node]
        if sim_node.up:
            self._noop("restart", node, "the node is up", notes)
            return False
        self.counts[EventKind.NODE_RESTART.value] = (
            self.counts.get(EventKind.NODE_RESTART.value, 0) + 1
        )
        sim_node.restart(notes)
        return True

    def pause(self, node: str, notes: dict[str, Any] | None = None) -> bool:
        """Pause ``node``; False (and a ``fault.noop``) when it is down or paused."""
        sim_node = self._nodes[node]
        if not sim_node.up or sim_node.paused:
            reason = "the node is down" if not sim_node.up else "the node is already paused"
            self._noop("pause", node, reason, notes)
            return False
        self.counts[EventKind.NODE_PAUSE.value] = self.counts.get(EventKind.NODE_PAUSE.value, 0) + 1
        sim_node.pause(notes)
        return True

    def resume(self, node: str, notes: dict[str, Any] | None = None) -> bool:
        """Resume ``node``; False (and a ``fault.noop``) when it is not paused."""
        sim_node = self._nodes[node]
        if not sim_node.up or not sim_node.paused:
            reason = "the node is down" if not sim_node.up else "the node is not paused"
            self._noop("resume", node, reason, notes)
            return False
        self.counts[EventKind.NODE_RESUME.value] = (
            self.counts.get(EventKind.NODE_RESUME.value, 0) + 1
        )
        sim_node.resume(notes)
        return True

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
        self._request_membership(op, node)

    def clock(
        self,
        node: str,
        rate: float | None = None,
        jump_ms: float | None = None,
        strobe: ClockStrobe | None = None,
        notes: dict[str, Any] | None = None,
    ) -> Callable[[], None]:
        """Change ``node``'s clock; returns the undo (its rate and wall time given back)."""
        sim_node = self._nodes[node]
        before_rate, before_offset = sim_node.clock_rate, sim_node.wall_offset_us
        fields: dict[str, Any] = dict(notes or {})
        strobing = [False]
        if rate is not None:
            sim_node.set_clock_rate(rate)
            fields["rate"] = rate
        if jump_ms is not None:
            sim_node.wall_offset_us += round(jump_ms * 1000.0)
            fields["jump_ms"] = jump_ms
        if strobe is not None:
            strobing[0] = True
            fields["strobe"] = {"delta_ms": strobe.delta_ms, "period_ms": strobe.period_ms}
            self._env.process(self._strobe(sim_node, strobe, strobing))
        self._emit_clock(node, fields)

        def undo() -> None:
            strobing[0] = False
            sim_node.set_clock_rate(before_rate)
            sim_node.wall_offset_us = before_offset
            self._emit_clock(node, {"rate": before_rate, "after": "clock"})

        return undo

    def disk(
        self, node: str, spec: DiskFault, notes: dict[str, Any] | None = None
    ) -> Callable[[], None]:
        """A storage fault on ``node``'s disk; returns its undo (a slow disk's only)."""
        disk = self._nodes[node].disk
        self.counts["disk"] = self.counts.get("disk", 0) + 1
        if spec.slow is not None:
            return disk.slow(max(1, round(spec.slow.fsync_ms * 1000.0)))
        if spec.torn is not None:
            disk.arm_torn()
            fields = {"fault": "torn", "armed": True, **(notes or {})}
            self._log.emit(EventKind.DISK_FAULT, node, fields)
            return _nothing
        if spec.write_error is not None:
            disk.arm_write_error()
            fields = {"fault": "write_error", "armed": True, **(notes or {})}
            self._log.emit(EventKind.DISK_FAULT, node, fields)
            return _nothing
        if spec.misdirect is not None:
            disk.arm_misdirect()
            fields = {"fault": "misdirect", "armed": True, **(notes or {})}
            self._log.emit(EventKind.DISK_FAULT, node, fields)
            return _nothing
        records = spec.corrupt if spec.corrupt is not None else spec.eio
        assert records is not None
        low, high = records.index if records.index is not None else (None, None)
        act = disk.corrupt if spec.corrupt is not None else disk.read_error
        if not act(records.file, low, high):
            action = "corrupt" if spec.corrupt is not None else "eio"
            self._noop(f"disk.{action}", node, f"no durable record of {records.file} there", notes)
        return _nothing

    def _emit_clock(self, node: str, fields: dict[str, Any]) -> None:
        sim_node = self._nodes[node]
        local_ms = sim_node.local_us / 1000.0
        wall_ms = sim_node.wall_us / 1000.0
        self._emit(EventKind.NODE_CLOCK, node, {**fields, "local_ms": local_ms, "wall_ms": wall_ms})

    def _strobe(self, sim_node: Any, strobe: ClockStrobe, strobing: list[bool]) -> Any:
        """Step the wall clock ahead and back every period while ``strobing[0]`` (no events:
        a strobe is one fault; its start and end are logged)."""
        delta_us = round(strobe.delta_ms * 1000.0)
        period_us = max(1, round(strobe.period_ms * 1000.0))
        ahead = False
        while strobing[0]:
            yield self._env.timeout(period_us)
            if not strobing[0]:
                return
            ahead = not ahead
            sim_node.wall_offset_us += delta_us if ahead else -delta_us

    def transfer(self, to: str, extra: dict[str, Any] | None = None) -> bool:
        """Ask whoever leads to hand leadership to ``to`` (a node id or ``any``)."""
        if self._hooks.transfer is None:
            self._noop("transfer", None, "nothing runs Raft on this world", extra)
            return False
        leader, target, outcome = self._hooks.transfer(to)
        if outcome != "started":
            self._noop("transfer", leader, outcome, {"to": target or to, **(extra or {})})
            return False
        self._emit(EventKind.LEADER_TRANSFER, leader, {"to": target, **(extra or {})})
        return True

    def clog(self, pairs: list[tuple[str, str]], extra: dict[str, Any] | None = None) -> None:
        self._network.clog(pairs)
        fields = {"links": [list(pair) for pair in pairs], **(extra or {})}
        self._emit(EventKind.NET_CLOG, None, fields)

    def unclog(
        self, pairs: list[tuple[str, str]] | None, extra: dict[str, Any] | None = None
    ) -> None:
        listed = self._network.clogged_links() if pairs is None else pairs
        released = self._network.unclog(pairs)
        fields = {"links": [list(pair) for pair in listed], "released": released, **(extra or {})}
        self._emit(EventKind.NET_UNCLOG, None, fields)

    # -- the nemesis ----------------------------------------------------------------

    def _nemesis(self, index: int, at_ms: float, spec: Nemesis) -> Any:
        env = self._env
        rng = self._rng.stream(f"nemesis/{index}")
        start_us = round(at_ms * 1000.0)
        until_us = round(spec.until_ms * 1000.0)
        interval_us = max(1, round(spec.interval_ms * 1000.0))
        yield env.timeout(max(0, start_us - env.now))
        plan = (
            _swarm(spec, rng)
            if spec.swarm
            else _NemesisPlan(spec.kinds, spec.overlap, spec.target_leader)
        )
        if plan.overlap > 1:
            yield from self._overlapping_nemesis(plan, rng, until_us, interval_us)
            return
        undo: Callable[[], None] | None = None
        while env.now < until_us:
            if undo is not None:
                undo()
                undo = None
            else:
                kind = rng.choice(list(plan.kinds))
                undo = self._nemesis_fault(kind, rng, plan.target_leader, extra=plan.announce())
            yield env.timeout(min(interval_us, max(1, until_us - env.now)))
        if undo is not None:
            undo()

    def _overlapping_nemesis(
        self, plan: _NemesisPlan, rng: random.Random, until_us: int, interval_us: int
    ) -> Any:
        """Start a fault every interval while fewer than ``overlap`` are active; each lasts
        1..``overlap`` intervals. One partition at a time (a partition replaces the whole
        cut) and removals of at most a minority of the initial voters at once (more could
        leave no majority of live voters), so while they hold the nemesis draws another
        kind. Concurrent removals are what an operator racing its own requests sends
        (RedisLabs/redisraft#17)."""
        env = self._env
        active: list[tuple[float, str, Callable[[], None]]] = []  # (end, kind, undo), start order
        while env.now < until_us:
            due = [fault for fault in active if fault[0] <= env.now]
            active = [fault for fault in active if fault[0] > env.now]
            for _, _, undo in due:
                undo()
            if len(active) < plan.overlap:
                held = {kind for _, kind, _ in active if kind in _ONE_AT_A_TIME}
                removals = sum(1 for _, kind, _ in active if kind == "membership")
                if removals >= self._removals_allowed():
                    held.add("membership")
                kinds = [k for k in plan.kinds if k not in held]
                if kinds:
                    kind = rng.choice(kinds)
                    lifetime_us = rng.randint(1, plan.overlap) * interval_us
                    undo = self._nemesis_fault(
                        kind, rng, plan.target_leader, lifetime_us, plan.announce()
                    )
                    active.append((env.now + lifetime_us, kind, undo))
            yield env.timeout(min(interval_us, max(1, until_us - env.now)))
        for _, _, undo in active:
            undo()

    @staticmethod
    def _undo(action: Callable[[str], bool], node: str) -> None:
        action(node)  # a no-op undo is already logged as one

    def _aim(self, rng: random.Random, target_leader: float, candidates: list[str]) -> str:
        """A node from ``candidates``: the leader with probability ``target_leader``."""
        if target_leader > 0.0 and rng.random() < target_leader:
            leader = self._hooks.leader()
            if leader is not None and leader in candidates:
                return leader
        return rng.choice(candidates)

    def _nemesis_disk(self, rng: random.Random, target_leader: float) -> Callable[[], None]:
        """Corrupt one log record, tear the next crash or slow the fsyncs of one node, of a
        minority of nodes drawn as it goes (the repair protocol needs a majority that
        can elect a leader; never the hard state, whose damage stops a server)."""
        nodes = self.node_ids
        victims = self._disk_victims
        if len(victims) >= (len(nodes) - 1) // 2:  # a minority, fixed once drawn
            target = rng.choice(sorted(victims)) if victims else rng.choice(nodes)
        else:
            target = self._aim(rng, target_leader, nodes)
        victims.add(target)
        disk = self._nodes[target].disk
        change = rng.choice(["corrupt", "torn", "slow"])
        if change == "slow":
            return disk.slow(disk.fsync_latency_us + rng.randint(10, 100) * 1000)
        if change == "torn":
            disk.arm_torn()
            self._log.emit(EventKind.DISK_FAULT, target, {"fault": "torn", "armed": True})
            return _nothing
        if not disk.corrupt("log", None, None):
            self._noop("disk.corrupt", target, "no durable record of log there")
        return _nothing

    def _nemesis_membership(self, rng: random.Random, target_leader: float) -> Callable[[], None]:
        """Remove one voter of the initial configuration (the leader with probability
        ``target_leader``) and add it back when the fault ends. The cluster's membership
        driver serves requests in order, so the add follows the removal it undoes."""
        removed = self._nemesis_removed
        voters = [node for node in (self.initial_members or self.node_ids) if node not in removed]
        if len(voters) < 2:
            self._noop("membership.remove", None, "a single voter cannot be removed")
            return _nothing
        target = self._aim(rng, target_leader, voters)
        removed.add(target)
        self._request_membership("remove", target)
        return functools.partial(self._add_back, target)

    def _removals_allowed(self) -> int:
        """How many nemesis removals may hold at once: a minority of the initial voters."""
        voters = len(self.initial_members or self.node_ids)
        return max(1, (voters - 1) // 2)

    def _add_back(self, node: str) -> None:
        self._nemesis_removed.discard(node)
        self._request_membership("add", node)

    def _request_membership(self, op: str, node: str) -> None:
        key = f"membership.{op}"
        self.counts[key] = self.counts.get(key, 0) + 1
        if self._hooks.membership is None:
            raise RuntimeError("this world has no membership hook: nothing runs Raft on it")
        self._hooks.membership(op, node)

    def _nemesis_fault(
        self,
        kind: str,
        rng: random.Random,
        target_leader: float = 0.0,
        lifetime_us: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Callable[[], None]:
        nodes = self.node_ids
        fields: dict[str, Any] = {"fault": kind}
        if lifetime_us is not None:
            fields["for_ms"] = lifetime_us / 1000.0
        if extra:
            fields.update(extra)
        self._emit(EventKind.NEMESIS, None, fields)
        if kind == "crash":
            up = [node for node in nodes if self._nodes[node].up]
            target = self._aim(rng, target_leader, up) if up else rng.choice(nodes)
            if not self.crash(target):
                return _nothing  # undo only what it did: not another fault's crash
            return functools.partial(self._undo, self.restart, target)
        if kind == "pause":
            target = self._aim(rng, target_leader, nodes)
            if not self.pause(target):
                return _nothing  # undo only what it did: not another fault's pause
            return functools.partial(self._undo, self.resume, target)
        if kind == "transfer":
            self.transfer("any")
            return _nothing
        if kind == "clock":
            target = self._aim(rng, target_leader, nodes)
            change = rng.choice(["rate", "jump", "strobe"])
            if change == "rate":  # within the drift the servers tolerate
                bound = self.clock_drift_bound
                return self.clock(target, rate=rng.uniform(1.0 - bound, 1.0 + bound))
            if change == "jump":
                step_ms = float(rng.randint(100, 2000)) * rng.choice([-1.0, 1.0])
                return self.clock(target, jump_ms=step_ms)
            return self.clock(target, strobe=_nemesis_strobe())
        if kind == "disk":
            return self._nemesis_disk(rng, target_leader)
        if kind == "membership":
            return self._nemesis_membership(rng, target_leader)
        if kind == "clog":
            src, dst = rng.sample(nodes, 2) if len(nodes) > 1 else (nodes[0], nodes[0])
            pairs = [(src, dst), (dst, src)]
            self.clog(pairs)
            return lambda: self.unclog(pairs)
        shape = rng.choice(["isolate", "isolate_leader", "majority", "one_way", "bridge", "ring"])
        if shape == "isolate":
            target = self._aim(rng, target_leader, nodes)
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
