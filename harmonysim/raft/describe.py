"""One-line, deterministic text for Raft entries and messages (event logs, transcripts).

Rules of this file:

- Output depends only on field values, never on object identity or hashing; entry payloads
  are shown with ``repr``, so commands should be values with stable reprs (str, int, tuple).
- Positions are written ``index@term`` throughout (e.g. ``prev=4@2``).
"""

from __future__ import annotations

from harmonysim.raft.types import (
    AppendEntries,
    AppendEntriesResponse,
    ConfigChange,
    Entry,
    EntryKind,
    InstallSnapshot,
    InstallSnapshotResponse,
    Message,
    RepairRequest,
    RepairResponse,
    RequestVote,
    RequestVoteResponse,
    TimeoutNow,
)


def describe_entry(entry: Entry) -> str:
    """``3@2 noop``, ``4@2 'x'``, ``5@2 config add n4 -> n1,n2,n3,n4``."""
    position = f"{entry.index}@{entry.term}"
    if entry.kind is EntryKind.NOOP:
        return f"{position} noop"
    if entry.kind is EntryKind.CONFIG and isinstance(entry.data, ConfigChange):
        change = entry.data
        return f"{position} config {change.op.value} {change.node} -> {','.join(change.voters)}"
    return f"{position} {entry.data!r}"


def describe_message(msg: Message) -> str:
    """``n1->n2 App term=1 prev=0@0 commit=0 round=0 entries=[1@1 noop]`` and the like."""
    head = f"{msg.src}->{msg.dst}"
    if isinstance(msg, RequestVote):
        kind = "PreVote" if msg.pre_vote else "Vote"
        transfer = " transfer" if msg.leadership_transfer else ""
        return f"{head} {kind} term={msg.term} last={msg.last_log_index}@{msg.last_log_term}" + (
            transfer
        )
    if isinstance(msg, RequestVoteResponse):
        kind = "PreVoteResp" if msg.pre_vote else "VoteResp"
        verdict = "granted" if msg.granted else "rejected"
        return f"{head} {kind} term={msg.term} {verdict}"
    if isinstance(msg, AppendEntries):
        entries = ", ".join(describe_entry(entry) for entry in msg.entries)
        return (
            f"{head} App term={msg.term} prev={msg.prev_log_index}@{msg.prev_log_term} "
            f"commit={msg.leader_commit} round={msg.read_round} entries=[{entries}]"
        )
    if isinstance(msg, AppendEntriesResponse):
        if msg.success:
            return (
                f"{head} AppResp term={msg.term} ok match={msg.match_index} round={msg.read_round}"
            )
        return (
            f"{head} AppResp term={msg.term} reject prev={msg.rejected_index} "
            f"hint={msg.conflict_index}@{msg.conflict_term} round={msg.read_round}"
        )
    if isinstance(msg, InstallSnapshot):
        snapshot = msg.snapshot
        return (
            f"{head} Snap term={msg.term} snapshot={snapshot.index}@{snapshot.term} "
            f"voters={','.join(snapshot.voters)}"
        )
    if isinstance(msg, InstallSnapshotResponse):
        return f"{head} SnapResp term={msg.term} match={msg.match_index}"
    if isinstance(msg, TimeoutNow):
        return f"{head} TimeoutNow term={msg.term}"
    if isinstance(msg, RepairRequest):
        return f"{head} Repair term={msg.term} last={msg.last_index}"
    if isinstance(msg, RepairResponse):
        return f"{head} RepairResp term={msg.term} last={msg.last_index}"
    raise TypeError(f"not a raft message: {msg!r}")
