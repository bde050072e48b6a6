"""Golden transcripts of small interactions, compared exactly (etcd's datadriven style).

Each scenario in ``scenarios.py`` records the messages delivered and the state of every node
into a transcript; the text must equal ``golden/<scenario>.txt``. After an intended change
of behaviour, regenerate the files with ``HARMONYSIM_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .scenarios import SCENARIOS

GOLDEN_DIR = Path(__file__).parent / "golden"
UPDATE = os.environ.get("HARMONYSIM_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_golden_transcript(name: str) -> None:
    cluster = SCENARIOS[name](frozenset())
    assert cluster.transcript is not None
    text = "\n".join(cluster.transcript) + "\n"
    path = GOLDEN_DIR / f"{name}.txt"
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing {path.name}: run with HARMONYSIM_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")
    assert cluster.violations == []
    cluster.check_safety()
