"""Coverage of a run for guided exploration: which protocol situations it reached.

After Mallory (CCS 2023), which rewards schedules that reach new states of the
Lamport timeline: a run's coverage is a set of short, named features read from its
event log, so two runs that did the same things under the same faults share them.

Rules:
- Features are strings, deterministic, and independent of node names (a run on n3
  and the same run on n5 cover the same ground): ``role:A>B>C`` (three successive
  Raft roles of one node), ``under:KINDS:ROLE`` (a node took a role while these fault
  kinds were active), ``after:KIND:EVENT`` (the first protocol event within 500 ms
  after a fault), ``term:N`` / ``leaders:N`` / ``stall:N`` (bucketed counts: highest
  term, leader changes, the longest time without a commit, each in powers of two).
- Message edges, Mallory's Lamport timeline abstracted: ``msg:TYPE:FROM>TO:REL`` for
  every delivered message, where FROM is its sender's state when it was sent and TO
  the receiver's when it arrived. A server's state is its role, ``/stale`` when its
  term is below the highest term any server holds, ``/removed`` when the last
  configuration it applied leaves it out; a client's is ``client``. REL compares the
  two servers' terms (``<``, ``=``, ``>``; ``-`` with a client). So a client read
  reaching a leader that was deposed without knowing it
  (``msg:ClientRequest:client>leader/stale:-``) is new ground, as is a vote request
  from a removed server.
- Concurrency: ``at-once:L:S`` the number of servers that think they lead (L) and how
  many of them are stale (S), each time it changes; ``commit-under:KINDS`` a commit
  while these fault kinds were active.
- Reading is one pass over ``events.jsonl``; nothing here changes a run.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path

import orjson

from harmonysim.sim.events import EventKind

__all__ = ["coverage_of", "coverage_of_file"]

_STARTS = {
    EventKind.NODE_CRASH.value: ("crash", True),
    EventKind.NODE_RESTART.value: ("crash", False),
    EventKind.NODE_PAUSE.value: ("pause", True),
    EventKind.NODE_RESUME.value: ("pause", False),
    EventKind.NET_PARTITION.value: ("partition", True),
    EventKind.NET_HEAL.value: ("partition", False),
    EventKind.NET_CLOG.value: ("clog", True),
    EventKind.NET_UNCLOG.value: ("clog", False),
}
_NOTED = frozenset(
    {
        EventKind.RAFT_ROLE.value,
        EventKind.RAFT_COMMIT.value,
        EventKind.RAFT_RECOVER.value,
        EventKind.RAFT_SNAPSHOT.value,
        EventKind.RAFT_RESTORE.value,
        EventKind.RAFT_CONFIG.value,
    }
)
_AFTER_MS = 500.0
_SEND = EventKind.MSG_SEND.value
_DELIVER = EventKind.MSG_DELIVER.value
_CRASH = EventKind.NODE_CRASH.value
_TERM = EventKind.RAFT_TERM.value


def _bucket(value: float) -> int:
    """0 for 0, else the power of two at or above ``value`` (as an exponent)."""
    bucket = 0
    while value > (1 << bucket) - 1 and bucket < 40:
        bucket += 1
    return bucket


def _holding(active: dict[str, int], clocks: Collection[str]) -> str:
    """The fault kinds in effect, sorted and joined (``none`` for none)."""
    under = sorted(name for name, count in active.items() if count > 0)
    if clocks:
        under.append("clock")
    return "+".join(under) or "none"


class _Servers:
    """Each server's role, term and membership as the events tell them, for the
    message edges and concurrency features (see the module rules)."""

    __slots__ = ("highest", "removed", "role", "term")

    def __init__(self) -> None:
        self.role: dict[str, str] = {}
        self.term: dict[str, int] = {}
        self.removed: set[str] = set()
        self.highest = 0

    def saw_term(self, node: str, term: int) -> None:
        self.term[node] = term
        self.highest = max(self.highest, term)

    def state(self, node: str) -> str:
        """``client``, or the server's role with ``/stale`` and ``/removed`` marks."""
        if node.startswith("c"):  # clients are c1, c2, ... (cluster/client.py)
            return "client"
        state = self.role.get(node, "follower")
        if self.term.get(node, 0) < self.highest:
            state += "/stale"
        if node in self.removed:
            state += "/removed"
        return state

    def relation(self, sender: str, sent_term: int, receiver: str) -> str:
        """How the sender's term when it sent compares with the receiver's now."""
        if sender.startswith("c") or receiver.startswith("c"):
            return "-"
        term = self.term.get(receiver, 0)
        return "<" if sent_term < term else ">" if sent_term > term else "="

    def at_once(self) -> str:
        leaders = [node for node, role in self.role.items() if role == "leader"]
        stale = sum(1 for node in leaders if self.term.get(node, 0) < self.highest)
        return f"at-once:{len(leaders)}:{stale}"


def coverage_of(records: Iterable[dict[str, object]]) -> frozenset[str]:
    """The features of a run's event records (see the module rules)."""
    features: set[str] = set()
    roles: dict[str, list[str]] = {}
    active: dict[str, int] = {}  # fault kind -> how many of it hold now
    clocks: set[str] = set()
    pending: list[tuple[float, str]] = []  # (fault time, kind) awaiting the next event
    servers = _Servers()
    sent: dict[object, tuple[str, str, str, int]] = {}  # id -> (type, sender, state, term)
    leaders = 0
    last_commit_ms = 0.0
    stall_ms = 0.0
    for record in records:
        kind = str(record["kind"])
        node = record.get("node")
        if kind == _SEND:
            sender = str(node)
            sent[record["id"]] = (
                str(record.get("type")),
                sender,
                servers.state(sender),
                servers.term.get(sender, 0),
            )
            continue
        if kind == _DELIVER:
            message = sent.get(record["id"])
            if message is not None:
                kind_of, sender, state, sent_term = message
                receiver = str(node)
                relation = servers.relation(sender, sent_term, receiver)
                features.add(f"msg:{kind_of}:{state}>{servers.state(receiver)}:{relation}")
            continue
        t_ms = float(record["t"])  # type: ignore[arg-type]
        if kind in _STARTS:
            name, starts = _STARTS[kind]
            active[name] = active.get(name, 0) + (1 if starts else -1)
            if starts:
                pending.append((t_ms, name))
            if kind == _CRASH and servers.role.pop(str(node), None) == "leader":
                features.add(servers.at_once())
            continue
        if kind == EventKind.NODE_CLOCK.value:
            if record.get("after"):
                clocks.discard(str(node))
            else:
                clocks.add(str(node))
                pending.append((t_ms, "clock"))
            continue
        if kind == EventKind.LEADER_TRANSFER.value:
            pending.append((t_ms, "transfer"))
            continue
        if kind == _TERM and node is not None:
            servers.saw_term(str(node), int(record.get("term", 0) or 0))  # type: ignore[call-overload]
            continue
        if kind not in _NOTED or node is None:
            continue
        label = kind
        if kind == EventKind.RAFT_ROLE.value:
            role = str(record.get("role"))
            label = f"{kind}:{role}"
            history = roles.setdefault(str(node), ["start"])
            history.append(role)
            features.add("role:" + ">".join(history[-3:]))
            features.add(f"under:{_holding(active, clocks)}:{role}")
            node_term = int(record.get("term", 0) or 0)  # type: ignore[call-overload]
            leaders += role == "leader"
            was = servers.role.get(str(node))
            servers.role[str(node)] = role
            servers.saw_term(str(node), node_term)
            if (role == "leader") != (was == "leader"):
                features.add(servers.at_once())
        elif kind == EventKind.RAFT_COMMIT.value:
            stall_ms = max(stall_ms, t_ms - last_commit_ms)
            last_commit_ms = t_ms
            features.add(f"commit-under:{_holding(active, ())}")
        elif kind == EventKind.RAFT_CONFIG.value:
            if record.get("member") is False:
                servers.removed.add(str(node))
            else:
                servers.removed.discard(str(node))
        if pending:
            for fault_ms, name in pending:
                if t_ms - fault_ms <= _AFTER_MS:
                    features.add(f"after:{name}:{label}")
            pending = []
    features.add(f"term:{_bucket(servers.highest)}")
    features.add(f"leaders:{_bucket(leaders)}")
    features.add(f"stall:{_bucket(stall_ms / 10.0)}")
    return frozenset(features)


def coverage_of_file(path: Path) -> frozenset[str]:
    """The features of the run whose ``events.jsonl`` is at ``path``."""
    with path.open("rb") as lines:
        return coverage_of(orjson.loads(line) for line in lines if line.strip())
