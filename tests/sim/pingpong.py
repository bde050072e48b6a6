"""A tiny test protocol for the kernel: nodes ping each other and persist a counter.

It is a fixture, not a product: it exists so kernel tests can watch messages,
timers and disks without the database on top.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harmonysim.sim.network import Envelope, LinkSettings, Network
from harmonysim.sim.node import SimNode
from harmonysim.sim.world import World


@dataclass(frozen=True, slots=True)
class Ping:
    seq: int


@dataclass(frozen=True, slots=True)
class Pong:
    seq: int


@dataclass(frozen=True, slots=True)
class ConstantLatency:
    value_ms: float | None = 2.0
    distribution: str = "constant"
    min_ms: float | None = None
    max_ms: float | None = None
    mean_ms: float | None = None
    p99_ms: float | None = None


@dataclass
class Recorder:
    """What every node received: (time ms, src, payload), per node."""

    received: dict[str, list[tuple[float, str, object]]] = field(default_factory=dict)
    starts: dict[str, int] = field(default_factory=dict)

    def payloads(self, node: str, src: str | None = None) -> list[object]:
        return [p for _, s, p in self.received.get(node, []) if src is None or s == src]


class PingPong:
    """Every ``period_ms`` ping the next peer (round robin); answer pings with pongs."""

    def __init__(self, node: SimNode, peers: list[str], recorder: Recorder, period_ms: float):
        self.node = node
        self.peers = [peer for peer in peers if peer != node.id]
        self.recorder = recorder
        self.period_ms = period_ms
        self.seq = 0
        self.turn = 0

    def start(self) -> None:
        self.recorder.starts[self.node.id] = self.recorder.starts.get(self.node.id, 0) + 1
        if self.peers and self.period_ms > 0:
            self.node.set_timer(self.period_ms, "ping", self._tick)

    def _tick(self) -> None:
        self.seq += 1
        peer = self.peers[self.turn % len(self.peers)]
        self.turn += 1
        self.node.send(peer, Ping(self.seq))
        self.node.set_timer(self.period_ms, "ping", self._tick)

    def on_message(self, envelope: Envelope) -> None:
        self.recorder.received.setdefault(self.node.id, []).append(
            (self.node.now_ms, envelope.src, envelope.payload)
        )
        if isinstance(envelope.payload, Ping):
            self.node.send(envelope.src, Pong(envelope.payload.seq))


def make_world(
    seed: int = 1,
    nodes: int = 3,
    period_ms: float = 10.0,
    latency: ConstantLatency | None = None,
    recorder: Recorder | None = None,
    links: LinkSettings | None = None,
) -> tuple[World, Recorder]:
    """A world of ``nodes`` ping-pong nodes; ``links`` replaces the default link settings."""
    recorder = recorder if recorder is not None else Recorder()
    settings = links if links is not None else LinkSettings(latency or ConstantLatency())
    world = World(seed, network=lambda env, rng, log: Network(env, rng, log, settings))
    peers = [f"n{index}" for index in range(1, nodes + 1)]
    for peer in peers:
        world.add_node(
            peer, lambda node: PingPong(node, peers, recorder, period_ms), fsync_latency_ms=1.0
        )
    return world, recorder
