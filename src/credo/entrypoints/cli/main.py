"""The `credo` command: a thin Typer layer over the same services as the API. Each command
group is a module of its own (organizations, keys, departments, serving, working,
verifying)."""

from __future__ import annotations

from credo.entrypoints.cli import departments, keys, organizations, serving, verifying, working
from credo.entrypoints.cli.common import app
from credo.entrypoints.cli.serving import DEMO_OWNER, _embedded_worker

__all__ = [
    "DEMO_OWNER",
    "_embedded_worker",
    "app",
    "departments",
    "keys",
    "organizations",
    "serving",
    "verifying",
    "working",
]

if __name__ == "__main__":  # pragma: no cover
    app()
