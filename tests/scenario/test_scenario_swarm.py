"""Swarm testing of the settings: each seed draws its own values for the swarmed paths.

One rule per test: where a value goes, that the draw is a function of the seed alone,
that it is idempotent (a recorded run draws the same again, whatever earlier draw it
holds), that the run announces and records it, and that every bad swarm is one located
error.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from harmonysim.cli import main
from harmonysim.runner import replay_run, run_scenario
from harmonysim.scenario import (
    ScenarioError,
    load_scenario,
    parse_scenario,
    resolve,
    scenario_to_data,
)
from harmonysim.scenario.swarm import apply_setting, current_values
from harmonysim.sim import swarm

ROOT = Path(__file__).resolve().parents[2]

BASE = """\
name: swarmed
duration: 2s
cluster:
  raft: {lease_reads: true}
workload: {clients: 2, rate: 50/s}
swarm:
  cluster.nodes: [3, 5]
  cluster.raft:
    - {check_quorum: true, lease_reads: true, prevote: true}
    - {check_quorum: false, lease_reads: false, prevote: false}
  cluster.membership.wait: [committed, accepted]
"""


def test_a_mapping_value_merges_and_a_plain_value_replaces() -> None:
    data = {"cluster": {"raft": {"prevote": True, "tick": "10ms"}, "nodes": 5}}
    apply_setting(data, "cluster.raft", {"prevote": False})
    apply_setting(data, "cluster.nodes", 3)
    apply_setting(data, "cluster.membership.wait", "accepted")  # made on the way
    assert data == {
        "cluster": {
            "raft": {"prevote": False, "tick": "10ms"},
            "nodes": 3,
            "membership": {"wait": "accepted"},
        }
    }


def test_the_draw_is_a_function_of_the_seed_and_reaches_every_value() -> None:
    base = parse_scenario(BASE)
    draws = [swarm.drawn_values(resolve(base, seed=seed)) for seed in range(1, 41)]
    assert draws == [swarm.drawn_values(resolve(base, seed=seed)) for seed in range(1, 41)]
    assert {draw["cluster.nodes"] for draw in draws} == {3, 5}
    assert {draw["cluster.membership.wait"] for draw in draws} == {"committed", "accepted"}
    assert {draw["cluster.raft"]["prevote"] for draw in draws} == {True, False}


def test_a_drawn_scenario_holds_its_draw() -> None:
    for seed in range(1, 11):
        drawn = swarm.draw(resolve(parse_scenario(BASE), seed=seed))
        values = swarm.drawn_values(drawn)
        assert drawn.cluster.nodes == values["cluster.nodes"]
        assert drawn.cluster.raft.prevote == values["cluster.raft"]["prevote"]
        assert drawn.cluster.raft.lease_reads == values["cluster.raft"]["lease_reads"]
        assert drawn.cluster.membership is not None
        assert drawn.cluster.membership.wait == values["cluster.membership.wait"]
        assert current_values(scenario_to_data(drawn), drawn.swarm) == values


def test_drawing_is_idempotent_and_forgets_earlier_draws() -> None:
    base = parse_scenario(BASE)
    for seed in range(1, 11):
        once = swarm.draw(resolve(base, seed=seed))
        assert swarm.draw(once) is once
        for other in range(1, 11):  # a recorded run given another seed draws afresh
            again = swarm.draw(resolve(once, seed=other))
            assert again == swarm.draw(resolve(base, seed=other))


def test_a_run_announces_its_draw_records_it_and_replays(tmp_path: Path) -> None:
    scenario = resolve(parse_scenario(BASE), seed=2)
    outcome = run_scenario(scenario, tmp_path / "run", trace_sample=0.0)
    first = orjson.loads((tmp_path / "run" / "events.jsonl").read_bytes().split(b"\n")[0])
    values = swarm.drawn_values(scenario)
    assert first["kind"] == "run.start"
    assert first["swarm"] == values
    assert first["nodes"] == values["cluster.nodes"]
    recorded = orjson.loads((tmp_path / "run" / "run.json").read_bytes())["scenario"]
    assert recorded["cluster"]["nodes"] == values["cluster.nodes"]
    assert outcome.scenario.cluster.nodes == values["cluster.nodes"]
    assert replay_run(tmp_path / "run").matched


JOINT = """\
name: joint
duration: 2s
cluster:
  raft: {lease_reads: false}
workload: {clients: 2, rate: 50/s}
swarm:
  cluster.nodes: [3, 5]
  cluster.raft, workload:
    - cluster.raft: {lease_reads: false, check_quorum: false}
      workload: {mix: {get: 0.4, put: 0.6}, keys: {count: 50}}
    - cluster.raft: {lease_reads: true, check_quorum: true}
      workload: {mix: {get: 0.8, put: 0.2}, keys: {count: 8}}
"""


def test_a_joint_entry_draws_its_paths_together() -> None:
    # Settings that only make sense together (lease reads and a read-mostly load) are
    # one entry: every seed gets both halves of one value, never a mix of two.
    base = parse_scenario(JOINT)
    pairs = set()
    for seed in range(1, 41):
        drawn = swarm.draw(resolve(base, seed=seed))
        pairs.add((drawn.cluster.raft.lease_reads, drawn.workload.keys.count))
        assert swarm.draw(drawn) is drawn  # idempotent, as a single path is
        assert current_values(scenario_to_data(drawn), drawn.swarm) == swarm.drawn_values(drawn)
    assert pairs == {(False, 50), (True, 8)}


def test_a_joint_value_puts_each_of_its_paths() -> None:
    data = {"cluster": {"raft": {"prevote": True}}, "workload": {"clients": 2}}
    apply_setting(
        data,
        "cluster.raft, workload",
        {"cluster.raft": {"prevote": False}, "workload": {"clients": 4}},
    )
    assert data == {"cluster": {"raft": {"prevote": False}}, "workload": {"clients": 4}}


def test_a_scenario_without_a_swarm_is_untouched() -> None:
    plain = load_scenario(ROOT / "scenarios" / "standard.yaml")
    assert swarm.draw(plain) is plain


def test_every_seed_of_nemesis_all_draws_a_valid_scenario_and_every_value_is_drawn() -> None:
    base = load_scenario(ROOT / "scenarios" / "nemesis-all.yaml")
    seen: dict[str, list[object]] = {path: [] for path in base.swarm}
    for seed in range(1, 201):
        drawn = swarm.draw(resolve(base, seed=seed))  # raises on an invalid combination
        for path, value in swarm.drawn_values(drawn).items():
            if value not in seen[path]:
                seen[path].append(value)
    for path, choices in base.swarm.items():
        assert len(seen[path]) == len(choices), path


# --------------------------------------------------------------------------- bad swarms


def load_error(tmp_path: Path, swarm_text: str) -> ScenarioError:
    path = tmp_path / "bad.yaml"
    text = BASE.split("swarm:\n")[0] + "swarm:\n" + swarm_text
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert "\n" not in str(info.value)
    return info.value


@pytest.mark.parametrize(
    ("swarm_text", "line_column", "fragment"),
    [
        ("  cluster.nodez: [3, 5]\n", (7, 3), "no setting 'nodez' in cluster"),
        ("  seed: [1, 2]\n", (7, 3), "seed cannot be swarmed"),
        ("  cluster.nodes: [3, 99]\n", (7, 22), "cluster.nodes = 99 makes an invalid scenario"),
        ("  cluster.nodes: [{a: 1}]\n", (7, 19), "a single setting"),
        ("  cluster.nodes: 3\n", (7, 18), "non-empty list of values"),
        (
            "  cluster.raft: [{prevote: true}, {check_quorum: false}]\n",
            (7, 35),
            "must name the same settings",
        ),
        (
            "  cluster.raft: [{check_quorum: false}]\n",
            (7, 18),
            "lease_reads needs check_quorum",
        ),
        (
            "  cluster.nodes, cluster.nodez: [{cluster.nodes: 3, cluster.nodez: 3}]\n",
            (7, 3),
            "no setting 'nodez' in cluster",
        ),
        (
            "  cluster.nodes, workload.clients: [{cluster.nodes: 3}]\n",
            (7, 37),
            "must give a value to each of its paths",
        ),
        (
            "  cluster.nodes, workload.clients: [{cluster.nodes: 3, workload.clients: 0}]\n",
            (7, 37),
            "makes an invalid scenario",
        ),
        (
            "  cluster.nodes, cluster.nodes: [{cluster.nodes: 3}]\n",
            (7, 3),
            "names a path twice",
        ),
    ],
)
def test_a_bad_swarm_is_one_located_error(
    tmp_path: Path, swarm_text: str, line_column: tuple[int, int], fragment: str
) -> None:
    error = load_error(tmp_path, swarm_text)
    assert (error.line, error.column) == line_column
    assert fragment in error.message
    assert error.field is not None and error.field.startswith("swarm")


def test_a_combination_that_no_value_breaks_alone_names_the_seed_and_the_draw() -> None:
    text = """\
name: combo
duration: 2s
swarm:
  cluster.nodes: [3]
  cluster.members: [5]
"""
    scenario = parse_scenario(text)  # 3 nodes alone and 5 members alone are valid
    with pytest.raises(ScenarioError) as info:  # 5 members of 3 nodes: only together
        swarm.draw(scenario)
    assert "seed 1, swarm draw" in str(info.value)
    assert "5 initial members but only 3 nodes" in str(info.value)


def test_the_command_line_exits_2_on_a_bad_swarm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BASE.replace("[3, 5]", "[3, 99]"), encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "cluster.nodes = 99 makes an invalid scenario" in err
    assert "Traceback" not in err
