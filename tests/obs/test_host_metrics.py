"""Host and disk metrics: ``harmonysim_node_up`` and ``harmonysim_disk_fsync_latency_seconds``,
kept inline from the hosts and the disk events, and derived the same from the event log;
and the series the message path and the servers keep bound, against the same log."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from harmonysim.obs.derive import metrics_from_events
from harmonysim.runner import run_scenario
from harmonysim.scenario import parse_scenario
from harmonysim.sim.events import read_events
from tests.obs.test_alerts import OUTAGE


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("outage-hosts")
    run_scenario(parse_scenario(OUTAGE, source="outage"), out)
    return out


def _samples(out: Path, name: str) -> dict[float, dict[str, object]]:
    """time -> node -> sample record, for one family of metrics.jsonl."""
    by_time: dict[float, dict[str, object]] = {}
    for line in (out / "metrics.jsonl").read_bytes().splitlines():
        record = orjson.loads(line)
        if record["name"] == name:
            by_time.setdefault(record["t"], {})[record["labels"]["node"]] = record
    return by_time


def test_node_up_follows_the_crashes_and_restarts(outage: Path) -> None:
    up = _samples(outage, "harmonysim_node_up")
    nodes = ["n1", "n2", "n3"]
    value = {t: [up[t][node]["value"] for node in nodes] for t in up}  # type: ignore[index]
    assert value[1000.0] == [1, 1, 1]
    assert value[3000.0] == value[5000.0] == [0, 0, 0]  # crashed 2 s .. 6 s
    assert value[7000.0] == value[10000.0] == [1, 1, 1]


def test_fsync_latency_counts_every_completed_fsync_at_the_disks_latency(outage: Path) -> None:
    records = read_events(outage / "events.jsonl")
    final = _samples(outage, "harmonysim_disk_fsync_latency_seconds")[10000.0]
    for node in ("n1", "n2", "n3"):
        synced = sum(1 for r in records if r["kind"] == "disk.synced" and r["node"] == node)
        histogram = final[node]
        assert isinstance(histogram, dict)
        assert histogram["count"] == synced > 0
        # the scenario's disks take 1 ms (the default) per fsync
        assert histogram["sum"] == pytest.approx(synced * 0.001)


def test_derived_host_metrics_equal_the_inline_ones(outage: Path) -> None:
    derived = metrics_from_events(read_events(outage / "events.jsonl"))
    inline_up = _samples(outage, "harmonysim_node_up")[10000.0]
    inline_fsync = _samples(outage, "harmonysim_disk_fsync_latency_seconds")[10000.0]
    for node in ("n1", "n2", "n3"):
        assert derived.value("harmonysim_node_up", node=node) == inline_up[node]["value"]  # type: ignore[index]
        (sample,) = [
            s
            for s in derived.get("harmonysim_disk_fsync_latency_seconds").samples()
            if dict(s.labels)["node"] == node
        ]
        assert sample.count == inline_fsync[node]["count"]  # type: ignore[index]


def _final_series(out: Path, name: str, at: float) -> dict[tuple[tuple[str, str], ...], object]:
    """labels -> value of one family in the sample at ``at`` of metrics.jsonl."""
    series: dict[tuple[tuple[str, str], ...], object] = {}
    for line in (out / "metrics.jsonl").read_bytes().splitlines():
        record = orjson.loads(line)
        if record["name"] == name and record["t"] == at:
            series[tuple(sorted(record["labels"].items()))] = record["value"]
    return series


def test_inline_message_operation_and_state_series_equal_the_derived_ones(outage: Path) -> None:
    """The series the message path and the servers keep bound (one per node and message
    type, node and operation, node) count what the event log shows, across crashes and
    restarts (every server incarnation binds its own)."""
    derived = metrics_from_events(read_events(outage / "events.jsonl"))

    def derived_series(name: str) -> dict[tuple[tuple[str, str], ...], object]:
        return {tuple(sorted(s.labels)): s.value for s in derived.get(name).samples()}

    for name in (
        "harmonysim_network_messages_sent_total",
        "harmonysim_network_messages_delivered_total",
        "harmonysim_raft_term",
        "harmonysim_raft_commit_index",
    ):
        inline = _final_series(outage, name, 10000.0)
        assert inline, name
        assert inline == derived_series(name), name
    # The log shows applied writes; reads are counted inline only.
    writes = {
        labels: value
        for labels, value in _final_series(
            outage, "harmonysim_btree_operations_total", 10000.0
        ).items()
        if dict(labels)["op"] not in ("get", "scan")
    }
    assert writes and writes == derived_series("harmonysim_btree_operations_total")
