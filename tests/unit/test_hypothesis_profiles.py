"""CI keeps the example counts; the quick local profile runs a fifth of them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = (
    "from hypothesis import settings; from tests.hypothesis_profiles import PROFILE, examples;"
    "print(PROFILE, examples(2500), examples(60), examples(5), settings.default.max_examples)"
)


def _probe(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "HYPOTHESIS_PROFILE")}
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "printed"),
    [
        ({"CI": "true"}, "ci 2500 60 5 100"),
        ({}, "quick 500 12 5 20"),
        ({"CI": "true", "HYPOTHESIS_PROFILE": "quick"}, "quick 500 12 5 20"),
        ({"HYPOTHESIS_PROFILE": "ci"}, "ci 2500 60 5 100"),
    ],
)
def test_the_profile_sets_the_example_counts(env: dict[str, str], printed: str) -> None:
    done = _probe(**env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == printed.split()


def test_an_unknown_profile_is_refused() -> None:
    done = _probe(HYPOTHESIS_PROFILE="thorough")
    assert done.returncode != 0 and "HYPOTHESIS_PROFILE must be one of" in done.stderr
