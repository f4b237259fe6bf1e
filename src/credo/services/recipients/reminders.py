"""Reminders before expiry: an e-mail to each recipient whose credential expires within
`days` (30 by default), once per expiry date, so that a renewal which moves the date earns
a new reminder. Revoked, suspended, deleted and draft credentials get none.

Run by the mail worker (hourly, and by `credo worker --once`), one transaction per
organization under its lock, so that two workers never remind twice; the outbox rows and
the credentials' `reminded_expiry` are written together."""

from __future__ import annotations

from datetime import timedelta

import orjson

from credo.domain.entities import OutboxMessage
from credo.ids import new_ids
from credo.services.context import ServiceContext
from credo.services.ports import UnitOfWork, UnitOfWorkFactory
from credo.services.tenancy.clocks import lock_org, org_now

KIND = "credential.expiring"


def enqueue_for(uow: UnitOfWork, ctx: ServiceContext, org_id: str, days: int) -> int:
    org = lock_org(uow, org_id)
    today = org_now(org, ctx.clock).date()  # a sandbox's test clock decides "soon"
    due = uow.reminders.due(org_id, today, today + timedelta(days=days))
    if not due:
        return 0
    names: dict[str, str] = {}
    for c in due:
        if c.group_id not in names:
            group = uow.groups.get(org_id, c.group_id)
            names[c.group_id] = group.name if group else ""
    now = ctx.clock.now()  # real time: when the worker may send it
    ids = new_ids("mail", len(due), now)
    uow.outbox.add_many(
        [
            OutboxMessage(
                id=ids[i],
                organization_id=org_id,
                kind=KIND,
                to_address=c.recipient_email,
                credential_id=c.id,
                payload=orjson.dumps(
                    {
                        "organization": org.name,
                        "recipient_name": c.recipient_name,
                        "achievement": names[c.group_id],
                        "issued_on": c.issued_on,
                        "expires_on": c.expires_on,
                    }
                ).decode(),
                created_at=now,
                next_attempt_at=now,
            )
            for i, c in enumerate(due)
        ]
    )
    uow.reminders.mark(org_id, [c.id for c in due])
    return len(due)


def enqueue_due(uow_factory: UnitOfWorkFactory, ctx: ServiceContext, days: int) -> int:
    """Reminders for every organization; answers how many were enqueued."""
    if days <= 0:
        return 0
    with uow_factory(write=False) as uow:
        org_ids = uow.organizations.all_ids()
    total = 0
    for org_id in org_ids:
        with uow_factory() as uow:
            total += enqueue_for(uow, ctx, org_id, days)
            uow.commit()
    return total
