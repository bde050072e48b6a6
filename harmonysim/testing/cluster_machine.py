"""A hypothesis ``RuleBasedStateMachine`` over a Raft cluster, with Raft safety and a
key-value model as invariants.

Why the pure core and not a simulated world: the sans-I/O ``RaftNode`` takes time as
``tick()`` and messages as ``step()``, so a test can own every source of
nondeterminism itself -- which message is delivered next, dropped or duplicated,
which node ticks, crashes or restarts, where the network is cut -- and hypothesis can
then search and shrink over exactly those choices. A simpy world would hide them
behind its own latency draws and timers.

Rules of this file:
- Each node is a ``RaftNode`` plus a ``KVStateMachine`` and the server's storage module
  (``harmonysim.cluster.storage``) over a ``MemoryDisk``, driven the way
  ``harmonysim.cluster.server.KVServer`` drives them: every ``Ready`` is persisted
  (snapshot, entries replacing the log from their first index, hard state) before its
  messages enter the network; then committed entries are applied, then ``advance``. The
  module checks the storage contract on every write (no gap, no truncation below commit,
  a snapshot replaces the prefix) and persist-before-send on every message. A crash
  drops the core and the state machine; a restart rebuilds both from the disk alone.
  ``compact`` snapshots a node's state machine at its applied index (§7), so lagging
  followers get ``InstallSnapshot``.
- Each program draws its cluster (1 to 5 nodes unless fixed) and its Raft options:
  PreVote, CheckQuorum and lease reads (which need CheckQuorum). Clients write (put,
  delete, cas) through the log, read through ReadIndex (or the lease), and an operator
  adds and removes voters one at a time (thesis §4.1) through the leader.
- Lease reads assume clocks that tick at the same rate (thesis §6.4.1). With them on,
  time is global: a ``tick`` rule ticks every live node, as ``settle`` does, so the
  search cannot break the lease's stated assumption and blame the protocol.
- The network is an explicit list of in-flight messages. Nothing is delivered unless
  a rule says so; a message across a cut link or to a crashed node is lost. Besides
  single steps (deliver, drop, duplicate one message; tick one node), ``settle`` lets
  time pass on the whole cluster (tick everyone, deliver everything), so elections
  and replication fit in one step and the search reaches deep states quickly.
- The node emits the same ``raft.*`` events as the server (persist, role, term,
  commit, apply, recover, snapshot), with the rule count as virtual time, into a
  ``RaftSafetyMonitor`` whose probe reads the live cores. The invariants are that
  monitor's checks, plus its end-of-run checks over the current cores after every
  rule (``check_invariants``, Election Safety, Log Matching, State Machine Safety,
  Leader Completeness).
- ``KVModel`` is the specification of client results: a plain dict that applies the
  committed log in index order. Every result a replica's state machine returns on
  applying an entry must be the model's result for that index, and every read must
  return the model's value at an index between the highest index committed when the
  read was asked and the highest applied when it is answered (linearizable reads).
- A failing program raises ``AssertionError`` naming the rule broken; hypothesis then
  shrinks it. ``last_program`` holds the steps of the last program run, so a test can
  show how short the shrunk program is. ``coverage`` counts what the programs did
  (messages delivered by kind, reads served, snapshots, configuration changes), so a
  test can show the features were exercised rather than passed over.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from harmonysim.check.raft_safety import RaftSafetyMonitor, entry_name
from harmonysim.cluster.commands import Command, Op, Operation, ReplyStatus
from harmonysim.cluster.state_machine import KVStateMachine
from harmonysim.cluster.storage import MemoryDisk, Storage
from harmonysim.raft import (
    Bug,
    ConfigOp,
    Entry,
    EntryKind,
    Message,
    RaftConfig,
    RaftNode,
    Role,
)
from harmonysim.sim.events import EventKind, EventRecord

__all__ = ["ClusterModel", "KVModel", "RaftClusterMachine", "cluster_machine"]

KEYS = ("k1", "k2", "k3", "k4", "k5", "k6")
"""Enough keys for the B+ tree (order 3) to split and merge often."""
BTREE_ORDER = 3
MAX_NODES = 5
RAFT_BUGS = frozenset(bug.value for bug in Bug)
_MAX_DELIVERIES = 400


class KVModel:
    """The key-value store as a specification: a dict per log index, built by applying
    the committed log in index order (``states[i]`` is the store after entry ``i``)."""

    def __init__(self) -> None:
        self.states: list[dict[str, Any]] = [{}]
        self.results: list[tuple[ReplyStatus, Any] | None] = [None]
        self.entries: list[Entry | None] = [None]

    @property
    def applied(self) -> int:
        return len(self.states) - 1

    def result(self, entry: Entry) -> tuple[ReplyStatus, Any] | None:
        """The model's result of ``entry`` at its index (applying it if it is the next)."""
        if entry.index > self.applied + 1:
            raise AssertionError(
                f"kv model: {entry_name(entry)} applied at {entry.index}, but no replica "
                f"applied {self.applied + 1} before it"
            )
        if entry.index <= self.applied:
            known = self.entries[entry.index]
            if known != entry:
                raise AssertionError(
                    f"kv model: index {entry.index} applied as {entry_name(entry)}, "
                    f"earlier as {entry_name(known) if known else '-'}"
                )
            return self.results[entry.index]
        state = dict(self.states[-1])
        result: tuple[ReplyStatus, Any] | None = None
        if entry.kind is EntryKind.NORMAL:
            command: Command = entry.data  # type: ignore[assignment]
            result = self._execute(state, command.operation)
        self.states.append(state)
        self.results.append(result)
        self.entries.append(entry)
        return result

    @staticmethod
    def _execute(state: dict[str, Any], operation: Operation) -> tuple[ReplyStatus, Any]:
        if operation.f is Op.PUT:
            state[operation.key] = operation.value
        elif operation.f is Op.DELETE:
            state.pop(operation.key, None)
        elif operation.f is Op.CAS:
            expected, new = operation.value
            if state.get(operation.key) != expected:
                return ReplyStatus.FAIL, None
            state[operation.key] = new
        else:
            return ReplyStatus.OK, state.get(operation.key)
        return ReplyStatus.OK, None

    def values(self, key: str, low: int, high: int) -> list[Any]:
        """The values ``key`` had after each index in ``[low, high]``."""
        return [self.states[index].get(key) for index in range(low, high + 1)]


@dataclass(frozen=True, slots=True)
class _Read:
    node: str
    key: str
    floor: int  # the highest index committed anywhere when the read was asked


class ClusterModel:
    """Raft cores, their disks and state machines, a hand-driven network and a KV model."""

    def __init__(
        self,
        node_count: int,
        *,
        seed: int = 0,
        bugs: frozenset[str] = frozenset(),
        prevote: bool = False,
        check_quorum: bool = False,
        lease_reads: bool = False,
    ) -> None:
        self.ids = tuple(f"n{index}" for index in range(1, node_count + 1))
        self.bugs = bugs
        self.lease_reads = lease_reads
        self.configs = {
            node: RaftConfig(
                node_id=node,
                voters=self.ids,
                election_timeout_ticks_min=5,
                election_timeout_ticks_max=10,
                heartbeat_interval_ticks=2,
                prevote=prevote,
                check_quorum=check_quorum,
                lease_reads=lease_reads,
                bugs=frozenset(bug for bug in bugs if bug in RAFT_BUGS),  # the rest: the tree's
            )
            for node in self.ids
        }
        self.seed = seed
        self.disks = {node: Storage(MemoryDisk()) for node in self.ids}  # what survives a crash
        self.cores: dict[str, RaftNode | None] = {node: None for node in self.ids}
        self.machines: dict[str, KVStateMachine] = {}
        self.network: list[Message] = []
        self.blocked: set[tuple[str, str]] = set()
        self.monitor = RaftSafetyMonitor(self.core)
        self.kv = KVModel()
        self.coverage: Counter[str] = Counter()
        self.clock_ms = 0.0
        self.committed_max = 0
        self._seq = 0
        self._incarnations = dict.fromkeys(self.ids, 0)
        self._reported: dict[str, tuple[Role, int, int]] = {}
        self._client_seq = 0
        self._reads: dict[int, _Read] = {}
        self._ready_reads: dict[str, list[tuple[int, int]]] = {node: [] for node in self.ids}
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
        hard_state, snapshot, entries = self.disks[node].load()
        machine = KVStateMachine(BTREE_ORDER, self.bugs)
        if snapshot is not None:
            machine.restore(snapshot.data)  # type: ignore[arg-type]
        rand = random.Random(f"{self.seed}/{node}/{self._incarnations[node]}")
        core = RaftNode(
            self.configs[node],
            rand,
            hard_state=hard_state,
            snapshot=snapshot,
            entries=entries,
        )
        self.cores[node] = core
        self.machines[node] = machine
        self._ready_reads[node] = []
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
            disk.save(ready)
            fields: dict[str, Any] = {}
            if ready.hard_state is not None:
                fields["term"] = ready.hard_state.term
                fields["voted_for"] = ready.hard_state.voted_for
                fields["commit"] = ready.hard_state.commit
            if ready.snapshot is not None:
                fields["snapshot"] = [ready.snapshot.index, ready.snapshot.term]
            if ready.entries:
                fields["entries"] = [[e.index, e.term, entry_name(e)] for e in ready.entries]
            if fields:
                self.emit(EventKind.RAFT_PERSIST, node, fields)
            for message in ready.messages:
                disk.check_sent(message)
            self.network.extend(ready.messages)
            machine = self.machines[node]
            if ready.snapshot is not None:
                machine.restore(ready.snapshot.data)  # type: ignore[arg-type]
                self._ready_reads[node] = []  # as the server: reads queued before are retried
                self.coverage["snapshot installed"] += 1
                self.emit(
                    EventKind.RAFT_RESTORE,
                    node,
                    {"index": ready.snapshot.index, "term": ready.snapshot.term},
                )
            for entry in ready.committed_entries:
                self._apply(node, machine, entry)
            for read_state in ready.read_states:
                self._ready_reads[node].append((read_state.index, int(read_state.request_id)))  # type: ignore[call-overload]
            self._note_state(node, core)
            core.advance(ready)
            self._serve_reads(node, core, machine)

    def _apply(self, node: str, machine: KVStateMachine, entry: Entry) -> None:
        fields: dict[str, Any] = {
            "index": entry.index,
            "term": entry.term,
            "entry_kind": entry.kind.name.lower(),
            "entry": entry_name(entry),
        }
        expected = self.kv.result(entry)
        if entry.kind is EntryKind.NORMAL:
            command: Command = entry.data  # type: ignore[assignment]
            status, result = machine.apply(command)
            fields.update(
                f=command.operation.f.value, key=command.operation.key, status=status.value
            )
            if (status, result) != expected:
                raise AssertionError(
                    f"kv model: {node} applied {entry_name(entry)} ({command.operation}) "
                    f"with result {(status.value, result)}, the model says {expected}"
                )
            state = self.kv.states[entry.index]
            for key in KEYS:  # every key reads back as the model says
                if machine.tree.get(key) != state.get(key):
                    raise AssertionError(
                        f"kv model: after {entry_name(entry)} {node} holds "
                        f"{key}={machine.tree.get(key)!r}, the model {state.get(key)!r}"
                    )
            self.coverage[f"applied {command.operation.f.value}"] += 1
        elif entry.kind is EntryKind.CONFIG:
            self.coverage["config applied"] += 1
        self.emit(EventKind.RAFT_APPLY, node, fields)

    def _serve_reads(self, node: str, core: RaftNode, machine: KVStateMachine) -> None:
        """Answer the reads whose read index this node has applied, and check each
        answer against the model (a linearizable read, see the module rules)."""
        queue = self._ready_reads[node]
        applied = core.applied_index
        while queue and queue[0][0] <= applied:
            index, request = queue.pop(0)
            read = self._reads.pop(request)
            if index < read.floor:
                raise AssertionError(
                    f"stale read: {node} answered read {request} at index {index}, but "
                    f"{read.floor} was committed before it was asked"
                )
            value = machine.read(Command("reader", request, Operation(Op.GET, read.key)))
            allowed = self.kv.values(read.key, read.floor, self.kv.applied)
            if value not in allowed:
                raise AssertionError(
                    f"kv model: {node} read {read.key}={value!r} (read {request}, index "
                    f"{index}); the model had {allowed} at indexes {read.floor}.."
                    f"{self.kv.applied}"
                )
            self.coverage["read with leases on" if self.lease_reads else "read"] += 1

    def _note_state(self, node: str, core: RaftNode) -> None:
        role, term, commit = self._reported[node]
        if core.role is not role:
            self.emit(
                EventKind.RAFT_ROLE,
                node,
                {"role": core.role.name.lower(), "term": core.term, "leader": core.leader},
            )
            if core.role is Role.LEADER:
                self.coverage["leader elected"] += 1
        if core.term != term:
            self.emit(EventKind.RAFT_TERM, node, {"term": core.term, "voted_for": core.voted_for})
        if core.commit_index != commit:
            self.emit(EventKind.RAFT_COMMIT, node, {"index": core.commit_index, "term": core.term})
        self.committed_max = max(self.committed_max, core.commit_index)
        self._reported[node] = (core.role, core.term, core.commit_index)

    # -- inputs -----------------------------------------------------------------------

    def tick(self, node: str, times: int = 1) -> None:
        """Tick ``node`` (every live node, when lease reads need one clock rate)."""
        for _ in range(times):
            if self.lease_reads:
                self._tick_everyone()
                continue
            core = self.cores[node]
            if core is None:
                return
            self.clock_ms += 1.0
            core.tick()
            self.process(node)

    def _tick_everyone(self) -> None:
        for node in self.ids:
            core = self.cores[node]
            if core is not None:
                core.tick()
                self.process(node)
        self.clock_ms += 1.0

    def campaign(self, node: str) -> None:
        core = self.cores[node]
        if core is not None:
            core.campaign()
            self.process(node)

    def propose(self, node: str, operation: Operation) -> int | None:
        """A client command through ``node``'s log: each command is its own client, so
        sessions never answer one from memory and the model needs none."""
        core = self.cores[node]
        if core is None:
            return None
        self._client_seq += 1
        index = core.propose(Command(f"c{self._client_seq}", 1, operation))
        self.process(node)
        return index

    def put(self, node: str, key: str) -> int | None:
        return self.propose(node, Operation(Op.PUT, key, self._client_seq + 1))

    def read(self, node: str, key: str) -> bool:
        """Ask ``node`` for a linearizable read of ``key``; False when it refused."""
        core = self.cores[node]
        if core is None:
            return False
        self._client_seq += 1
        request = self._client_seq
        self._reads[request] = _Read(node, key, self.committed_max)
        if not core.read_index(request):
            del self._reads[request]
            return False
        self.process(node)
        return True

    def compact(self, node: str) -> bool:
        """Snapshot ``node``'s state machine at its applied index (§7); False if nothing
        new is applied (or applied runs ahead of commit, as only a bug allows)."""
        core = self.cores[node]
        if core is None:
            return False
        index = core.applied_index
        if index <= core.snapshot_index or index > core.commit_index:
            return False
        snapshot = core.compact(index, self.machines[node].snapshot())
        self.disks[node].compact(snapshot, core.entries(index + 1, core.last_index))
        self.emit(EventKind.RAFT_SNAPSHOT, node, {"index": snapshot.index, "term": snapshot.term})
        self.coverage["compaction"] += 1
        return True

    def change_membership(self, target: str) -> int | None:
        """Ask the leader to remove ``target`` if it is a voter, else to add it back."""
        leader = self.leader()
        if leader is None:
            return None
        core = self.cores[leader]
        assert core is not None
        op = ConfigOp.REMOVE if target in core.voters else ConfigOp.ADD
        index = core.propose_config_change(op, target)
        self.process(leader)
        if index is not None:
            self.coverage[f"config {op.value} proposed"] += 1
        return index

    def deliver_at(self, position: int) -> None:
        message = self.network.pop(position)
        core = self.cores[message.dst]
        if core is None or (message.src, message.dst) in self.blocked:
            return
        self.coverage[type(message).__name__] += 1
        try:
            core.step(message)
        except AssertionError as error:  # the core's own guards (e.g. LogError)
            raise AssertionError(f"{message.dst} refused {message}: {error}") from error
        self.process(message.dst)

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
            self._tick_everyone()
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
    nodes: int | None = None,
    *,
    bugs: frozenset[str] = frozenset(),
    prevote: bool | None = None,
    check_quorum: bool | None = None,
    lease_reads: bool | None = None,
) -> type[RuleBasedStateMachine]:
    """A state machine class over a Raft cluster with the given bug switches
    (``harmonysim.raft.Bug`` values and the B+ tree's). ``nodes`` and the Raft options
    are drawn per program when None, fixed otherwise."""
    slots = st.integers(0, MAX_NODES - 1)  # a node, as a position modulo the cluster size
    sizes = st.integers(1, MAX_NODES) if nodes is None else st.just(nodes)
    flags = {
        name: st.booleans() if value is None else st.just(value)
        for name, value in (
            ("prevote", prevote),
            ("check_quorum", check_quorum),
            ("lease_reads", lease_reads),
        )
    }
    keys = st.sampled_from(KEYS)
    values = st.integers(0, 3)  # few values, so a cas matches as often as not
    writes = st.one_of(
        st.builds(lambda k, v: Operation(Op.PUT, k, v), keys, values),
        st.builds(lambda k, e, n: Operation(Op.CAS, k, (e, n)), keys, st.none() | values, values),
        st.builds(lambda k: Operation(Op.DELETE, k), keys),
    )
    has_network = precondition(lambda self: bool(self.cluster and self.cluster.network))

    class Machine(RuleBasedStateMachine):
        last_program: ClassVar[list[str]] = []
        coverage: ClassVar[Counter[str]] = Counter()

        def __init__(self) -> None:
            super().__init__()
            self.program: list[str] = []
            self.cluster: ClusterModel | None = None

        @property
        def model(self) -> ClusterModel:
            assert self.cluster is not None
            return self.cluster

        def node(self, slot: int) -> str:
            return self.model.ids[slot % len(self.model.ids)]

        def client_target(self, slot: int, at_leader: bool) -> str:
            """A client that knows the leader asks it; others ask any node."""
            leader = self.model.leader() if at_leader else None
            return leader if leader is not None else self.node(slot)

        def _step(self, text: str) -> None:
            self.program.append(text)
            type(self).last_program = list(self.program)

        @initialize(
            seed=st.integers(0, 2**16),
            size=sizes,
            prevote=flags["prevote"],
            check_quorum=flags["check_quorum"],
            lease_reads=flags["lease_reads"],
            warm=st.booleans(),
        )
        def start(
            self,
            seed: int,
            size: int,
            prevote: bool,
            check_quorum: bool,
            lease_reads: bool,
            warm: bool,
        ) -> None:
            lease_reads = lease_reads and check_quorum  # the lease relies on CheckQuorum
            self.cluster = ClusterModel(
                size,
                seed=seed,
                bugs=bugs,
                prevote=prevote,
                check_quorum=check_quorum,
                lease_reads=lease_reads,
            )
            self._step(
                f"start(seed={seed}, nodes={size}, prevote={prevote}, "
                f"check_quorum={check_quorum}, lease_reads={lease_reads})"
            )
            if warm:  # half the programs start from an elected leader: deeper states sooner
                self._step("settle(20)")
                self.model.settle(20)

        def teardown(self) -> None:
            if self.cluster is not None:
                type(self).coverage.update(self.cluster.coverage)

        @rule(slot=slots, times=st.integers(1, 12))
        def tick(self, slot: int, times: int) -> None:
            node = self.node(slot)
            self._step(f"tick({node}, {times})")
            self.model.tick(node, times)

        @rule(slot=slots)
        def campaign(self, slot: int) -> None:
            node = self.node(slot)
            self._step(f"campaign({node})")
            self.model.campaign(node)

        @rule(slot=slots, at_leader=st.booleans(), operation=writes)
        def client_write(self, slot: int, at_leader: bool, operation: Operation) -> None:
            node = self.client_target(slot, at_leader)
            self._step(f"write({node}, {operation.f.value} {operation.key} {operation.value})")
            self.model.propose(node, operation)

        @rule(slot=slots, at_leader=st.booleans(), key=keys)
        def client_read(self, slot: int, at_leader: bool, key: str) -> None:
            node = self.client_target(slot, at_leader)
            self._step(f"read({node}, {key})")
            self.model.read(node, key)

        @rule(slot=slots)
        def compact(self, slot: int) -> None:
            node = self.node(slot)
            self._step(f"compact({node})")
            self.model.compact(node)

        @rule(slot=slots, key=keys)
        def leave_behind(self, slot: int, key: str) -> None:
            """A macro step: cut ``node`` off, commit a write without it and compact the
            leader past it, then heal: the node can only catch up by InstallSnapshot."""
            node = self.node(slot)
            leader = self.model.leader()
            if leader is None or leader == node:
                return
            self._step(f"leave_behind({node}, {key})")
            self.model.partition(frozenset({node}))
            self.model.put(leader, key)
            self.model.settle(4)
            self.model.compact(leader)
            self.model.heal()

        @rule(slot=slots)
        def change_membership(self, slot: int) -> None:
            node = self.node(slot)
            self._step(f"membership({node})")
            self.model.change_membership(node)

        @has_network
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

        @has_network
        @rule(position=st.integers(0, 1000))
        def drop(self, position: int) -> None:
            network = self.model.network
            self._step(f"drop({position % len(network)})")
            network.pop(position % len(network))

        @has_network
        @rule(position=st.integers(0, 1000))
        def duplicate(self, position: int) -> None:
            network = self.model.network
            self._step(f"duplicate({position % len(network)})")
            network.append(network[position % len(network)])

        @rule(slot=slots)
        def crash(self, slot: int) -> None:
            node = self.node(slot)
            if self.model.cores[node] is not None:
                self._step(f"crash({node})")
                self.model.crash(node)

        @rule(slot=slots)
        def restart(self, slot: int) -> None:
            node = self.node(slot)
            if self.model.cores[node] is None:
                self._step(f"restart({node})")
                self.model.start(node)

        @rule(side=st.frozensets(slots, min_size=1, max_size=MAX_NODES // 2))
        def partition(self, side: frozenset[int]) -> None:
            nodes = frozenset(self.node(slot) for slot in side)
            self._step(f"partition({', '.join(sorted(nodes))} | rest)")
            self.model.partition(nodes)

        @rule()
        def heal(self) -> None:
            self._step("heal()")
            self.model.heal()

        @invariant()
        def raft_safety(self) -> None:
            if self.cluster is not None:
                self.model.check()

    size_name = "N" if nodes is None else str(nodes)
    Machine.__name__ = Machine.__qualname__ = f"RaftCluster{size_name}Machine"
    return Machine


RaftClusterMachine = cluster_machine()
"""1 to 5 nodes, Raft options drawn per program, no bug switched on: every program
must keep Raft safe and answer clients as the KV model does."""
