"""A run never loses another: run folders, exports and replays keep what is on disk.

- `run` refuses a folder that holds a run (exit 2, the old run untouched) unless
  `--force`, which replaces the whole folder; `--json` names the folder.
- `export` never replaces a file the run wrote itself.
- `replay` compares the re-run with run.json's hash and with events.jsonl on disk.
- `explore` and `mutants` never land on an earlier sweep's runs: a named `--out` must be
  free unless `--force`; the default root gives way to the next free numbered one.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from harmonysim.cli import main

ROOT = Path(__file__).resolve().parents[2]
TINY = """\
name: tiny
seed: 7
duration: 600ms
cluster: {nodes: 3}
workload: {clients: 2, rate: 50/s, mix: {get: 0.5, put: 0.5}}
checks: [raft_safety]
"""


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # default run folders land in tmp_path/runs
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def test_a_run_folder_survives_a_later_run_of_the_same_seed(
    tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = Path("runs") / "tiny" / "seed-7"
    assert main(["run", str(tiny), "--quiet"]) == 0
    before = (folder / "run.json").read_bytes()
    (folder / "shrunk.yaml").write_text("name: kept\n")
    (folder / "plots").mkdir()
    capsys.readouterr()
    assert main(["run", str(tiny), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert f"{folder} already holds a run (status ok)" in error
    assert "--force" in error
    assert (folder / "run.json").read_bytes() == before
    assert (folder / "shrunk.yaml").read_text() == "name: kept\n"
    # --force replaces the whole folder: nothing of the old run is left beside the new one.
    assert main(["run", str(tiny), "--quiet", "--force"]) == 0
    assert not (folder / "shrunk.yaml").exists() and not (folder / "plots").exists()
    assert (folder / "run.json").is_file()


def test_a_non_empty_folder_that_is_not_a_run_is_never_replaced(
    tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    precious = Path("precious")
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    for force in ([], ["--force"]):
        assert main(["run", str(tiny), "--quiet", "--out", str(precious), *force]) == 2
        assert "not empty and not a run folder" in capsys.readouterr().err
    assert (precious / "notes.txt").read_text() == "mine"
    empty = Path("empty")
    empty.mkdir()
    assert main(["run", str(tiny), "--quiet", "--out", str(empty)]) == 0


def test_run_json_output_names_the_run_folder(
    tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(tiny), "--json"]) == 0
    printed = orjson.loads(capsys.readouterr().out)
    assert printed["run_dir"] == str(Path("runs") / "tiny" / "seed-7")
    assert "run_dir" not in orjson.loads(Path(printed["run_dir"], "run.json").read_bytes())


def test_export_keeps_the_files_the_run_wrote(tiny: Path) -> None:
    folder = Path("runs") / "tiny" / "seed-7"
    assert main(["run", str(tiny), "--quiet", "--trace-sample", "1"]) == 0
    own = {name: (folder / name).read_bytes() for name in ("metrics.otlp.jsonl", "metrics.prom")}
    assert main(["export", str(folder), "--format", "all"]) == 0
    for name, content in own.items():
        assert (folder / name).read_bytes() == content, name
    elsewhere = Path("exported")
    assert main(["export", str(folder), "--format", "otlp", "-o", str(elsewhere)]) == 0
    assert (elsewhere / "metrics.otlp.jsonl").read_bytes() == own["metrics.otlp.jsonl"]
    assert (elsewhere / "traces.otlp.jsonl").read_bytes() == (
        folder / "traces.otlp.jsonl"
    ).read_bytes()


def test_replay_reports_an_edited_event_log(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = Path("runs") / "tiny" / "seed-7"
    assert main(["run", str(tiny), "--quiet"]) == 0
    assert main(["replay", str(folder)]) == 0
    events = (folder / "events.jsonl").read_bytes().split(b"\n")
    events[5] = events[5].replace(b'"kind"', b'"kind" ', 1)  # run.json left as it was
    (folder / "events.jsonl").write_bytes(b"\n".join(events))
    capsys.readouterr()
    assert main(["replay", str(folder)]) == 1
    printed = capsys.readouterr().out
    assert "the recorded events.jsonl does not match run.json" in printed
    assert "first differing event #5" in printed


def test_serve_live_never_replaces_a_run_folder(
    tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = Path("runs") / "tiny" / "seed-7"
    assert main(["run", str(tiny), "--quiet"]) == 0
    before = (folder / "run.json").read_bytes()
    capsys.readouterr()
    assert main(["serve", "--live", str(tiny), "--port", "0"]) == 2  # refused before serving
    assert "already holds a run" in capsys.readouterr().err
    assert (folder / "run.json").read_bytes() == before


def test_the_default_sweep_root_gives_way_to_the_next_free_numbered_one(tmp_path: Path) -> None:
    from harmonysim.runner import claim_sweep_root

    root = tmp_path / "explore" / "tiny"
    assert claim_sweep_root(root, named=False) == root  # missing: free
    root.mkdir(parents=True)
    assert claim_sweep_root(root, named=False) == root  # empty: free
    (root / "seed-7").mkdir()
    assert claim_sweep_root(root, named=False) == tmp_path / "explore" / "tiny-2"
    (tmp_path / "explore" / "tiny-2" / "seed-1").mkdir(parents=True)
    (tmp_path / "explore" / "tiny-3").mkdir()  # empty: free
    assert claim_sweep_root(root, named=False) == tmp_path / "explore" / "tiny-3"
    assert (root / "seed-7").is_dir()


@pytest.mark.parametrize("command", ["explore", "mutants"])
def test_a_named_sweep_root_holding_runs_is_refused_unless_forced(
    tiny: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    earlier = Path("sweeps") / "seed-7"
    earlier.mkdir(parents=True)
    (earlier / "run.json").write_text("{}")
    if command == "explore":
        argv = ["explore", str(tiny), "--seeds", "7", "--workers", "1", "--out", "sweeps"]
    else:
        argv = ["mutants", "--scenarios", str(tiny), "--bugs", "ack_before_fsync"]
        argv += ["--seeds", "7", "--workers", "1", "--out", "sweeps"]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert "sweeps already holds runs of an earlier sweep" in error and "--force" in error
    assert (earlier / "run.json").read_text() == "{}"
    main([*argv, "--force"])
    assert not (earlier / "run.json").exists()  # replaced whole
