"""Test-wide settings.

Hypothesis runs with random seeds when pytest is run directly (exploring for new
counterexamples), and derandomized under ``HYPOTHESIS_PROFILE=ci`` (what ``make
test`` sets), so the same commit always gets the same verdict in CI. ``make fuzz``
loads ``fuzz``: random seeds and a large budget (``HARMONYSIM_FUZZ_EXAMPLES``, default
5000 programs per test) for the property tests that read the profile's budget.
"""

from __future__ import annotations

import os

from hypothesis import settings

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
