"""Sending a recipient the e-mail of their credential again (a lost or filtered message).

It is the publish e-mail (services.mail.notifications) with today's names and dates, queued
as a new outbox row in the caller's transaction; it changes nothing else and costs nothing."""

from __future__ import annotations

from credo.domain.credentials import Status
from credo.domain.entities import Credential, OutboxMessage
from credo.domain.errors import Conflict, NotFound
from credo.services.context import ServiceContext
from credo.services.credentials.groups import get_group
from credo.services.mail import notifications
from credo.services.ports import UnitOfWork
from credo.services.tenancy.clocks import lock_org

# Enough to tell whether one is still waiting: a credential gets a handful of e-mails.
RECENT_MAILS = 20


def why_not(uow: UnitOfWork, cred: Credential) -> str | None:
    """Why the credential's e-mail cannot be sent again now, in words; None if it can."""
    if cred.status is not Status.PUBLISHED:
        return "a draft has not been sent to anyone: publish it first"
    if cred.revoked_at is not None:
        return "it is revoked: its recipient is not told of it again"
    if cred.suspended_at is not None:
        return "it is suspended: its recipient is not told of it again until it is resumed"
    mails = uow.credential_search.mails(cred.organization_id, cred.id, RECENT_MAILS)
    if any(m.sent_at is None and m.failed_at is None for m in mails):
        # A second copy would arrive beside the first: wait for it to go out or fail.
        return "an e-mail for it is still waiting to be sent"
    return None


def resend(uow: UnitOfWork, ctx: ServiceContext, org_id: str, cred_id: str) -> OutboxMessage:
    """Queue the credential's e-mail to its recipient again. NotFound for a credential
    that is not the organization's (or deleted); Conflict, in words, when why_not says."""
    # Under the organization's lock, so that two clicks at once queue one e-mail, not two.
    org = lock_org(uow, org_id)
    cred = uow.credentials.get(org_id, cred_id)
    if cred is None:
        raise NotFound(f"no credential {cred_id}")
    why = why_not(uow, cred)
    if why is not None:
        raise Conflict(f"The e-mail cannot be sent again: {why}.")
    group = get_group(uow, org_id, cred.group_id)
    # Real time, as every credential e-mail: a sandbox's test clock may stand years ahead.
    [row] = notifications.announce(org, group, [cred], notifications.PUBLISHED, ctx.clock.now())
    uow.outbox.add(row)
    return row
