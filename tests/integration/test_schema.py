"""The schema: tenant columns, migrations up and down, the seat constraint."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, String, insert, inspect, select
from sqlalchemy.exc import IntegrityError

from credo.adapters.db import tables as t
from credo.adapters.db.engine import make_engine
from credo.adapters.db.migrate import downgrade, upgrade
from tests.databases import drop_postgres_database, fresh_postgres_database, postgres_url

# Tables that belong to no organization: people belong to several (through memberships),
# and their sign-in state is theirs, not an organization's.
GLOBAL_TABLES = {
    "organizations",
    "alembic_version",
    "users",
    "login_failures",
    "password_resets",
    "web_sessions",
    "engagement_day_keys",  # the day's key naming viewers, shared by every organization
    # A recipient's wallet spans the organizations that issued to its address.
    "wallet_links",
    "wallet_sessions",
    "wallet_profiles",
    "wallet_profile_items",
}


def test_every_tenant_table_carries_organization_id(engine: Engine) -> None:
    names = set(inspect(engine).get_table_names())
    assert {"credentials", "seats", "ledger_entries", "groups"} <= names
    missing = [
        name
        for name in sorted(names - GLOBAL_TABLES)
        if "organization_id" not in {c["name"] for c in inspect(engine).get_columns(name)}
    ]
    assert missing == []


def test_migrations_match_the_tables_and_go_down_and_up(tmp_path) -> None:  # type: ignore[no-untyped-def]
    eng = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(eng)
    assert set(inspect(eng).get_table_names()) == set(t.metadata.tables) | {"alembic_version"}
    downgrade(eng, "base")
    assert set(inspect(eng).get_table_names()) == {"alembic_version"}
    upgrade(eng)
    assert "credentials" in inspect(eng).get_table_names()
    eng.dispose()


def test_a_seat_cannot_be_open_twice(engine: Engine) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    org_id = f"org_{'f' * 32}"
    with engine.begin() as conn:
        conn.execute(
            insert(t.organizations).values(id=org_id, name="x", sandbox=False, created_at=now)
        )
    seat = {
        "organization_id": org_id,
        "billing_year": 0,
        "recipient_key": "ann@x.org",
        "opened_at": now,
    }
    try:
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert(t.seats), [{"id": "seat_a", **seat}, {"id": "seat_b", **seat}])
        # Once released, the same recipient may take a new seat that year (R7).
        with engine.begin() as conn:
            conn.execute(insert(t.seats).values(id="seat_c", released_at=now, **seat))
            conn.execute(insert(t.seats).values(id="seat_d", **seat))
    finally:
        with engine.begin() as conn:
            conn.execute(t.seats.delete().where(t.seats.c.organization_id == org_id))
            conn.execute(t.organizations.delete().where(t.organizations.c.id == org_id))


def test_the_group_counts_migration_counts_live_credentials(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """0012 starts each group's kept count from its credentials: deleted ones left out,
    drafts in, a group with none given no row (read as 0)."""
    eng = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(eng, "0011")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    org_id = f"org_{'e' * 32}"
    with eng.begin() as conn:
        conn.execute(
            insert(t.organizations).values(id=org_id, name="x", sandbox=False, created_at=now)
        )
        for g in ("grp_a", "grp_b", "grp_c"):
            conn.execute(
                insert(t.groups).values(id=g, organization_id=org_id, name=g, created_at=now)
            )
        cred = {
            "organization_id": org_id,
            "recipient_name": "R",
            "recipient_email": "r@x.org",
            "recipient_key": "r@x.org",
            "issued_on": now.date(),
            "created_at": now,
            "updated_at": now,
        }
        rows = [
            ("cred_1", "grp_a", "published", None),
            ("cred_2", "grp_a", "draft", None),
            ("cred_3", "grp_a", "published", now),
            ("cred_4", "grp_b", "published", now),
        ]
        for cred_id, g, status, deleted in rows:
            conn.execute(
                insert(t.credentials).values(
                    id=cred_id, group_id=g, status=status, deleted_at=deleted, **cred
                )
            )
    upgrade(eng)
    with eng.connect() as conn:
        kept = conn.execute(select(t.group_counts.c.group_id, t.group_counts.c.credentials))
        assert dict(kept.all()) == {"grp_a": 2}
    eng.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of the test's own, with no schema, to migrate up and down."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    url = fresh_postgres_database(postgres_url(f"mig_{os.getpid()}"))
    yield url
    drop_postgres_database(url)


def test_the_api_key_names_migration_names_the_keys_there_are(empty_database: str) -> None:
    """0015: keys made before names get one ("Key") and no last use; new rows must bring a
    name of their own; down and up again."""
    eng = make_engine(empty_database)
    try:
        upgrade(eng, "0014")
        now = datetime(2026, 1, 1, tzinfo=UTC)
        org_id = f"org_{'d' * 32}"
        with eng.begin() as conn:
            conn.execute(
                insert(t.organizations).values(id=org_id, name="x", sandbox=False, created_at=now)
            )
            old = {"organization_id": org_id, "prefix": "credo_sk_abcd", "created_at": now}
            conn.execute(insert(t.api_keys).values(id="key_old", key_hash="a" * 64, **old))
        upgrade(eng)
        with eng.connect() as conn:
            k = t.api_keys.c
            row = conn.execute(select(k.name, k.last_used_at).where(k.id == "key_old")).one()
        assert tuple(row) == ("Key", None)
        columns = {c["name"]: c for c in inspect(eng).get_columns("api_keys")}
        assert not columns["name"]["nullable"] and columns["name"]["default"] is None
        name_type = columns["name"]["type"]
        assert isinstance(name_type, String) and name_type.length == 100
        assert columns["last_used_at"]["nullable"]
        with pytest.raises(IntegrityError), eng.begin() as conn:
            conn.execute(insert(t.api_keys).values(id="key_new", key_hash="b" * 64, **old))
        downgrade(eng, "0014")
        assert {"name", "last_used_at"}.isdisjoint(
            c["name"] for c in inspect(eng).get_columns("api_keys")
        )
        upgrade(eng)
    finally:
        eng.dispose()
