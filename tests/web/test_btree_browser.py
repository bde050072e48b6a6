"""The B+ tree page in a real browser, for a deep tree and for a one-leaf tree.

Same harness as ``test_browser`` (the ``page`` fixture of ``conftest.py``, Debian's
chromium driven by Playwright, skipping locally without them), served over the B+ tree runs of
``btree_runs_root``: levels, rates, hottest leaves, opening a subtree and going back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harmonysim.web import RunCatalog, create_app
from tests.web.harness import serve, wait_for

DEEP = "btree-deep"
ONE_LEAF = "btree-one-leaf"


@pytest.fixture(scope="module")
def base_url(btree_runs_root: Path) -> Iterator[str]:
    with serve(create_app(RunCatalog(btree_runs_root))) as url:
        yield url


def test_deep_tree_shows_levels_rates_hot_leaves_and_opens_a_subtree(
    page: Any, base_url: str, tmp_path: Path
) -> None:
    page.goto(f"{base_url}/btree?run={DEEP}&node=n1&t=5000")
    wait_for(page.locator("#tree-stats")).to_contain_text("depth")
    depth = int(page.locator("#tree-stats").inner_text().split("depth ")[1].split(" ")[0])
    assert depth >= 5
    wait_for(page.locator("#levels tr[data-level]")).to_have_count(depth)
    assert page.locator("#levels tr[data-level]").first.get_attribute("data-level") == str(
        depth - 1
    )
    wait_for(page.locator("#hot-leaves li[data-leaf]")).to_have_count(10)
    for kind in ("split", "merge", "borrow"):
        assert page.locator(f"#rates rect[data-kind={kind}]").count() > 0
    assert page.locator(".one-leaf").count() == 0
    page.screenshot(path=str(tmp_path / "btree-deep.png"), full_page=True)

    root_id = page.locator("#tree-path [data-crumb]").first.get_attribute("data-crumb")
    target = page.locator("#tree g.opens[data-hidden-below]:not([data-hidden-below='0'])").first
    opened = target.get_attribute("data-tree-node")
    target.click()
    wait_for(page.locator("#tree-path strong.crumb")).to_have_attribute("data-crumb", opened)
    assert f"subtree={opened}" in page.url
    wait_for(page.locator("#tree svg.tree")).to_have_attribute("data-focus", opened)
    assert page.locator(f"#tree g[data-tree-node='{opened}']").count() == 1
    page.screenshot(path=str(tmp_path / "btree-subtree.png"), full_page=True)

    page.locator(f"#tree-path a.crumb[data-crumb='{root_id}']").click()
    wait_for(page.locator("#tree-path strong.crumb")).to_have_attribute("data-crumb", root_id)
    assert "subtree=" not in page.url

    page.locator("#hot-leaves li[data-leaf]").first.click()
    leaf = page.locator("#hot-leaves li[data-leaf]").first.get_attribute("data-leaf")
    wait_for(page.locator("#tree g[data-tree-node]")).to_have_count(1)
    assert page.locator("#tree g[data-tree-node]").get_attribute("data-kind") == "leaf"
    assert page.locator("#tree g[data-tree-node]").get_attribute("data-tree-node") == leaf
    wait_for(page.locator("#tree-path [data-crumb]")).to_have_count(depth)


def test_one_leaf_says_so_instead_of_drawing_empty_charts(
    page: Any, base_url: str, tmp_path: Path
) -> None:
    page.goto(f"{base_url}/btree?run={ONE_LEAF}&node=n2&t=2000")
    wait_for(page.locator(".one-leaf")).to_contain_text("one leaf, no splits")
    wait_for(page.locator("#rates [data-empty=rates]")).to_be_visible()
    assert page.locator("#rates svg").count() == 0
    wait_for(page.locator("#levels tr[data-level]")).to_have_count(1)
    wait_for(page.locator("#tree g[data-tree-node]")).to_have_count(1)
    wait_for(page.locator("#hot-leaves li[data-leaf]")).to_have_count(1)
    page.screenshot(path=str(tmp_path / "btree-one-leaf.png"), full_page=True)
