"""The pages in a real browser: Debian's chromium, headless, driven by Playwright.

Each view is loaded from a uvicorn server on a free port, the slider is moved,
and the test checks that what is drawn changed; screenshots go to ``tmp_path``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from harmonysim.web import RunCatalog, create_app

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
)
ISO = "leader-isolation"
CHURN = "crash-restart-churn"


@pytest.fixture(scope="module")
def base_url(runs_root: Path) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(RunCatalog(runs_root)), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10.0
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5.0)


@pytest.fixture(scope="module")
def page(base_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            viewport={"width": 1400, "height": 1000},
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        tab = browser.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.errors = errors
        yield tab
        browser.close()
    assert errors == [], f"JavaScript errors: {errors}"


def _slide(page: Any, t_ms: int) -> None:
    page.eval_on_selector(
        "#slider",
        "(s, t) => { s.value = String(t); s.dispatchEvent(new Event('input')); }",
        t_ms,
    )
    page.wait_for_timeout(400)


def test_overview_draws_cut_links_and_roles_that_follow_the_slider(
    page: Any, base_url: str, tmp_path: Path
) -> None:
    page.goto(f"{base_url}/?run={ISO}&t=4000")
    page.wait_for_selector("svg.topology g.node")
    assert page.locator("line[data-state=cut]").count() == 0
    leaders_before = page.locator("g.node[data-role=leader]").count()
    page.screenshot(path=str(tmp_path / "overview-before.png"), full_page=True)
    _slide(page, 7900)
    assert page.locator("line[data-state=cut]").count() == 4
    assert page.locator("#time-label").inner_text() == "t = 7.900 s"
    assert page.locator("g.node[data-role=leader]").count() >= leaders_before
    assert page.locator(".card").count() == 5
    page.screenshot(path=str(tmp_path / "overview-after.png"), full_page=True)


def test_raft_page_shows_logs_side_by_side(page: Any, base_url: str, tmp_path: Path) -> None:
    page.goto(f"{base_url}/raft?run={ISO}&t=3000")
    page.wait_for_selector(".log-col .entry")
    assert page.locator(".log-col").count() == 5
    first = page.locator(".log-col").first.locator(".entry").first.get_attribute("data-index")
    _slide(page, 6000)
    later = page.locator(".log-col").first.locator(".entry").first.get_attribute("data-index")
    assert int(later) > int(first)
    assert page.locator("#followers tr[data-node]").count() == 4
    page.screenshot(path=str(tmp_path / "raft.png"), full_page=True)


def test_btree_page_grows_the_tree(page: Any, base_url: str, tmp_path: Path) -> None:
    page.goto(f"{base_url}/btree?run={CHURN}&node=n1&t=300")
    page.wait_for_selector("[data-tree-node]")
    before = page.locator("[data-tree-node]").count()
    _slide(page, 8000)
    after = page.locator("[data-tree-node]").count()
    assert after > before
    assert "depth" in page.locator("#tree-stats").inner_text()
    page.screenshot(path=str(tmp_path / "btree.png"), full_page=True)


def test_traces_and_history_pages(page: Any, base_url: str, tmp_path: Path) -> None:
    page.goto(f"{base_url}/traces?run={ISO}&t=2000")
    page.wait_for_selector("#trace-list tr[data-trace]")
    page.locator("#trace-list tr[data-trace]").nth(1).click()
    page.wait_for_timeout(400)
    assert page.locator("#waterfall .span").count() >= 2
    page.screenshot(path=str(tmp_path / "traces.png"), full_page=True)
    page.goto(f"{base_url}/history?run={ISO}&t=1000")
    page.wait_for_selector("rect.op")
    first = page.locator("rect.op").first.get_attribute("data-trace")
    _slide(page, 6000)
    assert page.locator("rect.op").first.get_attribute("data-trace") != first
    page.screenshot(path=str(tmp_path / "history.png"), full_page=True)
