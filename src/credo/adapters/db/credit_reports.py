"""Reports over the credit ledger (the credits page, its CSV export) and the allowance
alerts raised. Reads are single statements over the (organization_id, billing_year, id)
index; nothing here runs on the charge path except `SqlCreditAlerts.add`, and that only
when a charge crosses a threshold."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Connection, and_, func, insert, select

from credo.adapters.db import tables as t
from credo.domain.entities import LedgerEntry
from credo.services.billing.ports import LedgerQuery

_l = t.ledger_entries.c
_a = t.credit_alerts.c


def _entry(row: object) -> LedgerEntry:
    return LedgerEntry(**row._mapping)  # type: ignore[attr-defined]


def _where(org_id: str, q: LedgerQuery) -> list[ColumnElement[bool]]:
    cond: list[ColumnElement[bool]] = [_l.organization_id == org_id]
    if q.year is not None:
        cond.append(_l.billing_year == q.year)
    if q.reason is not None:
        cond.append(_l.reason == q.reason)
    if q.recipient_contains:
        # Keys are stored lower-case (domain.recipients); LIKE wildcards in the search are
        # taken literally.
        cond.append(_l.recipient_key.contains(q.recipient_contains.lower(), autoescape=True))
    if q.since is not None:
        cond.append(_l.at >= q.since)
    if q.until is not None:
        cond.append(_l.at < q.until)
    if q.department_id is not None:
        cond.append(_l.department_id == q.department_id)
    return cond


class SqlCreditReports:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def charges_between(self, org_id: str, year: int, bounds: Sequence[datetime]) -> list[int]:
        n = len(bounds) - 1
        if n < 1:
            raise ValueError("need at least two bounds")
        # From the per-day counts (tables.charge_days): at most 366 rows, whatever the
        # year's charges. Bounds are UTC midnights, so a day falls wholly in one interval.
        cuts = [b.astimezone(UTC).date() for b in bounds[1:-1]]
        counts = [0] * n
        d = t.charge_days.c
        rows = self._c.execute(
            select(d.day, d.charges).where(d.organization_id == org_id, d.billing_year == year)
        )
        for day, charges in rows:
            counts[bisect_right(cuts, day)] += int(charges)
        return counts

    def entries(
        self,
        org_id: str,
        q: LedgerQuery,
        *,
        limit: int,
        after: int | None = None,
        before: int | None = None,
        newest_first: bool = False,
    ) -> list[LedgerEntry]:
        cond = _where(org_id, q)
        if after is not None:
            cond.append(_l.id > after)
        if before is not None:
            cond.append(_l.id < before)
        order = _l.id.desc() if newest_first else _l.id
        rows = self._c.execute(
            select(t.ledger_entries).where(and_(*cond)).order_by(order).limit(limit)
        )
        return [_entry(r) for r in rows]

    def count(self, org_id: str, q: LedgerQuery) -> int:
        found = self._c.scalar(
            select(func.count()).select_from(t.ledger_entries).where(and_(*_where(org_id, q)))
        )
        return int(found or 0)

    def last_id(self, org_id: str) -> int | None:
        found = self._c.scalar(select(func.max(_l.id)).where(_l.organization_id == org_id))
        return None if found is None else int(found)


class SqlCreditAlerts:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, org_id: str, year: int, threshold: int, at: datetime) -> bool:
        # The caller holds the organization lock, so no one raises the same alert between
        # this read and the insert.
        exists = self._c.execute(
            select(_a.threshold).where(
                _a.organization_id == org_id, _a.billing_year == year, _a.threshold == threshold
            )
        ).first()
        if exists is not None:
            return False
        self._c.execute(
            insert(t.credit_alerts).values(
                organization_id=org_id, billing_year=year, threshold=threshold, raised_at=at
            )
        )
        return True

    def raised(self, org_id: str, year: int) -> list[int]:
        rows = self._c.execute(
            select(_a.threshold)
            .where(_a.organization_id == org_id, _a.billing_year == year)
            .order_by(_a.threshold)
        )
        return [int(r[0]) for r in rows]
