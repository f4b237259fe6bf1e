"""`credo demo` (`make run`) keeps its API key in the data directory and prints the same one
on every start while it still opens the demo organization: restarts do not pile up keys."""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from credo.adapters.db import tables as t
from credo.adapters.db.engine import make_engine
from credo.entrypoints.cli.main import app as cli
from tests.conftest import ADMIN_TOKEN, MASTER_KEY


def demo(database_url: str) -> str:
    """Set the demo up (without serving it); the API key it prints."""
    env = {
        "CREDO_DATABASE_URL": database_url,
        "CREDO_ENVIRONMENT": "development",
        "CREDO_MASTER_KEY": MASTER_KEY,
        "CREDO_ADMIN_TOKEN": ADMIN_TOKEN,  # else the demo makes one into os.environ
        "CREDO_PASSWORD_HASHING": "fast",
    }
    done: Any = CliRunner().invoke(cli, ["demo", "--no-serve"], env=env)
    assert done.exit_code == 0, done.output
    found = re.search(r"^API key:\s+(\S+)", done.output, re.MULTILINE)
    assert found, done.output
    return found.group(1)


def active_keys(database_url: str) -> list[tuple[str, str]]:
    """(name, prefix) of every key not revoked, of every organization."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            k = t.api_keys.c
            rows = conn.execute(select(k.name, k.prefix).where(k.revoked_at.is_(None)))
            return [(name, prefix) for name, prefix in rows]
    finally:
        engine.dispose()


def test_restarting_the_demo_keeps_one_active_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the data directory is ./credo-data
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    kept = tmp_path / "credo-data" / "demo-api-key"

    first = demo(url)
    assert kept.read_text().strip() == first
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600  # a secret: its owner's alone
    assert demo(url) == first
    assert demo(url) == first
    assert active_keys(url) == [("Demo key", first[:13])]

    # Revoked (from the dashboard, say): the next start makes a new one and keeps it.
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(update(t.api_keys).values(revoked_at=t.api_keys.c.created_at))
    engine.dispose()
    second = demo(url)
    assert second != first and kept.read_text().strip() == second
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert demo(url) == second
    assert active_keys(url) == [("Demo key", second[:13])]


def test_a_kept_key_that_opens_nothing_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key kept for another database (or a damaged file) is not printed: it would not
    work. A new one is made and kept instead."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    first = demo(url)
    kept = tmp_path / "credo-data" / "demo-api-key"
    for stale in ("credo_sk_" + "A" * 43, "not a key\x00"):
        kept.write_text(stale + "\n")
        made = demo(url)
        assert made not in (first, stale) and kept.read_text().strip() == made
        first = made
    assert len(active_keys(url)) == 3  # the first two were not revoked: they still work
