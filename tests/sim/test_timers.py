"""Timers: cancelled by crashes, deferred by pauses, cancellable by their owner."""

from __future__ import annotations

from .pingpong import make_world


def test_crash_cancels_pending_timers() -> None:
    world, _ = make_world(nodes=1, period_ms=0)
    world.start()
    node = world.nodes["n1"]
    fired: list[float] = []
    node.set_timer(10, "t", lambda: fired.append(world.now_ms))
    world.run(5)
    node.crash()
    node.restart()
    world.run(50)
    assert fired == []


def test_pause_defers_timers_until_resume() -> None:
    world, _ = make_world(nodes=1, period_ms=0)
    world.start()
    node = world.nodes["n1"]
    fired: list[float] = []
    node.set_timer(10, "t", lambda: fired.append(world.now_ms))
    node.pause()
    world.run(30)
    assert fired == []
    node.resume()
    assert fired == [30.0]


def test_cancelled_timer_does_not_fire() -> None:
    world, _ = make_world(nodes=1, period_ms=0)
    world.start()
    fired: list[str] = []
    timer = world.nodes["n1"].set_timer(10, "t", lambda: fired.append("t"))
    timer.cancel()
    world.run(20)
    assert fired == []
