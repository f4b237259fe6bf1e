"""Allowance alerts: when a charge makes the credits used this billing year reach 80% or
100% of the allowance, the organization's owners get an e-mail (through the outbox, in the
charge's transaction) and the alert is recorded, once per billing year and threshold. The
same for a department's cap (R17): once per department, billing year and threshold.

The charge path calls `after_charge` with the counter before and after; below a crossing it
returns at once, without a query, so a bulk publish pays nothing for it."""

from __future__ import annotations

from datetime import datetime

from credo.domain.billing import BillingYear
from credo.domain.seats import DepartmentAccount
from credo.services.people import owners
from credo.services.ports import UnitOfWork
from credo.services.webhooks import events as webhook_events

KIND = "credits.alert"  # the outbox kind (notifications composes it)
DEPARTMENT_KIND = "credits.department_alert"
THRESHOLDS = (80, 100)  # percent of the allowance


def crossed(before: int, after: int, allowance: int) -> tuple[int, ...]:
    """The thresholds that `before -> after` credits used reaches for the first time:
    used * 100 >= threshold * allowance after and not before."""
    if allowance <= 0 or after <= before:
        return ()
    return tuple(t for t in THRESHOLDS if before * 100 < t * allowance <= after * 100)


def after_charge(
    uow: UnitOfWork,
    org_id: str,
    year: BillingYear,
    allowance: int,
    before: int,
    after: int,
    now: datetime,
) -> None:
    """Record and announce the thresholds the charge crossed. Call in the charge's
    transaction, holding the organization lock. A charge that crosses both thresholds at
    once records both and sends one e-mail (the 100% one): one message says it all."""
    thresholds = crossed(before, after, allowance)
    if not thresholds:
        return
    new = [t for t in thresholds if uow.credit_alerts.add(org_id, year.index, t, now)]
    if not new:
        return  # raised before (the allowance was lowered or raised in between)
    org = uow.organizations.get(org_id)
    if org is None:
        return
    # A sandbox's test clock may stand years ahead of the mail worker's real time: the
    # organization's creation (real time) is a moment the worker has surely passed.
    due = min(now, org.created_at) if org.sandbox else now
    webhook_events.emit(
        uow,
        [
            webhook_events.Event(
                org_id,
                "credits.threshold_reached",
                {
                    "threshold": threshold,
                    "billing_year": {
                        "index": year.index,
                        "starts_at": webhook_events.rfc3339(year.starts_at),
                        "ends_at": webhook_events.rfc3339(year.ends_at),
                    },
                    "allowance": allowance,
                    "used": after,
                    "remaining": max(0, allowance - after),
                },
            )
            for threshold in new
        ],
        now,
        due=due,
    )
    about = {
        "organization": org.name,
        "threshold": max(new),
        "used": after,
        "allowance": allowance,
        "billing_year": year.index,
        "year_ends_at": year.ends_at.isoformat(),
    }
    owners.mail_owners(uow, org_id, KIND, about, due)


def after_department_charge(
    uow: UnitOfWork,
    org_id: str,
    year: BillingYear,
    before: DepartmentAccount,
    after: int,
    now: datetime,
) -> None:
    """As `after_charge`, for a department's cap: `before` is its account as read under the
    lock, `after` its seats taken once the charge is written. A department without a cap
    (or a cap of 0, which refuses every new seat) raises none."""
    cap = before.cap
    thresholds = crossed(before.used, after, cap or 0)
    if not thresholds:
        return
    new = [
        t for t in thresholds if uow.departments.add_alert(org_id, before.id, year.index, t, now)
    ]
    if not new:
        return
    org = uow.organizations.get(org_id)
    if org is None:
        return
    due = min(now, org.created_at) if org.sandbox else now
    about = {
        "organization": org.name,
        "department": before.name,
        "department_id": before.id,
        "threshold": max(new),
        "used": after,
        "allowance": cap,
        "billing_year": year.index,
        "year_ends_at": year.ends_at.isoformat(),
    }
    owners.mail_owners(uow, org_id, DEPARTMENT_KIND, about, due)
