"""The World: one simpy environment, one seeded RNG tree, the network, the nodes and the faults.

Rules:
- The simulation clock counts whole virtual microseconds (``env.now`` is an int);
  event records print it as milliseconds (``t``). Durations from scenarios are in
  milliseconds and are rounded to microseconds once, at the edge.
- Nodes are created, started and iterated in sorted id order.
- The world knows nothing of the protocol its nodes run: a ``ProcessFactory``
  builds it, and the cluster layer may install ``leader_oracle`` so faults can
  target "the leader", ``membership`` so faults can add and remove servers, and
  ``absent`` so the membership nemesis sees which voters are out (kept in ``hooks``,
  which the fault injector reads).
- The world owns its parts and gives each what it uses: nodes and the fault
  injector never see the world (``sim/node.py`` and ``sim/faults.py`` do not
  import this module).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

import simpy

from harmonysim.sim.disk import Disk
from harmonysim.sim.events import EventKind, EventLog
from harmonysim.sim.faults import FaultInjector, Hooks
from harmonysim.sim.latency import LatencySpec
from harmonysim.sim.network import LinkSettings, MessageStorm, Network
from harmonysim.sim.node import ProcessFactory, SimNode
from harmonysim.sim.rng import RngTree

if TYPE_CHECKING:
    from harmonysim.scenario import Scenario

__all__ = ["World"]


class World:
    """Everything simulated in one run, expanded from one seed."""

    def __init__(
        self,
        seed: int,
        *,
        sink: IO[bytes] | None = None,
        network: Callable[[simpy.Environment, RngTree, EventLog], Network] | None = None,
        default_latency: LatencySpec | None = None,
    ) -> None:
        self.seed = seed
        self.env = simpy.Environment()
        self.rng = RngTree(seed)
        env = self.env
        self.log = EventLog(lambda: env._now, sink)  # type: ignore[arg-type,return-value]
        if network is not None:
            self.network = network(self.env, self.rng, self.log)
        else:
            if default_latency is None:
                raise ValueError("World needs a network factory or a default latency")
            self.network = Network(self.env, self.rng, self.log, LinkSettings(default_latency))
        self.nodes: dict[str, SimNode] = {}
        self.hooks = Hooks()
        self.faults = FaultInjector(
            self.env, self.rng, self.log, self.network, self.nodes, self.hooks
        )
        # Told (node, fsync latency in µs) by every disk added after it is set (metrics).
        self.on_fsync_synced: Callable[[str, int], None] | None = None
        # The message storm that ended the run early (sim/network.py), if one did.
        self.storm: MessageStorm | None = None

    @classmethod
    def from_scenario(cls, scenario: Scenario, *, sink: IO[bytes] | None = None) -> World:
        """A world with the scenario's network; nodes are added by the caller's protocol."""
        settings = scenario.network
        return cls(
            scenario.seed,
            sink=sink,
            network=lambda env, rng, log: Network.from_settings(env, rng, log, settings),
        )

    @property
    def now_ms(self) -> float:
        return self.env._now / 1000.0  # the attribute: read once per client operation

    # The hooks the cluster layer installs (``Hooks`` says what each does).

    @property
    def leader_oracle(self) -> Callable[[], str | None] | None:
        return self.hooks.leader_oracle

    @leader_oracle.setter
    def leader_oracle(self, oracle: Callable[[], str | None] | None) -> None:
        self.hooks.leader_oracle = oracle

    @property
    def membership(self) -> Callable[[str, str, Callable[[str], None] | None], None] | None:
        return self.hooks.membership

    @membership.setter
    def membership(
        self, hook: Callable[[str, str, Callable[[str], None] | None], None] | None
    ) -> None:
        self.hooks.membership = hook

    @property
    def absent(self) -> Callable[[tuple[str, ...]], tuple[str, ...]] | None:
        return self.hooks.absent

    @absent.setter
    def absent(self, hook: Callable[[tuple[str, ...]], tuple[str, ...]] | None) -> None:
        self.hooks.absent = hook

    @property
    def transfer(self) -> Callable[[str], tuple[str | None, str | None, str]] | None:
        return self.hooks.transfer

    @transfer.setter
    def transfer(self, hook: Callable[[str], tuple[str | None, str | None, str]] | None) -> None:
        self.hooks.transfer = hook

    def add_node(self, node_id: str, factory: ProcessFactory, fsync_latency_ms: float) -> SimNode:
        disk = Disk(self.env, self.log, node_id, max(1, round(fsync_latency_ms * 1000.0)))
        disk.on_synced = self.on_fsync_synced
        node = SimNode(
            node_id, factory, disk, env=self.env, rng=self.rng, log=self.log, network=self.network
        )
        self.nodes[node_id] = node
        self.network.attach(node_id, node)
        return node

    def leader(self) -> str | None:
        return self.hooks.leader()

    def start(self, fields: dict[str, Any] | None = None) -> None:
        """Emit ``run.start`` and start every node's process, in id order."""
        self.log.emit(EventKind.RUN_START, None, {"seed": self.seed, **(fields or {})})
        for node_id in sorted(self.nodes):
            self.nodes[node_id].start()

    def run(
        self, until_ms: float, *, progress: Callable[[float], None] | None = None, steps: int = 100
    ) -> None:
        """Advance virtual time to ``until_ms``, reporting progress ``steps`` times; a
        message storm stops it for good where it broke out (``storm``)."""
        until_us = round(until_ms * 1000.0)
        if until_us <= self.env.now or self.storm is not None:
            return
        try:
            if progress is None:
                self.env.run(until=until_us)
            else:
                for step in range(1, steps + 1):
                    target = max(self.env.now + 1, until_us * step // steps)
                    if target > self.env.now:
                        self.env.run(until=min(target, until_us))
                    progress(self.env.now / 1000.0)
        except MessageStorm as storm:
            self.storm = storm

    def finish(self, fields: dict[str, Any] | None = None) -> None:
        self.log.emit(EventKind.RUN_END, None, fields)
        self.log.flush()
