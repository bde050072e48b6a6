"""Liveness after the last fault: the cluster elects a leader and answers clients again.

Safety says nothing bad happens; liveness that something good eventually does. Raft
promises it only while a majority of servers runs and can talk with bounded delay
(§5.6, timing: broadcastTime << electionTimeout), so the check applies only then.

Rules:
- Quiet point ``Q``: the time of the last scheduled fault, or the ``until`` of a
  nemesis if later (the nemesis undoes its last fault then), the end of the wait of
  a fault with ``when`` (it may fire as late as that), or the last ``membership``
  event if later (an ``add`` / ``remove`` is over when its change is committed, and a
  removed leader's successor is elected after that; a change an operator that does not
  wait left ``accepted`` is over when its entry commits or is ``lost``). A request
  still open at the end counts from when it was asked for if no leader took its
  proposal (the configuration it would change is the one the run ends with, so
  liveness is judged as if it were not there: an add-back that waits the whole tail for
  a leader is a stall, not a reason to judge nothing), and from the end of the run if a
  change is in flight (not applicable); a ``waiting`` step moves nothing. No fault at
  all: 0.
- Bounds, from the scenario: election bound ``E = R * election_timeout max`` with
  ``R = 2`` (one timeout for the first candidate, one more for a split vote, §5.2);
  the whole bound ``B = E + workload timeout`` (a pending operation then has one full
  timeout to be answered). When the election timeouts' spread ``W`` is narrow against
  the typical one-way delay ``d`` (median plus half the jitter), split votes repeat
  (§9.3: with 150-155 ms timeouts elections took 287 ms on average): with a split
  chance per round ``p = min(0.75, 2d / W)`` of at least 0.1, ``R = 2 +
  ceil(ln 1e-6 / ln p)``, so a correct cluster outlasts ``E`` less than once in a
  million elections, and a cluster that never elects still fails it. A configuration
  of two voters without PreVote (the tail's: the configuration at the end; a window's:
  the one it holds) has ``p`` at least ``TWO_VOTER_WASTED_ROUND``: the voter with the
  shorter log stands in vain, and each of its terms restarts the other's timer, which
  wins only a round in which it fires first (nemesis-all seed 953: terms 2, 3 and 4
  wasted, 714 ms). The same holds for any configuration without PreVote whose logs
  have drifted apart: a server that cannot win (fewer than a majority of the voters
  among the healthy servers hold a log no more up-to-date than its own, §5.4.1) still
  stands, and its term restarts every timer; so ``p`` is at least the share of such
  servers among the healthy ones, as their logs stand when the span judged begins
  (``Q``, or a window's start; nemesis-all seed 74, a chasing partition, left two of
  five behind: 831 ms to elect, where ``E`` was 600). With PreVote a server that
  cannot win never raises its term.
- Applicability: at the end of the run (the faults' final state, which holds from
  ``Q`` on) a majority of nodes must be up, not paused, and pairwise connected by
  healthy links: not cut by a partition, not clogged, loss at most
  ``MAX_HEALTHY_LOSS``, and worst-case latency plus jitter at most half the minimum
  election timeout. Majorities and healthy nodes are those of the configuration at
  the end of the run (thesis §4.1: a removed server is no longer needed, nor able, to
  elect a leader; a spare never added does not count). The healthy nodes are those in
  some such majority; a server still waiting for a leader to repair its damaged log
  (``disk.damage`` with ``action: repair`` and no ``raft.repaired`` since) is not
  running: it votes for nobody (CTRL, FAST 2018), so with it a majority may be out of
  reach. The quiet tail ``duration - Q`` must be at least ``B``.
  Otherwise the check reports skipped, "not applicable", with the reason.
- L1 election: some node of a healthy majority is leader (per its ``raft.role``
  events, while up and running) at some time in ``[Q, Q + E]``.
- L2 service: every operation invoked in ``[Q + E, duration - timeout]`` is answered
  (ok or fail) -- or, if it timed out (info), the cluster answered some other
  operation while it waited. Random message loss may defeat all of one operation's
  attempts, but the cluster must never stall for a whole timeout after recovery.
- L3 no hang: every operation pending at ``Q`` completes (in any way) by ``Q + B``.
- L4 no disruption by removed servers (thesis §4.2.3): from ``Q + E`` on, no member of
  the configuration at the end of the run moves to a term in which a server outside
  that configuration stood as a candidate before (it took the removed server's term, so
  the removed server deposed or delayed a leader). Judged only when the final
  configuration is known (a live run), and counted once per member and term, and only
  when the servers run a defence against it: CheckQuorum's leader stickiness or PreVote
  (without both, Raft lets a removed server disrupt, as etcd does: the details say so).
  Without either defence, liveness is not promised while a removed server still runs:
  the tail is then not applicable, and a window whose configuration lacks a node of the
  initial one is not judged. With CheckQuorum alone, a removed server that never learnt
  of its removal stands for election in ever higher terms, and while the others elect
  there is no leader for the stickiness to guard (nemesis-all seed 871 went 25 s
  without a leader so): a tail in which no leader is ever elected is then not
  applicable; once one is, the stickiness must hold it.
- A deaf server (up at the end of the run, every link to it cut and some link from it
  not: the nemesis's ``deafen``) is outside every healthy majority, like any cut-off
  node, but it still sends: not leading, it times out and stands for election in ever
  higher terms it never hears refused. Without PreVote those terms reach the others and
  restart every election they hold (CheckQuorum's stickiness guards only a leader they
  hear from, so it does not help while they elect one), and the tail is not
  applicable. With PreVote (it never raises its term), or when it still leads without
  CheckQuorum (it never stops leading, and a leader never campaigns), the rest of the
  cluster must elect and serve as usual.
- Between faults, too: Raft promises progress whenever a majority runs and talks, not
  only when nothing is wrong. A window is an interval in which, as the fold of the
  run's events has it (``harmonysim.runlog.fold``), no membership change is open
  (requested and not yet committed, unchanged, refused or unfinished), no leadership
  transfer is in progress (from its ``leader.transfer`` until the old leader steps
  down or another node leads, or one maximum election timeout, after which the leader
  has given it up), and a healthy majority of the configuration it holds runs
  unharmed: its nodes up, not paused, not halted by a damaged disk, not waiting for a
  leader to repair their log, no clock stepped or strobing or beyond the servers'
  rate bound (``max_clock_drift``), no slow disk, and joined pairwise by healthy links
  neither cut nor clogged (one such majority: where majorities overlap, a ring or a
  bridge, there is none), while every other node is silent toward it: down, paused,
  halted, or cut off from sending to every node of it (a deaf node, which hears no
  one but still sends, is not), or a server outside the configuration running
  unharmed and joined to it as in a run without faults. A window is fault-free when
  no fault at all is in effect; one with a fault in effect is judged only on servers
  that run PreVote: without it a member whose log is behind stands in vain, and in a
  bare majority its terms restart the others' timers round after round (the
  two-voter case below). The run starts in one (every node up, nothing cut); a
  change of the faults in effect, or of the healthy majority, starts the next.
  Windows are cut off at ``Q`` (from there the rules above judge). In every window
  ``[a, b)`` at least ``B`` long, L1 and L2 hold over it: some node of its healthy
  majority leads by ``a + E``, and every operation invoked in ``[a + E, b - timeout]``
  is answered, with L2's tolerance for timeouts. A stall there is a violation naming
  the window, reported even when the tail is not applicable; it does not hide behind
  the faults that follow.
- A configuration that cannot be live is said to be so, not judged: when the
  client timeout is below the round trip of one operation (``ROUND_TRIP_DELAYS``
  median one-way delays plus an fsync), the check is skipped with that reason. When
  no healthy majority exists, the reason names the link settings if they alone
  rule one out (every node up, nothing cut).
- L5 the load phase (``judge_load``, applied to the verdict above): the clients start
  only when the load's last batch is acknowledged, so a run whose load did not finish
  has an empty history and every other check passes over nothing. Its batch in flight
  is an operation like any other: when liveness applied (the verdict is ok or a
  violation) and the batch was due, ``B`` after it was first sent or after ``Q`` if
  later, by the end of the run, its never being acknowledged is a violation. Otherwise
  (liveness not applicable or not requested, or the run ended within ``B`` of the
  batch) nothing was judged: the verdict is ``unknown``, which makes the run
  inconclusive, with the reason.
- L6 no message storm (``judge_storm``, which replaces the verdict): the network stops a
  run whose messages beget messages faster than any correct run sends them
  (``harmonysim.sim.network``, ``MessageStorm``). The cluster spent itself on messages
  instead of progress; nothing after the storm was simulated, so it is a violation at
  the moment it broke out, whatever the scenario asked (as L5 does).
- L7 no needless halt (``judge_halts``, applied to the verdict above): a server may stop
  itself for a damaged disk only when no peer can give back what it lost: both copies
  of its hard state (a vote, which only its own disk knows; ``disk.damage`` on
  ``hard_state`` with ``action: halt``). A damaged or torn log record, or a log that
  does not fit the snapshot, is repaired from the leader (CTRL, FAST 2018; the server's
  "Repair"), so halting on one takes a server out for nothing: a violation at the
  moment it halted, whatever the tail (a fault of its own making, not the scenario's).
- Each problem is also recorded on the clock (``details["problems"]``, the shape of
  ``harmonysim.check.result.Problem``, in the order of ``details["violations"]``), at
  the deadline it missed: L1 the election bound (``Q + E``, in a window ``a + E``),
  L2 the end of the operation's timeout (by then the cluster had answered nothing),
  L3 the bound after the last fault (``Q + B``), L5 the time the load batch was due;
  an L4 disruption at the moment the member took the removed server's term. L2 and
  L3 name the operation's key.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import combinations
from typing import Any

import networkx as nx

from harmonysim.check.result import CheckResult, CheckStatus, Implicated, Problem
from harmonysim.cluster.storage import HARD_STATE
from harmonysim.runlog.fold import ClusterState, Health, NodeState
from harmonysim.scenario import Latency, Scenario
from harmonysim.sim.events import EventKind, EventLog, EventRecord

__all__ = [
    "MAX_HEALTHY_LOSS",
    "LivenessBounds",
    "LivenessMonitor",
    "LoadProgress",
    "Window",
    "healthy_majority",
    "judge_halts",
    "judge_load",
    "latency_bound_ms",
    "liveness_bounds",
]

CHECK_NAME = "liveness"
MAX_HEALTHY_LOSS = 0.2
ROUND_TRIP_DELAYS = 4
"""One-way delays in one operation: client to leader, leader to a follower and back
(replication, or the ReadIndex heartbeat round), leader to client."""
FREQUENT_SPLITS = 0.1
"""A split-vote chance per round from which ``E`` allows more than one split vote."""
MAX_SPLIT_CHANCE = 0.75
"""The split-vote chance assumed at most (a round always has some chance to elect)."""
SPLIT_RUN_CHANCE = 1e-6
"""How unlikely a run of split votes longer than ``E`` allows must be."""
_MAX_REPORTED = 10
_P99_EXPONENTIAL = math.log(100.0)
_Z_99 = 2.3263478740408408  # the 99th percentile of the standard normal distribution


@dataclass(frozen=True, slots=True)
class LivenessBounds:
    """The quiet point and the bounds derived from a scenario (virtual milliseconds)."""

    quiet_from_ms: float
    election_bound_ms: float
    bound_ms: float
    duration_ms: float

    @property
    def tail_ms(self) -> float:
        return self.duration_ms - self.quiet_from_ms

    @property
    def elected_by_ms(self) -> float:
        return self.quiet_from_ms + self.election_bound_ms


def liveness_bounds(scenario: Scenario) -> LivenessBounds:
    """``Q``, ``E`` and ``B`` of the module rules for ``scenario``."""
    quiet = 0.0
    for fault in scenario.faults:
        quiet = max(quiet, fault.last_ms(scenario.duration_ms))
    election = election_bound_ms(scenario)
    return LivenessBounds(
        quiet, election, election + scenario.workload.timeout_ms, scenario.duration_ms
    )


def defended(scenario: Scenario) -> bool:
    """Whether the servers keep a removed server from deposing leaders (thesis §4.2.3):
    CheckQuorum's leader stickiness or PreVote."""
    raft = scenario.cluster.raft
    return raft.check_quorum or raft.prevote


def elections_defended(scenario: Scenario) -> bool:
    """Whether the servers keep a server that stands for election in ever higher terms
    (a removed one that does not know it, a deaf one) from restarting their elections:
    PreVote only. CheckQuorum's stickiness guards a leader the others hear from, and
    while they elect one there is none."""
    return scenario.cluster.raft.prevote


def split_vote_chance(scenario: Scenario) -> float:
    """How likely one election round ends in a split vote (§9.3): another server's timer
    fires while the first candidate's requests are still on their way, a chance of about
    ``2 d / W`` for a typical one-way delay ``d`` (median plus half the jitter) and the
    spread ``W`` of the election timeouts; capped at ``MAX_SPLIT_CHANCE``."""
    low, high = scenario.cluster.raft.election_timeout_ms
    network = scenario.network
    one_way = latency_median_ms(network.latency) + network.jitter_ms / 2.0
    return min(MAX_SPLIT_CHANCE, 2.0 * one_way / (high - low))


TWO_VOTER_WASTED_ROUND = 0.5
"""The chance that an election round of two voters without PreVote is wasted (module
rules): the voter with the shorter log fires first."""


def election_rounds(scenario: Scenario, voters: int | None = None, hopeless: float = 0.0) -> int:
    """Election timeouts ``E`` allows (module rules): two, unless split votes (or, without
    PreVote, rounds won by a voter that cannot win: in a configuration of two ``voters``,
    or the ``hopeless`` share of the healthy servers) are likely enough that a correct
    cluster may need more; then as many as make a longer run of them less likely than
    ``SPLIT_RUN_CHANCE``."""
    chance = split_vote_chance(scenario)
    if not scenario.cluster.raft.prevote:
        if voters == 2:
            chance = max(chance, TWO_VOTER_WASTED_ROUND)
        chance = max(chance, hopeless)
    if chance < FREQUENT_SPLITS:
        return 2
    return 2 + math.ceil(math.log(SPLIT_RUN_CHANCE) / math.log(chance))


def election_bound_ms(
    scenario: Scenario, voters: int | None = None, hopeless: float = 0.0
) -> float:
    """``E`` for a configuration of ``voters`` (module rules; None: not two voters) in
    which, without PreVote, a ``hopeless`` share of the healthy servers cannot win."""
    rounds = election_rounds(scenario, voters, hopeless)
    return rounds * scenario.cluster.raft.election_timeout_ms[1]


def hopeless_share(
    logs: Mapping[str, tuple[int, int]], healthy: Sequence[str], voters: int
) -> float:
    """The share of ``healthy`` servers that cannot win an election among them (module
    rules): fewer than a majority of ``voters`` of them hold a log (``logs``: last term,
    last index) no more up-to-date than theirs (§5.4.1)."""
    if not healthy:
        return 0.0
    need = voters // 2 + 1
    positions = [logs.get(node, (0, 0)) for node in healthy]
    hopeless = sum(1 for mine in positions if sum(1 for other in positions if other <= mine) < need)
    return hopeless / len(healthy)


def configuration_bounds(
    scenario: Scenario, bounds: LivenessBounds, voters: int | None, hopeless: float = 0.0
) -> LivenessBounds:
    """``bounds`` with ``E`` (and ``B``) for a configuration of ``voters`` (module rules)
    of which, without PreVote, a ``hopeless`` share of the healthy servers cannot win."""
    election = election_bound_ms(scenario, voters, hopeless)
    return replace(
        bounds, election_bound_ms=election, bound_ms=election + scenario.workload.timeout_ms
    )


def latency_bound_ms(latency: Latency) -> float:
    """A worst-case (99th percentile) one-way delay of a latency distribution."""
    if latency.distribution == "constant":
        return float(latency.value_ms or 0.0)
    if latency.distribution == "uniform":
        return float(latency.max_ms or 0.0)
    if latency.distribution == "exponential":
        return float(latency.mean_ms or 0.0) * _P99_EXPONENTIAL
    return float(latency.p99_ms or 0.0)


def latency_median_ms(latency: Latency) -> float:
    """The median one-way delay of a latency distribution."""
    if latency.distribution == "constant":
        return float(latency.value_ms or 0.0)
    if latency.distribution == "uniform":
        return (float(latency.min_ms or 0.0) + float(latency.max_ms or 0.0)) / 2.0
    if latency.distribution == "exponential":
        return float(latency.mean_ms or 0.0) * math.log(2.0)
    mean, p99 = float(latency.mean_ms or 0.0), float(latency.p99_ms or 0.0)
    if mean <= 0.0 or p99 <= mean:
        return mean
    # mean = exp(mu + s^2 / 2), p99 = exp(mu + z s): solve for s, then median = exp(mu).
    z = _Z_99
    sigma = z - math.sqrt(max(0.0, z * z - 2.0 * math.log(p99 / mean)))
    return mean * math.exp(-sigma * sigma / 2.0)


def round_trip_ms(scenario: Scenario) -> float:
    """A typical operation's round trip on the scenario's network (see ``ROUND_TRIP_DELAYS``)."""
    network = scenario.network
    one_way = latency_median_ms(network.latency) + network.jitter_ms / 2.0
    return ROUND_TRIP_DELAYS * one_way + scenario.cluster.disk.fsync_latency_ms


def _healthy_link(scenario: Scenario, src: str, dst: str) -> bool:
    network = scenario.network
    latency, loss, jitter = network.latency, network.loss, network.jitter_ms
    for link in network.links:
        if (src, dst) in link.directed_links():
            latency = link.latency if link.latency is not None else latency
            loss = link.loss if link.loss is not None else loss
            jitter = link.jitter_ms if link.jitter_ms is not None else jitter
    limit = scenario.cluster.raft.election_timeout_ms[0] / 2.0
    return loss <= MAX_HEALTHY_LOSS and latency_bound_ms(latency) + jitter <= limit


def healthy_majority(
    scenario: Scenario,
    running: Iterable[str],
    broken_links: Iterable[tuple[str, str]],
    configuration: Sequence[str] | None = None,
) -> tuple[str, ...]:
    """The running members that belong to some majority of ``configuration`` (default: the
    scenario's initial configuration) joined pairwise, both ways, by healthy links not
    in ``broken_links`` (cut or clogged), sorted; empty if none does."""
    broken = set(broken_links)
    voters = scenario.member_ids if configuration is None else tuple(configuration)
    nodes = sorted(node for node in running if node in voters)
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    for a, b in combinations(nodes, 2):
        if all(
            (src, dst) not in broken and _healthy_link(scenario, src, dst)
            for src, dst in ((a, b), (b, a))
        ):
            graph.add_edge(a, b)
    majority = len(voters) // 2 + 1
    members: set[str] = set()
    for clique in nx.find_cliques(graph):
        if len(clique) >= majority:
            members.update(clique)
    return tuple(sorted(members))


@dataclass(frozen=True, slots=True)
class Window:
    """A window ``[from_ms, until_ms)`` in which ``healthy``, a majority of the
    configuration it holds (``members``; None: the scenario's initial one), runs
    unharmed and joined by healthy links while every other node is silent toward it
    (module rules, "Between faults"); ``fault_free`` when no fault at all is in effect."""

    from_ms: float
    until_ms: float
    members: tuple[str, ...] | None
    healthy: tuple[str, ...] = ()
    fault_free: bool = True
    hopeless: float = 0.0  # without PreVote: the share of ``healthy`` that cannot win


@dataclass(frozen=True, slots=True)
class _Mark:
    """The faults in effect from ``t_ms`` on (until the next mark), as the fold has them."""

    t_ms: float
    unwell: frozenset[str]  # running, but awaiting repair, its clock stepped or strobing, its
    # disk slow (every node neither unwell nor silent is well)
    silent: frozenset[str]  # down, paused or halted: sends nothing
    rate_off: tuple[tuple[str, float], ...]  # each clock rate fault, as |rate - 1|
    cut: frozenset[tuple[str, str]]
    clogged: frozenset[tuple[str, str]]
    change_open: bool  # a membership change asked for and not over
    transfer_since_ms: float | None  # a leadership transfer asked for then, not over
    members: tuple[str, ...] | None  # the committed configuration (None: the initial one)
    logs: tuple[tuple[str, int, int], ...] = ()  # (node, last term, last index); not a fault

    def key(self) -> tuple[object, ...]:
        return (
            self.unwell,
            self.silent,
            self.rate_off,
            self.cut,
            self.clogged,
            self.change_open,
            self.transfer_since_ms,
            self.members,
        )


_NO_FAULT = _Mark(0.0, frozenset(), frozenset(), (), frozenset(), frozenset(), False, None, None)
"""The run starts with every node up and nothing cut."""


def _healthy_part(scenario: Scenario, mark: _Mark) -> tuple[tuple[str, ...], bool] | None:
    """The healthy majority of the faults in effect at ``mark`` and whether no fault is,
    or None when they leave none to judge (module rules, "Between faults")."""
    if mark.change_open:
        return None
    drift = scenario.cluster.raft.max_clock_drift
    nodes = scenario.node_ids
    voters = mark.members if mark.members is not None else scenario.member_ids
    off = {node for node, rate in mark.rate_off if rate > drift}
    faulty = mark.unwell | mark.silent | off
    well = [node for node in nodes if node not in faulty]
    broken = mark.cut | mark.clogged
    fault_free = len(well) == len(nodes) and not broken
    if not fault_free and not scenario.cluster.raft.prevote:
        return None  # a bare majority may waste its rounds on a member left behind
    healthy = healthy_majority(scenario, well, broken, voters)
    if not healthy:
        return None
    for a, b in combinations(healthy, 2):
        if (a, b) in broken or (b, a) in broken:
            return None  # overlapping majorities (a ring, a bridge): no one majority
    for node in nodes:
        if node in healthy or node in mark.silent:
            continue
        if all((node, other) in mark.cut for other in healthy):
            continue  # cut off from sending to them: it cannot disturb them
        if (
            node not in voters
            and node in well
            and not any((node, other) in broken or (other, node) in broken for other in healthy)
        ):
            continue  # a server outside the configuration, running as if nothing failed
        return None
    return healthy, fault_free


def _hopeless_at(scenario: Scenario, mark: _Mark, healthy: Sequence[str], voters: int) -> float:
    """Without PreVote, the share of ``healthy`` that cannot win with the logs of
    ``mark`` (module rules); with it, 0."""
    if scenario.cluster.raft.prevote or not healthy:
        return 0.0
    logs = {node: (term, index) for node, term, index in mark.logs}
    return hopeless_share(logs, healthy, voters)


def _settles(record: EventRecord) -> float:
    """When a ``membership`` step leaves the configuration settled (module rules): its
    time; for a request still open at the end with no proposal taken, when it was asked
    for; a ``waiting`` step settles nothing."""
    result = record.get("result")
    if result == "waiting":
        return 0.0
    if result == "unfinished" and not record.get("in_flight", True):
        since = record.get("since")
        return float(record["t"] if since is None else since)
    return float(record["t"])


class LivenessMonitor:
    """Collects the role, node and fault events liveness needs, and judges them at the end."""

    KINDS: tuple[EventKind, ...] = (
        EventKind.RAFT_ROLE,
        EventKind.RAFT_TERM,
        EventKind.NODE_CRASH,
        EventKind.NODE_RESTART,
        EventKind.NODE_PAUSE,
        EventKind.NODE_RESUME,
        EventKind.MEMBERSHIP,
        EventKind.NET_PARTITION,
        EventKind.NET_HEAL,
        EventKind.NET_CLOG,
        EventKind.NET_UNCLOG,
        EventKind.NODE_CLOCK,
        EventKind.DISK_FAULT,
        EventKind.DISK_DAMAGE,
        EventKind.RAFT_REPAIRED,
        EventKind.LEADER_TRANSFER,
        EventKind.RAFT_PERSIST,
        EventKind.RAFT_RECOVER,
    )

    def __init__(self) -> None:
        # Role and health records, folded by leader_time (harmonysim.runlog.fold).
        self._steps: list[EventRecord] = []
        self.membership_settled_ms = 0.0  # when the last membership change settled
        self._candidacies: list[tuple[float, str, int]] = []  # (time, node, term)
        self._term_changes: list[tuple[float, str, int]] = []  # (time, node, new term)
        # Every watched record folded in order, and after each the faults in effect.
        self._state = ClusterState.initial()
        self._marks: list[_Mark] = [_NO_FAULT]
        self.needless_halts: list[Problem] = []  # L7
        self._repairing: set[str] = set()  # servers waiting for a leader to repair their log

    def attach(self, log: EventLog) -> None:
        log.watch(self.KINDS, self.observe)

    def observe(self, record: EventRecord) -> None:
        kind = str(record["kind"])
        if kind == _PERSIST:  # moves a log, never a fault: no mark (the hottest kind here)
            self._state.apply(record)
            return
        if kind == EventKind.MEMBERSHIP.value:
            self.membership_settled_ms = max(self.membership_settled_ms, _settles(record))
        elif kind == EventKind.DISK_DAMAGE.value:
            self._damage(record)
        elif kind == EventKind.RAFT_TERM.value:
            self._term_changes.append((record["t"], record["node"], int(record["term"])))
        elif kind == EventKind.RAFT_REPAIRED.value:
            self._repairing.discard(str(record["node"]))
        elif kind in _KIND_VALUES:
            if record.get("role") == "candidate":
                self._candidacies.append((record["t"], record["node"], int(record["term"])))
            self._steps.append(record)
        if kind != EventKind.RAFT_TERM.value:
            self._state.apply(record)
            self._mark(float(record["t"]))

    def leader_time(self, healthy: Sequence[str], quiet_from_ms: float) -> tuple[float, str] | None:
        """The first time at or after ``quiet_from_ms`` when a node of ``healthy`` leads
        while up and running, with that node; None if never."""
        state = ClusterState.initial()

        def leader() -> str | None:
            for node in healthy:
                node_state = state.nodes.get(node)
                if node_state is not None and node_state.role == "leader" and node_state.running:
                    return node
            return None

        settled = False
        for step in self._steps:
            time_ms = float(step["t"])
            if time_ms > quiet_from_ms and not settled:
                settled = True
                found = leader()
                if found is not None:
                    return quiet_from_ms, found
            state.apply(step)
            if settled:
                found = leader()
                if found is not None:
                    return time_ms, found
        if not settled:  # nothing happened after the quiet point: its state is the final one
            found = leader()
            if found is not None:
                return quiet_from_ms, found
        return None

    def disruptions(self, members: Sequence[str], from_ms: float) -> list[Problem]:
        """L4: members that took, at or after ``from_ms``, a term in which a server
        outside ``members`` had stood as a candidate before; one line per member and term."""
        outside = [
            (time_ms, node, term)
            for time_ms, node, term in self._candidacies
            if node not in members
        ]
        if not outside:
            return []
        found: list[Problem] = []
        for time_ms, node, term in self._term_changes:
            if time_ms < from_ms or node not in members:
                continue
            cause = next(
                (who for at_ms, who, their in outside if their == term and at_ms <= time_ms),
                None,
            )
            if cause is not None:
                found.append(
                    Problem(
                        time_ms,
                        f"removed server {cause} disrupted member {node}: it took {cause}'s "
                        f"term {term} at {time_ms:g} ms",
                    )
                )
        return found

    def judge(
        self,
        scenario: Scenario,
        rows: Iterable[Mapping[str, Any]],
        healthy: Sequence[str],
        members: Sequence[str] | None = None,
        removed_running: Sequence[str] = (),
    ) -> CheckResult:
        """The liveness verdict for a finished run (see the module rules); ``members``
        is the configuration at the end of the run, for L4 (None: L4 is not judged);
        ``removed_running`` the servers removed from it that still run at the end."""
        bounds = liveness_bounds(scenario)
        if self.membership_settled_ms > bounds.quiet_from_ms:
            bounds = replace(bounds, quiet_from_ms=self.membership_settled_ms)
        final_voters = len(members) if members is not None else len(scenario.member_ids)
        at_quiet = self._mark_at(bounds.quiet_from_ms)
        hopeless = _hopeless_at(scenario, at_quiet, healthy, final_voters)
        bounds = configuration_bounds(scenario, bounds, final_voters, hopeless)
        details: dict[str, Any] = {
            "quiet_from_ms": bounds.quiet_from_ms,
            "election_bound_ms": bounds.election_bound_ms,
            "bound_ms": bounds.bound_ms,
            "tail_ms": bounds.tail_ms,
            "healthy_nodes": list(healthy),
        }
        round_trip = round_trip_ms(scenario)
        timeout_ms = scenario.workload.timeout_ms
        if timeout_ms < round_trip:
            details["round_trip_ms"] = round_trip
            return CheckResult(
                CHECK_NAME,
                CheckStatus.SKIPPED,
                f"not applicable: this configuration cannot be live: the client timeout "
                f"({timeout_ms:g} ms) is below the round trip of one operation (about "
                f"{round_trip:.3g} ms: {ROUND_TRIP_DELAYS} one-way network delays and an fsync), "
                "so operations time out even on a healthy cluster",
                details,
            )
        skipped: str | None = None
        if not healthy:
            links_only = not healthy_majority(scenario, scenario.member_ids, ())
            skipped = (
                "the network's link settings leave no majority joined by healthy links even "
                f"with every node up and nothing cut (a healthy link loses at most "
                f"{MAX_HEALTHY_LOSS:g} of its messages and its worst-case delay plus jitter is "
                f"at most half the minimum election timeout, "
                f"{scenario.cluster.raft.election_timeout_ms[0] / 2.0:g} ms)"
                if links_only
                else "no majority of nodes is up and connected after the last fault"
                + (
                    f" ({', '.join(sorted(self._repairing))} still wait(s) for a leader to "
                    "repair a damaged log, voting for nobody)"
                    if self._repairing
                    else ""
                )
            )
        elif bounds.tail_ms < bounds.bound_ms:
            skipped = (
                f"the quiet tail after the last fault ({bounds.tail_ms:g} ms) "
                f"is shorter than the liveness bound ({bounds.bound_ms:g} ms)"
            )
        elif removed_running and not defended(scenario):
            skipped = (
                f"removed server(s) {', '.join(removed_running)} still run, and without "
                "CheckQuorum or PreVote nothing stops them from deposing leaders (thesis "
                "§4.2.3)"
            )
        elif (
            removed_running
            and not elections_defended(scenario)
            and self.leader_time(healthy, bounds.quiet_from_ms) is None
        ):
            skipped = (
                f"removed server(s) {', '.join(removed_running)} still run and no leader was "
                "elected: without PreVote their ever higher terms restart the others' "
                "elections, and CheckQuorum's stickiness guards only a leader they hear from"
            )
        elif deaf := self.undefended_deaf(scenario):
            skipped = (
                f"{', '.join(deaf)} hear(s) no one at the end of the run but still send(s), "
                "and stand(s) for election in ever higher terms: without PreVote those "
                "terms restart the others' elections"
            )
        operations = _operations(rows)
        problems, window_rows = self._judge_windows(scenario, operations, bounds, details)
        if skipped is not None:
            if problems:  # a stall between faults is one whatever the end of the run is
                return _violation(problems, details, window_rows)
            return CheckResult(
                CHECK_NAME, CheckStatus.SKIPPED, f"not applicable: {skipped}", details
            )
        elected = self.leader_time(healthy, bounds.quiet_from_ms)
        if elected is None or elected[0] > bounds.elected_by_ms:
            since = f"of the last fault at {bounds.quiet_from_ms:g} ms"
            problems.append(_election_problem(healthy, bounds, since, elected))
        else:
            details["leader_at_ms"] = elected[0]
            details["leader"] = elected[1]
        service = _judge_operations(operations, bounds, scenario.workload.timeout_ms)
        details.update(service.details)
        problems.extend(service.problems)
        if members is not None and defended(scenario):
            problems.extend(self.disruptions(members, bounds.elected_by_ms))
        elif members is not None:
            details["disruption"] = (
                "not judged: without CheckQuorum or PreVote nothing stops a removed server "
                "from deposing leaders (thesis §4.2.3)"
            )
        if problems:
            return _violation(problems, details, [*window_rows, *service.rows])
        leader = f"leader {elected[1]} at {elected[0]:g} ms" if elected else "no leader"
        return CheckResult(
            CHECK_NAME,
            CheckStatus.OK,
            f"after the last fault at {bounds.quiet_from_ms:g} ms: {leader}; "
            f"{service.checked} later operation(s) served",
            details,
        )

    def _damage(self, record: EventRecord) -> None:
        action = record.get("action")
        if action == "repair":  # it votes for nobody until a leader repairs it
            self._repairing.add(str(record["node"]))
        elif action == "halt" and record.get("file") != HARD_STATE:
            self.needless_halts.append(
                Problem(
                    float(record["t"]),
                    f"{record['node']} halted on a damaged {record.get('file')} "
                    f"({record.get('reason')}) that its peers could repair",
                )
            )

    def undefended_deaf(self, scenario: Scenario) -> list[str]:
        """The deaf servers at the end of the run (up, every link to them cut, some link
        from them not) that may disrupt: on servers without PreVote, all but a leader
        without CheckQuorum, which never stops leading and never campaigns (module
        rules)."""
        raft = scenario.cluster.raft
        if elections_defended(scenario):
            return []
        state = self._state
        nodes = scenario.node_ids
        found: list[str] = []
        for node in nodes:
            others = [other for other in nodes if other != node]
            if not others or not all((other, node) in state.cut for other in others):
                continue
            if all((node, other) in state.cut for other in others):
                continue  # isolated: it sends nothing either
            server = state.nodes.get(node)
            if server is not None and server.health is not Health.UP:
                continue
            if server is not None and server.role == "leader" and not raft.check_quorum:
                continue
            found.append(node)
        return found

    def windows(self, scenario: Scenario, until_ms: float) -> list[Window]:
        """The windows in which a healthy majority runs (module rules, "Between faults")
        that begin before ``until_ms``, cut off there, in order."""
        grace = scenario.cluster.raft.election_timeout_ms[1]
        found: list[Window] = []
        current: Window | None = None
        marks = self._marks
        judged: dict[tuple[object, ...], tuple[tuple[str, ...], bool] | None] = {}
        for position, mark in enumerate(marks):
            if mark.t_ms >= until_ms:
                break
            end = marks[position + 1].t_ms if position + 1 < len(marks) else until_ms
            end = min(end, until_ms)
            if end <= mark.t_ms:
                continue  # a zero-length step (a crash and its restart at one instant) is none
            key = mark.key()
            if key not in judged:
                judged[key] = _healthy_part(scenario, mark)
            part = judged[key]
            if part is None:
                continue
            healthy, fault_free = part
            start = mark.t_ms
            if mark.transfer_since_ms is not None:  # a transfer is aborted after a timeout
                start = max(start, mark.transfer_since_ms + grace)
            if start >= end:
                continue
            if (
                current is not None
                and current.until_ms == start
                and (current.healthy, current.members, current.fault_free)
                == (healthy, mark.members, fault_free)
            ):
                current = replace(current, until_ms=end)
                continue
            if current is not None:
                found.append(current)
            voters = mark.members if mark.members is not None else scenario.member_ids
            hopeless = _hopeless_at(scenario, mark, healthy, len(voters))
            current = Window(start, end, mark.members, healthy, fault_free, hopeless)
        if current is not None:
            found.append(current)
        return found

    def _mark(self, time_ms: float) -> None:
        state = self._state
        unwell: list[str] = []
        silent: list[str] = []
        rate_off: list[tuple[str, float]] = []
        logs: list[tuple[str, int, int]] = []
        for name in sorted(set(state.nodes) | self._repairing):
            node = state.nodes.get(name) or NodeState()
            logs.append((name, node.last_term, node.last_index))
            if node.health is not Health.UP or node.halted:
                silent.append(name)
                continue
            if node.clock_rate is not None and node.clock_rate != 1.0:
                rate_off.append((name, abs(node.clock_rate - 1.0)))
            if (
                name in self._repairing
                or node.clock_step_ms != 0.0
                or node.clock_strobe
                or node.disk_slow_ms is not None
            ):
                unwell.append(name)
        mark = _Mark(
            time_ms,
            frozenset(unwell),
            frozenset(silent),
            tuple(rate_off),
            frozenset(state.cut),
            frozenset(state.clogged),
            state.membership_open > 0,
            state.transfer_since_ms,
            state.members,
            tuple(logs),
        )
        if self._marks and self._marks[-1].t_ms == time_ms:
            self._marks[-1] = mark  # the state after the last record at one instant
        elif not self._marks or self._marks[-1].key() != mark.key():
            self._marks.append(mark)

    def _mark_at(self, time_ms: float) -> _Mark:
        """The last mark at or before ``time_ms``: the faults in effect then, and the logs
        as they stood when those faults began."""
        marks = self._marks
        position = bisect.bisect_right([mark.t_ms for mark in marks], time_ms)
        return marks[max(0, position - 1)]

    def _judge_windows(
        self,
        scenario: Scenario,
        operations: _Operations,
        bounds: LivenessBounds,
        details: dict[str, Any],
    ) -> tuple[list[Problem], list[int]]:
        """L1 and L2 in every window of a healthy majority before ``Q`` at least ``B`` long
        (module rules, "Between faults"); the problems and their history rows."""
        problems: list[Problem] = []
        problem_rows: list[int] = []
        judged: list[dict[str, Any]] = []
        timeout_ms = scenario.workload.timeout_ms
        for window in self.windows(scenario, bounds.quiet_from_ms):
            voters = window.members if window.members is not None else scenario.member_ids
            election = election_bound_ms(scenario, len(voters), window.hopeless)
            span = LivenessBounds(window.from_ms, election, election + timeout_ms, window.until_ms)
            if window.until_ms - window.from_ms < span.bound_ms:
                continue
            healthy = window.healthy
            if not defended(scenario) and set(scenario.member_ids) - set(voters):
                continue  # a removed server runs, and nothing stops it deposing leaders
            label = (
                f"in the fault-free window {window.from_ms:g}-{window.until_ms:g} ms"
                if window.fault_free
                else f"in the window {window.from_ms:g}-{window.until_ms:g} ms in which "
                f"{', '.join(healthy)} ran unharmed (the others silent)"
            )
            found: list[Problem] = []
            elected = self.leader_time(healthy, window.from_ms)
            if elected is None or elected[0] > span.elected_by_ms:
                late = _election_problem(healthy, span, "of its start", elected)
                found.append(replace(late, text=f"{label}: {late.text}"))
            service = _judge_operations(operations, span, timeout_ms, hang=False)
            found.extend(
                replace(problem, text=f"{label}: {problem.text}") for problem in service.problems
            )
            problems.extend(found)
            problem_rows.extend(service.rows)
            entry: dict[str, Any] = {
                "from_ms": window.from_ms,
                "until_ms": window.until_ms,
                "operations_checked": service.checked,
                "problems": len(found),
            }
            if not window.fault_free:
                entry["healthy"] = list(healthy)
            judged.append(entry)
        details["windows_judged"] = len(judged)
        details["windows"] = judged[:_MAX_REPORTED]
        return problems, problem_rows


_PERSIST = EventKind.RAFT_PERSIST.value

_KIND_VALUES = frozenset(
    kind.value
    for kind in (
        EventKind.RAFT_ROLE,
        EventKind.NODE_CRASH,
        EventKind.NODE_RESTART,
        EventKind.NODE_PAUSE,
        EventKind.NODE_RESUME,
    )
)


@dataclass(frozen=True, slots=True)
class _Service:
    checked: int
    problems: list[Problem]
    details: dict[str, Any]
    rows: list[int]  # the history rows (invocations) of the operations in ``problems``


def _violation(problems: list[Problem], details: dict[str, Any], rows: list[int]) -> CheckResult:
    details["violations"] = [problem.text for problem in problems[:_MAX_REPORTED]]
    details["problems"] = [problem.to_json() for problem in problems[:_MAX_REPORTED]]
    details["violation_count"] = len(problems)
    return CheckResult(
        CHECK_NAME,
        CheckStatus.VIOLATION,
        f"{len(problems)} liveness problem(s); first: {problems[0].text}",
        details,
        Implicated(history_rows=tuple(row for row in rows if row >= 0)),
    )


@dataclass(frozen=True, slots=True)
class _Operations:
    """The history's operations, (invocation, completion or None), and the sorted times
    of its answers (ok or fail)."""

    spans: list[tuple[Mapping[str, Any], Mapping[str, Any] | None]]
    answers: list[float]


def _operations(rows: Iterable[Mapping[str, Any]]) -> _Operations:
    invoked: dict[Any, Mapping[str, Any]] = {}
    operations: list[tuple[Mapping[str, Any], Mapping[str, Any] | None]] = []
    answers: list[float] = []
    for row in rows:
        if row["type"] == "invoke":
            invoked[row["process"]] = row
            continue
        start = invoked.pop(row["process"], None)
        if start is not None:
            operations.append((start, row))
        if row["type"] in ("ok", "fail"):
            answers.append(float(row["time"]))
    operations.extend((start, None) for start in invoked.values())
    answers.sort()
    return _Operations(operations, answers)


def _judge_operations(
    operations: _Operations, bounds: LivenessBounds, timeout_ms: float, *, hang: bool = True
) -> _Service:
    """L2 over ``bounds``, and L3 (``hang``) of the operations pending at its quiet point."""
    answers = operations.answers
    serve_from = bounds.elected_by_ms
    serve_until = bounds.duration_ms - timeout_ms
    hang_deadline = bounds.quiet_from_ms + bounds.bound_ms
    problems: list[Problem] = []
    problem_rows: list[int] = []
    checked = 0
    timed_out = 0
    for start, end in operations.spans:
        invoked_ms = float(start["time"])
        if invoked_ms < bounds.quiet_from_ms:
            ended_ms = float(end["time"]) if end is not None else math.inf
            if hang and ended_ms > hang_deadline:
                why = f", pending at the last fault, did not complete by {hang_deadline:g} ms"
                problems.append(_operation_problem(start, hang_deadline, why))
                problem_rows.append(start.get("index", -1))
            continue
        if not serve_from <= invoked_ms <= serve_until:
            continue
        checked += 1
        if end is not None and end["type"] in ("ok", "fail"):
            continue
        timed_out += 1
        waited_until = invoked_ms + timeout_ms
        first = bisect.bisect_right(answers, invoked_ms)
        if first < len(answers) and answers[first] <= waited_until:
            continue  # lost to the network while the cluster served others
        why = f" timed out and the cluster answered no operation until {waited_until:g} ms"
        problems.append(_operation_problem(start, waited_until, why))
        problem_rows.append(start.get("index", -1))
    return _Service(
        checked,
        problems,
        {"operations_checked": checked, "operations_timed_out": timed_out},
        problem_rows,
    )


def _election_problem(
    healthy: Sequence[str],
    bounds: LivenessBounds,
    since: str,
    elected: tuple[float, str] | None,
) -> Problem:
    """L1 missed: no leader among ``healthy`` by ``bounds.elected_by_ms``; ``elected`` is
    when one was elected after all, if ever."""
    when = f"only at {elected[0]:g} ms ({elected[1]})" if elected else "never"
    return Problem(
        bounds.elected_by_ms,
        f"no leader among {', '.join(healthy)} within {bounds.election_bound_ms:g} ms "
        f"{since}: elected {when}",
    )


def _operation_problem(start: Mapping[str, Any], deadline_ms: float, why: str) -> Problem:
    """A client operation (its invocation row) that missed ``deadline_ms``, and ``why``."""
    return Problem(
        deadline_ms,
        f"client process {start['process']} {start['f']} {start['key']!r} invoked at "
        f"{float(start['time']):g} ms{why}",
        key=start["key"],
    )


@dataclass(frozen=True, slots=True)
class LoadProgress:
    """Where the load phase stood at the end of a run: ``batches`` in all, the batch in
    flight (``pending``, 1 up; 0 when every batch was acknowledged) and when it was
    first sent (virtual ms)."""

    batches: int
    pending: int
    pending_since_ms: float


def judge_storm(at_ms: float, storm: str) -> CheckResult:
    """L6 of the module rules: the verdict of a run a message storm ended at ``at_ms``."""
    problem = Problem(at_ms, f"the run was cut short at {at_ms:g} ms by {storm}")
    details = {
        "storm_at_ms": at_ms,
        "violations": [problem.text],
        "problems": [problem.to_json()],
        "violation_count": 1,
    }
    return CheckResult(
        CHECK_NAME, CheckStatus.VIOLATION, f"1 liveness problem(s); first: {problem.text}", details
    )


def judge_halts(result: CheckResult, halts: Sequence[Problem]) -> CheckResult:
    """L7 of the module rules: ``result`` (the liveness verdict, whatever it was) with the
    needless halts added as violations; unchanged when there were none."""
    if not halts:
        return result
    details: dict[str, Any] = dict(result.details)
    texts = [problem.text for problem in halts]
    earlier = [] if result.status is not CheckStatus.VIOLATION else details.get("violations", [])
    problems = [] if result.status is not CheckStatus.VIOLATION else details.get("problems", [])
    details["violations"] = [*texts, *earlier][:_MAX_REPORTED]
    details["problems"] = [*(p.to_json() for p in halts), *problems][:_MAX_REPORTED]
    count = len(halts) + (
        int(details.get("violation_count", 0)) if result.status is CheckStatus.VIOLATION else 0
    )
    details["violation_count"] = count
    return CheckResult(
        CHECK_NAME,
        CheckStatus.VIOLATION,
        f"{count} liveness problem(s); first: {texts[0]}",
        details,
    )


def judge_load(result: CheckResult, load: LoadProgress, duration_ms: float) -> CheckResult:
    """L5 of the module rules: ``result`` (the liveness verdict, whatever it was) with a
    load that did not finish taken into account; unchanged when the load finished."""
    if load.pending == 0:
        return result
    details: dict[str, Any] = {
        **result.details,
        "load_batches": load.batches,
        "load_pending_batch": load.pending,
        "load_pending_since_ms": load.pending_since_ms,
    }
    stuck = (
        f"the load phase's batch {load.pending} of {load.batches} (client c0, request "
        f"{load.pending}), first sent at {load.pending_since_ms:g} ms, was never acknowledged"
    )
    if result.status in (CheckStatus.OK, CheckStatus.VIOLATION):
        due_ms = max(load.pending_since_ms, details["quiet_from_ms"]) + details["bound_ms"]
        if due_ms <= duration_ms:
            problem = Problem(due_ms, f"{stuck} (due by {due_ms:g} ms): the clients never started")
            details["violations"] = [problem.text, *details.get("violations", ())][:_MAX_REPORTED]
            details["problems"] = [problem.to_json(), *details.get("problems", ())][:_MAX_REPORTED]
            details["violation_count"] = int(details.get("violation_count", 0)) + 1
            return CheckResult(
                CHECK_NAME,
                CheckStatus.VIOLATION,
                f"{details['violation_count']} liveness problem(s); first: {problem.text}",
                details,
                Implicated(
                    history_rows=result.implicated.history_rows,
                    requests=(("c0", load.pending), *result.implicated.requests),
                ),
            )
        if result.status is CheckStatus.VIOLATION:
            return replace(result, details=details)  # failed already; the load is not due
        why = f"the run ended before it was due ({due_ms:g} ms)"
    elif result.summary.startswith("not applicable: "):
        why = f"liveness is {result.summary}"
    else:
        why = f"liveness was {result.summary}"
    return CheckResult(
        CHECK_NAME,
        CheckStatus.UNKNOWN,
        f"inconclusive: {stuck} by the end of the run at {duration_ms:g} ms, so the clients "
        f"never started and the checks judged no operation; {why}",
        details,
    )
