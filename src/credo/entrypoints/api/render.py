"""Response shapes (api.md): records to JSON-ready dicts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from credo.domain import designs
from credo.domain.billing import BillingYear, Subscription, billing_year
from credo.domain.entities import Department, Group, LedgerEntry, Organization
from credo.domain.seats import DepartmentQuote
from credo.services.billing.credits import Balance
from credo.services.billing.departments import DepartmentFigures
from credo.services.credentials.issuing import Preview

# With the services, as webhook events carry the same shape.
from credo.services.credentials.representation import credential as credential


def rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def day(d: date | None) -> str | None:
    return d.isoformat() if d else None


def organization(org: Organization) -> dict[str, Any]:
    return {"id": org.id, "name": org.name, "sandbox": org.sandbox, "domain": org.domain}


def subscription(sub: Subscription, now: datetime) -> dict[str, Any]:
    year = sub.year_at(now)
    pending = None
    start = sub.next_allowance_from
    if sub.next_allowance is not None and start is not None and start > year.index:
        pending = {
            "plan": sub.next_plan,
            "allowance": sub.next_allowance,
            "starts_at": rfc3339(billing_year(sub.anchor, start).starts_at),
        }
    return {
        "plan": sub.plan_in(year.index),
        "allowance": sub.allowance_in(year.index),
        "anchor": sub.anchor.isoformat(),
        "status": sub.status_at(now).value,
        "ends_at": rfc3339(sub.ends_at) if sub.ends_at else None,
        "pending_change": pending,
    }


def group(g: Group) -> dict[str, Any]:
    return {
        "id": g.id,
        "name": g.name,
        "description": g.description,
        "expires_after_months": g.expires_after_months,
        "created_at": rfc3339(g.created_at),
        "criteria": g.criteria,
        # The full design (defaults filled in): logo and signature are data URIs.
        "design": designs.load(g.design).as_dict(),
        # Set from the dashboard: archived groups issue nothing new (409 group_archived);
        # "refuse" refuses a second live credential per recipient (409 duplicate_credential).
        "archived_at": rfc3339(g.archived_at) if g.archived_at else None,
        "duplicate_policy": g.duplicate_policy,
        "department_id": g.department_id,
    }


def preview(p: Preview, *, with_count: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "credits_required": p.credits_required,
        "credits_remaining": p.credits_remaining,
        "sufficient": p.sufficient,
    }
    if with_count:
        body["count"] = p.count
    if p.departments:
        body["departments"] = [department_quote(d) for d in p.departments]
    return body


def department_quote(d: DepartmentQuote) -> dict[str, Any]:
    return {
        "id": d.id,
        "name": d.name,
        "credit_cap": d.cap,
        "used": d.used,
        "credits_required": d.required,
        "credits_remaining": d.remaining,
        "sufficient": d.sufficient,
    }


def department(d: Department) -> dict[str, Any]:
    return {"id": d.id, "name": d.name, "credit_cap": d.credit_cap}


def department_figures(f: DepartmentFigures) -> dict[str, Any]:
    return {**department(f.department), "used": f.used, "remaining": f.remaining}


def year(y: BillingYear) -> dict[str, Any]:
    return {"index": y.index, "starts_at": rfc3339(y.starts_at), "ends_at": rfc3339(y.ends_at)}


def balance(b: Balance) -> dict[str, Any]:
    return {
        "billing_year": year(b.year),
        "allowance": b.allowance,
        "used": b.used,
        "remaining": b.remaining,
        "seats_held": b.seats_held,
        "subscription_active": b.active,
        # Each department's seats this billing year against its cap (R16..R21).
        "departments": [department_figures(f) for f in b.departments],
    }


def ledger_entry(e: LedgerEntry) -> dict[str, Any]:
    return {
        "id": str(e.id),
        "at": rfc3339(e.at),
        "billing_year": e.billing_year,
        "delta": e.delta,
        "reason": e.reason,
        "recipient": e.recipient_key,
        "credential_id": e.credential_id,
        "seat_id": e.seat_id,
        "department_id": e.department_id,
    }
