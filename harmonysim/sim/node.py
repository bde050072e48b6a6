"""Virtual nodes: a process (the protocol) running on a host that crashes, restarts and pauses.

Rules:
- A node's *process* is volatile: ``crash`` drops it, with every pending timer
  (timers carry the incarnation they were set in and do nothing afterwards) and
  every message waiting for it; the disk loses what was not synced.
- ``restart`` builds a new process with the node's factory; the process must
  rebuild its state from ``node.disk`` alone (the durable view after a crash).
- ``pause`` freezes the node: messages to it and its timers that come due wait,
  in order, and run when it ``resume``s (as a SIGSTOP'd process would).
- Processes talk to the world only through their node: ``send``, ``set_timer``,
  ``disk``, ``stream`` (its seeded randomness), ``emit`` (event log) and ``now_ms``;
  ``env`` only for what must outlive the process (a supervisor restarting it).
- A node is given the parts of the kernel it uses (the simpy environment, the RNG
  tree, the event log and the network), never the world that holds them.
- Each node has its own clock. Its monotonic clock (``local_us``) runs at ``clock_rate``
  times virtual time and never jumps; timers are set in its time (a delay of d fires
  after d / rate of virtual time). Its wall clock (``wall_us``) is the monotonic clock
  plus ``wall_offset_us``, which clock jumps move. ``now_us`` stays virtual time (for
  measurements, never for protocol decisions).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any, Protocol

import simpy

from harmonysim.sim.disk import Disk
from harmonysim.sim.events import EventKind, EventLog
from harmonysim.sim.network import Envelope, Network
from harmonysim.sim.rng import RngTree

__all__ = ["Process", "ProcessFactory", "SimNode", "Timer"]


class Process(Protocol):
    """A protocol instance running on a node.

    A process may also define ``on_crash()``, called as its node crashes (for
    bookkeeping outside the simulation, such as ending its open trace spans; it
    must not send, set timers or write the disk), and ``on_resume()``, called as a
    paused node resumes, before any held message or timer runs (its clock jumped).
    """

    def start(self) -> None: ...
    def on_message(self, envelope: Envelope) -> None: ...


ProcessFactory = Callable[["SimNode"], Process]

_TIMER = EventKind.TIMER


class Timer:
    """A cancellable one-shot timer; it never fires after its node crashed."""

    __slots__ = ("_callback", "_node", "cancelled", "incarnation", "name")

    def __init__(self, node: SimNode, name: str, callback: Callable[[], None]) -> None:
        self._node = node
        self.name = name
        self._callback = callback
        self.incarnation = node.incarnation
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def fire(self, _: simpy.Event | None = None) -> None:
        node = self._node
        if self.cancelled or self.incarnation != node.incarnation or not node.up:
            return
        if node.paused:
            node._deferred.append(self)
            return
        node.log.emit(_TIMER, node.id, {"name": self.name})
        self._callback()


class SimNode:
    """One virtual server: identity, disk, timers, and the process running on it."""

    def __init__(
        self,
        node_id: str,
        factory: ProcessFactory,
        disk: Disk,
        *,
        env: simpy.Environment,
        rng: RngTree,
        log: EventLog,
        network: Network,
    ) -> None:
        self.id = node_id
        self.factory = factory
        self.disk = disk
        self.env = env
        self.log = log
        self._rng = rng
        self._network = network
        self.incarnation = 0
        self.up = False
        self.paused = False
        self.process: Process | None = None
        self._held: list[Envelope] = []
        self._deferred: list[Timer] = []
        self.clock_rate = 1.0
        self.wall_offset_us = 0
        self._clock_base_virtual_us = 0
        self._clock_base_local_us = 0

    # -- what a process may use ----------------------------------------------------

    @property
    def now_ms(self) -> float:
        return self.env._now / 1000.0

    @property
    def now_us(self) -> int:
        return int(self.env._now)

    @property
    def local_us(self) -> int:
        """This node's monotonic clock, in whole microseconds (its rate, never a jump)."""
        elapsed = self.env._now - self._clock_base_virtual_us
        if self.clock_rate != 1.0:
            elapsed = math.floor(elapsed * self.clock_rate)
        return int(self._clock_base_local_us + elapsed)

    @property
    def wall_us(self) -> int:
        """This node's wall clock: the monotonic clock plus the steps it was given."""
        return self.local_us + self.wall_offset_us

    def set_clock_rate(self, rate: float) -> None:
        """From now on the monotonic clock advances ``rate`` times as fast as real time."""
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"a clock rate must be a positive number, got {rate!r}")
        self._clock_base_local_us = self.local_us
        self._clock_base_virtual_us = int(self.env._now)
        self.clock_rate = rate

    def send(self, dst: str, payload: Any, trace: Any = None) -> int:
        """Send through the network."""
        return self._network.send(self.id, dst, payload, trace)

    def set_timer(self, delay_ms: float, name: str, callback: Callable[[], None]) -> Timer:
        """Call ``callback`` after ``delay_ms`` of virtual time unless cancelled or crashed."""
        timer = Timer(self, name, callback)
        delay_us = max(0, round(delay_ms * 1000.0))
        if self.clock_rate != 1.0:
            delay_us = math.ceil(delay_us / self.clock_rate)  # due once its clock got there
        timeout = simpy.Timeout(self.env, delay_us)
        timeout.callbacks.append(timer.fire)
        return timer

    def stream(self, name: str) -> random.Random:
        """This node's seeded randomness for ``name``, fresh for each incarnation."""
        return self._rng.stream(f"node/{self.id}/{self.incarnation}/{name}")

    def emit(self, kind: EventKind, fields: dict[str, Any] | None = None) -> None:
        self.log.emit(kind, self.id, fields)

    # -- the network's view ----------------------------------------------------------

    def receive(self, envelope: Envelope) -> None:
        """Hand a delivered message to the process (none while down: ignored)."""
        process = self.process
        if process is not None:
            process.on_message(envelope)

    def hold(self, envelope: Envelope) -> None:
        self._held.append(envelope)

    # -- faults ------------------------------------------------------------------

    def start(self) -> None:
        self.up = True
        self.process = self.factory(self)
        self.process.start()

    def crash(self, notes: dict[str, Any] | None = None) -> None:
        if not self.up:
            return
        self.up = False
        self.paused = False
        self.incarnation += 1
        on_crash = getattr(self.process, "on_crash", None)
        if on_crash is not None:
            on_crash()
        self.process = None
        held, self._held = self._held, []
        self._deferred.clear()
        self.log.emit(EventKind.NODE_CRASH, self.id, {"held_dropped": len(held), **(notes or {})})
        for envelope in held:  # messages waiting at a paused node die with it
            self._network.drop_held(envelope, "down")
        self.disk.crash()

    def restart(self, notes: dict[str, Any] | None = None) -> None:
        if self.up:
            return
        self.log.emit(
            EventKind.NODE_RESTART, self.id, {"incarnation": self.incarnation, **(notes or {})}
        )
        self.start()

    def pause(self, notes: dict[str, Any] | None = None) -> None:
        if not self.up or self.paused:
            return
        self.paused = True
        self.log.emit(EventKind.NODE_PAUSE, self.id, notes)

    def resume(self, notes: dict[str, Any] | None = None) -> None:
        if not self.up or not self.paused:
            return
        self.paused = False
        held, self._held = self._held, []
        deferred, self._deferred = self._deferred, []
        self.log.emit(
            EventKind.NODE_RESUME,
            self.id,
            {"messages": len(held), "timers": len(deferred), **(notes or {})},
        )
        incarnation = self.incarnation
        on_resume = getattr(self.process, "on_resume", None)
        if on_resume is not None:
            on_resume()
        for envelope in held:
            if self.incarnation != incarnation or self.paused:
                break
            self._network.deliver_held(envelope)
        for timer in deferred:
            timer.fire()
