"""The schema: tenant columns, migrations up and down, the seat constraint."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert, inspect, select
from sqlalchemy.exc import IntegrityError

from credo.adapters.db import tables as t
from credo.adapters.db.engine import make_engine
from credo.adapters.db.migrate import downgrade, upgrade

# Tables that belong to no organization: people belong to several (through memberships),
# and their sign-in state is theirs, not an organization's.
GLOBAL_TABLES = {
    "organizations",
    "alembic_version",
    "users",
    "login_failures",
    "password_resets",
    "web_sessions",
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
