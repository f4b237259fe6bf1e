"""`credo` starts at once: its help loads Typer and Rich, not the app (no database driver,
web framework or PDF engine), and every command's help reads."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("sqlalchemy", "fastapi", "weasyprint", "pydantic", "cryptography", "uvicorn", "jinja2")
COMMANDS = ["db", "org", "user", "credits", "issue", "audit", "serve", "demo", "verify"]
COMMANDS += ["worker", "jobs"]


def imported_by(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "credo.entrypoints.cli.main", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    assert "typer" in names  # the measurement works
    return names


def test_help_loads_none_of_the_app() -> None:
    assert imported_by("--help") & set(HEAVY) == set()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "credo.entrypoints.cli.main", command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout
