"""Raft safety, checked online from the event stream and again on the final server states.

The monitor watches the ``raft.*`` events each server emits (see
``harmonysim.cluster.server``) and, when given a ``probe``, reads the live Raft
core of the node an event is about (never changing it). Everything it knows of a
node's log comes from ``raft.persist`` events: each one reports what just became
durable, and its ``entries`` replace the durable log from their first index (a
``snapshot`` replaces the whole log). At the end, ``check_final`` looks at every
live server's core.

The rules checked (Raft paper, Figure 3 and Figure 2; Ongaro's thesis), with the
exact evidence each one uses:

- ``election_safety`` (§5.2): at most one node leads a term. A node counts as the
  leader of term T when, at one of its ``raft.role`` events with role leader, its
  core is a leader in term T (without a probe: the term it last persisted or
  reported, which is the term of the Ready that made it leader). At the end: no two
  live cores lead the same term.
- ``leader_append_only`` (§5.3): a leader never overwrites or deletes entries of its
  log. Checked (with a probe) on each ``raft.persist`` of a node whose core leads:
  its new entries must not replace a different durable entry.
- ``log_matching`` (§5.3): two entries with the same index and term carry the same
  command, and the logs are identical before them. Checked inductively on every
  persisted entry: all entries ever persisted at (index, term) must have the same
  command and the same term at index - 1 (where that term is known). Together these
  imply the paper's statement by induction on the index. At the end the same holds
  over every live core's log.
- ``leader_completeness`` (§5.4): an entry committed in term T is in the log of every
  leader of a later term. A ``raft.commit`` of index c reported at term T proves c
  was committed in a term <= T; each new leader of a term U is checked to hold the
  highest index so committed at terms below U, with its term (Log Matching then
  gives the prefix). At the end the same for every live leader.
- ``state_machine_safety`` (§5.4.3): no two servers apply different entries at one
  index (every ``raft.apply`` is compared with the first one at its index), and (with
  a probe) a server applies only entries its core has committed.
- ``term_monotonic`` (Figure 2, currentTerm is persistent): on each node the term it
  reports (``raft.term``, ``raft.recover``) never decreases, across restarts too, and
  neither does the term it persists (``raft.persist``); a restart must recover at
  least the last term it reported.
- ``commit_monotonic``: the commit index a node reports (``raft.commit``,
  ``raft.recover``) never decreases, across restarts too: here the commit index is
  fsynced with every Ready before it is reported, so it is durable.
- ``single_vote`` (§5.2, Figure 2 votedFor is persistent): a node persists at most
  one vote per term, and a restart in that term recovers the same vote.
- ``durable_log`` (Figure 2, log[] is persistent): a restarted node recovers at least
  every entry it persisted: its recovered last index is not below the durable log's,
  and where the durable log reaches, the terms agree. A restart that declares damage
  (``raft.recover`` with ``repair_until``: its disk gave back records that failed their
  checksums) may recover a shorter log and a lower commit index (``commit_monotonic``
  restarts from it too); it votes for nobody until repaired (``raft/node.py``,
  "Repair"), and the rules below judge whether anything committed was lost. A server
  that drops damaged entries without declaring them breaks this rule.
- ``node_invariants``: each live core's ``check_invariants()`` passes, at the end and
  (with a probe) whenever a node persists entries that replace a suffix of its log;
  and no core raised on its own impossible state while running (``server.panic``
  during ``raft``: the server stopped there, as a real one panics).
- ``election_quorum`` (§5.2, thesis §4.1): a leader of term T was elected by a majority
  of its configuration, the latest in its log: checked (with a probe) at its
  ``raft.role`` event, counting the members of the core's configuration whose
  persisted vote in T is for it (votes are durable before they are sent), and those
  that persisted no vote in T but already a later term: a server that handles a burst
  of vote requests in one Ready (a paused server resumed with hundreds held) grants
  votes in several terms and persists only the last, as etcd's Ready does, which is
  safe since a later term on disk forbids any other vote in T, and the vote it sent in
  T is not on disk to count.
- ``commit_quorum`` (§5.3, §5.4.2, thesis §4.1): an entry a leader reports committed
  (``raft.commit``) is durable (``raft.persist``, or under an installed snapshot) on a
  majority of a configuration its log held from that index on -- the one in effect
  at the index or a later one: a leader counts majorities in the latest configuration
  of its log, which is one of these whenever it commits the index. Checked with a
  probe. Both quorum rules follow membership changes; counting majorities of a fixed
  member list would call a correct run after an add or a remove wrong.

Every violation names its rule, the nodes, the term and index, the virtual time and
the event sequence numbers involved. At most ``max_per_rule`` violations are kept per
rule; the rest are only counted. ``implicated`` names, for keeping their traces, the
client requests whose entries sat at the violations' indexes and their terms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from harmonysim.check.result import Implicated
from harmonysim.raft import Entry, EntryKind, RaftNode, Role
from harmonysim.sim.events import EventKind, EventLog, EventRecord

__all__ = [
    "RaftProbe",
    "RaftSafetyMonitor",
    "SafetyRule",
    "SafetyViolation",
    "entry_name",
]

RaftProbe = Callable[[str], RaftNode | None]
"""The live Raft core of a node (None while it is down): read-only access for the checks."""


class SafetyRule(StrEnum):
    """The Raft safety rules the monitor checks (see the module docstring)."""

    ELECTION_SAFETY = "election_safety"
    LEADER_APPEND_ONLY = "leader_append_only"
    LOG_MATCHING = "log_matching"
    LEADER_COMPLETENESS = "leader_completeness"
    STATE_MACHINE_SAFETY = "state_machine_safety"
    TERM_MONOTONIC = "term_monotonic"
    COMMIT_MONOTONIC = "commit_monotonic"
    SINGLE_VOTE = "single_vote"
    DURABLE_LOG = "durable_log"
    NODE_INVARIANTS = "node_invariants"
    ELECTION_QUORUM = "election_quorum"
    COMMIT_QUORUM = "commit_quorum"


@dataclass(frozen=True, slots=True)
class SafetyViolation:
    """One broken rule: where (nodes, term, index), when (virtual ms) and which events."""

    rule: SafetyRule
    nodes: tuple[str, ...]
    term: int | None
    index: int | None
    time_ms: float
    seqs: tuple[int, ...]
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule.value,
            "nodes": list(self.nodes),
            "term": self.term,
            "index": self.index,
            "time_ms": self.time_ms,
            "seqs": list(self.seqs),
            "message": self.message,
        }

    def __str__(self) -> str:
        where = ", ".join(
            part
            for part in (
                f"term {self.term}" if self.term is not None else "",
                f"index {self.index}" if self.index is not None else "",
                f"t={self.time_ms:.3f}ms",
                f"events {', '.join(f'#{seq}' for seq in self.seqs)}" if self.seqs else "",
            )
            if part
        )
        return f"{self.rule.value} [{', '.join(self.nodes)}] ({where}): {self.message}"


def entry_name(entry: Entry) -> str:
    """The event log's name for an entry's command: ``client:seq``, ``noop``, ``config:...``."""
    if entry.kind is EntryKind.NORMAL:
        client = getattr(entry.data, "client", None)
        seq = getattr(entry.data, "seq", None)
        if client is not None and seq is not None:
            return f"{client}:{seq}"
        return repr(entry.data)
    if entry.kind is EntryKind.NOOP:
        return "noop"
    op = getattr(entry.data, "op", None)
    node = getattr(entry.data, "node", None)
    return f"config:{op}:{node}" if op is not None else f"config:{entry.data}"


def request_of(name: str) -> tuple[str, int] | None:
    """The ``(client, seq)`` of a client command's ``entry_name``; None for other entries."""
    client, _, seq = name.rpartition(":")
    if not client or client == "config" or client.startswith("config:") or not seq.isdigit():
        return None
    return client, int(seq)


@dataclass(frozen=True, slots=True)
class _Seen:
    """Where a fact was first observed: the node, the event and its time."""

    node: str
    seq: int
    time_ms: float


@dataclass(frozen=True, slots=True)
class _Persisted:
    """The first persisted entry at an (index, term): its command and the term before it."""

    name: str
    previous_term: int | None
    seen: _Seen


class _NodeTrack:
    """What the monitor knows of one node, across its restarts."""

    __slots__ = (
        "commit",
        "commit_seen",
        "durable_commit",
        "durable_term",
        "floor_index",
        "floor_term",
        "last_index",
        "log",
        "term",
        "term_seen",
        "votes",
    )

    def __init__(self) -> None:
        self.term = 0  # highest term reported (raft.term, raft.recover)
        self.term_seen: _Seen | None = None
        self.commit = 0  # highest commit index reported (raft.commit, raft.recover)
        self.commit_seen: _Seen | None = None
        self.durable_term = 0  # from raft.persist
        self.durable_commit = 0
        self.votes: dict[int, tuple[str, _Seen]] = {}  # term -> the vote persisted in it
        # The durable log: index -> (term, command name); entries a recovery revealed
        # without their content are simply absent (unknown).
        self.log: dict[int, tuple[int, str]] = {}
        self.floor_index = 0  # the snapshot the log follows (installed or recovered)
        self.floor_term: int | None = 0
        self.last_index = 0

    def term_at(self, index: int) -> int | None:
        if index == self.floor_index:
            return self.floor_term
        known = self.log.get(index)
        return known[0] if known is not None else None


class RaftSafetyMonitor:
    """Checks the Raft safety rules of the module docstring as events arrive.

    ``probe`` gives read access to a node's live core; without it the checks that
    need it (leader append-only, applying only committed entries) are not made and
    leaders are identified from the events alone.
    """

    KINDS: ClassVar[tuple[EventKind, ...]] = (
        EventKind.RAFT_ROLE,
        EventKind.RAFT_TERM,
        EventKind.RAFT_COMMIT,
        EventKind.RAFT_APPLY,
        EventKind.RAFT_PERSIST,
        EventKind.RAFT_RECOVER,
        EventKind.RAFT_RESTORE,
        EventKind.SERVER_PANIC,
    )

    def __init__(self, probe: RaftProbe | None = None, *, max_per_rule: int = 10) -> None:
        self._probe = probe
        self.max_per_rule = max_per_rule
        self.violations: list[SafetyViolation] = []
        self.counts: dict[SafetyRule, int] = {}
        self.events_seen = 0
        self._nodes: dict[str, _NodeTrack] = {}
        self._leaders: dict[int, tuple[str, _Seen]] = {}
        self._persisted: dict[tuple[int, int], _Persisted] = {}
        self._applied: dict[int, tuple[int, str, _Seen]] = {}
        self._restored: dict[str, tuple[int, int]] = {}
        # commit index reported at a term T -> (highest index, its entry term, where)
        self._commits_by_term: dict[int, tuple[int, int | None, _Seen]] = {}
        self._handlers: dict[str, Callable[[EventRecord, str, _NodeTrack, _Seen], None]] = {
            EventKind.RAFT_ROLE.value: self._on_role,
            EventKind.RAFT_TERM.value: self._on_term,
            EventKind.RAFT_COMMIT.value: self._on_commit,
            EventKind.RAFT_APPLY.value: self._on_apply,
            EventKind.RAFT_PERSIST.value: self._on_persist,
            EventKind.RAFT_RECOVER.value: self._on_recover,
            EventKind.RAFT_RESTORE.value: self._on_restore,
            EventKind.SERVER_PANIC.value: self._on_panic,
        }

    # -- wiring ---------------------------------------------------------------------

    def attach(self, log: EventLog) -> None:
        """Watch a live run's event log (keeps the network's fast path on)."""
        log.watch(self.KINDS, self.observe)

    def observe_all(self, records: Iterable[EventRecord]) -> None:
        """Feed recorded events (e.g. a read ``events.jsonl``); other kinds are ignored."""
        for record in records:
            self.observe(record)

    @property
    def ok(self) -> bool:
        return not self.counts

    @property
    def leaders(self) -> dict[int, str]:
        """Term -> the node seen leading it."""
        return {term: node for term, (node, _) in sorted(self._leaders.items())}

    # -- reporting --------------------------------------------------------------------

    def implicated(self) -> Implicated:
        """What the reported violations point at: the client requests whose entries sat
        at their indexes (every entry the monitor saw persisted, applied or logged
        there, in any term) and their terms, whose elections are involved."""
        indexes = {v.index for v in self.violations if v.index is not None}
        names: list[str] = []
        for (index, _term), persisted in self._persisted.items():
            if index in indexes:
                names.append(persisted.name)
        for index in sorted(indexes):
            applied = self._applied.get(index)
            if applied is not None:
                names.append(applied[1])
            for track in self._nodes.values():
                logged = track.log.get(index)
                if logged is not None:
                    names.append(logged[1])
        requests = [request for name in names if (request := request_of(name)) is not None]
        terms = [v.term for v in self.violations if v.term is not None]
        return Implicated(
            requests=tuple(dict.fromkeys(requests)), terms=tuple(dict.fromkeys(terms))
        )

    def _report(
        self,
        rule: SafetyRule,
        nodes: Iterable[str],
        term: int | None,
        index: int | None,
        time_ms: float,
        seqs: Iterable[int],
        message: str,
    ) -> None:
        count = self.counts.get(rule, 0) + 1
        self.counts[rule] = count
        if count <= self.max_per_rule:
            self.violations.append(
                SafetyViolation(
                    rule,
                    tuple(sorted(set(nodes))),
                    term,
                    index,
                    time_ms,
                    tuple(sorted(set(seqs))),
                    message,
                )
            )

    # -- events -----------------------------------------------------------------------

    def observe(self, record: EventRecord) -> None:
        """Check one event record (kinds other than ``KINDS`` are ignored)."""
        handler = self._handlers.get(record["kind"])
        if handler is None:
            return
        self.events_seen += 1
        node = record["node"]
        track = self._nodes.get(node)
        if track is None:
            track = self._nodes[node] = _NodeTrack()
        handler(record, node, track, _Seen(node, record["seq"], record["t"]))

    def _core(self, node: str) -> RaftNode | None:
        return self._probe(node) if self._probe is not None else None

    def _on_role(self, record: EventRecord, node: str, track: _NodeTrack, seen: _Seen) -> None:
        if record["role"] != "leader":
            return
        if self._probe is not None:
            core = self._probe(node)
            if core is None or core.role is not Role.LEADER:
                return  # it stepped down while the Ready was being persisted
            self._saw_leader(node, core.term, seen, core)
            self._check_election_quorum(node, core, seen)
        else:
            self._saw_leader(node, max(track.term, track.durable_term), seen, None)

    def _saw_leader(self, node: str, term: int, seen: _Seen, core: RaftNode | None) -> None:
        holder = self._leaders.get(term)
        if holder is None:
            self._leaders[term] = (node, seen)
            self._check_completeness(node, term, seen, core)
        elif holder[0] != node:
            other = holder[1]
            self._report(
                SafetyRule.ELECTION_SAFETY,
                (holder[0], node),
                term,
                None,
                seen.time_ms,
                (other.seq, seen.seq),
                f"{holder[0]} led term {term} (t={other.time_ms:.3f}ms) and {node} leads it too",
            )

    def _check_election_quorum(self, node: str, core: RaftNode, seen: _Seen) -> None:
        term = core.term
        voters = core.voters
        granted = []
        for voter in voters:
            track = self._nodes.get(voter)
            if track is None:
                continue
            vote = track.votes.get(term)
            # Its vote in T, or none in T but a later term on disk (see the module rules).
            voted = vote[0] == node if vote is not None else track.durable_term > term
            if voted:
                granted.append(voter)
        if len(granted) > len(voters) // 2:
            return
        self._report(
            SafetyRule.ELECTION_QUORUM,
            (node,),
            term,
            None,
            seen.time_ms,
            (seen.seq,),
            f"{node} leads term {term} with persisted votes from "
            f"{', '.join(granted) or 'nobody'}: not a majority of its configuration "
            f"{', '.join(voters)}",
        )

    def _check_commit_quorum(self, node: str, index: int, core: RaftNode, seen: _Seen) -> None:
        term = core.term_at(index)
        if term is None or index <= core.snapshot_index:
            return  # compacted since: it was checked when it was committed
        configurations = core.configurations_since(index)
        holders: list[str] = []
        for voters in configurations:
            holders = [voter for voter in voters if self._holds(voter, index, term)]
            if len(holders) > len(voters) // 2:
                return
        self._report(
            SafetyRule.COMMIT_QUORUM,
            (node,),
            core.term,
            index,
            seen.time_ms,
            (seen.seq,),
            f"{node}, leader of term {core.term}, commits entry {index}@{term} durable only "
            f"on {', '.join(holders) or 'nobody'} of its configuration "
            f"{', '.join(configurations[-1])}: not a majority"
            + (
                f" of any of {len(configurations)} configurations since that index"
                if len(configurations) > 1
                else ""
            ),
        )

    def _holds(self, node: str, index: int, term: int) -> bool:
        """Whether ``node``'s durable log holds entry ``index``@``term`` (or a snapshot
        covering it: snapshots hold only committed entries)."""
        track = self._nodes.get(node)
        if track is None:
            return False
        if index <= track.floor_index:
            return True
        known = track.log.get(index)
        return known is not None and known[0] == term

    def _check_completeness(self, node: str, term: int, seen: _Seen, core: RaftNode | None) -> None:
        best: tuple[int, int | None, _Seen] | None = None
        for commit_term, point in self._commits_by_term.items():
            if commit_term < term and (best is None or point[0] > best[0]):
                best = point
        if best is None or best[0] == 0:
            return
        index, entry_term, where = best
        if core is not None:
            if index <= core.snapshot_index:
                return  # covered by its snapshot, which only ever holds committed entries
            last_index = core.last_index
            held_term = core.term_at(index)
        else:
            track = self._nodes[node]
            if index <= track.floor_index:
                return
            last_index = track.last_index
            held_term = track.term_at(index)
            if held_term is None and index <= last_index:
                return  # recovered without the monitor seeing the entry: unknown
        if index > last_index:
            problem = f"its log ends at {last_index}"
        elif entry_term is not None and held_term != entry_term:
            problem = f"it holds term {held_term} there"
        else:
            return
        self._report(
            SafetyRule.LEADER_COMPLETENESS,
            (node, where.node),
            term,
            index,
            seen.time_ms,
            (where.seq, seen.seq),
            f"{node} leads term {term} without committed entry {index}"
            f"{f'@{entry_term}' if entry_term is not None else ''} "
            f"(reported committed by {where.node} at t={where.time_ms:.3f}ms): {problem}",
        )

    def _on_term(self, record: EventRecord, node: str, track: _NodeTrack, seen: _Seen) -> None:
        self._reported_term(record["term"], track, seen, restart=False)

    def _reported_term(self, term: int, track: _NodeTrack, seen: _Seen, *, restart: bool) -> None:
        if term < track.term:
            before = track.term_seen
            self._report(
                SafetyRule.TERM_MONOTONIC,
                (seen.node,),
                term,
                None,
                seen.time_ms,
                (before.seq, seen.seq) if before is not None else (seen.seq,),
                f"{seen.node} {'restarted with' if restart else 'reports'} term {term} after "
                f"reporting term {track.term}"
                + (f" at t={before.time_ms:.3f}ms" if before is not None else ""),
            )
            return
        if term > track.term or track.term_seen is None:
            track.term = term
            track.term_seen = seen

    def _on_commit(self, record: EventRecord, node: str, track: _NodeTrack, seen: _Seen) -> None:
        index: int = record["index"]
        self._reported_commit(index, track, seen, restart=False)
        if self._probe is not None:
            core = self._probe(node)
            if core is not None and core.role is Role.LEADER:
                self._check_commit_quorum(node, index, core, seen)
        term: int = record["term"]
        known = self._commits_by_term.get(term)
        if known is None or index > known[0]:
            self._commits_by_term[term] = (index, self._committed_term(node, index), seen)

    def _committed_term(self, node: str, index: int) -> int | None:
        applied = self._applied.get(index)
        if applied is not None:
            return applied[0]
        restored = self._restored.get(node)
        if restored is not None and restored[0] == index:
            return restored[1]
        return None

    def _reported_commit(
        self, index: int, track: _NodeTrack, seen: _Seen, *, restart: bool
    ) -> None:
        if index < track.commit:
            before = track.commit_seen
            self._report(
                SafetyRule.COMMIT_MONOTONIC,
                (seen.node,),
                None,
                index,
                seen.time_ms,
                (before.seq, seen.seq) if before is not None else (seen.seq,),
                f"{seen.node} {'restarted with' if restart else 'reports'} commit index {index} "
                f"after reporting {track.commit}"
                + (f" at t={before.time_ms:.3f}ms" if before is not None else ""),
            )
            return
        if index > track.commit or track.commit_seen is None:
            track.commit = index
            track.commit_seen = seen

    def _on_apply(self, record: EventRecord, node: str, track: _NodeTrack, seen: _Seen) -> None:
        index: int = record["index"]
        term: int = record["term"]
        name: str = record["entry"]
        known = self._applied.get(index)
        if known is None:
            self._applied[index] = (term, name, seen)
        elif known[0] != term or known[1] != name:
            first = known[2]
            self._report(
                SafetyRule.STATE_MACHINE_SAFETY,
                (first.node, node),
                term,
                index,
                seen.time_ms,
                (first.seq, seen.seq),
                f"{node} applies {name}@{term} at index {index}, "
                f"{first.node} applied {known[1]}@{known[0]} there (t={first.time_ms:.3f}ms)",
            )
        if self._probe is not None:
            core = self._probe(node)
            if core is not None and core.commit_index < index:
                self._report(
                    SafetyRule.STATE_MACHINE_SAFETY,
                    (node,),
                    term,
                    index,
                    seen.time_ms,
                    (seen.seq,),
                    f"{node} applies {name}@{term} at index {index} before committing it "
                    f"(its commit index is {core.commit_index})",
                )

    def _on_persist(self, record: EventRecord, node: str, track: _NodeTrack, seen: _Seen) -> None:
        term = record.get("term")
        if term is not None:
            self._persisted_hard_state(term, record["voted_for"], record["commit"], track, seen)
        snapshot = record.get("snapshot")
        if snapshot is not None:
            track.log.clear()
            track.floor_index, track.floor_term = snapshot[0], snapshot[1]
            track.last_index = snapshot[0]
        entries: list[list[Any]] | None = record.get("entries")
        if entries:
            self._persisted_entries(entries, node, track, seen)

    def _persisted_hard_state(
        self, term: int, vote: str | None, commit: int, track: _NodeTrack, seen: _Seen
    ) -> None:
        node = seen.node
        if term < track.durable_term:
            self._report(
                SafetyRule.TERM_MONOTONIC,
                (node,),
                term,
                None,
                seen.time_ms,
                (seen.seq,),
                f"{node} persists term {term} after persisting term {track.durable_term}",
            )
        else:
            track.durable_term = term
        if vote is not None:
            self._check_vote(term, vote, track, seen, restart=False)
        if commit < track.durable_commit:
            self._report(
                SafetyRule.COMMIT_MONOTONIC,
                (node,),
                term,
                commit,
                seen.time_ms,
                (seen.seq,),
                f"{node} persists commit index {commit} after persisting {track.durable_commit}",
            )
        else:
            track.durable_commit = commit

    def _check_vote(
        self, term: int, vote: str | None, track: _NodeTrack, seen: _Seen, *, restart: bool
    ) -> None:
        known = track.votes.get(term)
        if known is None:
            if vote is not None:
                track.votes[term] = (vote, seen)
            return
        if vote == known[0]:
            return
        node = seen.node
        before = known[1]
        if restart:
            message = (
                f"{node} restarts in term {term} remembering vote {vote}, but it had "
                f"persisted its vote for {known[0]} at t={before.time_ms:.3f}ms"
            )
        else:
            message = (
                f"{node} votes for {vote} in term {term} after voting for {known[0]} "
                f"at t={before.time_ms:.3f}ms"
            )
        self._report(
            SafetyRule.SINGLE_VOTE,
            (node, known[0], *((vote,) if vote is not None else ())),
            term,
            None,
            seen.time_ms,
            (before.seq, seen.seq),
            message,
        )

    def _persisted_entries(
        self, entries: list[list[Any]], node: str, track: _NodeTrack, seen: _Seen
    ) -> None:
        log = track.log
        first_index: int = entries[0][0]
        if first_index <= track.last_index:
            core = self._core(node)
            if core is not None and core.role is Role.LEADER:
                self._check_append_only(entries, core.term, track, seen)
            if core is not None:
                # A conflicting suffix was just replaced (§5.3): the moment a log is most
                # likely to be malformed, and rare enough to check the whole core here.
                try:
                    core.check_invariants()
                except AssertionError as error:
                    self._report(
                        SafetyRule.NODE_INVARIANTS,
                        (node,),
                        core.term,
                        first_index,
                        seen.time_ms,
                        (seen.seq,),
                        f"{node} after overwriting its log from index {first_index}: {error}",
                    )
            for index in range(first_index, track.last_index + 1):
                log.pop(index, None)
        previous_term = track.term_at(first_index - 1) if first_index > 1 else 0
        persisted = self._persisted
        for index, term, name in entries:
            key = (index, term)
            known = persisted.get(key)
            if known is None:
                persisted[key] = _Persisted(name, previous_term, seen)
            elif known.name != name:
                self._log_mismatch(
                    index, term, f"command {name}", f"command {known.name}", known, seen
                )
            elif previous_term is not None and known.previous_term != previous_term:
                if known.previous_term is None:
                    persisted[key] = _Persisted(name, previous_term, known.seen)
                else:
                    self._log_mismatch(
                        index,
                        term,
                        f"term {previous_term} at index {index - 1}",
                        f"term {known.previous_term} there",
                        known,
                        seen,
                    )
            log[index] = (term, name)
            previous_term = term
        track.last_index = entries[-1][0]

    def _check_append_only(
        self, entries: list[list[Any]], leader_term: int, track: _NodeTrack, seen: _Seen
    ) -> None:
        for index, term, name in entries:
            old = track.log.get(index)
            if old is not None and old != (term, name):
                self._report(
                    SafetyRule.LEADER_APPEND_ONLY,
                    (seen.node,),
                    leader_term,
                    index,
                    seen.time_ms,
                    (seen.seq,),
                    f"{seen.node}, leader of term {leader_term}, replaces its entry "
                    f"{old[1]}@{old[0]} at index {index} by {name}@{term}",
                )
                return
        if track.last_index > entries[-1][0]:
            self._report(
                SafetyRule.LEADER_APPEND_ONLY,
                (seen.node,),
                leader_term,
                entries[-1][0] + 1,
                seen.time_ms,
                (seen.seq,),
                f"{seen.node}, leader of term {leader_term}, deletes its entries "
                f"{entries[-1][0] + 1}..{track.last_index}",
            )

    def _log_mismatch(
        self, index: int, term: int, this: str, that: str, known: _Persisted, seen: _Seen
    ) -> None:
        self._report(
            SafetyRule.LOG_MATCHING,
            (known.seen.node, seen.node),
            term,
            index,
            seen.time_ms,
            (known.seen.seq, seen.seq),
            f"entry {index}@{term}: {seen.node} persists it with {this}, "
            f"{known.seen.node} persisted it with {that} (t={known.seen.time_ms:.3f}ms)",
        )

    def _on_recover(self, record: EventRecord, node: str, track: _NodeTrack, seen: _Seen) -> None:
        term: int = record["term"]
        commit: int = record["commit"]
        if "repair_until" in record:  # declared damage: the module docstring, durable_log
            track.commit = track.durable_commit = min(track.commit, commit)
            track.last_index = min(track.last_index, int(record["last_index"]))
        self._reported_term(term, track, seen, restart=True)
        self._reported_commit(commit, track, seen, restart=True)
        self._check_vote(term, record["voted_for"], track, seen, restart=True)
        track.durable_term = max(track.durable_term, term)
        track.durable_commit = max(track.durable_commit, commit)
        last_index: int = record["last_index"]
        last_term: int = record["last_term"]
        held = track.term_at(last_index)
        # Committed entries are never truncated, so a restart must bring back every
        # persisted entry up to the commit index (the suffix after it may legitimately
        # have been replaced, e.g. by a compaction that wrote a truncated log).
        committed_bound = min(track.last_index, max(track.durable_commit, track.commit))
        if last_index < committed_bound:
            self._report(
                SafetyRule.DURABLE_LOG,
                (node,),
                last_term,
                last_index,
                seen.time_ms,
                (seen.seq,),
                f"{node} recovers a log ending at {last_index}, but had persisted committed "
                f"entries up to {committed_bound}",
            )
        elif last_index <= committed_bound and held is not None and held != last_term:
            self._report(
                SafetyRule.DURABLE_LOG,
                (node,),
                last_term,
                last_index,
                seen.time_ms,
                (seen.seq,),
                f"{node} recovers committed entry {last_index}@{last_term}, but had persisted "
                f"{last_index}@{held}",
            )
        # From here on the monitor follows the recovered log. Unless its last entry is the
        # one the monitor knows, what lies above the commit index is unknown.
        keep = last_index if held == last_term else min(last_index, commit)
        for index in range(keep + 1, track.last_index + 1):
            track.log.pop(index, None)
        track.last_index = last_index
        snapshot_index: int = record["snapshot_index"]
        if snapshot_index > track.floor_index:
            track.floor_index = snapshot_index
            held_entry = track.log.get(snapshot_index)
            track.floor_term = held_entry[0] if held_entry is not None else None

    def _on_restore(self, record: EventRecord, node: str, track: _NodeTrack, seen: _Seen) -> None:
        self._restored[node] = (record["index"], record["term"])

    def _on_panic(self, record: EventRecord, node: str, track: _NodeTrack, seen: _Seen) -> None:
        if record["during"] != "raft":
            return  # the state machine failed: btree_invariants' rule
        self._report(
            SafetyRule.NODE_INVARIANTS,
            (node,),
            track.term or None,
            record["index"] or None,
            seen.time_ms,
            (seen.seq,),
            f"{node}'s Raft core raised at {seen.time_ms:g} ms and the server stopped: "
            f"{record['error']}",
        )

    # -- the end of the run -------------------------------------------------------------

    def check_final(self, cores: Sequence[tuple[str, RaftNode]], time_ms: float) -> None:
        """Check the final states of the live cores (in node order), and their agreement
        with what was observed during the run."""
        leaders_by_term: dict[int, str] = {}
        committed: dict[int, tuple[Entry, str]] = {}
        entries_at: dict[tuple[int, int], tuple[Entry, int | None, str]] = {}
        for node, core in cores:
            try:
                core.check_invariants()
            except AssertionError as error:
                self._report(
                    SafetyRule.NODE_INVARIANTS, (node,), core.term, None, time_ms, (), str(error)
                )
            track = self._nodes.get(node)
            if track is not None:
                if core.term < track.term:
                    self._report(
                        SafetyRule.TERM_MONOTONIC,
                        (node,),
                        core.term,
                        None,
                        time_ms,
                        (),
                        f"{node} ends in term {core.term} after reporting term {track.term}",
                    )
                if core.commit_index < track.commit:
                    self._report(
                        SafetyRule.COMMIT_MONOTONIC,
                        (node,),
                        None,
                        core.commit_index,
                        time_ms,
                        (),
                        f"{node} ends with commit index {core.commit_index} after "
                        f"reporting {track.commit}",
                    )
            if core.role is Role.LEADER:
                self._final_leader(node, core, leaders_by_term, time_ms)
            self._final_log(node, core, entries_at, committed, time_ms)
        for node, core in cores:
            if core.role is Role.LEADER:
                self._final_completeness(node, core, cores, committed, time_ms)

    def _final_leader(
        self, node: str, core: RaftNode, leaders_by_term: dict[int, str], time_ms: float
    ) -> None:
        term = core.term
        rival = leaders_by_term.setdefault(term, node)
        seen = self._leaders.get(term)
        if rival == node and seen is not None:
            rival = seen[0]
        if rival != node:
            self._report(
                SafetyRule.ELECTION_SAFETY,
                (node, rival),
                term,
                None,
                time_ms,
                (seen[1].seq,) if seen is not None else (),
                f"at the end of the run {node} leads term {term}, which {rival} led too",
            )

    def _final_log(
        self,
        node: str,
        core: RaftNode,
        entries_at: dict[tuple[int, int], tuple[Entry, int | None, str]],
        committed: dict[int, tuple[Entry, str]],
        time_ms: float,
    ) -> None:
        if core.last_index <= core.snapshot_index:
            return
        previous_term: int | None = core.term_at(core.snapshot_index)
        for entry in core.entries(core.snapshot_index + 1, core.last_index):
            key = (entry.index, entry.term)
            known = entries_at.get(key)
            if known is None:
                entries_at[key] = (entry, previous_term, node)
            elif known[0] != entry or known[1] != previous_term:
                self._report(
                    SafetyRule.LOG_MATCHING,
                    (known[2], node),
                    entry.term,
                    entry.index,
                    time_ms,
                    (),
                    f"at the end, {known[2]} and {node} both hold an entry {entry.index}@"
                    f"{entry.term} but "
                    + (
                        f"with different commands ({entry_name(known[0])}, {entry_name(entry)})"
                        if known[0] != entry
                        else f"after different terms ({known[1]}, {previous_term})"
                    ),
                )
            if entry.index <= core.commit_index:
                first = committed.setdefault(entry.index, (entry, node))
                applied = self._applied.get(entry.index)
                if first[0] != entry or (
                    applied is not None
                    and (applied[0], applied[1]) != (entry.term, entry_name(entry))
                ):
                    rival = first[1] if first[0] != entry else applied[2].node if applied else node
                    self._report(
                        SafetyRule.STATE_MACHINE_SAFETY,
                        (node, rival),
                        entry.term,
                        entry.index,
                        time_ms,
                        (applied[2].seq,) if applied is not None else (),
                        f"at the end, {node} has committed {entry_name(entry)}@{entry.term} at "
                        f"index {entry.index}, but {rival} committed or applied another entry",
                    )
            previous_term = entry.term

    def _final_completeness(
        self,
        node: str,
        core: RaftNode,
        cores: Sequence[tuple[str, RaftNode]],
        committed: dict[int, tuple[Entry, str]],
        time_ms: float,
    ) -> None:
        # Commits proven in terms below this leader's: reported during the run, or held by
        # cores whose own term is lower (they learned them in a term <= their own).
        bound = 0
        for commit_term, (index, _, _) in self._commits_by_term.items():
            if commit_term < core.term:
                bound = max(bound, index)
        for _, other in cores:
            if other.term < core.term:
                bound = max(bound, other.commit_index)
        if bound <= core.snapshot_index:
            return
        if bound > core.last_index:
            problem = f"its log ends at {core.last_index}"
        else:
            known = committed.get(bound)
            applied = self._applied.get(bound)
            expected = (
                known[0].term if known is not None else applied[0] if applied is not None else None
            )
            if expected is None or core.term_at(bound) == expected:
                return
            problem = f"it holds term {core.term_at(bound)} there, not {expected}"
        self._report(
            SafetyRule.LEADER_COMPLETENESS,
            (node,),
            core.term,
            bound,
            time_ms,
            (),
            f"at the end, {node} leads term {core.term} without committed entry {bound}: "
            + problem,
        )
