"""Repositories over SQLAlchemy Core. Set-oriented where a bulk needs it: one statement per
chunk of rows, never one per row."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from credo.adapters.db import tables as t
from credo.domain.billing import Subscription
from credo.domain.credentials import Status
from credo.services.ports import DuplicateRequest
from credo.services.records import (
    ApiKey,
    Credential,
    CredentialFilter,
    Group,
    LedgerEntry,
    Organization,
    Seat,
    SigningKey,
    StoredReply,
)

# From this many rows on, PostgreSQL gets them by COPY; fewer go by plain INSERT.
_COPY_FROM_ROWS = 50
# Up to this many keys are looked up with IN (...); more, by reading the year's open seats.
_IN_LIST_MAX = 200


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _memo(proc: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """A bind processor remembering its answers: the rows of one bulk share their dates and
    times, so each distinct value is converted once."""
    if proc is None:
        return None
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            seen[value] = out = proc(value)
            return out
        except TypeError:  # unhashable
            return proc(value)

    return convert


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows with one driver-level executemany.

    SQLAlchemy's executemany spends most of a bulk publish's time building and converting
    parameters row by row; here each column's bind processor is looked up once and the
    driver gets plain tuples: COPY on PostgreSQL, executemany on SQLite. Same stored
    values either way, inside the caller's transaction."""
    if not rows:
        return
    columns = list(rows[0])
    dialect = conn.dialect
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join([marker] * len(columns))})"
    )
    procs = [_memo(table.c[name].type.bind_processor(dialect)) for name in columns]
    if all(p is None for p in procs):
        params = [tuple(row[name] for name in columns) for row in rows]
    else:
        pairs = list(zip(columns, procs, strict=True))
        params = [
            tuple(row[name] if proc is None else proc(row[name]) for name, proc in pairs)
            for row in rows
        ]
    if dialect.name == "postgresql" and len(params) >= _COPY_FROM_ROWS:
        raw: Any = conn.connection.driver_connection
        with (
            raw.cursor() as cur,
            cur.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in params:
                copy.write_row(row)
        return
    conn.exec_driver_sql(sql, params)


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
        row = self._c.execute(q if self._sqlite else q.with_for_update()).first()
        return Organization(**row._mapping) if row else None

    def set_clock(self, org_id: str, now: datetime) -> None:
        self._c.execute(
            update(t.organizations).where(t.organizations.c.id == org_id).values(clock_now=now)
        )

    def take_status_indexes(self, org_id: str, n: int) -> int:
        """Reserve n consecutive status list positions; returns the first. Precondition:
        the caller holds the organization lock."""
        o = t.organizations.c
        start = int(self._c.scalar(select(o.next_status_index).where(o.id == org_id)) or 0)
        self._c.execute(
            update(t.organizations).where(o.id == org_id).values(next_status_index=start + n)
        )
        return start

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


class SqlApiKeys:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, key_id: str, org_id: str, key_hash: str, prefix: str, at: datetime) -> None:
        self._c.execute(
            insert(t.api_keys).values(
                id=key_id, organization_id=org_id, key_hash=key_hash, prefix=prefix, created_at=at
            )
        )

    def organization_for(self, key_hash: str) -> str | None:
        return self._c.scalar(
            select(t.api_keys.c.organization_id).where(
                t.api_keys.c.key_hash == key_hash, t.api_keys.c.revoked_at.is_(None)
            )
        )

    def all(self, org_id: str) -> list[ApiKey]:
        k = t.api_keys.c
        rows = self._c.execute(
            select(k.id, k.organization_id, k.prefix, k.created_at, k.revoked_at)
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


class SqlSubscriptions:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def get(self, org_id: str) -> Subscription | None:
        row = self._c.execute(
            select(t.subscriptions).where(t.subscriptions.c.organization_id == org_id)
        ).first()
        if row is None:
            return None
        m = row._mapping
        return Subscription(
            plan=m["plan"],
            anchor=m["anchor"],
            allowance=m["allowance"],
            allowance_from=m["allowance_from"],
            next_plan=m["next_plan"],
            next_allowance=m["next_allowance"],
            next_allowance_from=m["next_allowance_from"],
            ends_at=m["ends_at"],
        )

    def save(self, org_id: str, sub: Subscription, at: datetime) -> None:
        values = {
            "plan": sub.plan,
            "anchor": sub.anchor,
            "allowance": sub.allowance,
            "allowance_from": sub.allowance_from,
            "next_plan": sub.next_plan,
            "next_allowance": sub.next_allowance,
            "next_allowance_from": sub.next_allowance_from,
            "ends_at": sub.ends_at,
            "updated_at": at,
        }
        done = self._c.execute(
            update(t.subscriptions)
            .where(t.subscriptions.c.organization_id == org_id)
            .values(**values)
        )
        if done.rowcount == 0:
            self._c.execute(insert(t.subscriptions).values(organization_id=org_id, **values))


def _group(row: Any) -> Group:
    return Group(**row._mapping)


class SqlGroups:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, group: Group) -> None:
        self._c.execute(insert(t.groups).values(**asdict(group)))

    def get(self, org_id: str, group_id: str) -> Group | None:
        row = self._c.execute(
            select(t.groups).where(t.groups.c.organization_id == org_id, t.groups.c.id == group_id)
        ).first()
        return _group(row) if row else None

    def update(self, group: Group) -> None:
        g = t.groups.c
        self._c.execute(
            t.groups.update()
            .where(g.organization_id == group.organization_id, g.id == group.id)
            .values(
                name=group.name,
                description=group.description,
                criteria=group.criteria,
                expires_after_months=group.expires_after_months,
                design=group.design,
                archived_at=group.archived_at,
                duplicate_policy=group.duplicate_policy,
            )
        )

    def page(self, org_id: str, after: str | None, limit: int) -> list[Group]:
        q = select(t.groups).where(t.groups.c.organization_id == org_id)
        if after:
            q = q.where(t.groups.c.id > after)
        return [_group(r) for r in self._c.execute(q.order_by(t.groups.c.id).limit(limit))]


_CRED_COLUMNS = [
    t.credentials.c.id,
    t.credentials.c.organization_id,
    t.credentials.c.group_id,
    t.credentials.c.recipient_name,
    t.credentials.c.recipient_email,
    t.credentials.c.recipient_key,
    t.credentials.c.status,
    t.credentials.c.issued_on,
    t.credentials.c.expires_on,
    t.credentials.c.seat_year,
    t.credentials.c.created_at,
    t.credentials.c.updated_at,
    t.credentials.c.salt,
    t.credentials.c.status_index,
    t.credentials.c.revoked_at,
    t.credentials.c.revocation_reason,
    t.credentials.c.suspended_at,
    t.credentials.c.document_id,
    t.credentials.c.hidden,
]


def _credential(row: Any) -> Credential:
    m = dict(row._mapping)
    m["status"] = Status(m["status"])
    return Credential(**m)


def _credential_values(c: Credential) -> dict[str, Any]:
    return {
        "id": c.id,
        "organization_id": c.organization_id,
        "group_id": c.group_id,
        "recipient_name": c.recipient_name,
        "recipient_email": c.recipient_email,
        "recipient_key": c.recipient_key,
        "status": c.status.value,
        "issued_on": c.issued_on,
        "expires_on": c.expires_on,
        "seat_year": c.seat_year,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "salt": c.salt,
        "status_index": c.status_index,
        "signed_document": c.document,
        "revoked_at": c.revoked_at,
        "revocation_reason": c.revocation_reason,
        "suspended_at": c.suspended_at,
        "document_id": c.document_id,
        "hidden": c.hidden,
    }


class SqlCredentials:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add_many(self, creds: Sequence[Credential]) -> None:
        if creds:
            insert_rows(self._c, t.credentials, [_credential_values(c) for c in creds])

    def get(self, org_id: str, cred_id: str) -> Credential | None:
        row = self._c.execute(
            select(*_CRED_COLUMNS).where(
                t.credentials.c.organization_id == org_id,
                t.credentials.c.id == cred_id,
                t.credentials.c.deleted_at.is_(None),
            )
        ).first()
        return _credential(row) if row else None

    def by_document_id(self, org_id: str, document_id: str) -> Credential | None:
        row = self._c.execute(
            select(*_CRED_COLUMNS)
            .where(
                t.credentials.c.organization_id == org_id,
                t.credentials.c.document_id == document_id,
                t.credentials.c.deleted_at.is_(None),
            )
            .order_by(t.credentials.c.created_at.desc(), t.credentials.c.id.desc())
            .limit(1)
        ).first()
        return _credential(row) if row else None

    def update(self, cred: Credential) -> None:
        values = _credential_values(cred)
        del values["id"], values["organization_id"], values["created_at"]
        if cred.document is None:
            del values["signed_document"]
        self._c.execute(
            update(t.credentials)
            .where(
                t.credentials.c.organization_id == cred.organization_id,
                t.credentials.c.id == cred.id,
            )
            .values(**values)
        )

    def delete(self, org_id: str, cred_id: str, at: datetime) -> None:
        self._c.execute(
            update(t.credentials)
            .where(t.credentials.c.organization_id == org_id, t.credentials.c.id == cred_id)
            .values(deleted_at=at, updated_at=at)
        )

    def page(
        self, org_id: str, flt: CredentialFilter, after: str | None, limit: int
    ) -> list[Credential]:
        c = t.credentials.c
        q = select(*_CRED_COLUMNS).where(c.organization_id == org_id, c.deleted_at.is_(None))
        if flt.group_id is not None:
            q = q.where(c.group_id == flt.group_id)
        if flt.recipient_key is not None:
            q = q.where(c.recipient_key == flt.recipient_key)
        if flt.status is not None:
            q = q.where(c.status == flt.status.value)
        if after:
            q = q.where(c.id > after)
        return [_credential(r) for r in self._c.execute(q.order_by(c.id).limit(limit))]

    def count_live_holding(
        self, org_id: str, recipient_key: str, seat_year: int, exclude_id: str | None
    ) -> int:
        c = t.credentials.c
        q = select(func.count()).where(
            c.organization_id == org_id,
            c.recipient_key == recipient_key,
            c.seat_year == seat_year,
            c.status == Status.PUBLISHED.value,
            c.deleted_at.is_(None),
        )
        if exclude_id is not None:
            q = q.where(c.id != exclude_id)
        return int(self._c.scalar(q) or 0)

    def any_signed(self, org_id: str) -> bool:
        """Whether the organization has ever signed a credential (deleted ones count)."""
        c = t.credentials.c
        q = select(c.id).where(c.organization_id == org_id, c.signed_document.is_not(None))
        return self._c.execute(q.limit(1)).first() is not None

    def document(self, cred_id: str) -> tuple[str, str] | None:
        """(organization id, signed document) of a live published credential, by id alone:
        the public side knows no organization."""
        c = t.credentials.c
        row = self._c.execute(
            select(c.organization_id, c.signed_document).where(
                c.id == cred_id, c.deleted_at.is_(None), c.signed_document.is_not(None)
            )
        ).first()
        return (row[0], row[1]) if row else None

    def published(self, cred_id: str) -> tuple[Credential, str] | None:
        """A live published credential and its signed document, by id alone (the public
        side knows no organization)."""
        c = t.credentials.c
        row = self._c.execute(
            select(*_CRED_COLUMNS, c.signed_document).where(
                c.id == cred_id, c.deleted_at.is_(None), c.signed_document.is_not(None)
            )
        ).first()
        if row is None:
            return None
        m = dict(row._mapping)
        document = m.pop("signed_document")
        m["status"] = Status(m["status"])
        return Credential(**m), document

    def live_published(self, cred_ids: Sequence[str]) -> set[str]:
        """Which of these credentials are still published and not deleted."""
        c = t.credentials.c
        found: set[str] = set()
        for chunk in _chunks(cred_ids, 500):
            q = select(c.id).where(
                c.id.in_(chunk), c.deleted_at.is_(None), c.status == Status.PUBLISHED.value
            )
            found.update(r[0] for r in self._c.execute(q))
        return found

    def set_hidden(self, cred_id: str, hidden: bool) -> None:
        c = t.credentials.c
        self._c.execute(update(t.credentials).where(c.id == cred_id).values(hidden=hidden))

    def live_seat_counts(self, org_id: str) -> dict[tuple[int, str], int]:
        c = t.credentials.c
        rows = self._c.execute(
            select(c.seat_year, c.recipient_key, func.count())
            .where(
                c.organization_id == org_id,
                c.status == Status.PUBLISHED.value,
                c.deleted_at.is_(None),
            )
            .group_by(c.seat_year, c.recipient_key)
        )
        return {(r[0], r[1]): int(r[2]) for r in rows}


class SqlSeats:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def open_keys(self, org_id: str, year: int, keys: Iterable[str]) -> set[str]:
        c = t.seats.c
        wanted = set(keys)
        if len(wanted) > _IN_LIST_MAX:
            # For a bulk, one scan of the year's open seats beats thousands of bound values.
            every = self._c.scalars(
                select(c.recipient_key).where(
                    c.organization_id == org_id, c.billing_year == year, c.released_at.is_(None)
                )
            )
            return wanted.intersection(every)
        found: set[str] = set()
        for chunk in _chunks(sorted(wanted), _IN_LIST_MAX):
            found.update(
                self._c.scalars(
                    select(c.recipient_key).where(
                        c.organization_id == org_id,
                        c.billing_year == year,
                        c.released_at.is_(None),
                        c.recipient_key.in_(chunk),
                    )
                )
            )
        return found

    def open_many(self, seats: Sequence[Seat]) -> None:
        if seats:
            insert_rows(
                self._c,
                t.seats,
                [
                    {
                        "id": s.id,
                        "organization_id": s.organization_id,
                        "billing_year": s.billing_year,
                        "recipient_key": s.recipient_key,
                        "opened_at": s.opened_at,
                    }
                    for s in seats
                ],
            )

    def release(self, org_id: str, year: int, recipient_key: str, at: datetime) -> None:
        c = t.seats.c
        self._c.execute(
            update(t.seats)
            .where(
                c.organization_id == org_id,
                c.billing_year == year,
                c.recipient_key == recipient_key,
                c.released_at.is_(None),
            )
            .values(released_at=at)
        )

    def count_open(self, org_id: str, year: int) -> int:
        c = t.seats.c
        return int(
            self._c.scalar(
                select(func.count()).where(
                    c.organization_id == org_id, c.billing_year == year, c.released_at.is_(None)
                )
            )
            or 0
        )

    def all_seats(self, org_id: str) -> list[tuple[str, int, str, bool]]:
        c = t.seats.c
        rows = self._c.execute(
            select(c.id, c.billing_year, c.recipient_key, c.released_at).where(
                c.organization_id == org_id
            )
        )
        return [(r[0], r[1], r[2], r[3] is None) for r in rows]


def _entry(row: Any) -> LedgerEntry:
    return LedgerEntry(**row._mapping)


class SqlLedger:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add_many(self, entries: Sequence[LedgerEntry]) -> None:
        if entries:
            insert_rows(
                self._c,
                t.ledger_entries,
                [
                    {
                        "organization_id": e.organization_id,
                        "at": e.at,
                        "billing_year": e.billing_year,
                        "delta": e.delta,
                        "reason": e.reason,
                        "recipient_key": e.recipient_key,
                        "credential_id": e.credential_id,
                        "seat_id": e.seat_id,
                    }
                    for e in entries
                ],
            )

    def page(self, org_id: str, year: int, after: int | None, limit: int) -> list[LedgerEntry]:
        c = t.ledger_entries.c
        q = select(t.ledger_entries).where(c.organization_id == org_id, c.billing_year == year)
        if after is not None:
            q = q.where(c.id > after)
        return [_entry(r) for r in self._c.execute(q.order_by(c.id).limit(limit))]

    def all_entries(self, org_id: str) -> list[LedgerEntry]:
        c = t.ledger_entries.c
        q = select(t.ledger_entries).where(c.organization_id == org_id).order_by(c.id)
        return [_entry(r) for r in self._c.execute(q)]


class SqlUsage:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def used(self, org_id: str, year: int) -> int:
        c = t.credit_usage.c
        return int(
            self._c.scalar(
                select(c.used).where(c.organization_id == org_id, c.billing_year == year)
            )
            or 0
        )

    def add(self, org_id: str, year: int, n: int) -> None:
        c = t.credit_usage.c
        done = self._c.execute(
            update(t.credit_usage)
            .where(and_(c.organization_id == org_id, c.billing_year == year))
            .values(used=c.used + n)
        )
        if done.rowcount == 0:
            self._c.execute(
                insert(t.credit_usage).values(organization_id=org_id, billing_year=year, used=n)
            )

    def all_years(self, org_id: str) -> dict[int, int]:
        c = t.credit_usage.c
        rows = self._c.execute(select(c.billing_year, c.used).where(c.organization_id == org_id))
        return {int(r[0]): int(r[1]) for r in rows}


class SqlIdempotencyKeys:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def get(self, scope: str, key: str) -> StoredReply | None:
        c = t.idempotency_keys.c
        row = self._c.execute(
            select(c.fingerprint, c.status_code, c.body).where(
                c.organization_id == scope, c.key == key
            )
        ).first()
        return StoredReply(row[0], row[1], row[2]) if row else None

    def add(self, scope: str, key: str, reply: StoredReply, at: datetime) -> None:
        try:
            self._c.execute(
                insert(t.idempotency_keys).values(
                    organization_id=scope,
                    key=key,
                    fingerprint=reply.fingerprint,
                    status_code=reply.status_code,
                    body=reply.body,
                    created_at=at,
                )
            )
        except IntegrityError:
            raise DuplicateRequest(key) from None


class SqlSigningKeys:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, key: SigningKey) -> None:
        self._c.execute(insert(t.signing_keys).values(**asdict(key)))

    def get(self, key_id: str) -> SigningKey | None:
        row = self._c.execute(select(t.signing_keys).where(t.signing_keys.c.id == key_id)).first()
        return SigningKey(**row._mapping) if row else None

    def all(self, org_id: str) -> list[SigningKey]:
        k = t.signing_keys.c
        rows = self._c.execute(
            select(t.signing_keys).where(k.organization_id == org_id).order_by(k.created_at, k.id)
        )
        return [SigningKey(**r._mapping) for r in rows]

    def retire_all(self, org_id: str, at: datetime) -> None:
        k = t.signing_keys.c
        self._c.execute(
            update(t.signing_keys)
            .where(k.organization_id == org_id, k.retired_at.is_(None))
            .values(retired_at=at)
        )


class SqlStatusBits:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def set_many(self, org_id: str, purpose: str, indexes: Sequence[int], at: datetime) -> None:
        s = t.status_bits.c
        wanted = sorted(set(indexes))
        if not wanted:
            return
        present = set(
            self._c.scalars(
                select(s.status_index).where(
                    s.organization_id == org_id,
                    s.purpose == purpose,
                    s.status_index.in_(wanted),
                )
            )
        )
        insert_rows(
            self._c,
            t.status_bits,
            [
                {"organization_id": org_id, "purpose": purpose, "status_index": i, "set_at": at}
                for i in wanted
                if i not in present
            ],
        )

    def clear(self, org_id: str, purpose: str, index: int) -> None:
        s = t.status_bits.c
        self._c.execute(
            t.status_bits.delete().where(
                s.organization_id == org_id, s.purpose == purpose, s.status_index == index
            )
        )

    def set_in(self, org_id: str, purpose: str, start: int, stop: int) -> list[int]:
        s = t.status_bits.c
        return list(
            self._c.scalars(
                select(s.status_index).where(
                    s.organization_id == org_id,
                    s.purpose == purpose,
                    s.status_index >= start,
                    s.status_index < stop,
                )
            )
        )
