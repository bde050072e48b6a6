"""YCSB workloads on a cluster: every preset runs clean on 5 nodes under the nemesis, the
load phase goes through Raft to every replica and stays out of the history, the large
scenario grows every replica's tree deep and makes it merge and borrow, and a traced scan
reports the leaves it read."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from harmonysim.check.result import CheckStatus
from harmonysim.obs.otlp import read_otlp_spans
from harmonysim.runner import run_scenario
from harmonysim.scenario import parse_scenario
from harmonysim.sim.events import read_events

ROOT = Path(__file__).resolve().parents[2]


def preset_scenario(preset: str, seed: int) -> str:
    return f"""
name: ycsb-{preset}-short
seed: {seed}
duration: 5s
cluster: {{nodes: 5}}
network: {{latency: {{distribution: lognormal, mean: 5ms, p99: 30ms}}, loss: 0.01}}
workload: {{preset: {preset}, clients: 6, rate: 150/s, load: {{records: 2000, batch: 250}}}}
faults:
  - {{at: 1s, nemesis: {{kinds: [partition, crash, clog, pause], interval: 700ms, until: 3s}}}}
"""


def rows_of(out: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in (out / "history.jsonl").read_bytes().splitlines()]


@pytest.mark.parametrize("seed", [3, 4])
@pytest.mark.parametrize("preset", ["a", "b", "c", "d", "e", "f"])
def test_each_preset_runs_clean_on_five_nodes_under_the_nemesis(
    preset: str, seed: int, tmp_path: Path
) -> None:
    scenario = parse_scenario(preset_scenario(preset, seed))
    outcome = run_scenario(scenario, tmp_path, trace_sample=0.0)
    problems = {
        name: result.summary
        for name, result in outcome.checks.items()
        if result.status not in (CheckStatus.OK, CheckStatus.SKIPPED)
    }
    assert not problems
    assert outcome.checks["linearizability"].status is CheckStatus.OK
    assert outcome.checks["btree_invariants"].status is CheckStatus.OK
    summary = outcome.summary
    assert summary["load"]["done_ms"] is not None
    assert summary["load"]["batches"] == 8
    assert summary["ops_ok"] > 300
    faults = summary["faults"]
    assert faults.get("nemesis", 0) >= 2
    rows = rows_of(tmp_path)
    assert all(row["process"] != 0 for row in rows)  # the load is not in the history
    operations = Counter(row["f"] for row in rows if row["type"] == "invoke")
    if preset in ("d", "e"):
        assert summary["keys_inserted"] > 0
    if preset == "e":
        assert set(operations) == {"scan", "put"}
    if preset == "f":
        assert {"get", "cas"} <= set(operations)


def test_the_load_goes_through_raft_to_every_replica_and_reads_see_it(tmp_path: Path) -> None:
    scenario = parse_scenario(
        """
name: loaded
duration: 2s
cluster: {nodes: 5}
workload: {preset: c, clients: 3, rate: 100/s, load: {records: 1200, batch: 500}}
"""
    )
    outcome = run_scenario(scenario, tmp_path, trace_sample=0.0)
    assert outcome.checks["linearizability"].status is CheckStatus.OK
    events = read_events(tmp_path / "events.jsonl")
    loads = [e for e in events if e["kind"] == "raft.apply" and e.get("f") == "load"]
    # Three batches (500, 500, 200), each an entry every replica applies.
    assert Counter(e["node"] for e in loads) == {f"n{i}": 3 for i in range(1, 6)}
    first_invoke = min(e["t"] for e in events if e["kind"] == "client.invoke")
    assert outcome.summary["load"]["done_ms"] <= first_invoke
    assert all(tree["items"] == 1200 for tree in outcome.summary["btree"].values())
    reads = [row for row in rows_of(tmp_path) if row["type"] == "ok" and row["f"] == "get"]
    assert reads
    # A loaded key's value is its number (read only: nothing else was written).
    assert all(row["value"] == int(row["key"][1:]) for row in reads)


def test_the_large_scenario_grows_deep_trees_that_split_merge_and_borrow(
    tmp_path: Path,
) -> None:
    data = yaml.safe_load((ROOT / "scenarios" / "ycsb-large.yaml").read_text(encoding="utf-8"))
    # The shipped length is for people; a shorter run shows the same shape in CI.
    data["duration"] = "7s"
    data["faults"][0]["nemesis"]["until"] = "5s"
    scenario = parse_scenario(yaml.safe_dump(data))
    outcome = run_scenario(scenario, tmp_path, trace_sample=0.0)
    problems = {
        name: result.summary
        for name, result in outcome.checks.items()
        if result.status not in (CheckStatus.OK, CheckStatus.SKIPPED)
    }
    assert not problems
    changes: dict[str, Counter[str]] = {}
    depth: dict[str, int] = {}
    for event in read_events(tmp_path / "events.jsonl"):
        kind = event["kind"]
        if kind in ("btree.split", "btree.merge", "btree.borrow"):
            changes.setdefault(event["node"], Counter())[kind] += 1
        elif kind == "btree.root":
            depth[event["node"]] = event["depth"]
    assert sorted(changes) == [f"n{i}" for i in range(1, 6)]
    for node, counts in changes.items():
        assert counts["btree.split"] >= 1000, node
        assert counts["btree.merge"] > 0, node
        assert counts["btree.borrow"] > 0, node
    trees = outcome.summary["btree"]
    assert all(tree["depth"] >= 3 for tree in trees.values())
    assert max(depth.values()) >= 3  # the roots' growth is in the event log too


def test_a_traced_scan_carries_the_leaves_it_read(tmp_path: Path) -> None:
    scenario = parse_scenario(
        """
name: traced-scans
duration: 2s
cluster: {nodes: 3, btree: {order: 8}}
workload: {preset: e, clients: 3, rate: 60/s, load: {records: 3000}}
"""
    )
    run_scenario(scenario, tmp_path, trace_sample=1.0)
    spans = read_otlp_spans(tmp_path / "traces.otlp.jsonl")
    by_id = {span.context.span_id: span for span in spans}
    scans = [span for span in spans if span.name == "btree.scan"]
    assert scans
    leaf_max = 7  # order 8
    for span in scans:
        leaves = span.attributes["btree.leaves_visited"]
        items = span.attributes["btree.items"]
        assert isinstance(leaves, int) and isinstance(items, int)
        assert leaves >= 1
        assert leaves >= -(-items // leaf_max)  # at least the leaves the items fill
        # One trace from the client's query through the leader's read path to the tree.
        root = span
        while root.context.parent_span_id is not None:
            root = by_id[root.context.parent_span_id]
        assert root.name == "kv.scan"
    assert max(span.attributes["btree.leaves_visited"] for span in scans) > 1  # type: ignore[type-var]


def test_run_reports_the_load_phase_and_the_replicas_trees(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from harmonysim.cli import main

    monkeypatch.setenv("COLUMNS", "200")
    path = tmp_path / "loaded.yaml"
    path.write_text(
        "name: loaded\nduration: 1s\ncluster: {nodes: 3}\n"
        "workload: {preset: b, load: {records: 1500, batch: 500}}\n",
        encoding="utf-8",
    )
    assert main(["run", str(path), "--out", str(tmp_path / "run")]) == 0
    printed = capsys.readouterr().out
    assert "1,500 records, 3 batches, done at" in printed
    assert "depth 3, splits" in printed  # 1,500 keys in leaves of at most 31: three levels
