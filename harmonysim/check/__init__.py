"""Judging a run: Raft safety, linearizability, B+ tree and replica invariants, liveness.

- ``harmonysim.check.raft_safety``: ``RaftSafetyMonitor``, online from ``raft.*``
  events and on the final server states (Raft paper Figure 3 and Figure 2).
- ``harmonysim.check.linearizability`` / ``models`` / ``history``: the
  Wing & Gong / Lowe search over client histories (register and kv models).
- ``harmonysim.check.run_history``: a run's own history against the kv model.
- ``harmonysim.check.replicas``: B+ tree invariants and equal replicas.
- ``harmonysim.check.liveness``: a leader and answers after the last fault.
- ``harmonysim.check.suite``: ``RunChecks``, the checks a scenario asks for, wired
  into a run; ``harmonysim.check.result``: ``CheckStatus`` and ``CheckResult``.

Checkers only read what a run produced; they never change it.
"""

from harmonysim.check.result import CheckResult, CheckStatus, overall_status

__all__ = ["CheckResult", "CheckStatus", "overall_status"]
