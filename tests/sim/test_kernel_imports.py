"""Nodes and the fault injector are given the parts of the kernel they use, never the World."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import harmonysim.sim

SIM = Path(harmonysim.sim.__file__).parent


def imported_modules(module: str) -> set[str]:
    """Every module ``harmonysim.sim.<module>`` imports, at run time or for typing only."""
    tree = ast.parse((SIM / f"{module}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative to harmonysim.sim
                parent = "harmonysim.sim" if node.level == 1 else "harmonysim"
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("module", ["node", "faults"])
def test_does_not_import_the_world(module: str) -> None:
    assert "harmonysim.sim.world" not in imported_modules(module)
