"""Test-wide settings.

Hypothesis runs with random seeds when pytest is run directly (exploring for new
counterexamples), and derandomized under ``HYPOTHESIS_PROFILE=ci`` (what ``make
test`` sets), so the same commit always gets the same verdict in CI.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "explore"))
