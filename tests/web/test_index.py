"""The run index, the B+ tree replay and the live pacer, against real runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harmonysim.btree import NodeKind
from harmonysim.sim.events import read_events
from harmonysim.web.btree_view import TreeReplayer
from harmonysim.web.index import CHECKPOINT_EVERY, ClusterState, Health, NodeState, load_run_index
from harmonysim.web.live import LiveRunStopped, Pacer
from harmonysim.web.traces import DerivedTraceSource


def _fold(events: list[dict[str, Any]], nodes: list[str], t_ms: float) -> ClusterState:
    state = ClusterState(0.0, -1, {node: NodeState() for node in nodes})
    for record in events:
        if record["t"] > t_ms:
            break
        state.apply(record)
    state.t_ms = t_ms
    return state


def test_state_at_equals_a_plain_fold_at_any_time(isolation_run: Path) -> None:
    index = load_run_index(isolation_run)
    events = read_events(isolation_run / "events.jsonl")
    assert index.event_count == len(events)
    assert len(index._checkpoints) > 3, "the run must span several checkpoints"
    for t_ms in (0.0, 151.0, 999.5, 4999.0, 5000.0, 6123.4, 7999.0, 8000.0):
        indexed = index.state_at(t_ms).to_json()
        folded = _fold(events, index.nodes, t_ms).to_json()
        indexed.pop("seq"), folded.pop("seq")  # the last state event vs the last event
        assert indexed == folded
    assert CHECKPOINT_EVERY > 1


def test_partition_cuts_the_leader_off_at_five_seconds(isolation_run: Path) -> None:
    index = load_run_index(isolation_run)
    before = index.state_at(4999.0)
    after = index.state_at(5000.0)
    assert before.cut == set()
    isolated = before.leader
    assert isolated is not None
    assert after.cut == {
        link
        for other in index.nodes
        if other != isolated
        for link in ((isolated, other), (other, isolated))
    }
    later = index.state_at(7900.0)
    assert later.leader not in (None, isolated), "the connected majority elects a new leader"


def test_logs_agree_below_commit_and_commit_never_passes_the_log(isolation_run: Path) -> None:
    index = load_run_index(isolation_run)
    t_ms = 4000.0
    state = index.state_at(t_ms)
    logs = {node: dict((e.index, e) for e in index.log_at(node, t_ms)[1]) for node in index.nodes}
    for node in index.nodes:
        snapshot_index, log = index.log_at(node, t_ms)
        assert [e.index for e in log] == list(
            range(snapshot_index + 1, snapshot_index + 1 + len(log))
        )
        assert state.nodes[node].commit_index <= (log[-1].index if log else snapshot_index)
    common = min(state.nodes[node].commit_index for node in index.nodes)
    assert common > 10
    for i in range(common - 10, common + 1):
        assert len({logs[node][i] for node in index.nodes if i in logs[node]}) == 1


@pytest.mark.parametrize("run", ["isolation_run", "churn_run"])
def test_tree_replay_reproduces_every_recorded_split(
    run: str, request: pytest.FixtureRequest
) -> None:
    run_dir: Path = request.getfixturevalue(run)
    index = load_run_index(run_dir)
    replayer = TreeReplayer(index)
    splits: list[tuple[str, int, int, Any]] = []

    class Recorder:
        node = ""

        def on_split(
            self, kind: NodeKind, node_id: int, new_id: int, key: Any, reason: str
        ) -> None:
            splits.append((self.node, node_id, new_id, key))

        def on_merge(self, *args: Any) -> None: ...

        def on_borrow(self, *args: Any) -> None: ...

        def on_root_change(self, *args: Any) -> None: ...

    recorder = Recorder()
    fresh = replayer._fresh

    def observed() -> Any:
        machine = fresh()
        machine.set_observer(recorder)
        return machine

    replayer._fresh = observed  # type: ignore[method-assign]
    recorded: list[tuple[str, int, int, Any]] = []
    for node in index.nodes:
        recorder.node = node
        machine, applied = replayer.machine_at(node, index.end_ms)
        machine.tree.check_invariants()
        assert applied == index.state_at(index.end_ms).nodes[node].applied_index
        recorded += [
            (node, e["tree_node"], e["new_tree_node"], e["separator"])
            for e in index.tree_events[node]
            if e["kind"] == "btree.split"
        ]
    assert recorded, "the run must split some nodes"
    assert splits == recorded


def test_tree_moves_back_and_forth_in_time(churn_run: Path) -> None:
    index = load_run_index(churn_run)
    replayer = TreeReplayer(index)
    late = replayer.view("n1", 8000.0).data["size"]
    early = replayer.view("n1", 400.0).data["size"]
    assert 0 < early < late
    assert replayer.view("n1", 8000.0).data["size"] == late


def test_crashed_node_is_down_and_its_tree_restarts(churn_run: Path) -> None:
    index = load_run_index(churn_run)
    assert index.state_at(4000.0).nodes["n2"].health is Health.DOWN
    assert index.state_at(7000.0).nodes["n2"].health is Health.UP
    replayer = TreeReplayer(index)
    assert replayer.view("n2", 4000.0).data["size"] == 0
    assert replayer.view("n2", 8500.0).data["size"] > 0


def test_derived_trace_follows_a_write_through_persist_commit_and_apply(
    isolation_run: Path,
) -> None:
    index = load_run_index(isolation_run)
    source = DerivedTraceSource(index)
    write = next(op for op in index.ops if op.f == "put" and op.outcome.value == "ok")
    spans = source.spans(write.trace_id)
    assert spans is not None
    assert spans[0].parent_id is None and spans[0].node == write.client
    names = [span.name for span in spans]
    assert any(name.startswith("ClientRequest") for name in names)
    assert any(name.startswith("replicate #") for name in names)
    applied_on = {span.node for span in spans if span.category == "btree"}
    assert len(applied_on) >= 3, "a committed write is applied on a majority"
    assert all(write.start_ms <= span.start_ms for span in spans)
    assert source.spans("c99:1") is None


class _FakeClock:
    def __init__(self) -> None:
        self.now_s = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now_s += seconds


def test_pacer_holds_virtual_time_to_the_wall_clock() -> None:
    fake = _FakeClock()
    pacer = Pacer(2.0, clock=fake.clock, sleep=fake.sleep)
    pacer(0.0)
    pacer(1000.0)  # 1 virtual second at 2x: half a wall second
    fake.now_s += 2.0  # the simulation itself was slow
    pacer(2000.0)  # already late: no sleep
    pacer(6000.0)
    assert fake.slept == [0.5, 0.5]


def test_pacer_stops_and_rejects_bad_speeds() -> None:
    fake = _FakeClock()
    pacer = Pacer(1.0, clock=fake.clock, sleep=fake.sleep, stopped=lambda: True)
    with pytest.raises(LiveRunStopped):
        pacer(10.0)
    for speed in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError):
            Pacer(speed)


def test_the_timeline_shows_who_is_outside_the_configuration() -> None:
    from harmonysim.web.index import RunIndex
    from harmonysim.web.views import timeline_payload

    index = RunIndex({}, ["n1", "n2", "n3"])
    rows = [
        (0.0, "run.start", None, {"members": ["n1", "n2"]}),
        (3.0, "membership", None, {"op": "add", "target": "n3", "result": "proposed"}),
        (5.0, "membership", None, {"result": "committed", "voters": ["n1", "n2", "n3"]}),
        (9.0, "membership", None, {"result": "committed", "voters": ["n2", "n3"]}),
        (12.0, "run.end", None, {}),
    ]
    index.feed_all(
        {"t": t, "seq": seq, "kind": kind, "node": node, **fields}
        for seq, (t, kind, node, fields) in enumerate(rows)
    )
    assert timeline_payload(index)["outside"] == {
        "n1": [{"start_ms": 9.0, "end_ms": 12.0}],
        "n2": [],
        "n3": [{"start_ms": 0.0, "end_ms": 5.0}],
    }
