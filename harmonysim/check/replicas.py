"""The replicated state machines at the end of a run: B+ tree invariants and replica agreement.

Rules:
- Every live server's B+ tree passes ``check_invariants()`` (ordering, fill,
  depth, leaf chain, counts; see ``harmonysim.btree.invariants``).
- Replicas that applied the same prefix of the log hold the same store: servers
  are grouped by ``raft.applied_index`` and, within a group, ``tree.snapshot()``
  must be identical (State Machine Safety seen from the data, Raft §5.4.3: the
  same commands in the same order give the same state). A difference names the
  first key where the stores disagree and the value each replica holds.
- Crashed servers have no state to inspect and are left out; the result says so.
- Membership (thesis §4.1): a server removed from the configuration stops hearing
  from the leader and so stops applying; it is still compared, at the index where
  it stopped, with the servers that applied exactly as far. A spare never added has
  applied nothing. The result lists the servers outside the final configuration.
- A server whose state machine raised (``server.panic``: a tree op or a restore from a
  snapshot failed, and the server stopped for good) is a violation, rule
  ``state_machine_failed``, at the panic's time: a store that raises is broken, even
  if the trees still alive pass.
- The check only reads: it never changes a tree or a server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from harmonysim.check.result import CheckResult, CheckStatus, Implicated

if TYPE_CHECKING:
    from harmonysim.cluster.server import KVServer

__all__ = ["check_replicas", "first_difference"]

CHECK_NAME = "btree_invariants"
_MAX_REPORTED = 10


def first_difference(
    left: Sequence[tuple[Any, Any]], right: Sequence[tuple[Any, Any]]
) -> tuple[Any, Any, Any] | None:
    """(key, left value, right value) at the first key where two sorted item lists differ;
    a missing key shows as value None. None when they are equal."""
    position = 0
    other = 0
    while position < len(left) or other < len(right):
        if position < len(left) and other < len(right):
            (key_a, value_a), (key_b, value_b) = left[position], right[other]
            if key_a == key_b:
                if value_a != value_b:
                    return key_a, value_a, value_b
                position += 1
                other += 1
            elif key_a < key_b:
                return key_a, value_a, None
            else:
                return key_b, None, value_b
        elif position < len(left):
            return left[position][0], left[position][1], None
        else:
            return right[other][0], None, right[other][1]
    return None


def check_replicas(
    servers: Sequence[tuple[str, KVServer]],
    node_count: int,
    configuration: Sequence[str] | None = None,
    panics: Sequence[Mapping[str, Any]] = (),
) -> CheckResult:
    """B+ tree invariants on every live server, and equal stores at equal applied index.
    ``configuration`` is the final configuration (default: every server). ``panics`` are
    the ``server.panic`` records of the run: a store that raised is broken whatever the
    live trees say."""
    problems: list[dict[str, Any]] = [
        {
            "rule": "state_machine_failed",
            "nodes": [panic["node"]],
            "at_ms": panic["t"],
            "message": (
                f"{panic['node']}'s state machine failed during {panic['during']} of index "
                f"{panic['index']} at {panic['t']:g} ms: {panic['error']}"
            ),
        }
        for panic in panics
        if panic["during"] != "raft"  # the Raft core raised: raft_safety's node_invariants
    ]
    groups: dict[int, list[tuple[str, tuple[tuple[Any, Any], ...]]]] = {}
    for node, server in servers:
        tree = server.machine.tree
        try:
            tree.check_invariants()
        except AssertionError as error:
            problems.append({"rule": "btree_invariants", "nodes": [node], "message": str(error)})
        applied = server.raft.applied_index
        groups.setdefault(applied, []).append((node, tree.snapshot()))
    compared = 0
    for applied in sorted(groups):
        members = groups[applied]
        reference_node, reference = members[0]
        for node, items in members[1:]:
            compared += 1
            difference = first_difference(reference, items)
            if difference is None:
                continue
            key, ours, theirs = difference
            problems.append(
                {
                    "rule": "replicas_agree",
                    "nodes": [reference_node, node],
                    "applied_index": applied,
                    "key": key,
                    "message": (
                        f"{reference_node} and {node} both applied up to index {applied} but "
                        f"differ at key {key!r}: {ours!r} vs {theirs!r}"
                    ),
                }
            )
    live = [node for node, _ in servers]
    details: dict[str, Any] = {
        "nodes_checked": live,
        "nodes_down": node_count - len(live),
        "replica_pairs_compared": compared,
        "applied_index": {node: server.raft.applied_index for node, server in servers},
    }
    outside = [node for node in live if configuration is not None and node not in configuration]
    if configuration is not None:
        details["configuration"] = list(configuration)
        details["outside_configuration"] = outside
    if problems:
        details["violations"] = problems[:_MAX_REPORTED]
        details["violation_count"] = len(problems)
        first = problems[0]
        return CheckResult(
            CHECK_NAME,
            CheckStatus.VIOLATION,
            f"{len(problems)} problem(s); first: {first['message']}",
            details,
            # The keys replicas disagree on: their last writes are what to look at.
            Implicated(keys=tuple(dict.fromkeys(p["key"] for p in problems if "key" in p))),
        )
    down = f", {node_count - len(live)} down" if node_count > len(live) else ""
    if outside:
        down += f", {len(outside)} outside the configuration"
    return CheckResult(
        CHECK_NAME,
        CheckStatus.OK,
        f"{len(live)} trees valid{down}; {compared} replica pair(s) at equal applied index agree",
        details,
    )
