"""The simulated network: every message between endpoints passes through ``Network.send``.

Rules:
- One ``Link`` per ordered pair (src, dst), created on first use, each with its own
  seeded stream (``net/{src}->{dst}``), latency sampler, loss, duplication and
  jitter (scenario defaults, then per-link overrides). Adding an endpoint never
  changes the draws of existing links.
- Reachability is a networkx ``DiGraph`` of allowed links among the server nodes
  (``set_partition``); links touching endpoints outside the graph (clients) are
  always allowed. The graph is compiled into one boolean per link when it
  changes, so the per-message path never touches networkx.
- A partition is checked when a message is sent and again when it would be
  delivered: a message in flight over a link that is cut meanwhile is dropped.
- A clogged link holds what is sent on it and releases it, in order, when
  unclogged; each released message then takes a fresh latency, never arriving
  before the one held ahead of it.
- Delivery to a crashed endpoint drops the message (reason ``down``); delivery to
  a paused endpoint queues it on the endpoint until it resumes.
- A message storm ends the simulation: when ``STORM_MESSAGES`` messages are sent in less
  than ``STORM_WINDOW_US`` of virtual time, ``send`` raises ``MessageStorm`` (checked
  once per ``STORM_MESSAGES`` sends, one comparison per message). No correct run comes
  near it (the standard scenario sends about 2,300 messages a virtual second, the
  heaviest shipped YCSB load some 50,000); a cluster whose messages beget messages
  (a probe answered by a rejection answered by a probe, multiplied by duplication)
  would otherwise run for hours and fill the disk with its event log.
- Event order: ``msg.send`` always comes first; then exactly one of ``msg.drop``
  (partition or loss), ``msg.hold`` (clogged) or nothing; ``msg.duplicate`` when
  a copy is scheduled; each arrival is one ``msg.deliver`` or ``msg.drop``.

The per-message path is the simulator's hottest code; it is written for speed
(local names, ``__slots__``, one simpy ``Timeout`` per delivery) and measured by
``harmonysim bench kernel`` beside a bare simpy loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from heapq import heappush
from typing import TYPE_CHECKING, Any, Protocol

import networkx as nx
import simpy
from mypy_extensions import mypyc_attr
from simpy.events import NORMAL

from harmonysim.sim.events import EventKind, EventLog, LinkRecords
from harmonysim.sim.latency import LatencySpec, Sampler, make_sampler
from harmonysim.sim.rng import RngTree

if TYPE_CHECKING:
    from harmonysim.scenario import NetworkSettings

__all__ = ["Endpoint", "Envelope", "Link", "LinkSettings", "Network", "NetworkObserver"]

_DROP = EventKind.MSG_DROP
_DUPLICATE = EventKind.MSG_DUPLICATE
_HOLD = EventKind.MSG_HOLD
_NORMAL = NORMAL

STORM_MESSAGES = 200_000
"""Messages sent in less than ``STORM_WINDOW_US`` that make a storm (module rules)."""
STORM_WINDOW_US = 1_000_000


# Compiled classes cannot derive from built-in exceptions; this one stays a Python class.
@mypyc_attr(native_class=False)
class MessageStorm(BaseException):
    """The network saw a message storm (module rules): the simulation stops here.

    A ``BaseException``, like ``KeyboardInterrupt``: it must reach ``World.run`` through
    every ``except Exception`` of the code that sent the message (a server that panics on
    a failing state machine must not take it for one)."""

    def __init__(self, at_us: int, messages: int, window_us: int) -> None:
        super().__init__(
            f"{messages:,} messages sent in {window_us / 1000:g} ms of virtual time "
            f"(at {at_us / 1000:g} ms): a message storm"
        )
        self.at_us = at_us
        self.messages = messages
        self.window_us = window_us


class Envelope(simpy.Event):
    """One message on the wire: payload plus routing, id and the trace context it carries.

    An envelope is itself the simpy event of its arrival (as ``simpy.Timeout`` is
    an event that carries a value): one object per message copy instead of a
    message plus a timeout, on the simulator's hottest path. ``dispatch`` puts
    it on the wire; a duplicate is a second envelope with the same id.
    """

    __slots__ = ("id", "link", "payload", "sent_at_us", "trace")

    # What simpy's Environment.step reads of a processed event, as class defaults
    # rather than per-message attribute stores.
    _ok = True
    _value = None

    def __init__(
        self,
        id: int,
        link: Link,
        payload: Any,
        trace: Any,
        sent_at_us: int,
        arrive: Callable[[simpy.Event], None],
    ) -> None:
        self.callbacks = [arrive]
        self.id = id
        self.link = link
        self.payload = payload
        self.trace = trace
        self.sent_at_us = sent_at_us

    def dispatch(self, env: simpy.Environment, delay_us: int) -> None:
        """Schedule arrival ``delay_us`` from now (its callback was given at creation).

        This is ``env.schedule(self, NORMAL, delay_us)`` inlined (one frame less per
        message); simpy 4's queue entries are ``(time, priority, event id, event)``.
        """
        self.env = env
        heappush(env._queue, (env._now + delay_us, _NORMAL, next(env._eid), self))

    def copy(self) -> Envelope:
        callbacks: list[Callable[[simpy.Event], None]] = self.callbacks
        return Envelope(self.id, self.link, self.payload, self.trace, self.sent_at_us, callbacks[0])

    @property
    def src(self) -> str:
        return self.link.src

    @property
    def dst(self) -> str:
        return self.link.dst


class NetworkObserver(Protocol):
    """Tracing and metrics of messages (``cluster.telemetry.Telemetry`` is one).

    ``sent`` returns what the envelope carries as its trace (the hop's span, or
    None); the others receive it back. The network calls none of these when no
    observer is installed.
    """

    def sent(self, src: str, dst: str, payload: Any, message_id: int, parent: Any) -> Any: ...
    def delivered(self, envelope: Envelope, now_us: int) -> None: ...
    def dropped(self, src: str, dst: str, payload: Any, hop: Any, reason: str) -> None: ...
    def duplicated(self, src: str, dst: str, payload: Any, hop: Any) -> None: ...


class Endpoint(Protocol):
    """What the network needs of a node or client it delivers to."""

    @property
    def up(self) -> bool: ...
    @property
    def paused(self) -> bool: ...
    def receive(self, envelope: Envelope) -> None: ...
    def hold(self, envelope: Envelope) -> None: ...


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """Resolved settings of one directed link."""

    latency: LatencySpec
    loss: float = 0.0
    duplicate: float = 0.0
    jitter_ms: float = 0.0


@dataclass(slots=True)
class Link:
    """Mutable state of one directed link.

    ``records`` are its ``msg.send`` and ``msg.deliver`` lines with the endpoints
    baked in, which the event log fills once per message (``EventLog.emit_send``).
    """

    src: str
    dst: str
    settings: LinkSettings
    sample_us: Sampler
    draw: Callable[[], float]
    records: LinkRecords
    endpoint: Endpoint | None = None
    allowed: bool = True
    clogged: bool = False
    held: list[Envelope] = field(default_factory=list)
    loss: float = 0.0
    duplicate: float = 0.0

    def __post_init__(self) -> None:
        self.loss = self.settings.loss
        self.duplicate = self.settings.duplicate


class Network:
    """Routes messages between endpoints with latency, loss, duplication, partitions and clogs."""

    def __init__(
        self,
        env: simpy.Environment,
        rng: RngTree,
        log: EventLog,
        default: LinkSettings,
        overrides: dict[tuple[str, str], LinkSettings] | None = None,
    ) -> None:
        self._env = env
        self._rng = rng
        self._log = log
        self._default = default
        self._overrides = dict(overrides or {})
        self._endpoints: dict[str, Endpoint] = {}
        self._links: dict[str, dict[str, Link]] = {}
        self._graph: nx.DiGraph | None = None
        self._graph_nodes: frozenset[str] = frozenset()
        self._next_id = 0
        self._storm_check_at = STORM_MESSAGES  # the next message id to look for a storm at
        self._storm_window_start_us = 0
        # Per-message shortcuts: the bound arrival callback (one object, not one per
        # message) and simpy's event queue and id counter, which an Environment never
        # replaces.
        self._arrive_callback = self._arrive
        self._queue = env._queue
        self._eid = env._eid
        self.observer: NetworkObserver | None = None
        self.delivered = 0
        self.dropped = 0
        self.duplicated = 0

    @property
    def sent(self) -> int:
        """Messages sent so far (ids are allocated one per send)."""
        return self._next_id

    # -- construction -------------------------------------------------------

    @classmethod
    def from_settings(
        cls, env: simpy.Environment, rng: RngTree, log: EventLog, settings: NetworkSettings
    ) -> Network:
        default = LinkSettings(
            latency=settings.latency,
            loss=settings.loss,
            duplicate=settings.duplicate,
            jitter_ms=settings.jitter_ms,
        )
        overrides: dict[tuple[str, str], LinkSettings] = {}
        for override in settings.links:
            pairs = [(override.from_node, override.to_node)]
            if override.both_ways:
                pairs.append((override.to_node, override.from_node))
            for pair in pairs:
                base = overrides.get(pair, default)
                overrides[pair] = LinkSettings(
                    latency=override.latency if override.latency is not None else base.latency,
                    loss=override.loss if override.loss is not None else base.loss,
                    duplicate=(
                        override.duplicate if override.duplicate is not None else base.duplicate
                    ),
                    jitter_ms=(
                        override.jitter_ms if override.jitter_ms is not None else base.jitter_ms
                    ),
                )
        return cls(env, rng, log, default, overrides)

    def attach(self, endpoint_id: str, endpoint: Endpoint) -> None:
        """Register a node or client so messages can be delivered to it."""
        self._endpoints[endpoint_id] = endpoint
        for row in self._links.values():
            link = row.get(endpoint_id)
            if link is not None:
                link.endpoint = endpoint

    def link(self, src: str, dst: str) -> Link:
        """The link src -> dst, created with its own seeded stream on first use."""
        row = self._links.get(src)
        if row is None:
            row = self._links[src] = {}
        link = row.get(dst)
        if link is None:
            settings = self._overrides.get((src, dst), self._default)
            stream = self._rng.stream(f"net/{src}->{dst}")
            link = Link(
                src=src,
                dst=dst,
                settings=settings,
                sample_us=make_sampler(settings.latency, stream, settings.jitter_ms),
                draw=stream.random,
                records=LinkRecords(src, dst),
            )
            link.allowed = self._allowed(src, dst)
            row[dst] = link
        return link

    # -- the hot path ---------------------------------------------------------

    def send(self, src: str, dst: str, payload: Any, trace: Any = None) -> int:
        """Send ``payload`` from ``src`` to ``dst``; returns the message id."""
        try:
            link = self._links[src][dst]
        except KeyError:
            link = self.link(src, dst)
        self._next_id = message_id = self._next_id + 1
        env = self._env
        now: int = env._now  # type: ignore[assignment]
        if message_id >= self._storm_check_at:
            self._check_storm(now)
        log = self._log
        log.emit_send(link.records, now, message_id, payload.__class__)
        observer = self.observer
        if observer is not None:
            trace = observer.sent(src, dst, payload, message_id, trace)
        if not link.allowed:
            self._drop_at_send(link, message_id, payload, trace, "partition")
            return message_id
        if link.loss and link.draw() < link.loss:
            self._drop_at_send(link, message_id, payload, trace, "loss")
            return message_id
        envelope = Envelope(message_id, link, payload, trace, now, self._arrive_callback)
        if link.clogged:
            link.held.append(envelope)
            log.emit(_HOLD, src, {"dst": dst, "id": message_id, "reason": "clog"})
            return message_id
        # envelope.dispatch(env, delay), inlined: this runs once per message.
        heappush(self._queue, (now + link.sample_us(), _NORMAL, next(self._eid), envelope))
        if link.duplicate and link.draw() < link.duplicate:
            self.duplicated += 1
            log.emit(_DUPLICATE, src, {"dst": dst, "id": message_id})
            if observer is not None:
                observer.duplicated(src, dst, payload, trace)
            envelope.copy().dispatch(env, link.sample_us())
        return message_id

    def _check_storm(self, now: int) -> None:
        """Every ``STORM_MESSAGES`` sends: too little virtual time since the last look
        is a storm (module rules)."""
        window = now - self._storm_window_start_us
        if window < STORM_WINDOW_US:
            raise MessageStorm(now, STORM_MESSAGES, window)
        self._storm_window_start_us = now
        self._storm_check_at = self._next_id + STORM_MESSAGES

    def _drop_at_send(
        self, link: Link, message_id: int, payload: Any, trace: Any, reason: str
    ) -> None:
        self.dropped += 1
        self._log.emit(_DROP, link.src, {"dst": link.dst, "id": message_id, "reason": reason})
        if self.observer is not None:
            self.observer.dropped(link.src, link.dst, payload, trace, reason)

    def _drop_at_arrival(self, envelope: Envelope, reason: str) -> None:
        link = envelope.link
        self.dropped += 1
        self._log.emit(_DROP, link.dst, {"src": link.src, "id": envelope.id, "reason": reason})
        if self.observer is not None:
            self.observer.dropped(link.src, link.dst, envelope.payload, envelope.trace, reason)

    def _arrive(self, event: simpy.Event) -> None:
        envelope: Envelope = event  # type: ignore[assignment]
        link = envelope.link
        if not link.allowed:
            self._drop_at_arrival(envelope, "partition")
            return
        endpoint = link.endpoint
        if endpoint is None:
            endpoint = link.endpoint = self._endpoints.get(link.dst)
        if endpoint is None or not endpoint.up:
            self._drop_at_arrival(envelope, "down")
            return
        if endpoint.paused:
            endpoint.hold(envelope)
            return
        self.delivered += 1
        now: int = self._env._now  # type: ignore[assignment]
        self._log.emit_deliver(link.records, now, envelope.id)
        if self.observer is not None:
            self.observer.delivered(envelope, now)
        endpoint.receive(envelope)

    def drop_held(self, envelope: Envelope, reason: str) -> None:
        """Drop a message that waited at a paused endpoint (it crashed)."""
        self._drop_at_arrival(envelope, reason)

    def deliver_held(self, envelope: Envelope) -> None:
        """Deliver a message that waited at a paused endpoint (called on resume)."""
        link = envelope.link
        endpoint = self._endpoints[link.dst]
        if link.allowed and endpoint.up:
            self.delivered += 1
            self._log.emit_deliver(link.records, self._env._now, envelope.id)  # type: ignore[arg-type]
            if self.observer is not None:
                self.observer.delivered(envelope, self._env._now)  # type: ignore[arg-type]
            endpoint.receive(envelope)
        else:
            self._drop_at_arrival(envelope, "partition" if not link.allowed else "down")

    # -- partitions -------------------------------------------------------------

    def _allowed(self, src: str, dst: str) -> bool:
        graph = self._graph
        if graph is None or src not in self._graph_nodes or dst not in self._graph_nodes:
            return True
        return bool(graph.has_edge(src, dst))

    @property
    def partition(self) -> nx.DiGraph | None:
        """The current graph of allowed links among server nodes, or None when fully connected."""
        return self._graph

    def set_partition(self, graph: nx.DiGraph | None) -> None:
        """Replace the allowed-links graph (None heals everything)."""
        self._graph = graph
        self._graph_nodes = frozenset(graph.nodes) if graph is not None else frozenset()
        for row in self._links.values():
            for link in row.values():
                link.allowed = self._allowed(link.src, link.dst)

    def cut_links(self) -> list[tuple[str, str]]:
        """The directed links among graph nodes that are currently cut, sorted."""
        graph = self._graph
        if graph is None:
            return []
        nodes = sorted(graph.nodes)
        return [(a, b) for a in nodes for b in nodes if a != b and not graph.has_edge(a, b)]

    # -- clogs ------------------------------------------------------------------

    def clog(self, pairs: Iterable[tuple[str, str]]) -> None:
        for src, dst in pairs:
            self.link(src, dst).clogged = True

    def unclog(self, pairs: Iterable[tuple[str, str]] | None = None) -> int:
        """Release held messages in order (all clogged links when ``pairs`` is None)."""
        if pairs is None:
            links = [link for row in self._links.values() for link in row.values() if link.clogged]
            links.sort(key=lambda link: (link.src, link.dst))
        else:
            links = [self.link(src, dst) for src, dst in pairs]
        released = 0
        env = self._env
        for link in links:
            link.clogged = False
            arrival_us = env._now
            for envelope in link.held:
                # Fresh latency from now, but never ahead of the message held before it.
                arrival_us = max(arrival_us, env._now + link.sample_us())
                envelope.dispatch(env, int(arrival_us - env._now))
                released += 1
            link.held.clear()
        return released

    def clogged_links(self) -> list[tuple[str, str]]:
        return sorted(
            (link.src, link.dst)
            for row in self._links.values()
            for link in row.values()
            if link.clogged
        )
