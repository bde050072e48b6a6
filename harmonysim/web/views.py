"""The JSON each dashboard view draws, computed from a ``RunIndex`` (no HTTP here).

Rules:
- Every payload is plain JSON data, deterministic for a given index and query:
  nodes sorted by id, links sorted, operations in invoke order.
- Times are virtual milliseconds; a query time past the end of the run is read
  as the end of the run.
- The leader's view of its followers is what the log shows of them (Raft §5.3):
  ``match`` is the highest index at which the follower's stable log agrees with
  the leader's (same index, same term -- the Log Matching property), ``lag`` is
  the leader's last index minus that, and ``last_contact_ms`` is how long ago a
  message from the leader was last delivered to the follower.
- Failures first: a run's payload lists its checks' violations on the clock
  (``harmonysim.runlog.violations``) and ``open_ms``, the time the pages open at:
  the first violation (at most the end of the run), else 0. A ``t`` in the page's
  URL still wins; a live run has no checks until it finishes, so it opens at 0
  too (its pages follow the live end).
"""

from __future__ import annotations

from typing import Any

from harmonysim.runlog.faultmarks import fault_label, fault_marks, mark_node
from harmonysim.runlog.violations import violations_from_checks
from harmonysim.viz.derive import outage_spans, outside_spans, role_spans
from harmonysim.web.index import ClientOp, LogEntry, RunIndex

__all__ = [
    "history_payload",
    "network_payload",
    "raft_payload",
    "run_payload",
    "state_payload",
    "timeline_payload",
]

CONTACT_HORIZON_MS = 5000.0
MAX_IN_FLIGHT = 300


def _clamp(index: RunIndex, t_ms: float) -> float:
    return min(max(t_ms, 0.0), index.end_ms)


def run_payload(run_id: str, mode: str, index: RunIndex) -> dict[str, Any]:
    info = index.run_info
    scenario = info.get("scenario", {})
    duration_ms = float(info.get("summary", {}).get("virtual_ms", index.end_ms) or 0.0)
    checks = info.get("checks", {})
    violations = violations_from_checks(checks, duration_ms) if isinstance(checks, dict) else []
    return {
        "id": run_id,
        "mode": mode,
        "name": scenario.get("name"),
        "description": scenario.get("description"),
        "seed": info.get("seed"),
        "duration_ms": duration_ms,
        "end_ms": index.end_ms,
        "finished": index.finished,
        "event_count": index.event_count,
        "event_hash": info.get("event_hash"),
        "nodes": index.nodes,
        "clients": index.clients,
        "btree_order": scenario.get("cluster", {}).get("btree", {}).get("order"),
        "summary": info.get("summary", {}),
        "checks": checks,
        "violations": [violation.to_json() for violation in violations],
        "open_ms": min(violations[0].time_ms, index.end_ms) if violations else 0.0,
        "faults": [
            {
                "t_ms": float(record["t"]),
                "kind": record["kind"],
                "node": mark_node(record),
                "label": fault_label(record),
            }
            for record in index.faults
        ],
    }


def state_payload(index: RunIndex, t_ms: float) -> dict[str, Any]:
    with index.lock:
        state = index.state_at(_clamp(index, t_ms))
        payload = state.to_json()
        payload["end_ms"] = index.end_ms
        payload["finished"] = index.finished
        payload["event_count"] = index.event_count
        return payload


def network_payload(index: RunIndex, t_ms: float, window_ms: float) -> dict[str, Any]:
    """Messages between servers in flight at ``t_ms`` and per-link counts over the window."""
    with index.lock:
        t_ms = _clamp(index, t_ms)
        servers = set(index.nodes)
        links: dict[tuple[str, str], dict[str, int]] = {}
        in_flight: list[dict[str, Any]] = []
        for message in index.messages_between(t_ms - window_ms, t_ms):
            if message.src not in servers or message.dst not in servers:
                continue
            counts = links.setdefault(
                (message.src, message.dst), {"sent": 0, "delivered": 0, "dropped": 0}
            )
            counts["sent"] += 1
            end = message.end_ms
            if end is not None and end <= t_ms:
                counts["delivered" if message.deliver_ms is not None else "dropped"] += 1
            elif len(in_flight) < MAX_IN_FLIGHT:
                arrival = end if end is not None else index.end_ms
                span = max(arrival - message.send_ms, 1e-6)
                in_flight.append(
                    {
                        "id": message.id,
                        "src": message.src,
                        "dst": message.dst,
                        "type": message.type,
                        "progress": round(min(1.0, (t_ms - message.send_ms) / span), 3),
                        "fate": "drop" if message.drop_ms is not None else "deliver",
                    }
                )
        return {
            "t_ms": t_ms,
            "window_ms": window_ms,
            "links": [{"src": src, "dst": dst, **links[(src, dst)]} for src, dst in sorted(links)],
            "in_flight": in_flight,
        }


def timeline_payload(index: RunIndex) -> dict[str, Any]:
    """Role and health intervals per node over the whole run, when each was outside the
    configuration (thesis §4.1), each term's leader, and the marks of the faults the
    roles and health do not show (``harmonysim.runlog.faultmarks``) on the lane of the
    server they hit."""
    with index.lock:
        end_ms = index.end_ms
        nodes = index.nodes
        roles: dict[str, list[dict[str, Any]]] = {node: [] for node in nodes}
        for role in role_spans(index.lifecycle, nodes, end_ms):
            roles[role.node].append(
                {
                    "start_ms": role.start_ms,
                    "end_ms": role.end_ms,
                    "role": role.role.value,
                    "term": role.term,
                }
            )
        leaders = [
            {"t_ms": float(record["t"]), "term": record["term"], "leader": str(record["node"])}
            for record in index.roles
            if record["role"] == "leader"
        ]
        health: dict[str, list[dict[str, Any]]] = {node: [] for node in nodes}
        for outage in outage_spans(index.lifecycle, nodes, end_ms):
            health[outage.node].append(
                {
                    "start_ms": outage.start_ms,
                    "end_ms": outage.end_ms,
                    "health": outage.outage.value,
                }
            )
        outside: dict[str, list[dict[str, float]]] = {node: [] for node in index.nodes}
        for span in outside_spans(index.membership, index.nodes, end_ms):
            outside[span.node].append({"start_ms": span.start_ms, "end_ms": span.end_ms})
        marks: dict[str, list[dict[str, Any]]] = {node: [] for node in nodes}
        for mark in fault_marks(index.faults, end_ms):
            if mark.node in marks:
                marks[mark.node].append(
                    {
                        "kind": mark.kind.name.lower(),
                        "name": mark.kind.value,
                        "start_ms": mark.start_ms,
                        "end_ms": mark.end_ms,
                        "label": mark.label,
                        "short": mark.short,
                        "peer": mark.peer,
                    }
                )
        return {
            "end_ms": end_ms,
            "nodes": index.nodes,
            "roles": roles,
            "health": health,
            "outside": outside,
            "marks": marks,
            "leaders": leaders,
            "elections": sum(1 for record in index.roles if record["role"] == "candidate"),
        }


def _entry_json(entry: LogEntry, commit_index: int, applied_index: int) -> dict[str, Any]:
    return {
        "index": entry.index,
        "term": entry.term,
        "id": entry.id,
        "committed": entry.index <= commit_index,
        "applied": entry.index <= applied_index,
    }


def raft_payload(index: RunIndex, t_ms: float, limit: int) -> dict[str, Any]:
    """Per-node stable logs (the last ``limit`` entries), and the leader's view of followers."""
    with index.lock:
        t_ms = _clamp(index, t_ms)
        state = index.state_at(t_ms)
        logs: dict[str, tuple[int, list[LogEntry]]] = {
            node: index.log_at(node, t_ms) for node in index.nodes
        }
        nodes: list[dict[str, Any]] = []
        for node in index.nodes:
            node_state = state.nodes[node]
            snapshot_index, log = logs[node]
            nodes.append(
                {
                    "id": node,
                    **node_state.to_json(),
                    "log_length": len(log),
                    "log_snapshot_index": snapshot_index,
                    "entries": [
                        _entry_json(entry, node_state.commit_index, node_state.applied_index)
                        for entry in log[-limit:]
                    ],
                }
            )
        leader = state.leader
        followers: list[dict[str, Any]] = []
        if leader is not None:
            leader_snapshot, leader_log = logs[leader]
            leader_terms = {entry.index: entry.term for entry in leader_log}
            leader_last = state.nodes[leader].last_index
            for node in index.nodes:
                if node == leader:
                    continue
                follower_snapshot, follower_log = logs[node]
                match = min(follower_snapshot, leader_snapshot)
                for entry in reversed(follower_log):
                    if leader_terms.get(entry.index) == entry.term:
                        match = entry.index
                        break
                contact = index.last_contact(leader, node, t_ms, CONTACT_HORIZON_MS)
                followers.append(
                    {
                        "id": node,
                        "match_index": match,
                        "last_index": state.nodes[node].last_index,
                        "lag": max(0, leader_last - match),
                        "last_contact_ms": None if contact is None else round(t_ms - contact, 3),
                        "health": state.nodes[node].health.value,
                        "cut": (leader, node) in state.cut,
                    }
                )
        return {
            "t_ms": t_ms,
            "leader": leader,
            "nodes": nodes,
            "followers": followers,
        }


def _check_indices(details: Any) -> set[int]:
    """History line numbers a check's details cite (keys naming an index or operations)."""
    found: set[int] = set()
    if isinstance(details, dict):
        for key, value in details.items():
            lowered = str(key).lower()
            if "index" in lowered or "indices" in lowered or lowered == "ops":
                if isinstance(value, int) and not isinstance(value, bool):
                    found.add(value)
                elif isinstance(value, list):
                    found.update(
                        item
                        for item in value
                        if isinstance(item, int) and not isinstance(item, bool)
                    )
            found |= _check_indices(value)
    elif isinstance(details, list):
        for item in details:
            found |= _check_indices(item)
    return found


def _op_json(op: ClientOp, flagged: bool) -> dict[str, Any]:
    return {**op.to_json(), "flagged": flagged}


def history_payload(
    index: RunIndex, t0_ms: float, t1_ms: float, client: str | None, limit: int
) -> dict[str, Any]:
    """Client operations overlapping ``[t0_ms, t1_ms]``, with failed checks' citations."""
    with index.lock:
        checks: list[dict[str, Any]] = []
        cited: set[int] = set()
        for name, result in sorted(index.run_info.get("checks", {}).items()):
            if not isinstance(result, dict):
                continue
            status = str(result.get("status", "unknown"))
            indices = _check_indices(result.get("details", {})) if status == "violation" else set()
            cited |= indices
            checks.append(
                {
                    "name": name,
                    "status": status,
                    "summary": result.get("summary", ""),
                    "cited": sorted(indices),
                }
            )
        ops: list[dict[str, Any]] = []
        total = 0
        for op in index.ops:
            end = op.end_ms if op.end_ms is not None else index.end_ms
            if end < t0_ms or op.start_ms > t1_ms:
                continue
            if client is not None and op.client != client:
                continue
            total += 1
            if len(ops) < limit:
                flagged = op.history_indices[0] in cited or op.history_indices[1] in cited
                ops.append(_op_json(op, flagged))
        return {
            "t0_ms": t0_ms,
            "t1_ms": t1_ms,
            "end_ms": index.end_ms,
            "clients": index.clients,
            "total": total,
            "truncated": total > len(ops),
            "ops": ops,
            "checks": checks,
        }
