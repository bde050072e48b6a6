"""What clients ask of the database, and what it answers: the client protocol.

Rules:
- An ``Operation`` is one client operation, Jepsen style: ``f`` (get, put,
  delete, cas, scan), ``key`` and ``value`` (for cas: ``(expected, new)``; for
  scan: ``key`` is the low bound and ``value`` the high bound, inclusive; for
  load, the load phase's batch: ``value`` the ``(key, value)`` pairs, ``key`` the
  first key).
- A ``Command`` is what Raft replicates: the operation plus the client id and
  sequence number that make a retried command apply exactly once (client
  sessions, Raft §8 / thesis §6.3).
- A reply either carries a result, or a redirect (``leader_hint``), or says the
  server lost track of the request (``retry``): the client may retry with the
  same sequence number.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["ClientReply", "ClientRequest", "Command", "Op", "Operation", "ReplyStatus"]


class Op(StrEnum):
    GET = "get"
    PUT = "put"
    DELETE = "delete"
    CAS = "cas"
    SCAN = "scan"
    LOAD = "load"  # the load phase's batched write (never in a client history)

    @property
    def is_read(self) -> bool:
        return self in (Op.GET, Op.SCAN)


@dataclass(frozen=True, slots=True)
class Operation:
    f: Op
    key: Any
    value: Any = None


@dataclass(frozen=True, slots=True)
class Command:
    """A replicated state-machine command (the data of a Raft entry)."""

    client: str
    seq: int
    operation: Operation


class ReplyStatus(StrEnum):
    OK = "ok"  # the operation took effect (or was read) with this result
    FAIL = "fail"  # the operation definitely did not take effect (a cas that did not match)
    REDIRECT = "redirect"  # not the leader: try ``leader_hint``
    RETRY = "retry"  # the server lost the request (leadership changed): retry it


@dataclass(frozen=True, slots=True)
class ClientRequest:
    client: str
    seq: int
    operation: Operation


@dataclass(frozen=True, slots=True)
class ClientReply:
    client: str
    seq: int
    status: ReplyStatus
    result: Any = None
    leader_hint: str | None = None
