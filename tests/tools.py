"""External tools some tests need (chromium, promtool, Playwright): skip locally, fail in CI.

Rules of this file:
- A developer without a tool gets a skip that names the tool and how to get it.
- Under ``CI`` (set and not ``0``/``false``/``no``; ``.ci/run`` sets ``CI=true``) a
  missing tool fails the test instead: CI must never report green for tests it did
  not run. ``make system-deps`` follows the same rule for the install itself.
"""

from __future__ import annotations

import importlib
import os
import shutil
from types import ModuleType

import pytest

__all__ = ["in_ci", "require_module", "require_tool"]


def in_ci() -> bool:
    """True when the ``CI`` environment variable says this is a CI run."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _missing(what: str, hint: str) -> None:
    message = f"{what} is missing ({hint})"
    if in_ci():
        pytest.fail(f"{message}; under CI a missing tool is a failure, not a skip")
    pytest.skip(message)


def require_tool(name: str, hint: str = "") -> str:
    """The path of executable ``name`` on PATH; skip (locally) or fail (CI) without it."""
    path = shutil.which(name)
    if path is None:
        _missing(f"{name} (on PATH)", hint or "install it, e.g. `make system-deps`")
        raise AssertionError("unreachable")  # pragma: no cover - skip/fail raised
    return path


def require_module(name: str, hint: str = "") -> ModuleType:
    """Import ``name``; skip (locally) or fail (CI) when it cannot be imported."""
    try:
        return importlib.import_module(name)
    except ImportError:
        _missing(f"Python module {name}", hint or "install the dev extra: pip install -e '.[dev]'")
        raise AssertionError("unreachable") from None  # pragma: no cover
