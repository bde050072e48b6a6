"""The one fold (``harmonysim.runlog.fold``) against the state recomputed naively.

The naive recomputation reads each field of the state straight off the events before
``t`` ("the last record that sets it wins", counts over all records), as the fold's
rules state them, without any incremental state: an independent statement of the
same rules.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harmonysim.runlog.fold import TRANSITIONS, ClusterState, Health, fold
from harmonysim.runlog.folder import RunFolder
from harmonysim.runlog.vocabulary import EventKind, natural_key
from harmonysim.runner import run_scenario
from harmonysim.scenario import Scenario
from harmonysim.sim.events import read_events
from harmonysim.testing.strategies import scenarios
from harmonysim.web.index import RunIndex

Record = dict[str, Any]

_UNSET = object()


def _last(records: Sequence[Record], node: str, read: dict[str, Callable[[Record], Any]]) -> Any:
    """The value the last of ``node``'s records of the kinds in ``read`` gives."""
    for record in reversed(records):
        if record["node"] == node and record["kind"] in read:
            return read[record["kind"]](record)
    return _UNSET


def _or(value: Any, default: Any) -> Any:
    return default if value is _UNSET else value


def _tree_nodes(records: Sequence[Record], node: str) -> int | None:
    """The count after the last reset (start, restart, crash, clear, restore), plus the
    changes since."""
    mine = [r for r in records if r["node"] == node]
    start, count = 0, 1
    for position in range(len(mine) - 1, -1, -1):
        record = mine[position]
        kind, reason = record["kind"], record.get("reason")
        if kind == EventKind.NODE_RESTART or (kind == EventKind.BTREE_ROOT and reason == "clear"):
            start, count = position + 1, 1
            break
        if kind == EventKind.NODE_CRASH:
            return None
        if kind == EventKind.BTREE_ROOT and reason == "restore":
            if record.get("node_count") is None:
                return None
            start, count = position + 1, int(record["node_count"])
            break
    for record in mine[start:]:
        kind, reason = record["kind"], record.get("reason")
        if kind == EventKind.BTREE_SPLIT or (
            kind == EventKind.BTREE_ROOT and reason == "root_split"
        ):
            count += 1
        elif kind == EventKind.BTREE_MERGE or (
            kind == EventKind.BTREE_ROOT and reason == "root_collapse"
        ):
            count -= 1
    return count


def _last_index(record: Record) -> Any:
    if record["kind"] == EventKind.RAFT_RECOVER:
        return record["last_index"]
    if record.get("entries"):
        return record["entries"][-1][0]
    if record.get("snapshot") is not None:
        return record["snapshot"][0]
    return _UNSET


def naive_node(records: Sequence[Record], node: str) -> dict[str, Any]:
    crash = EventKind.NODE_CRASH
    restart = EventKind.NODE_RESTART
    recover = EventKind.RAFT_RECOVER
    persists = [
        r for r in records if r["kind"] in (EventKind.RAFT_PERSIST, recover) and r["node"] == node
    ]
    last_index = _UNSET
    for record in reversed(persists):
        last_index = _last_index(record)
        if last_index is not _UNSET:
            break
    return {
        "role": _or(
            _last(
                records,
                node,
                {
                    EventKind.RAFT_ROLE: lambda r: r["role"],
                    recover: lambda r: "follower",
                    crash: lambda r: None,
                    restart: lambda r: "follower",
                },
            ),
            "follower",
        ),
        "term": _or(
            _last(
                records,
                node,
                {
                    kind: lambda r: r["term"]
                    for kind in (EventKind.RAFT_ROLE, EventKind.RAFT_TERM, recover)
                },
            ),
            0,
        ),
        "leader": _or(
            _last(
                records,
                node,
                {
                    EventKind.RAFT_ROLE: lambda r: r.get("leader"),
                    recover: lambda r: None,
                    crash: lambda r: None,
                    restart: lambda r: None,
                },
            ),
            None,
        ),
        "voted_for": _or(
            _last(
                records,
                node,
                {kind: lambda r: r.get("voted_for") for kind in (EventKind.RAFT_TERM, recover)},
            ),
            None,
        ),
        "commit_index": _or(
            _last(
                records,
                node,
                {EventKind.RAFT_COMMIT: lambda r: r["index"], recover: lambda r: r["commit"]},
            ),
            0,
        ),
        "applied_index": _or(
            _last(
                records,
                node,
                {
                    EventKind.RAFT_APPLY: lambda r: r["index"],
                    EventKind.RAFT_RESTORE: lambda r: r["index"],
                    recover: lambda r: r["snapshot_index"],
                },
            ),
            0,
        ),
        "last_index": _or(last_index, 0),
        "snapshot_index": _or(
            _last(
                [r for r in records if r["kind"] != EventKind.RAFT_PERSIST or r.get("snapshot")],
                node,
                {
                    EventKind.RAFT_PERSIST: lambda r: r["snapshot"][0],
                    EventKind.RAFT_SNAPSHOT: lambda r: r["index"],
                    EventKind.RAFT_RESTORE: lambda r: r["index"],
                    recover: lambda r: r["snapshot_index"],
                },
            ),
            0,
        ),
        "health": _or(
            _last(
                records,
                node,
                {
                    crash: lambda r: Health.DOWN.value,
                    restart: lambda r: Health.UP.value,
                    EventKind.NODE_PAUSE: lambda r: Health.PAUSED.value,
                    EventKind.NODE_RESUME: lambda r: Health.UP.value,
                },
            ),
            Health.UP.value,
        ),
        "tree_depth": _or(
            _last(
                records,
                node,
                {
                    EventKind.BTREE_ROOT: lambda r: r["depth"],
                    crash: lambda r: None,
                    restart: lambda r: 1,
                },
            ),
            1,
        ),
        "tree_nodes": _tree_nodes(records, node),
        "splits": sum(
            1 for r in records if r["node"] == node and r["kind"] == EventKind.BTREE_SPLIT
        ),
        "merges": sum(
            1 for r in records if r["node"] == node and r["kind"] == EventKind.BTREE_MERGE
        ),
        **naive_faults(records, node),
        # Halted by the last halting disk.damage or panic, unless a crash or restart came
        # after.
        "halted": _or(
            _last(
                [
                    r
                    for r in records
                    if r["kind"] != EventKind.DISK_DAMAGE or r.get("action") == "halt"
                ],
                node,
                {
                    EventKind.DISK_DAMAGE: lambda r: True,
                    EventKind.SERVER_PANIC: lambda r: True,
                    crash: lambda r: False,
                    restart: lambda r: False,
                },
            ),
            False,
        ),
    }


def naive_faults(records: Sequence[Record], node: str) -> dict[str, Any]:
    """The clock and slow-disk faults in effect on ``node``: a clock record with ``after``
    gives everything back; since then the last rate, the sum of jumps, any strobe."""
    clocks = [r for r in records if r["node"] == node and r["kind"] == EventKind.NODE_CLOCK]
    since = max((i + 1 for i, r in enumerate(clocks) if "after" in r), default=0)
    rates = [r["rate"] for r in clocks[since:] if r.get("rate") is not None]
    slow = [
        r
        for r in records
        if r["node"] == node and r["kind"] == EventKind.DISK_FAULT and r.get("fault") == "slow"
    ]
    return {
        "clock_rate": rates[-1] if rates else None,
        "clock_step_ms": sum(float(r.get("jump_ms") or 0.0) for r in clocks[since:]),
        "clock_strobe": any(r.get("strobe") is not None for r in clocks[since:]),
        "disk_slow_ms": None if not slow or "after" in slow[-1] else slow[-1]["fsync_ms"],
    }


def naive_transfer(records: Sequence[Record]) -> tuple[str | None, float | None]:
    """The leader transferring and since when: the last ``leader.transfer``, unless its
    node later stopped leading or crashed, or another node took the leader role."""
    starts = [i for i, r in enumerate(records) if r["kind"] == EventKind.LEADER_TRANSFER]
    if not starts:
        return None, None
    start = records[starts[-1]]
    for record in records[starts[-1] + 1 :]:
        mine = record["node"] == start["node"]
        if record["kind"] == EventKind.NODE_CRASH and mine:
            return None, None
        if record["kind"] == EventKind.RAFT_ROLE and mine != (record["role"] == "leader"):
            return None, None
    return str(start["node"]), float(start["t"])


def naive_state(records: Sequence[Record], nodes: Sequence[str]) -> dict[str, Any]:
    """The fold's ``to_json`` (without ``t_ms``, ``seq`` and ``leader``), recomputed."""
    cut: list[list[str]] = []
    partition = None
    for record in records:
        if record["kind"] == EventKind.NET_PARTITION:
            cut = sorted([str(a), str(b)] for a, b in record.get("cut", []))
            partition = record.get("shape", "partition")
        elif record["kind"] == EventKind.NET_HEAL:
            cut, partition = [], None
    links = {
        (str(a), str(b))
        for r in records
        if r["kind"] in (EventKind.NET_CLOG, EventKind.NET_UNCLOG)
        for a, b in r.get("links", [])
    }
    clogged = []
    for link in sorted(links):
        last = None
        for record in records:
            if record["kind"] in (EventKind.NET_CLOG, EventKind.NET_UNCLOG) and list(link) in [
                list(pair) for pair in record.get("links", [])
            ]:
                last = record["kind"]
        if last == EventKind.NET_CLOG:
            clogged.append(list(link))
    members = None
    for record in records:
        if record["kind"] == EventKind.RUN_START:
            members = record.get("members")
        elif record["kind"] == EventKind.MEMBERSHIP and record.get("result") == "committed":
            members = record["voters"]
    steps = [r["result"] for r in records if r["kind"] == EventKind.MEMBERSHIP]
    over = ("committed", "unchanged", "refused", "unfinished")
    transfer_from, transfer_since = naive_transfer(records)
    return {
        "nodes": [{"id": node, **naive_node(records, node)} for node in sorted(nodes)],
        "cut": cut,
        "clogged": clogged,
        "partition": partition,
        "members": None if members is None else list(members),
        # Requests are served one at a time, in order: each is opened before it closes.
        "membership_open": steps.count("requested") - sum(steps.count(end) for end in over),
        "transfer_from": transfer_from,
        "transfer_since_ms": transfer_since,
    }


def _comparable(state: ClusterState) -> dict[str, Any]:
    data = state.to_json()
    for key in ("t_ms", "seq", "leader"):
        del data[key]
    return data


def _servers(records: Sequence[Record]) -> list[str]:
    return sorted(
        {str(r["node"]) for r in records if r["kind"] == EventKind.RAFT_RECOVER}, key=natural_key
    )


def _check_at(records: Sequence[Record], index: RunIndex, t_ms: float) -> None:
    before = [r for r in records if float(r["t"]) <= t_ms]
    nodes = _servers(records)
    expected = naive_state(before, nodes)
    assert _comparable(fold(before, nodes)) == expected, f"fold at {t_ms} ms"
    assert _comparable(index.state_at(t_ms)) == expected, f"dashboard index at {t_ms} ms"


@pytest.fixture(scope="module")
def churn_index(churn_events: list[Record]) -> RunIndex:
    return _index(churn_events)


def _index(records: Sequence[Record]) -> RunIndex:
    index = RunIndex({}, _servers(records))
    index.feed_all(records)
    return index


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.floats(0.0, 1.0))
def test_fold_at_any_time_equals_the_naive_state_in_a_churning_run(
    churn_events: list[Record], churn_index: RunIndex, fraction: float
) -> None:
    _check_at(churn_events, churn_index, round(fraction * float(churn_events[-1]["t"]), 3))


def test_the_churning_run_exercises_every_transition(churn_events: list[Record]) -> None:
    kinds = {record["kind"] for record in churn_events}
    # A panic needs a broken state machine: its transition has a test of its own below.
    assert set(TRANSITIONS) - {EventKind.SERVER_PANIC} <= kinds
    reasons = {r.get("reason") for r in churn_events if r["kind"] == EventKind.BTREE_ROOT}
    assert {"root_split", "restore"} <= reasons
    clocks = [r for r in churn_events if r["kind"] == EventKind.NODE_CLOCK]
    assert {"rate", "jump_ms", "strobe", "after"} <= {key for r in clocks for key in r}
    damage = [r for r in churn_events if r["kind"] == EventKind.DISK_DAMAGE]
    assert [(r["node"], r["action"]) for r in damage] == [("n2", "halt")]
    slow = [r for r in churn_events if r["kind"] == EventKind.DISK_FAULT]
    assert {"after" in r for r in slow if r.get("fault") == "slow"} == {True, False}
    assert {r["result"] for r in churn_events if r["kind"] == EventKind.MEMBERSHIP} >= {
        "requested",
        "committed",
    }


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    scenarios(nodes=st.integers(3, 5), duration_ms=st.integers(800, 2500)),
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=4),
)
def test_fold_at_random_times_of_random_runs_equals_the_naive_state(
    scenario: Scenario, fractions: list[float]
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "run"
        run_scenario(scenario.model_copy(update={"checks": ()}), out)
        records = read_events(RunFolder(out).events)
    index = _index(records)
    end_ms = float(records[-1]["t"])
    for fraction in fractions:
        _check_at(records, index, round(fraction * end_ms, 3))


def test_a_panicking_server_is_halted_until_its_node_restarts() -> None:
    records: list[Record] = [
        {"t": 0.0, "seq": 0, "kind": EventKind.RUN_START, "node": None, "seed": 1},
        {"t": 1.0, "seq": 1, "kind": EventKind.SERVER_PANIC, "node": "n2", "during": "apply",
         "index": 7, "error": "ValueError: x"},
        {"t": 2.0, "seq": 2, "kind": EventKind.NODE_CRASH, "node": "n2"},
        {"t": 3.0, "seq": 3, "kind": EventKind.NODE_RESTART, "node": "n2"},
    ]  # fmt: skip
    nodes = ["n1", "n2", "n3"]
    assert fold(records[:2], nodes).nodes["n2"].halted
    assert not fold(records, nodes).nodes["n2"].halted
    for cut in range(1, len(records) + 1):
        assert _comparable(fold(records[:cut], nodes)) == naive_state(records[:cut], nodes)
