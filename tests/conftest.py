"""Test-wide settings.

Hypothesis runs with random seeds when pytest is run directly (exploring for new
counterexamples), and derandomized under ``HYPOTHESIS_PROFILE=ci`` (what ``make
test`` sets), so the same commit always gets the same verdict in CI. ``make fuzz``
loads ``fuzz``: random seeds and a large budget (``HARMONYSIM_FUZZ_EXAMPLES``, default
5000 programs per test) for the property tests that read the profile's budget.

Runs that tests of several packages share are made here once per session
(``tests.runs``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from tests.runs import DEEP, FAILING, LOADED, ONE_LEAF, PASSING, make_runs

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("HARMONYSIM_FUZZ_EXAMPLES", "5000")),
    stateful_step_count=60,
    deadline=None,
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "explore"))


@pytest.fixture(scope="session")
def loaded_runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of one run, ``tests.runs.LOADED``: a load phase of 3,000 records."""
    return make_runs(tmp_path_factory, "loaded-runs", LOADED)


@pytest.fixture(scope="session")
def violation_runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of two runs: ``tests.runs.FAILING`` (raft_safety and linearizability
    fail) and ``tests.runs.PASSING``."""
    return make_runs(tmp_path_factory, "violation-runs", FAILING, PASSING)


@pytest.fixture(scope="session")
def btree_runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of two B+ tree runs: ``tests.runs.DEEP`` and ``tests.runs.ONE_LEAF``."""
    return make_runs(tmp_path_factory, "btree-runs", DEEP, ONE_LEAF)
