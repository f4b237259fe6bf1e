"""Departments, their caps' history and the seats each took per billing year (R16..R21)."""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from collections import Counter
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from credo.adapters.db import tables as t
from credo.domain.entities import Department, LedgerEntry
from credo.domain.seats import DepartmentAccount
from credo.services.billing.ports import CapChange, DepartmentYear

_d = t.departments.c
_u = t.department_usage.c
_x = t.department_cap_changes.c


def _name_key(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def _department(row: Any) -> Department:
    return Department(**row._mapping)


def count_departments(conn: Connection, entries: Sequence[LedgerEntry]) -> None:
    """Add `entries`' charges to their departments' counters (the same transaction as the
    ledger rows, in one order: concurrent charges meet the rows alike)."""
    counts = Counter(
        (e.organization_id, e.department_id, e.billing_year)
        for e in entries
        if e.department_id is not None and e.delta < 0
    )
    if not counts:
        return
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    for (org_id, dept_id, year), n in sorted(counts.items()):
        stmt = insert(t.department_usage).values(
            organization_id=org_id, department_id=dept_id, billing_year=year, used=n
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["department_id", "billing_year"],
                set_={"used": t.department_usage.c.used + stmt.excluded.used},
            )
        )


class SqlDepartments:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, dept: Department) -> None:
        self._c.execute(
            t.departments.insert().values(
                id=dept.id,
                organization_id=dept.organization_id,
                name=dept.name,
                credit_cap=dept.credit_cap,
                created_at=dept.created_at,
            )
        )

    def get(self, org_id: str, dept_id: str) -> Department | None:
        row = self._c.execute(
            select(t.departments).where(
                _d.organization_id == org_id, _d.id == dept_id, _d.deleted_at.is_(None)
            )
        ).first()
        return None if row is None else _department(row)

    def named(self, org_id: str, name: str) -> Department | None:
        # Compared here, not by SQL lower(): SQLite's folds ASCII only, PostgreSQL's
        # depends on the collation. An organization has a handful of departments.
        key = _name_key(name)
        return next((d for d in self.all(org_id) if _name_key(d.name) == key), None)

    def all(self, org_id: str) -> list[Department]:
        rows = self._c.execute(
            select(t.departments)
            .where(_d.organization_id == org_id, _d.deleted_at.is_(None))
            .order_by(_d.name, _d.id)
        )
        return [_department(r) for r in rows]

    def names(self, org_id: str) -> dict[str, str]:
        """Every department's name by id, deleted ones too (ledger lines name them)."""
        rows = self._c.execute(select(_d.id, _d.name).where(_d.organization_id == org_id))
        return {r.id: r.name for r in rows}

    def update(self, dept: Department) -> None:
        self._c.execute(
            update(t.departments)
            .where(_d.organization_id == dept.organization_id, _d.id == dept.id)
            .values(name=dept.name, credit_cap=dept.credit_cap)
        )

    def delete(self, org_id: str, dept_id: str, at: datetime) -> None:
        self._c.execute(
            update(t.departments)
            .where(_d.organization_id == org_id, _d.id == dept_id)
            .values(deleted_at=at)
        )

    def group_count(self, org_id: str, dept_id: str) -> int:
        g = t.groups.c
        return int(
            self._c.scalar(
                select(func.count())
                .select_from(t.groups)
                .where(g.organization_id == org_id, g.department_id == dept_id)
            )
            or 0
        )

    def accounts(
        self, org_id: str, year: int, dept_ids: Collection[str]
    ) -> dict[str, DepartmentAccount]:
        """The named departments' caps and seats taken in `year`. Read under the
        organization's lock, like the organization's counter."""
        if not dept_ids:
            return {}
        q = (
            select(_d.id, _d.name, _d.credit_cap, func.coalesce(_u.used, 0).label("used"))
            .select_from(
                t.departments.outerjoin(
                    t.department_usage,
                    (_u.department_id == _d.id) & (_u.billing_year == year),
                )
            )
            .where(_d.organization_id == org_id, _d.id.in_(sorted(dept_ids)))
        )
        return {
            r.id: DepartmentAccount(r.id, r.name, r.credit_cap, int(r.used))
            for r in self._c.execute(q)
        }

    def years(self, org_id: str, year: int) -> list[DepartmentYear]:
        """Every department of the organization with its seats taken in `year`."""
        q = (
            select(t.departments, func.coalesce(_u.used, 0).label("used"))
            .select_from(
                t.departments.outerjoin(
                    t.department_usage,
                    (_u.department_id == _d.id) & (_u.billing_year == year),
                )
            )
            .where(_d.organization_id == org_id, _d.deleted_at.is_(None))
            .order_by(_d.name, _d.id)
        )
        out = []
        for r in self._c.execute(q):
            m = dict(r._mapping)
            used = int(m.pop("used"))
            out.append(DepartmentYear(Department(**m), used))
        return out

    def all_usage(self, org_id: str) -> dict[tuple[str, int], int]:
        """Every department counter of the organization: (department, year) -> used."""
        rows = self._c.execute(
            select(_u.department_id, _u.billing_year, _u.used).where(_u.organization_id == org_id)
        )
        return {(r.department_id, r.billing_year): int(r.used) for r in rows}

    def charges_between(
        self, org_id: str, dept_id: str, year: int, bounds: Sequence[datetime]
    ) -> list[int]:
        """Charges to the department in each interval of `bounds` (its billing year cut in
        months). From its ledger lines: a department's page, not a hot path."""
        counts = [0] * (len(bounds) - 1)
        cuts = list(bounds[1:-1])
        l_ = t.ledger_entries.c
        rows = self._c.execute(
            select(l_.at).where(
                l_.organization_id == org_id,
                l_.billing_year == year,
                l_.department_id == dept_id,
                l_.delta == -1,
            )
        )
        for (at,) in rows:
            counts[bisect_right(cuts, at)] += 1
        return counts

    def add_alert(self, org_id: str, dept_id: str, year: int, threshold: int, at: datetime) -> bool:
        a = t.department_alerts.c
        seen = self._c.scalar(
            select(func.count()).where(
                a.department_id == dept_id, a.billing_year == year, a.threshold == threshold
            )
        )
        if seen:
            return False
        self._c.execute(
            t.department_alerts.insert().values(
                organization_id=org_id,
                department_id=dept_id,
                billing_year=year,
                threshold=threshold,
                raised_at=at,
            )
        )
        return True

    def record_cap_change(
        self,
        org_id: str,
        dept_id: str,
        at: datetime,
        actor: str,
        old_cap: int | None,
        new_cap: int | None,
    ) -> None:
        self._c.execute(
            t.department_cap_changes.insert().values(
                organization_id=org_id,
                department_id=dept_id,
                at=at,
                actor=actor[:200],  # the column's width: an e-mail may be longer
                old_cap=old_cap,
                new_cap=new_cap,
            )
        )

    def cap_changes(self, org_id: str, dept_id: str) -> list[CapChange]:
        rows = self._c.execute(
            select(_x.at, _x.actor, _x.old_cap, _x.new_cap)
            .where(_x.organization_id == org_id, _x.department_id == dept_id)
            .order_by(_x.id.desc())
        )
        return [CapChange(r.at, r.actor, r.old_cap, r.new_cap) for r in rows]
