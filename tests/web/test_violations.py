"""Failures first on the dashboard: the run API places violations on the clock and says
where the pages open; in a browser the slider marks them and the page opens at the first.

The browser tests use the Playwright page of ``conftest.py`` over their own runs, and
skip locally (fail under CI) without chromium or Playwright.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from harmonysim.web import RunCatalog, create_app
from tests.web.harness import serve, wait_for

FAILING = "stale-reads"
PASSING = "passing"


@pytest.fixture(scope="module")
def client(violation_runs_root: Path) -> Iterator[TestClient]:
    with TestClient(create_app(RunCatalog(violation_runs_root))) as test_client:
        yield test_client


def recorded(root: Path) -> dict[str, Any]:
    return dict(orjson.loads((root / FAILING / "run.json").read_bytes())["checks"])


def test_a_failing_run_lists_its_violations_in_time_order(
    client: TestClient, violation_runs_root: Path
) -> None:
    body = client.get("/api/run", params={"run": FAILING}).json()
    checks = recorded(violation_runs_root)
    safety = sorted(v["time_ms"] for v in checks["raft_safety"]["details"]["violations"])
    called = [p["at_ms"] for p in checks["linearizability"]["details"]["problems"]]
    assert [(v["check"], v["time_ms"]) for v in body["violations"]] == sorted(
        [("raft_safety", t) for t in safety] + [("linearizability", t) for t in called],
        key=lambda item: item[1],
    )
    assert all(v["label"] for v in body["violations"])


def test_a_failing_run_opens_at_its_first_violation(
    client: TestClient, violation_runs_root: Path
) -> None:
    body = client.get("/api/run", params={"run": FAILING}).json()
    checks = recorded(violation_runs_root)
    first = min(v["time_ms"] for v in checks["raft_safety"]["details"]["violations"])
    assert body["open_ms"] == first > 0.0


def test_a_passing_run_has_no_violations_and_opens_at_zero(client: TestClient) -> None:
    body = client.get("/api/run", params={"run": PASSING}).json()
    assert body["violations"] == [] and body["open_ms"] == 0.0


# -- in a browser --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_url(violation_runs_root: Path) -> Iterator[str]:
    with serve(create_app(RunCatalog(violation_runs_root))) as url:
        yield url


def label_of(t_ms: float) -> str:
    """The time label as the page writes it (``formatMs`` in common.js)."""
    if t_ms >= 1000.0:
        return f"t = {t_ms / 1000:.3f} s"
    return f"t = {t_ms:.{3 if t_ms < 10 else 1}f} ms"


def test_the_page_opens_at_the_first_violation_and_marks_each_on_the_slider(
    page: Any,
    base_url: str,
    client: TestClient,
    tmp_path: Path,
) -> None:
    body = client.get("/api/run", params={"run": FAILING}).json()
    page.goto(f"{base_url}/?run={FAILING}")
    wait_for(page.locator("#time-label")).to_have_text(label_of(body["open_ms"]))
    assert page.url.endswith(f"t={round(body['open_ms'])}")
    wait_for(page.locator("#markers .marker.violation")).to_have_count(len(body["violations"]))
    assert page.locator("#markers .marker.check-linearizability").count() == 1
    wait_for(page.locator("#run-meta")).to_contain_text("first violation (raft_safety)")
    page.screenshot(path=str(tmp_path / "violation-open.png"), full_page=True)
    # Clicking a violation's mark moves the slider to it.
    last = body["violations"][-1]
    page.locator(f"#violation-{len(body['violations']) - 1}").click(force=True)
    wait_for(page.locator("#time-label")).to_have_text(label_of(last["time_ms"]))


def test_a_time_in_the_url_still_wins_and_a_passing_run_opens_at_zero(
    page: Any,
    base_url: str,
) -> None:
    page.goto(f"{base_url}/raft?run={FAILING}&t=2500")
    wait_for(page.locator("#time-label")).to_have_text(label_of(2500))
    page.goto(f"{base_url}/?run={PASSING}")
    wait_for(page.locator("svg.topology g.node")).to_have_count(3)
    wait_for(page.locator("#time-label")).to_have_text(label_of(0))
    assert page.locator("#markers .marker.violation").count() == 0
