"""Kernel benchmark: simulated messages per wall second through ``Network.send``, beside bare simpy.

Both sides pass the same number of messages along the same number of
concurrent relay chains: each delivered message immediately causes the next
send. The bare side is the least simpy can do per message (one ``Timeout``
with a callback and a random delay); the kernel side goes through the whole
network path (link lookup, partition and loss checks, latency sampling, event
records hashed and written to ``events.jsonl``, delivery to a node's process).
The ratio of per-message costs is the figure of merit (goal: <= 3x), measured in
one process so machine noise affects both alike; the best of ``repeat`` runs is
kept for each side.
"""

from __future__ import annotations

import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import simpy

from harmonysim.runlog.folder import RunFolder
from harmonysim.sim.latency import LatencySpec
from harmonysim.sim.network import Envelope
from harmonysim.sim.node import SimNode
from harmonysim.sim.world import World

__all__ = ["KernelBenchResult", "run_kernel_benchmark"]


@dataclass(frozen=True, slots=True)
class _Lognormal:
    distribution: str = "lognormal"
    value_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    mean_ms: float | None = 5.0
    p99_ms: float | None = 30.0


@dataclass(frozen=True, slots=True)
class KernelBenchResult:
    messages: int
    bare_seconds: float
    kernel_seconds: float
    events: int

    @property
    def bare_messages_per_second(self) -> float:
        return self.messages / self.bare_seconds

    @property
    def kernel_messages_per_second(self) -> float:
        return self.messages / self.kernel_seconds

    @property
    def bare_us_per_message(self) -> float:
        return self.bare_seconds / self.messages * 1e6

    @property
    def kernel_us_per_message(self) -> float:
        return self.kernel_seconds / self.messages * 1e6

    @property
    def ratio(self) -> float:
        return self.kernel_seconds / self.bare_seconds


def _bare_simpy(messages: int, chains: int, seed: int) -> float:
    env = simpy.Environment()
    rng = random.Random(seed)
    draw = rng.random
    remaining = [messages]

    def deliver(event: simpy.Event) -> None:
        if remaining[0] > 0:
            remaining[0] -= 1
            timeout = simpy.Timeout(env, 1 + int(10_000 * draw()), event._value)
            timeout.callbacks.append(deliver)

    for chain in range(chains):
        remaining[0] -= 1
        timeout = simpy.Timeout(env, 1, chain)
        timeout.callbacks.append(deliver)
    started = time.perf_counter()
    env.run()
    return time.perf_counter() - started


class _Relay:
    """Forwards every message it receives to the next node, until the budget is spent."""

    def __init__(self, node: SimNode, peers: list[str], budget: list[int]) -> None:
        self.node = node
        self.peers = peers
        self.budget = budget
        self.next_peer = (peers.index(node.id) + 1) % len(peers)

    def start(self) -> None:
        return None

    def on_message(self, envelope: Envelope) -> None:
        if self.budget[0] > 0:
            self.budget[0] -= 1
            self.node.send(self.peers[self.next_peer], envelope.payload)


def _kernel(
    messages: int, chains: int, seed: int, nodes: int, directory: Path
) -> tuple[float, int]:
    with RunFolder(directory).events.open("wb") as sink:
        latency: LatencySpec = _Lognormal()
        world = World(seed, sink=sink, default_latency=latency)
        peers = [f"n{index}" for index in range(1, nodes + 1)]
        budget = [messages]
        for peer in peers:
            world.add_node(peer, lambda node: _Relay(node, peers, budget), fsync_latency_ms=1.0)
        world.start()
        for chain in range(chains):
            budget[0] -= 1
            world.network.send(peers[chain % nodes], peers[(chain + 1) % nodes], chain)
        started = time.perf_counter()
        world.env.run()
        world.finish()
        elapsed = time.perf_counter() - started
        return elapsed, world.log.count


def run_kernel_benchmark(
    messages: int = 200_000, chains: int = 100, nodes: int = 5, seed: int = 1, repeat: int = 3
) -> KernelBenchResult:
    """Best-of-``repeat`` wall time for both sides, interleaved to share machine noise."""
    bare_best = float("inf")
    kernel_best = float("inf")
    events = 0
    with tempfile.TemporaryDirectory(prefix="harmonysim-bench-") as name:
        for _ in range(repeat):
            bare_best = min(bare_best, _bare_simpy(messages, chains, seed))
            elapsed, events = _kernel(messages, chains, seed, nodes, Path(name))
            kernel_best = min(kernel_best, elapsed)
    return KernelBenchResult(messages, bare_best, kernel_best, events)
