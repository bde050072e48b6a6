"""The seeded RNG tree: one root seed expands into independent named substreams.

Rules:
- Every random draw in a run comes from ``RngTree.stream(name)``. A stream is a
  ``random.Random`` seeded with the string ``"{seed}/{name}"``; CPython hashes str
  seeds with SHA-512, so draws do not depend on PYTHONHASHSEED.
- Streams are independent: adding a new consumer (a new name) never changes the
  draws of existing ones, so a new feature does not reshuffle old seeds' runs.
- Names are paths such as ``net/n1->n2`` or ``node/n3/raft/2``; the same name
  always yields a fresh stream in the same state.
"""

from __future__ import annotations

import random

from harmonysim.obs.tracing import RandomIds

__all__ = ["RngTree"]


class RngTree:
    """Named, independent random substreams of one root seed."""

    __slots__ = ("seed",)

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def stream(self, name: str) -> random.Random:
        """A new ``random.Random`` for ``name``; equal names give equal streams."""
        return random.Random(f"{self.seed}/{name}")

    def ids(self, name: str) -> RandomIds:
        """A source of 64/128-bit ids (trace and span ids) for ``name``: the stream
        ``ids/{name}`` as an ``obs.tracing.IdSource``."""
        return RandomIds(self.stream(f"ids/{name}"))
