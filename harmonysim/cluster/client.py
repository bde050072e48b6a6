"""Clients: Jepsen-style processes that run one operation at a time against the cluster.

Rules:
- A client is a network endpoint (``c1``, ``c2``, ...) that never crashes. It
  sends its request to the server it believes leads; a redirect names the
  leader to try next (or, without a hint, the next server in turn).
- Each attempt has its own timer (a fifth of the operation timeout, at least one
  heartbeat's worth): when it fires the client tries the next server, with the
  same sequence number, so a retried write applies at most once (sessions).
- When the operation's whole ``timeout`` passes without an answer it is recorded
  as ``info`` (indeterminate), never as failed, and the client moves on.
- Closed loop (no ``rate``): the next operation starts as soon as one completes.
  Open loop (``rate``): each client draws Poisson arrival times at ``rate /
  clients``; an operation starts at its arrival time, or as soon as the previous
  one completes if that is later (a client runs one operation at a time, as a
  Jepsen process does), so the offered load is ``rate`` while clients keep up.
  Arrivals count from the client's start: after a load phase, not from time 0.
- The load phase (``workload.load``) is client ``c0``, the ``Loader``: it writes the
  records in batches, one ``load`` command per batch, through the leader as any
  write goes (batched proposals through Raft, so every replica builds its tree from
  the log, and compaction, InstallSnapshot and the checks all see the data). It
  never gives up on a batch (a retry has the same sequence number, so a batch
  applies once), records nothing in the history, and starts the clients when its
  last batch is acknowledged.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import simpy

from harmonysim.cluster.commands import ClientReply, ClientRequest, Op, Operation, ReplyStatus
from harmonysim.cluster.history import HistoryRecorder
from harmonysim.cluster.workload import KeySpace, OperationGenerator, load_batch
from harmonysim.obs import TracedOperation
from harmonysim.sim.events import EventKind
from harmonysim.sim.network import Envelope

if TYPE_CHECKING:
    from harmonysim.cluster.telemetry import Telemetry
    from harmonysim.scenario import Workload
    from harmonysim.sim.world import World

__all__ = ["Client", "Loader"]

RETRY_BACKOFF_MS = 5.0


class Client:
    """One client process (see the module docstring)."""

    up = True
    paused = False

    def __init__(
        self,
        world: World,
        number: int,
        servers: list[str],
        workload: Workload,
        history: HistoryRecorder,
        stop_ms: float,
        space: KeySpace | None = None,
        expected_inserts: int = 0,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.world = world
        self.id = f"c{number}"
        self.number = number
        self.servers = servers
        self.history = history
        self.stop_ms = stop_ms
        self.timeout_ms = workload.timeout_ms
        self.attempt_ms = max(self.timeout_ms / 5.0, 10.0)
        self.max_operations = workload.operations
        self.think_mean_ms = (
            workload.clients / workload.rate_per_s * 1000.0 if workload.rate_per_s else 0.0
        )
        self._rng: random.Random = world.rng.stream(f"client/{self.id}")
        self.generator = OperationGenerator(workload, number, self._rng, space, expected_inserts)
        self._target = self._rng.randrange(len(servers))
        self._leader_hint: str | None = None
        self.seq = 0
        self.operation: Operation | None = None
        self._attempt = 0
        self.latencies_ms: list[tuple[str, str, float]] = []
        self._invoked_at_ms = 0.0
        self._next_arrival_ms = 0.0
        # The operation's trace (cluster/telemetry.py), when the run is observed: its root
        # span, and what requests carry.
        self._telemetry = telemetry
        self._instrumentation = telemetry.for_node(self.id) if telemetry is not None else None
        self._trace: TracedOperation | None = None
        self._carried: Any = None
        world.network.attach(self.id, self)

    # -- scheduling ----------------------------------------------------------------

    def _after(self, delay_ms: float, callback: Any, *args: Any) -> None:
        timeout = simpy.Timeout(self.world.env, max(0, round(delay_ms * 1000.0)))
        timeout.callbacks.append(lambda _: callback(*args))

    def start(self) -> None:
        self._next_arrival_ms = self.world.now_ms
        self._think()

    def _think(self) -> None:
        if self.max_operations is not None and self.seq >= self.max_operations:
            return
        now_ms = self.world.now_ms
        if self.think_mean_ms:
            self._next_arrival_ms += self._rng.expovariate(1.0 / self.think_mean_ms)
            delay = max(0.0, self._next_arrival_ms - now_ms)
        else:
            delay = 0.0
        if now_ms + delay >= self.stop_ms:
            return
        self._after(delay, self._invoke)

    # -- one operation ----------------------------------------------------------------

    def _invoke(self) -> None:
        self.seq += 1
        seq = self.seq
        operation = self.generator.next(seq)
        self.operation = operation
        self._invoked_at_ms = self.world.now_ms
        self.history.record(
            self.id,
            self.number,
            "invoke",
            operation.f.value,
            operation.key,
            self._invoke_value(operation),
            seq,
        )
        telemetry = self._telemetry
        if telemetry is not None and self._instrumentation is not None:
            keep = telemetry.keeps_request(self.id, seq)
            self._trace = self._instrumentation.client_operation(
                operation.f.value, operation.key, request=seq, keep=keep
            )
            if keep:
                telemetry.kept_request(self.id, seq, self._trace.span.trace_id)
            # Unsampled traces keep their root span (kept if the operation fails) but
            # propagate nothing: 1% sampling costs about 1% of full tracing.
            self._carried = self._trace.span if self._trace.span.sampled else None
        self._after(self.timeout_ms, self._expire, seq)
        self._send(seq)

    @staticmethod
    def _invoke_value(operation: Operation) -> Any:
        if operation.f is Op.CAS:
            return list(operation.value)
        if operation.f is Op.GET:
            return None
        return operation.value

    def _send(self, seq: int) -> None:
        if seq != self.seq or self.operation is None:
            return
        self._attempt += 1
        attempt = self._attempt
        target = self._leader_hint or self.servers[self._target % len(self.servers)]
        request = ClientRequest(self.id, seq, self.operation)
        self.world.network.send(self.id, target, request, self._carried)
        self._after(self.attempt_ms, self._attempt_timed_out, seq, attempt)

    def _attempt_timed_out(self, seq: int, attempt: int) -> None:
        if seq == self.seq and attempt == self._attempt and self.operation is not None:
            self._rotate()
            self._send(seq)

    def _rotate(self) -> None:
        self._leader_hint = None
        self._target += 1

    def _expire(self, seq: int) -> None:
        if seq == self.seq and self.operation is not None:
            self._complete("info", None)

    def receive(self, envelope: Envelope) -> None:
        reply: ClientReply = envelope.payload
        if reply.seq != self.seq or self.operation is None:
            return  # a late answer to an operation already completed
        if reply.status is ReplyStatus.OK:
            self._complete("ok", reply.result)
        elif reply.status is ReplyStatus.FAIL:
            self._complete("fail", None)
        else:
            src = envelope.src
            if reply.status is ReplyStatus.REDIRECT and reply.leader_hint not in (None, src):
                self._leader_hint = reply.leader_hint
            else:
                self._rotate()
            self.world.log.emit(
                EventKind.CLIENT_REDIRECT,
                self.id,
                {
                    "request": reply.seq,
                    "from": src,
                    "status": reply.status.value,
                    "hint": reply.leader_hint,
                },
            )
            self._attempt += 1  # the pending attempt timer no longer applies
            self._after(RETRY_BACKOFF_MS, self._send, self.seq)

    def hold(self, envelope: Envelope) -> None:  # clients never pause
        self.receive(envelope)

    def _complete(self, kind: str, result: Any) -> None:
        operation = self.operation
        assert operation is not None
        if kind == "ok":
            self.generator.observe(operation, result)
            if operation.f is Op.GET or operation.f is Op.SCAN:
                value = result
            else:
                value = self._invoke_value(operation)
        else:
            value = self._invoke_value(operation)
        self.history.record(
            self.id, self.number, kind, operation.f.value, operation.key, value, self.seq
        )
        self.latencies_ms.append((operation.f.value, kind, self.world.now_ms - self._invoked_at_ms))
        if self._trace is not None:
            error = "indeterminate: no answer within the timeout" if kind == "info" else None
            self._trace.finish(error, result=kind)
            self._trace = self._carried = None
        self.operation = None
        self._think()

    def abandon(self) -> None:
        """At the end of the run: an operation still pending is indeterminate."""
        if self.operation is not None:
            self._complete("info", None)


class Loader(Client):
    """The load phase's client ``c0`` (see the module docstring)."""

    def __init__(
        self,
        world: World,
        servers: list[str],
        workload: Workload,
        on_done: Callable[[], None],
    ) -> None:
        load = workload.load
        assert load is not None
        self.world = world
        self.id = "c0"
        self.number = 0
        self.servers = servers
        self.stop_ms = math.inf
        self.attempt_ms = max(workload.timeout_ms / 5.0, 10.0)
        self._rng = world.rng.stream(f"client/{self.id}")
        self._target = self._rng.randrange(len(servers))
        self._leader_hint = None
        self.seq = 0
        self.operation = None
        self._attempt = 0
        self._trace = None
        self._carried = None
        self.records = load.records
        self.batch = load.batch
        self._workload = workload
        self._on_done = on_done
        self.done_ms: float | None = None
        self.sent_ms = 0.0  # when the batch ``seq`` was first sent
        world.network.attach(self.id, self)

    def start(self) -> None:
        self._invoke()

    def _invoke(self) -> None:
        first = self.seq * self.batch
        if first >= self.records:
            self.done_ms = self.world.now_ms
            self._on_done()
            return
        self.seq += 1
        self.sent_ms = self.world.now_ms
        pairs = load_batch(self._workload, self.seq)
        self.operation = Operation(Op.LOAD, pairs[0][0], pairs)
        self._send(self.seq)

    def _complete(self, kind: str, result: Any) -> None:
        self.operation = None
        self._invoke()

    def abandon(self) -> None:
        """A load still running at the end is simply unfinished (``done_ms`` stays None)."""
        self.operation = None
