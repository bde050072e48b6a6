"""Data types of the sans-I/O Raft core: log entries, persistent state, messages, Ready.

Rules of this file:

- Every record is a frozen, slotted dataclass and every closed vocabulary an ``Enum``;
  nothing here has behaviour beyond validation, so records can be hashed, compared and
  logged verbatim.
- Messages follow Figure 2 of the Raft paper (Ongaro & Ousterhout, extended version):
  ``RequestVote`` / ``AppendEntries`` and their responses (§5.2, §5.3), ``InstallSnapshot``
  (§7), plus PreVote (a flag on ``RequestVote``, thesis §9.6), ``TimeoutNow``
  (leadership transfer, thesis §3.10) and ``RepairRequest`` / ``RepairResponse`` (a
  server whose disk lost entries asks the leader to forget its acknowledgements and
  tell it how far the log reaches; see ``harmonysim.raft.node``, "Repair"). Every
  message carries ``src``, ``dst`` and the sender's ``term`` (§5.1).
- ``Ready`` is the unit of work handed to the server (etcd-io/raft style). The server's
  contract, in order:

  1. persist ``snapshot`` (replacing the whole stable log), ``entries`` (truncating the
     stable log from ``entries[0].index`` first when it overlaps) and ``hard_state``
     durably, with an fsync when ``must_sync``;
  2. only then send ``messages`` (persist before send: a vote or an acknowledgement must
     never be visible to a peer before it is durable, §5.2 / Figure 2 "Persistent state");
  3. restore the state machine from ``snapshot`` if present, then apply
     ``committed_entries`` in order and answer ``read_states`` once applied;
  4. call ``RaftNode.advance(ready)``. Only one ``Ready`` is outstanding at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import TypeAlias

Opaque: TypeAlias = object
"""Any value the Raft core carries without looking into it (payloads, request ids).

Named rather than written ``object`` in the records: compiled (mypyc) dataclasses resolve
a field's annotation by its name in the module, where ``object`` is not found."""


class Role(Enum):
    """The role of a server (§5.1), plus the PreVote phase of thesis §9.6."""

    FOLLOWER = "follower"
    PRE_CANDIDATE = "pre_candidate"
    CANDIDATE = "candidate"
    LEADER = "leader"


class EntryKind(Enum):
    """What a log entry carries."""

    NORMAL = "normal"
    """An opaque client command for the state machine."""
    NOOP = "noop"
    """The empty entry a new leader appends to commit entries of earlier terms (§8)."""
    CONFIG = "config"
    """A single-server membership change (thesis §4.1); ``data`` is a ``ConfigChange``."""


class ConfigOp(StrEnum):
    """The two single-server membership changes of thesis §4.1."""

    ADD = "add"
    REMOVE = "remove"


class Bug(StrEnum):
    """Deliberate, small deviations from the protocol, switched on by ``RaftConfig.bugs``.

    They exist so that safety checkers can be shown to catch real violations.
    """

    VOTE_WITHOUT_LOG_CHECK = "vote_without_log_check"
    """Grant (pre)votes without the election restriction of §5.4.1."""
    COMMIT_PRIOR_TERM_BY_COUNT = "commit_prior_term_by_count"
    """Commit an entry of a previous term once counted on a majority (Figure 8, §5.4.2)."""
    NO_CONFLICT_TRUNCATION = "no_conflict_truncation"
    """Overwrite a conflicting entry in place but keep the stale suffix after it (§5.3)."""
    APPLY_BEFORE_COMMIT = "apply_before_commit"
    """Hand entries to the state machine up to the last log index, not the commit index."""
    LEASE_IGNORES_PAUSE = "lease_ignores_pause"
    """Count a late tick as one tick: a leader paused for any length loses one tick of
    its lease while its followers' clocks ran on (a GC pause outliving a lease)."""
    VOTE_RESPONSE_TERM_UNCHECKED = "vote_response_term_unchecked"
    """Count a granted vote whatever term its response carries (xnnyygn/xraft#33)."""
    FOLLOWER_COMMIT_BEYOND_MATCH = "follower_commit_beyond_match"
    """Follower commit index = min(leader_commit, last log index), not the last index the
    AppendEntries verified (atomix/copycat#265)."""
    READ_INDEX_BEFORE_TERM_COMMIT = "read_index_before_term_commit"
    """Answer ReadIndex before the new leader committed an entry of its term
    (etcd-io/etcd#7331)."""
    LEASE_SURVIVES_TRANSFER = "lease_survives_transfer"
    """Keep the read lease after sending TimeoutNow (tikv/tikv#1593)."""
    CONFIG_CHANGE_BEFORE_TERM_COMMIT = "config_change_before_term_commit"
    """Propose a membership change before committing an entry of the leader's term
    (atomix/copycat#23, baidu/braft#182)."""
    VOTE_IGNORES_LEADER_STICKINESS = "vote_ignores_leader_stickiness"
    """Honour a RequestVote from a higher term even within the minimum election timeout of
    hearing from a leader, so a removed server deposes leaders (logcabin/logcabin#56)."""
    LEASE_UNTIL_STEP_DOWN = "lease_until_step_down"
    """Take the lease as valid for as long as the periodic CheckQuorum passes, not from
    acknowledged heartbeats (sofastack/sofa-jraft#34, tikv/tikv#964)."""
    SNAPSHOT_TRUNCATES_NEWER_ENTRIES = "snapshot_truncates_newer_entries"
    """An InstallSnapshot for a prefix of the log keeps the prefix and drops the entries
    after it (camunda/camunda#6092)."""
    PRE_CANDIDATE_KEEPS_LEADER = "pre_candidate_keeps_leader"
    """A pre-candidate keeps its leader id, so it refuses its peers' pre-votes as if it
    still heard from a leader (etcd-io/etcd#8334, #9586)."""
    PRE_VOTE_REPLY_OWN_TERM = "pre_vote_reply_own_term"
    """Answer a pre-vote with the voter's own term; a pre-candidate drops answers below its
    term and is not raised by a refusal one term ahead (canonical/raft#279)."""
    READ_ROUND_KEPT_ACROSS_TERMS = "read_round_kept_across_terms"
    """A follower answers with the highest read round it heard from any leader in any term,
    not the round asked, so a new leader counts unconfirmed rounds (rabbitmq/ra#340)."""
    ELECTION_TIMER_ON_STALE_APPEND = "election_timer_on_stale_append"
    """A follower restarts its election timer on an AppendEntries or InstallSnapshot of a
    stale term, which it refuses, as on one from its leader (goraft/raft#58)."""
    REMOVAL_WHILE_CHANGE_PENDING = "removal_while_change_pending"
    """Accept a REMOVE while an earlier configuration change is uncommitted: the one-change
    rule left removals out (RedisLabs/redisraft#17)."""
    APPEND_DROPS_LATER_ENTRIES = "append_drops_later_entries"
    """A follower replaces everything after an AppendEntries' ``prev_log_index`` with its
    entries, conflicting or not (ktoso/akka-raft#66, lerna-stack/akka-entity-replication#152)."""
    REMOVED_LEADER_COUNTS_ITSELF = "removed_leader_counts_itself"
    """A leader not in its configuration (its removal is in its log) still counts its own log
    toward commit majorities (nats-io/nats-server#7600, camunda/camunda#15232)."""


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """The payload of a ``CONFIG`` entry: one voter added or removed.

    ``voters`` is the complete resulting voter set (sorted), so that any suffix of the log
    determines the configuration without replaying earlier changes.
    """

    op: ConfigOp
    node: str
    voters: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Entry:
    """One log entry (§5.3): the term it was created in, its position, and its payload."""

    term: int
    index: int
    kind: EntryKind
    data: Opaque


@dataclass(frozen=True, slots=True)
class HardState:
    """The state a server must persist before answering any RPC (Figure 2).

    ``commit`` is persisted too (lazily: a change of it alone does not require an fsync), so a
    restarted server knows which of its stable entries it may re-apply.
    """

    term: int
    voted_for: str | None
    commit: int


@dataclass(frozen=True, slots=True)
class SoftState:
    """Volatile state worth reporting to the outside world: role and known leader."""

    role: Role
    leader: str | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A state-machine snapshot covering the log up to ``index`` (§7)."""

    index: int
    term: int
    voters: tuple[str, ...]
    data: Opaque


@dataclass(frozen=True, slots=True)
class RequestVote:
    """RequestVote RPC (§5.2); with ``pre_vote`` it is a PreVote probe (thesis §9.6).

    For a PreVote, ``term`` is the term the sender *would* campaign in (its term + 1); the
    sender's own term is unchanged. ``leadership_transfer`` marks an election started by
    ``TimeoutNow``, which voters honour even while they hear from a leader (thesis §3.10).
    """

    src: str
    dst: str
    term: int
    pre_vote: bool
    last_log_index: int
    last_log_term: int
    leadership_transfer: bool = False


@dataclass(frozen=True, slots=True)
class RequestVoteResponse:
    """Reply to ``RequestVote``. A granted PreVote echoes the requested term."""

    src: str
    dst: str
    term: int
    pre_vote: bool
    granted: bool


@dataclass(frozen=True, slots=True)
class AppendEntries:
    """AppendEntries RPC (§5.3); a heartbeat is one with no entries.

    ``read_round`` is the leader's ReadIndex round when it sent the message (thesis §6.4);
    the response echoes it, so an acknowledgement confirms leadership for all reads
    registered in that round or earlier.
    """

    src: str
    dst: str
    term: int
    prev_log_index: int
    prev_log_term: int
    entries: tuple[Entry, ...]
    leader_commit: int
    read_round: int


@dataclass(frozen=True, slots=True)
class AppendEntriesResponse:
    """Reply to ``AppendEntries``.

    On success ``match_index`` is the highest index known to match the leader. On failure
    ``rejected_index`` is the ``prev_log_index`` that did not match, and
    ``conflict_term`` / ``conflict_index`` are the fast log backup hint of §5.3 (end): the
    term of the follower's conflicting entry and the first index it holds for that term, or
    ``conflict_term == 0`` and ``conflict_index == last index + 1`` when its log is too short.
    """

    src: str
    dst: str
    term: int
    success: bool
    match_index: int
    conflict_index: int
    conflict_term: int
    read_round: int
    rejected_index: int = 0

    @property
    def stale(self) -> bool:
        """A refusal for a stale term (§5.1), not a log mismatch: it carries no hint."""
        return not self.success and self.rejected_index == 0 and self.conflict_index == 0


@dataclass(frozen=True, slots=True)
class InstallSnapshot:
    """InstallSnapshot RPC (§7), sent whole (no chunking in a simulation)."""

    src: str
    dst: str
    term: int
    snapshot: Snapshot


@dataclass(frozen=True, slots=True)
class InstallSnapshotResponse:
    """Reply to ``InstallSnapshot``: the follower's log now matches up to ``match_index``."""

    src: str
    dst: str
    term: int
    match_index: int


@dataclass(frozen=True, slots=True)
class RepairRequest:
    """A server in repair (its disk lost entries it may have acknowledged) to the leader
    of its term: "I hold your log at most up to ``last_index``; forget any acknowledgement
    of mine above it, and tell me how far your log reaches"."""

    src: str
    dst: str
    term: int
    last_index: int


@dataclass(frozen=True, slots=True)
class RepairResponse:
    """The leader's answer: its acknowledgements from the sender above the request's
    ``last_index`` are forgotten; its own log ends at ``last_index`` (nothing after it
    can be committed, §5.4 Leader Completeness)."""

    src: str
    dst: str
    term: int
    last_index: int


@dataclass(frozen=True, slots=True)
class TimeoutNow:
    """Leadership transfer: the recipient starts an election at once (thesis §3.10)."""

    src: str
    dst: str
    term: int


Message = (
    RequestVote
    | RequestVoteResponse
    | AppendEntries
    | AppendEntriesResponse
    | InstallSnapshot
    | InstallSnapshotResponse
    | TimeoutNow
    | RepairRequest
    | RepairResponse
)
"""Every message a ``RaftNode`` sends or steps."""


@dataclass(frozen=True, slots=True)
class ReadState:
    """A linearizable read (ReadIndex, thesis §6.4) may be served once applied >= index."""

    request_id: Opaque
    index: int


@dataclass(slots=True, eq=False)
class Ready:
    """Work for the server; see the module docstring for the order it must be done in.

    Not frozen, unlike the messages and states it carries: one is built per message the
    server handles, and a frozen dataclass's ``__init__`` costs four times as much (its
    fields are set through ``object.__setattr__``). Nobody may modify one; ``advance``
    recognises the outstanding Ready by identity.
    """

    soft_state: SoftState | None
    hard_state: HardState | None
    entries: tuple[Entry, ...]
    snapshot: Snapshot | None
    committed_entries: tuple[Entry, ...]
    messages: tuple[Message, ...]
    read_states: tuple[ReadState, ...]
    must_sync: bool


@dataclass(frozen=True, slots=True)
class RaftConfig:
    """Static configuration of one Raft server. Time is counted in ticks.

    ``voters`` is the bootstrap configuration; a snapshot or ``CONFIG`` entries in the log
    override it. A server that is not in its own voter set starts no election (a
    joining server waits to be caught up by the leader).
    ``max_inflight_appends`` bounds optimistic pipelining per follower.
    ``max_clock_drift``: how far (a fraction) any two servers' clock rates may differ from
    real time; a lease lasts ``election_timeout_ticks_min * (1 - d) / (1 + d)`` ticks, so
    a leader whose clock runs slow by d still ends it before a follower whose clock runs
    fast by d stops refusing votes (thesis §6.4; etcd and TiKV shorten theirs the same way).
    ``catch_up_new_servers``: a leader asked to add a server first replicates its log to
    it, outside the configuration, in rounds, and proposes the change only once a
    round took less than ``election_timeout_ticks_min`` (thesis §4.2.1), so an empty
    server never counts toward majorities it cannot yet help form.
    """

    node_id: str
    voters: tuple[str, ...]
    election_timeout_ticks_min: int
    election_timeout_ticks_max: int
    heartbeat_interval_ticks: int
    prevote: bool = True
    check_quorum: bool = True
    lease_reads: bool = False
    leader_noop: bool = True
    max_entries_per_append: int = 64
    bugs: frozenset[str] = frozenset()
    max_inflight_appends: int = 8
    catch_up_new_servers: bool = False
    max_clock_drift: float = 0.0

    def __post_init__(self) -> None:
        if not self.node_id:
            raise ValueError("node_id must be a non-empty string")
        if len(set(self.voters)) != len(self.voters):
            raise ValueError(f"duplicate voters in {self.voters!r}")
        if self.heartbeat_interval_ticks < 1:
            raise ValueError("heartbeat_interval_ticks must be >= 1")
        if self.election_timeout_ticks_min <= self.heartbeat_interval_ticks:
            raise ValueError("election_timeout_ticks_min must exceed heartbeat_interval_ticks")
        if self.election_timeout_ticks_max < self.election_timeout_ticks_min:
            raise ValueError("election_timeout_ticks_max must be >= election_timeout_ticks_min")
        if self.max_entries_per_append < 1 or self.max_inflight_appends < 1:
            raise ValueError("max_entries_per_append and max_inflight_appends must be >= 1")
        if self.lease_reads and not self.check_quorum:
            raise ValueError("lease_reads requires check_quorum (the lease relies on it)")
        if not 0.0 <= self.max_clock_drift < 1.0:
            raise ValueError("max_clock_drift must be in [0, 1)")
        known = {bug.value for bug in Bug}
        unknown = sorted(set(self.bugs) - known)
        if unknown:
            raise ValueError(f"unknown raft bugs {unknown}; known: {sorted(known)}")


@dataclass(frozen=True, slots=True)
class RaftStatus:
    """A read-only picture of one node, for dashboards and tests."""

    id: str
    role: Role
    term: int
    voted_for: str | None
    leader: str | None
    commit_index: int
    applied_index: int
    first_index: int
    last_index: int
    last_term: int
    snapshot_index: int
    log_length: int
    voters: tuple[str, ...]
    progress: tuple[tuple[str, int, int], ...] = field(default=())
    """Leader only: (follower, match_index, next_index), sorted by follower."""
