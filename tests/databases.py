"""Test databases: a fresh SQLite file, and a fresh PostgreSQL database when one is reachable.

PostgreSQL is required (tests fail instead of skipping) when CI=true or
CREDO_REQUIRE_POSTGRES=1. The database named in CREDO_TEST_DATABASE_URL is dropped and
created anew at the start of the run.
"""

from __future__ import annotations

import os

import psycopg
from sqlalchemy.engine import make_url

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/credo_test"


def postgres_required() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get(
        "CREDO_REQUIRE_POSTGRES", ""
    ) in ("1", "true")


def postgres_url(suffix: str = "") -> str:
    url = make_url(os.environ.get("CREDO_TEST_DATABASE_URL", DEFAULT_PG_URL))
    if suffix:
        url = url.set(database=f"{url.database}_{suffix}")
    return url.render_as_string(hide_password=False)


def _maintenance(url: str) -> dict[str, object]:
    """Connection arguments for the server's `postgres` database, beside the one in `url`."""
    parsed = make_url(url)
    conninfo: dict[str, object] = {
        "host": parsed.host or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": parsed.username or "postgres",
        "dbname": "postgres",
        "connect_timeout": 5,
    }
    if parsed.password:
        conninfo["password"] = parsed.password
    return conninfo


def create_postgres_database(url: str) -> str | None:
    """Drop and create the database; return None on success, else why it is unreachable."""
    parsed = make_url(url)
    try:
        with psycopg.connect(**_maintenance(url), autocommit=True) as conn:  # type: ignore[arg-type]
            name = parsed.database
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        return f"PostgreSQL unreachable at {parsed.host}:{parsed.port}: {str(exc).strip()[:160]}"
    return None


def drop_postgres_database(url: str) -> None:
    with psycopg.connect(**_maintenance(url), autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def fresh_postgres_database(url: str) -> str:
    """Create the database; when PostgreSQL is unreachable, skip the test with the reason,
    or fail it where PostgreSQL is required (CI)."""
    import pytest

    why = create_postgres_database(url)
    if why is not None:
        if postgres_required():
            pytest.fail(f"PostgreSQL is required here (CI): {why}", pytrace=False)
        pytest.skip(f"needs PostgreSQL: {why}")
    return url
