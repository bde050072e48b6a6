"""The database cluster on a world: servers on n1..nN, clients c1..cM, the history.

The cluster installs the world's leader oracle (for faults that target "the
leader"): the node that is up, believes it leads, and has the highest term; and its
membership hook: a ``MembershipDriver`` that serves ``add`` / ``remove`` faults.
An observed run gives the cluster its ``Telemetry`` (built on the same world first): each
server incarnation gets its own ``ServerTelemetry``, each client the telemetry; without
one, servers hold ``NullServerObserver`` and nothing is traced or counted. A cluster
built without telemetry on a world a ``Telemetry`` observes is refused
(``TelemetryOrderError``): its servers and clients would go unobserved.
Servers n1..nM (``cluster.members``) form the initial configuration; the others run
outside it until added. Clients know every server: a non-member redirects them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from harmonysim.cluster.client import Client, Loader
from harmonysim.cluster.history import HistoryRecorder
from harmonysim.cluster.membership import MembershipDriver
from harmonysim.cluster.server import KVServer
from harmonysim.cluster.server_observer import NullServerObserver, ServerObserver
from harmonysim.cluster.telemetry import Telemetry, TelemetryOrderError
from harmonysim.cluster.workload import KeySpace
from harmonysim.raft import Role
from harmonysim.scenario import scenario_to_data
from harmonysim.scenario.swarm import current_values
from harmonysim.sim.disk import DiskFaults
from harmonysim.sim.events import EventKind

if TYPE_CHECKING:
    from harmonysim.scenario import DiskFaultSettings, Scenario
    from harmonysim.sim.node import SimNode
    from harmonysim.sim.world import World

__all__ = ["Cluster"]


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


class Cluster:
    """Servers and clients of one run, wired into a world."""

    def __init__(
        self, world: World, scenario: Scenario, telemetry: Telemetry | None = None
    ) -> None:
        if telemetry is None and isinstance(world.network.observer, Telemetry):
            raise TelemetryOrderError(
                "the world is observed by a Telemetry the cluster was not given: pass it, "
                "Cluster(world, scenario, telemetry)"
            )
        if telemetry is not None and telemetry.world is not world:
            raise TelemetryOrderError("the cluster's Telemetry observes another world")
        self.world = world
        self.scenario = scenario
        self.telemetry = telemetry
        voters = scenario.member_ids
        self.stats: dict[str, int] = {"elections": 0, "leader_changes": 0}
        self.membership = MembershipDriver(
            world,
            voters,
            self.leader,
            lambda node_id: self.server(node_id),
            scenario.cluster.raft.heartbeat_interval_ms,
            wait_for_commit=(
                scenario.cluster.membership is None
                or scenario.cluster.membership.wait == "committed"
            ),
        )
        applied = self.membership.config_applied
        self.disk_diagnoses: list[dict[str, Any]] = []  # servers a damaged disk stopped
        diagnoses = self.disk_diagnoses
        for node_id in scenario.node_ids:
            world.add_node(
                node_id,
                lambda node: KVServer(
                    node, scenario, voters, self.stats, applied, diagnoses, self._observer(node.id)
                ),
                scenario.cluster.disk.fsync_latency_ms,
            )
            world.nodes[node_id].disk.configure_faults(
                disk_faults(scenario.cluster.disk.faults), world.rng.stream(f"disk/{node_id}")
            )
        drift = scenario.cluster.clocks.drift_ppm / 1_000_000
        self.clock_rates: dict[str, float] = {}
        if drift > 0:  # each node's clock runs at its own rate, drawn from the seed
            for node_id in scenario.node_ids:
                rate = world.rng.stream(f"clock/{node_id}").uniform(1.0 - drift, 1.0 + drift)
                world.nodes[node_id].set_clock_rate(rate)
                self.clock_rates[node_id] = round(rate, 9)
        world.faults.clock_drift_bound = scenario.cluster.raft.max_clock_drift
        world.faults.initial_members = scenario.member_ids
        world.leader_oracle = self.leader
        world.membership = self.membership.request
        world.absent = self.membership.absent
        world.transfer = self.transfer_leadership
        self.history = HistoryRecorder(world.log, lambda: world.now_ms)
        servers = list(scenario.node_ids)
        workload = scenario.workload
        space = KeySpace(workload.keys.count)
        inserts = expected_inserts(scenario)
        self.clients = [
            Client(
                world,
                number,
                servers,
                workload,
                self.history,
                scenario.duration_ms,
                space,
                inserts,
                telemetry,
            )
            for number in range(1, workload.clients + 1)
        ]
        self.key_space = space
        self.loader: Loader | None = None
        # Per node: B+ tree splits, merges and borrows (reported with a load phase only).
        self.tree_changes: dict[str, list[int]] = {}
        if workload.load is not None:
            self.loader = Loader(world, servers, workload, self._start_clients)
            world.log.watch(
                (EventKind.BTREE_SPLIT, EventKind.BTREE_MERGE, EventKind.BTREE_BORROW),
                self._count_tree_change,
            )
        self._role_events = 0
        # Every server whose state machine failed (``server.panic``), over all incarnations.
        self.panics: list[dict[str, Any]] = []
        world.log.watch((EventKind.SERVER_PANIC,), self.panics.append)

    def _observer(self, node_id: str) -> ServerObserver:
        """What a server incarnation starting on ``node_id`` reports to."""
        if self.telemetry is None:
            return NullServerObserver()
        return self.telemetry.server_observer(node_id)

    def start(self) -> None:
        fields: dict[str, Any] = {"scenario": self.scenario.name, "nodes": len(self.world.nodes)}
        if self.scenario.member_ids != self.scenario.node_ids:
            fields["members"] = list(self.scenario.member_ids)
        if self.clock_rates:
            fields["clock_rates"] = dict(self.clock_rates)
        if self.scenario.swarm:  # what this seed drew (the run's settings hold it too)
            fields["swarm"] = current_values(scenario_to_data(self.scenario), self.scenario.swarm)
        self.world.start(fields)
        if self.loader is not None:
            self.loader.start()
        else:
            self._start_clients()

    def _start_clients(self) -> None:
        for client in self.clients:
            client.start()

    _TREE_CHANGES: ClassVar[dict[str, int]] = {
        EventKind.BTREE_SPLIT: 0,
        EventKind.BTREE_MERGE: 1,
        EventKind.BTREE_BORROW: 2,
    }

    def _count_tree_change(self, record: dict[str, Any]) -> None:
        counts = self.tree_changes.get(record["node"])
        if counts is None:
            counts = self.tree_changes[record["node"]] = [0, 0, 0]
        counts[self._TREE_CHANGES[record["kind"]]] += 1

    def server(self, node_id: str) -> KVServer | None:
        process = self.world.nodes[node_id].process
        # A server a damaged disk stopped serves nothing and is judged by nothing.
        return process if isinstance(process, KVServer) and not process.halted else None

    def halted_by_damage(self, node_id: str) -> bool:
        """The server on ``node_id`` stopped for good on a damaged hard state."""
        process = self.world.nodes[node_id].process
        return isinstance(process, KVServer) and process.halted_by_damage

    def awaiting_repair(self, node_id: str) -> bool:
        """The server on ``node_id`` lost log records to a damaged disk and has not been
        repaired by a leader yet: it votes for nobody and stands for nothing (CTRL)."""
        process = self.world.nodes[node_id].process
        return isinstance(process, KVServer) and process.raft.repair_until > 0

    def servers(self) -> list[tuple[SimNode, KVServer]]:
        result = []
        for node_id in sorted(self.world.nodes):
            server = self.server(node_id)
            if server is not None:
                result.append((self.world.nodes[node_id], server))
        return result

    def leader(self) -> str | None:
        best: tuple[int, str] | None = None
        for node, server in self.servers():
            if node.up and server.raft.role is Role.LEADER:
                candidate = (server.raft.term, node.id)
                if best is None or candidate[0] > best[0]:
                    best = candidate
        return best[1] if best is not None else None

    def transfer_leadership(self, to: str) -> tuple[str | None, str | None, str]:
        """Ask the leader to hand over to ``to`` ("any": the voter whose log matches its
        own furthest, lowest id first); (leader, target, "started" or why not)."""
        leader = self.leader()
        server = self.server(leader) if leader is not None else None
        if leader is None or server is None:
            return None, None, "no leader to transfer from"
        target = to
        if to == "any":
            raft = server.raft
            candidates = sorted(
                (-match, peer)
                for peer, (match, _) in raft.progress().items()
                if peer in raft.voters and self.world.nodes[peer].up
            )
            if not candidates:
                return leader, None, "no other voter is up"
            target = candidates[0][1]
        if target == leader:
            return leader, target, "the target already leads"
        if not server.transfer_leadership(target):
            return leader, target, "the leader refused: the target is not a voter it replicates to"
        return leader, target, "started"

    def finish(self) -> None:
        if self.loader is not None:
            self.loader.abandon()
        for client in self.clients:
            client.abandon()
        self.membership.finish()

    def write_history(self, path: Path) -> None:
        self.history.write(path)

    def summary(self) -> dict[str, Any]:
        counts = self.history.counts()
        duration_s = self.scenario.duration_ms / 1000.0
        latencies = sorted(
            latency
            for client in self.clients
            for _, kind, latency in client.latencies_ms
            if kind == "ok"
        )
        leaders = [
            (node.id, server.raft.term)
            for node, server in self.servers()
            if server.raft.role is Role.LEADER
        ]
        return {
            "ops_ok": counts["ok"],
            "ops_fail": counts["fail"],
            "ops_info": counts["info"],
            "throughput_ops_per_s": round(counts["ok"] / duration_s, 3) if duration_s else 0.0,
            "latency_p50_ms": round(percentile(latencies, 0.50), 3),
            "latency_p99_ms": round(percentile(latencies, 0.99), 3),
            "latency_max_ms": round(latencies[-1], 3) if latencies else 0.0,
            "elections": self.stats["elections"],
            "leader_changes": self.stats["leader_changes"],
            "final_leader": leaders[-1][0] if leaders else None,
            "members": list(self.membership.members),
            "membership_changes": self.membership.committed,
            **self._disk_summary(),
            **self._load_summary(),
        }

    def _load_summary(self) -> dict[str, Any]:
        """The load phase and each replica's tree (only with a load: run.json of a run
        without one is unchanged)."""
        loader = self.loader
        if loader is None:
            return {}
        trees: dict[str, Any] = {}
        for node, server in self.servers():
            tree = server.machine.tree
            splits, merges, borrows = self.tree_changes.get(node.id, [0, 0, 0])
            trees[node.id] = {
                "depth": tree.depth,
                "items": len(tree),
                "nodes": tree.node_count,
                "splits": splits,
                "merges": merges,
                "borrows": borrows,
            }
        return {
            "load": {
                "records": loader.records,
                "batches": -(-loader.records // loader.batch),
                "done_ms": loader.done_ms,
            },
            "keys_inserted": self.key_space.count - self.key_space.initial,
            "btree": trees,
        }

    def _disk_summary(self) -> dict[str, Any]:
        """Storage faults and what they did (only when there were any: run.json of a run
        without them is unchanged)."""
        faults: dict[str, int] = {}
        for node_id in sorted(self.world.nodes):
            for fault, count in self.world.nodes[node_id].disk.fault_counts.items():
                faults[fault] = faults.get(fault, 0) + count
        if not faults and not self.disk_diagnoses:
            return {}
        return {"disk_faults": dict(sorted(faults.items())), "disk_halts": self.disk_diagnoses}


def expected_inserts(scenario: Scenario) -> int:
    """Keys the run is expected to insert, twice over (CoreWorkload's expectednewkeys, the
    key space of scrambled_zipfian): from the operation count, or the rate and duration,
    or, for a closed loop of unknown length, as many again as the key space holds."""
    workload = scenario.workload
    share = workload.mix.get("insert", 0.0) / sum(workload.mix.values())
    if share == 0:
        return 0
    if workload.operations is not None:
        operations = workload.operations * workload.clients
    elif workload.rate_per_s is not None:
        operations = round(workload.rate_per_s * scenario.duration_ms / 1000.0)
    else:
        return workload.keys.count
    return int(operations * share * 2.0)


def disk_faults(settings: DiskFaultSettings) -> DiskFaults | None:
    """A disk's fault probabilities from the scenario's, or None when all are 0."""
    faults = DiskFaults(
        settings.corrupt,
        settings.torn,
        settings.misdirect,
        settings.read_error,
        settings.slow,
        max(1, round(settings.slow_fsync_ms * 1000.0)),
        settings.write_error,
    )
    return faults if faults.any else None
