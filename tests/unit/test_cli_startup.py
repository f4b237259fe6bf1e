"""`credo` starts at once: its help loads Typer and Rich, not the app (no database driver,
web framework or PDF engine), costs little more CPU than loading those two, and every
command's help reads as sentences."""

from __future__ import annotations

import re
import resource
import subprocess
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
import typer

from credo.entrypoints.cli.main import app

if TYPE_CHECKING:
    from typer._click import Command

HEAVY = ("sqlalchemy", "fastapi", "weasyprint", "pydantic", "cryptography", "uvicorn", "jinja2")
COMMANDS = ["db", "org", "user", "credits", "issue", "audit", "serve", "demo", "verify"]
COMMANDS += ["worker", "jobs", "db upgrade", "db recount", "org create"]
# Type labels (`<str>`, `<bool>`), Typer's `{name}` and Python reprs are not words.
NOISE = re.compile(r"<\w+>|\{\w+\}|NoneType|typing\.|<class|Optional\[")


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


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_every_command_has_help_in_words(command: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "credo.entrypoints.cli.main", *command.split(), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Usage: {' '.join(['credo', *command.split()])} [OPTIONS]")
    assert not NOISE.findall(done.stdout), done.stdout


def sentence(text: str | None) -> bool:
    return text is not None and text[:1].isupper() and text.rstrip().endswith(".")


def every_command(command: Command, path: str = "credo") -> Iterator[tuple[str, Command]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from every_command(sub, f"{path} {name}")


def test_every_command_option_and_argument_says_what_it_is_in_a_sentence() -> None:
    root = typer.main.get_command(app)
    seen = []
    for path, command in every_command(root):
        seen.append(path)
        assert sentence(command.help), (path, command.help)
        for param in command.params:
            assert sentence(getattr(param, "help", None)), (path, param.name)
    assert {f"credo {c}" for c in COMMANDS} <= set(seen)


def cpu_seconds(*commands: tuple[str, ...], runs: int = 7) -> list[float]:
    """The least CPU time (user and system) of each command's child processes over a few
    rounds. The commands take turns within each round, so that a busy machine (the suite
    runs on every core) weighs on all of them alike."""
    spent: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for n, args in enumerate(commands):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run([sys.executable, *args], capture_output=True, check=True, timeout=60)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            spent[n].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return [min(times) for times in spent]


def test_help_costs_at_most_twice_loading_typer_and_rich() -> None:
    bare, helped = cpu_seconds(
        ("-c", "import typer, rich"), ("-m", "credo.entrypoints.cli.main", "--help")
    )
    assert helped <= 2 * bare, f"credo --help {helped:.3f} s of CPU, typer and rich {bare:.3f} s"
