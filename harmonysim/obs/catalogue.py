"""The catalogue: every metric the cluster maintains, defined in this one place.

Rules:
- ``ClusterMetrics`` registers the whole catalogue on a ``Registry`` and exposes
  each metric as a typed attribute; the wiring binds children once per node
  (``metrics.raft_term.labels("n1")``) and updates them inline.
- Labels are closed vocabularies where one exists: ``role`` is a Raft role
  (§5.1, plus thesis §9.6 pre-candidate), ``result`` an outcome, ``type`` a
  message class name, ``node_kind`` ``leaf`` or ``internal``.
- Times are seconds (Prometheus base unit) although the simulation counts
  microseconds; histogram buckets are chosen for simulated LAN latencies.
- ``metrics_from_events`` (in ``events.py``) fills the same catalogue from an
  event log, so an inline registry and a derived one can be compared.
"""

from __future__ import annotations

from harmonysim.obs.metrics import Counter, Gauge, Histogram, Registry

__all__ = ["LATENCY_BUCKETS_SECONDS", "RAFT_ROLES", "ClusterMetrics"]

LATENCY_BUCKETS_SECONDS = (
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.2,
    0.5,
    1.0,
    2.0,
    5.0,
)

RAFT_ROLES = ("follower", "pre_candidate", "candidate", "leader")


class ClusterMetrics:
    """The catalogue, registered on ``registry`` (see the module docstring)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        r = registry
        node = ("node",)
        # -- Raft (§5.1 roles, §5.2 elections, §5.3 replication, §5.4 commitment) --
        self.raft_role: Gauge = r.gauge(
            "harmonysim_raft_role",
            "1 for the role a server is in, 0 for the others",
            ("node", "role"),
        )
        self.raft_term: Gauge = r.gauge("harmonysim_raft_term", "current term of a server", node)
        self.raft_commit_index: Gauge = r.gauge(
            "harmonysim_raft_commit_index", "highest log index known committed", node
        )
        self.raft_applied_index: Gauge = r.gauge(
            "harmonysim_raft_applied_index", "highest log index applied to the B+ tree", node
        )
        self.raft_log_length: Gauge = r.gauge(
            "harmonysim_raft_log_length",
            "last log index (entries ever appended, incl. snapshot)",
            node,
        )
        self.raft_leader: Gauge = r.gauge(
            "harmonysim_raft_leader",
            "1 for the leader a server currently knows",
            ("node", "leader"),
        )
        self.raft_peers: Gauge = r.gauge(
            "harmonysim_raft_peers", "voting members in a server's configuration", node
        )
        self.raft_elections: Counter = r.counter(
            "harmonysim_raft_elections_total",
            "elections a server ran, by result",
            ("node", "result"),
        )
        self.raft_votes_granted: Counter = r.counter(
            "harmonysim_raft_votes_granted_total", "votes a server granted (its own included)", node
        )
        self.raft_append_entries: Counter = r.counter(
            "harmonysim_raft_append_entries_total",
            "AppendEntries handled by a follower, by result",
            ("node", "result"),
        )
        self.raft_leader_changes: Counter = r.counter(
            "harmonysim_raft_leader_changes_total", "times a server became leader", node
        )
        self.raft_replication_latency: Histogram = r.histogram(
            "harmonysim_raft_replication_latency_seconds",
            "from the leader persisting an entry to a follower persisting it",
            ("node",),
            LATENCY_BUCKETS_SECONDS,
        )
        self.raft_commit_latency: Histogram = r.histogram(
            "harmonysim_raft_commit_latency_seconds",
            "from the leader proposing a client's entry to committing it",
            ("node",),
            LATENCY_BUCKETS_SECONDS,
        )
        self.raft_snapshots: Counter = r.counter(
            "harmonysim_raft_snapshots_total", "snapshots taken (compactions)", node
        )
        # -- the B+ tree state machine --
        self.btree_operations: Counter = r.counter(
            "harmonysim_btree_operations_total",
            "B+ tree operations (writes each replica applied, reads the leader served), by "
            "operation and result",
            ("node", "op", "result"),
        )
        self.btree_splits: Counter = r.counter(
            "harmonysim_btree_splits_total", "node splits, by node kind", ("node", "node_kind")
        )
        self.btree_merges: Counter = r.counter(
            "harmonysim_btree_merges_total", "node merges, by node kind", ("node", "node_kind")
        )
        self.btree_borrows: Counter = r.counter(
            "harmonysim_btree_borrows_total",
            "key redistributions between siblings",
            ("node", "node_kind"),
        )
        self.btree_depth: Gauge = r.gauge(
            "harmonysim_btree_depth", "levels from root to leaves", node
        )
        self.btree_nodes: Gauge = r.gauge(
            "harmonysim_btree_nodes", "tree nodes (leaves + internal)", node
        )
        self.btree_fill_ratio: Gauge = r.gauge(
            "harmonysim_btree_fill_ratio", "mean keys per node over its capacity", node
        )
        # -- the network --
        self.network_messages_sent: Counter = r.counter(
            "harmonysim_network_messages_sent_total", "messages sent, by type", ("src", "type")
        )
        self.network_messages_delivered: Counter = r.counter(
            "harmonysim_network_messages_delivered_total",
            "message copies delivered, by type",
            ("dst", "type"),
        )
        self.network_messages_dropped: Counter = r.counter(
            "harmonysim_network_messages_dropped_total",
            "messages dropped, by type and reason",
            ("type", "reason"),
        )
        self.network_messages_duplicated: Counter = r.counter(
            "harmonysim_network_messages_duplicated_total",
            "messages duplicated, by type",
            ("type",),
        )
        self.network_message_latency: Histogram = r.histogram(
            "harmonysim_network_message_latency_seconds",
            "from send to delivery",
            ("type",),
            LATENCY_BUCKETS_SECONDS,
        )
        # -- clients: performance as users see it --
        self.client_operations: Counter = r.counter(
            "harmonysim_client_operations_total",
            "completed operations, by op and result",
            ("op", "result"),
        )
        self.client_operation_latency: Histogram = r.histogram(
            "harmonysim_client_operation_latency_seconds",
            "from invoke to completion, by op and result",
            ("op", "result"),
            LATENCY_BUCKETS_SECONDS,
        )
        self.client_redirects: Counter = r.counter(
            "harmonysim_client_redirects_total",
            "replies asking a client to go elsewhere",
            ("status",),
        )
        # -- hosts and disks (what an operator's exporter sees of the machine) --
        self.node_up: Gauge = r.gauge(
            "harmonysim_node_up",
            "1 while a server's host runs and answers, 0 while it is crashed or paused",
            node,
        )
        self.clock_skew: Gauge = r.gauge(
            "harmonysim_clock_skew_seconds",
            "a server's wall clock minus true time (drift, steps and strobes of its clock)",
            node,
        )
        self.disk_fsync_latency: Histogram = r.histogram(
            "harmonysim_disk_fsync_latency_seconds",
            "from an fsync's start to its writes being durable (fsyncs a crash cut are not seen)",
            node,
            LATENCY_BUCKETS_SECONDS,
        )
        self.disk_corruptions_detected: Counter = r.counter(
            "harmonysim_disk_corruptions_detected_total",
            "records a server read back damaged or could not read (at a restart), by file",
            ("node", "file"),
        )
        # -- faults --
        self.faults: Counter = r.counter(
            "harmonysim_faults_total", "faults injected, by kind", ("kind",)
        )
        # -- the tracer itself --
        self.trace_spans: Counter = r.counter(
            "harmonysim_trace_spans_total", "spans finished, by what happened to them", ("outcome",)
        )

    def set_role(self, node: str, role: str) -> None:
        """Set the role state set of ``node``: 1 for ``role``, 0 for every other role."""
        for candidate in RAFT_ROLES:
            self.raft_role.labels(node, candidate).set(1 if candidate == role else 0)

    def set_leader(self, node: str, leader: str | None, previous: str | None) -> None:
        """Record that ``node`` now knows ``leader`` (None: no leader known)."""
        if previous is not None and previous != leader:
            self.raft_leader.labels(node, previous).set(0)
        if leader is not None:
            self.raft_leader.labels(node, leader).set(1)
