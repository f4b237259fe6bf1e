"""Organizations and their API keys (tables organizations, api_keys)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import Connection, String, any_, bindparam, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError

from credo.adapters.db import tables as t
from credo.domain.entities import (
    ApiKey,
    Organization,
)

# From this many rows on, PostgreSQL gets them by COPY; fewer go by plain INSERT.


class SqlOrganizations:
    def __init__(self, conn: Connection, *, sqlite: bool) -> None:
        self._c = conn
        self._sqlite = sqlite

    def add(self, org: Organization) -> None:
        self._c.execute(insert(t.organizations).values(**asdict(org)))

    def get(self, org_id: str) -> Organization | None:
        row = self._c.execute(select(t.organizations).where(t.organizations.c.id == org_id)).first()
        return Organization(**row._mapping) if row else None

    def lock(self, org_id: str) -> Organization | None:
        # SQLite: the writing transaction already holds the database's write lock.
        q = select(t.organizations).where(t.organizations.c.id == org_id)
        # NO KEY UPDATE: as exclusive among lock holders, without waiting for inserts that
        # merely refer to the organization (adapters/db/publishing.py).
        row = self._c.execute(q if self._sqlite else q.with_for_update(key_share=True)).first()
        return Organization(**row._mapping) if row else None

    def set_clock(self, org_id: str, now: datetime) -> None:
        self._c.execute(
            update(t.organizations).where(t.organizations.c.id == org_id).values(clock_now=now)
        )

    def take_status_indexes(self, org_id: str, n: int) -> int:
        """Reserve n consecutive status list positions; returns the first. One statement,
        safe without the organization lock: the counter row serializes its takers."""
        dialect_insert = sqlite_insert if self._sqlite else pg_insert
        c = t.status_counters.c
        stmt = dialect_insert(t.status_counters).values(organization_id=org_id, next_index=n)
        upsert = stmt.on_conflict_do_update(
            index_elements=[c.organization_id], set_={"next_index": c.next_index + n}
        ).returning(c.next_index)
        return int(self._c.execute(upsert).scalar_one()) - n

    def status_positions(self, org_id: str) -> int:
        """How many status list positions the organization has taken."""
        c = t.status_counters.c
        return int(self._c.scalar(select(c.next_index).where(c.organization_id == org_id)) or 0)

    def id_by_name(self, name: str) -> str | None:
        return self._c.scalar(
            select(t.organizations.c.id)
            .where(t.organizations.c.name == name)
            .order_by(t.organizations.c.id)
            .limit(1)
        )

    def all_ids(self) -> list[str]:
        return list(self._c.scalars(select(t.organizations.c.id).order_by(t.organizations.c.id)))

    def schema_revision(self) -> str | None:
        """The migration the database is at (Alembic's table), or None before any."""
        try:
            with self._c.begin_nested():
                found = self._c.scalar(text("SELECT version_num FROM alembic_version"))
        except DBAPIError:
            return None
        return None if found is None else str(found)

    def id_by_domain(self, domain: str) -> str | None:
        o = t.organizations.c
        return self._c.scalar(select(o.id).where(o.domain == domain))

    def set_domain(self, org_id: str, domain: str | None) -> None:
        o = t.organizations.c
        self._c.execute(update(t.organizations).where(o.id == org_id).values(domain=domain))

    def set_email_open_tracking(self, org_id: str, on: bool) -> None:
        o = t.organizations.c
        self._c.execute(
            update(t.organizations).where(o.id == org_id).values(email_open_tracking=on)
        )


# Every API request asks this: built once.
_KEY_ORG = select(t.api_keys.c.organization_id).where(
    t.api_keys.c.key_hash == bindparam("key_hash"), t.api_keys.c.revoked_at.is_(None)
)


_KEYS_ORGS = select(t.api_keys.c.key_hash, t.api_keys.c.organization_id).where(
    t.api_keys.c.key_hash.in_(bindparam("key_hashes", expanding=True)),
    t.api_keys.c.revoked_at.is_(None),
)


# The same, one array parameter whatever the count: one statement to prepare and convert.
_KEYS_ORGS_PG = select(t.api_keys.c.key_hash, t.api_keys.c.organization_id).where(
    t.api_keys.c.key_hash == any_(bindparam("key_hashes", type_=ARRAY(String))),
    t.api_keys.c.revoked_at.is_(None),
)


class SqlApiKeys:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(
        self,
        key_id: str,
        org_id: str,
        key_hash: str,
        prefix: str,
        name: str,
        at: datetime,
        department_id: str | None = None,
    ) -> None:
        self._c.execute(
            insert(t.api_keys).values(
                id=key_id,
                organization_id=org_id,
                key_hash=key_hash,
                prefix=prefix,
                name=name,
                department_id=department_id,
                created_at=at,
            )
        )

    def organization_for(self, key_hash: str) -> str | None:
        return self._c.scalar(_KEY_ORG, {"key_hash": key_hash})

    def holder_of(self, key_hash: str) -> tuple[str, str, str, str | None] | None:
        k = t.api_keys.c
        row = self._c.execute(
            select(k.organization_id, k.id, k.name, k.department_id).where(
                k.key_hash == key_hash, k.revoked_at.is_(None)
            )
        ).first()
        return None if row is None else (row.organization_id, row.id, row.name, row.department_id)

    def label_of(self, key_hash: str) -> str | None:
        k = t.api_keys.c
        row = self._c.execute(select(k.name, k.prefix).where(k.key_hash == key_hash)).first()
        return None if row is None else f"API key “{row.name}” ({row.prefix}…)"

    def organizations_for(self, key_hashes: Sequence[str]) -> dict[str, str]:
        wanted = sorted(set(key_hashes))
        stmt = _KEYS_ORGS_PG if self._c.dialect.name == "postgresql" else _KEYS_ORGS
        return {
            key_hash: org_id for key_hash, org_id in self._c.execute(stmt, {"key_hashes": wanted})
        }

    def all(self, org_id: str) -> list[ApiKey]:
        k = t.api_keys.c
        rows = self._c.execute(
            select(
                k.id,
                k.organization_id,
                k.name,
                k.prefix,
                k.created_at,
                k.revoked_at,
                k.last_used_at,
                k.department_id,
            )
            .where(k.organization_id == org_id)
            .order_by(k.created_at.desc(), k.id)
        )
        return [ApiKey(**r._mapping) for r in rows]

    def revoke(self, org_id: str, key_id: str, at: datetime) -> bool:
        k = t.api_keys.c
        done = self._c.execute(
            update(t.api_keys)
            .where(k.organization_id == org_id, k.id == key_id, k.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return done.rowcount == 1

    def mark_used(self, key_hash: str, at: datetime) -> None:
        # Never backwards (another process may have written a later time first), and never
        # on a revoked key, which the caller may have remembered as open.
        k = t.api_keys.c
        self._c.execute(
            update(t.api_keys)
            .where(
                k.key_hash == key_hash,
                k.revoked_at.is_(None),
                or_(k.last_used_at.is_(None), k.last_used_at < at),
            )
            .values(last_used_at=at)
        )
