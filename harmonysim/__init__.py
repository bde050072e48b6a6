"""harmonysim: a deterministic discrete-event testbed for a Raft-replicated B+ tree KV store."""

from harmonysim.compiled import select as _select

__version__ = "0.1.0"

# Before any other module of the package: which build (compiled or pure) this process runs.
_select()
