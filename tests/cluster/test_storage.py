"""The storage module (cluster/storage.py): one rule per clause of the storage contract,
against the module directly, and reading back what it wrote."""

from __future__ import annotations

import pytest

from harmonysim.cluster.storage import (
    GAP,
    HARD_STATE,
    HARD_STATE_B,
    LOG,
    PERSIST_BEFORE_SEND,
    SNAPSHOT,
    SNAPSHOT_RULE,
    TRUNCATION_BELOW_COMMIT,
    ContractViolation,
    HardStateCopy,
    MemoryDisk,
    Storage,
    first_bad_position,
)
from harmonysim.raft import (
    AppendEntriesResponse,
    Entry,
    EntryKind,
    HardState,
    Ready,
    RequestVoteResponse,
    Snapshot,
)
from harmonysim.sim.disk import UnreadableRecord


def entries(first: int, last: int, term: int = 1) -> tuple[Entry, ...]:
    return tuple(Entry(term, i, EntryKind.NORMAL, f"x{i}") for i in range(first, last + 1))


def ready(
    *,
    hard_state: HardState | None = None,
    new: tuple[Entry, ...] = (),
    snapshot: Snapshot | None = None,
) -> Ready:
    return Ready(
        soft_state=None,
        hard_state=hard_state,
        entries=new,
        snapshot=snapshot,
        committed_entries=(),
        messages=(),
        read_states=(),
        must_sync=True,
    )


def stored(first: int, last: int, commit: int) -> Storage:
    storage = Storage(MemoryDisk())
    storage.save(ready(new=entries(first, last), hard_state=HardState(1, "n1", commit)))
    return storage


def test_a_ready_is_written_snapshot_entries_hard_state_and_read_back() -> None:
    storage = stored(1, 3, commit=2)
    assert storage.save(ready()) is False  # nothing to write
    assert storage.last_index == 3
    hard_state, snapshot, log = Storage(storage.disk).load()
    assert (hard_state, snapshot, log) == (HardState(1, "n1", 2), None, list(entries(1, 3)))


def test_gap_entries_must_follow_the_stored_log() -> None:
    storage = stored(1, 3, commit=0)
    with pytest.raises(ContractViolation) as caught:
        storage.append(entries(5, 6))
    assert caught.value.rule == GAP
    with pytest.raises(ContractViolation) as inside:  # contiguous among themselves too
        storage.append((*entries(4, 4), *entries(6, 6)))
    assert inside.value.rule == GAP
    assert storage.last_index == 3  # nothing was written
    storage.append(entries(4, 5))
    assert storage.last_index == 5


def test_truncation_below_commit_is_refused_above_it_replaces_the_suffix() -> None:
    storage = stored(1, 5, commit=3)
    with pytest.raises(ContractViolation) as caught:
        storage.append(entries(3, 4, term=2))
    assert caught.value.rule == TRUNCATION_BELOW_COMMIT
    storage.append(entries(4, 4, term=2))
    _, _, log = Storage(storage.disk).load()
    assert log == [*entries(1, 3), *entries(4, 4, term=2)]


def test_a_lenient_storage_lets_a_buggy_server_truncate_below_commit() -> None:
    # A bug switch (akka-raft#66's follower) drops acknowledged entries on purpose: its
    # server's storage writes them through, so raft_safety can see the loss.
    storage = stored(1, 5, commit=3)
    storage.strict = False
    storage.append(entries(3, 3, term=2))
    _, _, log = Storage(storage.disk).load()
    assert log == [*entries(1, 2), *entries(3, 3, term=2)]


def test_a_snapshot_from_the_leader_replaces_the_log_and_must_cover_the_commit() -> None:
    storage = stored(1, 5, commit=4)
    with pytest.raises(ContractViolation) as caught:
        storage.install_snapshot(Snapshot(3, 1, ("n1",), "state@3"))
    assert caught.value.rule == SNAPSHOT_RULE
    storage.save(ready(snapshot=Snapshot(7, 2, ("n1",), "state@7"), new=entries(8, 8, term=2)))
    _, snapshot, log = Storage(storage.disk).load()
    assert snapshot == Snapshot(7, 2, ("n1",), "state@7")
    assert log == list(entries(8, 8, term=2))
    with pytest.raises(ContractViolation) as older:  # never back to an older snapshot
        storage.install_snapshot(Snapshot(6, 2, ("n1",), "state@6"))
    assert older.value.rule == SNAPSHOT_RULE


def test_a_compaction_covers_only_stored_entries_and_keeps_the_rest_in_order() -> None:
    storage = stored(1, 5, commit=5)
    with pytest.raises(ContractViolation) as beyond:
        storage.compact(Snapshot(6, 1, ("n1",), "state@6"), ())
    assert beyond.value.rule == SNAPSHOT_RULE
    with pytest.raises(ContractViolation) as gap:
        storage.compact(Snapshot(3, 1, ("n1",), "state@3"), entries(5, 5))
    assert gap.value.rule == GAP
    storage.compact(Snapshot(3, 1, ("n1",), "state@3"), entries(4, 5))
    _, snapshot, log = Storage(storage.disk).load()
    assert snapshot is not None and snapshot.index == 3
    assert log == list(entries(4, 5))
    assert storage.disk.length(LOG) == 2  # the compacted prefix is gone from the file


def test_persist_before_send_a_vote_or_an_ack_only_for_what_is_stored() -> None:
    storage = stored(1, 3, commit=0)  # term 1, voted for n1
    storage.check_sent(RequestVoteResponse("n2", "n1", 1, pre_vote=False, granted=True))
    with pytest.raises(ContractViolation) as vote:
        storage.check_sent(RequestVoteResponse("n2", "n3", 1, pre_vote=False, granted=True))
    assert vote.value.rule == PERSIST_BEFORE_SEND
    with pytest.raises(ContractViolation) as ack:
        storage.check_sent(AppendEntriesResponse("n2", "n1", 1, True, 4, 0, 0, 0))
    assert ack.value.rule == PERSIST_BEFORE_SEND
    with pytest.raises(ContractViolation) as term:
        storage.check_sent(AppendEntriesResponse("n2", "n1", 2, True, 3, 0, 0, 0))
    assert term.value.rule == PERSIST_BEFORE_SEND


def test_entries_after_a_snapshot_whose_log_rewrite_was_lost_start_the_log_afresh() -> None:
    """A crash between a leader's snapshot landing and the log's rewrite leaves a log of
    entries the snapshot covers; the next entries must not land after them, where their
    positions would name other indexes (a restart would take that for a misdirected write)."""
    disk = MemoryDisk()
    Storage(disk).save(ready(new=entries(1, 3), hard_state=HardState(1, None, 3)))
    disk.write(SNAPSHOT, Snapshot(9, 2, ("n1",), "state@9"))  # the log's rewrite was lost
    storage = Storage(disk)
    assert storage.load()[2] == []
    storage.append(entries(10, 11, term=2))
    log, problems = storage.read_log()
    assert first_bad_position(log, problems, storage.snapshot) is None
    assert Storage(disk).load()[2] == list(entries(10, 11, term=2))


def test_the_newest_valid_hard_state_copy_wins() -> None:
    disk = MemoryDisk()
    storage = Storage(disk)
    storage.write_hard_state(HardState(1, "n1", 0))
    storage.write_hard_state(HardState(2, "n2", 0))
    assert (
        disk.files[HARD_STATE]
        == disk.files[HARD_STATE_B]
        == HardStateCopy(2, HardState(2, "n2", 0))
    )
    disk.write(HARD_STATE_B, HardStateCopy(1, HardState(1, "n1", 0)))  # B's last write lost
    assert Storage(disk).read_hard_state() == (HardState(2, "n2", 0), [])


def test_the_intact_prefix_ends_at_a_damaged_or_misplaced_record() -> None:
    log = list(entries(1, 4))
    assert first_bad_position(log, [], None) is None
    assert first_bad_position(log, [UnreadableRecord(2, "checksum")], None) == 2
    misdirected = [log[0], log[1], log[1], log[3]]  # index 2 landed at position 2
    assert first_bad_position(misdirected, [], None) == 2
    assert first_bad_position(log[1:], [], None) == 0  # not the entry after the snapshot
