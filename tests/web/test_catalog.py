"""The dashboard's run catalog finds `mutants` runs (four levels down) and runs written later."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from harmonysim.web import RunCatalog, create_app


def fake_run(folder: Path) -> Path:
    """A folder the catalog counts as a run (it only lists; nothing is indexed here)."""
    folder.mkdir(parents=True)
    (folder / "run.json").write_text("{}")
    return folder


def test_mutants_runs_four_levels_down_are_listed(tmp_path: Path) -> None:
    fake_run(tmp_path / "leader-isolation" / "seed-7")
    fake_run(tmp_path / "mutants" / "apply_before_commit" / "nemesis" / "seed-1")
    fake_run(tmp_path / "explore" / "nemesis" / "seed-17")
    catalog = RunCatalog(tmp_path)
    assert list(catalog.entries) == [
        "explore/nemesis/seed-17",
        "leader-isolation/seed-7",
        "mutants/apply_before_commit/nemesis/seed-1",
    ]


def test_runs_written_after_the_start_are_found(tmp_path: Path) -> None:
    fake_run(tmp_path / "b" / "seed-1")
    catalog = RunCatalog(tmp_path)
    with TestClient(create_app(catalog)) as client:
        assert [run["id"] for run in client.get("/api/runs").json()["runs"]] == ["b/seed-1"]
        first = catalog.entries["b/seed-1"]
        fake_run(tmp_path / "a" / "seed-2")
        listed = [run["id"] for run in client.get("/api/runs").json()["runs"]]
        assert listed == ["a/seed-2", "b/seed-1"]
        assert catalog.entries["b/seed-1"] is first  # kept, with whatever it indexed
        fake_run(tmp_path / "c" / "seed-3")
        assert catalog.get("c/seed-3") is not None  # asked for by id before any listing
