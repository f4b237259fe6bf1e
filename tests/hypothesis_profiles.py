"""Hypothesis profiles. `ci` (when CI=true) keeps the example counts that guard
correctness; `quick`, the default elsewhere, runs a fifth of them for a fast local loop.
HYPOTHESIS_PROFILE names one outright. Loaded by tests/conftest.py before any test module,
so that every @settings made at import inherits it."""

from __future__ import annotations

import os

from hypothesis import settings

PROFILES = {"ci": 1, "quick": 5}  # each profile's divisor of the example counts
PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or (
    "ci" if os.environ.get("CI") == "true" else "quick"
)
if PROFILE not in PROFILES:
    raise RuntimeError(f"HYPOTHESIS_PROFILE must be one of {sorted(PROFILES)}, not {PROFILE!r}")

settings.register_profile("ci", max_examples=100)
settings.register_profile("quick", max_examples=100 // PROFILES["quick"])
settings.load_profile(PROFILE)


def examples(count: int) -> int:
    """`count` examples under `ci`; a fifth of them (at least 10) under `quick`."""
    return max(min(count, 10), count // PROFILES[PROFILE])
