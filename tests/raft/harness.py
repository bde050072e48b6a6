"""A pure, in-memory harness driving several ``RaftNode``s, with a safety checker.

Rules of this file:

- Each node's disk is the server's storage module (``harmonysim.cluster.storage``) over a
  ``MemoryDisk``, written exactly as the ``Ready`` contract says: snapshot, entries and hard
  state first (the module checks: no gap, no truncation below commit, a snapshot replaces
  the prefix), then messages go on the network (the module checks each is persisted before
  it is sent), then committed entries are applied, then ``advance``. A breach raises the
  module's ``ContractViolation`` naming the rule.
- The network is an explicit list of in-flight messages the test controls: deliver the
  oldest, deliver by predicate, pick one at random, drop, duplicate, partition. Nothing is
  delivered implicitly.
- ``crash`` throws away every volatile bit of a node (its ``RaftNode`` and state machine)
  and ``restart`` rebuilds it from its disk alone.
- The safety checker follows §5.2 Figure 3 of the Raft paper: Election Safety (one leader
  per term), Log Matching, Leader Completeness (a new leader holds every committed entry),
  committed entries never change, and State Machine Safety (every node applies the same
  entry at each index). Violations are raised at once (``strict``) or collected.
- When ``transcript`` is a list, the harness writes what happens into it, one line each:
  every message delivered (``describe_message``) or lost (``drop ...``), every change of
  a node's role, every snapshot a node installs and every read it serves. The datadriven
  transcripts (``interaction.py``) print these lines as the output of their commands.
- Nodes can join later (``add_node``): a membership change needs a server that is not
  yet in the configuration.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Any

from harmonysim.cluster.storage import MemoryDisk, Storage
from harmonysim.raft import (
    ConfigOp,
    Entry,
    EntryKind,
    HardState,
    Message,
    RaftConfig,
    RaftNode,
    RandomSource,
    ReadState,
    Ready,
    Role,
    Snapshot,
    describe_entry,
    describe_message,
)


class HarnessSafetyError(AssertionError):
    """A Raft safety property (Figure 3 of the paper) does not hold."""


class ScriptedRand:
    """A ``randint`` that replays fixed values (clamped into range), for scripted transcripts."""

    def __init__(self, values: Iterable[int]) -> None:
        self._values = list(values)
        self._position = 0
        self.draws = 0

    def randint(self, a: int, b: int) -> int:
        value = self._values[self._position % len(self._values)]
        self._position += 1
        self.draws += 1
        return min(max(value, a), b)


def format_log(node: RaftNode) -> str:
    """Terms of the held log, like the figures of the paper: ``1 1 1 4 4 5``."""
    held = node.entries(node.first_index, node.last_index)
    prefix = f"[snap {node.snapshot_index}@{node.term_at(node.snapshot_index)}] " * bool(
        node.snapshot_index
    )
    return prefix + " ".join(str(entry.term) for entry in held)


class Cluster:
    """N nodes, their disks and state machines, and a hand-driven network."""

    def __init__(
        self,
        ids: Iterable[str],
        *,
        voters: Iterable[str] | None = None,
        seed: int = 0,
        rands: dict[str, RandomSource] | None = None,
        strict: bool = True,
        election_timeout_ticks_min: int = 10,
        election_timeout_ticks_max: int = 20,
        heartbeat_interval_ticks: int = 3,
        **config: Any,
    ) -> None:
        ids = sorted(ids)
        self.ids: list[str] = []
        self.seed = seed
        self.configs: dict[str, RaftConfig] = {}
        self.rands: dict[str, RandomSource] = {}
        self.strict = strict
        self.disks: dict[str, Storage] = {}  # what survives a crash
        self.nodes: dict[str, RaftNode | None] = {}
        self.state_machines: dict[str, list[Entry]] = {}
        self.read_states: dict[str, list[tuple[ReadState, int]]] = {}
        self.read_floors: dict[object, int] = {}
        self.network: list[Message] = []
        self.blocked: set[tuple[str, str]] = set()
        self.transcript: list[str] | None = None
        self.violations: list[str] = []
        self.leaders_by_term: dict[int, str] = {}
        self.committed: dict[int, Entry] = {}
        self.applied: dict[int, Entry] = {}
        self._checked_commit: dict[str, int] = {}
        self._was_leader: dict[str, bool] = {}
        self._roles: dict[str, Role] = {}  # the role each node last reported (soft state)
        self.delivered = 0
        self.dropped = 0
        voter_tuple = tuple(sorted(voters if voters is not None else ids))
        for node_id in ids:
            self.add_node(
                node_id,
                voters=voter_tuple,
                rand=(rands or {}).get(node_id),
                election_timeout_ticks_min=election_timeout_ticks_min,
                election_timeout_ticks_max=election_timeout_ticks_max,
                heartbeat_interval_ticks=heartbeat_interval_ticks,
                **config,
            )

    def add_node(
        self,
        node_id: str,
        *,
        voters: Iterable[str],
        rand: RandomSource | None = None,
        **config: Any,
    ) -> RaftNode:
        """Start a node with an empty disk; ``voters`` is its bootstrap configuration (a
        joining server is not in it, and learns the real one from the leader)."""
        if node_id in self.nodes:
            raise ValueError(f"node {node_id} exists already")
        self.ids = sorted([*self.ids, node_id])
        self.configs[node_id] = RaftConfig(node_id=node_id, voters=tuple(sorted(voters)), **config)
        self.rands[node_id] = rand or random.Random(f"{self.seed}/{node_id}")
        self.disks[node_id] = Storage(MemoryDisk())
        self.state_machines[node_id] = []
        self.read_states[node_id] = []
        self._checked_commit[node_id] = 0
        self._was_leader[node_id] = False
        node = RaftNode(self.configs[node_id], self.rands[node_id])
        self.nodes[node_id] = node
        return node

    # ------------------------------------------------------------------ access

    def node(self, node_id: str) -> RaftNode:
        node = self.nodes[node_id]
        if node is None:
            raise KeyError(f"{node_id} is crashed")
        return node

    def live(self) -> list[str]:
        return [node_id for node_id in self.ids if self.nodes[node_id] is not None]

    def leaders(self) -> list[str]:
        return [i for i in self.live() if self.node(i).role is Role.LEADER]

    def leader(self) -> str | None:
        """The live leader with the highest term, if any."""
        leaders = sorted(self.leaders(), key=lambda i: self.node(i).term)
        return leaders[-1] if leaders else None

    def note(self, line: str) -> None:
        if self.transcript is not None:
            self.transcript.append(line)

    # ------------------------------------------------------------------ driving

    def process(self, node_id: str) -> None:
        """Run the server loop of one node: drain every Ready under the contract."""
        node = self.nodes[node_id]
        if node is None:
            return
        while node.has_ready():
            ready = node.ready()
            disk = self.disks[node_id]
            if ready.soft_state is not None and ready.soft_state.role is not self._roles.get(
                node_id, Role.FOLLOWER
            ):
                self.note(f"{node_id} became {ready.soft_state.role.name} at term {node.term}")
            if ready.soft_state is not None:
                self._roles[node_id] = ready.soft_state.role
            if ready.snapshot is not None:
                snapshot = ready.snapshot
                self.note(
                    f"{node_id} installed snapshot {snapshot.index}@{snapshot.term} "
                    f"voters={','.join(snapshot.voters)}"
                )
            disk.save(ready)
            for msg in ready.messages:
                disk.check_sent(msg)
            self.network.extend(ready.messages)
            machine = self.state_machines[node_id]
            if ready.snapshot is not None:
                machine[:] = self._snapshot_contents(ready.snapshot)
            for entry in ready.committed_entries:
                if entry.index != len(machine) + 1:
                    raise AssertionError(f"{node_id} applies {entry.index} after {len(machine)}")
                machine.append(entry)
                self._record_applied(node_id, entry)
            for read_state in ready.read_states:
                self.note(f"{node_id} read {read_state.request_id} at index {read_state.index}")
                self.read_states[node_id].append((read_state, node.commit_index))
                floor = self.read_floors.get(read_state.request_id, 0)
                if read_state.index < floor:
                    self._violation(
                        f"stale read: {node_id} served {read_state.request_id!r} at "
                        f"{read_state.index}, but {floor} was committed before it was asked"
                    )
            node.advance(ready)
        try:
            node.check_invariants()
        except AssertionError as error:
            self._violation(f"{node_id} invariant: {error}")
        self._record(node_id, node)

    def tick(self, node_id: str, times: int = 1) -> None:
        for _ in range(times):
            if self.nodes[node_id] is not None:
                self.node(node_id).tick()
                self.process(node_id)

    def tick_all(self, times: int = 1) -> None:
        for _ in range(times):
            for node_id in self.live():
                self.node(node_id).tick()
                self.process(node_id)

    def campaign(self, node_id: str) -> None:
        self.node(node_id).campaign()
        self.process(node_id)

    def propose(self, node_id: str, data: object) -> int | None:
        index = self.node(node_id).propose(data)
        self.process(node_id)
        return index

    def propose_config_change(self, node_id: str, op: ConfigOp, target: str) -> int | None:
        index = self.node(node_id).propose_config_change(op, target)
        self.process(node_id)
        return index

    def read_index(self, node_id: str, request_id: object) -> bool:
        """Start a read; the ReadState it yields must cover every write committed before."""
        self.read_floors[request_id] = max(self.committed, default=0)
        accepted = self.node(node_id).read_index(request_id)
        self.process(node_id)
        return accepted

    def compact(self, node_id: str, index: int | None = None) -> Snapshot:
        node = self.node(node_id)
        upto = min(node.applied_index, node.commit_index) if index is None else index
        data = tuple(self.state_machines[node_id][:upto])
        snapshot = node.compact(upto, data)
        self.disks[node_id].compact(snapshot, node.entries(upto + 1, node.last_index))
        self.process(node_id)
        return snapshot

    def crash(self, node_id: str) -> None:
        self.nodes[node_id] = None
        self.state_machines[node_id] = []
        self._was_leader[node_id] = False
        self._roles[node_id] = Role.FOLLOWER  # a restarted node starts as a follower

    def restart(self, node_id: str, **config_changes: Any) -> RaftNode:
        """Rebuild a node from its disk alone (optionally with a changed config)."""
        hard_state, snapshot, entries = self.disks[node_id].load()
        if config_changes:
            config = self.configs[node_id]
            values = {name: getattr(config, name) for name in config.__dataclass_fields__}
            values.update(config_changes)
            self.configs[node_id] = RaftConfig(**values)
        node = RaftNode(
            self.configs[node_id],
            self.rands[node_id],
            hard_state=hard_state,
            snapshot=snapshot,
            entries=entries,
        )
        self.nodes[node_id] = node
        self.state_machines[node_id] = (
            self._snapshot_contents(snapshot) if snapshot is not None else []
        )
        self._checked_commit[node_id] = node.snapshot_index
        self.process(node_id)
        return node

    def load(
        self,
        node_id: str,
        terms: Iterable[int],
        *,
        term: int | None = None,
        commit: int = 0,
        voted_for: str | None = None,
    ) -> RaftNode:
        """Give a node a log with the given entry terms (as in the paper's figures)."""
        entries = [
            Entry(entry_term, index, EntryKind.NORMAL, f"x{index}.{entry_term}")
            for index, entry_term in enumerate(terms, start=1)
        ]
        last_term = entries[-1].term if entries else 0
        disk = self.disks[node_id] = Storage(MemoryDisk())
        if entries:
            disk.append(entries)
        disk.write_hard_state(HardState(term if term is not None else last_term, voted_for, commit))
        self.nodes[node_id] = None
        transcript, self.transcript = self.transcript, None
        node = self.restart(node_id)
        self.transcript = transcript
        return node

    # ------------------------------------------------------------------ network

    def isolate(self, node_id: str) -> None:
        self.partition([node_id], [i for i in self.ids if i != node_id])

    def partition(self, *groups: Iterable[str]) -> None:
        """Block every link between different groups (nodes in no group are cut off)."""
        member_of = {node_id: n for n, group in enumerate(groups) for node_id in group}
        self.blocked = {
            (a, b)
            for a in self.ids
            for b in self.ids
            if a != b and member_of.get(a, -1 - self.ids.index(a)) != member_of.get(b, -2)
        }

    def heal(self) -> None:
        self.blocked = set()

    def deliver_at(self, position: int) -> Message:
        """Deliver the in-flight message at ``position`` (dropped if its link is cut)."""
        msg = self.network.pop(position)
        if (msg.src, msg.dst) in self.blocked or self.nodes[msg.dst] is None:
            self.dropped += 1
            self.note(f"drop {describe_message(msg)}")
            return msg
        self.delivered += 1
        self.note(describe_message(msg))
        self.node(msg.dst).step(msg)
        self.process(msg.dst)
        return msg

    def deliver(
        self, where: Callable[[Message], bool] | None = None, *, limit: int = 100_000
    ) -> int:
        """Deliver matching messages, oldest first, including ones they cause, until none
        match. Returns how many were taken off the network."""
        count = 0
        while count < limit:
            position = next(
                (n for n, msg in enumerate(self.network) if where is None or where(msg)), None
            )
            if position is None:
                return count
            self.deliver_at(position)
            count += 1
        raise AssertionError("message delivery did not quiesce")

    def drop(self, where: Callable[[Message], bool] | None = None, *, quiet: bool = False) -> int:
        kept = [msg for msg in self.network if where is not None and not where(msg)]
        dropped = len(self.network) - len(kept)
        if quiet:
            if dropped:
                self.note(f"drop {dropped} messages")
        else:
            for msg in self.network:
                if where is None or where(msg):
                    self.note(f"drop {describe_message(msg)}")
        self.network = kept
        self.dropped += dropped
        return dropped

    def settle(self, *, ticks: int = 200) -> None:
        """Tick and deliver everything until ``ticks`` ticks have passed."""
        for _ in range(ticks):
            self.tick_all()
            self.deliver()

    # ------------------------------------------------------------------ safety

    def _violation(self, text: str) -> None:
        self.violations.append(text)
        if self.strict:
            raise HarnessSafetyError(text)

    @staticmethod
    def _snapshot_contents(snapshot: Snapshot) -> list[Entry]:
        contents = snapshot.data
        if not isinstance(contents, tuple):
            raise AssertionError("harness snapshots hold the applied entries as a tuple")
        return [entry for entry in contents if isinstance(entry, Entry)]

    def _record_applied(self, node_id: str, entry: Entry) -> None:
        known = self.applied.setdefault(entry.index, entry)
        if known != entry:
            self._violation(
                f"state machine safety: {node_id} applied {describe_entry(entry)} at "
                f"{entry.index}, another node applied {describe_entry(known)}"
            )

    def _record(self, node_id: str, node: RaftNode) -> None:
        if node.role is Role.LEADER:
            holder = self.leaders_by_term.setdefault(node.term, node_id)
            if holder != node_id:
                self._violation(f"election safety: {holder} and {node_id} lead term {node.term}")
            if not self._was_leader[node_id]:
                self._check_leader_completeness(node_id, node)
        self._was_leader[node_id] = node.role is Role.LEADER
        low = max(self._checked_commit[node_id], node.snapshot_index) + 1
        for index in range(low, node.commit_index + 1):
            entry = node.entries(index, index)[0]
            known = self.committed.setdefault(index, entry)
            if known != entry:
                self._violation(
                    f"committed entry changed: {node_id} committed {describe_entry(entry)}, "
                    f"earlier {describe_entry(known)} was committed at {index}"
                )
        self._checked_commit[node_id] = max(self._checked_commit[node_id], node.commit_index)

    def _check_leader_completeness(self, node_id: str, node: RaftNode) -> None:
        for index in sorted(self.committed):
            if index <= node.snapshot_index:
                continue
            held = node.entries(index, index)[0] if index <= node.last_index else None
            if held != self.committed[index]:
                self._violation(
                    f"leader completeness: {node_id} leads term {node.term} without committed "
                    f"entry {describe_entry(self.committed[index])}"
                )
                return

    def check_log_matching(self) -> None:
        """§5.3 Log Matching: same index and term => identical logs up to that index."""
        live = [(i, self.node(i)) for i in self.live()]
        for position, (a_id, a) in enumerate(live):
            for b_id, b in live[position + 1 :]:
                low = max(a.first_index, b.first_index)
                high = min(a.last_index, b.last_index)
                top = next(
                    (i for i in range(high, low - 1, -1) if a.term_at(i) == b.term_at(i)), None
                )
                if top is None:
                    continue
                if a.entries(low, top) != b.entries(low, top):
                    self._violation(
                        f"log matching: {a_id} and {b_id} agree on {top}@{a.term_at(top)} "
                        "but differ before it"
                    )

    def check_safety(self) -> None:
        """Run the whole-cluster checks (the per-step ones run on every Ready)."""
        self.check_log_matching()
        if self.violations:
            raise HarnessSafetyError("; ".join(self.violations))

    # ------------------------------------------------------------------ rendering

    def state_lines(self) -> list[str]:
        """One line per node: role, term, vote, leader, commit, applied, voters and the
        terms of its log (``[snap i@t]`` first when compacted)."""
        width = max((len(node_id) for node_id in self.ids), default=0)
        lines = []
        for node_id in self.ids:
            node = self.nodes[node_id]
            if node is None:
                lines.append(f"{node_id:<{width}} crashed")
                continue
            lines.append(
                f"{node_id:<{width}} {node.role.name:<13} term={node.term} "
                f"vote={node.voted_for or '-'} leader={node.leader or '-'} "
                f"commit={node.commit_index} applied={node.applied_index} "
                f"voters={','.join(node.voters)} log={format_log(node)}"
            )
        return lines


# ---------------------------------------------------------------------- test helpers


def make_config(node_id: str, voters: Iterable[str], **overrides: Any) -> RaftConfig:
    """A config with small, test-friendly timeouts (10..20 ticks, heartbeat 3)."""
    values: dict[str, Any] = {
        "election_timeout_ticks_min": 10,
        "election_timeout_ticks_max": 20,
        "heartbeat_interval_ticks": 3,
    }
    values.update(overrides)
    return RaftConfig(node_id=node_id, voters=tuple(sorted(voters)), **values)


def drain(node: RaftNode) -> list[Ready]:
    """Take every Ready of a standalone node, acknowledging each one."""
    readies = []
    while node.has_ready():
        ready = node.ready()
        readies.append(ready)
        node.advance(ready)
    return readies


def sent(readies: Iterable[Ready]) -> list[Message]:
    return [msg for ready in readies for msg in ready.messages]


def elect(cluster: Cluster, node_id: str) -> RaftNode:
    """Make ``node_id`` campaign and deliver everything until the cluster is quiet."""
    cluster.campaign(node_id)
    cluster.deliver()
    node = cluster.node(node_id)
    if node.role is not Role.LEADER:
        raise AssertionError(f"{node_id} did not win: {cluster.state_lines()}")
    return node


def to(*node_ids: str) -> Callable[[Message], bool]:
    return lambda msg: msg.dst in node_ids


def between(*node_ids: str) -> Callable[[Message], bool]:
    return lambda msg: msg.src in node_ids and msg.dst in node_ids
