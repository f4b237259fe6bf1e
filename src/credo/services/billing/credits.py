"""Reading credits: the balance of the current billing year and its ledger (R14)."""

from __future__ import annotations

from dataclasses import dataclass, field

from credo.clock import Clock
from credo.domain.billing import BillingYear, billing_year
from credo.domain.entities import LedgerEntry
from credo.domain.errors import InvalidInput, NotFound
from credo.services.billing import charging
from credo.services.billing.departments import DepartmentFigures
from credo.services.ports import UnitOfWork
from credo.services.tenancy.clocks import load_org, org_now


@dataclass(frozen=True, slots=True)
class Balance:
    year: BillingYear
    allowance: int
    used: int
    remaining: int
    seats_held: int
    active: bool
    departments: list[DepartmentFigures] = field(default_factory=list)


def balance(uow: UnitOfWork, clock: Clock, org_id: str) -> Balance:
    now = org_now(load_org(uow, org_id), clock)
    p = charging.period(uow, org_id, now)
    return Balance(
        year=p.year,
        allowance=p.account.allowance,
        used=p.account.used,
        remaining=p.account.remaining,
        seats_held=uow.usage.held(org_id, p.year.index),
        active=p.account.active,
        departments=[
            DepartmentFigures(y.department, y.used)
            for y in uow.departments.years(org_id, p.year.index)
        ],
    )


def ledger(
    uow: UnitOfWork,
    clock: Clock,
    org_id: str,
    *,
    year: int | None,
    after: int | None,
    limit: int,
    department_id: str | None = None,
) -> tuple[BillingYear, list[LedgerEntry]]:
    now = org_now(load_org(uow, org_id), clock)
    sub = uow.subscriptions.get(org_id)
    if sub is None:
        raise NotFound("the organization has no subscription")
    current = sub.year_at(now)
    if year is None:
        year = current.index
    elif year < 0:
        raise InvalidInput(
            "billing_year must not be negative",
            [{"field": "billing_year", "message": "must be 0 or more"}],
        )
    if department_id is not None and department_id not in uow.departments.names(org_id):
        # Deleted departments too: their ledger lines stay theirs.
        raise NotFound(f"no department {department_id[:64]!r}")
    entries = uow.ledger.page(org_id, year, after, limit, department_id)
    return billing_year(sub.anchor, year), entries
