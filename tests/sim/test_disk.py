"""Disks: durability only after fsync; a crash keeps synced writes and loses the rest."""

from __future__ import annotations

from .pingpong import make_world


def test_crash_loses_unsynced_writes_and_keeps_synced_ones() -> None:
    world, _ = make_world(nodes=1, period_ms=0)
    world.start()
    disk = world.nodes["n1"].disk
    synced: list[float] = []
    disk.write("hard_state", ("term", 1))
    disk.append("log", [("entry", 1), ("entry", 2)])
    disk.fsync(lambda: synced.append(world.now_ms))
    world.run(5)
    assert synced == [1.0]  # fsync latency is 1 ms
    disk.write("hard_state", ("term", 2))
    disk.append("log", [("entry", 3)])
    disk.truncate("log", 1)
    assert disk.read("log") == [("entry", 1)]
    assert disk.read_durable("log") == [("entry", 1), ("entry", 2)]
    world.nodes["n1"].crash()
    assert disk.read("hard_state") == ("term", 1)
    assert disk.read("log") == [("entry", 1), ("entry", 2)]


def test_fsync_covers_only_writes_made_before_it() -> None:
    world, _ = make_world(nodes=1, period_ms=0)
    world.start()
    disk = world.nodes["n1"].disk
    disk.append("log", ["a"])
    disk.fsync()
    disk.append("log", ["b"])  # written while the fsync is in flight
    world.run(2)
    assert disk.read_durable("log") == ["a"]
    assert disk.unsynced == 1
    disk.fsync()
    world.run(4)
    assert disk.read_durable("log") == ["a", "b"]


def test_fsync_in_flight_at_crash_never_completes() -> None:
    world, _ = make_world(nodes=1, period_ms=0)
    world.start()
    disk = world.nodes["n1"].disk
    done: list[bool] = []
    disk.write("vote", "n2")
    disk.fsync(lambda: done.append(True))
    world.run(0.5)
    world.nodes["n1"].crash()
    world.run(5)
    assert done == []
    assert disk.read("vote") is None
    assert disk.read_durable("vote") is None


def test_restart_reads_what_survived() -> None:
    world, _ = make_world(nodes=1, period_ms=0)
    world.start()
    node = world.nodes["n1"]
    node.disk.write("counter", 7)
    node.disk.fsync()
    world.run(2)
    node.disk.write("counter", 8)
    node.crash()
    node.restart()
    assert node.disk.read("counter") == 7
