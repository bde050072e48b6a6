"""The closed vocabulary of simulated events: kinds, kind groups, payloads, node order.

Rules:
- ``EventKind`` is the one place event kinds are spelled. Writers emit these
  constants and readers compare with them; no other module spells a kind as a
  string literal (``tests/test_vocabulary.py`` greps for it).
- A kind group is defined here once and named for what its readers use it for
  (``FAULT_KINDS`` are the faults that change the world, counted by the metrics;
  ``FAULT_RECORD_KINDS`` adds the records that only speak of faults, listed by the
  dashboard).
- The payload of a state-changing kind is written down as a ``TypedDict`` (the
  fields after ``t``, ``seq``, ``kind`` and ``node``); they cost nothing at run time
  and tell the fold's readers what a record holds.
- Node ids sort naturally (``n2`` before ``n10``) with ``natural_key``, the one such
  helper; ``servers_first_key`` puts servers before clients.
- This module imports the standard library only, so any layer may use it.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, NotRequired, TypedDict

__all__ = [
    "BTREE_KINDS",
    "CLIENT_END_KINDS",
    "FAULT_KINDS",
    "FAULT_RECORD_KINDS",
    "FAULT_TIMELINE_KINDS",
    "HEALTH_KINDS",
    "SERVER_KINDS",
    "BtreeRoot",
    "EventKind",
    "EventRecord",
    "Membership",
    "NetClog",
    "NetPartition",
    "RaftApply",
    "RaftCommit",
    "RaftPersist",
    "RaftRecover",
    "RaftRestore",
    "RaftRole",
    "RaftSnapshot",
    "RaftTerm",
    "RunStart",
    "natural_key",
    "servers_first_key",
]

EventRecord = dict[str, Any]
"""One line of ``events.jsonl``: ``t`` (virtual ms), ``seq``, ``kind``, ``node``, fields."""


class EventKind(StrEnum):
    """Every kind of simulated event, grouped by the layer that emits it."""

    # run lifecycle
    RUN_START = "run.start"
    RUN_END = "run.end"
    # network (sim/network.py)
    MSG_SEND = "msg.send"
    MSG_DELIVER = "msg.deliver"
    MSG_DROP = "msg.drop"
    MSG_DUPLICATE = "msg.duplicate"
    MSG_HOLD = "msg.hold"
    # timers and nodes (sim/node.py)
    TIMER = "timer"
    NODE_CRASH = "node.crash"
    NODE_RESTART = "node.restart"
    NODE_PAUSE = "node.pause"
    NODE_RESUME = "node.resume"
    NODE_CLOCK = "node.clock"  # a node's clock changed rate or its wall clock stepped
    # network faults (sim/faults.py)
    NET_PARTITION = "net.partition"
    NET_HEAL = "net.heal"
    NET_CLOG = "net.clog"
    NET_UNCLOG = "net.unclog"
    NEMESIS = "nemesis"
    # a scheduled or nemesis fault that found nothing to do (sim/faults.py), with why
    FAULT_NOOP = "fault.noop"
    # membership changes requested by faults (cluster/membership.py): one event per step
    MEMBERSHIP = "membership"
    # a leadership transfer (thesis §3.10) asked of the leader by a fault (sim/faults.py)
    LEADER_TRANSFER = "leader.transfer"
    # disks (sim/disk.py)
    DISK_FSYNC = "disk.fsync"
    DISK_SYNCED = "disk.synced"
    DISK_LOST = "disk.lost"
    # a storage fault (sim/disk.py): corrupt, torn, misdirect, eio, slow, with its target
    DISK_FAULT = "disk.fault"
    # a server read back records that failed their checksum or could not be read
    # (cluster/server.py), with what it did about them (repair, truncate, rewrite, restart,
    # halt)
    DISK_DAMAGE = "disk.damage"
    # a server whose disk lost entries holds the leader's log again (raft/node.py, Repair)
    RAFT_REPAIRED = "raft.repaired"
    # a server's state machine raised while applying or restoring: the server stops for
    # good, as a real one panics (cluster/server.py); btree_invariants reports it
    SERVER_PANIC = "server.panic"
    # the Raft core, as its server sees it (cluster/server.py)
    RAFT_ROLE = "raft.role"
    RAFT_TERM = "raft.term"
    RAFT_COMMIT = "raft.commit"
    RAFT_APPLY = "raft.apply"
    RAFT_PERSIST = "raft.persist"
    RAFT_RECOVER = "raft.recover"
    RAFT_SNAPSHOT = "raft.snapshot"
    RAFT_RESTORE = "raft.restore"
    RAFT_CONFIG = "raft.config"
    # the B+ tree state machine (cluster/state_machine.py)
    BTREE_SPLIT = "btree.split"
    BTREE_MERGE = "btree.merge"
    BTREE_BORROW = "btree.borrow"
    BTREE_ROOT = "btree.root"
    # clients (cluster/client.py); the history is these, Jepsen style
    CLIENT_INVOKE = "client.invoke"
    CLIENT_OK = "client.ok"
    CLIENT_FAIL = "client.fail"
    CLIENT_INFO = "client.info"
    CLIENT_SEND = "client.send"
    CLIENT_REDIRECT = "client.redirect"


# -- kind groups --------------------------------------------------------------------------

HEALTH_KINDS: frozenset[str] = frozenset(
    {EventKind.NODE_CRASH, EventKind.NODE_RESTART, EventKind.NODE_PAUSE, EventKind.NODE_RESUME}
)
"""What the faults layer does to a node's host: crash, restart, pause, resume."""

FAULT_KINDS: frozenset[str] = HEALTH_KINDS | {
    EventKind.NET_PARTITION,
    EventKind.NET_HEAL,
    EventKind.NET_CLOG,
    EventKind.NET_UNCLOG,
    EventKind.DISK_LOST,
    EventKind.NODE_CLOCK,
    EventKind.LEADER_TRANSFER,
}
"""Faults that change the world, each counted once (``harmonysim_faults_total{kind}``)."""

FAULT_RECORD_KINDS: frozenset[str] = FAULT_KINDS | {EventKind.NEMESIS, EventKind.FAULT_NOOP}
"""Every record about faults: the changes, plus the nemesis' announcement of what it
does next and the faults that found nothing to do (the dashboard's fault list). A
nemesis record is followed by the change it announces, so counting both would count
one fault twice."""

FAULT_TIMELINE_KINDS: frozenset[str] = (FAULT_RECORD_KINDS - {EventKind.DISK_LOST}) | {
    EventKind.MEMBERSHIP
}
"""What the faults did, as the shrinker turns a nemesis into explicit faults: a
``disk.lost`` is what a crash did to unsynced writes, not a fault of its own; the
``membership`` steps are what an add or remove fault did."""

CLIENT_END_KINDS: frozenset[str] = frozenset(
    {EventKind.CLIENT_OK, EventKind.CLIENT_FAIL, EventKind.CLIENT_INFO}
)
"""How a client operation completes (Jepsen: ok, fail, info); the kind minus ``client.``."""

BTREE_KINDS: frozenset[str] = frozenset(
    {EventKind.BTREE_SPLIT, EventKind.BTREE_MERGE, EventKind.BTREE_BORROW, EventKind.BTREE_ROOT}
)
"""Structural changes of a server's B+ tree."""

SERVER_KINDS: frozenset[str] = frozenset(
    {
        EventKind.RAFT_ROLE,
        EventKind.RAFT_TERM,
        EventKind.RAFT_COMMIT,
        EventKind.RAFT_RECOVER,
        EventKind.NODE_CRASH,
        EventKind.NODE_RESTART,
        EventKind.NODE_PAUSE,
        EventKind.NODE_RESUME,
        EventKind.BTREE_SPLIT,
        EventKind.BTREE_MERGE,
        EventKind.BTREE_ROOT,
    }
)
"""Records whose ``node`` is a server (never a client): they name the run's servers."""


# -- payloads of the state-changing kinds ---------------------------------------------------


class RunStart(TypedDict):
    seed: int
    members: NotRequired[list[str]]  # the initial configuration when it is not every server


class RaftRole(TypedDict):
    role: str  # a harmonysim.raft.Role value
    term: int
    leader: str | None


class RaftTerm(TypedDict):
    term: int
    voted_for: str | None


class RaftCommit(TypedDict):
    index: int
    term: int


class RaftApply(TypedDict):
    index: int
    term: int
    entry_kind: str  # normal, noop or config
    entry: str  # client:seq for a client's entry
    f: NotRequired[str]
    key: NotRequired[Any]
    status: NotRequired[str]


class RaftPersist(TypedDict, total=False):
    term: int
    voted_for: str | None
    commit: int
    snapshot: list[int]  # [index, term] of an installed snapshot
    entries: list[list[Any]]  # [index, term, entry id] of the new entries


class RaftRecover(TypedDict):
    term: int
    voted_for: str | None
    commit: int
    snapshot_index: int
    last_index: int
    last_term: int
    repair_until: NotRequired[int]


class RaftRestore(TypedDict):
    index: int
    term: int


class RaftSnapshot(TypedDict):
    index: int
    term: int


class BtreeRoot(TypedDict):
    old_root: int
    new_root: int
    depth: int
    reason: str  # a harmonysim.btree.StructureReason value
    node_count: NotRequired[int]  # the tree's node count after the change (newer logs)
    items: NotRequired[int]


class NetPartition(TypedDict):
    shape: NotRequired[str]
    target: NotRequired[str | None]
    cut: list[list[str]]  # the directed links that drop messages


class NetClog(TypedDict):
    links: list[list[str]]  # the directed links clogged (or unclogged)


class Membership(TypedDict):
    op: str
    target: str
    result: str  # requested, waiting, proposed, accepted, committed, lost, ...
    voters: NotRequired[list[str]]  # the configuration, once committed


# -- node order -----------------------------------------------------------------------------

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort key that puts n2 before n10 (and c1 before n1, as plain strings do)."""
    return tuple(int(part) if part.isdigit() else part for part in _DIGITS.split(name))


_CLIENT_ID = re.compile(r"c\d*")


def servers_first_key(name: str) -> tuple[bool, tuple[Any, ...]]:
    """Servers before clients (``c`` and a number), each in natural order: n2 < n10 < c1."""
    return (_CLIENT_ID.fullmatch(name) is not None, natural_key(name))
