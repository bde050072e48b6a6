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
- Faults timed on events and chained on one victim (the levers of FoundationDB's
  simulation and Jepsen's leader-targeting nemeses, drawn per fault): with ``on_election``
  a fault waits, up to the next step (half an interval without ``overlap``, as the next
  step undoes it), for the next leader to be elected and strikes that leader at once
  (its event says ``timed``), before it commits in its term; with
  ``chain`` a fault is followed, with that chance each, by up to ``CHAIN_MOST`` more,
  each 1-20ms after the one before and of another kind (a removal may follow a
  removal), aimed at the last node struck (crashed, paused, isolated, its clock or disk,
  removed, or the leader that handed off in a transfer; their events say
  ``chained_to``, or ``chained`` when no one node was struck, and ``chain_from_ms``, when
  the chain's first fault struck) and undone with the first.
  A paused leader that is also cut off, an old leader isolated just after its
  transfer, a clock step on a leader then its isolation, a split then two removals
  sent to the cut-off leader: the combinations real outages make and that independent
  draws a second apart almost never do.
- A deafened node (the nemesis's ``deafen``: an isolated node that another node deposed
  while it was cut off) hears no one for the rest of the run but still sends: every
  partition set after it keeps the links to it cut, and a heal leaves exactly those
  (a ``net.partition`` of shape ``one_way`` saying ``deaf``, not a ``net.heal``). The
  decision is drawn when the isolation is undone, and only when the nemesis asks for
  it, so a nemesis without ``deafen`` draws as it always did.
- A stranded leader (the nemesis's ``strand``): with that chance a partition it starts on
  no node in particular cuts the current leader off, both ways, in a minority with
  others drawn at random (a ``net.partition`` of shape ``groups`` saying ``stranded``);
  its victim is that leader, so a chain follows it, and a removal chained to it while
  that partition holds removes every server the leader lost, one request each while
  a minority of the initial voters may be out (a dead-server cleanup, as Consul's
  autopilot runs one; an operator that does not wait sends them at once). Drawn only
  when the nemesis asks for it.
- A chasing partition (the nemesis's ``chase``): with that chance a partition it starts
  on no node in particular isolates the current leader and, for its life, follows
  leadership: each leader elected while it holds is isolated in its turn (the previous
  one rejoins), half the time the moment it is elected, half the time at its first
  commit (a ``net.partition`` of shape ``isolate`` saying ``chase``, ``chase_from_ms``
  and ``timed``; one timed on a commit says ``elected_ms``). A cut that keeps hitting
  whoever leads, the way a leader's own traffic saturates its link; three such cuts
  are Raft's Figure 8. Its draws come from the nemesis's stream; drawn only when the
  nemesis asks for it.
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
    ``membership`` takes an op ("add" or "remove"), a node (an id, or "leader") and
    what to call with the request's outcome when it ends (or None); ``absent``, asked
    with voters, answers those that are out of the configuration or may soon be (the
    membership nemesis bounds its removals by it, not by what it asked for);
    ``transfer`` (thesis §3.10), asked with a node id or "any", answers (leader,
    target, outcome): outcome "started" or why nothing was started.
    """

    leader_oracle: Callable[[], str | None] | None = None
    membership: Callable[[str, str, Callable[[str], None] | None], None] | None = None
    absent: Callable[[tuple[str, ...]], tuple[str, ...]] | None = None
    transfer: Callable[[str], tuple[str | None, str | None, str]] | None = None

    def leader(self) -> str | None:
        return self.leader_oracle() if self.leader_oracle is not None else None


def _call(action: Callable[[], object], _: simpy.Event) -> None:
    action()


def _nemesis_strobe() -> ClockStrobe:
    from harmonysim.scenario import ClockStrobe

    return ClockStrobe.model_validate({"delta": "200ms", "period": "20ms"})


ADD_BACK_RETRY_MS: Final = 1000.0
"""A refused add-back (the operator does not wait for commits and the leader refused the
change) is asked again this long after, while the nemesis runs."""

CHAIN_MOST: Final = 2
"""At most this many faults follow one nemesis fault in its chain."""

_ONE_AT_A_TIME: Final = frozenset({"partition"})
"""Nemesis kinds of which at most one fault is active at a time (a partition is a whole
cut: a second one would replace the first). Removals have their own bound: a minority."""


@dataclass(slots=True)
class _NemesisPlan:
    """What one nemesis draws from: its kinds, overlap, leader aim, chaining and election
    timing (the scenario's, or the seed's swarm draw of them), and fields its first step
    announces."""

    kinds: tuple[str, ...]
    overlap: int
    target_leader: float
    chain: float = 0.0
    on_election: float = 0.0
    first: dict[str, Any] | None = None
    deafen: float = 0.0
    strand: float = 0.0
    chase: float = 0.0

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
    swarm: dict[str, Any] = {"kinds": list(kinds), "overlap": overlap}
    swarm["target_leader"] = target_leader
    # Drawn only when the scenario asks for them, so a nemesis without them draws (and
    # announces) exactly as before they existed.
    chain = on_election = 0.0
    if spec.chain > 0.0:
        chain = spec.chain if rng.random() < 0.5 else 0.0
        swarm["chain"] = chain
    if spec.on_election > 0.0:
        on_election = spec.on_election if rng.random() < 0.5 else 0.0
        swarm["on_election"] = on_election
    deafen = 0.0
    if spec.deafen > 0.0:
        deafen = spec.deafen if rng.random() < 0.5 else 0.0
        swarm["deafen"] = deafen
    strand = 0.0
    if spec.strand > 0.0:
        strand = spec.strand if rng.random() < 0.5 else 0.0
        swarm["strand"] = strand
    chase = 0.0
    if spec.chase > 0.0:
        chase = spec.chase if rng.random() < 0.5 else 0.0
        swarm["chase"] = chase
    return _NemesisPlan(
        kinds, overlap, target_leader, chain, on_election, {"swarm": swarm}, deafen, strand, chase
    )


@dataclass(slots=True)
class _Chase:
    """A partition that chases leadership (``chase``) while it holds: the cut it set
    last, the leader it isolates, and a leader just elected that it will isolate at that
    leader's first commit (with when it was elected)."""

    rng: random.Random
    graph: nx.DiGraph
    target: str
    from_ms: float
    waiting: str | None = None
    elected_ms: float = 0.0


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
        # Nemesis steps waiting for the next leader to be elected (``on_election``).
        self._election_waiters: list[simpy.Event] = []
        self.noops: list[dict[str, Any]] = []  # faults that did nothing, in order, with why
        # The clock drift the servers tolerate (their lease bound): the nemesis keeps its
        # clock-rate faults within it, so a correct cluster stays correct under them.
        self.clock_drift_bound = 0.0
        self._disk_victims: set[str] = set()  # nodes the disk nemesis has struck
        self._deaf: str | None = None  # the node the nemesis deafened, for good
        # A leader the nemesis stranded in a minority (``strand``): the partition that
        # holds it, the leader and the servers it lost, while that partition holds.
        self._stranded: tuple[nx.DiGraph, str, tuple[str, ...]] | None = None
        self._chase: _Chase | None = None  # the partition chasing leadership, while it holds
        # The voters of the initial configuration (the cluster sets them): the membership
        # nemesis removes one of them for a while and adds it back.
        self.initial_members: tuple[str, ...] = ()
        self._nemesis_until_us = 0  # when the last nemesis to end ends (add-backs retry)

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
            if trigger is not None and self._election_waiters:
                waiters, self._election_waiters = self._election_waiters, []
                for waiter in waiters:  # each resumes after this event is handled
                    waiter.succeed(node)
        elif kind == EventKind.NODE_CRASH:
            self._roles.pop(node, None)
        elif self._roles.get(node) == "leader":
            trigger = _LEADER_COMMIT
        if self._chase is not None:
            self._chase_follow(self._chase, kind, node)
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
        return self.set_graph(graph, {**fields, **(extra or {})})

    def set_graph(self, graph: nx.DiGraph, fields: dict[str, Any]) -> nx.DiGraph:
        """Cut the network to ``graph`` (the allowed links) and log it; answers the graph
        set (``graph`` less the links to a deaf node)."""
        deaf = self._deaf
        if deaf is not None:  # it stays deaf: the links to it stay cut (module rules)
            graph = graph.copy()
            graph.remove_edges_from([(other, deaf) for other in self.node_ids if other != deaf])
            fields = {**fields, "deaf": deaf}
        self._network.set_partition(graph)
        self._emit(EventKind.NET_PARTITION, None, {**fields, "cut": partitions.describe(graph)})
        return graph

    def heal(self, extra: dict[str, Any] | None = None) -> None:
        deaf = self._deaf
        if deaf is not None:
            others = [node for node in self.node_ids if node != deaf]
            fields = {"shape": "one_way", "from": others, "to": [deaf], **(extra or {})}
            self.set_graph(partitions.one_way(self.node_ids, others, [deaf]), fields)
            return
        self._network.set_partition(None)
        self._emit(EventKind.NET_HEAL, None, dict(extra or {}))

    def _heal_isolation(self, rng: random.Random, deafen: float, victim: str) -> None:
        """Undo a nemesis isolation of ``victim``; with the chance ``deafen``, when another
        node leads by now (the victim was deposed while cut off) and no node is deaf yet,
        heal it only one way: it hears no one for the rest of the run."""
        if deafen > 0.0 and self._deaf is None and rng.random() < deafen:
            leader = self._hooks.leader()
            if leader is not None and leader != victim and self._nodes[victim].up:
                self._deaf = victim
        self.heal()

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
        self._nemesis_until_us = max(self._nemesis_until_us, until_us)
        yield env.timeout(max(0, start_us - env.now))
        plan = (
            _swarm(spec, rng)
            if spec.swarm
            else _NemesisPlan(
                spec.kinds,
                spec.overlap,
                spec.target_leader,
                spec.chain,
                spec.on_election,
                deafen=spec.deafen,
                strand=spec.strand,
                chase=spec.chase,
            )
        )
        if plan.on_election > 0.0 or plan.chase > 0.0:
            self._watch()
        if plan.overlap > 1:
            yield from self._overlapping_nemesis(plan, rng, until_us, interval_us)
            return
        undo: Callable[[], None] | None = None
        while env.now < until_us:
            tick = env.now
            # The next step is scheduled before any wait for an election, so at its
            # instant it runs where a step that never waited would (simpy breaks ties in
            # the order events were scheduled): a file unrolled from this run replays it.
            next_step = env.timeout(max(1, min(tick + interval_us, until_us) - tick))
            if undo is not None:
                undo()
                undo = None
            else:
                kind = rng.choice(list(plan.kinds))
                # Half an interval at most: the next step undoes the fault, so one that
                # waited in vain still holds for half an interval, not a microsecond.
                elected = yield from self._await_election(
                    plan, rng, tick + interval_us // 2, until_us
                )
                undo, _ = self._start(kind, rng, plan, None, plan.announce(), elected, until_us)
            yield next_step
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
        (RedisLabs/redisraft#17). A fault and the one chained to it count as one."""
        env = self._env
        # (end, kinds, undo) in start order; kinds: the fault's, and the one chained to it
        active: list[tuple[float, tuple[str, ...], Callable[[], None]]] = []
        while env.now < until_us:
            tick = env.now
            next_step = env.timeout(max(1, min(tick + interval_us, until_us) - tick))  # see above
            due = [fault for fault in active if fault[0] <= tick]
            active = [fault for fault in active if fault[0] > tick]
            for _, _, undo in due:
                undo()
            if len(active) < plan.overlap:
                kinds_held = [kind for _, kinds, _ in active for kind in kinds]
                held = {kind for kind in kinds_held if kind in _ONE_AT_A_TIME}
                if not self._may_remove(0):
                    held.add("membership")
                kinds = [k for k in plan.kinds if k not in held]
                if kinds:
                    kind = rng.choice(kinds)
                    lifetime_us = rng.randint(1, plan.overlap) * interval_us
                    elected = yield from self._await_election(
                        plan, rng, tick + interval_us, until_us
                    )
                    undo, started = self._start(
                        kind, rng, plan, lifetime_us, plan.announce(), elected, until_us, held
                    )
                    active.append((env.now + lifetime_us, started, undo))
            yield next_step
        for _, _, undo in active:
            undo()

    def _await_election(
        self, plan: _NemesisPlan, rng: random.Random, deadline_us: float, until_us: int
    ) -> Any:
        """With the plan's ``on_election`` chance, wait until the next leader is elected
        (at most until ``deadline_us``) and return it; else None at once.
        A generator: the nemesis yields from it."""
        if plan.on_election <= 0.0 or rng.random() >= plan.on_election:
            return None
        env = self._env
        wait_us = min(deadline_us, until_us) - env.now - 1
        if wait_us <= 0:
            return None
        elected = env.event()
        self._election_waiters.append(elected)
        yield elected | env.timeout(wait_us)
        if elected.triggered:
            return str(elected.value)
        self._election_waiters.remove(elected)
        return None

    def _start(
        self,
        kind: str,
        rng: random.Random,
        plan: _NemesisPlan,
        lifetime_us: int | None,
        extra: dict[str, Any] | None,
        elected: str | None,
        until_us: int,
        held: set[str] | None = None,
    ) -> tuple[Callable[[], None], tuple[str, ...]]:
        """Start one nemesis fault (aimed at ``elected``, the leader just elected, if the
        fault waited for one) and its chain: with the plan's ``chain`` chance, up to
        ``CHAIN_MOST`` faults follow, each 1-20ms after the one before, of another kind
        (a removal may follow a removal: an operator racing its own requests), aimed at
        the last node struck and lasting as long as the first. Answers the undo of them
        all and the kinds started."""
        if elected is not None:
            extra = {**(extra or {}), "timed": _LEADER_ELECTED}
        undo, victim = self._nemesis_fault(
            kind, rng, plan.target_leader, lifetime_us, extra, elected, plan
        )
        if plan.chain <= 0.0:
            return undo, (kind,)
        chain: list[str] = []

        def allowed(other: str) -> bool:
            if other in (held or ()):
                return False
            if other == "membership":  # another removal, while a minority stays removed
                return self._may_remove(chain.count("membership"))
            return other not in (kind, *chain)  # each other kind once, one partition

        while len(chain) < CHAIN_MOST and rng.random() < plan.chain:
            others = [other for other in plan.kinds if allowed(other)]
            if not others:
                break
            chain.append(rng.choice(others))
        if not chain:
            return undo, (kind,)
        delays = [rng.randint(1, 20) * 1000 for _ in chain]
        undos = [undo]
        state: dict[str, Any] = {"ended": False, "victim": victim}
        first_ms = self._env.now / 1000.0  # names the chain: chains may interleave

        def follow(second: str, waited_us: int) -> None:
            if state["ended"] or self._env.now >= until_us:
                return
            life = None if lifetime_us is None else max(1, lifetime_us - waited_us)
            aim = state["victim"]
            fields: dict[str, Any] = {"chained_to": aim} if aim is not None else {"chained": True}
            fields["chain_from_ms"] = first_ms
            then, struck = self._nemesis_fault(
                second, rng, plan.target_leader, life, fields, aim, plan
            )
            undos.append(then)
            if struck is not None:
                state["victim"] = struck

        def undo_all() -> None:
            state["ended"] = True
            for each in reversed(undos):
                each()

        waited = 0
        for second, delay_us in zip(chain, delays, strict=True):
            waited += delay_us
            self._at((self._env.now + waited) / 1000.0, functools.partial(follow, second, waited))
        return undo_all, (kind, *chain)

    @staticmethod
    def _undo(action: Callable[[str], bool], node: str) -> None:
        action(node)  # a no-op undo is already logged as one

    def _aim(
        self,
        rng: random.Random,
        target_leader: float,
        candidates: list[str],
        at: str | None = None,
    ) -> str:
        """A node from ``candidates``: ``at`` if it is one (a chained or election-timed
        fault's victim), else the leader with probability ``target_leader``."""
        if at is not None and at in candidates:
            return at
        if target_leader > 0.0 and rng.random() < target_leader:
            leader = self._hooks.leader()
            if leader is not None and leader in candidates:
                return leader
        return rng.choice(candidates)

    def _nemesis_disk(
        self, rng: random.Random, target_leader: float, at: str | None = None
    ) -> tuple[Callable[[], None], str]:
        """Corrupt one log record, tear the next crash or slow the fsyncs of one node, of a
        minority of nodes drawn as it goes (the repair protocol needs a majority that
        can elect a leader; never the hard state, whose damage stops a server)."""
        nodes = self.node_ids
        victims = self._disk_victims
        if len(victims) >= (len(nodes) - 1) // 2:  # a minority, fixed once drawn
            if at is not None and at in victims:
                target = at
            else:
                target = rng.choice(sorted(victims)) if victims else rng.choice(nodes)
        else:
            target = self._aim(rng, target_leader, nodes, at)
        victims.add(target)
        disk = self._nodes[target].disk
        change = rng.choice(["corrupt", "torn", "slow"])
        if change == "slow":
            return disk.slow(disk.fsync_latency_us + rng.randint(10, 100) * 1000), target
        if change == "torn":
            disk.arm_torn()
            self._log.emit(EventKind.DISK_FAULT, target, {"fault": "torn", "armed": True})
            return _nothing, target
        if not disk.corrupt("log", None, None):
            self._noop("disk.corrupt", target, "no durable record of log there")
        return _nothing, target

    def _nemesis_membership(
        self, rng: random.Random, target_leader: float, at: str | None = None
    ) -> tuple[Callable[[], None], str | None]:
        """Remove one voter of the initial configuration (the leader with probability
        ``target_leader``) and add it back when the fault ends. The cluster's membership
        driver serves requests in order, so the add follows the removal it undoes.
        Removals are bounded by the configuration as it is, not as the nemesis asked it
        to be: an add-back the leader refused leaves its voter out (and is asked again),
        so it still counts against the minority that may be out at once."""
        if not self._may_remove(0):
            self._noop("membership.remove", None, "a minority of the voters is already out")
            return _nothing, None
        absent = self._absent()
        voters = [node for node in (self.initial_members or self.node_ids) if node not in absent]
        if len(voters) < 2:
            self._noop("membership.remove", None, "a single voter cannot be removed")
            return _nothing, None
        lost = [node for node in self._lost_by(at) if node in voters] if at is not None else []
        if lost:  # a dead-server cleanup: every server the stranded leader lost, while allowed
            removed: list[str] = []
            for node in lost:
                if not self._may_remove(0):
                    break
                self._request_membership("remove", node)
                removed.append(node)
            return functools.partial(self._add_back_all, removed), at
        target = self._aim(rng, target_leader, voters, at)
        self._request_membership("remove", target)
        return functools.partial(self._add_back, target), target

    def _add_back_all(self, nodes: list[str]) -> None:
        for node in nodes:
            self._add_back(node)

    def _absent(self) -> tuple[str, ...]:
        """The initial voters out of the configuration or about to be (the hook's answer:
        not in the committed configuration or a running server's latest one, or named
        by a removal not yet served)."""
        if self._hooks.absent is None:
            return ()
        return self._hooks.absent(self.initial_members or tuple(self.node_ids))

    def _may_remove(self, more: int) -> bool:
        """Whether one more removal, after ``more`` already chosen but not yet asked,
        keeps the voters out at once within a minority of the initial voters."""
        voters = len(self.initial_members or self.node_ids)
        allowed = max(1, (voters - 1) // 2)
        return len(self._absent()) + more < allowed

    def _add_back(self, node: str) -> None:
        self._request_membership("add", node, functools.partial(self._added_back, node))

    def _added_back(self, node: str, result: str) -> None:
        """An add-back ended: one the leader refused is asked again a while later, while
        the nemesis runs (after it, the voter stays out; liveness needs only a majority)."""
        retry_us = round(ADD_BACK_RETRY_MS * 1000.0)
        if result == "refused" and self._env.now + retry_us < self._nemesis_until_us:
            self._at(
                self._env.now / 1000.0 + ADD_BACK_RETRY_MS, functools.partial(self._add_back, node)
            )

    def _request_membership(
        self, op: str, node: str, on_end: Callable[[str], None] | None = None
    ) -> None:
        key = f"membership.{op}"
        self.counts[key] = self.counts.get(key, 0) + 1
        if self._hooks.membership is None:
            raise RuntimeError("this world has no membership hook: nothing runs Raft on it")
        self._hooks.membership(op, node, on_end)

    def _nemesis_fault(
        self,
        kind: str,
        rng: random.Random,
        target_leader: float,
        lifetime_us: int | None,
        extra: dict[str, Any] | None,
        at: str | None,
        plan: _NemesisPlan,
    ) -> tuple[Callable[[], None], str | None]:
        """Start one fault of ``kind`` (on ``at`` where the kind takes a node and can);
        answers its undo and its victim: the node crashed, paused, isolated, whose clock
        or disk it struck, removed, or the leader that handed off; None for a clog or a
        partition into groups, which strike no one node. An isolation's undo may deafen
        its victim, with the plan's chance ``deafen`` (``_heal_isolation``); a partition
        may strand or chase the leader, with the plan's ``strand`` and ``chase``."""
        deafen = plan.deafen
        nodes = self.node_ids
        fields: dict[str, Any] = {"fault": kind}
        if lifetime_us is not None:
            fields["for_ms"] = lifetime_us / 1000.0
        if extra:
            fields.update(extra)
        self._emit(EventKind.NEMESIS, None, fields)
        if kind == "crash":
            up = [node for node in nodes if self._nodes[node].up]
            target = self._aim(rng, target_leader, up, at) if up else rng.choice(nodes)
            if not self.crash(target):
                return _nothing, None  # undo only what it did: not another fault's crash
            return functools.partial(self._undo, self.restart, target), target
        if kind == "pause":
            target = self._aim(rng, target_leader, nodes, at)
            if not self.pause(target):
                return _nothing, None  # undo only what it did: not another fault's pause
            return functools.partial(self._undo, self.resume, target), target
        if kind == "transfer":
            leader = self._hooks.leader()
            return _nothing, (leader if self.transfer("any") else None)
        if kind == "clock":
            target = self._aim(rng, target_leader, nodes, at)
            change = rng.choice(["rate", "jump", "strobe"])
            if change == "rate":  # within the drift the servers tolerate
                bound = self.clock_drift_bound
                return self.clock(target, rate=rng.uniform(1.0 - bound, 1.0 + bound)), target
            if change == "jump":
                step_ms = float(rng.randint(100, 2000)) * rng.choice([-1.0, 1.0])
                return self.clock(target, jump_ms=step_ms), target
            return self.clock(target, strobe=_nemesis_strobe()), target
        if kind == "disk":
            return self._nemesis_disk(rng, target_leader, at)
        if kind == "membership":
            return self._nemesis_membership(rng, target_leader, at)
        if kind == "clog":
            if at is not None and len(nodes) > 1:
                src, dst = at, rng.choice([node for node in nodes if node != at])
            else:
                src, dst = rng.sample(nodes, 2) if len(nodes) > 1 else (nodes[0], nodes[0])
            pairs = [(src, dst), (dst, src)]
            self.clog(pairs)
            return (lambda: self.unclog(pairs)), None
        if at is not None:  # the victim alone, cut off from the rest
            self.set_graph(partitions.isolate(nodes, at), {"shape": "isolate", "target": at})
            return self._isolation_undo(rng, deafen, at), at
        if plan.strand > 0.0 and rng.random() < plan.strand:
            stranded = self._strand(rng)
            if stranded is not None:
                return self.heal, stranded
        if plan.chase > 0.0 and rng.random() < plan.chase:
            chased = self._chase_start(rng)
            if chased is not None:
                return functools.partial(self._chase_end, self._chase), chased
        shape = rng.choice(["isolate", "isolate_leader", "majority", "one_way", "bridge", "ring"])
        victim: str | None = None
        if shape == "isolate":
            victim = self._aim(rng, target_leader, nodes)
            self.set_graph(
                partitions.isolate(nodes, victim), {"shape": "isolate", "target": victim}
            )
        elif shape == "isolate_leader":
            victim, notes = self.resolve("leader")
            self.set_graph(
                partitions.isolate(nodes, victim), {"shape": "isolate", "target": victim, **notes}
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
        if victim is not None:  # isolated
            return self._isolation_undo(rng, deafen, victim), victim
        return self.heal, victim

    def _strand(self, rng: random.Random) -> str | None:
        """Cut the current leader off, both ways, in a minority with others drawn at random
        (``strand``); answers the leader, or None when no leader is known or the cluster
        is too small for a minority of more than one."""
        leader = self._hooks.leader()
        nodes = self.node_ids
        size = (len(nodes) - 1) // 2  # the largest minority
        if leader is None or size < 2:
            return None
        others = [node for node in nodes if node != leader]
        minority = sorted([leader, *rng.sample(others, size - 1)])
        majority = [node for node in nodes if node not in minority]
        graph = self.set_graph(
            partitions.groups(nodes, [minority, majority]),
            {"shape": "groups", "groups": [minority, majority], "stranded": leader},
        )
        self._stranded = (graph, leader, tuple(majority))
        return leader

    def _chase_start(self, rng: random.Random) -> str | None:
        """Isolate the current leader with a partition that chases leadership (``chase``);
        answers that leader, or None when no leader is known."""
        leader = self._hooks.leader()
        if leader is None:
            return None
        from_ms = self._env.now / 1000.0
        graph = self.set_graph(
            partitions.isolate(self.node_ids, leader),
            {"shape": "isolate", "target": leader, "chase": True, "chase_from_ms": from_ms},
        )
        self._chase = _Chase(rng, graph, leader, from_ms)
        return leader

    def _chase_follow(self, chase: _Chase, kind: str, node: str) -> None:
        """A raft event while a chase holds: a leader elected is isolated at once or
        waited on for its first commit (drawn half and half); a crash or a step-down
        ends the wait."""
        if self._network.partition is not chase.graph:
            self._chase = None  # healed or replaced: it has stopped chasing
            return
        role = self._roles.get(node)
        if kind == EventKind.RAFT_ROLE and role == "leader":
            if node == chase.target:
                return  # elected alone: only a one-node cluster, nothing to chase
            chase.waiting = None
            if chase.rng.random() < 0.5:
                self._soon(functools.partial(self._chase_strike, chase, node, _LEADER_ELECTED))
            else:
                chase.waiting, chase.elected_ms = node, self._env.now / 1000.0
        elif chase.waiting == node and role != "leader":
            chase.waiting = None  # crashed or stepped down before it committed
        elif chase.waiting == node and kind == EventKind.RAFT_COMMIT:
            chase.waiting = None
            self._soon(functools.partial(self._chase_strike, chase, node, _LEADER_COMMIT))

    def _chase_strike(self, chase: _Chase, node: str, timed: str) -> None:
        if self._chase is not chase or self._network.partition is not chase.graph:
            return  # it ended (or was replaced) between the event and now
        fields: dict[str, Any] = {"shape": "isolate", "target": node, "chase": True}
        fields["chase_from_ms"] = chase.from_ms
        fields["timed"] = timed
        if timed == _LEADER_COMMIT:
            fields["elected_ms"] = chase.elected_ms
        chase.graph = self.set_graph(partitions.isolate(self.node_ids, node), fields)
        chase.target = node

    def _chase_end(self, chase: _Chase | None) -> None:
        """Undo a chasing partition: it stops chasing and the network heals."""
        if self._chase is chase:
            self._chase = None
        self.heal()

    def _lost_by(self, node: str) -> tuple[str, ...]:
        """The servers ``node`` lost, if it is the leader the nemesis stranded and the
        partition that stranded it still holds; else none."""
        if self._stranded is None:
            return ()
        graph, leader, lost = self._stranded
        if leader != node or self._network.partition is not graph:
            return ()
        return lost

    def _isolation_undo(self, rng: random.Random, deafen: float, victim: str) -> Callable[[], None]:
        if deafen <= 0.0:
            return self.heal
        return functools.partial(self._heal_isolation, rng, deafen, victim)
