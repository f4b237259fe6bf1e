"""The reads a publish begins with, one statement each: what it signs with (before the
organization's lock), and what it charges against (taking that lock). Four to five
statements before; each one is a round trip and most of a millisecond of CPU in all."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Integer, Label, String, Table, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from credo.adapters.db import tables as t
from credo.adapters.db.billing import subscription_of
from credo.domain.entities import Group, Organization, SigningKey
from credo.services.credentials.ports import Charging, Signing


def _labelled(table: Table, prefix: str) -> list[Label[Any]]:
    return [c.label(f"{prefix}{c.name}") for c in table.c]


def _parts(*tables: Table) -> list[tuple[list[str], slice]]:
    """Where each table's columns sit in a row of their labelled columns, in this order."""
    out, start = [], 0
    for table in tables:
        names = [c.name for c in table.c]
        out.append((names, slice(start, start + len(names))))
        start += len(names)
    return out


def _fields(row: Sequence[Any], part: tuple[list[str], slice]) -> dict[str, Any]:
    names, where = part
    return dict(zip(names, row[where], strict=True))


def _active_key_id(org_id: Any) -> Any:
    k = t.signing_keys.alias("active_key").c  # apart from a signing_keys the caller joins
    return (
        select(k.id)
        .where(k.organization_id == org_id, k.retired_at.is_(None))
        .order_by(k.created_at.desc(), k.id.desc())
        .limit(1)
        .scalar_subquery()
    )


# Built once: making a statement of four tables' labelled columns costs more CPU than
# running it; executing the same object also reuses SQLAlchemy's compiled form directly.
_o, _s, _g, _k, _u = (
    t.organizations,
    t.subscriptions,
    t.groups,
    t.signing_keys,
    t.credit_usage,
)
_SIGNING = (
    select(*_labelled(_o, "o_"), *_labelled(_s, "s_"), *_labelled(_g, "g_"))
    .add_columns(*_labelled(_k, "k_"))
    .select_from(_o)
    .join(_s, _s.c.organization_id == _o.c.id)
    .join(_g, (_g.c.organization_id == _o.c.id) & (_g.c.id == bindparam("group_id")))
    .join(_k, _k.c.id == _active_key_id(_o.c.id))
    .where(_o.c.id == bindparam("org_id"))
)
_USED = (
    select(func.coalesce(func.max(_u.c.used), 0))
    .where(_u.c.organization_id == _o.c.id, _u.c.billing_year == bindparam("year"))
    .scalar_subquery()
)
_SEATED = (
    select(t.seats.c.id)
    .where(
        t.seats.c.organization_id == _o.c.id,
        t.seats.c.billing_year == bindparam("year"),
        t.seats.c.recipient_key == bindparam("recipient_key"),
        t.seats.c.released_at.is_(None),
    )
    .exists()
)
# Whether the organization has an enabled webhook endpoint: a publish of one that has none
# (most) writes its events without asking again (services/webhooks/events.py).
_HOOKED = (
    select(t.webhooks.c.id)
    .where(t.webhooks.c.organization_id == _o.c.id, t.webhooks.c.disabled_at.is_(None))
    .exists()
)
_CHARGING = (
    select(*_labelled(_o, "o_"), *_labelled(_s, "s_"), *_labelled(_g, "g_"))
    .add_columns(
        _active_key_id(_o.c.id).label("key_id"),
        _USED.label("used"),
        _SEATED.label("seated"),
        _HOOKED.label("hooked"),
    )
    .select_from(_o)
    .join(_s, _s.c.organization_id == _o.c.id)
    .outerjoin(_g, (_g.c.organization_id == _o.c.id) & (_g.c.id == bindparam("group_id")))
    .where(_o.c.id == bindparam("org_id"))
)
# The lock alone, as its own statement: a statement that waited for a lock reads the other
# tables as they were when it began, so the counter and seats must be read by the next one.
# FOR NO KEY UPDATE excludes every other holder of the lock, but not the KEY SHARE locks
# that inserts referring to the organization take (a publish inserts its credentials first).
_LOCK = select(_o.c.id).where(_o.c.id == bindparam("org_id")).with_for_update(key_share=True)
# Several organizations' locks, taken in the order of their ids (the rows are locked as
# the sort hands them over), so two such statements cannot deadlock each other.
# One array parameter: the statement is the same however many there are (an IN list is
# compiled, converted and prepared anew for each length).
_LOCK_MANY = (
    select(_o.c.id)
    .where(_o.c.id == any_(bindparam("org_ids", type_=ARRAY(String))))
    .order_by(_o.c.id)
    .with_for_update(key_share=True)
)


# The same for several (organization, group, billing year) at once, on PostgreSQL: the
# wanted triples come as three arrays, one round trip however many organizations a batch
# holds (SQLite runs _CHARGING once each: no round trip to save).
_W = (
    func.unnest(
        bindparam("org_ids", type_=ARRAY(String)),
        bindparam("group_ids", type_=ARRAY(String)),
        bindparam("years", type_=ARRAY(Integer)),
    )
    .table_valued("org_id", "group_id", "year")
    .render_derived(name="w")
)
_USED_OF_W = (
    select(func.coalesce(func.max(_u.c.used), 0))
    .where(_u.c.organization_id == _o.c.id, _u.c.billing_year == _W.c.year)
    .scalar_subquery()
)
_CHARGING_MANY = (
    select(
        _W.c.org_id,
        _W.c.group_id,
        _W.c.year,
        *_labelled(_o, "o_"),
        *_labelled(_s, "s_"),
        *_labelled(_g, "g_"),
    )
    .add_columns(
        _active_key_id(_o.c.id).label("key_id"),
        _USED_OF_W.label("used"),
        _HOOKED.label("hooked"),
    )
    .select_from(_W)
    .join(_o, _o.c.id == _W.c.org_id)
    .join(_s, _s.c.organization_id == _o.c.id)
    .outerjoin(_g, (_g.c.organization_id == _o.c.id) & (_g.c.id == _W.c.group_id))
)


_SIGNING_PARTS = _parts(_o, _s, _g, _k)
_CHARGING_PARTS = _parts(_o, _s, _g)
_AFTER_CHARGING = _CHARGING_PARTS[-1][1].stop  # key_id, used, seated, hooked


class SqlPublishing:
    def __init__(
        self, conn: Connection, *, sqlite: bool, queue: Callable[[str], None] | None = None
    ) -> None:
        self._c = conn
        self._sqlite = sqlite
        self._queue = queue

    def signing(self, org_id: str, group_id: str) -> Signing | None:
        row = self._c.execute(_SIGNING, {"org_id": org_id, "group_id": group_id}).first()
        if row is None:
            return None
        o, s, g, k = (_fields(row, part) for part in _SIGNING_PARTS)
        return Signing(
            org=Organization(**o),
            subscription=subscription_of(s),
            group=Group(**g),
            key=SigningKey(**k),
        )

    def lock(
        self, org_id: str, group_id: str, year: int, recipient_key: str | None = None
    ) -> Charging | None:
        """The organization under its lock, with its subscription, the group, the id of its
        active signing key, the credits used in billing year `year`, and whether
        `recipient_key` holds an open seat in it. On PostgreSQL it first waits for this
        process's turn at the organization (gates.py), until the transaction ends: it must
        be the transaction's first lock on the organization."""
        # SQLite: the writing transaction holds the database's write lock already.
        if not self._sqlite:
            if self._queue is not None:
                self._queue(org_id)
            if self._c.execute(_LOCK, {"org_id": org_id}).first() is None:
                return None
        params = {"org_id": org_id, "group_id": group_id, "year": year}
        params["recipient_key"] = recipient_key or ""
        row = self._c.execute(_CHARGING, params).first()
        if row is None:
            return None
        o, s, g = (_fields(row, part) for part in _CHARGING_PARTS)
        key_id, used, seated, hooked = row[_AFTER_CHARGING : _AFTER_CHARGING + 4]
        return Charging(
            org=Organization(**o),
            subscription=subscription_of(s),
            group=Group(**g) if g["id"] is not None else None,
            key_id=key_id,
            year=year,
            used=int(used),
            seated=bool(seated) if recipient_key is not None else None,
            hooked=bool(hooked),
        )

    def lock_many(
        self, wants: Sequence[tuple[str, str, int]]
    ) -> dict[tuple[str, str, int], Charging]:
        """Take the locks of the organizations of `wants` (organization, group, billing
        year), in the order of their ids, then read for each what `lock` reads, but
        `seated`. Not answered: an organization that is not there. It bypasses this
        process's queues (gates.py): the caller is the process's one batch at a time."""
        wants = list(dict.fromkeys(wants))
        out: dict[tuple[str, str, int], Charging] = {}
        if self._sqlite:
            for org_id, group_id, year in wants:
                params = {"org_id": org_id, "group_id": group_id, "year": year}
                row = self._c.execute(_CHARGING, {**params, "recipient_key": ""}).first()
                if row is not None:
                    out[(org_id, group_id, year)] = _charging(row, 0, year)
            return out
        self._c.execute(_LOCK_MANY, {"org_ids": sorted({w[0] for w in wants})}).all()
        rows = self._c.execute(
            _CHARGING_MANY,
            {
                "org_ids": [w[0] for w in wants],
                "group_ids": [w[1] for w in wants],
                "years": [w[2] for w in wants],
            },
        )
        for row in rows:
            org_id, group_id, year = row[0], row[1], row[2]
            out[(org_id, group_id, year)] = _charging(row, 3, year)
        return out


def _charging(row: Sequence[Any], offset: int, year: int) -> Charging:
    """A Charging from a row of _CHARGING (offset 0) or _CHARGING_MANY (3), without
    `seated`. `hooked` ends both rows."""
    o, s, g = (_fields(row[offset:], part) for part in _CHARGING_PARTS)
    key_id, used = row[offset + _AFTER_CHARGING : offset + _AFTER_CHARGING + 2]
    return Charging(
        org=Organization(**o),
        subscription=subscription_of(s),
        group=Group(**g) if g["id"] is not None else None,
        key_id=key_id,
        year=year,
        used=int(used),
        seated=None,
        hooked=bool(row[-1]),
    )
