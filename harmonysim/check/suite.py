"""The checks of one run, wired into its world: online monitors, then end-of-run verdicts.

Rules:
- ``RunChecks.attach`` must be called before the cluster starts, so the monitors
  see every server's ``raft.recover``. Monitors only watch event kinds through
  ``EventLog.watch`` (the network's fast path stays on) and only read state.
- Only the checks the scenario lists in ``checks`` run; the others are reported
  ``skipped`` ("not requested"). Results come in the scenario's order, then the
  skipped ones in the vocabulary's order.
- ``raft_safety``: ``RaftSafetyMonitor`` online, then ``check_final`` on the live
  cores. ``linearizability``: the client history against the kv model, with a
  step budget (``unknown`` when it runs out), starting from the load phase's
  records. ``btree_invariants``: every live tree's invariants and equal stores
  at equal applied index (a removed server stops applying where its removal
  left it, and is compared at that index), and no server whose state machine
  failed (``server.panic``: the tree raised, and the server stopped).
  ``liveness``: see ``harmonysim.check.liveness``, over the configuration the
  cluster ends with and the servers running at its end (up, not paused, not stopped
  by a damaged hard state);
  a load phase that did not finish turns its verdict (even
  "not requested") into a violation or an inconclusive one (rule L5), and a message
  storm that ended the run early into a violation (rule L6).
- A check that raises is a bug in the checker, not in the database: it propagates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harmonysim.check.liveness import (
    LivenessMonitor,
    LoadProgress,
    healthy_majority,
    judge_halts,
    judge_load,
    judge_storm,
)
from harmonysim.check.raft_safety import RaftSafetyMonitor, SafetyRule
from harmonysim.check.replicas import check_replicas
from harmonysim.check.result import CheckResult, CheckStatus
from harmonysim.check.run_history import DEFAULT_BUDGET_STEPS, check_run_history
from harmonysim.scenario import CHECK_NAMES

if TYPE_CHECKING:
    from harmonysim.cluster import Cluster
    from harmonysim.raft import RaftNode
    from harmonysim.scenario import Scenario
    from harmonysim.sim.world import World

__all__ = ["RunChecks"]

_MAX_SAFETY_REPORTED = 20


class RunChecks:
    """The checks a scenario asks for, attached to one run."""

    def __init__(self, scenario: Scenario, *, budget_steps: int = DEFAULT_BUDGET_STEPS) -> None:
        self.scenario = scenario
        self.budget_steps = budget_steps
        self.requested = tuple(scenario.checks)
        self.safety: RaftSafetyMonitor | None = None
        self.liveness: LivenessMonitor | None = None
        self._world: World | None = None
        self._cluster: Cluster | None = None

    def attach(self, world: World, cluster: Cluster) -> None:
        """Start the online monitors on a world whose cluster has not started yet."""
        self._world = world
        self._cluster = cluster
        if "raft_safety" in self.requested:
            self.safety = RaftSafetyMonitor(self._probe)
            self.safety.attach(world.log)
        if "liveness" in self.requested:
            self.liveness = LivenessMonitor()
            self.liveness.attach(world.log)

    def _probe(self, node: str) -> RaftNode | None:
        assert self._cluster is not None
        server = self._cluster.server(node)
        return server.raft if server is not None else None

    def finish(self) -> dict[str, CheckResult]:
        """Judge the finished run: name -> result (see the module rules for the order)."""
        world, cluster = self._world, self._cluster
        if world is None or cluster is None:
            raise RuntimeError("RunChecks.finish() before attach()")
        results: dict[str, CheckResult] = {}
        for name in self.requested:
            if name == "raft_safety":
                results[name] = self._raft_safety(world, cluster)
            elif name == "linearizability":
                results[name] = check_run_history(
                    cluster.history.iter_rows(),
                    budget_steps=self.budget_steps,
                    initial=self.scenario.workload.loaded_values() or None,
                )
            elif name == "btree_invariants":
                servers = [(node.id, server) for node, server in cluster.servers()]
                results[name] = check_replicas(
                    servers,
                    self.scenario.cluster.nodes,
                    cluster.membership.members,
                    panics=cluster.panics,
                )
            else:
                results[name] = self._liveness(world, cluster)
        for name in CHECK_NAMES:
            if name not in results:
                results[name] = CheckResult(
                    name, CheckStatus.SKIPPED, "not requested by the scenario's checks"
                )
        loader = cluster.loader
        if loader is not None and loader.done_ms is None:
            batches = -(-loader.records // loader.batch)
            load = LoadProgress(batches, loader.seq, loader.sent_ms)
            results["liveness"] = judge_load(results["liveness"], load, self.scenario.duration_ms)
        if self.liveness is not None:
            results["liveness"] = judge_halts(results["liveness"], self.liveness.needless_halts)
        if world.storm is not None:
            results["liveness"] = judge_storm(world.storm.at_us / 1000.0, str(world.storm))
        return results

    def _raft_safety(self, world: World, cluster: Cluster) -> CheckResult:
        monitor = self.safety
        assert monitor is not None
        cores = [(node.id, server.raft) for node, server in cluster.servers()]
        monitor.check_final(cores, world.now_ms)
        details: dict[str, Any] = {
            "events_checked": monitor.events_seen,
            "terms_with_leader": len(monitor.leaders),
            "rules": [rule.value for rule in SafetyRule],
        }
        if monitor.ok:
            return CheckResult(
                "raft_safety",
                CheckStatus.OK,
                f"{monitor.events_seen:,} raft events and {len(cores)} final states checked; "
                f"{len(monitor.leaders)} term(s) had a leader",
                details,
            )
        details["violation_counts"] = {rule.value: count for rule, count in monitor.counts.items()}
        details["violations"] = [
            violation.to_json() for violation in monitor.violations[:_MAX_SAFETY_REPORTED]
        ]
        total = sum(monitor.counts.values())
        return CheckResult(
            "raft_safety",
            CheckStatus.VIOLATION,
            f"{total} violation(s); first: {monitor.violations[0]}",
            details,
            monitor.implicated(),
        )

    def _liveness(self, world: World, cluster: Cluster) -> CheckResult:
        monitor = self.liveness
        assert monitor is not None
        # A server whose damaged hard state stopped it takes no part, though its host runs
        # (that stop is forced by the disk: a fault), nor does one still waiting for a
        # leader to repair its damaged log (it votes for nobody: with it, a majority may
        # be out of reach, CTRL's price for never electing a leader that lost an entry).
        # A server that refused to start on its own (a bug switch's halt) still counts:
        # its stall is what liveness must see.
        running = [
            node.id
            for node in world.nodes.values()
            if node.up
            and not node.paused
            and not cluster.halted_by_damage(node.id)
            and not cluster.awaiting_repair(node.id)
        ]
        broken = [*world.network.cut_links(), *world.network.clogged_links()]
        members = cluster.membership.members  # the committed configuration at the end
        healthy = healthy_majority(self.scenario, running, broken, members)
        removed = [n for n in running if n in self.scenario.member_ids and n not in members]
        return monitor.judge(
            self.scenario, cluster.history.iter_rows(), healthy, members, removed_running=removed
        )
