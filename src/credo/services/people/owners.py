"""E-mails to an organization's owners (credit alerts, a disabled webhook endpoint),
enqueued in the caller's transaction, one per owner, each greeting its owner by name."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from credo.domain.accounts import Role
from credo.domain.entities import OutboxMessage
from credo.ids import new_ids
from credo.services.ports import UnitOfWork


def mail_owners(
    uow: UnitOfWork, org_id: str, kind: str, about: dict[str, Any], due: datetime
) -> int:
    """One outbox row of `kind` per owner, its payload `about` plus `owner_name`; answers
    how many (none when the organization has no owner with a sign-in)."""
    owners = [user for user, role in uow.accounts.members(org_id) if role == Role.OWNER.value]
    if not owners:
        return 0
    ids = new_ids("mail", len(owners), due)
    uow.outbox.add_many(
        [
            OutboxMessage(
                id=mail_id,
                organization_id=org_id,
                kind=kind,
                to_address=user.email,
                credential_id=None,
                payload=orjson.dumps({**about, "owner_name": user.name}).decode(),
                created_at=due,
                next_attempt_at=due,
            )
            for mail_id, user in zip(ids, owners, strict=True)
        ]
    )
    return len(owners)
