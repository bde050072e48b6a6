"""A hypothesis ``RuleBasedStateMachine`` over a Raft cluster, with Raft safety as invariants.

Why the pure core and not a simulated world: the sans-I/O ``RaftNode`` takes time as
``tick()`` and messages as ``step()``, so a test can own every source of
nondeterminism itself -- which message is delivered next, dropped or duplicated,
which node ticks, crashes or restarts, where the network is cut -- and hypothesis can
then search and shrink over exactly those choices. A simpy world would hide them
behind its own latency draws and timers.

Rules of this file:
- Each node is a ``RaftNode`` plus a ``KVStateMachine`` and an in-memory disk, driven
  the way ``harmonysim.cluster.server.KVServer`` drives them: every ``Ready`` is
  persisted (snapshot, entries replacing the log from their first index, hard state)
  before its messages enter the network; then committed entries are applied, then
  ``advance``. A crash drops the core and the state machine; a restart rebuilds both
  from the disk alone. (No log compaction: logs stay short in these programs.)
- The network is an explicit list of in-flight messages. Nothing is delivered unless
  a rule says so; a message across a cut link or to a crashed node is lost. Besides
  single steps (deliver, drop, duplicate one message; tick one node), ``settle`` lets
  time pass on the whole cluster (tick everyone, deliver everything), so elections
  and replication fit in one step and the search reaches deep states quickly.
- The node emits the same ``raft.*`` events as the server (persist, role, term,
  commit, apply, recover), with the rule count as virtual time, into a
  ``RaftSafetyMonitor`` whose probe reads the live cores. The invariants are that
  monitor's checks, plus its end-of-run checks over the current cores after every
  rule (``check_invariants``, Election Safety, Log Matching, State Machine Safety,
  Leader Completeness).
- A failing program raises ``AssertionError`` naming the rule broken; hypothesis then
  shrinks it. ``last_program`` holds the steps of the last program run, so a test can
  show how short the shrunk program is.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from harmonysim.check.raft_safety import RaftSafetyMonitor, entry_name
from harmonysim.cluster.commands import Command, Op, Operation
from harmonysim.cluster.state_machine import KVStateMachine
from harmonysim.raft import (
    Entry,
    EntryKind,
    HardState,
    Message,
    RaftConfig,
    RaftNode,
    Role,
    Snapshot,
)
from harmonysim.sim.events import EventKind, EventRecord

__all__ = ["ClusterModel", "RaftClusterMachine", "cluster_machine"]

KEYS = ("k1", "k2", "k3")
_MAX_DELIVERIES = 400


@dataclass
class _Disk:
    """What survives a crash."""

    hard_state: HardState | None = None
    snapshot: Snapshot | None = None
    entries: list[Entry] = field(default_factory=list)


class ClusterModel:
    """Raft cores, their disks and state machines, and a hand-driven network."""

    def __init__(
        self,
        node_count: int,
        *,
        seed: int = 0,
        bugs: frozenset[str] = frozenset(),
        prevote: bool = False,
        check_quorum: bool = False,
    ) -> None:
        self.ids = tuple(f"n{index}" for index in range(1, node_count + 1))
        self.bugs = bugs
        self.configs = {
            node: RaftConfig(
                node_id=node,
                voters=self.ids,
                election_timeout_ticks_min=5,
                election_timeout_ticks_max=10,
                heartbeat_interval_ticks=2,
                prevote=prevote,
                check_quorum=check_quorum,
                bugs=bugs,
            )
            for node in self.ids
        }
        self.seed = seed
        self.disks = {node: _Disk() for node in self.ids}
        self.cores: dict[str, RaftNode | None] = {node: None for node in self.ids}
        self.machines: dict[str, KVStateMachine] = {}
        self.network: list[Message] = []
        self.blocked: set[tuple[str, str]] = set()
        self.monitor = RaftSafetyMonitor(self.core)
        self.clock_ms = 0.0
        self._seq = 0
        self._incarnations = dict.fromkeys(self.ids, 0)
        self._reported: dict[str, tuple[Role, int, int]] = {}
        self._client_seq = 0
        for node in self.ids:
            self.start(node)

    # -- access ---------------------------------------------------------------------

    def core(self, node: str) -> RaftNode | None:
        return self.cores[node]

    def live(self) -> list[tuple[str, RaftNode]]:
        return [(node, core) for node in self.ids if (core := self.cores[node]) is not None]

    def leader(self) -> str | None:
        leaders = [(core.term, node) for node, core in self.live() if core.role is Role.LEADER]
        return max(leaders)[1] if leaders else None

    # -- events -----------------------------------------------------------------------

    def emit(self, kind: EventKind, node: str, fields: dict[str, Any]) -> None:
        record: EventRecord = {
            "t": self.clock_ms,
            "seq": self._seq,
            "kind": kind.value,
            "node": node,
            **fields,
        }
        self._seq += 1
        self.monitor.observe(record)

    # -- lifecycle ------------------------------------------------------------------

    def start(self, node: str) -> None:
        """Build the node's core and state machine from its disk alone (a restart)."""
        disk = self.disks[node]
        machine = KVStateMachine(4, self.bugs)
        if disk.snapshot is not None:
            machine.restore(disk.snapshot.data)  # type: ignore[arg-type]
        rand = random.Random(f"{self.seed}/{node}/{self._incarnations[node]}")
        core = RaftNode(
            self.configs[node],
            rand,
            hard_state=disk.hard_state,
            snapshot=disk.snapshot,
            entries=tuple(disk.entries),
        )
        self.cores[node] = core
        self.machines[node] = machine
        self._reported[node] = (core.role, core.term, core.commit_index)
        self.emit(
            EventKind.RAFT_RECOVER,
            node,
            {
                "term": core.term,
                "voted_for": core.voted_for,
                "commit": core.commit_index,
                "snapshot_index": core.snapshot_index,
                "last_index": core.last_index,
                "last_term": core.last_term,
            },
        )
        self.process(node)

    def crash(self, node: str) -> None:
        self.cores[node] = None
        self._incarnations[node] += 1

    # -- the server loop ----------------------------------------------------------------

    def process(self, node: str) -> None:
        """Drain every Ready of ``node`` under the Ready contract (see the module rules)."""
        core = self.cores[node]
        if core is None:
            return
        disk = self.disks[node]
        while core.has_ready():
            ready = core.ready()
            fields: dict[str, Any] = {}
            if ready.hard_state is not None:
                disk.hard_state = ready.hard_state
                fields["term"] = ready.hard_state.term
                fields["voted_for"] = ready.hard_state.voted_for
                fields["commit"] = ready.hard_state.commit
            if ready.snapshot is not None:
                disk.snapshot = ready.snapshot
                disk.entries = []
                fields["snapshot"] = [ready.snapshot.index, ready.snapshot.term]
            if ready.entries:
                first = ready.entries[0].index
                disk.entries = [e for e in disk.entries if e.index < first] + list(ready.entries)
                fields["entries"] = [[e.index, e.term, entry_name(e)] for e in ready.entries]
            if fields:
                self.emit(EventKind.RAFT_PERSIST, node, fields)
            self.network.extend(ready.messages)
            machine = self.machines[node]
            if ready.snapshot is not None:
                machine.restore(ready.snapshot.data)  # type: ignore[arg-type]
                self.emit(
                    EventKind.RAFT_RESTORE,
                    node,
                    {"index": ready.snapshot.index, "term": ready.snapshot.term},
                )
            for entry in ready.committed_entries:
                self._apply(node, machine, entry)
            self._note_state(node, core)
            core.advance(ready)

    def _apply(self, node: str, machine: KVStateMachine, entry: Entry) -> None:
        fields: dict[str, Any] = {
            "index": entry.index,
            "term": entry.term,
            "entry_kind": entry.kind.name.lower(),
            "entry": entry_name(entry),
        }
        if entry.kind is EntryKind.NORMAL:
            command: Command = entry.data  # type: ignore[assignment]
            status, _ = machine.apply(command)
            fields.update(
                f=command.operation.f.value, key=command.operation.key, status=status.value
            )
        self.emit(EventKind.RAFT_APPLY, node, fields)

    def _note_state(self, node: str, core: RaftNode) -> None:
        role, term, commit = self._reported[node]
        if core.role is not role:
            self.emit(
                EventKind.RAFT_ROLE,
                node,
                {"role": core.role.name.lower(), "term": core.term, "leader": core.leader},
            )
        if core.term != term:
            self.emit(EventKind.RAFT_TERM, node, {"term": core.term, "voted_for": core.voted_for})
        if core.commit_index != commit:
            self.emit(EventKind.RAFT_COMMIT, node, {"index": core.commit_index, "term": core.term})
        self._reported[node] = (core.role, core.term, core.commit_index)

    # -- inputs -----------------------------------------------------------------------

    def tick(self, node: str, times: int = 1) -> None:
        for _ in range(times):
            core = self.cores[node]
            if core is None:
                return
            self.clock_ms += 1.0
            core.tick()
            self.process(node)

    def campaign(self, node: str) -> None:
        core = self.cores[node]
        if core is not None:
            core.campaign()
            self.process(node)

    def put(self, node: str, key: str) -> int | None:
        core = self.cores[node]
        if core is None:
            return None
        self._client_seq += 1
        value = self._client_seq
        index = core.propose(Command("c1", self._client_seq, Operation(Op.PUT, key, value)))
        self.process(node)
        return index

    def deliver_at(self, position: int) -> None:
        message = self.network.pop(position)
        core = self.cores[message.dst]
        if core is None or (message.src, message.dst) in self.blocked:
            return
        try:
            core.step(message)
            self.process(message.dst)
        except AssertionError as error:  # the core's own guards (e.g. LogError)
            raise AssertionError(f"{message.dst} refused {message}: {error}") from error

    def deliver_all(self) -> int:
        delivered = 0
        while self.network and delivered < _MAX_DELIVERIES:
            self.deliver_at(0)
            delivered += 1
        return delivered

    def settle(self, ticks: int) -> None:
        """Let time pass with a working network: tick every live node, then deliver
        everything in flight, ``ticks`` times (elections and replication run their course)."""
        for _ in range(ticks):
            for node in self.ids:
                core = self.cores[node]
                if core is not None:
                    core.tick()
                    self.process(node)
            self.clock_ms += 1.0
            self.deliver_all()

    def partition(self, side: frozenset[str]) -> None:
        """Cut every link between ``side`` and the other nodes, both ways."""
        self.blocked = {
            (a, b) for a in self.ids for b in self.ids if a != b and ((a in side) != (b in side))
        }

    def heal(self) -> None:
        self.blocked = set()

    def check(self) -> None:
        """Raise AssertionError with the first violation, if any (end-of-run checks too)."""
        self.monitor.check_final(self.live(), self.clock_ms)
        if not self.monitor.ok:
            raise AssertionError(str(self.monitor.violations[0]))


def cluster_machine(
    nodes: int = 3,
    *,
    bugs: frozenset[str] = frozenset(),
    prevote: bool = False,
    check_quorum: bool = False,
) -> type[RuleBasedStateMachine]:
    """A state machine class over a cluster of ``nodes`` with the given Raft options and
    bug switches (``harmonysim.raft.Bug`` values)."""
    ids = tuple(f"n{index}" for index in range(1, nodes + 1))
    node_ids = st.sampled_from(ids)

    class Machine(RuleBasedStateMachine):
        last_program: ClassVar[list[str]] = []

        def __init__(self) -> None:
            super().__init__()
            self.program: list[str] = []
            self.cluster: ClusterModel | None = None

        @property
        def model(self) -> ClusterModel:
            assert self.cluster is not None
            return self.cluster

        def _step(self, text: str) -> None:
            self.program.append(text)
            type(self).last_program = list(self.program)

        @initialize(seed=st.integers(0, 2**16))
        def start(self, seed: int) -> None:
            self.cluster = ClusterModel(
                nodes, seed=seed, bugs=bugs, prevote=prevote, check_quorum=check_quorum
            )
            self._step(f"start(seed={seed})")

        @rule(node=node_ids, times=st.integers(1, 12))
        def tick(self, node: str, times: int) -> None:
            self._step(f"tick({node}, {times})")
            self.model.tick(node, times)

        @rule(node=node_ids)
        def campaign(self, node: str) -> None:
            self._step(f"campaign({node})")
            self.model.campaign(node)

        @rule(node=node_ids, key=st.sampled_from(KEYS))
        def client_put(self, node: str, key: str) -> None:
            self._step(f"put({node}, {key})")
            self.model.put(node, key)

        @precondition(lambda self: bool(self.cluster and self.cluster.network))
        @rule(position=st.integers(0, 1000))
        def deliver(self, position: int) -> None:
            network = self.model.network
            self._step(f"deliver({position % len(network)})")
            self.model.deliver_at(position % len(network))

        @rule()
        def deliver_all(self) -> None:
            self._step("deliver_all()")
            self.model.deliver_all()

        @rule(ticks=st.integers(1, 30))
        def settle(self, ticks: int) -> None:
            self._step(f"settle({ticks})")
            self.model.settle(ticks)

        @precondition(lambda self: bool(self.cluster and self.cluster.network))
        @rule(position=st.integers(0, 1000))
        def drop(self, position: int) -> None:
            network = self.model.network
            self._step(f"drop({position % len(network)})")
            network.pop(position % len(network))

        @precondition(lambda self: bool(self.cluster and self.cluster.network))
        @rule(position=st.integers(0, 1000))
        def duplicate(self, position: int) -> None:
            network = self.model.network
            self._step(f"duplicate({position % len(network)})")
            network.append(network[position % len(network)])

        @rule(node=node_ids)
        def crash(self, node: str) -> None:
            if self.model.cores[node] is not None:
                self._step(f"crash({node})")
                self.model.crash(node)

        @rule(node=node_ids)
        def restart(self, node: str) -> None:
            if self.model.cores[node] is None:
                self._step(f"restart({node})")
                self.model.start(node)

        @rule(side=st.frozensets(node_ids, min_size=1, max_size=max(1, nodes // 2)))
        def partition(self, side: frozenset[str]) -> None:
            self._step(f"partition({', '.join(sorted(side))} | rest)")
            self.model.partition(side)

        @rule()
        def heal(self) -> None:
            self._step("heal()")
            self.model.heal()

        @invariant()
        def raft_safety(self) -> None:
            if self.cluster is not None:
                self.model.check()

    Machine.__name__ = Machine.__qualname__ = f"RaftCluster{nodes}Machine"
    return Machine


RaftClusterMachine = cluster_machine()
"""Three nodes, no bug switched on: every program must keep Raft safe."""
