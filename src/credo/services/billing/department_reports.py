"""A department's page in the dashboard: its seats this billing year month by month against
its cap, the history of its cap, and its groups."""

from __future__ import annotations

from dataclasses import dataclass

from credo.clock import Clock
from credo.domain.billing import BillingYear
from credo.domain.entities import Group
from credo.services.billing import credit_reports
from credo.services.billing.departments import DepartmentFigures, get
from credo.services.billing.ports import CapChange
from credo.services.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class DepartmentPage:
    """One department's page: its figures this billing year, month by month, the history
    of its cap and the groups it holds."""

    figures: DepartmentFigures
    months: tuple[credit_reports.Month, ...]
    year: BillingYear
    allowance: int
    cap_changes: list[CapChange]
    groups: list[Group]


def page(uow: UnitOfWork, clock: Clock, org_id: str, dept_id: str) -> DepartmentPage:
    dept = get(uow, org_id, dept_id)
    ov = credit_reports.overview(uow, clock, org_id)
    year = ov.balance.year
    sub = uow.subscriptions.get(org_id)
    anchor_day = sub.anchor.day if sub is not None else year.starts_at.day
    bounds = credit_reports.month_bounds(year, anchor_day)
    counts = uow.departments.charges_between(org_id, dept.id, year.index, bounds)
    months, total = [], 0
    for i, taken in enumerate(counts):
        total += taken
        months.append(
            credit_reports.Month(bounds[i], bounds[i + 1], taken, total, bounds[i] <= ov.now)
        )
    used = next((f.used for f in ov.balance.departments if f.department.id == dept.id), 0)
    held = [
        g
        for archived in (False, True)  # archived groups stay the department's too
        for g in uow.credential_search.groups(org_id, archived=archived)
        if g.group.department_id == dept.id
    ]
    return DepartmentPage(
        DepartmentFigures(dept, used),
        tuple(months),
        year,
        ov.balance.allowance,
        uow.departments.cap_changes(org_id, dept.id),
        [g.group for g in held],
    )
