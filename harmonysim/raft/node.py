"""``RaftNode``: one Raft server as a pure state machine (Tick/Step -> Ready -> Advance).

The node does no I/O, reads no clock and draws no randomness of its own: time arrives as
``tick()`` calls, messages as ``step()`` calls, and the election timeout is drawn from the
``rand`` object the caller owns (anything with ``randint(a, b)``). Everything the server
must do -- persist, send, apply -- comes out of ``ready()``; see ``harmonysim.raft.types``
for the server's contract (persist before send, then apply, then ``advance``).

Rules implemented, with the sections of the Raft paper (Ongaro & Ousterhout, extended
version) and of Ongaro's thesis they come from:

- §5.1: a message with a higher term turns the node into a follower of that term; a message
  with a lower term is answered with the current term (requests) or dropped (responses).
- §5.2: the election timeout is drawn uniformly from
  ``[election_timeout_ticks_min, election_timeout_ticks_max]`` every time the timer resets
  (start, term change, hearing from the leader, granting a vote). A candidate votes for
  itself; every node grants at most one vote per term, and the vote reaches the disk
  (``Ready.hard_state``) before the response leaves (``Ready.messages``).
- §5.3: AppendEntries carries ``prev_log_index/term``; a follower rejects a mismatch with the
  fast backup hint (conflict term and its first index), truncates conflicting entries (never
  committed ones) and sets ``commit = min(leader_commit, index of last new entry)``.
- §5.4.1: votes only for candidates whose log is at least as up-to-date (last term, then
  last index). §5.4.2: a leader advances its commit index only over an entry of its own
  term counted on a majority (Figure 8); earlier entries commit with it.
- §8 / thesis §6.4: a new leader appends a NOOP entry; ReadIndex records the commit index,
  waits until the leader committed an entry of its term, and confirms leadership with a
  round of heartbeats acknowledged by a majority before emitting a ``ReadState``. With
  ``lease_reads`` the leader answers from a lease instead: a majority acknowledged a
  heartbeat sent less than ``election_timeout_ticks_min`` ticks ago, and those followers
  refuse to vote for anyone else until that long after receiving it (assumes clocks tick
  at the same rate). The lease counts elapsed time, not timer callbacks: a tick that
  comes late (``tick(elapsed_ticks)``, after a paused process resumes) ages it by the
  whole gap, so a pause cannot stretch a lease past the followers' promise.
- Thesis §9.6 PreVote: a follower whose timer fires first asks for pre-votes for
  ``term + 1`` without changing its term; voters grant only if the candidate's log is
  up to date and they have not heard from a leader within the minimum election timeout.
- Thesis §6.2 CheckQuorum: a leader that has not heard from a majority within the minimum
  election timeout steps down; a server that heard from a leader within that time ignores
  RequestVote (leader stickiness) unless it is a leadership transfer.
- Thesis §4.1 single-server membership changes: a ``CONFIG`` entry takes effect on each
  server as soon as it is in its log (and is undone if the entry is truncated); a leader
  proposes one only when the previous one committed and it has committed an entry of its
  own term; a leader that removed itself steps down once the change commits; a server not
  in its own configuration starts no election, unless the change that removed it is still
  uncommitted (it may be needed to commit it; its own vote does not count then).
- Thesis §4.2.1 (with ``catch_up_new_servers``): a server to be added is first caught
  up outside the configuration: the leader replicates to it (it counts toward no
  majority) in rounds, each ending when it holds the leader's log as of the round's
  start; the leader proposes the change once a round took less than the minimum
  election timeout. Until then ``propose_config_change`` refuses, and ``catching_up``
  names the server.
- §7: ``compact`` replaces an applied, stable prefix with a snapshot; a follower whose
  ``next_index`` falls at or below the snapshot gets an ``InstallSnapshot``.
- Thesis §3.10: ``transfer_leadership`` catches the target up and sends ``TimeoutNow``.

Repair (after "Protocol-Aware Recovery for Consensus-Based Storage", Alagappan et al.,
FAST 2018, CTRL): a server whose disk returned a damaged record cannot tell an entry it
never acknowledged from one a leader counted toward a commit. Its server therefore hands
the core the intact prefix of its log and ``repair_until``, the last index its disk held;
entries above the prefix are forgotten, never silently: until it is repaired the core

- grants no vote and no pre-vote and starts no election (its shorter log would let a
  candidate without a committed entry win, which is how PAR's Raft implementations lost
  data);
- asks the leader of its term (the sender of any AppendEntries or InstallSnapshot it
  accepts) with ``RepairRequest(last_index)`` to forget its acknowledgements above
  ``last_index`` (the leader lowers its ``match_index`` and probes from there), until
  a ``RepairResponse`` comes; the response gives the leader's last index, and
  ``repair_until`` drops to it: the leader holds every committed entry (§5.4 Leader
  Completeness), so nothing it lacks was committed, and only a leader -- elected by a
  majority -- may say so (CTRL's rule: discard only what a majority never had);
- accepts and acknowledges the leader's entries as any follower does (an acknowledgement
  states what it holds now), and leaves repair once it holds the leader's log up to
  ``repair_until`` (``repaired`` turns True; the server clears its durable marker).

A leader is never in repair: a server in repair cannot be elected, since it starts no
election and ``TimeoutNow`` is refused.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from harmonysim.raft.log import RaftInvariantError, RaftLog
from harmonysim.raft.progress import Progress, ProgressState
from harmonysim.raft.types import (
    AppendEntries,
    AppendEntriesResponse,
    Bug,
    ConfigChange,
    ConfigOp,
    Entry,
    EntryKind,
    HardState,
    InstallSnapshot,
    InstallSnapshotResponse,
    Message,
    Opaque,
    RaftConfig,
    RaftStatus,
    ReadState,
    Ready,
    RepairRequest,
    RepairResponse,
    RequestVote,
    RequestVoteResponse,
    Role,
    Snapshot,
    SoftState,
    TimeoutNow,
)


class RandomSource(Protocol):
    """The randomness a node needs: e.g. a seeded ``random.Random`` owned by the caller."""

    def randint(self, a: int, b: int) -> int: ...


@dataclass(frozen=True, slots=True)
class _PendingRead:
    request_id: Opaque
    index: int
    read_round: int


@dataclass(slots=True)
class _CatchUp:
    """A server being caught up before it is added (thesis §4.2.1): the current round
    ends when it holds the leader's log up to ``round_end``."""

    round_end: int
    round_start_tick: int
    rounds: int = 1
    caught_up: bool = False


class RaftNode:
    """One Raft server. Construction with persisted state is also a restart."""

    def __init__(
        self,
        config: RaftConfig,
        rand: RandomSource,
        *,
        hard_state: HardState | None = None,
        snapshot: Snapshot | None = None,
        entries: Iterable[Entry] = (),
        repair_until: int = 0,
    ) -> None:
        self._config = config
        self._rand = rand
        self._id = config.node_id
        bugs = config.bugs
        self._bug_vote_without_log_check = Bug.VOTE_WITHOUT_LOG_CHECK.value in bugs
        self._bug_commit_prior_term = Bug.COMMIT_PRIOR_TERM_BY_COUNT.value in bugs
        self._bug_no_conflict_truncation = Bug.NO_CONFLICT_TRUNCATION.value in bugs
        self._bug_apply_before_commit = Bug.APPLY_BEFORE_COMMIT.value in bugs
        self._bug_late_tick_counts_once = Bug.LEASE_IGNORES_PAUSE.value in bugs
        self._bug_stale_vote_responses = Bug.VOTE_RESPONSE_TERM_UNCHECKED.value in bugs
        self._bug_commit_beyond_match = Bug.FOLLOWER_COMMIT_BEYOND_MATCH.value in bugs
        self._bug_early_read_index = Bug.READ_INDEX_BEFORE_TERM_COMMIT.value in bugs
        self._bug_lease_survives_transfer = Bug.LEASE_SURVIVES_TRANSFER.value in bugs
        self._bug_early_config_change = Bug.CONFIG_CHANGE_BEFORE_TERM_COMMIT.value in bugs
        self._bug_no_stickiness = Bug.VOTE_IGNORES_LEADER_STICKINESS.value in bugs
        self._bug_pre_candidate_keeps_leader = Bug.PRE_CANDIDATE_KEEPS_LEADER.value in bugs
        self._bug_lease_until_step_down = Bug.LEASE_UNTIL_STEP_DOWN.value in bugs
        self._bug_snapshot_truncates = Bug.SNAPSHOT_TRUNCATES_NEWER_ENTRIES.value in bugs
        self._bug_pre_vote_own_term = Bug.PRE_VOTE_REPLY_OWN_TERM.value in bugs
        self._bug_read_round_kept = Bug.READ_ROUND_KEPT_ACROSS_TERMS.value in bugs
        self._read_round_seen = 0  # only under that bug: the highest round of any leader
        self._bug_timer_on_stale_append = Bug.ELECTION_TIMER_ON_STALE_APPEND.value in bugs
        self._bug_removal_while_pending = Bug.REMOVAL_WHILE_CHANGE_PENDING.value in bugs
        self._bug_drop_later_entries = Bug.APPEND_DROPS_LATER_ENTRIES.value in bugs
        self._bug_removed_leader_counts = Bug.REMOVED_LEADER_COUNTS_ITSELF.value in bugs
        drift = config.max_clock_drift
        self._lease_ticks = int(config.election_timeout_ticks_min * (1.0 - drift) / (1.0 + drift))

        self._log = RaftLog(snapshot, entries)
        persisted = hard_state if hard_state is not None else HardState(0, None, 0)
        if persisted.term < self._log.last_term:
            raise ValueError(f"hard state term {persisted.term} below last log term")
        self._term = persisted.term
        self._voted_for = persisted.voted_for
        self._log.commit_to(max(persisted.commit, self._log.snapshot_index))
        self._applied = self._log.snapshot_index

        # Configuration (thesis §4.1): the latest CONFIG entry in the log wins, else the
        # snapshot's voters, else the bootstrap voters.
        self._base_voters: tuple[str, ...] = (
            snapshot.voters if snapshot is not None else tuple(sorted(config.voters))
        )
        self._config_indices: list[int] = []
        self._voters: tuple[str, ...] = self._base_voters
        self._role = Role.FOLLOWER
        self._leader: str | None = None
        self._rebuild_config()

        self._tick_count = 0
        self._election_elapsed = 0
        self._heartbeat_elapsed = 0
        self._randomized_timeout = 0
        self._reset_election_timer()
        self._votes: dict[str, bool] = {}
        self._progress: dict[str, Progress] = {}
        self._transfer_target: str | None = None
        self._transfer_elapsed = 0
        self._catching_up: dict[str, _CatchUp] = {}  # leader: servers being caught up
        self._lease_voided = False

        self._read_round = 0
        self._round_sent = True
        self._round_ticks: deque[tuple[int, int]] = deque()
        self._lease_start_tick: int | None = None
        self._pending_reads: deque[_PendingRead] = deque()
        self._deferred_reads: list[object] = []

        self._outbox: list[Message] = []
        self._read_states: list[ReadState] = []
        self._pending_snapshot: Snapshot | None = None
        self._persisted_hard_state = self._hard_state()
        self._reported_soft_state = SoftState(Role.FOLLOWER, None)
        self._outstanding: Ready | None = None
        # Repair (module docstring): 0, or the last index the disk held before damage.
        self._repair_until = max(0, repair_until) if repair_until > self._log.last_index else 0
        self._repair_answered_term = 0  # the term whose leader answered our RepairRequest

    # ================================================================ properties

    @property
    def id(self) -> str:
        return self._id

    @property
    def config(self) -> RaftConfig:
        return self._config

    @property
    def role(self) -> Role:
        return self._role

    @property
    def term(self) -> int:
        return self._term

    @property
    def voted_for(self) -> str | None:
        return self._voted_for

    @property
    def leader(self) -> str | None:
        return self._leader

    @property
    def commit_index(self) -> int:
        return self._log.committed

    @property
    def applied_index(self) -> int:
        return self._applied

    @property
    def first_index(self) -> int:
        return self._log.first_index

    @property
    def last_index(self) -> int:
        return self._log.last_index

    @property
    def last_term(self) -> int:
        return self._log.last_term

    @property
    def snapshot_index(self) -> int:
        return self._log.snapshot_index

    @property
    def snapshot(self) -> Snapshot | None:
        return self._log.snapshot

    @property
    def voters(self) -> tuple[str, ...]:
        return self._voters

    @property
    def config_index(self) -> int:
        """The index of the CONFIG entry that set ``voters`` (0: from the snapshot or the
        bootstrap configuration). The configuration is committed once this is at or below
        ``commit_index`` (thesis §4.1)."""
        return self._config_indices[-1] if self._config_indices else 0

    def configurations_since(self, index: int) -> tuple[tuple[str, ...], ...]:
        """The configurations this log has held from ``index`` on: the one in effect at
        ``index`` (held or covered by the snapshot), then each later CONFIG entry's, in
        log order. A leader whose log reached ``index`` counted its majorities in one of
        these (thesis §4.1: a server uses the latest configuration in its log)."""
        later = tuple(
            self._config_change(self._log.entry(config_index)).voters
            for config_index in self._config_indices
            if config_index > index
        )
        return (self._voters_at(index), *later)

    @property
    def log_length(self) -> int:
        """Entries held in memory (those after the snapshot)."""
        return len(self._log)

    def entries(self, low: int, high: int) -> tuple[Entry, ...]:
        """Held entries ``low..high`` inclusive (for inspection; raises if not held)."""
        return self._log.slice(low, high)

    def term_at(self, index: int) -> int | None:
        return self._log.term_at(index)

    def progress(self) -> dict[str, tuple[int, int]]:
        """Leader only: follower -> (match_index, next_index), keys sorted; else empty."""
        return {
            peer: (self._progress[peer].match_index, self._progress[peer].next_index)
            for peer in sorted(self._progress)
        }

    def status(self) -> RaftStatus:
        return RaftStatus(
            id=self._id,
            role=self._role,
            term=self._term,
            voted_for=self._voted_for,
            leader=self._leader,
            commit_index=self._log.committed,
            applied_index=self._applied,
            first_index=self._log.first_index,
            last_index=self._log.last_index,
            last_term=self._log.last_term,
            snapshot_index=self._log.snapshot_index,
            log_length=len(self._log),
            voters=self._voters,
            progress=tuple(
                (peer, match, next_) for peer, (match, next_) in self.progress().items()
            ),
        )

    # ================================================================ driving input

    def tick(self, elapsed_ticks: int = 1) -> None:
        """Advance time by ``elapsed_ticks`` (more than one when the server's timer came
        late, as after its process was paused): every timer and the lease see the whole
        elapsed time, but a late tick fires each expired timer once (one heartbeat round,
        one election), as a real server's timers would."""
        if elapsed_ticks < 1:
            raise ValueError(f"elapsed_ticks must be >= 1, got {elapsed_ticks}")
        if self._bug_late_tick_counts_once:
            elapsed_ticks = 1  # the bug: the lease clock stands still while paused
        self._tick_count += elapsed_ticks
        if self._role is Role.LEADER:
            self._tick_leader(elapsed_ticks)
        else:
            self._tick_election(elapsed_ticks)

    def campaign(self) -> None:
        """Start an election now, as if the election timer fired (PreVote first if on)."""
        if self._role is Role.LEADER or not self._promotable():
            return
        if self._config.prevote:
            self._become_pre_candidate()
        else:
            self._become_candidate(leadership_transfer=False)

    def step(self, msg: Message) -> None:
        """Handle one message addressed to this node."""
        if msg.dst != self._id:
            raise ValueError(f"message for {msg.dst} stepped into {self._id}")
        if msg.term > self._term:
            if isinstance(msg, RequestVote):
                if (
                    self._config.check_quorum
                    and self._heard_from_leader_recently()
                    and not msg.leadership_transfer
                    and not self._bug_no_stickiness
                ):
                    return  # leader stickiness (thesis §6.2, §9.6): not disruptable
                if not msg.pre_vote:
                    self._become_follower(msg.term, None)
            elif isinstance(msg, RequestVoteResponse) and msg.pre_vote and msg.granted:
                pass  # a granted pre-vote echoes the proposed term; our term is unchanged
            elif (
                self._bug_pre_vote_own_term
                and isinstance(msg, RequestVoteResponse)
                and msg.pre_vote
                and msg.term == self._term + 1
            ):
                pass  # the bug: a refusal at the term we asked about is not a newer term
            else:
                sender_leads = isinstance(msg, AppendEntries | InstallSnapshot)
                self._become_follower(msg.term, msg.src if sender_leads else None)
        elif msg.term < self._term and not (
            self._bug_stale_vote_responses and isinstance(msg, RequestVoteResponse)
        ):
            if (
                self._bug_timer_on_stale_append
                and self._role is Role.FOLLOWER
                and isinstance(msg, AppendEntries | InstallSnapshot)
            ):
                self._reset_election_timer()  # the bug: a deposed leader's heartbeat
            self._answer_stale(msg)
            return

        if isinstance(msg, RequestVote):
            self._handle_request_vote(msg)
        elif isinstance(msg, RequestVoteResponse):
            self._handle_vote_response(msg)
        elif isinstance(msg, AppendEntries):
            self._handle_append_entries(msg)
        elif isinstance(msg, AppendEntriesResponse):
            self._handle_append_response(msg)
        elif isinstance(msg, InstallSnapshot):
            self._handle_install_snapshot(msg)
        elif isinstance(msg, InstallSnapshotResponse):
            self._handle_snapshot_response(msg)
        elif isinstance(msg, TimeoutNow):
            self._handle_timeout_now(msg)
        else:
            self._step_repair(msg)
        if self._repair_until:
            self._continue_repair(msg)

    def propose(self, data: object) -> int | None:
        """Append a client command; the index, or None when not leader (redirect to
        ``leader``) or while a leadership transfer is in progress."""
        if self._role is not Role.LEADER or self._transfer_target is not None:
            return None
        index = self._append_as_leader(EntryKind.NORMAL, data)
        self._broadcast_append()
        return index

    def propose_config_change(self, op: ConfigOp | str, node: str) -> int | None:
        """Propose adding or removing one voter (thesis §4.1).

        Returns the index of the CONFIG entry, or None when refused: not leader, a transfer
        in progress, a previous change not yet committed, no entry of the current term
        committed yet, or a change that would do nothing (adding a voter, removing a
        non-voter, removing the last voter). Raises ValueError for an unknown ``op``.
        """
        change = ConfigOp(op)
        if self._role is not Role.LEADER or self._transfer_target is not None:
            return None
        pending = bool(self._config_indices) and self._config_indices[-1] > self._log.committed
        if pending and not (self._bug_removal_while_pending and change is ConfigOp.REMOVE):
            return None  # the bug (RedisLabs/redisraft#17) lets removals through
        if not self._committed_in_current_term() and not self._bug_early_config_change:
            return None
        if change is ConfigOp.ADD:
            if node in self._voters:
                return None
            if self._config.catch_up_new_servers and not self._caught_up(node):
                return None
            self._catching_up.pop(node, None)  # a voter now; its progress carries on
            voters = tuple(sorted((*self._voters, node)))
        else:
            if node not in self._voters or self._voters == (node,):
                return None
            voters = tuple(peer for peer in self._voters if peer != node)
        index = self._append_as_leader(EntryKind.CONFIG, ConfigChange(change, node, voters))
        self._broadcast_append()
        return index

    @property
    def catching_up(self) -> tuple[str, ...]:
        """Leader: the servers being caught up before they are added (thesis §4.2.1)."""
        return tuple(sorted(self._catching_up))

    def _caught_up(self, node: str) -> bool:
        """Start or follow the catch-up of ``node``; True once a round was fast enough."""
        catch_up = self._catching_up.get(node)
        if catch_up is None:
            self._catching_up[node] = _CatchUp(self._log.last_index, self._tick_count)
            self._progress[node] = self._new_progress()
            self._send_append(node, allow_empty=True)
            return False
        return catch_up.caught_up

    def _catch_up_progress(self, node: str, match_index: int) -> None:
        """``node`` (being caught up) acknowledged up to ``match_index``: end its round if
        it holds the round's entries; a round shorter than the minimum election timeout
        means it has caught up, else the next round starts (thesis §4.2.1)."""
        catch_up = self._catching_up[node]
        if catch_up.caught_up or match_index < catch_up.round_end:
            return
        if self._tick_count - catch_up.round_start_tick < self._config.election_timeout_ticks_min:
            catch_up.caught_up = True
            return
        catch_up.round_end = self._log.last_index
        catch_up.round_start_tick = self._tick_count
        catch_up.rounds += 1

    def read_index(self, request_id: object) -> bool:
        """Start a linearizable read (thesis §6.4). False when not leader; otherwise the
        matching ``ReadState`` appears in a later ``Ready`` (or never, if leadership is
        lost first -- the caller times out and retries)."""
        if self._role is not Role.LEADER:
            return False
        if not self._committed_in_current_term() and not self._bug_early_read_index:
            self._deferred_reads.append(request_id)
            return True
        self._start_read(request_id)
        return True

    def transfer_leadership(self, target: str) -> bool:
        """Hand leadership to ``target`` (thesis §3.10). False if impossible right now."""
        if (
            self._role is not Role.LEADER
            or target == self._id
            or target not in self._progress
            or target not in self._voters
        ):
            return False
        self._transfer_target = target
        self._transfer_elapsed = 0
        progress = self._progress[target]
        if progress.match_index == self._log.last_index:
            self._send_timeout_now(target)
        else:
            self._send_append(target, allow_empty=True)
        return True

    def compact(self, index: int, data: object) -> Snapshot:
        """The server snapshotted its state machine at applied ``index``: drop the log up to
        it and keep the snapshot for lagging followers (§7). The server persists the
        returned snapshot and discards its own stable entries up to ``index``. ``index`` must
        be applied, stable and committed (``min(applied_index, commit_index)`` always is)."""
        if index <= self._log.snapshot_index:
            raise ValueError(f"already compacted to {self._log.snapshot_index}")
        if index > self._applied:
            raise ValueError(f"cannot compact to {index}: applied only {self._applied}")
        if index > self._log.committed:
            raise ValueError(f"cannot compact to {index}: committed only {self._log.committed}")
        if index > self._log.stable_index:
            # Applied entries were persisted first (the Ready contract): this is the core's
            # own state gone wrong, not a bad argument.
            raise RaftInvariantError(
                f"cannot compact to {index}: applied {self._applied} but stable only "
                f"{self._log.stable_index}"
            )
        term = self._log.term_at(index)
        if term is None:
            raise ValueError(f"no entry at {index}")
        snapshot = Snapshot(index, term, self._voters_at(index), data)
        self._log.compact(snapshot)
        self._base_voters = snapshot.voters
        self._config_indices = [i for i in self._config_indices if i > index]
        return snapshot

    # ================================================================ Ready / Advance

    def has_ready(self) -> bool:
        """Whether ``ready()`` would return work. False while a Ready is outstanding.

        Called after every message and tick, so it compares fields in place rather
        than building the hard and soft state records (a measured hot spot).
        """
        if self._outstanding is not None:
            return False
        if self._outbox or self._read_states or self._pending_snapshot is not None:
            return True
        log = self._log
        if log.stable_index < log.last_index:
            return True
        persisted = self._persisted_hard_state
        if (
            self._term != persisted.term
            or self._voted_for != persisted.voted_for
            or log.committed != persisted.commit
        ):
            return True
        reported = self._reported_soft_state
        if self._role is not reported.role or self._leader != reported.leader:
            return True
        high = log.last_index if self._bug_apply_before_commit else log.committed
        return high > max(self._applied, log.snapshot_index)

    def ready(self) -> Ready:
        """Collect the pending work. Call ``advance`` with it once done."""
        if self._outstanding is not None:
            raise RuntimeError("a Ready is outstanding: call advance() first")
        # The state records are built only when they changed (compared field by field,
        # as in has_ready): most Readys carry neither.
        log = self._log
        reported = self._reported_soft_state
        soft = None
        if self._role is not reported.role or self._leader != reported.leader:
            soft = SoftState(self._role, self._leader)
        persisted = self._persisted_hard_state
        vote_changed = self._term != persisted.term or self._voted_for != persisted.voted_for
        hard = None
        if vote_changed or log.committed != persisted.commit:
            hard = HardState(self._term, self._voted_for, log.committed)
        entries = log.unstable_entries()
        ready = Ready(
            soft,
            hard,
            entries,
            self._pending_snapshot,
            log.slice(self._apply_low(), self._apply_high()),
            tuple(self._outbox),
            tuple(self._read_states),
            bool(entries or self._pending_snapshot is not None or vote_changed),
        )
        self._outbox = []
        self._read_states = []
        self._round_sent = True
        self._outstanding = ready
        return ready

    def advance(self, ready: Ready) -> None:
        """The server persisted, sent and applied everything in ``ready``."""
        if ready is not self._outstanding:
            raise RuntimeError("advance() called with a Ready that is not outstanding")
        self._outstanding = None
        if ready.soft_state is not None:
            self._reported_soft_state = ready.soft_state
        if ready.hard_state is not None:
            self._persisted_hard_state = ready.hard_state
        if ready.snapshot is not None:
            self._applied = max(self._applied, ready.snapshot.index)
            if self._pending_snapshot == ready.snapshot:
                self._pending_snapshot = None
        if ready.entries:
            last = ready.entries[-1]
            before = self._log.stable_index
            self._log.stable_to(last.index, last.term)
            if self._role is Role.LEADER and self._log.stable_index > before:
                self._maybe_commit()
        if ready.committed_entries:
            self._applied = max(self._applied, ready.committed_entries[-1].index)

    # ================================================================ timers

    def _reset_election_timer(self) -> None:
        """§5.2: randomized timeout, re-drawn whenever the timer restarts."""
        self._election_elapsed = 0
        self._randomized_timeout = self._rand.randint(
            self._config.election_timeout_ticks_min, self._config.election_timeout_ticks_max
        )

    def _tick_election(self, elapsed_ticks: int) -> None:
        self._election_elapsed += elapsed_ticks
        if self._promotable() and self._election_elapsed >= self._randomized_timeout:
            self.campaign()

    def _tick_leader(self, elapsed_ticks: int) -> None:
        self._heartbeat_elapsed += elapsed_ticks
        self._election_elapsed += elapsed_ticks
        if self._election_elapsed >= self._config.election_timeout_ticks_min:
            self._election_elapsed = 0
            if elapsed_ticks >= self._config.election_timeout_ticks_min:
                # A whole CheckQuorum window went by unobserved (the process was stopped):
                # what the peers did in it is unknown, so none of them counts as active.
                for progress in self._progress.values():
                    progress.recent_active = False
            if self._config.check_quorum and not self._quorum_recently_active():
                self._become_follower(self._term, None)  # thesis §6.2 CheckQuorum
                return
            for progress in self._progress.values():
                progress.recent_active = False
        if self._transfer_target is not None:
            self._transfer_elapsed += elapsed_ticks
            if self._transfer_elapsed >= self._config.election_timeout_ticks_min:
                self._transfer_target = None  # transfer did not finish in time: abort
        if self._heartbeat_elapsed >= self._config.heartbeat_interval_ticks:
            self._heartbeat_elapsed = 0
            self._heartbeat()

    def _heard_from_leader_recently(self) -> bool:
        minimum = self._config.election_timeout_ticks_min
        if self._config.lease_reads and self._tick_count < minimum:
            # A (re)started node may have promised a lease before it crashed: it keeps the
            # promise for a full minimum election timeout before voting for anyone.
            return True
        return self._leader is not None and self._election_elapsed < minimum

    # ================================================================ role changes

    def _become_follower(self, term: int, leader: str | None) -> None:
        if term > self._term:
            self._term = term
            self._voted_for = None
        self._role = Role.FOLLOWER
        self._leader = leader
        self._reset_election_timer()
        self._reset_leader_state()

    def _become_pre_candidate(self) -> None:
        """Thesis §9.6: ask for votes for term + 1 without incrementing the term."""
        self._role = Role.PRE_CANDIDATE
        if not self._bug_pre_candidate_keeps_leader:
            self._leader = None
        self._reset_election_timer()
        self._reset_leader_state()
        self._votes = {self._id: True}
        if self._quorum_reached():
            self._become_candidate(leadership_transfer=False)
            return
        self._request_votes(pre_vote=True, leadership_transfer=False)

    def _become_candidate(self, *, leadership_transfer: bool) -> None:
        """§5.2: increment the term, vote for yourself, ask everyone else."""
        self._term += 1
        self._voted_for = self._id
        self._role = Role.CANDIDATE
        self._leader = None
        self._reset_election_timer()
        self._reset_leader_state()
        self._votes = {self._id: True}
        if self._quorum_reached():
            self._become_leader()
            return
        self._request_votes(pre_vote=False, leadership_transfer=leadership_transfer)

    def _become_leader(self) -> None:
        self._role = Role.LEADER
        self._leader = self._id
        self._votes = {}
        self._election_elapsed = 0
        self._heartbeat_elapsed = 0
        self._progress = {}
        for peer in self._voters:
            if peer != self._id:
                self._progress[peer] = self._new_progress()
        if self._config.leader_noop:
            self._append_as_leader(EntryKind.NOOP, None)  # §8: commit earlier terms' entries
        self._broadcast_append()

    def _reset_leader_state(self) -> None:
        self._votes = {}
        self._progress = {}
        self._catching_up = {}
        self._transfer_target = None
        self._pending_reads.clear()
        self._deferred_reads = []
        self._round_ticks.clear()
        self._round_sent = True
        self._lease_start_tick = None
        self._lease_voided = False
        self._heartbeat_elapsed = 0

    def _new_progress(self) -> Progress:
        return Progress(match_index=0, next_index=self._log.last_index + 1)

    def _request_votes(self, *, pre_vote: bool, leadership_transfer: bool) -> None:
        term = self._term + 1 if pre_vote else self._term
        for peer in self._voters:
            if peer != self._id:
                self._send(
                    RequestVote(
                        src=self._id,
                        dst=peer,
                        term=term,
                        pre_vote=pre_vote,
                        last_log_index=self._log.last_index,
                        last_log_term=self._log.last_term,
                        leadership_transfer=leadership_transfer,
                    )
                )

    # ================================================================ elections

    def _handle_request_vote(self, msg: RequestVote) -> None:
        up_to_date = self._bug_vote_without_log_check or self._log.is_up_to_date(
            msg.last_log_term, msg.last_log_index
        )
        if self._repair_until:
            up_to_date = False  # Repair: no vote until the forgotten entries are back
        if msg.pre_vote:
            granted = (
                msg.term > self._term and up_to_date and not self._heard_from_leader_recently()
            )
            reply_term = msg.term if granted and not self._bug_pre_vote_own_term else self._term
        else:
            # msg.term == self._term here: a higher term already made us a follower in it.
            can_vote = self._voted_for == msg.src or (
                self._voted_for is None and self._leader is None
            )
            granted = can_vote and up_to_date
            reply_term = self._term
            if granted:
                self._voted_for = msg.src
                self._reset_election_timer()
        self._send(RequestVoteResponse(self._id, msg.src, reply_term, msg.pre_vote, granted))

    def _handle_vote_response(self, msg: RequestVoteResponse) -> None:
        if msg.src not in self._voters:
            return
        if self._role is Role.PRE_CANDIDATE and msg.pre_vote:
            expected_term = self._term + 1 if msg.granted else self._term
            if self._bug_pre_vote_own_term and msg.term == self._term:
                expected_term = self._term  # the bug: a grant carries the voter's term
        elif self._role is Role.CANDIDATE and not msg.pre_vote:
            expected_term = self._term
        else:
            return
        if msg.term != expected_term and not self._bug_stale_vote_responses:
            return
        self._votes[msg.src] = msg.granted
        if self._quorum_reached():
            if self._role is Role.PRE_CANDIDATE:
                self._become_candidate(leadership_transfer=False)
            else:
                self._become_leader()
        elif sum(1 for voter in self._voters if self._votes.get(voter) is False) >= self._quorum():
            self._become_follower(self._term, None)  # lost: wait for the next timeout

    def _handle_timeout_now(self, msg: TimeoutNow) -> None:
        if self._role is not Role.LEADER and self._promotable():
            self._become_candidate(leadership_transfer=True)

    def _answer_stale(self, msg: Message) -> None:
        """§5.1: tell a sender with a stale term about the current one."""
        if isinstance(msg, AppendEntries):
            self._send(
                AppendEntriesResponse(
                    self._id, msg.src, self._term, False, 0, 0, 0, msg.read_round, 0
                )
            )
        elif isinstance(msg, InstallSnapshot):
            self._send(InstallSnapshotResponse(self._id, msg.src, self._term, 0))
        elif isinstance(msg, RequestVote):
            self._send(RequestVoteResponse(self._id, msg.src, self._term, msg.pre_vote, False))

    # ================================================================ replication: follower

    def _accept_leader(self, leader: str) -> None:
        if self._role is not Role.FOLLOWER or self._leader != leader:
            self._become_follower(self._term, leader)
        elif self._election_elapsed > 0:  # not already reset by a term change just now
            self._reset_election_timer()

    def _handle_append_entries(self, msg: AppendEntries) -> None:
        if self._role is Role.LEADER:
            raise RaftInvariantError(f"two leaders in term {self._term}: {self._id} and {msg.src}")
        self._accept_leader(msg.src)
        log = self._log
        if msg.prev_log_index < log.committed:
            # Everything up to our commit index matches the leader (Leader Completeness).
            self._send_append_ack(msg, log.committed)
            return
        if log.term_at(msg.prev_log_index) != msg.prev_log_term:
            self._reject_append(msg)
            return
        last_new = msg.prev_log_index + len(msg.entries)
        if self._bug_drop_later_entries and msg.entries and last_new < log.last_index:
            log.truncate_after(last_new)  # the bug: the suffix goes, conflicting or not
            self._drop_config_after(last_new)
        for position, entry in enumerate(msg.entries):
            existing = log.term_at(entry.index)
            if existing == entry.term:
                continue
            if existing is not None:
                if self._bug_no_conflict_truncation:
                    log.overwrite_in_place(entry)
                    self._rebuild_config()
                    continue
                log.truncate_after(entry.index - 1)  # §5.3: delete the entry and all after
                self._drop_config_after(entry.index - 1)
            self._append_entries(msg.entries[position:])
            break
        verified = log.last_index if self._bug_commit_beyond_match else last_new
        log.commit_to(max(log.committed, min(msg.leader_commit, verified)))
        self._send_append_ack(msg, last_new)

    def _send_append_ack(self, msg: AppendEntries, match_index: int) -> None:
        read_round = self._highest_round_seen(msg) if self._bug_read_round_kept else msg.read_round
        self._send(
            AppendEntriesResponse(
                src=self._id,
                dst=msg.src,
                term=self._term,
                success=True,
                match_index=match_index,
                conflict_index=0,
                conflict_term=0,
                read_round=read_round,
            )
        )

    def _reject_append(self, msg: AppendEntries) -> None:
        read_round = self._highest_round_seen(msg) if self._bug_read_round_kept else msg.read_round
        log = self._log
        if msg.prev_log_index > log.last_index:
            conflict_index, conflict_term = log.last_index + 1, 0
        else:
            conflict_term = log.term_at(msg.prev_log_index) or 0
            conflict_index = log.first_index_of_term_before(
                msg.prev_log_index, floor=log.committed + 1
            )
        self._send(
            AppendEntriesResponse(
                src=self._id,
                dst=msg.src,
                term=self._term,
                success=False,
                match_index=0,
                conflict_index=conflict_index,
                conflict_term=conflict_term,
                read_round=read_round,
                rejected_index=msg.prev_log_index,
            )
        )

    def _highest_round_seen(self, msg: AppendEntries) -> int:
        """The bug ``read_round_kept_across_terms``: echo the highest read round heard from
        any leader in any term, not the round this message asked to confirm."""
        self._read_round_seen = max(self._read_round_seen, msg.read_round)
        return self._read_round_seen

    def _handle_install_snapshot(self, msg: InstallSnapshot) -> None:
        self._accept_leader(msg.src)
        snapshot = msg.snapshot
        log = self._log
        if self._bug_snapshot_truncates and log.term_at(snapshot.index) == snapshot.term:
            log.truncate_after(max(snapshot.index, log.committed))  # the bug: keeps the prefix
            self._drop_config_after(log.last_index)
        if snapshot.index <= log.committed:
            match_index = log.committed
        elif log.term_at(snapshot.index) == snapshot.term:
            # We hold the snapshot's last entry: keep the log, just commit up to it (§7).
            log.commit_to(snapshot.index)
            match_index = snapshot.index
        else:
            log.restore(snapshot)
            self._pending_snapshot = snapshot
            self._base_voters = snapshot.voters
            self._config_indices = []
            self._set_voters(snapshot.voters)
            match_index = snapshot.index
        self._send(InstallSnapshotResponse(self._id, msg.src, self._term, match_index))

    # ================================================================ replication: leader

    def _append_as_leader(self, kind: EntryKind, data: object) -> int:
        entry = Entry(self._term, self._log.last_index + 1, kind, data)
        self._append_entries((entry,))
        return entry.index

    def _append_entries(self, entries: tuple[Entry, ...]) -> None:
        self._log.append(entries)
        for entry in entries:
            if entry.kind is EntryKind.CONFIG:
                self._config_indices.append(entry.index)
                self._set_voters(self._config_change(entry).voters)

    def _broadcast_append(self) -> None:
        for peer in sorted(self._progress):
            self._send_append(peer, allow_empty=False)

    def _send_append(self, peer: str, *, allow_empty: bool) -> None:
        progress = self._progress[peer]
        if progress.is_paused(self._config.max_inflight_appends):
            return
        log = self._log
        prev_index = progress.next_index - 1
        prev_term = log.term_at(prev_index)
        if prev_term is None or prev_index < log.snapshot_index:
            self._send_snapshot(peer, progress)
            return
        high = min(log.last_index, prev_index + self._config.max_entries_per_append)
        entries = log.slice(prev_index + 1, high)
        if not entries and not allow_empty:
            return
        self._send(
            AppendEntries(
                src=self._id,
                dst=peer,
                term=self._term,
                prev_log_index=prev_index,
                prev_log_term=prev_term,
                entries=entries,
                leader_commit=log.committed,
                read_round=self._read_round,
            )
        )
        progress.commit_sent = max(progress.commit_sent, min(log.committed, high))
        if progress.state is ProgressState.REPLICATE and entries:
            progress.next_index = high + 1
            progress.inflight.append(high)
        elif progress.state is ProgressState.PROBE:
            progress.probe_sent = True

    def _send_timeout_now(self, target: str) -> None:
        # The target's election overrides the voters' stickiness, so the lease this leader
        # may hold is void for the rest of its term.
        self._lease_voided = not self._bug_lease_survives_transfer
        self._send(TimeoutNow(self._id, target, self._term))

    def _send_snapshot(self, peer: str, progress: Progress) -> None:
        snapshot = self._log.snapshot
        if snapshot is None:
            raise RaftInvariantError("entries below the first index without a snapshot")
        self._send(InstallSnapshot(self._id, peer, self._term, snapshot))
        progress.become_snapshot(snapshot.index)

    def _send_heartbeat(self, peer: str) -> None:
        """An empty AppendEntries at the follower's known match point: always accepted."""
        progress = self._progress[peer]
        log = self._log
        prev_index = progress.match_index
        prev_term = log.term_at(prev_index)
        if prev_term is None:
            prev_index, prev_term = 0, 0
        self._send(
            AppendEntries(
                src=self._id,
                dst=peer,
                term=self._term,
                prev_log_index=prev_index,
                prev_log_term=prev_term,
                entries=(),
                leader_commit=log.committed,
                read_round=self._read_round,
            )
        )
        progress.commit_sent = max(progress.commit_sent, min(log.committed, prev_index))

    def _heartbeat(self) -> None:
        """Every heartbeat interval: a new read round, retransmission checks, heartbeats."""
        self._new_read_round()
        last_index = self._log.last_index
        for peer in sorted(self._progress):
            progress = self._progress[peer]
            if progress.state is ProgressState.SNAPSHOT:
                progress.snapshot_wait_ticks += self._config.heartbeat_interval_ticks
                if progress.snapshot_wait_ticks >= self._config.election_timeout_ticks_min:
                    progress.become_probe()  # snapshot presumed lost: start over
            elif progress.state is ProgressState.REPLICATE:
                stalled = progress.match_index == progress.match_at_last_heartbeat
                if progress.match_index < last_index and stalled:
                    progress.become_probe()  # an append was lost: resend from match + 1
            progress.match_at_last_heartbeat = progress.match_index
            if progress.state is ProgressState.PROBE:
                progress.probe_sent = False
                self._send_append(peer, allow_empty=True)
            else:
                self._send_heartbeat(peer)

    def _handle_append_response(self, msg: AppendEntriesResponse) -> None:
        if self._role is not Role.LEADER or msg.src not in self._progress:
            return
        progress = self._progress[msg.src]
        progress.recent_active = True
        self._acknowledge_read_round(progress, msg.read_round)
        if msg.success:
            if msg.src in self._catching_up:
                self._catch_up_progress(msg.src, msg.match_index)
            if progress.update_match(msg.match_index):
                if progress.state is ProgressState.PROBE:
                    progress.become_replicate()
                elif (
                    progress.state is ProgressState.SNAPSHOT
                    and progress.match_index >= progress.snapshot_index
                ):
                    progress.become_probe()
                self._maybe_commit()
                if self._role is not Role.LEADER:
                    return
            elif progress.state is ProgressState.PROBE:
                progress.probe_sent = False
            if self._transfer_target == msg.src and progress.match_index == self._log.last_index:
                self._send_timeout_now(msg.src)
            self._send_append(msg.src, allow_empty=False)
            return
        if msg.stale:
            return  # the term check already handled it
        if progress.state is ProgressState.REPLICATE:
            if msg.rejected_index <= progress.match_index:
                return  # stale rejection
        elif progress.state is ProgressState.PROBE:
            if msg.rejected_index != progress.next_index - 1:
                return  # stale rejection
        else:
            return
        hint = msg.conflict_index
        if msg.conflict_term != 0:
            found = self._log.last_index_of_term(msg.conflict_term, msg.rejected_index)
            if found is not None:
                hint = found + 1
        progress.become_probe()
        progress.next_index = max(progress.match_index + 1, min(hint, msg.rejected_index))
        self._send_append(msg.src, allow_empty=True)

    def _handle_snapshot_response(self, msg: InstallSnapshotResponse) -> None:
        if self._role is not Role.LEADER or msg.src not in self._progress:
            return
        progress = self._progress[msg.src]
        progress.recent_active = True
        if msg.src in self._catching_up:
            self._catch_up_progress(msg.src, msg.match_index)
        progress.update_match(msg.match_index)
        if progress.state is ProgressState.SNAPSHOT:
            progress.become_probe()
        self._maybe_commit()
        if self._role is Role.LEADER:
            self._send_append(msg.src, allow_empty=True)

    def _maybe_commit(self) -> None:
        """§5.4.2: commit the highest index replicated on a majority, if of our term."""
        matches = [
            self._log.stable_index if peer == self._id else self._progress[peer].match_index
            for peer in self._voters
            if peer == self._id or peer in self._progress
        ]
        if self._bug_removed_leader_counts and self._id not in self._voters:
            matches.append(self._log.stable_index)  # the bug: its own ack, though removed
        if not matches:
            return
        matches.sort(reverse=True)
        quorum = self._quorum()
        if len(matches) < quorum:
            return
        candidate = matches[quorum - 1]
        if candidate <= self._log.committed:
            return
        if self._log.term_at(candidate) != self._term and not self._bug_commit_prior_term:
            return
        self._log.commit_to(candidate)
        self._on_commit_advanced()

    def _on_commit_advanced(self) -> None:
        committed = self._log.committed
        # A leader removed by a committed configuration steps down (thesis §4.2.2).
        removal_committed = not self._config_indices or self._config_indices[-1] <= committed
        if self._id not in self._voters and removal_committed:
            self._become_follower(self._term, None)
            return
        if self._deferred_reads and self._committed_in_current_term():
            deferred, self._deferred_reads = self._deferred_reads, []
            for request_id in deferred:
                self._start_read(request_id)

    def _quorum(self) -> int:
        return len(self._voters) // 2 + 1

    def _quorum_reached(self) -> bool:
        granted = sum(1 for voter in self._voters if self._votes.get(voter, False))
        return granted >= self._quorum()

    def _quorum_recently_active(self) -> bool:
        active = sum(
            1
            for peer in self._voters
            if peer == self._id or (peer in self._progress and self._progress[peer].recent_active)
        )
        return active >= self._quorum()

    def _committed_in_current_term(self) -> bool:
        return self._log.term_at(self._log.committed) == self._term

    # ================================================================ reads (thesis §6.4)

    def _new_read_round(self) -> None:
        self._read_round += 1
        self._round_sent = False
        self._round_ticks.append((self._read_round, self._tick_count))

    def _start_read(self, request_id: object) -> None:
        committed = self._log.committed
        if self._config.lease_reads and self._lease_valid():
            self._read_states.append(ReadState(request_id, committed))
            return
        if self._voters == (self._id,):
            self._read_states.append(ReadState(request_id, committed))
            return
        if self._round_sent or self._read_round == 0:
            self._new_read_round()
            for peer in sorted(self._progress):
                self._send_heartbeat(peer)
        self._pending_reads.append(_PendingRead(request_id, committed, self._read_round))
        self._release_reads()

    def _acknowledge_read_round(self, progress: Progress, read_round: int) -> None:
        if read_round > progress.read_round_acked:
            progress.read_round_acked = read_round
            self._release_reads()

    def _confirmed_round(self) -> int:
        rounds = [
            self._read_round if peer == self._id else self._progress[peer].read_round_acked
            for peer in self._voters
            if peer == self._id or peer in self._progress
        ]
        quorum = self._quorum()
        if len(rounds) < quorum:
            return 0
        rounds.sort(reverse=True)
        return rounds[quorum - 1]

    def _release_reads(self) -> None:
        confirmed = self._confirmed_round()
        if confirmed == 0:
            return
        while self._round_ticks and self._round_ticks[0][0] <= confirmed:
            _, start_tick = self._round_ticks.popleft()
            self._lease_start_tick = start_tick
        while self._pending_reads and self._pending_reads[0].read_round <= confirmed:
            read = self._pending_reads.popleft()
            self._read_states.append(ReadState(read.request_id, read.index))

    def _lease_valid(self) -> bool:
        if self._bug_lease_until_step_down:
            return not self._lease_voided  # the bug: a leader not yet stepped down holds it
        return (
            not self._lease_voided
            and self._lease_start_tick is not None
            and self._tick_count < self._lease_start_tick + self._lease_ticks
        )

    # ================================================================ configuration

    def _promotable(self) -> bool:
        """May this server start an election? Members may. So may a server whose removal is
        still uncommitted in its log: it may be needed to commit that very change (a leader
        that removed itself and then lost leadership), and its vote count excludes itself.
        A server in repair may not (module docstring, "Repair")."""
        if self._repair_until:
            return False
        if self._id in self._voters:
            return True
        if not self._config_indices or self._config_indices[-1] <= self._log.committed:
            return False
        return self._id in self._voters_at(self._config_indices[-1] - 1)

    @staticmethod
    def _config_change(entry: Entry) -> ConfigChange:
        if not isinstance(entry.data, ConfigChange):
            raise RaftInvariantError(f"CONFIG entry {entry.index} without a ConfigChange")
        return entry.data

    def _voters_at(self, index: int) -> tuple[str, ...]:
        voters = self._base_voters
        for config_index in self._config_indices:
            if config_index > index:
                break
            voters = self._config_change(self._log.entry(config_index)).voters
        return voters

    def _drop_config_after(self, index: int) -> None:
        if self._config_indices and self._config_indices[-1] > index:
            self._config_indices = [i for i in self._config_indices if i <= index]
            self._set_voters(self._voters_at(index))

    def _rebuild_config(self) -> None:
        log = self._log
        self._config_indices = [
            entry.index
            for entry in log.slice(log.first_index, log.last_index)
            if entry.kind is EntryKind.CONFIG
        ]
        self._set_voters(self._voters_at(log.last_index))

    def _set_voters(self, voters: tuple[str, ...]) -> None:
        self._voters = voters
        if self._role is not Role.LEADER:
            return
        for peer in voters:
            if peer != self._id and peer not in self._progress:
                self._progress[peer] = self._new_progress()
        for peer in sorted(self._progress):
            if peer not in voters and peer not in self._catching_up:
                del self._progress[peer]
        if self._transfer_target is not None and self._transfer_target not in voters:
            self._transfer_target = None

    # ================================================================ repair

    @property
    def repair_until(self) -> int:
        """0, or the index this server must hold the leader's log up to before it votes
        again (module docstring, "Repair")."""
        return self._repair_until

    def _step_repair(self, msg: RepairRequest | RepairResponse) -> None:
        if isinstance(msg, RepairRequest):
            self._handle_repair_request(msg)
        elif msg.src == self._leader and msg.term == self._term and self._repair_until:
            self._repair_answered_term = self._term
            self._repair_until = min(self._repair_until, max(msg.last_index, 1))
            self._maybe_end_repair()

    def _handle_repair_request(self, msg: RepairRequest) -> None:
        """Leader: forget the sender's acknowledgements above what it still holds, probe
        it from there, and say how far our log reaches."""
        progress = self._progress.get(msg.src)
        if self._role is not Role.LEADER or progress is None:
            return  # it asks again, of the leader it hears from next
        if progress.match_index > msg.last_index:
            progress.match_index = msg.last_index
            progress.commit_sent = min(progress.commit_sent, msg.last_index)
        progress.become_probe()
        self._send(RepairResponse(self._id, msg.src, self._term, self._log.last_index))
        self._send_append(msg.src, allow_empty=True)

    def _continue_repair(self, msg: Message) -> None:
        """In repair: after a message from the leader of our term, ask it (until it has
        answered in this term), and leave repair once its log is ours up to the mark."""
        if not isinstance(msg, AppendEntries | InstallSnapshot) or msg.src != self._leader:
            return
        if self._repair_answered_term != self._term:
            self._send(RepairRequest(self._id, msg.src, self._term, self._log.last_index))
            return
        self._maybe_end_repair()

    def _maybe_end_repair(self) -> None:
        """Repaired once answered in this term and holding the leader's log to the mark
        (every entry above the intact prefix came from this leader, whose AppendEntries
        consistency check vouches for the whole prefix, §5.3)."""
        if self._repair_answered_term != self._term or self._leader is None:
            return
        if self._log.last_index >= self._repair_until:
            self._repair_until = 0

    # ================================================================ helpers

    def _send(self, msg: Message) -> None:
        self._outbox.append(msg)

    def _hard_state(self) -> HardState:
        return HardState(self._term, self._voted_for, self._log.committed)

    def _apply_low(self) -> int:
        return max(self._applied, self._log.snapshot_index) + 1

    def _apply_high(self) -> int:
        if self._bug_apply_before_commit:
            return self._log.last_index
        return self._log.committed

    def check_invariants(self) -> None:
        """Raise RaftInvariantError if the node's state is internally inconsistent."""
        log = self._log
        log.check_invariants()
        if self._term < log.last_term:
            raise RaftInvariantError(f"term {self._term} below last log term {log.last_term}")
        if self._applied > log.committed and not self._bug_apply_before_commit:
            raise RaftInvariantError(f"applied {self._applied} beyond commit {log.committed}")
        if list(self._voters) != sorted(set(self._voters)):
            raise RaftInvariantError(f"voters not sorted and unique: {self._voters}")
        if self._role in (Role.LEADER, Role.CANDIDATE) and self._voted_for != self._id:
            raise RaftInvariantError(f"{self._role.name} {self._id} did not vote for itself")
        if self._role is Role.LEADER:
            if self._leader != self._id:
                raise RaftInvariantError("leader does not know it leads")
            for peer, progress in self._progress.items():
                if peer not in self._voters and peer not in self._catching_up:
                    raise RaftInvariantError(f"progress kept for non-voter {peer}")
                if not progress.match_index < progress.next_index <= log.last_index + 1:
                    raise RaftInvariantError(f"progress of {peer} inconsistent: {progress}")
            for peer in self._catching_up:
                if peer in self._voters or peer not in self._progress:
                    raise RaftInvariantError(f"{peer} is caught up as a voter or without progress")
        elif self._progress or self._catching_up:
            raise RaftInvariantError("non-leader keeps replication progress")
