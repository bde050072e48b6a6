"""The fault marks: which records become marks, how long they last, and their names."""

from __future__ import annotations

from typing import Any

from harmonysim.runlog.faultmarks import (
    FaultMark,
    MarkKind,
    fault_label,
    fault_marks,
    is_marked,
)
from harmonysim.runlog.vocabulary import EventRecord


def log(*rows: tuple[float, str, str | None, dict[str, Any]]) -> list[EventRecord]:
    return [
        {"t": t, "seq": seq, "kind": kind, "node": node, **fields}
        for seq, (t, kind, node, fields) in enumerate(rows)
    ]


def only(marks: list[FaultMark], kind: MarkKind) -> list[tuple[str | None, float, float, str]]:
    return [(m.node, m.start_ms, m.end_ms, m.short) for m in marks if m.kind is kind]


def test_a_clock_rate_lasts_until_the_clock_is_given_back() -> None:
    marks = fault_marks(
        log(
            (10.0, "node.clock", "n2", {"rate": 0.96}),
            (30.0, "node.clock", "n2", {"rate": 1.01, "after": "clock"}),
        ),
        100.0,
    )
    assert only(marks, MarkKind.CLOCK_RATE) == [("n2", 10.0, 30.0, "×0.96")]
    assert marks[0].label == "n2 clock rate 0.96"


def test_a_new_rate_ends_the_previous_one_and_the_last_ends_with_the_run() -> None:
    marks = fault_marks(
        log(
            (10.0, "node.clock", "n1", {"rate": 0.98}),
            (20.0, "node.clock", "n1", {"rate": 0.98}),
        ),
        50.0,
    )
    assert only(marks, MarkKind.CLOCK_RATE) == [
        ("n1", 10.0, 20.0, "×0.98"),
        ("n1", 20.0, 50.0, "×0.98"),
    ]


def test_a_jump_is_an_instant_with_its_size() -> None:
    marks = fault_marks(log((10.0, "node.clock", "n3", {"jump_ms": -1000.0})), 100.0)
    assert only(marks, MarkKind.CLOCK_JUMP) == [("n3", 10.0, 10.0, "-1 s")]
    assert [m.kind for m in marks] == [MarkKind.CLOCK_JUMP]
    assert marks[0].label == "n3 clock jump -1000 ms"


def test_a_strobe_lasts_until_the_clock_is_given_back() -> None:
    strobe = {"strobe": {"delta_ms": 200.0, "period_ms": 20.0}}
    marks = fault_marks(
        log(
            (10.0, "node.clock", "n4", strobe),
            (40.0, "node.clock", "n4", {"rate": 1.0, "after": "clock"}),
        ),
        100.0,
    )
    assert only(marks, MarkKind.CLOCK_STROBE) == [("n4", 10.0, 40.0, "strobe ±200 ms")]
    assert marks[0].label == "n4 clock strobe ±200 ms every 20 ms"


def test_a_slow_disk_lasts_until_its_undo() -> None:
    marks = fault_marks(
        log(
            (10.0, "disk.fault", "n2", {"fault": "slow", "fsync_ms": 47.0}),
            (30.0, "disk.fault", "n2", {"fault": "slow", "fsync_ms": 1.0, "after": "slow"}),
        ),
        100.0,
    )
    assert only(marks, MarkKind.DISK_SLOW) == [("n2", 10.0, 30.0, "slow 47 ms")]
    assert len(marks) == 1


def test_one_slow_fsync_drawn_by_probability_is_an_instant_not_a_slow_disk() -> None:
    # `cluster.disk.faults.slow` slows single fsyncs: nothing lasts, so no span opens.
    marks = fault_marks(
        log((10.0, "disk.fault", "n2", {"fault": "slow_fsync", "fsync_ms": 52.0})), 100.0
    )
    assert [(m.kind, m.start_ms, m.end_ms, m.short) for m in marks] == [
        (MarkKind.DISK_FAULT, 10.0, 10.0, "fsync 52 ms")
    ]
    assert marks[0].label == "n2 disk one slow fsync (52 ms)"


def test_storage_faults_damage_and_repair_are_instants_named_by_kind() -> None:
    marks = fault_marks(
        log(
            (10.0, "disk.fault", "n4", {"fault": "torn", "armed": True}),
            (11.0, "disk.fault", "n4", {"fault": "corrupt", "file": "log", "index": 12}),
            (12.0, "disk.fault", "n4", {"fault": "misdirect", "file": "log", "position": 3}),
            (20.0, "disk.damage", "n4", {"file": "log", "reason": "checksum", "action": "repair"}),
            (30.0, "raft.repaired", "n4", {"last_index": 40, "leader": "n1"}),
        ),
        100.0,
    )
    assert [(m.kind, m.start_ms, m.short) for m in marks] == [
        (MarkKind.DISK_FAULT, 10.0, "torn"),
        (MarkKind.DISK_FAULT, 11.0, "corrupt"),
        (MarkKind.DISK_FAULT, 12.0, "misdirect"),
        (MarkKind.DAMAGE, 20.0, "repair"),
        (MarkKind.REPAIRED, 30.0, "repaired"),
    ]
    assert [m.label for m in marks] == [
        "n4 disk torn (armed)",
        "n4 disk corrupt log #12",
        "n4 disk misdirect log",
        "n4 damage in log (checksum): repair",
        "n4 repaired (log to 40 from n1)",
    ]


def test_a_halt_lasts_until_the_server_crashes() -> None:
    marks = fault_marks(
        log(
            (10.0, "disk.damage", "n3", {"file": "hard_state", "action": "halt"}),
            (50.0, "node.crash", "n3", {}),
        ),
        100.0,
    )
    assert only(marks, MarkKind.HALTED) == [("n3", 10.0, 50.0, "halted")]


def test_a_transfer_goes_from_its_leader_to_its_target() -> None:
    (mark,) = fault_marks(log((10.0, "leader.transfer", "n1", {"to": "n2"})), 100.0)
    assert (mark.kind, mark.node, mark.peer, mark.short) == (
        MarkKind.TRANSFER,
        "n1",
        "n2",
        "n1→n2",
    )
    assert mark.label == "transfer n1 -> n2"


def test_a_membership_change_is_marked_when_asked_on_its_target() -> None:
    def step(t: float, op: str, result: str) -> tuple[float, str, None, dict[str, Any]]:
        return (t, "membership", None, {"op": op, "target": "n3", "result": result})

    marks = fault_marks(
        log(
            step(10.0, "remove", "requested"),
            step(10.0, "remove", "proposed"),
            step(20.0, "remove", "committed"),
            step(30.0, "add", "requested"),
            step(40.0, "add", "refused"),
        ),
        100.0,
    )
    assert [(m.kind, m.node, m.start_ms, m.label) for m in marks] == [
        (MarkKind.REMOVE, "n3", 10.0, "remove n3"),
        (MarkKind.ADD, "n3", 30.0, "add n3"),
        (MarkKind.NOOP, "n3", 40.0, "add n3 refused"),
    ]


def test_a_fault_without_effect_is_marked_where_it_was_aimed() -> None:
    marks = fault_marks(
        log(
            (10.0, "fault.noop", "n1", {"fault": "resume", "reason": "the node is not paused"}),
            (20.0, "fault.noop", None, {"fault": "restart", "reason": "no node is down"}),
        ),
        100.0,
    )
    assert [(m.kind, m.node, m.label) for m in marks] == [
        (MarkKind.NOOP, "n1", "no-op resume: the node is not paused"),
        (MarkKind.NOOP, None, "no-op restart: no node is down"),
    ]


def test_partitions_crashes_and_pauses_leave_no_mark() -> None:
    marks = fault_marks(
        log(
            (10.0, "net.partition", None, {"shape": "isolate", "cut": [["n1", "n2"]]}),
            (20.0, "node.crash", "n2", {}),
            (30.0, "node.pause", "n3", {}),
            (40.0, "net.heal", None, {}),
        ),
        100.0,
    )
    assert marks == []


def test_marks_come_in_start_order_whatever_order_spans_closed_in() -> None:
    marks = fault_marks(
        log(
            (10.0, "node.clock", "n2", {"rate": 0.97}),
            (20.0, "disk.fault", "n1", {"fault": "torn", "armed": True}),
            (30.0, "node.clock", "n2", {"rate": 1.0, "after": "clock"}),
        ),
        100.0,
    )
    assert [(m.kind, m.start_ms) for m in marks] == [
        (MarkKind.CLOCK_RATE, 10.0),
        (MarkKind.DISK_FAULT, 20.0),
    ]


def test_a_membership_change_is_listed_at_its_ends_only() -> None:
    def step(result: str) -> EventRecord:
        return {"t": 1.0, "seq": 1, "kind": "membership", "node": None, "result": result}

    listed = [r for r in ("requested", "proposed", "waiting", "committed") if is_marked(step(r))]
    assert listed == ["requested", "committed"]
    assert is_marked({"t": 1.0, "seq": 1, "kind": "node.clock", "node": "n1", "rate": 0.9})
    assert not is_marked({"t": 1.0, "seq": 1, "kind": "raft.commit", "node": "n1"})


def test_labels_of_the_faults_drawn_before_keep_their_names() -> None:
    def label(kind: str, node: str | None, **fields: Any) -> str:
        return fault_label({"t": 0.0, "seq": 0, "kind": kind, "node": node, **fields})

    assert label("net.partition", None, shape="isolate", target="n2") == "partition isolate n2"
    assert label("node.crash", "n2") == "crash n2"
    assert label("nemesis", None, fault="disk") == "nemesis disk"
    assert label("disk.lost", "n2", ops=3) == "n2 lost 3 unsynced disk op(s)"


def test_the_churn_run_marks_each_of_its_scheduled_faults(
    churn_events: list[dict[str, Any]],
) -> None:
    end_ms = float(churn_events[-1]["t"])
    kinds = {(m.kind, m.node) for m in fault_marks(churn_events, end_ms)}
    assert {
        (MarkKind.CLOCK_RATE, "n3"),
        (MarkKind.CLOCK_STROBE, "n4"),
        (MarkKind.DISK_SLOW, "n5"),
        (MarkKind.DISK_FAULT, "n2"),
        (MarkKind.HALTED, "n2"),
        (MarkKind.REMOVE, "n4"),
        (MarkKind.ADD, "n4"),
    } <= kinds
    assert any(kind is MarkKind.CLOCK_JUMP for kind, _ in kinds)
    assert any(kind is MarkKind.TRANSFER for kind, _ in kinds)
