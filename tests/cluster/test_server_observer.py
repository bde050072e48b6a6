"""A server's tracing is its observer's: the null twin unobserved, ``ServerTelemetry`` observed,
and Telemetry given to the cluster in the one order that observes everything."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from harmonysim.cluster import Cluster
from harmonysim.cluster import server as server_module
from harmonysim.cluster.commands import ClientRequest, Command, Op, Operation
from harmonysim.cluster.server import KVServer
from harmonysim.cluster.server_observer import NullServerObserver
from harmonysim.cluster.server_telemetry import ServerTelemetry
from harmonysim.cluster.telemetry import Telemetry, TelemetryOrderError
from harmonysim.obs.otlp import read_otlp_spans
from harmonysim.raft import Entry, EntryKind
from harmonysim.scenario import Scenario, parse_scenario
from harmonysim.sim.world import World

SHORT = parse_scenario("""
name: short
duration: 3s
cluster: {nodes: 3}
network: {latency: {distribution: lognormal, mean: 5ms, p99: 30ms}}
workload: {clients: 3, rate: 100/s, mix: {get: 0.5, put: 0.5}}
faults:
  - {at: 1s, crash: n2}
  - {at: 2s, restart: n2}
""")


def _run(scenario: Scenario, telemetry_sample: float | None) -> tuple[World, Cluster]:
    world = World.from_scenario(scenario)
    telemetry = None
    if telemetry_sample is not None:
        telemetry = Telemetry(world, None, telemetry_sample)
    cluster = Cluster(world, scenario, telemetry)
    world.faults.schedule(scenario.faults)
    cluster.start()
    world.run(scenario.duration_ms)
    cluster.finish()
    if telemetry is not None:
        telemetry.finish()
    world.finish()
    return world, cluster


def _servers(world: World) -> list[KVServer]:
    servers = [node.process for node in world.nodes.values()]
    assert all(isinstance(server, KVServer) for server in servers)
    return servers  # type: ignore[return-value]


def test_an_unobserved_cluster_runs_on_the_null_observer_and_simulates_the_same_run() -> None:
    world, cluster = _run(SHORT, None)
    assert world.network.observer is None  # no hop spans: nothing observes the network
    assert all(type(server.observer) is NullServerObserver for server in _servers(world))
    assert cluster.summary()["ops_ok"] > 0
    traced, _ = _run(SHORT, 1.0)
    assert world.log.hexdigest == traced.log.hexdigest


def test_every_server_incarnation_gets_its_own_server_telemetry() -> None:
    world = World.from_scenario(SHORT)
    cluster = Cluster(world, SHORT, Telemetry(world, None, 1.0))
    world.faults.schedule(SHORT.faults)
    cluster.start()
    world.run(500.0)
    before = {server.node.id: server.observer for server in _servers(world)}
    assert all(type(observer) is ServerTelemetry for observer in before.values())
    assert [observer.node for observer in before.values()] == ["n1", "n2", "n3"]  # type: ignore[attr-defined]
    world.run(2500.0)  # n2 crashed at 1s and restarted at 2s: a new server, a new observer
    after = {server.node.id: server.observer for server in _servers(world)}
    assert after["n2"] is not before["n2"] and type(after["n2"]) is ServerTelemetry
    assert after["n1"] is before["n1"] and after["n3"] is before["n3"]


def test_telemetry_built_after_the_cluster_is_refused() -> None:
    world = World.from_scenario(SHORT)
    Cluster(world, SHORT)
    with pytest.raises(TelemetryOrderError, match=r"already has nodes \(n1, n2, n3\)"):
        Telemetry(world, None, 1.0)


def test_a_cluster_not_given_the_telemetry_observing_its_world_is_refused() -> None:
    world = World.from_scenario(SHORT)
    Telemetry(world, None, 1.0)
    with pytest.raises(TelemetryOrderError, match=r"Cluster\(world, scenario, telemetry\)"):
        Cluster(world, SHORT)


def test_a_cluster_given_another_worlds_telemetry_is_refused() -> None:
    telemetry = Telemetry(World.from_scenario(SHORT), None, 1.0)
    with pytest.raises(TelemetryOrderError, match="another world"):
        Cluster(World.from_scenario(SHORT), SHORT, telemetry)


def test_a_crash_ends_every_span_the_observer_holds_in_the_documented_order(
    tmp_path: Path,
) -> None:
    world = World.from_scenario(SHORT)
    telemetry = Telemetry(world, tmp_path, 1.0)
    client = telemetry.for_node("c1")
    observer = telemetry.server_observer("n1")
    put = Operation(Op.PUT, "k", 1)
    get = Operation(Op.GET, "k")
    # A write proposed at index 5 and written to the disk (its append awaits the fsync),
    # a read awaiting its ReadIndex round, a read confirmed and awaiting its apply.
    write = observer.serving(ClientRequest("c1", 1, put), client.client_operation("put", "k").span)
    observer.proposed(5, 1, write)
    observer.entries_written((Entry(1, 5, EntryKind.NORMAL, Command("c1", 1, put)),))
    waiting = observer.serving(
        ClientRequest("c1", 2, get), client.client_operation("get", "k").span
    )
    observer.read_index_started(1, 1, waiting)
    confirmed = observer.serving(
        ClientRequest("c1", 3, get), client.client_operation("get", "k").span
    )
    observer.read_index_started(2, 1, confirmed)
    observer.read_confirmed(2, 5)
    observer.crashed()
    telemetry.finish()
    spans = [s for s in read_otlp_spans(tmp_path / "traces.otlp.jsonl") if s.node == "n1"]
    crashed = [s.name for s in spans if s.attributes.get("result") == "crashed"]
    assert crashed == [
        "serve put",  # writes being served
        "raft.commit",  # commits awaited
        "serve get",  # reads awaiting their round
        "raft.read_index",  # the rounds
        "serve get",  # confirmed reads awaiting their apply
        "raft.append",  # appends awaiting their fsync
    ]
    # Nothing was left for the end of the run to close.
    assert [s.name for s in spans if s.status_message == "run ended"] == []


def test_the_server_imports_no_tracing() -> None:
    """Spans and metrics are its observer's: server.py imports nothing that makes them."""
    tree = ast.parse(Path(server_module.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    tracing = (
        "harmonysim.obs",
        "harmonysim.cluster.telemetry",
        "harmonysim.cluster.server_telemetry",
    )
    assert sorted(m for m in imported if m and m.startswith(tracing)) == []
