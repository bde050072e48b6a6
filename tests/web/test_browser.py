"""The pages in a real browser: Debian's chromium, headless, driven by Playwright.

Each view is loaded from a uvicorn server on a free port, the slider is moved,
and the test checks that what is drawn changed; screenshots go to ``tmp_path``.
Every wait is on a condition (Playwright's ``expect`` retries until it holds or times
out), never a fixed sleep. The browser is the ``page`` fixture of ``conftest.py``:
without chromium or Playwright the tests skip locally and fail under CI
(``tests.tools``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harmonysim.web import RunCatalog, create_app
from tests.web.harness import serve, wait_for

ISO = "leader-isolation"
CHURN = "crash-restart-churn"


@pytest.fixture(scope="module")
def base_url(runs_root: Path) -> Iterator[str]:
    with serve(create_app(RunCatalog(runs_root))) as url:
        yield url


def _slide(page: Any, t_ms: int) -> None:
    """Move the slider to ``t_ms`` and wait until the page says it shows that time."""
    page.eval_on_selector(
        "#slider",
        "(s, t) => { s.value = String(t); s.dispatchEvent(new Event('input')); }",
        t_ms,
    )
    wait_for(page.locator("#time-label")).to_have_text(f"t = {t_ms / 1000:.3f} s")


def leaders(page: Any) -> list[str]:
    nodes = page.locator("svg.topology g.node[data-role=leader]")
    return sorted(nodes.nth(i).get_attribute("data-node") for i in range(nodes.count()))


def test_overview_draws_cut_links_and_roles_that_follow_the_slider(
    page: Any, base_url: str, tmp_path: Path
) -> None:
    page.goto(f"{base_url}/?run={ISO}&t=4000")
    wait_for(page.locator("svg.topology g.node")).to_have_count(5)
    wait_for(page.locator("svg.topology g.node[data-role=leader]")).to_have_count(1)
    assert page.locator("line[data-state=cut]").count() == 0
    (leader_before,) = leaders(page)
    page.screenshot(path=str(tmp_path / "overview-before.png"), full_page=True)
    _slide(page, 7900)
    # The leader was isolated at 5 s: its four links are cut, and the majority side
    # elected someone else by 7.9 s.
    wait_for(page.locator("line[data-state=cut]")).to_have_count(4)
    leaders_after = leaders(page)
    assert leaders_after and leader_before not in leaders_after, (leader_before, leaders_after)
    wait_for(page.locator(".card")).to_have_count(5)
    page.screenshot(path=str(tmp_path / "overview-after.png"), full_page=True)


def first_entry_index(page: Any) -> int:
    return int(page.locator(".log-col").first.locator(".entry").first.get_attribute("data-index"))


def test_raft_page_shows_logs_side_by_side(page: Any, base_url: str, tmp_path: Path) -> None:
    page.goto(f"{base_url}/raft?run={ISO}&t=3000")
    wait_for(page.locator(".log-col")).to_have_count(5)
    wait_for(page.locator(".log-col .entry").first).to_be_attached()
    first = first_entry_index(page)
    _slide(page, 6000)
    first_entry = page.locator(".log-col").first.locator(".entry").first
    wait_for(first_entry).not_to_have_attribute("data-index", str(first))
    assert first_entry_index(page) > first
    wait_for(page.locator("#followers tr[data-node]")).to_have_count(4)
    page.screenshot(path=str(tmp_path / "raft.png"), full_page=True)


def test_btree_page_grows_the_tree(page: Any, base_url: str, tmp_path: Path) -> None:
    page.goto(f"{base_url}/btree?run={CHURN}&node=n1&t=300")
    wait_for(page.locator("[data-tree-node]").first).to_be_attached()
    before = page.locator("[data-tree-node]").count()
    _slide(page, 8000)
    # More nodes than before: the (before + 1)-th node exists once the tree has grown.
    wait_for(page.locator("[data-tree-node]").nth(before)).to_be_attached()
    wait_for(page.locator("#tree-stats")).to_contain_text("depth")
    page.screenshot(path=str(tmp_path / "btree.png"), full_page=True)


def test_traces_and_history_pages(page: Any, base_url: str, tmp_path: Path) -> None:
    page.goto(f"{base_url}/traces?run={ISO}&t=2000")
    rows = page.locator("#trace-list tr[data-trace]")
    wait_for(rows.nth(1)).to_be_attached()
    rows.nth(1).click()
    # A client operation's trace has its root span and at least one child.
    wait_for(page.locator("#waterfall .span").nth(1)).to_be_attached()
    page.screenshot(path=str(tmp_path / "traces.png"), full_page=True)
    page.goto(f"{base_url}/history?run={ISO}&t=1000")
    wait_for(page.locator("rect.op").first).to_be_attached()
    first = page.locator("rect.op").first.get_attribute("data-trace")
    assert first
    _slide(page, 6000)
    wait_for(page.locator("rect.op").first).not_to_have_attribute("data-trace", first)
    page.screenshot(path=str(tmp_path / "history.png"), full_page=True)
