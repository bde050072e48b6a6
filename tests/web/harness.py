"""What the tests that talk to a real server share: a dashboard served by uvicorn on a
free port, and Playwright's retrying assertions for the browser tests.

The browser itself is the ``page`` fixture of ``conftest.py`` (Debian's chromium,
headless, one per test module); each browser test module serves its own runs with
``serve`` as its ``base_url`` fixture. Every wait is on a condition, with a deadline,
never a fixed sleep.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from tests.tools import require_module

__all__ = ["WAIT_MS", "free_port", "serve", "wait_for"]

WAIT_MS = 10_000
"""How long a retrying assertion waits for its condition."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn in a thread, as its base URL, until the block ends."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10.0
    while not server.started:  # polls a condition, with a deadline
        assert time.monotonic() < deadline, "uvicorn did not start within 10 s"
        assert thread.is_alive(), "uvicorn stopped before it started"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10.0)


def wait_for(locator: Any) -> Any:
    """Playwright's retrying assertions on ``locator`` (each waits up to ``WAIT_MS``)."""
    return require_module("playwright.sync_api").expect(locator)
