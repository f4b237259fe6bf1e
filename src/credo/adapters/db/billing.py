"""Subscriptions, seats, the ledger and usage counters: what credits are made of."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    String,
    any_,
    bindparam,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from credo.adapters.db import tables as t

# From this many rows on, PostgreSQL gets them by COPY; fewer go by plain INSERT.
from credo.adapters.db.departments import count_departments
from credo.adapters.db.rows import _COPY_FROM_ROWS, _IN_LIST_MAX, _chunks, insert_rows
from credo.domain.billing import Subscription
from credo.domain.entities import (
    LedgerEntry,
    Seat,
)


def subscription_of(m: Mapping[Any, Any]) -> Subscription:
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


class SqlSubscriptions:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def get(self, org_id: str) -> Subscription | None:
        row = self._c.execute(
            select(t.subscriptions).where(t.subscriptions.c.organization_id == org_id)
        ).first()
        return subscription_of(row._mapping) if row is not None else None

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


# Statements of the charge path, built once (building one costs about what running it does).
_OPEN_KEYS = select(t.seats.c.recipient_key).where(
    t.seats.c.organization_id == bindparam("org_id"),
    t.seats.c.billing_year == bindparam("year"),
    t.seats.c.released_at.is_(None),
    t.seats.c.recipient_key.in_(bindparam("keys", expanding=True)),
)


def _add_used(dialect_insert: Any) -> Any:
    u = t.credit_usage
    return (
        dialect_insert(u)
        .values(
            organization_id=bindparam("org_id"), billing_year=bindparam("year"), used=bindparam("n")
        )
        .on_conflict_do_update(
            index_elements=[u.c.organization_id, u.c.billing_year],
            set_={"used": u.c.used + bindparam("n")},
        )
    )


_OPEN_KEYS_ANY = select(t.seats.c.recipient_key).where(
    t.seats.c.organization_id == bindparam("org_id"),
    t.seats.c.billing_year == bindparam("year"),
    t.seats.c.released_at.is_(None),
    t.seats.c.recipient_key == any_(bindparam("keys", type_=ARRAY(String))),
)
# Open seats of many (organization, year, key) at once, each looked up in the seats'
# index. LATERAL ... LIMIT 1 keeps that plan when the table's statistics are stale (a
# young database, between two ANALYZEs): a join read every open seat instead.
_OPEN_OF_PG = text(
    "SELECT w.org_id, w.year, w.key FROM unnest(CAST(:org_ids AS varchar[]),"
    " CAST(:years AS integer[]), CAST(:keys AS varchar[])) AS w (org_id, year, key)"
    " CROSS JOIN LATERAL (SELECT 1 FROM seats s WHERE s.organization_id = w.org_id"
    " AND s.billing_year = w.year AND s.recipient_key = w.key AND s.released_at IS NULL"
    " LIMIT 1) AS found"
)
_ADD_USED_SQLITE = _add_used(sqlite_insert)
_ADD_USED_ONLY_PG = _add_used(pg_insert)


def _add_day(dialect_insert: Any) -> Any:
    d = t.charge_days
    return (
        dialect_insert(d)
        .values(
            organization_id=bindparam("org_id"),
            billing_year=bindparam("year"),
            day=bindparam("day"),
            charges=bindparam("n"),
        )
        .on_conflict_do_update(
            index_elements=[d.c.organization_id, d.c.billing_year, d.c.day],
            set_={"charges": d.c.charges + bindparam("n")},
        )
    )


_ADD_DAY_SQLITE = _add_day(sqlite_insert)
_ADD_DAY_PG = _add_day(pg_insert)
# Both counters in one round trip on PostgreSQL (a data-modifying CTE runs whether or not
# the statement reads it).
_ADD_USED_PG = text(
    "WITH used AS (INSERT INTO credit_usage (organization_id, billing_year, used)"
    " VALUES (:org_id, :year, :n) ON CONFLICT (organization_id, billing_year)"
    " DO UPDATE SET used = credit_usage.used + excluded.used RETURNING 1)"
    " INSERT INTO charge_days (organization_id, billing_year, day, charges)"
    " VALUES (:org_id, :year, :day, :n) ON CONFLICT (organization_id, billing_year, day)"
    " DO UPDATE SET charges = charge_days.charges + excluded.charges"
).bindparams(bindparam("day", type_=Date))


class SqlSeats:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def open_keys(self, org_id: str, year: int, keys: Iterable[str]) -> set[str]:
        wanted = sorted(set(keys))
        if not wanted:
            return set()
        if self._c.dialect.name == "postgresql":
            # One array parameter, however many keys: the open-seat index answers each, so
            # a bulk reads its own recipients' seats, not every open seat of the year.
            return set(
                self._c.scalars(_OPEN_KEYS_ANY, {"org_id": org_id, "year": year, "keys": wanted})
            )
        found: set[str] = set()
        for chunk in _chunks(wanted, _IN_LIST_MAX):
            params = {"org_id": org_id, "year": year, "keys": list(chunk)}
            found.update(self._c.scalars(_OPEN_KEYS, params))
        return found

    def open_keys_of(self, wanted: Iterable[tuple[str, int, str]]) -> set[tuple[str, int, str]]:
        """Which of (organization, billing year, recipient key) hold an open seat."""
        wanted = sorted(set(wanted))
        if not wanted:
            return set()
        if self._c.dialect.name != "postgresql":
            by_year: dict[tuple[str, int], list[str]] = {}
            for org_id, year, key in wanted:
                by_year.setdefault((org_id, year), []).append(key)
            return {
                (org_id, year, key)
                for (org_id, year), keys in by_year.items()
                for key in self.open_keys(org_id, year, keys)
            }
        rows = self._c.execute(
            _OPEN_OF_PG,
            {
                "org_ids": [w[0] for w in wanted],
                "years": [w[1] for w in wanted],
                "keys": [w[2] for w in wanted],
            },
        )
        return {(r[0], r[1], r[2]) for r in rows}

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

    def release(self, org_id: str, year: int, recipient_key: str, at: datetime) -> int:
        c = t.seats.c
        return self._c.execute(
            update(t.seats)
            .where(
                c.organization_id == org_id,
                c.billing_year == year,
                c.recipient_key == recipient_key,
                c.released_at.is_(None),
            )
            .values(released_at=at)
        ).rowcount

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
                        "department_id": e.department_id,
                    }
                    for e in entries
                ],
            )

    def page(
        self,
        org_id: str,
        year: int,
        after: int | None,
        limit: int,
        department_id: str | None = None,
    ) -> list[LedgerEntry]:
        c = t.ledger_entries.c
        q = select(t.ledger_entries).where(c.organization_id == org_id, c.billing_year == year)
        if department_id is not None:
            q = q.where(c.department_id == department_id)
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
        self._sqlite = conn.dialect.name == "sqlite"

    def used(self, org_id: str, year: int) -> int:
        c = t.credit_usage.c
        return int(
            self._c.scalar(
                select(c.used).where(c.organization_id == org_id, c.billing_year == year)
            )
            or 0
        )

    def add(self, org_id: str, year: int, n: int, at: datetime) -> None:
        # Whether or not the year (or the day) has its row yet.
        params = {"org_id": org_id, "year": year, "n": n, "day": at.astimezone(UTC).date()}
        if self._sqlite:
            self._c.execute(_ADD_USED_SQLITE, params)
            self._c.execute(_ADD_DAY_SQLITE, params)
        else:
            self._c.execute(_ADD_USED_PG, params)

    def add_used(self, org_id: str, year: int, n: int) -> None:
        """Only the year's counter (`add` moves the day's too)."""
        stmt = _ADD_USED_SQLITE if self._sqlite else _ADD_USED_ONLY_PG
        self._c.execute(stmt, {"org_id": org_id, "year": year, "n": n})

    def add_day(self, org_id: str, year: int, day: date, n: int) -> None:
        stmt = _ADD_DAY_SQLITE if self._sqlite else _ADD_DAY_PG
        self._c.execute(stmt, {"org_id": org_id, "year": year, "day": day, "n": n})

    def days(self, org_id: str, year: int) -> list[tuple[date, int]]:
        c = t.charge_days.c
        q = select(c.day, c.charges).where(c.organization_id == org_id, c.billing_year == year)
        return [(r[0], int(r[1])) for r in self._c.execute(q.order_by(c.day))]

    def all_days(self, org_id: str) -> dict[tuple[int, date], int]:
        c = t.charge_days.c
        q = select(c.billing_year, c.day, c.charges).where(c.organization_id == org_id)
        return {(int(r[0]), r[1]): int(r[2]) for r in self._c.execute(q)}

    def add_released(self, org_id: str, year: int, n: int) -> None:
        c = t.credit_usage.c
        self._c.execute(
            update(t.credit_usage)
            .where(c.organization_id == org_id, c.billing_year == year)
            .values(released=c.released + n)
        )

    def held(self, org_id: str, year: int) -> int:
        c = t.credit_usage.c
        q = select(c.used - c.released).where(c.organization_id == org_id, c.billing_year == year)
        return int(self._c.scalar(q) or 0)

    def all_released(self, org_id: str) -> dict[int, int]:
        c = t.credit_usage.c
        q = select(c.billing_year, c.released).where(c.organization_id == org_id)
        return {int(r[0]): int(r[1]) for r in self._c.execute(q)}

    def all_years(self, org_id: str) -> dict[int, int]:
        c = t.credit_usage.c
        rows = self._c.execute(select(c.billing_year, c.used).where(c.organization_id == org_id))
        return {int(r[0]): int(r[1]) for r in rows}


# A charge in one round trip on PostgreSQL, however many seats and organizations: it runs
# while the organizations' locks are held, and each statement there was a wait for this
# process's turn at the interpreter as well as a round trip. The ledger rows' seats are
# inserted by the same statement; their foreign key is checked at the statement's end.
# Counters come aggregated, one row per key (ON CONFLICT may touch a row once).
_CHARGE_PG = text(
    "WITH seat AS (INSERT INTO seats (id, organization_id, billing_year, recipient_key,"
    " opened_at) SELECT * FROM unnest(CAST(:seat_ids AS varchar[]),"
    " CAST(:seat_orgs AS varchar[]), CAST(:seat_years AS integer[]),"
    " CAST(:seat_keys AS varchar[]), CAST(:seat_opened AS timestamp[]))),"
    " entry AS (INSERT INTO ledger_entries (organization_id, at, billing_year, delta, reason,"
    " recipient_key, credential_id, seat_id, department_id)"
    " SELECT * FROM unnest(CAST(:e_orgs AS varchar[]),"
    " CAST(:e_at AS timestamp[]), CAST(:e_years AS integer[]), CAST(:e_deltas AS integer[]),"
    " CAST(:e_reasons AS varchar[]), CAST(:e_keys AS varchar[]),"
    " CAST(:e_creds AS varchar[]), CAST(:e_seats AS varchar[]),"
    " CAST(:e_depts AS varchar[]))),"
    " used AS (INSERT INTO credit_usage (organization_id, billing_year, used)"
    " SELECT * FROM unnest(CAST(:u_orgs AS varchar[]), CAST(:u_years AS integer[]),"
    " CAST(:u_n AS integer[])) ON CONFLICT (organization_id, billing_year)"
    " DO UPDATE SET used = credit_usage.used + excluded.used)"
    " INSERT INTO charge_days (organization_id, billing_year, day, charges)"
    " SELECT * FROM unnest(CAST(:d_orgs AS varchar[]), CAST(:d_years AS integer[]),"
    " CAST(:d_days AS date[]), CAST(:d_n AS integer[]))"
    " ON CONFLICT (organization_id, billing_year, day)"
    " DO UPDATE SET charges = charge_days.charges + excluded.charges"
)


def _naive_utc(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None)  # as UTCDateTime stores it


class SqlCharges:
    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._pg = conn.dialect.name == "postgresql"

    def record_many(self, seats: Sequence[Seat], entries: Sequence[LedgerEntry]) -> None:
        if not entries:
            return
        count_departments(self._c, entries)
        years = Counter((e.organization_id, e.billing_year) for e in entries)
        days = Counter(
            (e.organization_id, e.billing_year, e.at.astimezone(UTC).date()) for e in entries
        )
        if not self._pg or len(entries) >= _COPY_FROM_ROWS:
            SqlSeats(self._c).open_many(seats)
            SqlLedger(self._c).add_many(entries)
            usage = SqlUsage(self._c)
            if len(days) == 1:  # a bulk's, or one publish's: both counters at once
                (org_id, year), n = years.popitem()
                usage.add(org_id, year, n, entries[0].at)
                return
            for (org_id, year, day), n in sorted(days.items()):
                usage.add_day(org_id, year, day, n)
            for (org_id, year), n in sorted(years.items()):
                usage.add_used(org_id, year, n)
            return
        self._c.execute(
            _CHARGE_PG,
            {
                "seat_ids": [s.id for s in seats],
                "seat_orgs": [s.organization_id for s in seats],
                "seat_years": [s.billing_year for s in seats],
                "seat_keys": [s.recipient_key for s in seats],
                "seat_opened": [_naive_utc(s.opened_at) for s in seats],
                "e_orgs": [e.organization_id for e in entries],
                "e_at": [_naive_utc(e.at) for e in entries],
                "e_years": [e.billing_year for e in entries],
                "e_deltas": [e.delta for e in entries],
                "e_reasons": [e.reason for e in entries],
                "e_keys": [e.recipient_key for e in entries],
                "e_creds": [e.credential_id for e in entries],
                "e_seats": [e.seat_id for e in entries],
                "e_depts": [e.department_id for e in entries],
                # Sorted: concurrent charges meet the counter rows in one order.
                "u_orgs": [k[0] for k in sorted(years)],
                "u_years": [k[1] for k in sorted(years)],
                "u_n": [years[k] for k in sorted(years)],
                "d_orgs": [k[0] for k in sorted(days)],
                "d_years": [k[1] for k in sorted(days)],
                "d_days": [k[2] for k in sorted(days)],
                "d_n": [days[k] for k in sorted(days)],
            },
        )
