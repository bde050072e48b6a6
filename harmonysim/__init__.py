"""harmonysim: a deterministic discrete-event testbed for a Raft-replicated B+ tree KV store."""

__version__ = "0.1.0"
