"""Sans-I/O Raft core (Tick/Step -> Ready -> Advance): pure, no simpy, no clock, no randomness.

See ``harmonysim.raft.types`` for the server's contract with a ``Ready`` and
``harmonysim.raft.node`` for the rules of the protocol implemented.
"""

from harmonysim.raft.describe import describe_entry, describe_message
from harmonysim.raft.log import LogError, RaftInvariantError, RaftLog
from harmonysim.raft.node import RaftNode, RandomSource
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

__all__ = [
    "AppendEntries",
    "AppendEntriesResponse",
    "Bug",
    "ConfigChange",
    "ConfigOp",
    "Entry",
    "EntryKind",
    "HardState",
    "InstallSnapshot",
    "InstallSnapshotResponse",
    "LogError",
    "Message",
    "Progress",
    "ProgressState",
    "RaftConfig",
    "RaftInvariantError",
    "RaftLog",
    "RaftNode",
    "RaftStatus",
    "RandomSource",
    "ReadState",
    "Ready",
    "RepairRequest",
    "RepairResponse",
    "RequestVote",
    "RequestVoteResponse",
    "Role",
    "Snapshot",
    "SoftState",
    "TimeoutNow",
    "describe_entry",
    "describe_message",
]
