"""Storage faults of the simulated disk (sim/disk.py): checksums read back at a restart,
latent corruption, torn writes at a crash, misdirected appends, EIO, slow fsyncs."""

from __future__ import annotations

import random
from dataclasses import dataclass

from harmonysim.sim.disk import VALUE, Disk, DiskFaults, UnreadableRecord, checksum

from .pingpong import make_world


@dataclass(frozen=True)
class Rec:
    index: int


def disk_with(records: int, faults: DiskFaults | None = None, seed: int = 1) -> tuple[Disk, object]:
    world, _ = make_world(nodes=1, period_ms=0)
    world.start()
    disk = world.nodes["n1"].disk
    disk.configure_faults(faults, random.Random(seed))
    disk.write("hard_state", ("term", 1))
    disk.append("log", [Rec(i) for i in range(1, records + 1)])
    disk.fsync()
    world.run(20)
    return disk, world


def test_checksum_is_crc32_of_the_record_encoding_and_stable() -> None:
    assert checksum(Rec(3)) == checksum(Rec(3)) != checksum(Rec(4))


def test_an_undamaged_disk_reads_back_without_problems() -> None:
    disk, _ = disk_with(5)
    assert disk.read_checked("log") == ([Rec(i) for i in range(1, 6)], [])
    assert disk.read_checked("hard_state") == (("term", 1), [])
    assert disk.read_checked("snapshot") == (None, [])


def test_corrupt_damages_the_records_of_an_index_range_at_rest() -> None:
    disk, _ = disk_with(6)
    assert disk.corrupt("log", 2, 3) == [1, 2]
    _, problems = disk.read_checked("log")
    assert problems == [UnreadableRecord(1, "checksum"), UnreadableRecord(2, "checksum")]
    assert disk.fault_counts == {"corrupt": 1}


def test_corrupting_a_value_file_and_nothing_to_corrupt() -> None:
    disk, _ = disk_with(1)
    assert disk.corrupt("hard_state", None, None) == [VALUE]
    assert disk.read_checked("hard_state")[1] == [UnreadableRecord(VALUE, "checksum")]
    assert disk.corrupt("snapshot", None, None) == []


def test_rewriting_a_damaged_record_heals_it() -> None:
    disk, world = disk_with(4)
    disk.corrupt("log", 3, 4)
    disk.truncate("log", 2)
    disk.append("log", [Rec(3)])
    disk.fsync()
    world.run(40)  # type: ignore[attr-defined]
    assert disk.read_checked("log") == ([Rec(1), Rec(2), Rec(3)], [])


def test_eio_fails_the_read_of_a_record() -> None:
    disk, _ = disk_with(3)
    disk.read_error("log", 2, None)
    assert disk.read_checked("log")[1] == [UnreadableRecord(1, "eio")]


def test_a_torn_crash_lands_pending_writes_fully_partially_or_not_at_all() -> None:
    outcomes: dict[str, int] = {}
    for seed in range(40):
        disk, world = disk_with(2, seed=seed)
        disk.append("log", [Rec(3), Rec(4), Rec(5)])  # pending: never fsynced
        disk.arm_torn()
        world.nodes["n1"].crash()  # type: ignore[attr-defined]
        records, problems = disk.read_checked("log")
        assert records[:2] == [Rec(1), Rec(2)]  # what was synced is never touched
        landed = len(records) - 2
        if landed == 0:
            kind = "none"
        elif landed == 3 and not problems:
            kind = "full"
        else:
            kind = "partial"
            assert records[2:] == [Rec(i) for i in range(3, 3 + landed)]  # a prefix
            torn_last = UnreadableRecord(len(records) - 1, "checksum")
            assert problems in ([], [torn_last])  # maybe a torn last
        outcomes[kind] = outcomes.get(kind, 0) + 1
    assert set(outcomes) == {"none", "full", "partial"}


def test_a_torn_crash_lands_pending_writes_in_order_and_damages_at_most_one() -> None:
    # What the server's two copies of its hard state rely on (cluster/server.py): the
    # writes before the torn one land whole, none after it lands, and it alone is damaged.
    seen: set[tuple[object, ...]] = set()
    for seed in range(40):
        disk, world = disk_with(1, seed=seed)
        disk.write("a", 1)
        disk.write("b", 1)
        disk.fsync()
        world.run(40)  # type: ignore[attr-defined]
        disk.write("a", 2)  # pending: never fsynced
        disk.write("b", 2)
        disk.arm_torn()
        world.nodes["n1"].crash()  # type: ignore[attr-defined]
        (a, a_problems), (b, b_problems) = disk.read_checked("a"), disk.read_checked("b")
        state = (a, bool(a_problems), b, bool(b_problems))
        assert state in {
            (1, False, 1, False),  # nothing landed
            (2, True, 1, False),  # a torn, b untouched
            (2, False, 2, True),  # a landed, b torn
            (2, False, 2, False),  # both landed
        }
        seen.add(state)
    assert len(seen) == 4


def test_a_plain_crash_still_loses_every_pending_write() -> None:
    disk, world = disk_with(2)
    disk.append("log", [Rec(3)])
    world.nodes["n1"].crash()  # type: ignore[attr-defined]
    assert disk.read_checked("log") == ([Rec(1), Rec(2)], [])


def test_a_misdirected_append_lands_one_record_at_a_wrong_position() -> None:
    disk, world = disk_with(4)
    disk.arm_misdirect()
    disk.append("log", [Rec(5), Rec(6)])
    disk.fsync()
    world.run(40)  # type: ignore[attr-defined]
    records, problems = disk.read_checked("log")
    assert len(problems) == 1 and problems[0].reason == "checksum"  # garbage where it belonged
    source = problems[0].position
    assert source in (4, 5)  # one of the appended records' slots
    misplaced = [p for p, record in enumerate(records) if record.index != p + 1]
    assert len(misplaced) == 1 and misplaced[0] != source  # the slot it overwrote
    assert records[misplaced[0]] == Rec(source + 1)


def test_probabilities_draw_latent_corruption_and_slow_fsyncs() -> None:
    disk, _ = disk_with(200, DiskFaults(corrupt=0.05, slow=1.0, slow_fsync_us=9_000))
    damaged = len(disk.read_checked("log")[1])
    assert 0 < damaged < 40
    assert disk.fault_counts["slow_fsync"] == 1  # one fsync of 200, a point event
    assert disk.fault_counts["corrupt"] == damaged


def test_slow_sets_the_fsync_latency_until_undone() -> None:
    disk, world = disk_with(1)
    undo = disk.slow(50_000)
    done: list[float] = []
    disk.append("log", [Rec(2)])
    disk.fsync(lambda: done.append(world.now_ms))  # type: ignore[attr-defined]
    world.run(100)  # type: ignore[attr-defined]
    assert done == [70.0]  # started at 20 ms
    undo()
    assert disk.fsync_latency_us == 1000


def test_overlapping_slow_faults_undone_out_of_order_give_the_disk_its_own_latency_back() -> None:
    # Seed 148 of nemesis-all: a slow fault of 88 ms, then one of 177 ms on the same
    # disk; the first ended first. Each undo restored the latency it found, so the
    # second left the disk at 88 ms for the rest of the run, which the event log's fold
    # took for a healthy disk (its last event said the slow fault was over).
    disk, _ = disk_with(1)
    first = disk.slow(88_000)
    second = disk.slow(177_000)
    first()
    assert disk.fsync_latency_us == 177_000  # the other still holds
    second()
    assert disk.fsync_latency_us == 1000
    second()  # undone already: nothing changes
    assert disk.fsync_latency_us == 1000
    third = disk.slow(50_000)
    fourth = disk.slow(60_000)
    fourth()
    assert disk.fsync_latency_us == 50_000  # in order, as before
    third()
    assert disk.fsync_latency_us == 1000


def test_a_failed_fsync_makes_nothing_durable_and_tells_the_process_not_the_callback() -> None:
    disk, world = disk_with(2)
    told: list[str] = []
    disk.on_write_error = lambda: told.append("eio")
    disk.arm_write_error()
    disk.append("log", [Rec(3)])
    disk.fsync(lambda: told.append("synced"))
    world.run(60)  # type: ignore[attr-defined]
    assert told == ["eio"]
    assert disk.read_durable("log") == [Rec(1), Rec(2)]
    assert disk.fault_counts == {"write_error": 1}
