"""The dashboard lists and marks every fault (``harmonysim.runlog.faultmarks``): its fault
list names clock, storage, transfer and membership faults, its roles timeline marks
them on the lane of the server they hit, and the node cards show what the fold holds
of them. Checked on the run with one fault of each kind (``tests.faultrun``) against a
run without them (the session's leader-isolation run).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from harmonysim.runlog.faultmarks import MarkKind
from harmonysim.web import RunCatalog, create_app
from tests.faultrun import MARK_TIMES, make_marked_run
from tests.web.harness import serve, wait_for

MARKED = "marked-faults"
ISO = "leader-isolation"


@pytest.fixture(scope="module")
def marked_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of one run: the run with one fault of each kind."""
    root = tmp_path_factory.mktemp("marked-runs")
    make_marked_run(root / MARKED)
    return root


@pytest.fixture(scope="module")
def client(marked_root: Path) -> Iterator[TestClient]:
    with TestClient(create_app(RunCatalog(marked_root))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def plain(runs_root: Path) -> Iterator[TestClient]:
    with TestClient(create_app(RunCatalog(runs_root))) as test_client:
        yield test_client


FAULT_LABELS: list[tuple[str, str]] = [
    ("node.clock", "n2 clock rate 0.97"),
    ("node.clock", "n3 clock jump +250 ms"),
    ("node.clock", "n3 clock strobe ±100 ms every 20 ms"),
    ("disk.fault", "n2 disk slow (fsync 20 ms)"),
    ("leader.transfer", "transfer n1 -> n2"),
    ("membership", "remove n3"),
    ("membership", "add n3"),
    ("disk.damage", "n2 damage in log (checksum): repair"),
    ("fault.noop", "no-op resume: the node is not paused"),
    ("disk.damage", "n3 damage in hard_state (checksum): halt"),
]


@pytest.mark.parametrize(("kind", "label"), FAULT_LABELS, ids=[label for _, label in FAULT_LABELS])
def test_the_fault_list_names_each_fault(client: TestClient, kind: str, label: str) -> None:
    faults = client.get("/api/run", params={"run": MARKED}).json()["faults"]
    assert {"kind": kind, "label": label} in [
        {"kind": f["kind"], "label": f["label"]} for f in faults
    ]


def test_the_fault_list_names_the_server_a_fault_hits(client: TestClient) -> None:
    faults = client.get("/api/run", params={"run": MARKED}).json()["faults"]
    hit = {f["label"]: f["node"] for f in faults}
    assert hit["remove n3"] == "n3"  # a membership change names its target
    assert hit["transfer n1 -> n2"] == "n1"
    assert any(label.startswith("n2 repaired (log to ") for label in hit)


@pytest.mark.parametrize("name", sorted(MARK_TIMES))
def test_the_timeline_marks_each_fault_on_its_servers_lane(client: TestClient, name: str) -> None:
    node, t_ms = MARK_TIMES[name]
    marks = client.get("/api/timeline", params={"run": MARKED}).json()["marks"]
    found = [mark for mark in marks[node] if mark["kind"] == name]
    assert found and found[0]["start_ms"] == pytest.approx(t_ms)
    assert found[0]["name"] == MarkKind[name.upper()].value


def test_a_lasting_mark_ends_when_the_fault_does(client: TestClient) -> None:
    marks = client.get("/api/timeline", params={"run": MARKED}).json()["marks"]
    (rate,) = [mark for mark in marks["n2"] if mark["kind"] == "clock_rate"]
    assert (rate["start_ms"], rate["end_ms"], rate["short"]) == (500.0, 1000.0, "×0.97")
    (transfer,) = [mark for mark in marks["n1"] if mark["kind"] == "transfer"]
    assert transfer["peer"] == "n2"


def test_a_run_without_such_faults_has_no_marks(plain: TestClient) -> None:
    timeline = plain.get("/api/timeline", params={"run": ISO}).json()
    assert timeline["marks"] == {node: [] for node in timeline["nodes"]}
    faults = plain.get("/api/run", params={"run": ISO}).json()["faults"]
    assert [f["kind"] for f in faults] == ["net.partition"]


# -- in a browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_url(marked_root: Path) -> Iterator[str]:
    with serve(create_app(RunCatalog(marked_root))) as url:
        yield url


def test_the_overview_marks_every_kind_and_the_cards_show_the_clock(
    page: Any, base_url: str, tmp_path: Path
) -> None:
    page.goto(f"{base_url}/?run={MARKED}&t=900")
    for name in MARK_TIMES:
        wait_for(
            page.locator(f"svg.timeline g.fault-mark[data-kind={name}]").first
        ).to_be_attached()
    wait_for(page.locator(".mark-key[data-kind=clock_rate]")).to_have_text("clock rate")
    # at 0.9 s n2's clock runs at 0.97 and its disk is slow: the fold says so on its card
    card = page.locator(".card[data-node=n2]")
    wait_for(card.locator("[data-field=clock]")).to_have_text("rate ×0.97")
    wait_for(card.locator("[data-field=disk]")).to_have_text("slow (fsync 20 ms)")
    wait_for(page.locator(".card[data-node=n1] [data-field=clock]")).to_have_count(0)
    page.screenshot(path=str(tmp_path / "overview-marks.png"), full_page=True)
