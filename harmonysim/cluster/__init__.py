"""The database on virtual nodes: KV servers (Raft + B+ tree + disk), clients, workload, history."""

from harmonysim.cluster.cluster import Cluster
from harmonysim.cluster.server import KVServer

__all__ = ["Cluster", "KVServer"]
