"""Network faults: one-way cuts, clogs, loss, duplication, pauses and in-flight partitions."""

from __future__ import annotations

from pytest import MonkeyPatch

from harmonysim.sim import network as network_module
from harmonysim.sim import partitions
from harmonysim.sim.network import LinkSettings

from .pingpong import ConstantLatency, Ping, Pong, Recorder, make_world


def test_one_way_cut_drops_only_one_direction() -> None:
    world, recorder = make_world(nodes=2, period_ms=10)
    world.network.set_partition(partitions.one_way(["n1", "n2"], ["n1"], ["n2"]))
    world.start()
    world.run(200)
    # n1 -> n2 is cut: n2 hears nothing from n1, neither pings nor pongs.
    assert recorder.payloads("n2", "n1") == []
    # n2 -> n1 still flows: n1 receives n2's pings (its pongs to them are cut).
    pings_at_n1 = [p for p in recorder.payloads("n1", "n2") if isinstance(p, Ping)]
    assert len(pings_at_n1) >= 15
    assert world.network.dropped >= 30


def test_clogged_messages_arrive_after_unclog_in_order() -> None:
    latency = ConstantLatency(value_ms=1.0)
    world, recorder = make_world(nodes=2, period_ms=5, latency=latency)
    world.start()
    world.run(20)
    world.network.clog([("n1", "n2")])
    world.run(100)
    during = [t for t, src, _ in recorder.received.get("n2", []) if src == "n1" and 21 < t <= 100]
    assert during == []  # nothing from n1 arrived while clogged
    held = len(world.network.link("n1", "n2").held)
    assert held >= 15
    world.network.unclog([("n1", "n2")])
    world.run(200)
    after = [(t, p) for t, src, p in recorder.received["n2"] if src == "n1" and t > 100]
    pings = [p.seq for _, p in after if isinstance(p, Ping)]
    assert pings == sorted(pings)
    assert len(pings) >= held
    times = [t for t, _ in after]
    assert times == sorted(times)


def test_unclog_keeps_order_even_with_random_latency() -> None:
    world, recorder = make_world(nodes=2, period_ms=1)
    from harmonysim.sim.latency import make_sampler

    link = world.network.link("n1", "n2")
    spec = ConstantLatency(distribution="uniform", value_ms=None, min_ms=1.0, max_ms=30.0)
    link.sample_us = make_sampler(spec, world.rng.stream("test"))
    world.start()
    world.network.clog([("n1", "n2")])
    world.run(50)
    held_envelopes = world.network.link("n1", "n2").held
    held = [e.payload.seq for e in held_envelopes if isinstance(e.payload, Ping)]
    assert len(held) >= 40
    world.network.unclog(None)
    world.run(200)
    pings = [p.seq for p in recorder.payloads("n2", "n1") if isinstance(p, Ping)]
    released = [seq for seq in pings if seq <= held[-1]]
    assert released == held  # all of them, in the order they were sent
    assert pings != sorted(pings)  # later messages with fresh latencies may overtake


def test_paused_node_gets_its_messages_after_resume() -> None:
    world, recorder = make_world(nodes=2, period_ms=10)
    world.start()
    world.run(50)
    before = len(recorder.received.get("n2", []))
    world.nodes["n2"].pause()
    world.run(150)
    assert len(recorder.received["n2"]) == before  # frozen: nothing handled
    world.nodes["n2"].resume()  # delivers the queue at once, at t=150
    world.run(160)
    arrived = recorder.received["n2"][before:]
    assert len(arrived) >= 9
    assert all(t == 150.0 for t, _, _ in arrived[:9])
    pings = [p.seq for _, src, p in arrived if isinstance(p, Ping)]
    assert pings == sorted(pings)


def test_partition_drops_messages_already_in_flight() -> None:
    world, recorder = make_world(nodes=2, period_ms=0, latency=ConstantLatency(value_ms=10))
    world.start()
    world.nodes["n1"].send("n2", Ping(1))
    world.run(5)
    world.network.set_partition(partitions.isolate(["n1", "n2"], "n2"))
    world.run(20)
    assert recorder.payloads("n2") == []
    world.network.set_partition(None)
    world.nodes["n1"].send("n2", Ping(2))
    world.run(40)
    assert recorder.payloads("n2") == [Ping(2)]


def test_loss_and_duplication_rates_match_settings() -> None:
    settings = LinkSettings(ConstantLatency(value_ms=1), loss=0.2, duplicate=0.1)
    world, recorder = make_world(nodes=2, period_ms=0, links=settings)
    world.start()
    for seq in range(20_000):
        world.network.send("n1", "n2", Pong(seq))
    world.run(10)
    received = recorder.payloads("n2", "n1")
    assert 0.18 < world.network.dropped / 20_000 < 0.22
    duplicates = len(received) - len(set(received))
    assert duplicates == world.network.duplicated
    assert 0.08 < duplicates / (20_000 - world.network.dropped) < 0.12


def test_crashed_destination_drops_and_restart_rebuilds_the_process() -> None:
    recorder = Recorder()
    world, _ = make_world(nodes=2, period_ms=10, recorder=recorder)
    world.start()
    world.run(30)
    world.nodes["n2"].crash()
    count = len(recorder.received.get("n2", []))
    world.run(100)
    assert len(recorder.received.get("n2", [])) == count
    world.nodes["n2"].restart()
    world.run(200)
    assert recorder.starts["n2"] == 2
    assert len(recorder.received["n2"]) > count


def test_a_message_storm_stops_the_run_where_it_broke_out(monkeypatch: MonkeyPatch) -> None:
    # STORM_MESSAGES sent within a virtual second: the run stops there, for good.
    monkeypatch.setattr(network_module, "STORM_MESSAGES", 1_000)
    world, recorder = make_world(nodes=2, period_ms=0, links=LinkSettings(ConstantLatency(1)))
    world.start()

    def burst() -> None:
        for seq in range(1_500):
            world.network.send("n1", "n2", Pong(seq))

    world.nodes["n1"].set_timer(5.0, "burst", burst)
    world.run(100.0)
    storm = world.storm
    assert storm is not None
    assert (storm.at_us, storm.messages, storm.window_us) == (5_000, 1_000, 5_000)
    assert world.now_ms == 5.0 and world.network.sent == 1_000
    world.run(200.0)  # stopped for good
    assert world.now_ms == 5.0 and recorder.payloads("n2") == []


def test_a_steady_rate_below_the_storm_line_runs_to_the_end(monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setattr(network_module, "STORM_MESSAGES", 1_000)
    world, recorder = make_world(nodes=2, period_ms=0, links=LinkSettings(ConstantLatency(1)))
    world.start()
    node = world.nodes["n1"]

    def tick() -> None:  # 999 messages a virtual second: just below the line
        world.network.send("n1", "n2", Pong(0))
        node.set_timer(1000.0 / 999, "tick", tick)

    node.set_timer(1.0, "tick", tick)
    world.run(5_000.0)
    assert world.storm is None and world.now_ms == 5_000.0
    assert world.network.sent > 4 * 1_000
    assert len(recorder.payloads("n2")) >= world.network.sent - 1  # one may be in flight
