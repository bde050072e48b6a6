"""Property-based testing for harmonysim users: scenario strategies and a Raft cluster machine.

- ``harmonysim.testing.strategies``: hypothesis strategies that generate whole,
  valid scenarios (clusters, networks, workloads, fault schedules of every kind).
- ``harmonysim.testing.cluster_machine``: a hypothesis ``RuleBasedStateMachine``
  that drives pure Raft cores and key-value state machines message by message,
  with the Raft safety checks as its invariants.
"""
