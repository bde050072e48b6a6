"""Shared runs and the browser for the dashboard tests.

The runs are made once per session: two short scenario runs here; the B+ tree runs, a
loaded run and runs whose checks fail or pass in ``tests/conftest.py``. ``page`` is
Debian's chromium, headless, driven by Playwright, one per test module, on the
``base_url`` its module serves (``tests.web.harness.serve``); without chromium or
Playwright its tests skip locally and fail under CI (``tests.tools``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.runs import make_runs
from tests.tools import require_module, require_tool
from tests.web.harness import WAIT_MS

ISOLATION = """
name: leader-isolation
seed: 7
duration: 8s
cluster: {nodes: 5, btree: {order: 8}}
network: {latency: {distribution: lognormal, mean: 5ms, p99: 30ms}, loss: 0.01}
workload: {clients: 4, rate: 100/s, mix: {get: 0.4, put: 0.5, cas: 0.1}, keys: {count: 80}}
faults:
  - {at: 5s, partition: {isolate: leader}}
"""

CHURN = """
name: crash-restart-churn
seed: 23
duration: 9s
cluster: {nodes: 5, btree: {order: 6}, raft: {snapshot_threshold: 150}}
workload: {clients: 4, rate: 120/s, mix: {get: 0.3, put: 0.5, delete: 0.1, cas: 0.1},
           keys: {count: 120, distribution: uniform}}
faults:
  - {at: 3s, crash: n2}
  - {at: 6s, restart: n2}
"""


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of two runs: the leader isolated at 5 s, and crash/restart churn."""
    return make_runs(tmp_path_factory, "runs", ISOLATION, CHURN)


@pytest.fixture(scope="session")
def isolation_run(runs_root: Path) -> Path:
    return runs_root / "leader-isolation"


@pytest.fixture(scope="session")
def churn_run(runs_root: Path) -> Path:
    return runs_root / "crash-restart-churn"


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A chromium tab; the module's tests fail at its end if the pages raised any
    JavaScript error."""
    chromium = require_tool("chromium", "Debian package `chromium`; `make system-deps`")
    sync_api = require_module("playwright.sync_api", "the dev extra installs Playwright")
    sync_api.expect.set_options(timeout=WAIT_MS)
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium,
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
        yield tab
        browser.close()
    assert errors == [], f"JavaScript errors: {errors}"
