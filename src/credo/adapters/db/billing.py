"""Subscriptions, seats, the ledger and usage counters: what credits are made of."""

from __future__ import annotations

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
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from credo.adapters.db import tables as t

# From this many rows on, PostgreSQL gets them by COPY; fewer go by plain INSERT.
from credo.adapters.db.rows import _IN_LIST_MAX, _chunks, insert_rows
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
_ADD_USED_SQLITE = _add_used(sqlite_insert)
_ADD_DAY_SQLITE = (
    sqlite_insert(t.charge_days)
    .values(
        organization_id=bindparam("org_id"),
        billing_year=bindparam("year"),
        day=bindparam("day"),
        charges=bindparam("n"),
    )
    .on_conflict_do_update(
        index_elements=[
            t.charge_days.c.organization_id,
            t.charge_days.c.billing_year,
            t.charge_days.c.day,
        ],
        set_={"charges": t.charge_days.c.charges + bindparam("n")},
    )
)
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


# A single publish's charge in one round trip on PostgreSQL: it runs while the
# organization's lock is held, and each statement there was a wait for this process's
# turn at the interpreter as well as a round trip. The ledger row's seat is inserted by
# the same statement; its foreign key is checked at the statement's end.
_CHARGE_ONE_PG = text(
    "WITH seat AS (INSERT INTO seats (id, organization_id, billing_year, recipient_key,"
    " opened_at) VALUES (:seat_id, :org_id, :year, :recipient_key, :opened_at)),"
    " entry AS (INSERT INTO ledger_entries (organization_id, at, billing_year, delta, reason,"
    " recipient_key, credential_id, seat_id) VALUES (:org_id, :at, :year, :delta, :reason,"
    " :entry_key, :credential_id, :entry_seat)),"
    " used AS (INSERT INTO credit_usage (organization_id, billing_year, used)"
    " VALUES (:org_id, :year, 1) ON CONFLICT (organization_id, billing_year)"
    " DO UPDATE SET used = credit_usage.used + excluded.used)"
    " INSERT INTO charge_days (organization_id, billing_year, day, charges)"
    " VALUES (:org_id, :year, :day, 1) ON CONFLICT (organization_id, billing_year, day)"
    " DO UPDATE SET charges = charge_days.charges + excluded.charges"
).bindparams(
    bindparam("day", type_=Date),
    bindparam("at", type_=t.UTCDateTime),
    bindparam("opened_at", type_=t.UTCDateTime),
)


class SqlCharges:
    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._pg = conn.dialect.name == "postgresql"

    def record(
        self,
        org_id: str,
        year: int,
        seats: Sequence[Seat],
        entries: Sequence[LedgerEntry],
        at: datetime,
    ) -> None:
        if self._pg and len(seats) == 1 and len(entries) == 1:
            s, e = seats[0], entries[0]
            params = {
                "seat_id": s.id,
                "org_id": org_id,
                "year": year,
                "recipient_key": s.recipient_key,
                "opened_at": s.opened_at,
                "at": e.at,
                "delta": e.delta,
                "reason": e.reason,
                "entry_key": e.recipient_key,
                "credential_id": e.credential_id,
                "entry_seat": e.seat_id,
                "day": at.astimezone(UTC).date(),
            }
            self._c.execute(_CHARGE_ONE_PG, params)
            return
        SqlSeats(self._c).open_many(seats)
        SqlLedger(self._c).add_many(entries)
        if seats:
            SqlUsage(self._c).add(org_id, year, len(seats), at)
