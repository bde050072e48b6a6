"""Membership changes asked for by scenario faults: one server at a time (thesis §4.1).

The fault injector hands each ``add`` / ``remove`` fault to ``MembershipDriver.request``
(the world's ``membership`` hook). The driver plays the operator: it asks whoever leads
to change the configuration, through that server's ``propose_membership``, and keeps
asking until the change is committed.

Rules:
- Requests are served one at a time, in the order their faults fire: the next one
  starts when the previous one has an outcome (the core accepts one change at a time
  anyway; serving them in order keeps a later request from racing an earlier one).
  With ``cluster.membership.wait: accepted`` the operator does not wait for a change
  to commit: a request ends ``accepted`` as soon as a leader took the proposal, and the
  next one is asked at once, as a script driving a fire-and-forget admin command does
  (Jepsen's membership nemesis). The core's one-change rule alone then keeps changes
  apart: a proposal the leader refuses ends ``refused`` with the reason, as an error
  the script logs before it goes on (with no leader to ask, or while a server to be
  added is caught up, it waits as below).
- Every ``retry_ms`` (the heartbeat interval) while a request is open, the driver finds
  the leader with the world's leader oracle (up, believes it leads, highest term). With
  none, or while that node is paused, it waits. A ``leader`` target means the leader
  when the change is proposed: it is resolved at each attempt until a proposal is
  accepted, then fixed.
- If the leader's latest configuration already has the requested effect, the driver
  waits for that configuration to commit; if it did not propose anything itself the
  request ends ``unchanged``. Otherwise it proposes; the core refuses while another
  change is uncommitted or before the leader has committed an entry of its own term
  (thesis §4.1, the fix of §4.1.3's single-server bug), and the driver retries. A
  proposal lost with its leader (an uncommitted entry truncated by the next leader) is
  simply proposed again to the next leader.
- A change is committed when a server applies its CONFIG entry (servers call
  ``config_applied``): the request ends ``committed``. The first application of each
  later CONFIG entry also moves ``members``, the cluster's committed configuration,
  which the run summary and the checkers use.
- Each step is one ``membership`` event (node null): ``requested``, ``waiting`` (with a
  reason, logged when the reason changes), ``proposed`` (leader, index, term),
  ``committed`` (index, term, voters), ``accepted`` (leader, index, term: the
  operator moves on without waiting), ``unchanged``, ``refused`` (removing the last
  member; or, not waiting for commits, a proposal the leader refused), ``unfinished``
  (still open at the end of the run: ``in_flight`` says whether a leader had taken
  its proposal, ``since`` when it was asked for). A request's ``on_end``, if given, is
  told the result that ended the request (``accepted`` for an operator that does not
  wait).
- An ``accepted`` change is still in flight in the cluster: the driver follows it to
  its fate, so the record of the run says when the configuration really changed. It
  is ``committed`` (index, term, voters) when a server applies its CONFIG entry, or
  when a running server's commit index reaches its index with its entry there (or
  compacted into a snapshot whose configuration has the change); ``lost`` (index,
  term) when a running server committed another entry at its index (truncated with
  its leader, §5.3). The commit indexes are looked at every ``retry_ms`` while such
  a change is in flight; one still in flight at the end is ``unfinished``.
- ``absent`` answers which voters are out of the configuration or about to be (missing
  from the committed configuration or from a running server's latest one, or named by
  a removal still queued or open): the membership nemesis bounds its removals by it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import simpy

from harmonysim.raft import ConfigChange, Entry
from harmonysim.sim.events import EventKind

if TYPE_CHECKING:
    from harmonysim.cluster.server import KVServer
    from harmonysim.sim.world import World

__all__ = ["MembershipDriver"]

LEADER = "leader"


@dataclass(slots=True)
class _Request:
    op: str
    ref: str  # a node id, or "leader"
    target: str | None = None  # fixed once a proposal is accepted
    proposed: bool = False
    reason: str | None = None  # the last waiting reason logged
    on_end: Callable[[str], None] | None = None  # told the outcome when the request ends
    requested_ms: float = 0.0


@dataclass(slots=True)
class _InFlight:
    """An accepted change whose fate is not known yet."""

    request: _Request
    index: int
    term: int


class MembershipDriver:
    """Serves membership requests against the cluster's leader (see the module rules)."""

    def __init__(
        self,
        world: World,
        members: tuple[str, ...],
        leader: Any,
        server: Any,
        retry_ms: float,
        *,
        wait_for_commit: bool = True,
    ) -> None:
        self.world = world
        self._wait_for_commit = wait_for_commit
        self._leader = leader  # () -> node id or None
        self._server = server  # node id -> KVServer or None
        self.retry_us = max(1, round(retry_ms * 1000.0))
        self.members: tuple[str, ...] = tuple(sorted(members))
        self.members_index = 0  # the index of the CONFIG entry that set ``members``
        self.committed = 0  # changes committed
        self._queue: deque[_Request] = deque()
        self._current: _Request | None = None
        self._in_flight: list[_InFlight] = []  # accepted changes, in the order accepted
        self._watching = False  # a look at the commit indexes is scheduled

    # -- input -------------------------------------------------------------------------

    def request(self, op: str, ref: str, on_end: Callable[[str], None] | None = None) -> None:
        """A fault asks to add or remove ``ref`` (a node id, or "leader"); ``on_end`` is
        told the outcome ("committed", "accepted", "unchanged", "refused" or
        "unfinished") when the request ends."""
        request = _Request(op, ref, on_end=on_end, requested_ms=self.world.now_ms)
        self._emit(request, "requested", {"queued": len(self._queue) + (self._current is not None)})
        self._queue.append(request)
        if self._current is None:
            self._next(defer=False)

    def config_applied(self, node: str, entry: Entry) -> None:
        """A server applied a CONFIG entry: it is committed."""
        change: ConfigChange = entry.data  # type: ignore[assignment]
        if entry.index > self.members_index:
            self.members_index = entry.index
            self.members = change.voters
        for flight in self._in_flight:
            if flight.index == entry.index and flight.term == entry.term:
                self._settle(flight, "committed", entry.index, entry.term, change.voters)
                break
        request = self._current
        if (
            request is not None
            and request.proposed
            and request.op == change.op.value
            and request.target == change.node
        ):
            self.committed += 1
            self._finish(
                "committed",
                {"index": entry.index, "term": entry.term, "voters": list(change.voters)},
            )

    def finish(self) -> None:
        """The run ends: whatever is still open is unfinished."""
        requests = [*(() if self._current is None else (self._current,)), *self._queue]
        self._current = None
        self._queue.clear()
        for flight in self._in_flight:
            fields = {"index": flight.index, "term": flight.term, "in_flight": True}
            self._emit(flight.request, "unfinished", fields)
        self._in_flight.clear()
        for request in requests:
            fields = {"in_flight": request.proposed, "since": request.requested_ms}
            self._emit(request, "unfinished", fields)
            if request.on_end is not None:
                request.on_end("unfinished")

    def absent(self, voters: tuple[str, ...]) -> tuple[str, ...]:
        """Those of ``voters`` out of the configuration or about to be: not in the
        committed configuration, or not in the latest configuration of a running server
        (an uncommitted removal, or an add not yet committed), or named by a removal
        request still queued or open. In ``voters``' order."""
        out = {node for node in voters if node not in self.members}
        for node in self.world.nodes:
            server: KVServer | None = self._server(node)
            if server is not None:
                latest = server.raft.voters
                out.update(voter for voter in voters if voter not in latest)
        for request in (*(() if self._current is None else (self._current,)), *self._queue):
            if request.op == "remove":
                out.add(request.target or request.ref)
        return tuple(node for node in voters if node in out)

    # -- serving ---------------------------------------------------------------------------

    def _next(self, *, defer: bool) -> None:
        self._current = self._queue.popleft() if self._queue else None
        if self._current is None:
            return
        if defer:  # not from inside the server that just applied the last change
            self._later(self._current, delay_us=0)
        else:
            self._attempt(self._current)

    def _finish(self, result: str, fields: dict[str, Any]) -> None:
        request = self._current
        assert request is not None
        self._emit(request, result, fields)
        self._next(defer=True)
        if request.on_end is not None:
            request.on_end(result)

    def _later(self, request: _Request, delay_us: int | None = None) -> None:
        timeout = simpy.Timeout(self.world.env, self.retry_us if delay_us is None else delay_us)
        timeout.callbacks.append(lambda _: self._attempt(request))

    def _attempt(self, request: _Request) -> None:
        if request is not self._current:
            return  # finished in the meantime
        leader = self._leader()
        server: KVServer | None = self._server(leader) if leader is not None else None
        if leader is None or server is None:
            self._wait(request, "no leader")
            return
        if self.world.nodes[leader].paused:
            self._wait(request, "the leader is paused")  # a frozen process answers nobody
            return
        raft = server.raft
        target = request.target or (leader if request.ref == LEADER else request.ref)
        voters = raft.voters
        done = target in voters if request.op == "add" else target not in voters
        if done and not self._wait_for_commit:
            request.target = target
            self._finish("unchanged", {"voters": list(voters)})
            return
        if done and raft.config_index > raft.commit_index:
            self._wait(request, "the change is not committed yet")  # one retry, scheduled there
            return
        if done and request.proposed:
            # Committed (the leader's commit index passed it) but not applied anywhere
            # yet: end the request now; config_applied would have done it on apply.
            config_index = raft.config_index
            if config_index > self.members_index:
                self.members_index, self.members = config_index, voters
            self.committed += 1
            self._finish(
                "committed",
                {
                    "index": config_index,
                    "term": raft.term_at(config_index),
                    "voters": list(voters),
                },
            )
            return
        if done:
            request.target = target
            self._finish("unchanged", {"voters": list(voters)})
            return
        if request.op == "remove" and voters == (target,):
            request.target = target
            self._finish("refused", {"reason": "the last member", "voters": list(voters)})
            return
        index = server.propose_membership(request.op, target)
        if index is None:
            catching_up = request.op == "add" and target in raft.catching_up
            if catching_up:
                reason = "catching up the new server first (thesis §4.2.1)"
            elif raft.config_index > raft.commit_index:
                reason = "another change is not committed yet"
            elif raft.term_at(raft.commit_index) != raft.term:
                reason = "the leader has not committed an entry of its term yet"
            else:
                reason = "the leader refused"
            if not self._wait_for_commit and not catching_up:
                request.target = target
                self._finish("refused", {"reason": reason, "leader": leader})
                return
            self._wait(request, reason)
            return
        request.target = target
        request.proposed = True
        request.reason = None
        proposal = {"leader": leader, "index": index, "term": raft.term}
        if not self._wait_for_commit:
            self._in_flight.append(_InFlight(request, index, raft.term))
            self._watch()
            self._finish("accepted", proposal)
            return
        self._emit(request, "proposed", proposal)
        self._later(request)

    # -- accepted changes in flight ------------------------------------------------------

    def _settle(
        self,
        flight: _InFlight,
        result: str,
        index: int,
        term: int,
        voters: tuple[str, ...] | None,
    ) -> None:
        self._in_flight.remove(flight)
        fields: dict[str, Any] = {"index": index, "term": term}
        if voters is not None:
            fields["voters"] = list(voters)
        self._emit(flight.request, result, fields)

    def _watch(self) -> None:
        if self._watching:
            return
        self._watching = True
        timeout = simpy.Timeout(self.world.env, self.retry_us)
        timeout.callbacks.append(lambda _: self._look())

    def _look(self) -> None:
        """Settles the changes in flight that a running server's commit index passed."""
        self._watching = False
        for flight in list(self._in_flight):
            for node in self.world.nodes:
                server: KVServer | None = self._server(node)
                if server is None or server.raft.commit_index < flight.index:
                    continue
                raft = server.raft
                term = raft.term_at(flight.index)
                voters = raft.configurations_since(flight.index)[0]
                if term is None:  # compacted: the snapshot's configuration tells
                    request = flight.request
                    made = (request.target in voters) == (request.op == "add")
                    term = flight.term if made else -1
                if term == flight.term:
                    self._settle(flight, "committed", flight.index, term, voters)
                else:
                    self._settle(flight, "lost", flight.index, flight.term, None)
                break
        if self._in_flight:
            self._watch()

    def _wait(self, request: _Request, reason: str) -> None:
        if reason != request.reason:
            request.reason = reason
            self._emit(request, "waiting", {"reason": reason})
        self._later(request)

    def _emit(self, request: _Request, result: str, fields: dict[str, Any]) -> None:
        record: dict[str, Any] = {"op": request.op, "target": request.target or request.ref}
        if request.ref == LEADER and request.target is not None:
            record["ref"] = LEADER
        record["result"] = result
        record.update(fields)
        self.world.log.emit(EventKind.MEMBERSHIP, None, record)
